import XCTest
@testable import MFKit

/// MFKit's sensitivity functions against plain Swift oracles: every participation pattern of
/// small n, dense loops for X = Cᵀ C and the fixed-epoch sums.
final class SensitivityTests: XCTestCase {
    // MARK: helpers

    /// A deterministic generator of values in [-1, 1).
    struct LCG {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
    }

    /// Runs `body` with a float64 row-major view of `values` (rows × cols).
    func withView<R>(_ values: [Double], _ rows: Int, _ cols: Int, _ name: String = "C",
                     _ body: (StridedArray) throws -> R) throws -> R {
        var copy = values
        return try copy.withUnsafeMutableBytes { raw in
            try body(StridedArray(data: raw.baseAddress, dtype: .float64, shape: [rows, cols]))
        }
    }

    func lowerTriangular(_ n: Int, bands: Int? = nil, seed: UInt64) -> [Double] {
        var g = LCG(state: seed)
        var c = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i where bands == nil || i - j < bands! { c[i * n + j] = g.next() } }
        return c
    }

    func denseGram(_ c: [Double], _ k: Int, _ n: Int) -> [Double] {
        var x = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for r in 0..<k { x[i * n + j] += c[r * n + i] * c[r * n + j] } } }
        return x
    }

    /// Every pattern of n steps with the given separation and cap (the empty one included).
    func patterns(_ n: Int, _ minSep: Int, _ cap: Int?) -> [[Int]] {
        var out: [[Int]] = []
        func extend(_ p: [Int], _ next: Int) {
            out.append(p)
            if let cap, p.count >= cap { return }
            var i = next
            while i < n { extend(p + [i], i + minSep); i += 1 }
        }
        extend([], 0)
        return out
    }

    func bruteLinear(_ x: [Double], _ minSep: Int, _ cap: Int?) -> Double {
        patterns(x.count, minSep, cap).map { $0.reduce(0.0) { $0 + x[$1] } }.max()!
    }

    func linear(_ x: [Double], _ minSep: Int, _ cap: Int?) throws -> Double {
        try x.withUnsafeBufferPointer { try Sensitivity.maxParticipationForLinearFn($0, minSep: minSep, maxParticipations: cap) }
    }

    func assertClose(_ a: Double, _ b: Double, _ tol: Double = 1e-12, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThanOrEqual(Swift.abs(a - b), tol * Swift.max(1, Swift.abs(b)), "\(a) vs \(b)", file: file, line: line)
    }

    func assertThrows(_ message: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any) {
        do {
            _ = try body()
            XCTFail("no error, expected \(message)", file: file, line: line)
        } catch let error as MFError {
            XCTAssertTrue(error.message.contains(message), "\(error.message) lacks \(message)", file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    // MARK: participation patterns

    func testTrueMaxParticipations() throws {
        XCTAssertEqual(try Sensitivity.minsepTrueMaxParticipations(n: 5, minSep: 2, maxParticipations: nil), 3)
        XCTAssertEqual(try Sensitivity.minsepTrueMaxParticipations(n: 5, minSep: 2, maxParticipations: 2), 2)
        XCTAssertEqual(try Sensitivity.minsepTrueMaxParticipations(n: 4, minSep: 3, maxParticipations: nil), 2)
        XCTAssertEqual(try Sensitivity.minsepTrueMaxParticipations(n: 0, minSep: 3, maxParticipations: nil), 0)
        XCTAssertEqual(try Sensitivity.minsepTrueMaxParticipations(n: 1, minSep: 10, maxParticipations: 5), 1)
        assertThrows("min_sep must be >= 1, found 0.") { try Sensitivity.minsepTrueMaxParticipations(n: 3, minSep: 0, maxParticipations: nil) }
        assertThrows("n must be >= 0") { try Sensitivity.minsepTrueMaxParticipations(n: -1, minSep: 1, maxParticipations: nil) }
    }

    func testLinearFnAgainstEnumeration() throws {
        var g = LCG(state: 7)
        for n in 1...8 {
            let x = (0..<n).map { _ in g.next() }
            for minSep in 1...(n + 1) {
                for cap in [nil, 0, 1, 2, 3, n] as [Int?] {
                    assertClose(try linear(x, minSep, cap), bruteLinear(x, minSep, cap))
                }
            }
        }
        XCTAssertEqual(try linear([], 2, nil), 0)
        XCTAssertEqual(try linear([-1, -1, -1], 1, nil), 0)
        assertThrows("x must be finite") { try self.linear([1, .nan], 1, nil) }
    }

    func testLinearFnPathsAgree() throws {
        // Top-k (min_sep 1), the single pass (no binding cap) and the capped table with its
        // early stop must give the enumeration's values on a longer vector, checked against
        // one another through caps that make each path apply.
        var g = LCG(state: 11)
        let n = 40
        let x = (0..<n).map { _ in g.next() }
        for minSep in [1, 2, 5] {
            let kmax = (n + minSep - 1) / minSep
            // cap = kmax uses the single pass, cap = kmax - 1 the table: they agree whenever the
            // optimum uses fewer than kmax participations, which random signs make certain.
            assertClose(try linear(x, minSep, kmax), try linear(x, minSep, kmax - 1))
            assertClose(try linear(x, minSep, nil), try linear(x, minSep, kmax))
        }
        let positive = x.map(Swift.abs)
        let sorted = positive.sorted(by: >)
        for k in [1, 5, 39] { assertClose(try linear(positive, 1, k), sorted.prefix(k).reduce(0, +)) }
    }

    // MARK: Gram matrix

    func testGramMatchesDenseLoops() throws {
        for (k, n, bands) in [(130, 130, nil), (70, 70, 5), (9, 33, nil), (300, 5, nil), (1, 1, nil)] as [(Int, Int, Int?)] {
            var c: [Double]
            if k == n {
                c = lowerTriangular(n, bands: bands, seed: UInt64(n))
            } else {
                var g = LCG(state: 3)
                c = (0..<(k * n)).map { _ in g.next() }
            }
            var x = [Double](repeating: .nan, count: n * n)
            try withView(c, k, n) { view in
                try x.withUnsafeMutableBytes { raw in
                    try Sensitivity.gram(view, into: StridedArray(data: raw.baseAddress, dtype: .float64, shape: [n, n]))
                }
            }
            let want = denseGram(c, k, n)
            for i in 0..<(n * n) { assertClose(x[i], want[i], 1e-13) }
            for i in 0..<n { for j in 0..<n { XCTAssertEqual(x[i * n + j], x[j * n + i]) } }
        }
    }

    func testImpossibleSizesThrowInsteadOfTrapping() throws {
        XCTAssertThrowsError(try WorkBuffer<Double>(count: Int.max / 2, "x")) { XCTAssertEqual($0 as? MFError, .outOfMemory("cannot allocate x (\(Int.max / 2) elements of 8 bytes)")) }
        XCTAssertThrowsError(try Check.product(1 << 32, 1 << 32, "X"))
        // A broadcast view (zero strides) of 2⁴⁰ × 2³¹ elements is refused before it is used.
        var one = 1.0
        let huge = StridedArray(data: &one, dtype: .float64, shape: [1 << 40, 1 << 31], strides: [0, 0])
        XCTAssertThrowsError(try Sensitivity.singleParticipation(huge)) { XCTAssertTrue(($0 as? MFError)?.message.contains("too large") ?? false) }
        // One of 2²⁸ × 2²⁴ elements is a valid view, but packing it cannot be sized.
        let big = StridedArray(data: &one, dtype: .float64, shape: [1 << 28, 1 << 24], strides: [0, 0])
        var sink = 0.0
        XCTAssertThrowsError(try Sensitivity.gram(RealMatrixView(big), into: &sink)) { XCTAssertTrue($0 is MFError) }
        // No rows and 2³³ (or 2⁶²) columns: an empty C whose work space cannot be had.
        for cols in [1 << 33, 1 << 62] {
            let wide = StridedArray(data: nil, dtype: .float64, shape: [0, cols], strides: [8, 8])
            XCTAssertThrowsError(try Sensitivity.singleParticipation(wide)) { XCTAssertTrue($0 is MFError) }
            XCTAssertThrowsError(try Sensitivity.banded(c: wide, minSep: 1, maxParticipations: nil)) { XCTAssertTrue($0 is MFError) }
            XCTAssertThrowsError(try Sensitivity.fixedEpoch(c: wide, epochs: 1)) { XCTAssertTrue($0 is MFError) }
        }
    }

    // MARK: sensitivities

    func testSingleParticipation() throws {
        let c: [Double] = [1, 0, 0, 0, 2, 1, 0, 0, 0, 1, 1, 0, 0, 0, 3, -6]
        XCTAssertEqual(try withView(c, 4, 4) { try Sensitivity.singleParticipation($0) }, 6)
        assertThrows("Matrix C should be lower-triangular") {
            try self.withView([1, 2, 0, 1], 2, 2) { try Sensitivity.singleParticipation($0) }
        }
        assertThrows("Matrix C is not finite") {
            try self.withView([1, 0, .infinity, 1], 2, 2) { try Sensitivity.singleParticipation($0) }
        }
    }

    func testUpperBoundAgainstEnumeration() throws {
        for n in [3, 6, 8] {
            let c = lowerTriangular(n, seed: UInt64(100 + n))
            let x = denseGram(c, n, n)
            for minSep in [1, 2, 3] {
                for cap in [nil, 1, 2] as [Int?] {
                    // v_i = best pattern of |X[i, :]|, then the best pattern of v.
                    let v = (0..<n).map { i in self.bruteLinear((0..<n).map { Swift.abs(x[i * n + $0]) }, minSep, cap) }
                    let want = bruteLinear(v, minSep, cap).squareRoot()
                    assertClose(try withView(c, n, n) { try Sensitivity.minSepUpperBound(c: $0, minSep: minSep, maxParticipations: cap) }, want)
                    assertClose(try withView(x, n, n, "X") { try Sensitivity.minSepUpperBound(x: $0, minSep: minSep, maxParticipations: cap) }, want)
                }
            }
        }
        assertThrows("Matrix X should be symmetric") {
            try self.withView([1, 2, 0, 1], 2, 2, "X") { try Sensitivity.minSepUpperBound(x: $0, minSep: 1, maxParticipations: nil) }
        }
    }

    func testBandedAgainstEnumeration() throws {
        for n in [4, 7] {
            for bands in [1, 2, 3] {
                let c = lowerTriangular(n, bands: bands, seed: UInt64(n * 10 + bands))
                let x = denseGram(c, n, n)
                for minSep in bands...n {
                    for cap in [nil, 1, 2] as [Int?] {
                        // With X banded, a pattern's X[p, p] is diagonal.
                        let want = patterns(n, minSep, cap).map { $0.reduce(0.0) { $0 + x[$1 * n + $1] } }.max()!.squareRoot()
                        assertClose(try withView(c, n, n) { try Sensitivity.banded(c: $0, minSep: minSep, maxParticipations: cap) }, want)
                        assertClose(try withView(x, n, n, "X") { try Sensitivity.banded(x: $0, minSep: minSep, maxParticipations: cap) }, want)
                    }
                }
                if bands > 1 {
                    assertThrows("must be orthogonal") {
                        try self.withView(c, n, n) { try Sensitivity.banded(c: $0, minSep: bands - 1, maxParticipations: nil) }
                    }
                    assertThrows("must be orthogonal") {
                        try self.withView(x, n, n, "X") { try Sensitivity.banded(x: $0, minSep: bands - 1, maxParticipations: nil) }
                    }
                }
                assertThrows("min_sep must be in the range [1, \(n)], found \(n + 1).") {
                    try self.withView(c, n, n) { try Sensitivity.banded(c: $0, minSep: n + 1, maxParticipations: nil) }
                }
            }
        }
    }

    func testFixedEpochAgainstLoops() throws {
        let n = 12
        let c = lowerTriangular(n, seed: 5)
        let x = denseGram(c, n, n)
        for epochs in [1, 2, 3, 4, 6, 12] {
            let b = n / epochs
            var best = 0.0
            for j in 0..<b {
                var total = 0.0
                for a in 0..<epochs { for e in 0..<epochs { total += Swift.abs(x[(j + a * b) * n + j + e * b]) } }
                best = Swift.max(best, total)
            }
            assertClose(try withView(c, n, n) { try Sensitivity.fixedEpoch(c: $0, epochs: epochs) }, best.squareRoot())
            assertClose(try withView(x, n, n, "X") { try Sensitivity.fixedEpoch(x: $0, epochs: epochs) }, best.squareRoot())
        }
        assertThrows("epochs=0 must be positive.") { try self.withView(c, n, n) { try Sensitivity.fixedEpoch(c: $0, epochs: 0) } }
        assertThrows("epochs=5 must divide n=12.") { try self.withView(x, n, n, "X") { try Sensitivity.fixedEpoch(x: $0, epochs: 5) } }
    }

    func testOverflowInXIsReported() throws {
        // C is finite but X = Cᵀ C overflows.
        let c: [Double] = [1e200, 0, 1e200, 1e200]
        assertThrows("Matrix X is not finite") {
            try self.withView(c, 2, 2) { try Sensitivity.minSepUpperBound(c: $0, minSep: 1, maxParticipations: nil) }
        }
        assertThrows("Matrix X is not finite") {
            try self.withView(c, 2, 2) { try Sensitivity.banded(c: $0, minSep: 1, maxParticipations: nil) }
        }
        assertThrows("Matrix X is not finite") {
            try self.withView(c, 2, 2) { try Sensitivity.fixedEpoch(c: $0, epochs: 1) }
        }
    }
}

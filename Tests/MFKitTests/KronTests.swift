import XCTest
@testable import MFKit
#if canImport(Glibc)
import Glibc
#endif

/// MFKit's Kronecker kernels against direct loops over the definitions.
final class KronTests: XCTestCase {
    /// A deterministic pseudo-random sequence in [-1, 1).
    private func values(_ n: Int, seed: UInt64) -> [Double] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
    }

    /// Runs body with views of `arrays` (1-D, contiguous, float64).
    private func withVectors<R>(_ arrays: inout [[Double]], _ body: ([StridedArray]) throws -> R) rethrows -> R {
        var pointers: [UnsafeMutablePointer<Double>] = []
        for a in arrays {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(a.count, 1))
            p.initialize(from: a, count: a.count)
            pointers.append(p)
        }
        defer {
            for (k, p) in pointers.enumerated() {
                arrays[k] = Array(UnsafeBufferPointer(start: p, count: arrays[k].count))
                p.deallocate()
            }
        }
        let views = zip(pointers, arrays).map {
            StridedArray(data: UnsafeMutableRawPointer($0), dtype: .float64, shape: [$1.count])
        }
        return try body(views)
    }

    private func matrixView(_ p: UnsafeMutablePointer<Double>, _ n: Int) -> StridedArray {
        StridedArray(data: UnsafeMutableRawPointer(p), dtype: .float64, shape: [n, n])
    }

    func testKronsumDiagAndProjectionRoundTrip() throws {
        for dims in [[5], [3, 4], [1, 6], [2, 3, 4], [2, 1, 3, 2], [300, 700]] {
            let n = dims.reduce(1, *)
            var arrays = dims.enumerated().map { values($1, seed: UInt64($0 + 1)) } + [[Double](repeating: 0, count: n)]
            arrays += dims.map { [Double](repeating: 0, count: $0) }
            try withVectors(&arrays) { v in
                let k = dims.count
                try Kron.kronsumDiag(Array(v[0..<k]), into: v[k])
                try Kron.ksProjectDiag(v[k], into: Array(v[(k + 1)...]))
            }
            let w = arrays[dims.count], p = Array(arrays[(dims.count + 1)...])
            var strides = [Int](repeating: 1, count: dims.count)
            for a in stride(from: dims.count - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * dims[a + 1] }
            for i in Swift.stride(from: 0, to: n, by: Swift.max(1, n / 997)) {
                var direct = 0.0, projected = 0.0
                for (a, d) in dims.enumerated() {
                    let ia = (i / strides[a]) % d
                    direct += arrays[a][ia]
                    projected += p[a][ia]
                }
                XCTAssertEqual(w[i], direct, accuracy: 1e-14)
                XCTAssertEqual(projected, direct, accuracy: 1e-12)
            }
        }
    }

    func testDenseKronsumProjectionAndMatvec() throws {
        let da = 3, db = 4, n = 12
        let a = UnsafeMutablePointer<Double>.allocate(capacity: da * da)
        let b = UnsafeMutablePointer<Double>.allocate(capacity: db * db)
        let m = UnsafeMutablePointer<Double>.allocate(capacity: n * n)
        let m2 = UnsafeMutablePointer<Double>.allocate(capacity: n * n)
        let pa = UnsafeMutablePointer<Double>.allocate(capacity: da * da)
        let pb = UnsafeMutablePointer<Double>.allocate(capacity: db * db)
        let x = UnsafeMutablePointer<Double>.allocate(capacity: n)
        let y = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { for p in [a, b, m, m2, pa, pb, x, y] { p.deallocate() } }
        a.initialize(from: values(da * da, seed: 7), count: da * da)
        b.initialize(from: values(db * db, seed: 8), count: db * db)
        x.initialize(from: values(n, seed: 9), count: n)
        let mats = [matrixView(a, da), matrixView(b, db)]
        try Kron.kronsum(mats, into: matrixView(m, n))
        for i in 0..<n {
            for j in 0..<n {
                let (i1, i2, j1, j2) = (i / db, i % db, j / db, j % db)
                let want = (i2 == j2 ? a[i1 * da + j1] : 0) + (i1 == j1 ? b[i2 * db + j2] : 0)
                XCTAssertEqual(m[i * n + j], want, accuracy: 1e-15)
            }
        }
        try Kron.ksProject(matrixView(m, n), into: [matrixView(pa, da), matrixView(pb, db)])
        try Kron.kronsum([matrixView(pa, da), matrixView(pb, db)], into: matrixView(m2, n))
        for e in 0..<n * n { XCTAssertEqual(m2[e], m[e], accuracy: 1e-13) }
        try Kron.kronsumMatvec(mats, StridedArray(data: x, dtype: .float64, shape: [n]),
                               into: StridedArray(data: y, dtype: .float64, shape: [n]))
        for i in 0..<n {
            var s = 0.0
            for j in 0..<n { s += m[i * n + j] * x[j] }
            XCTAssertEqual(y[i], s, accuracy: 1e-13)
        }
        // factorwise average of axis 1: B + tr(A)/3 I
        let avg = UnsafeMutablePointer<Double>.allocate(capacity: db * db)
        defer { avg.deallocate() }
        try Kron.factorwiseAverage(matrixView(m, n), dims: [da, db], axis: 1, into: matrixView(avg, db))
        let traceA = (0..<da).reduce(0.0) { $0 + a[$1 * da + $1] } / Double(da)
        for i in 0..<db { for j in 0..<db {
            XCTAssertEqual(avg[i * db + j], b[i * db + j] + (i == j ? traceA : 0), accuracy: 1e-14)
        } }
    }

    func testFusedPassesAgainstMaterialized() throws {
        let dims = [40, 30, 20]
        let n = dims.reduce(1, *)
        var arrays = dims.enumerated().map { k, d in values(d, seed: UInt64(20 + k)).map { 1.5 + 0.5 * $0 } }
        arrays.append([Double](repeating: 0, count: n))
        arrays += dims.map { [Double](repeating: 0, count: $0) } + dims.map { [Double](repeating: 0, count: $0) }
        for f in ElementFunction.allCases {
            var logdet = 0.0
            try withVectors(&arrays) { v in
                try Kron.kronsumDiag(Array(v[0..<3]), into: v[3])
                logdet = try Kron.kronsumDiagReduce(Array(v[0..<3]), f)
                try Kron.ksProjectDiagMap(Array(v[0..<3]), f, into: Array(v[4..<7]))
            }
            let mapped = arrays[3].map { w -> Double in
                switch f {
                case .identity: return w
                case .reciprocal: return 1 / w
                case .log: return Glibc.log(w)
                case .exp: return Glibc.exp(w)
                case .square: return w * w
                case .sqrt: return w.squareRoot()
                }
            }
            let total = mapped.reduce(0, +)
            XCTAssertEqual(logdet, total, accuracy: 1e-11 * abs(total), "\(f)")
            arrays[3] = mapped
            try withVectors(&arrays) { v in try Kron.ksProjectDiag(v[3], into: Array(v[7..<10])) }
            for k in 0..<3 { for i in 0..<dims[k] {
                XCTAssertEqual(arrays[4 + k][i], arrays[7 + k][i], accuracy: 1e-12 * Swift.max(1, abs(arrays[7 + k][i])), "\(f)")
            } }
        }
    }

    func testFastLogMatchesLibm() {
        var xs: [Double] = [1, 2, 0.5, 2.0.squareRoot(), 1 / 2.0.squareRoot(), 1 + 1e-12, 1 - 1e-12, .leastNormalMagnitude,
                            .greatestFiniteMagnitude]
        var x = 1e-300
        while x < 1e300 { xs.append(x); x *= 1.37 }
        for v in values(4000, seed: 3) { xs.append(1 + v * 0.01); xs.append(exp(v * 50)) }
        var out = xs
        out.withUnsafeMutableBufferPointer { fastLog($0.baseAddress!, $0.count) }
        for (v, l) in zip(xs, out) {
            let want = Glibc.log(v)
            XCTAssertLessThanOrEqual(abs(l - want), 1e-15 * abs(want), "log(\(v))")
        }
        var special = [0.0, -1.0, Double.infinity, 3.0]
        special.withUnsafeMutableBufferPointer { fastLog($0.baseAddress!, $0.count) }
        XCTAssertEqual(special[0], -.infinity)
        XCTAssertTrue(special[1].isNaN)
        XCTAssertEqual(special[2], .infinity)
        XCTAssertEqual(special[3], Glibc.log(3.0), accuracy: 1e-16)
    }

    func testErrorsLeaveOutputsUntouched() throws {
        var arrays: [[Double]] = [[1, 2], [3, 4, 5], [Double](repeating: 7, count: 5), [7, 7], [7, 7, 7, 7]]
        try withVectors(&arrays) { v in
            XCTAssertThrowsError(try Kron.kronsumDiag([], into: v[2])) { XCTAssertTrue("\($0)".contains("K >= 1")) }
            XCTAssertThrowsError(try Kron.kronsumDiag(Array(v[0..<2]), into: v[2])) {
                guard case MFError.shape = $0 else { return XCTFail("\($0)") }
            }
            XCTAssertThrowsError(try Kron.ksProjectDiag(v[2], into: [v[3], v[4]])) {
                XCTAssertTrue("\($0)".contains("multiply"))
            }
            XCTAssertThrowsError(try Kron.factorwiseAverageDiag(v[2], dims: [5], axis: 1, into: v[2])) {
                guard case MFError.invalidArgument = $0 else { return XCTFail("\($0)") }
            }
            XCTAssertThrowsError(try Kron.kronsumDiag([v[0]], into: v[0])) {
                XCTAssertTrue("\($0)".contains("overlaps"))
            }
        }
        XCTAssertEqual(arrays[2], [Double](repeating: 7, count: 5))
        XCTAssertEqual(arrays[3], [7, 7])
        XCTAssertEqual(arrays[0], [1, 2])
    }
}

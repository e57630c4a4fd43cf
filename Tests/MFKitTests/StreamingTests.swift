import XCTest
@testable import MFKit

final class StreamingTests: XCTestCase {
    func materialized(_ a: StreamingMatrix, _ n: Int) throws -> [Double] {
        let out = Buffer<Double>(shape: [n, n])
        try a.materialize(into: out.view)
        return out.values
    }

    /// Dense momentum SGD: M[t, j] = Σ_{j ≤ s ≤ t} lr_s μ^{s−j}.
    func denseMomentum(_ n: Int, _ mu: Double, _ lr: [Double]) -> [Double] {
        var m = [Double](repeating: 0, count: n * n)
        for t in 0..<n { for j in 0...t { for s in j...t { m[t * n + j] += lr[Swift.min(s, lr.count - 1)] * pow(mu, Double(s - j)) } } }
        return m
    }

    func testConstructorsAgainstDense() throws {
        let n = 9
        let eye = (0..<n * n).map { $0 / n == $0 % n ? 1.0 : 0.0 }
        XCTAssertEqual(try materialized(.identity(), n), eye)
        XCTAssertEqual(try materialized(.prefixSum(), n), (0..<n * n).map { $0 / n >= $0 % n ? 1.0 : 0.0 })
        let d = [2.0, -1.0, 0.5]
        XCTAssertEqual(try materialized(.diagonal(d), n),
                       (0..<n * n).map { $0 / n == $0 % n ? d[Swift.min($0 / n, 2)] : 0.0 })
        let lr = [1.0, 0.7, 0.3]
        XCTAssertLessThan(maxRelativeError(try materialized(.momentumSGD(momentum: 0.9, learningRates: lr), n),
                                           denseMomentum(n, 0.9, lr)), 1e-14)
    }

    func testProductScalingAndRowNorms() throws {
        let n = 12
        let p = StreamingMatrix.prefixSum(), m = try StreamingMatrix.momentumSGD(momentum: 0.8)
        let d = try StreamingMatrix.diagonal([3.0, 1.0, -2.0])
        let pd = try materialized(p, n), md = try materialized(m, n), dd = try materialized(d, n)
        let expected = denseProduct(denseProduct(pd, md, n: n, m: n), dd, n: n, m: n)
        let a = p * m * d
        XCTAssertLessThan(maxRelativeError(try materialized(a, n), expected), 1e-14)
        XCTAssertLessThan(maxRelativeError(try materialized(try a.scaled(by: -2), n), expected.map { -2 * $0 }), 1e-14)
        let scaled = try a.scalingRowsAndColumns(rowScale: [2, 3], colScale: [0.5])
        let expectedScaled = (0..<n * n).map { expected[$0] * ($0 / n == 0 ? 2 : 3) * 0.5 }
        XCTAssertLessThan(maxRelativeError(try materialized(scaled, n), expectedScaled), 1e-14)
        let norms = try a.rowNormsSquared(n)
        let dense = (0..<n).map { t in (0..<n).reduce(0.0) { $0 + expected[t * n + $1] * expected[t * n + $1] } }
        XCTAssertLessThan(maxRelativeError(norms, dense), 1e-14)
    }

    func testMultiplyMatchesDenseInPlaceAndStrided() throws {
        var random = TestRandom(state: 7)
        let n = 10, m = 3000
        let a = StreamingMatrix.prefixSum() * (try StreamingMatrix.momentumSGD(momentum: 0.9, learningRates: [1, 0.5]))
        let x = Buffer<Double>(shape: [n, m], random.values(n * m))
        let expected = denseProduct(try materialized(a, n), x.values, n: n, m: m)
        let out = Buffer<Double>(shape: [n, m])
        try a.multiply(x.view, into: out.view)
        XCTAssertLessThan(maxRelativeError(out.values, expected), 1e-13)
        try a.multiply(x.view, into: x.view)   // in place
        XCTAssertEqual(x.values, out.values)
        // A reversed, every-other-column view of a float32 array.
        let y = Buffer<Float>(shape: [n, 2 * m], random.values(n * 2 * m).map(Float.init))
        var view = y.view
        view.data = view.data! + (2 * m - 1) * 4
        view.shape = [n, m]
        view.strides = [2 * m * 4, -2 * 4]
        let column = (0..<n * m).map { Double(y[($0 / m) * 2 * m + (2 * m - 1) - 2 * ($0 % m)]) }
        let expected32 = denseProduct(try materialized(a, n), column, n: n, m: m)
        let out32 = Buffer<Float>(shape: [n, m])
        try a.multiply(view, into: out32.view)
        XCTAssertLessThan(maxRelativeError(out32.values.map(Double.init), expected32), 1e-5)
    }

    func testStreamMatchesMultiply() throws {
        var random = TestRandom(state: 3)
        let n = 6, m = 50
        let a = StreamingMatrix.prefixSum() * (try StreamingMatrix.diagonal([1, 2, 3]))
        let x = Buffer<Double>(shape: [n, m], random.values(n * m))
        let whole = Buffer<Double>(shape: [n, m])
        try a.multiply(x.view, into: whole.view)
        let stream = try StreamState(matrix: a, sliceShape: [m], dtype: .float64)
        for t in 0..<n {
            let out = Buffer<Double>(shape: [m])
            try stream.next(x.view.slice(t), into: out.view)
            XCTAssertEqual(out.values, Array(whole.values[t * m ..< (t + 1) * m]))
        }
        XCTAssertEqual(stream.step, n)
        stream.reset()
        XCTAssertEqual(stream.step, 0)
    }

    func testErrors() throws {
        XCTAssertThrowsError(try StreamingMatrix.momentumSGD(momentum: 0.9, learningRates: [1, 0])) {
            XCTAssertTrue("\($0)".contains("Learning rates must be positive"))
        }
        XCTAssertThrowsError(try StreamingMatrix.momentumSGD(momentum: .nan))
        XCTAssertThrowsError(try StreamingMatrix.diagonal([]))
        XCTAssertThrowsError(try StreamingMatrix.diagonal([.nan]))
        XCTAssertThrowsError(try StreamingMatrix.prefixSum().scaled(by: .infinity))
        let a = StreamingMatrix.prefixSum()
        let x = Buffer<Double>(shape: [4, 3]), wrong = Buffer<Double>(shape: [4, 2]), f = Buffer<Float>(shape: [4, 3])
        XCTAssertThrowsError(try a.multiply(x.view, into: wrong.view)) { XCTAssertEqual($0 as? MFError, .shape("out has shape (4, 2) but x has shape (4, 3); they must match")) }
        XCTAssertThrowsError(try a.multiply(x.view, into: f.view)) { guard case .dtype = $0 as? MFError else { return XCTFail() } }
        var shifted = x.view
        shifted.data = shifted.data! + 8
        shifted.shape = [3, 3]
        var head = x.view
        head.shape = [3, 3]
        XCTAssertThrowsError(try a.multiply(head, into: shifted)) { guard case .invalidArgument = $0 as? MFError else { return XCTFail() } }
        var broadcast = x.view   // every row of out on the same memory: refused, nothing written
        broadcast.strides = [0, 8]
        let before = x.values
        XCTAssertThrowsError(try a.multiply(Buffer<Double>(shape: [4, 3]).view, into: broadcast)) {
            XCTAssertTrue("\($0)".contains("overlaps itself"))
        }
        XCTAssertThrowsError(try a.materialize(into: StridedArray(data: x.view.data, dtype: .float64, shape: [3, 3], strides: [0, 8])))
        XCTAssertEqual(x.values, before)
        let stream = try StreamState(matrix: a, sliceShape: [3], dtype: .float64)
        XCTAssertThrowsError(try stream.next(wrong.view.slice(0), into: wrong.view.slice(0)))
        XCTAssertEqual(stream.step, 0)
        XCTAssertThrowsError(try StreamState(matrix: a, sliceShape: [3], dtype: .complex64))
    }

    func testPairedLinesMergesContiguousAxes() {
        let lines = Lines(shape: [4, 1, 5, 6], a: [240, 8, 48, 8], b: [8 * 30, 999, 8 * 6, 8], itemSize: 8)
        XCTAssertEqual(lines.length, 120)
        XCTAssertEqual(lines.lineCount, 1)
        let split = Lines(shape: [4, 6], a: [8 * 12, 8], b: [8 * 6, 8], itemSize: 8)
        XCTAssertEqual(split.length, 6)
        XCTAssertEqual(split.lineCount, 4)
        XCTAssertEqual(split.lineOffsets(2).a, 24)
        XCTAssertEqual(split.lineOffsets(2).b, 12)
    }

    func testProductBeyondMaxStagesIsAnError() throws {
        // Repeated squaring A = A @ A used to abort allocating the stage array.
        let full = StreamingMatrix(stages: [any StreamStage](repeating: PrefixSumStage(), count: StreamingMatrix.maxStages))
        XCTAssertThrowsError(try StreamingMatrix.product(full, .prefixSum())) { error in
            guard case MFError.outOfMemory(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("too large"), message)
        }
        XCTAssertThrowsError(try full.scaled(by: 2))
        XCTAssertEqual(try StreamingMatrix.product(.prefixSum(), .identity()).stages.count, 1)
    }
}

import XCTest
@testable import MFKit

/// Dense strategies against plain Swift oracles: inverse by Gauss–Jordan, X = Cᵀ C by loops,
/// central differences of the loss for the gradient.
final class DenseTests: XCTestCase {
    var rng = TestRandom(state: 11)

    /// A lower-triangular n × n matrix with diagonal in [1, 2].
    func lowerTriangular(_ n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i { c[i * n + j] = i == j ? 1.5 + 0.5 * rng.next() : rng.next() } }
        return c
    }

    /// The inverse of an n × n matrix by Gauss–Jordan with partial pivoting.
    func inverse(_ a: [Double], _ n: Int) -> [Double] {
        var m = a, inv = [Double](repeating: 0, count: n * n)
        for i in 0..<n { inv[i * n + i] = 1 }
        for c in 0..<n {
            let p = (c..<n).max { abs(m[$0 * n + c]) < abs(m[$1 * n + c]) }!
            for j in 0..<n { m.swapAt(c * n + j, p * n + j); inv.swapAt(c * n + j, p * n + j) }
            let d = m[c * n + c]
            for j in 0..<n { m[c * n + j] /= d; inv[c * n + j] /= d }
            for r in 0..<n where r != c {
                let f = m[r * n + c]
                for j in 0..<n { m[r * n + j] -= f * m[c * n + j]; inv[r * n + j] -= f * inv[c * n + j] }
            }
        }
        return inv
    }

    func prefix(_ n: Int) -> [Double] { (0..<n * n).map { $0 / n >= $0 % n ? 1 : 0 } }

    func transpose(_ a: [Double], _ r: Int, _ c: Int) -> [Double] { (0..<r * c).map { a[($0 % r) * c + $0 / r] } }

    /// (A X⁻¹ Aᵀ)_jj, the per-query errors, by the oracle.
    func errors(_ x: [Double], _ a: [Double], _ n: Int) -> [Double] {
        let k = a.count / n
        let z = denseProductRect(inverse(x, n), transpose(a, k, n), n, n, k)
        return (0..<k).map { j in (0..<n).reduce(0) { $0 + a[j * n + $1] * z[$1 * k + j] } }
    }

    func denseProductRect(_ a: [Double], _ b: [Double], _ r: Int, _ m: Int, _ c: Int) -> [Double] {
        var out = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for l in 0..<m { for j in 0..<c { out[i * c + j] += a[i * m + l] * b[l * c + j] } } }
        return out
    }

    func testOrthogonalMask() throws {
        let (n, epochs) = (12, 3)
        let out = Buffer<Float>(shape: [n, n])
        try Dense.orthogonalMask(n: n, epochs: epochs, into: out.view)
        for i in 0..<n { for j in 0..<n { XCTAssertEqual(out[i * n + j], i != j && (i - j) % 4 == 0 ? 0 : 1) } }
        let (ten, four, wide) = (Buffer<Double>(shape: [10, 10]), Buffer<Double>(shape: [4, 4]), Buffer<Double>(shape: [4, 3]))
        XCTAssertThrowsError(try Dense.orthogonalMask(n: 10, epochs: 3, into: ten.view))
        XCTAssertThrowsError(try Dense.orthogonalMask(n: 4, epochs: 0, into: four.view))
        XCTAssertThrowsError(try Dense.orthogonalMask(n: 4, epochs: 1, into: wide.view))
    }

    func testPerQueryErrorEveryPath() throws {
        let n = 8
        let c = lowerTriangular(n), a = lowerTriangular(n)
        let cinv = inverse(c, n)
        let b0 = denseProductRect(prefix(n), cinv, n, n, n), b1 = denseProductRect(a, cinv, n, n, n)
        let cb = Buffer<Double>(shape: [n, n], c), ab = Buffer<Double>(shape: [n, n], a)
        let ib = Buffer<Double>(shape: [n, n], cinv)
        for (strategy, noising, workload, b) in [(cb, nil, nil, b0), (cb, nil, ab, b1), (nil, ib, nil, b0), (nil, ib, ab, b1)] as [(Buffer<Double>?, Buffer<Double>?, Buffer<Double>?, [Double])] {
            let out = Buffer<Double>(shape: [n])
            try Dense.perQueryError(strategy: strategy?.view, noising: noising?.view, workload: workload?.view, into: out.view)
            for i in 0..<n {
                let e = (0..<n).reduce(0) { $0 + b[i * n + $1] * b[i * n + $1] }
                XCTAssertEqual(out[i], e, accuracy: 1e-11 * e)
            }
        }
        let out = Buffer<Double>(shape: [n], [Double](repeating: 7, count: n))
        XCTAssertThrowsError(try Dense.perQueryError(strategy: cb.view, noising: ib.view, workload: nil, into: out.view)) {
            XCTAssertEqual("\($0)", "Specify exactly one of strategy_matrix or noising_matrix.")
        }
        let singular = Buffer<Double>(shape: [n, n], (0..<n * n).map { $0 % (n + 1) == 0 && $0 > 0 ? 1 : 0 })
        XCTAssertThrowsError(try Dense.perQueryError(strategy: singular.view, noising: nil, workload: nil, into: out.view)) {
            XCTAssertEqual("\($0)", "Matrix B is not finite")
        }
        XCTAssertEqual(out.values, [Double](repeating: 7, count: n))
    }

    func testStrategyFromXRoundTrip() throws {
        let n = 9
        let c = lowerTriangular(n)
        let x = denseProductRect(transpose(c, n, n), c, n, n, n)
        let out = Buffer<Double>(shape: [n, n]), xb = Buffer<Double>(shape: [n, n], x)
        try Dense.strategyFromX(xb.view, into: out.view)
        // The Cholesky factor is unique with a positive diagonal: C itself.
        for i in 0..<n * n { XCTAssertEqual(out[i], c[i], accuracy: 1e-12) }
        let indefinite = Buffer<Double>(shape: [2, 2], [1, 2, 2, 1]), untouched = Buffer<Double>(shape: [2, 2], [5, 5, 5, 5])
        XCTAssertThrowsError(try Dense.strategyFromX(indefinite.view, into: untouched.view)) {
            guard case MFError.numerical = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(untouched.values, [5, 5, 5, 5])
    }

    /// ∇L from the model against central differences of the oracle loss Σ w_j e_j, for the
    /// prefix-sum and a general workload, mean and signed weights.
    func testErrorModelGradientMatchesFiniteDifferences() throws {
        let n = 6
        var x = [Double](repeating: 0, count: n * n)
        let m = lowerTriangular(n)
        x = denseProductRect(transpose(m, n, n), m, n, n, n)   // SPD
        let general = (0..<4 * n).map { _ in rng.next() }        // a 4 × n workload
        for (workload, k) in [(nil, n), (general, 4)] as [([Double]?, Int)] {
            for reduction in [ErrorReduction.mean, .weights((0..<k).map { Double($0) - 1.5 })] {
                let av = workload.map { Buffer<Double>(shape: [k, n], $0) }
                let model = try DenseErrorModel(n: n, workload: try av.map { try Sensitivity.matrix($0.view, "A") }, reduction: reduction)
                let w: [Double] = { if case .weights(let w) = reduction { return w }; return [Double](repeating: 1 / Double(n), count: k) }()
                let a = workload ?? prefix(n)
                func oracle(_ y: [Double]) -> Double { zip(w, errors(y, a, n)).reduce(0) { $0 + $1.0 * $1.1 } }
                let loss = try x.withUnsafeBufferPointer { try model.loss($0.baseAddress!) }
                XCTAssertEqual(loss, oracle(x), accuracy: 1e-12 * abs(loss))
                var g = [Double](repeating: 0, count: n * n)
                try g.withUnsafeMutableBufferPointer { try model.gradient(into: $0.baseAddress!) }
                let h = 1e-6
                for i in 0..<n {
                    for j in 0...i {
                        var p = x, q = x
                        p[i * n + j] += h; q[i * n + j] -= h
                        if i != j { p[j * n + i] += h; q[j * n + i] -= h }
                        // A symmetric pair moves two entries: its derivative is 2 ∂L/∂X_ij.
                        let fd = (oracle(p) - oracle(q)) / (2 * h) / (i == j ? 1 : 2)
                        XCTAssertEqual(g[i * n + j], fd, accuracy: 1e-6 * Swift.max(1, abs(fd)), "\(i) \(j) \(reduction)")
                        XCTAssertEqual(g[i * n + j], g[j * n + i])
                    }
                }
            }
        }
        // Not positive definite: NaN, no factor.
        let model = try DenseErrorModel(n: 2, workload: nil, reduction: .mean)
        XCTAssert(try [1.0, 2, 2, 1].withUnsafeBufferPointer { try model.loss($0.baseAddress!) }.isNaN)
        XCTAssertFalse(model.factorIsCurrent)
    }

    func testOptimizeKeepsTheConstraintsAndLowersTheLoss() throws {
        let (n, epochs, bands) = (12, 3, 3)
        let out = Buffer<Double>(shape: [n, n])
        var losses: [Double] = []
        let result = try Dense.optimize(n: n, epochs: epochs, bands: bands, maxSteps: 40, gradientTolerance: nil,
                                        callback: { losses.append($0.loss); return false }, into: out.view)
        XCTAssertEqual(result.steps, 40)
        XCTAssertEqual(losses.count, 40)
        XCTAssertLessThan(result.loss, losses[0])
        let c = out.values
        let x = denseProductRect(transpose(c, n, n), c, n, n, n)
        let b = n / epochs
        for j in 0..<b {   // each user's diagonal sum stays 1
            XCTAssertEqual((0..<epochs).reduce(0) { $0 + x[(j + $1 * b) * (n + 1)] }, 1, accuracy: 1e-10)
        }
        for i in 0..<n { for j in 0..<n where i != j && ((i - j) % b == 0 || abs(i - j) >= bands) {
            XCTAssertEqual(x[i * n + j], 0, accuracy: 1e-10)
        } }
        XCTAssertEqual(result.loss, errors(x, prefix(n), n).reduce(0, +) / Double(n), accuracy: 1e-9 * result.loss)

        // The tolerance stop and a callback stop.
        let stopped = try Dense.optimize(n: n, maxSteps: 10000, into: out.view)
        XCTAssertLessThan(stopped.steps, 10000)
        let early = try Dense.optimize(n: n, maxSteps: 100, gradientTolerance: nil, callback: { $0.step == 4 }, into: out.view)
        XCTAssertEqual(early.steps, 5)
    }

    func testOptimizeRefusesBadArguments() {
        let out = Buffer<Double>(shape: [4, 4]), narrow = Buffer<Double>(shape: [4, 3])
        XCTAssertThrowsError(try Dense.optimize(n: 0, into: out.view))
        XCTAssertThrowsError(try Dense.optimize(n: 4, epochs: 3, into: out.view))
        XCTAssertThrowsError(try Dense.optimize(n: 4, bands: 0, into: out.view))
        XCTAssertThrowsError(try Dense.optimize(n: 4, maxSteps: -1, into: out.view))
        XCTAssertThrowsError(try Dense.optimize(n: 4, workload: narrow.view, into: out.view))
        XCTAssertThrowsError(try Dense.optimize(n: 4, reduction: .weights([1, 2]), into: out.view))
        XCTAssertThrowsError(try Dense.optimize(n: 5, into: out.view))   // out of the wrong shape
    }
}

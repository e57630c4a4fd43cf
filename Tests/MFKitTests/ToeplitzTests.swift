import XCTest
@testable import MFKit

/// Toeplitz strategies against independent oracles: dense triangular solves, brute-force
/// sums, central differences, and the Gaussian mechanism's closed-form RDP.
final class ToeplitzTests: XCTestCase {
    /// Dense T(c) (n × n, row-major).
    func dense(_ c: [Double], _ n: Int) -> [Double] {
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i where i - j < c.count { m[i * n + j] = c[i - j] } }
        return m
    }

    /// Forward substitution with a dense lower-triangular matrix.
    func denseSolve(_ m: [Double], _ y: [Double], _ n: Int) -> [Double] {
        var x = y
        for i in 0..<n {
            for j in 0..<i { x[i] -= m[i * n + j] * x[j] }
            x[i] /= m[i * n + i]
        }
        return x
    }

    func testSolverMatchesDenseSubstitutionAcrossBlocks() throws {
        var random = TestRandom(state: 7)
        for (n, b) in [(1, 1), (5, 3), (31, 1), (33, 4), (100, 40), (257, 64), (70, 100)] {
            var c = random.values(b)
            c[0] = 1.5
            let y = random.values(n)
            let solver = try BandedToeplitzSolver(c)
            var x = [Double](repeating: .nan, count: n)
            y.withUnsafeBufferPointer { yp in x.withUnsafeMutableBufferPointer { solver.solve(yp.baseAddress!, into: $0.baseAddress!, n) } }
            XCTAssertLessThan(maxRelativeError(x, denseSolve(dense(c, n), y, n)), 1e-12, "n=\(n) b=\(b)")
            // two solves at once: z = T(c)⁻² y
            var x2 = [Double](repeating: 0, count: n), z = x2
            y.withUnsafeBufferPointer { yp in
                x2.withUnsafeMutableBufferPointer { xp in
                    z.withUnsafeMutableBufferPointer { solveTwice(solver, yp.baseAddress!, into: xp.baseAddress!, then: $0.baseAddress!, n) }
                }
            }
            XCTAssertEqual(x2, x)
            XCTAssertLessThan(maxRelativeError(z, denseSolve(dense(c, n), x, n)), 1e-12)
        }
    }

    func testMinimumPhaseTest() {
        XCTAssertTrue(BandedToeplitzSolver.minimumPhase([1, -0.5]))            // root 2
        XCTAssertFalse(BandedToeplitzSolver.minimumPhase([1, -2]))             // root 0.5
        XCTAssertFalse(BandedToeplitzSolver.minimumPhase([1, 1]))              // root −1, on the circle
        XCTAssertTrue(BandedToeplitzSolver.minimumPhase([1, 0.5, 0.375, 0.3125]))   // positive, decreasing
        XCTAssertFalse(BandedToeplitzSolver.minimumPhase([1, 0, 4]))           // roots ±i/2
        XCTAssertTrue(BandedToeplitzSolver.minimumPhase([7.3]))
    }

    func testClosedFormsAndProduct() throws {
        XCTAssertEqual(try Toeplitz.optimalMaxErrorStrategyCoefs(4), [1, 0.5, 0.375, 0.3125])
        XCTAssertEqual(try Toeplitz.optimalMaxErrorNoisingCoefs(4), [1, -0.5, -0.125, -0.0625])
        XCTAssertEqual(try Toeplitz.padCoefs([1, 2, 3], n: 2), [1, 2])
        XCTAssertEqual(try Toeplitz.padCoefs([1, 2], n: 4), [1, 2, 0, 0])
        XCTAssertEqual(try Toeplitz.multiply([1, 2, 3, 4], [5, 6], n: 3), [5, 16, 27])
        XCTAssertThrowsError(try Toeplitz.multiply([1, 2], [1], n: nil)) { error in
            XCTAssertTrue("\(error)".contains("lhs_coef and rhs_coef must have the same length"))
        }
        // T(f)² is the prefix-sum matrix.
        let f = try Toeplitz.optimalMaxErrorStrategyCoefs(50)
        let square = try Toeplitz.multiply(f, f, n: nil)
        XCTAssertLessThan(maxRelativeError(square, [Double](repeating: 1, count: 50)), 1e-14)
    }

    func testPerQueryErrorAgainstTheDenseDecoder() throws {
        let c = [1.0, 0.6, -0.2, 0.3], n = 23, a = [1.0, 0.9, 0.5]
        let cinv = (0..<n).map { j in denseSolve(dense(c, n), (0..<n).map { $0 == j ? 1 : 0 }, n) }   // columns of C⁻¹
        let workload = dense(a, n)
        var expected = [Double](repeating: 0, count: n)
        for t in 0..<n {   // ‖(A C⁻¹)[t, :]‖²
            for j in 0..<n {
                var s = 0.0
                for k in 0..<n { s += workload[t * n + k] * cinv[j][k] }
                expected[t] += s * s
            }
        }
        XCTAssertLessThan(maxRelativeError(try Toeplitz.perQueryError(.strategy(c), n: n, workload: a), expected), 1e-12)
        let nu = cinv[0]   // T(c)⁻¹'s coefficients
        let viaNoising = try Toeplitz.perQueryError(.noising(nu), n: n, workload: a)
        XCTAssertLessThan(maxRelativeError(viaNoising, expected), 1e-12)
    }

    func testLossGradientMatchesCentralDifferences() throws {
        let c = [1.0, 0.55, 0.4, 0.2, 0.12], n = 300
        for reduction in [ErrorReduction.mean, .last, .weights((0..<n).map { 1 + sin(Double($0)) })] {
            let (_, g) = try Toeplitz.loss(.strategy(c), n: n, workload: nil, reduction: reduction,
                                           timesSensitivity: true, gradient: true)
            for r in 0..<c.count {
                var up = c, down = c
                up[r] += 1e-6
                down[r] -= 1e-6
                let fu = try Toeplitz.loss(.strategy(up), n: n, workload: nil, reduction: reduction, timesSensitivity: true).loss
                let fd = try Toeplitz.loss(.strategy(down), n: n, workload: nil, reduction: reduction, timesSensitivity: true).loss
                XCTAssertEqual(g![r], (fu - fd) / 2e-6, accuracy: 1e-6 * Swift.max(1, abs(g![r])))
            }
        }
    }

    func testMinsepSensitivityAgainstBruteForce() throws {
        let c = [5.0, 4, 4, 2, 1, 1]
        for n in [1, 6, 9, 40] {
            for s in [1, 2, 3, 7, 50] {
                for k in [nil, 1, 2, 5] as [Int?] {
                    let kk = Swift.min(k ?? Int.max, (n + s - 1) / s)
                    var exact = 0.0
                    for i in 0..<n {
                        var v = 0.0
                        for m in 0..<kk where i - m * s >= 0 && i - m * s < c.count { v += c[i - m * s] }
                        exact += v * v
                    }
                    XCTAssertEqual(try Toeplitz.minsepSensitivitySquared(c, minSep: s, maxParticipations: k, n: n), exact,
                                   "n=\(n) s=\(s) k=\(String(describing: k))")
                }
            }
        }
        XCTAssertThrowsError(try Toeplitz.minsepSensitivitySquared([1, 2], minSep: 1, maxParticipations: nil, n: nil))
        XCTAssertThrowsError(try Toeplitz.minsepSensitivitySquared([1], minSep: 0, maxParticipations: nil, n: nil))
    }

    func testInverseStageFloatAndDoubleInPlace() throws {
        let c = [2.0, 0.7, 0.4, -0.3, 0.1], n = 12, m = 150   // 150: full SIMD chunks and a tail
        let inverse = try Toeplitz.inverse(c, columnNormalizeFor: nil)
        var random = TestRandom(state: 3)
        let z = random.values(n * m)
        let x64 = Buffer<Double>(shape: [n, m], z)
        try inverse.multiply(x64.view, into: x64.view)
        let x32 = Buffer<Float>(shape: [n, m], z.map { Float($0) })
        try inverse.multiply(x32.view, into: x32.view)
        let d = dense(c, n)
        for col in [0, 63, 64, 149] {
            let expected = denseSolve(d, (0..<n).map { z[$0 * m + col] }, n)
            for t in 0..<n {
                XCTAssertEqual(x64[t * m + col], expected[t], accuracy: 1e-12)
                XCTAssertEqual(Double(x32[t * m + col]), expected[t], accuracy: 1e-4)
            }
        }
        XCTAssertEqual(inverse.stateCount, c.count - 1)
    }

    func testGaussianCalibrationMatchesTheClosedForm() throws {
        // q = 1, one composition: ε(σ) = min_α α/(2σ²) + log1p(−1/α) − log(δ α)/(α − 1).
        let sigma = try RenyiAccountant.calibrate(q: 1, count: 1, epsilon: 2, delta: 1e-6, lower: 0.01, upper: 10)
        func eps(_ s: Double) -> Double {
            RenyiAccountant.orders.filter { $0 > 1.01 }.map { a in
                a / (2 * s * s) + log1p(-1 / a) - log(1e-6 * a) / (a - 1)
            }.min()!
        }
        XCTAssertLessThanOrEqual(eps(sigma), 2)
        XCTAssertGreaterThan(eps(sigma - 2e-6), 2)
        // A_2 in closed form, and the fractional series next to it (and next to 5).
        let (q, sg) = (0.03, 0.9)
        let a2 = log((1 - q) * (1 - q) + 2 * q * (1 - q) + q * q * exp(1 / (sg * sg)))
        XCTAssertEqual(RenyiAccountant.rdp(q: q, sigma: sg, alpha: 2), a2, accuracy: 1e-14)
        for alpha in [2.0, 5.0] {
            let exact = RenyiAccountant.rdp(q: q, sigma: sg, alpha: alpha)
            XCTAssertEqual(RenyiAccountant.rdp(q: q, sigma: sg, alpha: alpha + 1e-7), exact, accuracy: 1e-5 * exact)
        }
        // RDP grows with the order.
        let curve = RenyiAccountant.orders.map { RenyiAccountant.rdp(q: q, sigma: sg, alpha: $0) }
        XCTAssertTrue(zip(curve, curve.dropFirst()).allSatisfy { $0 <= $1 })
        // log erfc: the library's erfc below 25, the continued fraction past it (asymptotic series).
        XCTAssertEqual(RenyiAccountant.logErfc(24.9), log(erfc(24.9)), accuracy: 1e-12 * 621)
        let x = 25.0, u = 1 / (2 * x * x)
        let series = log1p(-u + 3 * u * u - 15 * u * u * u + 105 * u * u * u * u)
        XCTAssertEqual(RenyiAccountant.logErfc(x), -x * x - 0.5 * log(Double.pi) - log(x) + series, accuracy: 1e-11)
    }

    func testOptimizerReducesTheLossAndKeepsUnitNorm() throws {
        let n = 512, b = 8
        let start = try Toeplitz.optimalMaxErrorStrategyCoefs(b)
        let before = try Toeplitz.loss(.strategy(start), n: n, workload: nil, reduction: .mean, timesSensitivity: true).loss
        var steps = 0
        let (coef, result) = try Toeplitz.optimizeBandedToeplitz(n: n, bands: b, maxSteps: 40) { _, _, _ in
            steps += 1
            return false
        }
        let after = try Toeplitz.loss(.strategy(coef), n: n, workload: nil, reduction: .mean, timesSensitivity: true).loss
        XCTAssertLessThan(after, before * 0.9)
        XCTAssertEqual(coef.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-14)
        XCTAssertGreaterThan(steps, 0)
        XCTAssertEqual(result.steps, steps)
        XCTAssertEqual(result.loss, after, accuracy: 1e-12 * after)   // the report is the returned point's
        XCTAssertThrowsError(try Toeplitz.optimizeBandedToeplitz(n: n, bands: 3, start: [1, 2]))
        XCTAssertThrowsError(try Toeplitz.optimizeBandedToeplitz(n: n, bands: 3, gradientTolerance: -1))
        XCTAssertThrowsError(try Toeplitz.optimizeBandedToeplitz(n: n, bands: 3, lossTolerance: .nan))
    }

    /// The gradient of the loss with respect to c[1...] / c[0] at unit-norm coefficients (what
    /// the optimizer's gtol bounds), from `Toeplitz.loss`.
    func ratioGradient(_ coef: [Double], _ n: Int) throws -> [Double] {
        let ratios = coef.map { $0 / coef[0] }
        let g = try Toeplitz.loss(.strategy(ratios), n: n, workload: nil, reduction: .mean, timesSensitivity: true,
                                  gradient: true).gradient!
        return Array(g.dropFirst())
    }

    func testOptimizerStopReasons() throws {
        let n = 512, b = 8
        // steps exhausted: not converged
        let (_, capped) = try Toeplitz.optimizeBandedToeplitz(n: n, bands: b, maxSteps: 3)
        XCTAssertEqual(capped.stop, .maxSteps)
        XCTAssertEqual(capped.steps, 3)
        XCTAssertFalse(capped.stop.converged)
        // the gradient tolerance, checked against the gradient of `Toeplitz.loss` at the result
        let (coef, byGradient) = try Toeplitz.optimizeBandedToeplitz(n: n, bands: b, maxSteps: 500,
                                                                     gradientTolerance: 1e-6)
        XCTAssertEqual(byGradient.stop, .gradientTolerance)
        XCTAssertTrue(byGradient.stop.converged)
        XCTAssertLessThanOrEqual(try ratioGradient(coef, n).map(abs).max()!, 1e-6 * (1 + 1e-6))
        // the loss tolerance ends the run earlier than the gradient one
        let (_, byLoss) = try Toeplitz.optimizeBandedToeplitz(n: n, bands: b, maxSteps: 500, lossTolerance: 1e-3)
        XCTAssertEqual(byLoss.stop, .lossTolerance)
        XCTAssertLessThan(byLoss.steps, byGradient.steps)
        // the callback
        let (_, stopped) = try Toeplitz.optimizeBandedToeplitz(n: n, bands: b, maxSteps: 500) { step, _, _ in step == 2 }
        XCTAssertEqual(stopped.stop, .callback)
        XCTAssertEqual(stopped.steps, 3)
        // without tolerances the run goes on until no step decreases the loss: a stall at the
        // optimum (a gradient near 0), reported as such and not as convergence
        let (_, stall) = try Toeplitz.optimizeBandedToeplitz(n: 64, bands: 4, maxSteps: 1000)
        XCTAssertEqual(stall.stop, .lineSearch)
        XCTAssertFalse(stall.stop.converged)
        XCTAssertLessThan(stall.steps, 1000)
        XCTAssertLessThan(stall.gradientNorm, 1e-5)
        // a loss beyond the range of a double at the start (c[1] / c[0] = 1e300): the start, unit norm
        let (start, overflow) = try Toeplitz.optimizeBandedToeplitz(n: 64, bands: 2, start: [1e-300, 1])
        XCTAssertEqual(overflow.stop, .nonFinite)
        XCTAssertEqual(overflow.steps, 0)
        XCTAssertEqual(start, [1e-300, 1])
        // nothing to optimize (one band, or n = 1): one evaluation, converged
        let (one, trivial) = try Toeplitz.optimizeBandedToeplitz(n: 64, bands: 1, start: [-2])
        XCTAssertEqual(one, [-1])
        XCTAssertEqual(trivial.stop, .gradientTolerance)
        XCTAssertEqual(trivial.steps, 0)
        XCTAssertEqual(trivial.evaluations, 1)
        let identity = try Toeplitz.loss(.strategy([1]), n: 64, workload: nil, reduction: .mean, timesSensitivity: true).loss
        XCTAssertEqual(trivial.loss, identity, accuracy: 1e-12 * identity)
    }

    func testAmplifiedOptimizeReportsTheChosenRun() throws {
        let helper = try AmplifiedBandMF(n: 64, datasetSize: 160, batchSize: 20, epsilon: 2, delta: 1e-6)
        var calls = 0
        let (coef, _, result) = try helper.optimize(maxSteps: 300, gradientTolerance: 1e-7) { _, _, _ in calls += 1; return false }
        let runs = try helper.lossForBands(maxSteps: 300, gradientTolerance: 1e-7)
        let chosen = runs.first { $0.coef == coef }!
        XCTAssertEqual(chosen.result.steps, result.steps)
        XCTAssertEqual(chosen.result.stop, result.stop)
        XCTAssertEqual(chosen.result.loss, result.loss)
        XCTAssertEqual(calls, runs.map { $0.result.steps }.reduce(0, +))   // the callback sees every run's steps
        let one = runs.first { $0.bands == 1 }!.result   // no unknowns
        XCTAssertEqual(one.stop, .gradientTolerance)
        XCTAssertEqual(one.steps, 0)
    }

    func testArrayEntryPointsCheckBeforeWriting() throws {
        let coef = Buffer<Double>(shape: [2], [0, 1])
        let out = Buffer<Double>(shape: [3], [7, 7, 7])
        XCTAssertThrowsError(try Toeplitz.inverseCoef(coef.view, n: 3, into: out.view))
        XCTAssertEqual(out.values, [7, 7, 7])
        let good = Buffer<Double>(shape: [2], [2, 1])
        XCTAssertThrowsError(try Toeplitz.inverseCoef(good.view, n: 4, into: out.view))   // wrong length
        try Toeplitz.inverseCoef(good.view, n: 3, into: out.view)
        XCTAssertEqual(out.values, [0.5, -0.25, 0.125])
        XCTAssertThrowsError(try Toeplitz.perQueryError(strategy: good.view, noising: good.view, n: nil, workload: nil,
                                                        into: out.view))
    }
}

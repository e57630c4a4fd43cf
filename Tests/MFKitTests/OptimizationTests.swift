import XCTest
@testable import MFKit

/// The optimizer: the line search against the strong Wolfe conditions, L-BFGS's stop reasons and
/// scale-invariant blocks, and banded optimization (with its surrogates for max and last).
final class OptimizationTests: XCTestCase {
    typealias Objective = (UnsafePointer<Double>, UnsafeMutablePointer<Double>?) -> Double

    let rosenbrock: Objective = { x, g in
        let (a, b) = (x[0], x[1])
        if let g {
            g[0] = -2 * (1 - a) - 400 * a * (b - a * a)
            g[1] = 200 * (b - a * a)
        }
        return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a)
    }

    /// Runs the line search on φ and returns the accepted step (nil on failure) and the trials.
    func search(_ phi: (Double) -> (Double, Double), initial: Double) -> (Double?, Int) {
        let (f0, g0) = phi(0)
        var s = StrongWolfeLineSearch(value0: f0, slope0: g0, initial: initial, stepMax: 1e10)
        var step = s.step, trials = 0
        while trials < 50 {
            let (f, g) = phi(step)
            trials += 1
            switch s.update(value: f, slope: g) {
            case .accept: return (step, trials)
            case .fail: return (nil, trials)
            case .evaluate(let next): step = next
            }
        }
        return (nil, trials)
    }

    func testLineSearchMeetsTheStrongWolfeConditions() {
        // Functions of Moré and Thuente's tests (their (5.1)-(5.3)), from steps far too short
        // and far too long: the accepted step satisfies both conditions.
        let functions: [(Double) -> (Double, Double)] = [
            { a in (-a / (a * a + 2), (a * a - 2) / ((a * a + 2) * (a * a + 2))) },
            { a in (pow(a + 0.004, 5) - 2 * pow(a + 0.004, 4), 5 * pow(a + 0.004, 4) - 8 * pow(a + 0.004, 3)) },
            { a in
                let l = 39.0, b = 0.01
                let p = 2 * (1 - b) / (l * .pi) * sin(l * .pi / 2 * a)
                let dp = (1 - b) * cos(l * .pi / 2 * a)
                let f = a <= 1 - b ? 1 - a : (a >= 1 + b ? a - 1 : (a - 1) * (a - 1) / (2 * b) + b / 2)
                let df = a <= 1 - b ? -1.0 : (a >= 1 + b ? 1.0 : (a - 1) / b)
                return (f + p, df + dp)
            },
        ]
        for (k, phi) in functions.enumerated() {
            let (f0, g0) = phi(0)
            for initial in [1e-3, 1e-1, 10, 1e3] {
                let (step, trials) = search(phi, initial: initial)
                guard let a = step else { XCTFail("function \(k) from \(initial): no step"); continue }
                let (f, g) = phi(a)
                XCTAssertLessThanOrEqual(f, f0 + 1e-4 * a * g0, "function \(k) from \(initial)")
                XCTAssertLessThanOrEqual(abs(g), 0.9 * abs(g0) + 1e-12, "function \(k) from \(initial)")
                XCTAssertLessThanOrEqual(trials, 20, "function \(k) from \(initial)")
            }
        }
    }

    func testLineSearchBacksOffFromNonFiniteValues() {
        // φ(α) = (α − 1)² is not defined beyond α = 2.
        let phi: (Double) -> (Double, Double) = { a in a > 2 ? (.nan, .nan) : ((a - 1) * (a - 1), 2 * (a - 1)) }
        let (step, _) = search(phi, initial: 100)
        XCTAssertNotNil(step)
        XCTAssertLessThanOrEqual(step ?? 3, 2)
    }

    func testLBFGSStopReasons() throws {
        var lbfgs = LBFGS(maxSteps: 500)
        lbfgs.gradientTolerance = 1e-9
        let converged = try lbfgs.minimize([-1.2, 1], rosenbrock)
        XCTAssertEqual(converged.stop, .gradientTolerance)
        XCTAssertTrue(converged.stop.converged)
        XCTAssertEqual(converged.x[0], 1, accuracy: 1e-8)
        XCTAssertEqual(converged.x[1], 1, accuracy: 1e-8)
        XCTAssertLessThanOrEqual(converged.gradientNorm, 1e-8)
        XCTAssertGreaterThanOrEqual(converged.evaluations, converged.steps)

        let short = try LBFGS(maxSteps: 3).minimize([-1.2, 1], rosenbrock)
        XCTAssertEqual(short.stop, .maxSteps)
        XCTAssertEqual(short.steps, 3)
        XCTAssertFalse(short.stop.converged)

        var loose = LBFGS(maxSteps: 500)
        loose.lossTolerance = 1e-3
        let byLoss = try loose.minimize([-1.2, 1], rosenbrock)
        XCTAssertEqual(byLoss.stop, .lossTolerance)
        XCTAssertLessThan(byLoss.steps, 500)

        var seen: [Int] = []
        let stopped = try LBFGS(maxSteps: 50).minimize([-1.2, 1], rosenbrock) { step, _, _ in
            seen.append(step)
            return step == 4
        }
        XCTAssertEqual(stopped.stop, .callback)
        XCTAssertEqual(seen, [0, 1, 2, 3, 4])

        // Zero tolerances: the run ends by steps or by a stall, never "converged" by accident.
        let zero = try LBFGS(maxSteps: 10_000).minimize([-1.2, 1], rosenbrock)
        XCTAssertTrue(zero.stop == .lineSearch || zero.stop == .gradientTolerance, "\(zero.stop)")
        XCTAssertEqual(zero.x[0], 1, accuracy: 1e-7)
    }

    func testNonFiniteStartAndWrongGradientAreReported() throws {
        let nanGradient: Objective = { x, g in
            if let g { g[0] = .nan; g[1] = 0 }
            return x[0] * x[0] + x[1] * x[1]
        }
        let a = try LBFGS(maxSteps: 10).minimize([1, 2], nanGradient)
        XCTAssertEqual(a.stop, .nonFinite)
        XCTAssertEqual(a.steps, 0)
        XCTAssertEqual(a.x, [1, 2])
        let nanLoss: Objective = { _, g in
            if let g { g[0] = 1; g[1] = 1 }
            return .infinity
        }
        XCTAssertEqual(try LBFGS(maxSteps: 10).minimize([1, 2], nanLoss).stop, .nonFinite)
        // A gradient of the wrong sign: no step decreases f; a stall, with the start returned.
        let wrong: Objective = { x, g in
            if let g { g[0] = -2 * x[0]; g[1] = -2 * x[1] }
            return x[0] * x[0] + x[1] * x[1]
        }
        let b = try LBFGS(maxSteps: 10).minimize([1, 2], wrong)
        XCTAssertEqual(b.stop, .lineSearch)
        XCTAssertFalse(b.stop.converged)
        XCTAssertEqual(b.x, [1, 2])
    }

    func testSettingsAreChecked() {
        XCTAssertThrowsError(try LBFGS(maxSteps: -1).minimize([1], rosenbrock))
        XCTAssertThrowsError(try LBFGS(maxSteps: 1, memory: 0).minimize([1], rosenbrock))
        XCTAssertThrowsError(try LBFGS(maxSteps: 1).minimize([], rosenbrock))
        var bad = LBFGS(maxSteps: 1)
        bad.gradientTolerance = -1
        XCTAssertThrowsError(try bad.minimize([1, 1], rosenbrock))
        bad = LBFGS(maxSteps: 1)
        bad.lossTolerance = .nan
        XCTAssertThrowsError(try bad.minimize([1, 1], rosenbrock))
        bad = LBFGS(maxSteps: 1)
        bad.invariantBlock = -2
        XCTAssertThrowsError(try bad.minimize([1, 1], rosenbrock))
    }

    func testInvariantBlocksStayUnitAndMatchTheUnscaledRun() throws {
        // Two Rayleigh quotients x'Dx / x'x (D = diag(1, 2, 3)), each invariant to its block's scale.
        let rayleigh: Objective = { x, g in
            var f = 0.0
            for blk in 0..<2 {
                let v = x + 3 * blk
                var num = 0.0, den = 0.0
                for i in 0..<3 { num += Double(i + 1) * v[i] * v[i]; den += v[i] * v[i] }
                f += num / den
                if let g { for i in 0..<3 { g[3 * blk + i] = 2 * v[i] * (Double(i + 1) - num / den) / den } }
            }
            return f
        }
        var lbfgs = LBFGS(maxSteps: 200)
        lbfgs.invariantBlock = 3
        lbfgs.gradientTolerance = 1e-7
        let r = try lbfgs.minimize([30, 20, 10, -1, 5, 2], rayleigh)
        XCTAssertEqual(r.loss, 2, accuracy: 1e-12)
        for blk in 0..<2 {
            let v = r.x[(3 * blk)..<(3 * blk + 3)]
            XCTAssertEqual(v.map { $0 * $0 }.reduce(0, +), 1, accuracy: 1e-12)
        }
        // Without a step nothing is rescaled.
        lbfgs.maxSteps = 0
        XCTAssertEqual(try lbfgs.minimize([30, 20, 10, -1, 5, 2], rayleigh).x, [30, 20, 10, -1, 5, 2])
    }

    func testCurvaturePairsCarriedThroughARescalingGiveTheRescaledDirection() throws {
        // For a quadratic in coordinates x' = T x, the pairs rescaled by T (s' = T s,
        // y' = T⁻¹ y) give the direction T d (up to H₀'s scalar, equal here since T only
        // rescales coordinates with equal y-components).
        let pairs = try CurvaturePairs(unknowns: 3, memory: 5)
        let xs: [[Double]] = [[1, 2, 3], [0.5, 1, 2], [0.2, 0.7, 1.1]]
        func grad(_ x: [Double]) -> [Double] { [2 * x[0], 4 * x[1], 6 * x[2]] }
        for k in 0..<2 {
            XCTAssertTrue(pairs.update(x0: xs[k], x1: xs[k + 1], g0: grad(xs[k]), g1: grad(xs[k + 1])))
        }
        var d = [Double](repeating: 0, count: 3)
        pairs.direction(grad(xs[2]), into: &d)
        XCTAssertLessThan(zip(d, grad(xs[2])).map(*).reduce(0, +), 0)   // a descent direction
        pairs.rescale([2, 2, 2])
        var d2 = [Double](repeating: 0, count: 3)
        pairs.direction(grad(xs[2]).map { $0 / 2 }, into: &d2)
        for i in 0..<3 { XCTAssertEqual(d2[i], 2 * d[i], accuracy: 1e-12) }
    }

    func testBandedOptimizeDecreasesLossAndStopsOnCallback() throws {
        var steps = 0
        let start = try ColumnNormalizedBanded.default(n: 40, bands: 4)
        let (s, result) = try ColumnNormalizedBanded.optimize(n: 40, bands: 4, maxSteps: 100) { step, _, _ in
            steps += 1
            return step == 9
        }
        XCTAssertEqual(steps, 10)
        XCTAssertEqual(result.stop, .callback)
        XCTAssertEqual(result.steps, 10)
        let before = try start.perQueryError().reduce(0, +), after = try s.perQueryError().reduce(0, +)
        XCTAssertLessThan(after, before)
        for j in 0..<40 {   // unit columns
            XCTAssertEqual((0..<4).map { s.param(j, $0) * s.param(j, $0) }.reduce(0, +), 1, accuracy: 1e-12)
        }
    }

    func testBandedOptimizeLastApproachesItsInfimum() throws {
        // For the last prefix sum, ‖x‖² with Cᵀ x = 1, every window of b entries of x needs
        // energy at least 1, so the loss is at least ⌊(n − 1) / b⌋ + 1 = 9 at (72, 8), approached
        // only as C becomes singular. jax_privacy's 500 steps reach 9.5743 (MFKit's Armijo
        // line search used to stall at 9.653 after 285 steps); the barrier path gets close to
        // the bound.
        var losses: [Double] = []
        let (s, result) = try ColumnNormalizedBanded.optimize(n: 72, bands: 8, maxSteps: 500, reduction: .last) { _, l, _ in
            losses.append(l)
            return false
        }
        let e = try s.perQueryError()
        XCTAssertEqual(result.loss, e[71], accuracy: 1e-12 * e[71])
        XCTAssertGreaterThanOrEqual(e[71], 9 - 1e-9)
        XCTAssertLessThan(e[71], 9.2)
        XCTAssertEqual(losses.count, result.steps)
        XCTAssertEqual(losses.last ?? 0, e[71], accuracy: 1e-6 * e[71])
    }

    func testBandedOptimizeMaxThroughTheSmoothSurrogate() throws {
        let start = try ColumnNormalizedBanded.default(n: 60, bands: 4)
        let (s, result) = try ColumnNormalizedBanded.optimize(n: 60, bands: 4, maxSteps: 200, reduction: .max)
        let e = try s.perQueryError(), e0 = try start.perQueryError()
        XCTAssertEqual(result.loss, e.max()!, accuracy: 1e-12 * e.max()!)
        XCTAssertLessThan(e.max()!, 0.9 * e0.max()!)
        XCTAssertEqual(result.steps, 200)
        XCTAssertEqual(result.stop, .maxSteps)
    }
}

import XCTest
@testable import MFKit

/// Buffered Toeplitz strategies against independent oracles: direct sums of the coefficients
/// (in Double and by recurrence), the inverse's defining identity C C⁻¹ = I, streaming the
/// identity, and finite differences of the optimizer's objective.
final class BufferedToeplitzTests: XCTestCase {
    let strategy = try! BufferedToeplitz.build(bufDecay: [0.99, 0.8, 0.3], outputScale: [0.05, 0.2, 0.3])

    /// Σ_{t<n} b_t² with b_t the prefix sums of the coefficients, directly.
    func directMaxError(_ inv: BufferedToeplitz, _ n: Int) throws -> Double {
        let c = try inv.toeplitzCoefs(n)
        var b = 0.0, e = 0.0
        for m in 0..<n { b += c[m]; e += b * b }
        return e
    }

    func testCoefficientsAndMaterialize() throws {
        let c = try strategy.toeplitzCoefs(6)
        XCTAssertEqual(c[0], 1)
        XCTAssertEqual(c[1], 0.55, accuracy: 1e-15)
        XCTAssertEqual(c[3], 0.05 * 0.99 * 0.99 + 0.2 * 0.64 + 0.3 * 0.09, accuracy: 1e-15)
        var m = [Double](repeating: .nan, count: 36)
        try m.withUnsafeMutableBytes { raw in
            try strategy.materialize(into: StridedArray(data: raw.baseAddress, dtype: .float64, shape: [6, 6]))
        }
        for i in 0..<6 { for j in 0..<6 { XCTAssertEqual(m[i * 6 + j], i >= j ? c[i - j] : 0) } }
        XCTAssertEqual(strategy.bufDecay, [0.99, 0.8, 0.3])
        XCTAssertThrowsError(try BufferedToeplitz(bufDecay: [0.9], outputScale: [0.1, 0.2]))
    }

    func testInverseIsTheInverse() throws {
        let inv = try strategy.inverse()
        let n = 30
        let c = try strategy.toeplitzCoefs(n), d = try inv.toeplitzCoefs(n)
        for m in 0..<n {   // (c * d)_m = [m == 0]
            var s = 0.0
            for k in 0...m { s += c[k] * d[m - k] }
            XCTAssertEqual(s, m == 0 ? 1 : 0, accuracy: 1e-15)
        }
        XCTAssertTrue(inv.outputScale.allSatisfy { $0 < 0 })
        let back = try inv.inverse()
        for j in 0..<3 {
            XCTAssertEqual(back.bufDecay[j], strategy.bufDecay[j], accuracy: 1e-15)
            XCTAssertEqual(back.outputScale[j], strategy.outputScale[j], accuracy: 1e-15)
        }
        XCTAssertThrowsError(try BufferedToeplitz.build(bufDecay: [0.5, 0.5 + 1e-12], outputScale: [0.1, 0.1]).inverse())
        XCTAssertThrowsError(try BufferedToeplitz.build(bufDecay: [0.5, 0.4], outputScale: [1, -1]).inverse()) { error in
            guard case MFError.numerical = error else { return XCTFail("expected a numerical error, got \(error)") }
        }
    }

    func testClosedFormsAgainstDirectSums() throws {
        let inv = try strategy.inverse()
        for n in [1, 2, 17, 1000, 20000] {
            XCTAssertLessThan(abs(try inv.maxError(Double(n)).value / directMaxError(inv, n) - 1), 1e-11)
            let c = try strategy.toeplitzCoefs(n)
            let sens = c.reduce(0) { $0 + $1 * $1 }
            XCTAssertLessThan(abs(try strategy.sensitivitySquared(Double(n)).value / sens - 1), 1e-13)
        }
        // At θ = 1 exactly: b_t = 1 + ω t.
        let ramp = try BufferedToeplitz(bufDecay: [1], outputScale: [0.5])
        var e = 0.0
        for t in 0..<1000 { e += (1 + 0.5 * Double(t)) * (1 + 0.5 * Double(t)) }
        XCTAssertEqual(try ramp.maxError(1000).value, e, accuracy: 1e-15 * e)
        XCTAssertEqual(try BufferedToeplitz.geometricSum(2, 1, 1e6).value, 2e6)
    }

    func testStreamsMatchTheMatrices() throws {
        let n = 12
        for inverse in [false, true] {
            let a = inverse ? strategy.inverseAsStreamingMatrix() : strategy.asStreamingMatrix()
            let expected = inverse ? try strategy.inverse() : strategy
            // Float32 slices of 3 elements, in place, against the dense coefficients.
            var x = [Float](repeating: 0, count: n * 3)
            for t in 0..<n { for i in 0..<3 { x[t * 3 + i] = Float(t == 0 ? i + 1 : 0) } }
            try x.withUnsafeMutableBytes { raw in
                let v = StridedArray(data: raw.baseAddress, dtype: .float32, shape: [n, 3])
                try a.multiply(v, into: v)
            }
            let c = try expected.toeplitzCoefs(n)
            for t in 0..<n { for i in 0..<3 { XCTAssertEqual(Double(x[t * 3 + i]), c[t] * Double(i + 1), accuracy: 1e-5) } }
        }
    }

    func testPairObjectiveGradientMatchesFiniteDifferences() throws {
        for loss in [try BLTLoss.closedFormSingleParticipation(n: 400),
                     try BLTLoss.minSep(n: 400, error: .mean, minSep: 30, maxParticipations: 5)] {
            let start = try BufferedToeplitz.initial(numBuffers: 3)
            let x = start.bufDecay + (try start.inverse()).bufDecay
            var g = [Double](repeating: 0, count: 6)
            let f0 = x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { loss.pairLoss(xp.baseAddress!, 3, $0.baseAddress!) } }
            XCTAssertTrue(f0.isFinite)
            for i in 0..<6 {
                let h = 1e-4 * Swift.min(1 - x[i], x[i])
                var up = x, down = x
                up[i] += h; down[i] -= h
                let fu = up.withUnsafeBufferPointer { loss.pairLoss($0.baseAddress!, 3, nil) }
                let fd = down.withUnsafeBufferPointer { loss.pairLoss($0.baseAddress!, 3, nil) }
                let numeric = (fu - fd) / (2 * h)
                XCTAssertEqual(g[i], numeric, accuracy: 1e-5 * Swift.max(1, abs(numeric)), "coordinate \(i)")
            }
        }
    }

    func testOptimizeImprovesOnTheStartAndStopsOnRequest() throws {
        let loss = try BLTLoss.closedFormSingleParticipation(n: 10000)
        let start = try BufferedToeplitz.initial(numBuffers: 3)
        let (blt, value, result) = try BufferedToeplitz.optimize(loss: loss, numBuffers: 3)
        XCTAssertLessThan(value, try loss.loss(start))
        XCTAssertEqual(value, try blt.maxLoss(10000).value, accuracy: 1e-12 * value)
        // the report's loss is the objective minimized at the result: the normalized penalized loss
        let objective = try loss.penalizedLoss(blt, try blt.inverse())
        XCTAssertEqual(result.loss, objective, accuracy: 1e-9 * objective)
        var steps = 0
        let (_, _, stopped) = try BufferedToeplitz.optimize(loss: loss, numBuffers: 2, callback: { step, _, _ in
            steps = step + 1
            return step == 2
        })
        XCTAssertEqual(steps, 3)
        XCTAssertEqual(stopped.stop, .callback)
        XCTAssertEqual(stopped.steps, 3)
        XCTAssertThrowsError(try BufferedToeplitz.optimize(n: 100, maxBuffers: 16))
        XCTAssertThrowsError(try BufferedToeplitz.optimize(loss: loss, numBuffers: 2, gradientTolerance: -1))
    }

    func testOptimizeStopReasonsAndTheChosenRunsReport() throws {
        let loss = try BLTLoss.closedFormSingleParticipation(n: 100)
        let (_, _, capped) = try BufferedToeplitz.optimize(loss: loss, numBuffers: 2, maxSteps: 5)
        XCTAssertEqual(capped.stop, .maxSteps)
        XCTAssertEqual(capped.steps, 5)
        let (_, _, byGradient) = try BufferedToeplitz.optimize(loss: loss, numBuffers: 2, gradientTolerance: 1e-3)
        XCTAssertEqual(byGradient.stop, .gradientTolerance)
        XCTAssertTrue(byGradient.stop.converged)
        let (_, _, byLoss) = try BufferedToeplitz.optimize(loss: loss, numBuffers: 2, lossTolerance: 1e-4)
        XCTAssertEqual(byLoss.stop, .lossTolerance)
        XCTAssertLessThan(byLoss.steps, byGradient.steps)
        // without tolerances: every step until no step decreases the objective, which is a
        // stall (the gradient is near 0 there), not convergence
        let (_, _, stall) = try BufferedToeplitz.optimize(loss: loss, numBuffers: 2)
        XCTAssertEqual(stall.stop, .lineSearch)
        XCTAssertFalse(stall.stop.converged)
        XCTAssertLessThan(stall.gradientNorm, 1e-6)
        // no buffers: nothing to optimize
        let (identity, value, none) = try BufferedToeplitz.optimize(loss: loss, numBuffers: 0)
        XCTAssertEqual(identity.count, 0)
        XCTAssertEqual(value, 100)   // max error n times sensitivity 1
        XCTAssertEqual(none.stop, .gradientTolerance)
        XCTAssertEqual(none.steps, 0)
        XCTAssertEqual(none.loss, try loss.penalizedLoss(.identity, .identity))
        // over buffer counts: the chosen run's report, as that run alone gives it; the
        // callback's step restarts with each run
        var starts = 0
        let (chosen, report) = try BufferedToeplitz.optimize(n: 100, minBuffers: 1, maxBuffers: 3, lossTolerance: 1e-6,
                                                             callback: { step, _, _ in if step == 0 { starts += 1 }; return false })
        let (alone, _, single) = try BufferedToeplitz.optimize(loss: loss, numBuffers: chosen.count, lossTolerance: 1e-6)
        XCTAssertEqual(chosen, alone)
        XCTAssertEqual(report.steps, single.steps)
        XCTAssertEqual(report.loss, single.loss)
        XCTAssertEqual(report.stop, .lossTolerance)
        XCTAssertEqual(starts, Swift.min(3, chosen.count + 1))   // runs tried: up to one past the chosen count
    }
}

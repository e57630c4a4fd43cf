extension Toeplitz {
    /// `optimize_banded_toeplitz(n, bands, strategy_coef, max_optimizer_steps, reduction_fn)`:
    /// minimizes jax_privacy's `loss` (the reduction of the per-query errors under the prefix
    /// sums times ‖c‖²) over banded Toeplitz strategies T(c) with `bands` coefficients, by
    /// MFKit's L-BFGS from `start` (default: `optimalMaxErrorStrategyCoefs(bands)`), and returns
    /// the coefficients with unit norm and the run's report.
    ///
    /// The loss is invariant to the scale of c, so the optimizer works on c / c_0 with c_0 = 1
    /// fixed (b − 1 unknowns, no flat direction); the result keeps the sign of start[0]. The
    /// tolerances are L-BFGS's (on the gradient with respect to c[1...] / c_0; 0: off).
    /// `callback(step, loss, gradNorm)` runs after every step; true stops the run. With nothing
    /// to optimize (min(n, bands) = 1) the report is one evaluation, converged.
    /// Time per step: one or two loss-and-gradient evaluations, O(T b + n) each (see `StrategyLoss`),
    /// plus O(10 b); memory 2 n + O(b) doubles.
    public static func optimizeBandedToeplitz(n: Int, bands: Int, start: [Double]? = nil, maxSteps: Int = 250,
                                              reduction: ErrorReduction = .mean, gradientTolerance: Double = 0,
                                              lossTolerance: Double = 0,
                                              callback: (Int, Double, Double) -> Bool = { _, _, _ in false })
        throws -> (coef: [Double], result: LBFGS.Result) {
        try Check.positive(n, "n")
        try Check.positive(bands, "bands")
        try Check.nonNegative(maxSteps, "max_optimizer_steps")
        try require(gradientTolerance >= 0 && lossTolerance >= 0,
                    "gtol and ftol must be non-negative, got gtol=\(gradientTolerance), ftol=\(lossTolerance)")
        let c0 = try start ?? optimalMaxErrorStrategyCoefs(bands)
        guard c0.count == bands else { throw MFError.shape("strategy_coef.shape=(\(c0.count),) != bands=\(bands)") }
        try Check.finite(c0, "strategy_coef")
        try requireInvertible(c0, "strategy_coef")
        // The loss sees the first min(n, bands) coefficients; the rest have no effect.
        let used = Swift.min(n, bands)
        let model = try StrategyLoss(n: n, bands: used, workload: nil, reduction: reduction, timesSensitivity: true)
        var c = [Double](repeating: 1, count: used), g = c
        var coef = c0   // the start; a run that took steps writes c0[0] x back
        let report: LBFGS.Result
        if used > 1 {
            let x0 = (1..<used).map { c0[$0] / c0[0] }
            var lbfgs = LBFGS(maxSteps: maxSteps)
            lbfgs.gradientTolerance = gradientTolerance
            lbfgs.lossTolerance = lossTolerance
            report = try lbfgs.minimize(x0, { x, grad in
                for r in 1..<used { c[r] = x[r - 1] }
                return c.withUnsafeBufferPointer { cp in
                    guard let grad else { return model.evaluate(cp.baseAddress!, gradient: nil) }
                    return g.withUnsafeMutableBufferPointer { gp in
                        let value = model.evaluate(cp.baseAddress!, gradient: gp.baseAddress!)
                        for r in 1..<used { grad[r - 1] = gp[r] }
                        return value
                    }
                }
            }, callback: callback)
            if report.steps > 0 { for r in 1..<used { coef[r] = c0[0] * report.x[r - 1] } }
        } else {
            report = .withoutUnknowns(loss: c.withUnsafeBufferPointer { model.evaluate($0.baseAddress!, gradient: nil) })
        }
        let norm = coef.withUnsafeBufferPointer { scaledNorm($0.baseAddress!, bands) }   // without overflow
        return (coef.map { $0 / norm }, report)
    }
}

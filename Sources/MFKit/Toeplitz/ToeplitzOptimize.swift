extension Toeplitz {
    /// `optimize_banded_toeplitz(n, bands, strategy_coef, max_optimizer_steps, reduction_fn)`:
    /// minimizes jax_privacy's `loss` (the reduction of the per-query errors under the prefix
    /// sums times ‖c‖²) over banded Toeplitz strategies T(c) with `bands` coefficients, by
    /// MFKit's L-BFGS from `start` (default: `optimalMaxErrorStrategyCoefs(bands)`), and returns
    /// the coefficients with unit norm.
    ///
    /// The loss is invariant to the scale of c, so the optimizer works on c / c_0 with c_0 = 1
    /// fixed (b − 1 unknowns, no flat direction); the result keeps the sign of start[0].
    /// `callback(step, loss, gradNorm)` runs after every step; true stops the run.
    /// Time per step: one or two loss-and-gradient evaluations, O(T b + n) each (see `StrategyLoss`),
    /// plus O(10 b); memory 2 n + O(b) doubles.
    public static func optimizeBandedToeplitz(n: Int, bands: Int, start: [Double]? = nil, maxSteps: Int = 250,
                                              reduction: ErrorReduction = .mean,
                                              callback: (Int, Double, Double) -> Bool = { _, _, _ in false }) throws -> [Double] {
        try Check.positive(n, "n")
        try Check.positive(bands, "bands")
        try Check.nonNegative(maxSteps, "max_optimizer_steps")
        let c0 = try start ?? optimalMaxErrorStrategyCoefs(bands)
        guard c0.count == bands else { throw MFError.shape("strategy_coef.shape=(\(c0.count),) != bands=\(bands)") }
        try Check.finite(c0, "strategy_coef")
        try requireInvertible(c0, "strategy_coef")
        // The loss sees the first min(n, bands) coefficients; the rest have no effect.
        let used = Swift.min(n, bands)
        var result = c0.map { $0 / c0[0] }
        if used > 1 {
            let model = try StrategyLoss(n: n, bands: used, workload: nil, reduction: reduction, timesSensitivity: true)
            var c = [Double](repeating: 1, count: used), g = c
            let x0 = Array(result[1..<used])
            let solution = try LBFGS(maxSteps: maxSteps).minimize(x0, { x, grad in
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
            for r in 1..<used { result[r] = solution.x[r - 1] }
        }
        let norm = result.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let sign: Double = c0[0] < 0 ? -1 : 1
        return result.map { sign * $0 / norm }
    }
}

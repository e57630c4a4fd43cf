extension ColumnNormalizedBanded {
    /// Optimizes a banded strategy for the workload (`banded.optimize`): minimizes
    /// reduction(per-query error) over params by L-BFGS, starting from `initial` (default:
    /// `default(n, bands)`). The lower-right triangle of params stays fixed at zero (its
    /// gradient is zero). `callback(step, loss, gradNorm)` runs after every step; true stops.
    /// Returns the best strategy found (the line search only accepts decreases, so the last).
    ///
    /// Cost per step: about 1–2 loss-and-gradient evaluations, each O(n D²) time with
    /// D = b − 1 + q (q the workload's state: 1 for prefix sums), plus O(memory · n b) for
    /// L-BFGS; memory O(√n D² + memory · n b). The L-BFGS memory is 10 pairs, reduced so that
    /// it stays under about 1 GB.
    public static func optimize(n: Int, bands: Int, initial: ColumnNormalizedBanded? = nil,
                                workload: StreamingMatrix = .prefixSum(), maxSteps: Int = 100,
                                reduction: ErrorReduction = .mean, memory: Int = 10,
                                callback: (Int, Double, Double) -> Bool = { _, _, _ in false })
        throws -> (strategy: ColumnNormalizedBanded, result: LBFGS.Result) {
        try require(n >= 1, "n must be positive, got \(n)")
        try require(bands >= 1, "bands must be positive, got \(bands)")
        try require(bands <= n, "bands must be at most n, got bands=\(bands) > n=\(n)")
        try require(maxSteps >= 0, "max_optimizer_steps must be non-negative, got \(maxSteps)")
        try ColumnNormalizedBanded.requireSize(n, bands)
        if case .weights(let w) = reduction {
            guard w.count == n else { throw MFError.shape("weights must have length n=\(n), got \(w.count)") }
            try require(w.allSatisfy { $0.isFinite }, "weights must be finite")
        }
        let start = try initial ?? ColumnNormalizedBanded.default(n: n, bands: bands)
        guard start.n == n, start.bands == bands else {
            throw MFError.shape("C has shape (\(start.n), \(start.bands)) but n=\(n), bands=\(bands)")
        }
        let model = try BandedErrorModel(n: n, bands: bands, workload: workload)
        try model.requireWorkspace(gradient: true)
        // Masked start: the lower-right triangle is zero.
        var x0 = start.params
        for j in 0..<n { for r in 0..<bands where j + r >= n { x0[j * bands + r] = 0 } }
        let pairBytes = 16 * n * bands
        let mem = Swift.max(1, Swift.min(memory, (1 << 30) / Swift.max(pairBytes, 1)))
        var lbfgs = LBFGS(maxSteps: maxSteps, memory: mem)
        lbfgs.maxBacktracks = 40
        let result = try lbfgs.minimize(x0, { x, g in
            model.loss(params: x, reduction: reduction, gradient: g)
        }, callback: callback)
        let strategy = try ColumnNormalizedBanded(params: result.x, n: n, bands: bands)
        return (strategy, result)
    }
}

import Glibc

extension ColumnNormalizedBanded {
    /// Optimizes a banded strategy for the workload (`banded.optimize`): minimizes
    /// reduction(per-query error) over params by L-BFGS with the strong Wolfe line search,
    /// starting from `initial` (default: `default(n, bands)`). The lower-right triangle of
    /// params stays zero (its gradient is zero). The loss does not depend on the scale of a
    /// column, so every row of params (a column of C) is kept at unit norm after each step,
    /// with the curvature pairs carried along (`LBFGS.invariantBlock`); the result is
    /// column-normalized. Points where the loss cannot be computed accurately (C too close to
    /// singular, see `BandedErrorModel`) are inadmissible: the line search backs off from them.
    ///
    /// How the loss is minimized depends on the reduction (see `minimizeByStages`):
    /// - mean, or weights that are all nonzero: one L-BFGS run on the loss itself;
    /// - max: a sequence of runs on the log-sum-exp τ log Σ_t exp(e_t / τ) with τ decreasing
    ///   (the max is not differentiable where its arg-max changes, and L-BFGS stalls there);
    /// - last, or weights with zeros: the loss ignores some queries, and its infimum is then
    ///   typically approached only as C becomes singular (some diagonal entries C[j, j] → 0),
    ///   where the loss grows ever more ill-conditioned; a sequence of runs on the loss plus
    ///   the barrier μ Σ_j −log C[j, j]² with μ decreasing to 0 follows a path of interior
    ///   points towards it (as interior-point methods do).
    /// `callback(step, loss, gradNorm)` runs after every step with the loss itself (not the
    /// surrogate); true stops. Tolerances and stop reasons as `LBFGS` (0: run until maxSteps or
    /// a stall, as jax_privacy runs all its steps). Returns the strategy with the lowest loss
    /// found. Throws what `loss` throws at the start (e.g. a start too close to singular).
    ///
    /// Cost per step: usually one loss-and-gradient evaluation, O(n D²) with D = b − 1 + q
    /// (q the workload's state: 1 for prefix sums), plus O(memory · n b) for L-BFGS; memory
    /// O(√n D² + memory · n b). The L-BFGS memory is 10 pairs, reduced so that it stays under
    /// about 1 GB.
    public static func optimize(n: Int, bands: Int, initial: ColumnNormalizedBanded? = nil,
                                workload: StreamingMatrix = .prefixSum(), maxSteps: Int = 100,
                                reduction: ErrorReduction = .mean, memory: Int = 10,
                                gradientTolerance: Double = 0, lossTolerance: Double = 0,
                                callback: (Int, Double, Double) -> Bool = { _, _, _ in false })
        throws -> (strategy: ColumnNormalizedBanded, result: LBFGS.Result) {
        try require(n >= 1, "n must be positive, got \(n)")
        try require(bands >= 1, "bands must be positive, got \(bands)")
        try require(bands <= n, "bands must be at most n, got bands=\(bands) > n=\(n)")
        try require(maxSteps >= 0, "max_optimizer_steps must be non-negative, got \(maxSteps)")
        try require(gradientTolerance >= 0 && lossTolerance >= 0,
                    "gtol and ftol must be non-negative, got gtol=\(gradientTolerance), ftol=\(lossTolerance)")
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
        // The start's loss through the throwing path: a start that cannot be evaluated is an error.
        let loss0 = try x0.withUnsafeBufferPointer { try model.loss(params: $0.baseAddress!, reduction: reduction) }
        let pairBytes = 16 * n * bands
        var lbfgs = LBFGS(maxSteps: maxSteps, memory: Swift.max(1, Swift.min(memory, (1 << 30) / Swift.max(pairBytes, 1))))
        lbfgs.gradientTolerance = gradientTolerance
        lbfgs.lossTolerance = lossTolerance
        lbfgs.invariantBlock = bands
        let result: LBFGS.Result
        switch reduction {
        case .max where maxSteps > 0:
            // τ = 1e-2 L₀, 0.3 times smaller each stage (down to about 2e-6 L₀ after 8 stages).
            result = try minimizeByStages(lbfgs, model, x0, stages: 8, shares: 8, reduction: reduction,
                                          callback: callback) { k in
                (logSumExp(1e-2 * loss0 * pow(0.3, Double(k)), n), 0)
            }
        case .last where maxSteps > 0, .weights where maxSteps > 0 && reduction.ignoresQueries:
            // μ = 1e-2 L₀ / n, 10 times smaller each stage (down to 1e-6 L₀ / n after 5 stages
            // sharing the steps), then μ = 0 with the steps the barrier stages left unused.
            result = try minimizeByStages(lbfgs, model, x0, stages: 6, shares: 5, reduction: reduction,
                                          callback: callback) { k in
                (model.reducer(reduction), k == 5 ? 0 : 1e-2 * loss0 / Double(n) * pow(0.1, Double(k)))
            }
        default:
            result = try lbfgs.minimize(x0, { x, g in
                (try? model.loss(params: x, reduction: reduction, gradient: g)) ?? .nan
            }, callback: callback)
        }
        let strategy = try ColumnNormalizedBanded(params: result.x, n: n, bands: bands)
        return (strategy, result)
    }

    /// Minimizes `reduction` through a sequence of `stages` surrogates: stage k runs L-BFGS on
    /// the loss `surrogate(k).reducing` of the errors (see `BandedErrorModel.loss`) plus μ B with μ = `surrogate(k).barrier` and the
    /// barrier B = Σ_j −log C[j, j]² = Σ_j log(‖params[j, :]‖² / params[j, 0]²) (invariant to
    /// the rows' scale, infinite at a singular C; gradient 2 params[j, :] / ‖params[j, :]‖²
    /// − 2 e₀ / params[j, 0] on row j), each stage from the previous end with a fresh memory;
    /// stage k < `shares` runs for 1 / (shares − k) of the steps left, later stages for all
    /// the steps left. The callback sees the true loss of each accepted
    /// point; the result is the stage end with the lowest true loss, with the steps and
    /// evaluations of all stages and the last stage's stop reason (steps exhausted once all
    /// are used), and the norm of the true loss's gradient there. Cost: the steps taken, plus
    /// O(n b) per evaluation, one value per stage and one gradient at the end.
    private static func minimizeByStages(_ lbfgs: LBFGS, _ model: BandedErrorModel, _ x0: [Double],
                                         stages: Int, shares: Int,
                                         reduction: ErrorReduction, callback: (Int, Double, Double) -> Bool,
                                         surrogate: (Int) -> (reducing: Reducer, barrier: Double))
        throws -> LBFGS.Result {
        let n = model.n, b = model.bands
        let errors = try WorkBuffer<Double>(count: n, "the per-query errors")
        let weights: [Double]? = { if case .weights(let w) = reduction { return w } else { return nil } }()
        func trueLoss(_ x: [Double]) throws -> Double {
            try x.withUnsafeBufferPointer { try model.loss(params: $0.baseAddress!, reduction: reduction) }
        }
        /// The true loss from the errors of the last evaluation.
        func reduced() -> Double {
            switch reduction {
            case .max: return (0..<n).reduce(-Double.infinity) { Swift.max($0, errors[$1]) }
            case .last: return errors[n - 1]
            case .mean: return (0..<n).reduce(0) { $0 + errors[$1] } / Double(n)
            default: return (0..<n).reduce(0) { $0 + weights![$1] * errors[$1] }
            }
        }
        var best = LBFGS.Result(x: x0, loss: try trueLoss(x0), steps: 0, stop: .maxSteps, evaluations: 0,
                                gradientNorm: 0)
        var x = x0, steps = 0, evaluations = 0, stop = LBFGS.Stop.maxSteps, last = best.loss
        for stage in 0..<stages where steps < lbfgs.maxSteps {
            var run = lbfgs
            run.maxSteps = Swift.max(1, (lbfgs.maxSteps - steps) / Swift.max(1, shares - stage))
            let (objective, mu) = surrogate(stage), offset = steps
            let r = try run.minimize(x, { p, g in
                guard var value = try? model.loss(params: p, reducing: objective, errors: errors.pointer, gradient: g)
                else { return .nan }
                last = reduced()
                guard mu > 0 else { return value }
                for j in 0..<n {
                    let len = Swift.min(b, n - j), row = p + j * b, c = scaledNorm(row, len), p0 = row[0]
                    value += mu * 2 * (log(c) - log(abs(p0)))
                    if let g { for r in 0..<len { g[j * b + r] += mu * 2 * (row[r] / c) / c }; g[j * b] -= mu * 2 / p0 }
                }
                return value
            }, callback: { step, _, gnorm in callback(offset + step, last, gnorm) })
            steps += r.steps
            evaluations += r.evaluations
            stop = r.stop
            x = r.x
            let value = try trueLoss(x)
            if value < best.loss {
                best.x = x
                best.loss = value
            }
            if stop == .callback || stop == .nonFinite { break }
        }
        // The gradient norm of the true loss at the point returned.
        let g = try WorkBuffer<Double>(count: n * b, "the gradient")
        let norm = try? best.x.withUnsafeBufferPointer { p -> Double in
            _ = try model.loss(params: p.baseAddress!, reduction: reduction, gradient: g.pointer)
            return dot(g.pointer, g.pointer, n * b).squareRoot()
        }
        best.gradientNorm = norm ?? .nan
        best.steps = steps
        best.evaluations = evaluations + 1
        best.stop = steps >= lbfgs.maxSteps && stop == .maxSteps ? .maxSteps : stop
        return best
    }
}

extension ErrorReduction {
    /// Whether the loss gives some queries no weight ('last', or weights with zeros).
    var ignoresQueries: Bool {
        switch self {
        case .last: return true
        case .weights(let w): return w.contains(0)
        default: return false
        }
    }
}

/// A reduction as a function: reads the errors (n), writes the weights ∂loss/∂e_t (n), returns
/// the loss.
typealias Reducer = (UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Double

/// The log-sum-exp τ log Σ_t exp(e_t / τ) of n errors, τ > 0: smooth, between max_t e_t and
/// max_t e_t + τ log n; its weights are softmax(e / τ). O(n).
func logSumExp(_ tau: Double, _ n: Int) -> Reducer {
    { e, w in
        var top = e[0], z = 0.0
        for t in 0..<n { top = Swift.max(top, e[t]) }
        for t in 0..<n { w[t] = exp((e[t] - top) / tau); z += w[t] }
        for t in 0..<n { w[t] /= z }
        for t in 0..<n where e[t].isNaN { return .nan }
        return top + tau * log(z)
    }
}

extension BandedErrorModel {
    /// `reduction` as a `Reducer`.
    func reducer(_ reduction: ErrorReduction) -> Reducer {
        { e, w in self.reduce(e, reduction, into: w) }
    }
}

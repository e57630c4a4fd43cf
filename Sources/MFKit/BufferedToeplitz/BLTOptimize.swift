import Glibc

extension BufferedToeplitz {
    /// A BLT from a rational approximation of 1/√(1 − x) (jax_privacy's
    /// `from_rational_approx_to_sqrt_x`; Proposition 4.5 of arXiv:2404.16706v2): the noising BLT
    /// with decays c_k = 1 / (1 + e^{2hk}) and scales −c_k² e^{3hk} / Σ e^{hk} c_k, h = scale π /
    /// √(2 (d₁ + 1)), d₁ = ⌈d / 2⌉, k over d consecutive integers shifted by `bufDecayShift`, then
    /// inverted; buf_decay is scaled so that its largest entry is at most `maxBufDecay`, and
    /// output_scale so that the Pillutla score is at most `maxPillutlaScore` when given.
    /// numBuffers ≥ 1. O(d²).
    public static func fromRationalApproxToSqrtX(numBuffers: Int, maxBufDecay: Double = 1, maxPillutlaScore: Double? = nil,
                                                 bufDecayScale: Double = 1.6, bufDecayShift: Int = -1) throws -> BufferedToeplitz {
        try checkRationalApprox(numBuffers)
        try Check.finite(maxBufDecay, "max_buf_decay")
        try Check.finite(bufDecayScale, "buf_decay_scale")
        if let m = maxPillutlaScore { try Check.finite(m, "max_pillutla_score") }
        let degree = numBuffers, d1 = (degree + 1) / 2
        let h = bufDecayScale * Double.pi / (2 * Double(d1 + 1)).squareRoot()
        let ks = (0..<degree).map { Double(-d1 + 1 + $0 + bufDecayShift) }
        let c = ks.map { 1 / (1 + exp(2 * h * $0)) }
        var constant = 0.0
        for (k, ck) in zip(ks, c) { constant += exp(h * k) * ck }
        let scales = zip(ks, c).map { k, ck in -(ck * ck) * exp(3 * h * k) / constant }
        let blt = try build(bufDecay: c, outputScale: scales).inverse()
        var theta = blt.bufDecay, omega = blt.outputScale
        let factor = Swift.min(1, maxBufDecay / theta[0])
        for j in 0..<theta.count { theta[j] *= factor }
        if let maxScore = maxPillutlaScore {
            var score = 0.0
            for j in 0..<theta.count { score += omega[j] / theta[j] }
            let f = Swift.min(1, maxScore / score)
            for j in 0..<omega.count { omega[j] *= f }
        }
        return try build(bufDecay: theta, outputScale: omega)
    }

    /// max_buffers ≤ 15 (jax_privacy's message), 0 ≤ min_buffers ≤ 15, rtol finite.
    static func checkOptimize(minBuffers: Int, maxBuffers: Int, rtol: Double) throws {
        guard maxBuffers <= 15 else {
            throw MFError.invalidArgument(
                "In typical regimes 3 to 7 buffers should give the best utility (and memory efficiency); 15+ buffers will almost certainly lead to numerical issues in the optimization. Try setting a smaller value for `max_buffers`.")
        }
        try Check.nonNegative(minBuffers, "min_buffers")
        try require(minBuffers <= 15, "min_buffers must be at most 15, got \(minBuffers)")
        try Check.finite(rtol, "rtol")
    }

    /// 1 ≤ numBuffers ≤ maxBuffers.
    static func checkRationalApprox(_ numBuffers: Int) throws {
        guard numBuffers >= 1 else { throw MFError.invalidArgument("num_buffers must be >= 1.") }
        try require(numBuffers <= maxBuffers, "num_buffers must be at most \(maxBuffers), got \(numBuffers)")
    }

    /// The starting point of `optimize` (jax_privacy's `get_init_blt`): the identity for 0
    /// buffers, else `fromRationalApproxToSqrtX` with max_buf_decay and max_pillutla_score
    /// 1 − 1e-6 (inside the penalties' feasible set). O(d²).
    public static func initial(numBuffers: Int) throws -> BufferedToeplitz {
        try Check.nonNegative(numBuffers, "num_buffers")
        if numBuffers == 0 { return .identity }
        return try fromRationalApproxToSqrtX(numBuffers: numBuffers, maxBufDecay: 1 - 1e-6, maxPillutlaScore: 1 - 1e-6)
    }

    /// Minimizes `loss`'s penalized loss over BLTs with a fixed number of buffers (jax_privacy's
    /// `optimize_loss` with its default buf_decay-pair parameterization): L-BFGS (memory 15) over
    /// x = (θ, θ̂), starting from `initial` (default `initial(numBuffers:)`) and its inverse,
    /// with L-BFGS's tolerances (0: off) and callback. Returns the canonical strategy, its loss
    /// (no penalties) and the run's report, whose loss is the objective minimized (the
    /// normalized penalized loss, which the callback sees too); with 0 buffers there is nothing
    /// to optimize (the report is one evaluation, converged). Throws `.numerical` when the
    /// result has a non-finite loss or, for several participations, coefficients that are
    /// negative or increasing. Cost per step: 1–2 penalized-loss evaluations with gradient,
    /// O(d² log n).
    public static func optimize(loss: BLTLoss, numBuffers: Int, initial start: BufferedToeplitz? = nil, maxSteps: Int = 600,
                                gradientTolerance: Double = 0, lossTolerance: Double = 0,
                                callback: (Int, Double, Double) -> Bool = { _, _, _ in false })
        throws -> (blt: BufferedToeplitz, loss: Double, result: LBFGS.Result) {
        try Check.nonNegative(numBuffers, "num_buffers")
        try require(numBuffers <= maxBuffers, "num_buffers must be at most \(maxBuffers), got \(numBuffers)")
        try Check.nonNegative(maxSteps, "max_optimizer_steps")
        try require(gradientTolerance >= 0 && lossTolerance >= 0,
                    "gtol and ftol must be non-negative, got gtol=\(gradientTolerance), ftol=\(lossTolerance)")
        if numBuffers == 0 {
            let objective = (try? loss.penalizedLoss(.identity, .identity)) ?? .nan
            return (.identity, try loss.loss(.identity), .withoutUnknowns(loss: objective))
        }
        let blt = try start ?? initial(numBuffers: numBuffers)
        guard blt.count == numBuffers else {
            throw MFError.invalidArgument("num_buffers=\(numBuffers) does not match len(init_blt.buf_decay)=\(blt.count)")
        }
        let d = numBuffers
        let x0 = blt.bufDecay + (try blt.inverse()).bufDecay
        var lbfgs = LBFGS(maxSteps: maxSteps, memory: 15)
        lbfgs.gradientTolerance = gradientTolerance
        lbfgs.lossTolerance = lossTolerance
        let result = try lbfgs.minimize(x0, { x, g in loss.pairLoss(x, d, g) }, callback: callback)
        let (c, _) = try pair(theta: Array(result.x[0..<d]), thetaHat: Array(result.x[d...]))
        let value = try loss.loss(c)
        guard value.isFinite else {
            throw MFError.numerical("Optimization produced BLT with non-finite loss \(value): \(c)")
        }
        if loss.maxParticipations > 1 { try c.requireValidForMinSep(loss.n) }
        return (c, value, result)
    }

    /// The best BLT over numbers of buffers (jax_privacy's `optimize`): optimizes with
    /// minBuffers, then one more buffer at a time while the loss improves by a factor rtol
    /// (a run that fails counts as an infinite loss), up to maxBuffers ≤ 15. The closed-form
    /// loss serves single-participation max error, the min-sep loss everything else. Every run
    /// gets the tolerances and the callback (its steps restart from 0 with each run); returns
    /// the chosen BLT and its run's report.
    public static func optimize(n: Int, minSep: Int = 1, maxParticipations: Int? = 1, error: BLTLoss.ErrorKind = .max,
                                minBuffers: Int = 0, maxBuffers: Int = 10, rtol: Double = 1.01, maxSteps: Int = 600,
                                gradientTolerance: Double = 0, lossTolerance: Double = 0,
                                callback: (Int, Double, Double) -> Bool = { _, _, _ in false })
        throws -> (blt: BufferedToeplitz, result: LBFGS.Result) {
        try checkOptimize(minBuffers: minBuffers, maxBuffers: maxBuffers, rtol: rtol)
        let k = try Sensitivity.minsepTrueMaxParticipations(n: n, minSep: minSep, maxParticipations: maxParticipations)
        let loss = k == 1 && error == .max
            ? try BLTLoss.closedFormSingleParticipation(n: n)
            : try BLTLoss.minSep(n: n, error: error, minSep: minSep, maxParticipations: maxParticipations)
        func run(_ buffers: Int) throws -> (blt: BufferedToeplitz, loss: Double, result: LBFGS.Result) {
            try optimize(loss: loss, numBuffers: buffers, maxSteps: maxSteps, gradientTolerance: gradientTolerance,
                         lossTolerance: lossTolerance, callback: callback)
        }
        var best = try run(minBuffers)
        if minBuffers >= maxBuffers { return (best.blt, best.result) }
        for nbuf in (minBuffers + 1)...maxBuffers {
            var candidate: (blt: BufferedToeplitz, loss: Double, result: LBFGS.Result)? = nil
            do {
                candidate = try run(nbuf)
            } catch MFError.numerical {
                candidate = nil
            }
            guard let candidate, rtol * candidate.loss < best.loss else { break }
            best = candidate
        }
        return (best.blt, best.result)
    }
}

/// Limited-memory BFGS with a strong Wolfe line search, in float64 (Nocedal and Wright,
/// Numerical Optimization, Algorithms 7.4 and 7.5).
///
/// Each step: the direction d = −H g by the two-loop recursion over the last `memory` pairs
/// (`CurvaturePairs`), a line search along d for the strong Wolfe conditions with c₁ = 1e-4,
/// c₂ = 0.9 (`StrongWolfeLineSearch`, Moré–Thuente; the first trial is α = 1, or a step of
/// length 1e-2 max(‖x‖, 1) along −g without pairs), then the pair update (kept only when
/// sᵀy > ε yᵀy). When a search fails, its best trial with sufficient decrease is taken; when
/// it has none, the memory is dropped and a steepest-descent search is tried; when that fails
/// too the run has stalled (`Stop.lineSearch`): no step decreases f at machine precision.
///
/// With `invariantBlock` = B > 0, f must be unchanged when any block of B consecutive unknowns
/// is multiplied by a positive number (as the banded loss is for each row of params). Its
/// gradient is then orthogonal to every block, so steps make the blocks grow and the
/// effective steps shrink; instead every block is rescaled to unit norm after each accepted
/// step (x' = T x), with the gradient and the stored pairs carried into the new coordinates
/// (g' = T⁻¹ g, s' = T s, y' = T⁻¹ y: sᵀy is unchanged), so the curvature information stays
/// consistent. The start is rescaled too before the first step; the result of a run that
/// took a step has unit blocks. The initial inverse Hessian of the two-loop recursion is then
/// diagonal by block, each block scaled by its own secant estimate (`CurvaturePairs`): the
/// blocks' curvatures differ widely (for banded strategies, like 1 / C[j, j]²), which one
/// scalar cannot match; without unit blocks, the growth of the blocks' norms plays that part
/// by accident. (Measured in bench/RESULTS.md: lower losses for the same steps.)
///
/// Cost per step: the objective evaluations (one when the first trial is taken, as is usual)
/// plus O(memory · N) for N unknowns; memory (2 memory + 6) N doubles.
public struct LBFGS {
    public var maxSteps: Int
    /// Number of (s, y) pairs kept.
    public var memory: Int = 10
    /// Converged when ‖∇f‖∞ ≤ gradientTolerance (with 0, only at an exactly zero gradient).
    public var gradientTolerance: Double = 0
    /// Converged when (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ lossTolerance after a step
    /// (with 0 this test is off: a step without decrease is a stall, not convergence).
    public var lossTolerance: Double = 0
    /// B > 0: f is invariant to positive scaling of each block of B consecutive unknowns (the
    /// last block may be shorter); 0: no such structure.
    public var invariantBlock: Int = 0
    /// Objective evaluations allowed per line search.
    public var maxLineSearchEvaluations: Int = 20

    public init(maxSteps: Int, memory: Int = 10) {
        self.maxSteps = maxSteps
        self.memory = memory
    }

    /// Why a run ended.
    public enum Stop: Equatable, CaseIterable {
        /// maxSteps steps were taken.
        case maxSteps
        /// Converged: ‖∇f‖∞ ≤ gradientTolerance.
        case gradientTolerance
        /// Converged: the relative decrease of the last step was at most lossTolerance.
        case lossTolerance
        /// The callback asked to stop.
        case callback
        /// Stalled: no step along the L-BFGS or the steepest-descent direction satisfies the
        /// line search (at machine precision, f no longer decreases). Not convergence.
        case lineSearch
        /// f or ∇f is not finite at the start (no step was taken).
        case nonFinite

        /// Whether the run met a convergence test.
        public var converged: Bool { self == .gradientTolerance || self == .lossTolerance }
    }

    public struct Result {
        public var x: [Double]
        public var loss: Double
        /// Steps taken (accepted updates).
        public var steps: Int
        public var stop: Stop
        /// Objective evaluations (each with the gradient).
        public var evaluations: Int
        /// ‖∇f‖₂ at x.
        public var gradientNorm: Double

        /// The report of a problem without unknowns (its one point is the minimum: the empty
        /// gradient is 0), from the one evaluation of its loss; `nonFinite` if that is not finite.
        public static func withoutUnknowns(loss: Double) -> Result {
            Result(x: [], loss: loss, steps: 0, stop: loss.isFinite ? .gradientTolerance : .nonFinite, evaluations: 1,
                   gradientNorm: 0)
        }
    }

    /// Minimizes f from x0. `f(x, g)` returns f(x) and, when g is not nil, writes ∇f(x) into
    /// g (this minimizer always asks for it); a non-finite value marks x as inadmissible (the
    /// line search backs off). `callback(step, loss, gradNorm)` runs after every accepted step
    /// (step counts from 0) and returns true to stop; the result so far is returned. Throws
    /// MFError.outOfMemory when the work space cannot be had, invalidArgument for negative
    /// settings or an empty x0. A non-finite f or ∇f at the start is `Stop.nonFinite`.
    public func minimize(_ x0: [Double],
                         _ f: (UnsafePointer<Double>, UnsafeMutablePointer<Double>?) -> Double,
                         callback: (Int, Double, Double) -> Bool = { _, _, _ in false }) throws -> Result {
        try Check.nonNegative(maxSteps, "max_optimizer_steps")
        try Check.positive(memory, "memory")
        try Check.nonNegative(invariantBlock, "invariant_block_size")
        try require(gradientTolerance >= 0 && lossTolerance >= 0,
                    "gtol and ftol must be non-negative, got gtol=\(gradientTolerance), ftol=\(lossTolerance)")
        try require(!x0.isEmpty, "x must not be empty")
        let N = x0.count
        // At most one pair is stored per step, so a memory beyond maxSteps is never used.
        let pairs = try CurvaturePairs(unknowns: N, memory: Swift.max(1, Swift.min(memory, maxSteps)))
        pairs.blocks = invariantBlock
        let work = try WorkBuffer<Double>(count: try Check.product(6, N, "the L-BFGS work space"),
                                          "the L-BFGS work space (\(N) unknowns)")
        var x = work.pointer, g = x + N, xt = g + N, gt = xt + N
        let d = gt + N, tau = d + N
        x0.withUnsafeBufferPointer { x.update(from: $0.baseAddress!, count: N) }
        var fx = f(x, g)
        var evaluations = 1, steps = 0
        func result(_ stop: Stop) -> Result {
            Result(x: Array(UnsafeBufferPointer(start: x, count: N)), loss: fx, steps: steps, stop: stop,
                   evaluations: evaluations, gradientNorm: dot(g, g, N).squareRoot())
        }
        guard fx.isFinite, (0..<N).allSatisfy({ g[$0].isFinite }) else { return result(.nonFinite) }
        if converged(g, N) { return result(.gradientTolerance) }
        if maxSteps > 0 { rescale(x, g, pairs, tau, N) }
        while steps < maxSteps {
            // Direction and line search; on failure drop the memory and try steepest descent.
            var accepted: Double? = nil
            for attempt in 0..<2 where accepted == nil {
                if attempt == 1 { if pairs.count == 0 { break }; pairs.clear() }
                pairs.direction(g, into: d)
                var initial = 1.0
                if pairs.count == 0 {
                    let xn = dot(x, x, N).squareRoot(), dn = dot(d, d, N).squareRoot()
                    initial = 1e-2 * Swift.max(xn, 1) / dn
                }
                let search = lineSearch(f, x: x, value: fx, gradient: g, direction: d, initial: initial,
                                        xt: xt, gt: gt, N: N)
                evaluations += search.evaluations
                if let value = search.value, value < fx { accepted = value }
            }
            guard let value = accepted else { return result(.lineSearch) }
            pairs.update(x0: x, x1: xt, g0: g, g1: gt)
            let previous = fx
            swap(&x, &xt); swap(&g, &gt); fx = value
            rescale(x, g, pairs, tau, N)
            steps += 1
            if callback(steps - 1, fx, dot(g, g, N).squareRoot()) { return result(.callback) }
            if converged(g, N) { return result(.gradientTolerance) }
            if lossTolerance > 0, (previous - fx) / Swift.max(abs(previous), abs(fx), 1) <= lossTolerance {
                return result(.lossTolerance)
            }
        }
        return result(.maxSteps)
    }

    /// ‖g‖∞ ≤ gradientTolerance.
    private func converged(_ g: UnsafePointer<Double>, _ N: Int) -> Bool {
        var m = 0.0
        for i in 0..<N { m = Swift.max(m, abs(g[i])) }
        return m <= gradientTolerance
    }

    /// Searches along d from x (value f(x), gradient g) for the strong Wolfe conditions; the
    /// accepted point and its gradient are left in xt and gt. Returns its value (nil when no
    /// trial had sufficient decrease) and the evaluations made. When the search gives up, its
    /// best trial with sufficient decrease is taken (kept in xt, gt as found). O(N) per trial
    /// beyond the evaluations.
    private func lineSearch(_ f: (UnsafePointer<Double>, UnsafeMutablePointer<Double>?) -> Double,
                            x: UnsafePointer<Double>, value: Double, gradient g: UnsafePointer<Double>,
                            direction d: UnsafePointer<Double>, initial: Double,
                            xt: UnsafeMutablePointer<Double>, gt: UnsafeMutablePointer<Double>,
                            N: Int) -> (value: Double?, evaluations: Int) {
        let slope0 = dot(g, d, N)
        guard slope0 < 0, initial.isFinite, initial > 0 else { return (nil, 0) }
        var search = StrongWolfeLineSearch(value0: value, slope0: slope0, initial: initial, stepMax: 1e20 * initial)
        var best: (step: Double, value: Double)? = nil
        var evaluations = 0, step = search.step
        while evaluations < maxLineSearchEvaluations {
            for i in 0..<N { xt[i] = x[i] + step * d[i] }
            let ft = f(xt, gt)
            evaluations += 1
            let slope = ft.isFinite ? dot(gt, d, N) : .nan
            let sufficient = ft.isFinite && slope.isFinite && ft <= value + search.c1 * step * slope0 && ft < value
            if sufficient, best == nil || ft < best!.value { best = (step, ft) }
            switch search.update(value: ft, slope: slope) {
            case .accept where sufficient:
                return (ft, evaluations)
            case .evaluate(let next):
                step = next
                continue
            default:
                break
            }
            break
        }
        guard let best else { return (nil, evaluations) }
        if best.step != step {   // the best trial was not the last one: evaluate it again
            for i in 0..<N { xt[i] = x[i] + best.step * d[i] }
            let ft = f(xt, gt)
            evaluations += 1
            guard ft.isFinite, ft < value, (0..<N).allSatisfy({ gt[$0].isFinite }) else { return (nil, evaluations) }
            return (ft, evaluations)
        }
        return (best.value, evaluations)
    }

    /// With invariant blocks: scales every block of x to unit norm, x' = T x, and carries the
    /// gradient (g' = T⁻¹ g) and the pairs into the new coordinates. O(memory N).
    private func rescale(_ x: UnsafeMutablePointer<Double>, _ g: UnsafeMutablePointer<Double>, _ pairs: CurvaturePairs,
                         _ tau: UnsafeMutablePointer<Double>, _ N: Int) {
        guard invariantBlock > 0, normalizeBlocks(x, tau, N) else { return }
        for i in 0..<N { g[i] /= tau[i] }
        pairs.rescale(tau)
    }

    /// Scales every block of `invariantBlock` unknowns of x to unit norm (blocks of norm 0 or
    /// not finite are left alone), writing the factor of each unknown into tau. Returns whether
    /// any block changed. O(N).
    private func normalizeBlocks(_ x: UnsafeMutablePointer<Double>, _ tau: UnsafeMutablePointer<Double>, _ N: Int) -> Bool {
        var changed = false
        for start in stride(from: 0, to: N, by: invariantBlock) {
            let len = Swift.min(invariantBlock, N - start)
            let norm = scaledNorm(x + start, len)
            var t = norm > 0 && norm.isFinite ? 1 / norm : 1
            if !t.isFinite { t = 1 }
            if t != 1 { changed = true }
            for i in start..<(start + len) { x[i] *= t; tau[i] = t }
        }
        return changed
    }
}

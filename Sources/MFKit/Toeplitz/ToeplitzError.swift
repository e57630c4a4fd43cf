/// Per-query errors of Toeplitz mechanisms and their gradients (jax_privacy's
/// `toeplitz.per_query_error` and `toeplitz.loss`).
///
/// For a workload A = T(a) (a = 1, the prefix sums, by default) and a strategy C = T(c), the
/// decoder B = A C⁻¹ is lower-triangular Toeplitz with first column β, and the per-query error
/// is the squared norm of row t of B: e_t = Σ_{s ≤ t} β_s². With the strategy, β = T(c)⁻¹ a
/// (a banded solve, O(T b + n) with its converged tail, see `BandedToeplitzSolver`); with the
/// noising matrix C⁻¹ = T(ν), β = a ∗ ν (a convolution).
///
/// A reduction Σ_t w_t e_t equals Σ_s W_s β_s² with the suffix sums W_s = Σ_{t ≥ s} w_t (mean:
/// (L − s) / L; last, and max, which the nondecreasing e_t reach at the last query: 1). Its
/// gradient is an adjoint computation instead of automatic differentiation: with g_s = 2 W_s β_s,
///   strategy: β = T(c)⁻¹ a, ∂E/∂c_r = −Σ_s g_s γ_{s−r} with γ = T(c)⁻¹ β (see `StrategyLoss`),
///   noising:  β = a ∗ ν,    ∂E/∂ν_r = Σ_s g_s a_{s−r} (suffix sums of g for a = 1).
/// Both cost O(n b) time at most (O(T b + n) with converged tails) and O(n) memory
/// (jax_privacy's reverse-mode scan keeps n b numbers).
extension Toeplitz {
    /// One of the two descriptions of a Toeplitz mechanism.
    public enum Mechanism {
        /// The strategy's coefficients c (C = T(c)).
        case strategy([Double])
        /// The noising matrix's coefficients ν (C⁻¹ = T(ν)).
        case noising([Double])
    }

    /// The length of β (and of the per-query errors), exactly as jax_privacy sizes it:
    /// strategy: n' = n ?? len(c); noising (ν cut to n' = n ?? len(ν)): len(ν) without a workload,
    /// else min(n', len(a[..<n']) + len(ν) − 1). Checks the coefficients. O(b).
    static func errorCount(_ mechanism: Mechanism, n: Int?, workload: [Double]?) throws -> Int {
        if let workload {
            try Check.nonEmpty(workload, "workload_coef")
            try Check.finite(workload, "workload_coef")
        }
        switch mechanism {
        case .strategy(let raw):
            let (c, size) = try reconcile(raw, n, "strategy_coef")
            try requireInvertible(c, "strategy_coef")
            return size
        case .noising(let raw):
            let (nu, size) = try reconcile(raw, n, "noising_coef")
            guard let workload else { return nu.count }
            return Swift.min(size, Swift.min(workload.count, size) + nu.count - 1)
        }
    }

    /// The first column β of B = T(a) C⁻¹ into `beta` (`errorCount` entries; a padded or cut to
    /// n', ones when nil), after every check and allocation (so `beta` is written only when the
    /// call succeeds). Returns the reconciled coefficients and the step from which β is constant
    /// (its converged tail, written only when `fill`; the count when there is none).
    /// Time O(T b + n') for a strategy.
    @discardableResult
    static func decoder(_ mechanism: Mechanism, n: Int?, workload: [Double]?, into beta: UnsafeMutablePointer<Double>,
                        fill: Bool = true) throws -> (coef: [Double], constantFrom: Int) {
        let count = try errorCount(mechanism, n: n, workload: workload)
        switch mechanism {
        case .strategy(let raw):
            let (c, size) = try reconcile(raw, n, "strategy_coef")
            let solver = try BandedToeplitzSolver(c)
            if let workload {
                let a = try padCoefs(workload, n: size)
                let from = a.withUnsafeBufferPointer {
                    solver.solve($0.baseAddress!, into: beta, size, constantFrom: constantFrom(a), fill: fill)
                }
                return (c, from)
            }
            return (c, solver.solve(nil, constant: 1, into: beta, size, fill: fill))
        case .noising(let raw):
            let (nu, size) = try reconcile(raw, n, "noising_coef")
            if let workload {
                let product = try multiply(workload, nu, n: size, skipChecks: true)
                for k in 0..<count { beta[k] = product[k] }
            } else {
                var s = 0.0
                for (k, v) in nu.enumerated() { s += v; beta[k] = s }
            }
            return (nu, count)
        }
    }

    /// The first step of the final run of equal values of a (its length when a is empty).
    static func constantFrom(_ a: [Double]) -> Int {
        var k = a.count - 1
        while k > 0 && a[k - 1] == a[k] { k -= 1 }
        return Swift.max(k, 0)
    }

    /// The limit of a strategy's β under a workload constant at its end: a_last / c(1).
    static func decoderLimit(_ mechanism: Mechanism, n: Int?, workload: [Double]?) throws -> Double {
        guard case .strategy(let raw) = mechanism else { return 0 }
        let (c, size) = try reconcile(raw, n, "strategy_coef")
        let last = workload.map { size <= $0.count ? $0[size - 1] : 0 } ?? 1
        return last / c.reduce(0, +)
    }

    /// β with its reconciled coefficients in a new work buffer.
    static func decoder(_ mechanism: Mechanism, n: Int?, workload: [Double]?) throws -> (beta: WorkBuffer<Double>, coef: [Double]) {
        let beta = try WorkBuffer<Double>(count: try errorCount(mechanism, n: n, workload: workload), "the decoder's coefficients")
        return (beta, try decoder(mechanism, n: n, workload: workload, into: beta.pointer).coef)
    }

    /// `per_query_error` into `errors` (`errorCount` entries): e_t = Σ_{s ≤ t} β_s². Time O(T b + n)
    /// (strategy) or O(n min(len(a), len(ν))) (noising); no memory beyond `errors` for a strategy
    /// with the prefix sums.
    static func perQueryError(_ mechanism: Mechanism, n: Int?, workload: [Double]?,
                              into errors: UnsafeMutablePointer<Double>) throws {
        let count = try errorCount(mechanism, n: n, workload: workload)
        let from = try decoder(mechanism, n: n, workload: workload, into: errors, fill: false).constantFrom
        var s = 0.0
        for k in 0..<from { s += errors[k] * errors[k]; errors[k] = s }
        guard from < count else { return }
        // The converged tail β = v: e_t = e_{T−1} + (t − T + 1) v².
        let v = try decoderLimit(mechanism, n: n, workload: workload)
        let square = v * v
        var k = from, m = SIMD4<Double>(1, 2, 3, 4)   // exact counts (< 2^53), four at a time
        let base = SIMD4<Double>(repeating: s), step = SIMD4<Double>(repeating: square)
        while k + 4 <= count {
            store4(base + m * step, errors + k)
            m += 4
            k += 4
        }
        for j in k..<count { errors[j] = s + Double(j - from + 1) * square }
    }

    /// `per_query_error` as an array.
    public static func perQueryError(_ mechanism: Mechanism, n: Int?, workload: [Double]?) throws -> [Double] {
        var errors = try Memory.array(repeating: 0.0, count: try errorCount(mechanism, n: n, workload: workload), "the errors")
        try errors.withUnsafeMutableBufferPointer { try perQueryError(mechanism, n: n, workload: workload, into: $0.baseAddress!) }
        return errors
    }

    /// The reduction Σ_t w_t e_t of the per-query errors (max = last: the errors never decrease)
    /// and, when `gradient`, its gradient with respect to the mechanism's coefficients (as given:
    /// zero past the n' used). With `timesSensitivity` (strategies only) the loss is jax_privacy's
    /// `loss`: the reduction times the squared sensitivity ‖c‖², invariant to the scale of c.
    /// Time O(T b + n) (see `StrategyLoss`; O(n b) at most), memory 2 n doubles.
    public static func loss(_ mechanism: Mechanism, n: Int?, workload: [Double]?, reduction: ErrorReduction,
                            timesSensitivity: Bool = false, gradient: Bool = false) throws -> (loss: Double, gradient: [Double]?) {
        switch mechanism {
        case .strategy(let raw):
            let (c, size) = try reconcile(raw, n, "strategy_coef")
            try requireInvertible(c, "strategy_coef")
            let model = try StrategyLoss(n: size, bands: c.count, workload: workload, reduction: reduction,
                                         timesSensitivity: timesSensitivity)
            var grad = gradient ? [Double](repeating: 0, count: raw.count) : nil
            let value = c.withUnsafeBufferPointer { cp in
                if grad == nil { return model.evaluate(cp.baseAddress!, gradient: nil) }
                return grad!.withUnsafeMutableBufferPointer { model.evaluate(cp.baseAddress!, gradient: $0.baseAddress!) }
            }
            return (value, grad)
        case .noising(let raw):
            try require(!timesSensitivity, "the loss with its sensitivity factor takes strategy coefficients")
            let (beta, nu) = try decoder(mechanism, n: n, workload: workload)
            let count = beta.count
            let weights = try SuffixWeights(reduction, count: count)
            let error = weights.weightedSquares(beta.pointer, constantFrom: count)
            guard gradient else { return (error, nil) }
            var grad = [Double](repeating: 0, count: raw.count)
            let g = beta
            weights.scaleByTwice(g.pointer, upTo: count)
            if let workload {
                // Σ_s g_s a_{s−r} = Σ_u a_u g_{u+r}, with a cut or padded to the errors' length.
                let a = try padCoefs(workload, n: count)
                grad.withUnsafeMutableBufferPointer { out in
                    a.withUnsafeBufferPointer { correlate($0.baseAddress!, g.pointer, count, lags: nu.count, into: out.baseAddress!) }
                }
            } else {
                var s = 0.0
                for k in stride(from: count - 1, through: 0, by: -1) {
                    s += g[k]
                    if k < nu.count { grad[k] = s }
                }
            }
            return (error, grad)
        }
    }
}

/// The suffix sums W_s = Σ_{t ≥ s} w_t of a reduction's weights over `count` per-query errors:
/// mean (count − s) / count, last and max 1, or explicit sums.
struct SuffixWeights {
    private let explicit: [Double]?
    private let mean: Bool
    let count: Int

    init(_ reduction: ErrorReduction, count: Int) throws {
        self.count = count
        switch reduction {
        case .mean: (explicit, mean) = (nil, true)
        case .max, .last: (explicit, mean) = (nil, false)
        case .weights(let w):
            guard w.count == count else {
                throw MFError.shape("weights must have one entry per query error (\(count)), got \(w.count)")
            }
            try Check.finite(w, "weights")
            var suffix = w
            var s = 0.0
            for k in stride(from: count - 1, through: 0, by: -1) { s += w[k]; suffix[k] = s }
            (explicit, mean) = (suffix, false)
        }
    }

    /// W_s.
    subscript(_ s: Int) -> Double {
        if let explicit { return explicit[s] }
        return mean ? Double(count - s) / Double(count) : 1
    }

    /// Σ_{s ≥ from} W_s (O(1) for mean and last).
    func suffixTotal(from: Int) -> Double {
        guard from < count else { return 0 }
        if let explicit {
            var s = 0.0
            for k in from..<count { s += explicit[k] }
            return s
        }
        let m = Double(count - from)
        return mean ? m * (m + 1) / (2 * Double(count)) : m
    }

    /// Σ_s W_s x_s² for x constant from `constantFrom` on: the terms before it in blocks of 1024
    /// (summation error O((1024 + count / 1024) ε)), the tail in closed form.
    func weightedSquares(_ x: UnsafePointer<Double>, constantFrom: Int) -> Double {
        let end = Swift.min(count, constantFrom)
        var total = 0.0
        var lo = 0
        while lo < end {
            let hi = Swift.min(end, lo + 1024)
            var s = 0.0
            if let explicit {
                for k in lo..<hi { s += explicit[k] * x[k] * x[k] }
            } else if mean {
                for k in lo..<hi { s += Double(count - k) * x[k] * x[k] }
            } else {
                for k in lo..<hi { s += x[k] * x[k] }
            }
            total += s
            lo = hi
        }
        if mean { total /= Double(count) }
        return end < count ? total + x[end] * x[end] * suffixTotal(from: end) : total
    }

    /// x[s] ← 2 W_s x[s] for s < upTo.
    func scaleByTwice(_ x: UnsafeMutablePointer<Double>, upTo: Int) {
        if let explicit {
            for s in 0..<upTo { x[s] *= 2 * explicit[s] }
        } else if mean {
            let f = 2 / Double(count)
            for s in 0..<upTo { x[s] *= f * Double(count - s) }
        } else {
            for s in 0..<upTo { x[s] *= 2 }
        }
    }
}

/// The loss of a strategy T(c) (b coefficients, n steps, fixed workload and reduction) with
/// work space kept between evaluations, for `Toeplitz.loss` and the optimizer.
///
/// E = Σ_s W_s β_s² with β = T(c)⁻¹ a. Its gradient, ∂E/∂c_r = −Σ_t λ_t β_{t−r} with
/// λ = T(c)⁻ᵀ g and g_s = 2 W_s β_s, needs no backward pass: lower-triangular Toeplitz matrices
/// commute, so T(c)⁻¹ Z^r β = Z^r γ with γ = T(c)⁻¹ β = T(c)⁻² a and
///
///     ∂E/∂c_r = −Σ_s g_s γ_{s−r}     (Z^r the shift by r),
///
/// two forward solves (the second trailing the first on another core) and one correlation over
/// the cores. With the sensitivity factor S = ‖c‖²: L = S E and ∂L/∂c = 2 c E + S ∂E/∂c.
/// Converged tails (see `BandedToeplitzSolver`): once β and γ are constant (v and u from T on),
/// the sums over the tail are closed forms (Σ W_s in O(1) for mean and last), so an evaluation
/// costs O(T b) plus filling β and γ, whatever n. β of the last point is kept, so a gradient
/// asked for at the point whose loss was just evaluated costs one solve and the correlation.
/// Time per evaluation: at most n (b − 1 + 32) multiply-adds for the loss, the same on each of
/// two cores plus n b over the cores with the gradient. Memory 2 n doubles (+ n for an explicit
/// workload; pages past the transient are only written by the fill). Not thread-safe.
final class StrategyLoss {
    let n: Int, bands: Int
    let timesSensitivity: Bool
    private let workload: WorkBuffer<Double>?
    /// The workload is constant from this step on.
    private let workloadConstantFrom: Int
    private let weights: SuffixWeights
    private let beta: WorkBuffer<Double>, gamma: WorkBuffer<Double>
    /// The coefficients whose β is in `beta`, if any, and the step from which that β is constant.
    private var cached: [Double]?
    private var cachedFrom = 0

    init(n: Int, bands: Int, workload: [Double]?, reduction: ErrorReduction, timesSensitivity: Bool) throws {
        self.n = n
        self.bands = bands
        self.timesSensitivity = timesSensitivity
        weights = try SuffixWeights(reduction, count: n)
        if let workload {
            try Check.nonEmpty(workload, "workload_coef")
            try Check.finite(workload, "workload_coef")
            let a = try Toeplitz.padCoefs(workload, n: n)
            self.workload = try a.withUnsafeBufferPointer { try WorkBuffer(copying: $0, "the workload") }
            workloadConstantFrom = Toeplitz.constantFrom(a)
        } else {
            self.workload = nil
            workloadConstantFrom = 0
        }
        beta = try WorkBuffer<Double>(count: n, "the decoder's coefficients")
        gamma = try WorkBuffer<Double>(count: n, "the second solve")
    }

    /// The loss at c (bands coefficients, c[0] ≠ 0 and finite; NaN otherwise) and its gradient
    /// into `gradient` (bands entries) when given.
    func evaluate(_ c: UnsafePointer<Double>, gradient: UnsafeMutablePointer<Double>?) -> Double {
        let coef = Array(UnsafeBufferPointer(start: c, count: bands))
        guard coef[0] != 0, coef.allSatisfy({ $0.isFinite }), let solver = try? BandedToeplitzSolver(coef) else { return .nan }
        let (p, q) = (beta.pointer, gamma.pointer)
        let a = workload.map { UnsafePointer($0.pointer) }
        var (betaFrom, gammaFrom) = (n, n)
        if cached == coef {
            betaFrom = cachedFrom
            if gradient != nil { gammaFrom = solver.solve(UnsafePointer(p), into: q, n, constantFrom: betaFrom) }
        } else if gradient != nil {
            (betaFrom, gammaFrom) = solveTwice(solver, a, constantFrom: workloadConstantFrom, into: p, then: q, n)
        } else {
            betaFrom = solver.solve(a, into: p, n, constantFrom: workloadConstantFrom)
        }
        (cached, cachedFrom) = (coef, betaFrom)
        let error = weights.weightedSquares(p, constantFrom: betaFrom)
        let sens = timesSensitivity ? coef.reduce(0) { $0 + $1 * $1 } : 1
        guard let gradient else { return error * sens }
        // Past `end` both β (= v) and γ (= u) are constant, so Σ_{s ≥ end} g_s γ_{s−r} = u 2 v Σ_{s ≥ end} W_s.
        let end = Swift.min(n, gammaFrom + bands)
        let tail = 2 * p[n - 1] * q[n - 1] * weights.suffixTotal(from: end)
        weights.scaleByTwice(p, upTo: end)   // β becomes g before `end`
        cached = nil
        correlate(UnsafePointer(q), UnsafePointer(p), end, lags: bands, into: gradient)
        for r in 0..<bands {
            let dE = -(gradient[r] + tail)
            gradient[r] = timesSensitivity ? 2 * coef[r] * error + sens * dE : dE
        }
        return error * sens
    }
}

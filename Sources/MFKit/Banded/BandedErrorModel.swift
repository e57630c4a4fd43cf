import Dispatch
import Glibc

/// How per-query errors e_0 … e_{n−1} become one loss: Σ_t w_t e_t.
public enum ErrorReduction: Equatable {
    /// w_t = 1 / n.
    case mean
    /// w = one-hot at the first arg-max (a subgradient; jnp.max's gradient splits ties).
    case max
    /// w = one-hot at n − 1.
    case last
    /// Caller-given weights (length n).
    case weights([Double])
}

/// The per-query error of a banded strategy under a workload with a small linear state, and its
/// gradient, by a covariance recursion (the output variance of a linear time-varying system).
///
/// The recursion runs on the strategy's own entries C[j + r, j] = κ_{j,r} = params[j, r] / c_j
/// (unit columns; c_j by a scaled norm), so it does not depend on the scale of the params.
/// State (D = b − 1 + q numbers): the last b − 1 outputs ζ_{t−1} … ζ_{t−b+1} of the streaming
/// inverse ζ = C⁻¹ z (a ring: ζ_s in slot s mod (b − 1)), then the workload's state w_t. Step t
/// is x_{t+1} = F_t x_t + G_t z_t with F_t the identity except on the rows N = {slot of ζ_t} ∪ w:
/// the new ζ_t = vᵀ x_t + g0 z_t with v[(t−r) mod (b−1)] = −κ_{t−r,r}/κ_{t,0}, g0 = 1/κ_{t,0};
/// w_{t+1} = M w + k ζ_t. The output u_t = r·w_t + s ζ_t = ℓᵀ x_t + S z_t. So
///
///     e_t = ℓᵀ Σ_t ℓ + S²,     Σ_{t+1} = F_t Σ_t F_tᵀ + G_t G_tᵀ,     Σ_0 = 0.
///
/// Forward (`forwardStep`): O(D²) per step (one product Σ v and rank-|N| row/column rewrites),
/// O(n D²) in all, O(D²) memory. Gradient of L = Σ_t w_t e_t (`adjointStep`, Λ_t = ∂L/∂Σ_t,
/// Λ_n = 0):
///
///     Λ_t = F_tᵀ Λ_{t+1} F_t + w_t ℓℓᵀ,   ∂L/∂F_t = 2 Λ_{t+1} F_t Σ_t,   ∂L/∂G_t = 2 Λ_{t+1} G_t,
///
/// chained to κ through v and g0, then to params through the column normalization
/// ∂L/∂params[j, :] = (γ_j − κ_j (κ_j·γ_j)) / c_j for γ_j = ∂L/∂κ_j (so the gradient is
/// orthogonal to every column: the loss does not depend on the columns' scale). Σ_t is needed
/// backwards (`adjointSweep`): one Σ is kept every K = ⌈√n⌉ steps and each segment is recomputed
/// before it is walked back; with two cores, segment s − 1 is recomputed on a helper thread
/// while segment s is walked back.
/// Gradient cost: about 5 n D² flops, of which the recomputation runs beside the adjoint;
/// memory O(n b + √n D²) (96 MB of checkpoints at n = 10⁶, b = 64).
///
/// Accuracy: where C is close to singular (a column whose diagonal is small next to its other
/// entries) C⁻¹ is large and A C⁻¹ is small only through cancellation, which Σ cannot carry:
/// its entries grow like 1/κ_{t,0}² while e_t stays moderate. Each forward step therefore
/// measures the cancellation it commits (`forwardStep`: the size of the terms it sums against
/// the variance they give, times the unit roundoff u — O(b + q²) per step). Where the largest
/// such estimate passes `fastTolerance` the values are recomputed by the square-root
/// recursion (`squareRootErrors`, whose error is about u times the square root of that
/// ratio, as for streaming the rows of A C⁻¹); a gradient is refused (MFError.numerical) past
/// `gradientTolerance`, and so are values whose square-root estimate passes `valueTolerance`.
/// An optimizer sees refused points as inadmissible and stays away from them.
/// Not thread-safe (holds work space); one model per thread.
public final class BandedErrorModel {
    public let n: Int
    public let bands: Int
    let system: WorkloadSystem
    let ring: Int, q: Int, D: Int
    /// |N|: the rows of Σ a step rewrites (ζ_t's slot, then the workload's state).
    let nN: Int

    /// Largest cancellation estimate of the fast recursion whose values are returned as is.
    public static let fastTolerance = 1e-10
    /// Largest cancellation estimate of the fast recursion for which a gradient is returned.
    public static let gradientTolerance = 1e-6
    /// Largest error estimate of the square-root recursion whose values are returned.
    public static let valueTolerance = 1e-4

    /// κ (row-major n × b, zero on the lower-right triangle) and the column norms c.
    let entries: WorkBuffer<Double>, norms: WorkBuffer<Double>
    /// The workload's per-step maps (see `WorkloadSystem`), copied out of its array.
    let maps: WorkBuffer<Double>
    /// Work vectors of the forward steps of the calling thread and of the segment helper.
    let mainScratch: StepScratch, helperScratch: StepScratch
    /// Work vectors of the adjoint step.
    let adjoint: AdjointScratch
    /// Work space kept between calls (errors, weights, Σ, Λ, checkpoints, two segments).
    private var work: WorkBuffer<Double>?

    /// Cost O(n b + D) memory (plus the workload system).
    public init(n: Int, bands: Int, workload: StreamingMatrix) throws {
        try require(n >= 1, "n must be positive, got \(n)")
        try require(bands >= 1 && bands <= n, "bands must be in [1, n], got \(bands)")
        self.n = n
        self.bands = bands
        system = try WorkloadSystem(workload, n: n)
        ring = bands - 1
        q = system.q
        D = ring + q
        nN = (ring > 0 ? 1 : 0) + q
        let count = try Check.product(n, bands, "the strategy's entries (n x bands)")
        entries = try WorkBuffer(count: count, "the strategy's entries")
        for j in Swift.max(0, n - bands + 1)..<n {   // the lower-right triangle stays zero
            for r in (n - j)..<bands { entries[j * bands + r] = 0 }
        }
        norms = try WorkBuffer(count: n, "the column norms")
        maps = try system.maps.withUnsafeBufferPointer { try WorkBuffer(copying: $0, "the workload's maps") }
        mainScratch = try StepScratch(D: D, nN: nN)
        helperScratch = try StepScratch(D: D, nN: nN)
        adjoint = try AdjointScratch(D: D, nN: nN)
    }

    /// Throws MFError.outOfMemory unless the work space that `loss` (with or without the
    /// gradient) needs — 2n + 2D² doubles, plus about 3√n D² with the gradient — can be
    /// allocated now; checked before an evaluation so that a size beyond memory is reported
    /// instead of failing the allocation inside the kernel. Time O(1).
    public func requireWorkspace(gradient: Bool) throws {
        let total = workspaceCount(gradient: gradient)
        guard total < 0x1p56 else {
            throw MFError.outOfMemory("the error model's work space (\(total) doubles for n=\(self.n), D=\(D)) is too large")
        }
        try Memory.requireAllocatable(Int(total), bytesPerElement: 8,
                                      "the error model's work space for n=\(self.n), D=\(D)\(gradient ? " with the gradient" : "")")
    }

    /// Checkpoint spacing K and count of the adjoint sweep.
    var segmentLength: Int { Swift.max(1, Int(Double(n).squareRoot().rounded(.up))) }

    private func workspaceCount(gradient: Bool) -> Double {
        let n = Double(self.n), d = Double(D), dd = Swift.max(d * d, 1)
        let k = Double(segmentLength)
        let segments = (n / k).rounded(.up), segmentSize = (k + 1) * dd
        return 2 * n + 2 * dd + (gradient ? segments * dd + 2 * segmentSize : 0)
    }

    private func workspace(gradient: Bool) throws -> UnsafeMutablePointer<Double> {
        let count = Int(workspaceCount(gradient: gradient))
        if let w = work, w.count >= count { return w.pointer }
        work = nil
        let w = try WorkBuffer<Double>(count: count, "the error model's work space")
        work = w
        return w.pointer
    }

    /// The per-query errors e_t = ‖(A C⁻¹)[t, :n]‖² into `errors` (n), for params (row-major
    /// n × b; the lower-right triangle is ignored). Time O(n D²) (about 5 times that where the
    /// fast recursion loses accuracy), memory O(D²). Throws MFError.numerical when a diagonal
    /// entry is zero, a value is not finite, or C is too close to singular for an accurate
    /// result.
    public func errors(params: UnsafePointer<Double>, into errors: UnsafeMutablePointer<Double>) throws {
        try prepare(params)
        let S = try workspace(gradient: false) + 2 * n
        if !(forwardPass(S, errors: errors, checkpoints: nil) <= BandedErrorModel.fastTolerance) {
            try squareRootErrors(into: errors)
        }
    }

    /// The loss Σ_t w_t e_t and, when `gradient` is given, its gradient with respect to params
    /// (n × b, zero on the lower-right triangle). `errors` (n) receives e_t if given.
    /// Throws MFError.numerical for params that are not admissible (zero diagonal, non-finite
    /// values) or whose loss or gradient cannot be computed accurately (see the type's note).
    /// Time: n D² without the gradient, about 5 n D² with it (the recomputation on a second
    /// thread when `threads` > 1 and the segments are large); memory O(n b + √n D²). The
    /// result does not depend on `threads`.
    public func loss(params: UnsafePointer<Double>, reduction: ErrorReduction,
                     errors: UnsafeMutablePointer<Double>? = nil,
                     gradient: UnsafeMutablePointer<Double>? = nil, threads: Int = Threads.count) throws -> Double {
        try loss(params: params, reducing: { e, w in self.reduce(e, reduction, into: w) }, errors: errors,
                 gradient: gradient, threads: threads)
    }

    /// `loss(params:reduction:...)` for a reduction given as a function: `reducing(e, w)` reads
    /// the errors e (n), writes the weights w_t = ∂loss/∂e_t (n) and returns the loss.
    func loss(params: UnsafePointer<Double>, reducing: (UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Double,
              errors: UnsafeMutablePointer<Double>? = nil, gradient: UnsafeMutablePointer<Double>? = nil,
              threads: Int = Threads.count) throws -> Double {
        try prepare(params)
        let base = try workspace(gradient: gradient != nil)
        let e = errors ?? base, w = base + n, S = base + 2 * n
        let checkpoints = S + 2 * Swift.max(D * D, 1)
        let worst = forwardPass(S, errors: e, checkpoints: gradient == nil ? nil : checkpoints)
        var loss = reducing(e, w)
        if let g = gradient {
            guard worst <= BandedErrorModel.gradientTolerance, loss.isFinite else {
                throw MFError.numerical(inaccuracyMessage("the loss and its gradient", estimate: worst))
            }
            adjointSweep(weights: w, checkpoints: checkpoints, S: S, into: g, threads: threads)
        }
        if !(worst <= BandedErrorModel.fastTolerance) {
            // Values from the square-root recursion (a gradient computed above keeps the fast
            // recursion's, whose relative error is then at most about gradientTolerance).
            try squareRootErrors(into: e)
            loss = reducing(e, w)
        }
        return loss
    }

    /// Weights w_t of the reduction into `w` (n) and the loss Σ_t w_t e_t. O(n).
    func reduce(_ e: UnsafePointer<Double>, _ reduction: ErrorReduction,
                        into w: UnsafeMutablePointer<Double>) -> Double {
        var loss = 0.0
        w.initialize(repeating: 0, count: n)
        switch reduction {
        case .mean:
            for t in 0..<n { loss += e[t] }
            loss /= Double(n)
            for t in 0..<n { w[t] = 1 / Double(n) }
        case .max:
            var best = 0
            for t in 1..<Swift.max(n, 1) where e[t] > e[best] { best = t }
            loss = e[best]; w[best] = 1
            for t in 0..<n where e[t].isNaN { loss = .nan }
        case .last:
            loss = e[n - 1]; w[n - 1] = 1
        case .weights(let ws):
            for t in 0..<n { loss += ws[t] * e[t]; w[t] = ws[t] }
        }
        return loss
    }

    /// Runs the forward recursion from Σ_0 = 0 over all n steps: e_t into `errors`, Σ_t into
    /// `checkpoints` every `segmentLength` steps when given. Returns the largest step estimate
    /// of `forwardStep` (infinity, at once, when a value is not finite). Time O(n D²).
    private func forwardPass(_ S: UnsafeMutablePointer<Double>, errors: UnsafeMutablePointer<Double>,
                             checkpoints: UnsafeMutablePointer<Double>?) -> Double {
        let DD = Swift.max(D * D, 1), K = segmentLength
        S.initialize(repeating: 0, count: DD)
        mainScratch.diagonal.initialize(repeating: 0, count: Swift.max(D, 1))
        mainScratch.worstRatio = 0
        for t in 0..<n {
            if let checkpoints, t % K == 0 { (checkpoints + (t / K) * DD).update(from: S, count: DD) }
            let e = forwardStep(t, S, mainScratch, estimate: true)
            errors[t] = e
            guard e.isFinite else { return .infinity }   // overflow: nothing further is usable
        }
        let worst = BandedErrorModel.unitRoundoff * mainScratch.worstRatio
        return worst.isNaN ? .infinity : worst
    }

    /// Normalizes params into κ and c: c_j = ‖params[j, 0 ..< min(b, n − j)]‖ (scaled, so that
    /// neither tiny nor huge params overflow), κ_j = params[j, :] / c_j. Throws unless every
    /// value is finite and every diagonal entry nonzero. Time O(n b).
    private func prepare(_ P: UnsafePointer<Double>) throws {
        let b = bands, kappa = entries.pointer
        for j in 0..<n {
            let len = Swift.min(b, n - j), row = P + j * b
            // A finite sum of squares means finite entries; otherwise look (an overflowing sum
            // of finite entries is fine: scaledNorm takes care of it).
            if !dot(row, row, len).isFinite {
                for r in 0..<len where !row[r].isFinite {
                    throw MFError.numerical("params must be finite (found \(row[r]) at [\(j), \(r)])")
                }
            }
            guard row[0] != 0 else {
                throw MFError.numerical("params[\(j), 0] is zero: the strategy is singular (its diagonal must be nonzero)")
            }
            let c = scaledNorm(row, len), inverse = 1 / c
            norms[j] = c
            if inverse.isFinite {
                for r in 0..<len { kappa[j * b + r] = row[r] * inverse }
            } else {
                for r in 0..<len { kappa[j * b + r] = row[r] / c }
            }
        }
    }

    /// The message of a refused evaluation: the estimate and C's smallest diagonal entry.
    func inaccuracyMessage(_ what: String, estimate: Double) -> String {
        var smallest = 0
        for t in 1..<Swift.max(n, 1) where abs(entries[t * bands]) < abs(entries[smallest * bands]) { smallest = t }
        let e = estimate.isFinite ? "about \(threeDigits(estimate))" : "unbounded (a value overflowed)"
        return "\(what) cannot be computed accurately: C is too close to singular (its smallest diagonal entry "
            + "relative to its column is C[\(smallest), \(smallest)] = \(threeDigits(entries[smallest * bands])); "
            + "the estimated relative rounding error is \(e))"
    }
}

/// `x` rounded to 3 significant digits, as text.
func threeDigits(_ x: Double) -> String {
    guard x != 0, x.isFinite else { return "\(x)" }
    let scale = pow(10, 2 - floor(log10(abs(x))))
    return "\((x * scale).rounded() / scale)"
}

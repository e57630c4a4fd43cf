import Glibc
import Dispatch

/// Work vectors of one forward step (one set per thread that runs forward steps).
final class ForwardScratch {
    let v, u, ell, cols, block: UnsafeMutablePointer<Double>

    init(D: Int, nN: Int) {
        func alloc(_ c: Int) -> UnsafeMutablePointer<Double> {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(c, 1))
            p.initialize(repeating: 0, count: Swift.max(c, 1))
            return p
        }
        v = alloc(D); u = alloc(D); ell = alloc(D); cols = alloc(Swift.max(nN, 1) * D); block = alloc(nN * nN)
    }

    deinit { for p in [v, u, ell, cols, block] { p.deallocate() } }
}

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
/// State (D = b − 1 + q numbers): the last b − 1 values ξ_{t−1} … ξ_{t−b+1} of the streaming
/// inverse (a ring: ξ_s in slot s mod (b − 1)), then the workload's state w_t. Step t is
/// x_{t+1} = F_t x_t + G_t z_t with F_t the identity except on the rows N = {slot of ξ_t} ∪ w:
/// the new ξ_t = vᵀ x_t + g0 z_t with v[(t−r) mod (b−1)] = −p_{t,r}/p_{t,0}, g0 = 1/p_{t,0};
/// o_t = c_t ξ_t; w_{t+1} = M w + k o_t. The output u_t = r·w_t + s o_t = ℓᵀ x_t + S z_t. So
///
///     e_t = ℓᵀ Σ_t ℓ + S²,     Σ_{t+1} = F_t Σ_t F_tᵀ + G_t G_tᵀ,     Σ_0 = 0.
///
/// Forward: O(D²) per step (one product Σ v and rank-|N| row/column rewrites), O(n D²) in all,
/// O(D²) memory. Gradient of L = Σ_t w_t e_t (adjoint recursion, Λ_t = ∂L/∂Σ_t, Λ_n = 0):
///
///     Λ_t = F_tᵀ Λ_{t+1} F_t + w_t ℓℓᵀ,   ∂L/∂F_t = 2 Λ_{t+1} F_t Σ_t,   ∂L/∂G_t = 2 Λ_{t+1} G_t,
///
/// chained to params through v, g0 and the column norms c. Σ_t is needed backwards: one Σ is
/// kept every K = ⌈√n⌉ steps and each segment is recomputed (saving u_t = Σ_t v_t too, which
/// the adjoint step needs) before it is walked back; with two cores, segment s − 1 is
/// recomputed on a helper thread while segment s is walked back.
/// Gradient cost: about 5 n D² flops (the forward pass, the recomputation, the adjoint), of
/// which the recomputation runs beside the adjoint; memory O(√n D²) (96 MB at n = 10⁶, b = 64).
/// Not thread-safe (holds work space); one model per thread.
public final class BandedErrorModel {
    public let n: Int
    public let bands: Int
    let system: WorkloadSystem
    let ring: Int, q: Int, D: Int
    /// |N| and the physical indices of N (ξ_t's slot is filled per step).
    let nN: Int

    // Work space (owned, freed in deinit).
    // Work vectors of the adjoint step (the forward step's are in a ForwardScratch).
    private let v, eta, phi1, phi2, x1, x2, ell, dv, omega, tmpRow: UnsafeMutablePointer<Double>
    /// The workload's per-step maps (see `WorkloadSystem`), copied out of its array.
    private let maps: UnsafeMutablePointer<Double>
    /// Forward work vectors of the calling thread and of the helper that recomputes segments.
    private let mainScratch: ForwardScratch, helperScratch: ForwardScratch
    /// Work space kept between calls (errors, weights, checkpoints, a segment, Σ, Λ).
    private var work: UnsafeMutablePointer<Double>?
    private var workCount = 0

    /// Throws MFError.outOfMemory unless the work space that `loss` (with or without the
    /// gradient) needs — 2n + 2D² doubles, plus about 3√n D² with the gradient — can be
    /// allocated now; checked before an evaluation so that a size beyond memory is reported
    /// instead of failing the allocation inside the kernel. Time O(1).
    public func requireWorkspace(gradient: Bool) throws {
        let n = Double(self.n), d = Double(D), dd = Swift.max(d * d, 1)
        let k = gradient ? Swift.max(1, n.squareRoot().rounded(.up)) : n
        let segments = (n / k).rounded(.up), segmentSize = (k + 1) * dd + k * d
        let total = 2 * n + 2 * dd + (gradient ? segments * dd + 2 * segmentSize : 0)
        guard total < 0x1p56 else {
            throw MFError.outOfMemory("the error model's work space (\(total) doubles for n=\(self.n), D=\(D)) is too large")
        }
        try Memory.requireAllocatable(Int(total), bytesPerElement: 8,
                               "the error model's work space for n=\(self.n), D=\(D)\(gradient ? " with the gradient" : "")")
    }

    private func workspace(_ count: Int) -> UnsafeMutablePointer<Double> {
        if let w = work, workCount >= count { return w }
        work?.deallocate()
        let w = UnsafeMutablePointer<Double>.allocate(capacity: count)
        work = w
        workCount = count
        return w
    }
    private let cols: UnsafeMutablePointer<Double>      // |N| × D: rows of W on N
    private let norms: UnsafeMutablePointer<Double>     // n
    private let dcol: UnsafeMutablePointer<Double>      // n

    /// Cost O(n + D) memory (plus the workload system).
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
        let m = Swift.max(D, 1)
        func alloc(_ c: Int) -> UnsafeMutablePointer<Double> {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(c, 1))
            p.initialize(repeating: 0, count: Swift.max(c, 1))
            return p
        }
        v = alloc(m); eta = alloc(m); phi1 = alloc(m); phi2 = alloc(m)
        x1 = alloc(m); x2 = alloc(m); ell = alloc(m); dv = alloc(m); omega = alloc(m); tmpRow = alloc(m)
        cols = alloc(Swift.max(nN, 1) * m)
        norms = alloc(n); dcol = alloc(n)
        mainScratch = ForwardScratch(D: m, nN: nN)
        helperScratch = ForwardScratch(D: m, nN: nN)
        maps = alloc(system.maps.count)
        system.maps.withUnsafeBufferPointer { maps.update(from: $0.baseAddress!, count: $0.count) }
    }

    deinit {
        for p in [v, eta, phi1, phi2, x1, x2, ell, dv, omega, tmpRow, cols, norms, dcol, maps] { p.deallocate() }
        work?.deallocate()
    }

    /// The per-query errors e_t = ‖(A C⁻¹)[t, :n]‖² into `errors` (n), for params (row-major
    /// n × b; the lower-right triangle is ignored). Returns false (errors unspecified) when a
    /// diagonal entry is zero or a value is not finite. Time O(n D²), memory O(D²).
    public func errors(params: UnsafePointer<Double>, into errors: UnsafeMutablePointer<Double>) -> Bool {
        guard prepare(params) else { return false }
        let DD = Swift.max(D * D, 1)
        let S = workspace(DD)
        S.initialize(repeating: 0, count: DD)
        for t in 0..<n { errors[t] = forward(t, params, S, mainScratch) }
        return true
    }

    /// The loss Σ_t w_t e_t and, when `gradient` is given, its gradient with respect to params
    /// (n × b, zero on the lower-right triangle). `errors` (n) receives e_t if given.
    /// Returns nan when params are not admissible (zero diagonal, non-finite values).
    /// Time: n D² without the gradient, about 5 n D² with it (the recomputation on a second
    /// thread when `threads` > 1 and the segments are large); memory O(n + √n D²). The
    /// result does not depend on `threads`.
    public func loss(params: UnsafePointer<Double>, reduction: ErrorReduction,
                     errors: UnsafeMutablePointer<Double>? = nil,
                     gradient: UnsafeMutablePointer<Double>? = nil, threads: Int = Threads.count) -> Double {
        guard prepare(params) else { return .nan }
        let DD = Swift.max(D * D, 1)
        let K = gradient == nil ? n : Swift.max(1, Int(Double(n).squareRoot().rounded(.up)))
        let segments = (n + K - 1) / K
        // Work space: e (n), w (n), Σ, Λ, then (gradient only) checkpoints and two segment
        // buffers (one walked back while the other is recomputed), each holding Σ_lo … Σ_hi
        // (the last one is scratch) and u_t = Σ_t v_t of every step.
        let segmentSize = (K + 1) * DD + K * D
        let base = workspace(2 * n + 2 * DD + (gradient == nil ? 0 : segments * DD + 2 * segmentSize))
        let e = errors ?? base, w = base + n, S = base + 2 * n, L = S + DD
        let checkpoints = L + DD
        let segs = [checkpoints + segments * DD, checkpoints + segments * DD + segmentSize]
        S.initialize(repeating: 0, count: DD)
        for t in 0..<n {
            if gradient != nil, t % K == 0 { (checkpoints + (t / K) * DD).update(from: S, count: DD) }
            e[t] = forward(t, params, S, mainScratch)
        }
        // Weights and loss.
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
        guard let g = gradient, loss.isFinite else { return loss }
        // Backward, segment by segment: recompute Σ over the segment, then walk it back.
        let b = bands
        g.initialize(repeating: 0, count: n * b)
        dcol.initialize(repeating: 0, count: n)
        L.initialize(repeating: 0, count: DD)
        // Σ_t and u_t over segment s into `buffer`, from its checkpoint.
        func recompute(_ s: Int, _ buffer: UnsafeMutablePointer<Double>, _ scratch: ForwardScratch) {
            let lo = s * K, hi = Swift.min(n, lo + K), us = buffer + (K + 1) * DD
            buffer.update(from: checkpoints + s * DD, count: DD)
            for t in lo..<hi {
                let next = buffer + (t - lo + 1) * DD
                next.update(from: next - DD, count: DD)
                _ = forward(t, params, next, scratch, us + (t - lo) * D)
            }
        }
        func walkBack(_ s: Int, _ buffer: UnsafeMutablePointer<Double>) {
            let lo = s * K, hi = Swift.min(n, lo + K), us = buffer + (K + 1) * DD
            for t in stride(from: hi - 1, through: lo, by: -1) {
                backward(t, params, buffer + (t - lo) * DD, us + (t - lo) * D, L, w[t], g)
            }
        }
        // With two cores, segment s − 1 is recomputed while segment s is walked back.
        let pipelined = threads > 1 && K * DD >= 1 << 18   // below this, waking a thread costs more
        recompute(segments - 1, segs[(segments - 1) % 2], mainScratch)
        for s in stride(from: segments - 1, through: 0, by: -1) {
            let current = segs[s % 2]
            if s > 0 && pipelined {
                let helper = helperScratch, nextBuffer = segs[(s - 1) % 2]
                DispatchQueue.concurrentPerform(iterations: 2) { i in
                    if i == 0 { walkBack(s, current) } else { recompute(s - 1, nextBuffer, helper) }
                }
            } else {
                walkBack(s, current)
                if s > 0 { recompute(s - 1, segs[(s - 1) % 2], mainScratch) }
            }
        }
        // Column norms: ∂c_j/∂params[j, r] = params[j, r] / c_j.
        for j in 0..<n {
            let f = dcol[j] / norms[j]
            for r in 0..<Swift.min(b, n - j) { g[j * b + r] += f * params[j * b + r] }
        }
        return loss
    }

    /// Column norms; false unless every diagonal entry is nonzero and every value finite.
    private func prepare(_ P: UnsafePointer<Double>) -> Bool {
        let b = bands
        for j in 0..<n {
            var s = 0.0
            for r in 0..<Swift.min(b, n - j) {
                let x = P[j * b + r]
                if !x.isFinite { return false }
                s += x * x
            }
            if P[j * b] == 0 { return false }
            norms[j] = s.squareRoot()
        }
        return true
    }

    /// v (slot-indexed), g0 and c of step t; returns (g0, c, p0).
    @inline(__always)
    private func stepCoefficients(_ t: Int, _ P: UnsafePointer<Double>,
                                  _ v: UnsafeMutablePointer<Double>) -> (g0: Double, c: Double, p0: Double) {
        let b = bands
        let p0 = P[t * b], g0 = 1 / p0
        if ring > 0 {
            for a in 0..<ring { v[a] = 0 }
            for r in stride(from: 1, through: Swift.min(ring, t), by: 1) {
                v[(t - r) % ring] = -P[(t - r) * b + r] * g0
            }
        }
        return (g0, norms[t], p0)
    }

    /// Σ ← F_t Σ F_tᵀ + G_t G_tᵀ; returns e_t.
    /// Uses `scratch` for its work vectors; stores u = Σ_t v into `uOut` when given.
    private func forward(_ t: Int, _ P: UnsafePointer<Double>, _ S: UnsafeMutablePointer<Double>,
                         _ scratch: ForwardScratch, _ uOut: UnsafeMutablePointer<Double>? = nil) -> Double {
        let v = scratch.v, u = scratch.u, ell = scratch.ell, cols = scratch.cols, block = scratch.block
        let (g0, c, _) = stepCoefficients(t, P, v)
        let D = self.D, ring = self.ring, q = self.q, nN = self.nN
        let M = maps + system.offset(t), k = M + q * q, rr = k + q, s = rr[q]
        let m0 = ring > 0 ? 1 : 0, j0 = ring > 0 ? t % ring : -1
        // u = Σ[:, ξ] v (v is zero on the w part, so a full-length dot).
        if ring > 0 {
            for i in 0..<D { u[i] = dot(S + i * D, v, D) }
        } else {
            for i in 0..<D { u[i] = 0 }
        }
        if let uOut { uOut.update(from: u, count: D) }
        // Columns Σ R_mᵀ for m ∈ N (rows of `cols`): R_j0 = (v, 0), R_wi = (c k_i v, M_i).
        if m0 == 1 { cols.update(from: u, count: D) }
        for i in 0..<q {
            let col = cols + (m0 + i) * D, cki = c * k[i]
            for a in 0..<D { col[a] = cki * u[a] }
            for l in 0..<q where M[i * q + l] != 0 { axpy(M[i * q + l], S + (ring + l) * D, col, D) }
        }
        // Σ ℓ with ℓ = (s c v, r), and e_t = ℓᵀ Σ ℓ + (s c g0)².
        let sc = s * c
        for a in 0..<D { ell[a] = sc * u[a] }
        for l in 0..<q where rr[l] != 0 { axpy(rr[l], S + (ring + l) * D, ell, D) }
        var e = sc * dot(v, ell, D)
        for l in 0..<q { e += rr[l] * ell[ring + l] }
        e += (sc * g0) * (sc * g0)
        // The new |N| × |N| block R_m Σ R_m2ᵀ + G_m G_m2, with G_m = g0 ρ_m.
        for m in 0..<nN {
            let rhoM = m < m0 ? 1 : c * k[m - m0]
            for m2 in m..<nN {
                let x = cols + m2 * D
                var val = dot(v, x, D)
                if m >= m0 {
                    let i = m - m0
                    val *= c * k[i]
                    for l in 0..<q { val += M[i * q + l] * x[ring + l] }
                }
                let rhoM2 = m2 < m0 ? 1 : c * k[m2 - m0]
                val += g0 * g0 * rhoM * rhoM2
                block[m * nN + m2] = val
                block[m2 * nN + m] = val
            }
        }
        // Rows and columns N of Σ_{t+1}, then the block.
        for m in 0..<nN {
            let j = m < m0 ? j0 : ring + (m - m0), col = cols + m * D
            for a in 0..<D { S[a * D + j] = col[a] }
            (S + j * D).update(from: col, count: D)
        }
        for m in 0..<nN {
            let j = m < m0 ? j0 : ring + (m - m0)
            for m2 in 0..<nN { S[j * D + (m2 < m0 ? j0 : ring + (m2 - m0))] = block[m * nN + m2] }
        }
        return e
    }

    /// Λ ← F_tᵀ Λ F_t + w_t ℓℓᵀ (Λ = Λ_{t+1} on entry), accumulating ∂L/∂params into g and
    /// ∂L/∂c_t into dcol. S = Σ_t.
    private func backward(_ t: Int, _ P: UnsafePointer<Double>, _ S: UnsafePointer<Double>,
                          _ uSaved: UnsafePointer<Double>, _ L: UnsafeMutablePointer<Double>, _ wt: Double,
                          _ g: UnsafeMutablePointer<Double>) {
        let (g0, c, _) = stepCoefficients(t, P, v)
        let D = self.D, ring = self.ring, q = self.q, b = bands
        do {
            let M = maps + system.offset(t), k = M + q * q, rr = k + q, s = rr[q]
            let m0 = ring > 0 ? 1 : 0
            let j0 = ring > 0 ? t % ring : -1
            let sc = s * c
            // ℓ = (s c v, r).
            for a in 0..<ring { ell[a] = sc * v[a] }
            for l in 0..<q { ell[ring + l] = rr[l] }
            // η = Λ[:, N] ρ, ψ = Λ[:, w] k (rows of Λ by symmetry).
            for a in 0..<D { eta[a] = 0; tmpRow[a] = 0 }
            if m0 == 1 { eta.update(from: L + j0 * D, count: D) }
            for i in 0..<q where k[i] != 0 {
                let row = L + (ring + i) * D
                for a in 0..<D { tmpRow[a] += k[i] * row[a] }
            }
            for a in 0..<D { eta[a] += c * tmpRow[a] }   // tmpRow = ψ
            // φ = Fᵀ x: (Fᵀx)[a] = [a ∉ N] x[a] + v[a] (ρ·x_N) for a ∈ ξ; Σ_i M[i,l] x[w_i] at w_l.
            func transposeF(_ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) {
                var rx = 0.0
                if m0 == 1 { rx = x[j0] }
                for i in 0..<q { rx += c * k[i] * x[ring + i] }
                for a in 0..<ring { out[a] = (a == j0 ? 0 : x[a]) + v[a] * rx }
                for l in 0..<q {
                    var acc = 0.0
                    for i in 0..<q { acc += M[i * q + l] * x[ring + i] }
                    out[ring + l] = acc
                }
            }
            if m0 == 1 { transposeF(L + j0 * D, phi1) } else { for a in 0..<D { phi1[a] = 0 } }
            transposeF(tmpRow, phi2)
            for a in 0..<D {
                x1[a] = phi1[a] + c * phi2[a] + wt * sc * ell[a]
                x2[a] = phi2[a] + wt * s * ell[a]
            }
            // dv = 2 Σ[ξ, :] x1; u = Σ[:, ξ] v; dc = 2 u·x2.
            // (u = Σ_t v was saved by the forward step that recomputed Σ_t.)
            var dc = 2 * dot(uSaved, x2, D)
            for a in 0..<ring { dv[a] = 2 * dot(S + a * D, x1, D) }
            // G and S terms.
            var kappa = m0 == 1 ? eta[j0] : 0
            var keta = 0.0
            for i in 0..<q { kappa += c * k[i] * eta[ring + i]; keta += k[i] * eta[ring + i] }
            var dg0 = 2 * g0 * kappa
            dc += 2 * g0 * g0 * keta
            dc += 2 * wt * s * s * c * g0 * g0
            dg0 += 2 * wt * s * s * c * c * g0
            // Chain to params.
            var gp0 = -dg0 * g0 * g0
            for r in stride(from: 1, through: Swift.min(ring, t), by: 1) {
                let da = dv[(t - r) % ring], pr = P[(t - r) * b + r]
                g[(t - r) * b + r] += -da * g0
                gp0 += da * pr * g0 * g0
            }
            g[t * b] += gp0
            dcol[t] += dc
            // Λ_t = Fᵀ W + w_t ℓℓᵀ with W = Λ F, in one pass over Λ. Rows of W:
            // W[i, a] = [a ≠ j0] Λ[i, a] + v[a] η[i] (a ∈ ξ), W[i, w_l] = Σ_i' Λ[i, w_i'] M[i', l].
            // Rows of Λ_t: [i ∉ N] W[i, :] + v[i] ω (i ∈ ξ), Σ_i M[i, l] W[w_i, :] + w_t r_l ℓ (w_l),
            // with ω = W[j0, :] + c Σ_i k_i W[w_i, :] + w_t s c ℓ. First the rows of W on N:
            for m in 0..<nN {
                let src = L + (m < m0 ? j0 : ring + (m - m0)) * D, dst = cols + m * D, em = eta[m < m0 ? j0 : ring + (m - m0)]
                for a in 0..<ring { dst[a] = src[a] + v[a] * em }
                if m0 == 1 { dst[j0] = v[j0] * em }
                for l in 0..<q {
                    var acc = 0.0
                    for i2 in 0..<q { acc += src[ring + i2] * M[i2 * q + l] }
                    dst[ring + l] = acc
                }
            }
            for a in 0..<D { omega[a] = (m0 == 1 ? cols[a] : 0) + wt * sc * ell[a] }
            for i in 0..<q where k[i] != 0 { axpy(c * k[i], cols + (m0 + i) * D, omega, D) }
            // Rows a ∈ ξ, a ≠ j0.
            for a in 0..<ring where a != j0 {
                let row = L + a * D, ea = eta[a], va = v[a]
                for l in 0..<q { tmpRow[l] = row[ring + l] }
                for j in 0..<ring { row[j] += v[j] * ea + va * omega[j] }
                if m0 == 1 { row[j0] = v[j0] * ea + va * omega[j0] }
                for l in 0..<q {
                    var acc = va * omega[ring + l]
                    for i2 in 0..<q { acc += tmpRow[i2] * M[i2 * q + l] }
                    row[ring + l] = acc
                }
            }
            if m0 == 1 {
                let row = L + j0 * D, vj = v[j0]
                for j in 0..<D { row[j] = vj * omega[j] }
            }
            for l in 0..<q {
                let row = L + (ring + l) * D
                for j in 0..<D { row[j] = wt * rr[l] * ell[j] }
                for i in 0..<q where M[i * q + l] != 0 { axpy(M[i * q + l], cols + (m0 + i) * D, row, D) }
            }
        }
    }
}

import Dispatch

/// Work vectors of the adjoint step.
final class AdjointScratch {
    let v, eta, phi1, phi2, x1, ell, dv, omega, tmpRow, cols: UnsafeMutablePointer<Double>
    private let storage: WorkBuffer<Double>

    init(D: Int, nN: Int) throws {
        let d = Swift.max(D, 1)
        storage = try WorkBuffer(count: 9 * d + Swift.max(nN, 1) * d, zeroed: true, "the error model's adjoint vectors")
        let p = storage.pointer
        v = p; eta = p + d; phi1 = p + 2 * d; phi2 = p + 3 * d; x1 = p + 4 * d; ell = p + 5 * d
        dv = p + 6 * d; omega = p + 7 * d; tmpRow = p + 8 * d; cols = p + 9 * d
    }
}

extension BandedErrorModel {
    /// The gradient of Σ_t w_t e_t with respect to params into `g` (n × b), by the adjoint
    /// recursion walked back segment by segment: each segment's Σ_t is recomputed from its checkpoint (`checkpoints`, written by the forward pass every
    /// `segmentLength` steps), then `adjointStep` runs over it backwards; with `threads` > 1
    /// and large segments the next segment is recomputed on a helper thread meanwhile.
    /// Finally ∂L/∂κ is chained through the column normalization. `S` is the start of the
    /// work space holding Λ (after Σ) and the two segment buffers (after the checkpoints).
    /// Time about 4 n D²; memory as `requireWorkspace(gradient: true)`.
    func adjointSweep(weights w: UnsafePointer<Double>,
                      checkpoints: UnsafeMutablePointer<Double>, S: UnsafeMutablePointer<Double>,
                      into g: UnsafeMutablePointer<Double>, threads: Int) {
        let b = bands, D = self.D, DD = Swift.max(D * D, 1), K = segmentLength
        let segments = (n + K - 1) / K
        // Segment buffers: Σ_lo … Σ_hi (the last one is scratch).
        let segmentSize = (K + 1) * DD
        let segs = [checkpoints + segments * DD, checkpoints + segments * DD + segmentSize]
        let L = S + DD
        g.initialize(repeating: 0, count: n * b)
        L.initialize(repeating: 0, count: DD)
        func recompute(_ s: Int, _ buffer: UnsafeMutablePointer<Double>, _ scratch: StepScratch) {
            let lo = s * K, hi = Swift.min(n, lo + K)
            buffer.update(from: checkpoints + s * DD, count: DD)
            for t in lo..<hi {
                let next = buffer + (t - lo + 1) * DD
                next.update(from: next - DD, count: DD)
                _ = forwardStep(t, next, scratch)
            }
        }
        func walkBack(_ s: Int, _ buffer: UnsafeMutablePointer<Double>) {
            let lo = s * K, hi = Swift.min(n, lo + K)
            for t in stride(from: hi - 1, through: lo, by: -1) {
                adjointStep(t, buffer + (t - lo) * DD, L, w[t], g)
            }
        }
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
        // ∂L/∂params[j, :] = (γ_j − κ_j (κ_j·γ_j)) / c_j with γ_j = ∂L/∂κ_j (in g).
        let kappa = entries.pointer
        for j in 0..<n {
            let len = Swift.min(b, n - j), gj = g + j * b, kj = kappa + j * b
            let along = dot(kj, gj, len), c = norms[j]
            for r in 0..<len { gj[r] = (gj[r] - kj[r] * along) / c }
        }
    }

    /// One adjoint step: Λ ← F_tᵀ Λ F_t + w_t ℓℓᵀ (Λ = Λ_{t+1} on entry, Λ_t on return),
    /// accumulating ∂L/∂κ into g: ∂L/∂v = 2 (Λ F Σ)[ζ_t, ring] and ∂L/∂g0 from 2 Λ G, chained
    /// through v_a = −κ_{t−r,r} g0 and g0 = 1/κ_{t,0}. S = Σ_t.
    /// Time O(D²) (products with Λ's rows on N and rank-|N| row updates), memory O(D).
    func adjointStep(_ t: Int, _ S: UnsafePointer<Double>, _ L: UnsafeMutablePointer<Double>, _ wt: Double, _ g: UnsafeMutablePointer<Double>) {
        let a = adjoint
        let v = a.v, eta = a.eta, phi1 = a.phi1, phi2 = a.phi2, x1 = a.x1, ell = a.ell, dv = a.dv
        let omega = a.omega, tmpRow = a.tmpRow, cols = a.cols
        let g0 = stepCoefficients(t, v)
        let D = self.D, ring = self.ring, q = self.q, b = bands, nN = self.nN, kappa = entries.pointer
        let M = maps.pointer + system.offset(t), k = M + q * q, rr = k + q, s = rr[q]
        let m0 = ring > 0 ? 1 : 0, j0 = ring > 0 ? t % ring : -1
        // ℓ = (s v, r).
        for i in 0..<ring { ell[i] = s * v[i] }
        for l in 0..<q { ell[ring + l] = rr[l] }
        // η = Λ[:, N] ρ = Λ[:, j0] + Σ_i k_i Λ[:, w_i]; ψ = Σ_i k_i Λ[:, w_i] (rows, by symmetry).
        for i in 0..<D { tmpRow[i] = 0 }
        for i in 0..<q where k[i] != 0 { axpy(k[i], L + (ring + i) * D, tmpRow, D) }
        if m0 == 1 { eta.update(from: L + j0 * D, count: D) } else { for i in 0..<D { eta[i] = 0 } }
        for i in 0..<D { eta[i] += tmpRow[i] }
        // φ = Fᵀ x: (Fᵀx)[a] = [a ∉ N] x[a] + v[a] (ρ·x_N) for a in the ring; Σ_i M[i,l] x[w_i] at w_l.
        func transposeF(_ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>) {
            var rx = m0 == 1 ? x[j0] : 0
            for i in 0..<q { rx += k[i] * x[ring + i] }
            for i in 0..<ring { out[i] = (i == j0 ? 0 : x[i]) + v[i] * rx }
            for l in 0..<q {
                var acc = 0.0
                for i in 0..<q { acc += M[i * q + l] * x[ring + i] }
                out[ring + l] = acc
            }
        }
        if m0 == 1 { transposeF(L + j0 * D, phi1) } else { for i in 0..<D { phi1[i] = 0 } }
        transposeF(tmpRow, phi2)
        for i in 0..<D { x1[i] = phi1[i] + phi2[i] + wt * s * ell[i] }
        // ∂L/∂v = 2 Σ[ring, :] x1 (Σ symmetric); ∂L/∂g0 = 2 g0 (ρ·η_N) + 2 w_t s² g0.
        matVec(S, rows: ring, D, x1, into: dv)
        for i in 0..<ring { dv[i] *= 2 }
        var kappaN = m0 == 1 ? eta[j0] : 0
        for i in 0..<q { kappaN += k[i] * eta[ring + i] }
        let dg0 = 2 * g0 * kappaN + 2 * wt * s * s * g0
        // Chain to κ: v_a = −κ_{t−r,r} g0 and g0 = 1/κ_{t,0}.
        var gDiagonal = -dg0 * g0 * g0
        for r in stride(from: 1, through: Swift.min(ring, t), by: 1) {
            let da = dv[(t - r) % ring]
            g[(t - r) * b + r] += -da * g0
            gDiagonal += da * kappa[(t - r) * b + r] * g0 * g0
        }
        g[t * b] += gDiagonal
        // Λ_t = Fᵀ W + w_t ℓℓᵀ with W = Λ F, in one pass over Λ. Rows of W:
        // W[i, a] = [a ≠ j0] Λ[i, a] + v[a] η[i] (a in the ring), W[i, w_l] = Σ_i' Λ[i, w_i'] M[i', l].
        // Rows of Λ_t: [i ∉ N] W[i, :] + v[i] ω (i in the ring), Σ_i M[i, l] W[w_i, :] + w_t r_l ℓ (w_l),
        // with ω = W[j0, :] + Σ_i k_i W[w_i, :] + w_t s ℓ. First the rows of W on N:
        for m in 0..<nN {
            let row = rowOfN(m, j0), src = L + row * D, dst = cols + m * D, em = eta[row]
            for i in 0..<ring { dst[i] = src[i] + v[i] * em }
            if m0 == 1 { dst[j0] = v[j0] * em }
            for l in 0..<q {
                var acc = 0.0
                for i2 in 0..<q { acc += src[ring + i2] * M[i2 * q + l] }
                dst[ring + l] = acc
            }
        }
        for i in 0..<D { omega[i] = (m0 == 1 ? cols[i] : 0) + wt * s * ell[i] }
        for i in 0..<q where k[i] != 0 { axpy(k[i], cols + (m0 + i) * D, omega, D) }
        // Rows of the ring other than j0.
        for i in 0..<ring where i != j0 {
            let row = L + i * D, ei = eta[i], vi = v[i]
            for l in 0..<q { tmpRow[l] = row[ring + l] }
            for j in 0..<ring { row[j] += v[j] * ei + vi * omega[j] }
            if m0 == 1 { row[j0] = v[j0] * ei + vi * omega[j0] }
            for l in 0..<q {
                var acc = vi * omega[ring + l]
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

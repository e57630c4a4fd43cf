/// Work vectors of one forward step (one set per thread that runs forward steps).
final class StepScratch {
    /// v (ring slots), u = Σ v, Σ ℓ, the columns Σ R_mᵀ (|N| × D), the new |N| × |N| block,
    /// the sizes of the terms of the new rows' variances and of e_t (|N| + 1), and Σ's diagonal
    /// (kept by the steps that estimate, contiguous for them).
    let v, u, ell, cols, block, terms, diagonal: UnsafeMutablePointer<Double>
    /// The largest ratio of a sum's terms to its result met by the steps that estimate.
    var worstRatio = 0.0
    private let storage: WorkBuffer<Double>

    init(D: Int, nN: Int) throws {
        let d = Swift.max(D, 1), m = Swift.max(nN, 1)
        storage = try WorkBuffer(count: 4 * d + m * d + m * m + m + 1, zeroed: true, "the error model's step vectors")
        v = storage.pointer; u = v + d; ell = u + d; diagonal = ell + d
        cols = diagonal + d; block = cols + m * d; terms = block + m * m
    }
}

extension BandedErrorModel {
    /// The unit roundoff of float64, 2⁻⁵³.
    static let unitRoundoff = 0x1p-53

    /// v (ring slots; the D − (b − 1) entries beyond them stay zero) of step t into `v`;
    /// returns g0 = 1 / κ_{t,0}. O(b).
    @inline(__always)
    func stepCoefficients(_ t: Int, _ v: UnsafeMutablePointer<Double>) -> Double {
        let b = bands, kappa = entries.pointer
        let g0 = 1 / kappa[t * b]
        if ring > 0 {
            for a in 0..<ring { v[a] = 0 }
            for r in stride(from: 1, through: Swift.min(ring, t), by: 1) {
                v[(t - r) % ring] = -kappa[(t - r) * b + r] * g0
            }
        }
        return g0
    }

    /// Physical index in Σ of the m-th row of N (ζ_t's slot j0 first when b > 1).
    @inline(__always)
    func rowOfN(_ m: Int, _ j0: Int) -> Int { ring > 0 ? (m == 0 ? j0 : ring + m - 1) : m }

    /// One step of the covariance recursion: Σ ← F_t Σ F_tᵀ + G_t G_tᵀ (Σ_t on entry,
    /// Σ_{t+1} on return); returns e_t. With `estimate`, the step raises `scratch.worstRatio`
    /// to max(T_e / e_t, max_m T_m / Σ_{t+1}[m, m]), where T is the size of the terms summed
    /// into e_t or into a new variance: Σ_a R_a² Σ_aa + G² for a new variable R x + G z. The
    /// unit roundoff u times that ratio is about the relative rounding error the step commits:
    /// u where the terms are as large as the result, large where they cancel (C close to
    /// singular). Steps that estimate keep Σ's diagonal in `scratch.diagonal` (zero before
    /// step 0).
    /// Time O(D²): the product Σ v, then |N| rows and columns of Σ rewritten; the estimate
    /// adds O(b + q²).
    func forwardStep(_ t: Int, _ S: UnsafeMutablePointer<Double>, _ scratch: StepScratch,
                     estimate: Bool = false) -> Double {
        let v = scratch.v, u = scratch.u, ell = scratch.ell, cols = scratch.cols, block = scratch.block
        let g0 = stepCoefficients(t, v)
        let D = self.D, ring = self.ring, q = self.q, nN = self.nN
        let M = maps.pointer + system.offset(t), k = M + q * q, rr = k + q, s = rr[q]
        let m0 = ring > 0 ? 1 : 0, j0 = ring > 0 ? t % ring : -1
        // u = Σ v (v lives on the ring slots and is zero beyond them: full rows, which keeps
        // the dot products' length a multiple of the vector width where D is).
        matVec(S, rows: D, D, v, into: u)
        if estimate { termSizes(v, g0, M, k, rr, scratch.diagonal, scratch.terms) }
        // Columns Σ R_mᵀ for m ∈ N (rows of `cols`): R_j0 = (v, 0), R_wi = (k_i v, M_i).
        if m0 == 1 { cols.update(from: u, count: D) }
        for i in 0..<q {
            let col = cols + (m0 + i) * D
            for a in 0..<D { col[a] = k[i] * u[a] }
            for l in 0..<q where M[i * q + l] != 0 { axpy(M[i * q + l], S + (ring + l) * D, col, D) }
        }
        // Σ ℓ with ℓ = (s v, r), and e_t = ℓᵀ Σ ℓ + (s g0)².
        for a in 0..<D { ell[a] = s * u[a] }
        for l in 0..<q where rr[l] != 0 { axpy(rr[l], S + (ring + l) * D, ell, D) }
        var e = s * dot(v, ell, D)
        for l in 0..<q { e += rr[l] * ell[ring + l] }
        e += (s * g0) * (s * g0)
        // The new |N| × |N| block R_m Σ R_m2ᵀ + G_m G_m2, with G_m = g0 ρ_m (ρ = 1, k).
        for m in 0..<nN {
            let rhoM = m < m0 ? 1 : k[m - m0]
            for m2 in m..<nN {
                let x = cols + m2 * D
                var val = dot(v, x, D)
                if m >= m0 {
                    let i = m - m0
                    val *= k[i]
                    for l in 0..<q { val += M[i * q + l] * x[ring + l] }
                }
                let rhoM2 = m2 < m0 ? 1 : k[m2 - m0]
                val += g0 * g0 * rhoM * rhoM2
                block[m * nN + m2] = val
                block[m2 * nN + m] = val
            }
        }
        // Rows and columns N of Σ_{t+1}, then the block.
        for m in 0..<nN {
            let j = rowOfN(m, j0), col = cols + m * D
            for a in 0..<D { S[a * D + j] = col[a] }
            (S + j * D).update(from: col, count: D)
        }
        for m in 0..<nN {
            let j = rowOfN(m, j0)
            for m2 in 0..<nN { S[j * D + rowOfN(m2, j0)] = block[m * nN + m2] }
        }
        guard estimate else { return e }
        // size ≤ worst · value for all but the rare step that raises the worst ratio (which
        // divides); NaN, a value ≤ 0 below a positive size, or overflow give infinity.
        let terms = scratch.terms
        var worst = scratch.worstRatio
        if !(terms[nN] <= worst * e) { worst = Swift.max(worst, ratioOf(terms[nN], e)) }
        for m in 0..<nN {
            let value = block[m * nN + m]
            scratch.diagonal[rowOfN(m, j0)] = value
            if !(terms[m] <= worst * value) { worst = Swift.max(worst, ratioOf(terms[m], value)) }
        }
        scratch.worstRatio = worst
        return e
    }

    /// size / value for an estimate: infinite when value ≤ 0 < size (a variance lost to
    /// rounding) or when either is not finite.
    @inline(__always)
    func ratioOf(_ size: Double, _ value: Double) -> Double {
        guard size.isFinite, value.isFinite else { return .infinity }
        return value > 0 ? size / value : (size > 0 || value < 0 ? .infinity : 0)
    }

    /// The sizes Σ_a R_a² Σ_aa + G² of the terms summed into every new variance (rows of N)
    /// and, last, into e_t (|N| + 1 numbers into `terms`), from Σ_t's diagonal `diag`. O(b + q²).
    private func termSizes(_ v: UnsafePointer<Double>, _ g0: Double, _ M: UnsafePointer<Double>,
                           _ k: UnsafePointer<Double>, _ rr: UnsafePointer<Double>,
                           _ diag: UnsafePointer<Double>, _ terms: UnsafeMutablePointer<Double>) {
        let ring = self.ring, q = self.q, m0 = ring > 0 ? 1 : 0, s = rr[q]
        var zeta = g0 * g0   // the terms of ζ_t's variance
        for a in 0..<ring { zeta += v[a] * v[a] * diag[a] }
        if m0 == 1 { terms[0] = zeta }
        for i in 0..<q {
            var size = k[i] * k[i] * zeta
            for l in 0..<q where M[i * q + l] != 0 { size += M[i * q + l] * M[i * q + l] * diag[ring + l] }
            terms[m0 + i] = size
        }
        var size = s * s * zeta
        for l in 0..<q where rr[l] != 0 { size += rr[l] * rr[l] * diag[ring + l] }
        terms[nN] = size
    }
}

/// The min-sep sensitivity of a strategy BLT in closed form, with its gradient.
extension BufferedToeplitz {
    /// Sensitivity² of this strategy BLT under min-sep participation, the value jax_privacy's
    /// `LossFn.build_min_sep` computes as `toeplitz.minsep_sensitivity_squared(
    /// blt.toeplitz_coefs(n), min_sep, max_participations, skip_checks=True)`: with
    /// k = min(max_participations, ⌈n / s⌉) for s = min_sep and v_t = Σ_{i<k} c_{t − i s} (the
    /// worst case for non-increasing nonnegative coefficients), Σ_{t<n} v_t².
    ///
    /// Closed form instead of the n coefficients: write t = q s + r and Φ_j = θ_j^s. For r ≥ 1,
    /// v_t = Σ_j ω_j θ_j^{r−1} H_q(Φ_j) with H_q = G_{q+1} (q < k) or Φ^{q−k+1} G_k (q ≥ k); for
    /// r = 0, v_t = [q < k] + Σ_j ω_j θ_j^{s−1} H'_q(Φ_j) with H'_q = G_q (q < k) or Φ^{q−k} G_k.
    /// So Σ v_t² is a sum over pairs (j, l) of geometric sums in θ_j θ_l (over r) times sums of
    /// products of G's in Φ_j, Φ_l (over q), all from `PairSums` (nonnegative terms for a
    /// strategy, a few ulps). n ≥ 1, s ≥ 1. Time O(d² log n); the gradient comes with it.
    public func minSepSensitivitySquared(_ n: Int, minSep: Int, maxParticipations: Int?) throws -> BLTValue {
        try Check.positive(n, "n")
        let k = try Sensitivity.minsepTrueMaxParticipations(n: n, minSep: minSep, maxParticipations: maxParticipations)
        let d = count
        var out = BLTValue(0, d)
        guard k >= 1 else { return out }
        let sep = Swift.min(minSep, n)   // s ≥ n: every step is its own residue (q = 0 only)
        let (Q, R) = (Double(n / sep), Double(n % sep))
        let (s, kk) = (Double(sep), Double(k))
        let K = Swift.min(Q, kk)                  // q < K in the r ≥ 1 sums over q < Q
        let n0 = Q + (R >= 1 ? 1 : 0)             // values of q for r = 0
        let k0 = Swift.min(kk, n0)
        var sum = CompensatedSum()
        sum.add(k0)                               // Σ [q < k]²
        for j in 0..<d {
            for l in j..<d {
                let (tj, tl) = (Ratio(bufDecay[j], direction: 0), Ratio(bufDecay[l], direction: 1))
                let (fj, fl) = (tj.raised(s), tl.raised(s))
                // r ≥ 1: Σ_r (θ_j θ_l)^{r−1} over r < s, and over r < R for the extra q = Q.
                let rAll = PairSums.over(s - 1, tj, tl).a
                let rExtra = PairSums.over(Swift.max(R - 1, 0), tj, tl).a
                let low = PairSums.over(K + 1, fj, fl)               // G_t(Φ) products, t ≤ K
                let gk = PairSums.over(kk, fj, fl)                   // G_k(Φ_j), G_k(Φ_l)
                var tq = low.s
                if Q > kk { tq += gk.gx * gk.gy * fj.x * fl.x * PairSums.over(Q - kk, fj, fl).a }
                let hj = Q < kk ? PairSums.over(Q + 1, fj, fl).gx : fj.power(Q - kk + 1) * gk.gx
                let hl = Q < kk ? PairSums.over(Q + 1, fj, fl).gy : fl.power(Q - kk + 1) * gk.gy
                var y = rAll * tq + rExtra * hj * hl
                // r = 0: ω_j θ_j^{s−1} ω_l θ_l^{s−1} Σ_q H'_q(Φ_j) H'_q(Φ_l).
                let zero = PairSums.over(k0, fj, fl)
                var hh = zero.s
                if n0 > kk { hh += gk.gx * gk.gy * PairSums.over(n0 - kk, fj, fl).a }
                let (pj, pl) = (tj.power(s - 1), tl.power(s - 1))
                y += pj * pl * hh
                let (wj, wl) = (outputScale[j], outputScale[l])
                let mult = j == l ? 1.0 : 2.0
                sum.add(mult * wj * wl * y.v)
                out.outputScale[j] += mult * wl * y.v
                out.outputScale[l] += mult * wj * y.v
                out.bufDecay[j] += mult * wj * wl * y.a
                out.bufDecay[l] += mult * wj * wl * y.b
                if j == l {   // the cross term 2 Σ_q [q < k] ω_j θ_j^{s−1} H'_q(Φ_j)
                    let z = 2.0 * (pj * zero.wx)
                    sum.add(wj * z.v)
                    out.outputScale[j] += z.v
                    out.bufDecay[j] += wj * (z.a + z.b)
                }
            }
        }
        out.value = sum.value
        return out
    }

    /// Throws unless the first n Toeplitz coefficients are nonnegative and non-increasing, which
    /// the min-sep sensitivity assumes (jax_privacy's `_assert_blt_valid_for_minsep`). O(n d).
    public func requireValidForMinSep(_ n: Int) throws {
        let c = try toeplitzCoefs(n)
        if let m = c.indices.first(where: { c[$0] < 0 }) {
            throw MFError.numerical("Error computing sensitivity for BLT \(self): coef must be non-negative, but found \(c[m]) at index \(m)")
        }
        for m in 1..<Swift.max(n, 1) where c[m] > c[m - 1] {
            throw MFError.numerical("Error computing sensitivity for BLT \(self): coef must be non-increasing, but found increase \(c[m] - c[m - 1]) at index \(m - 1)")
        }
    }
}

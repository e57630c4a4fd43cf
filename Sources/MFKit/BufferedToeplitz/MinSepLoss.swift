/// The materialized (O(n d)) parts of jax_privacy's `LossFn.build_min_sep`: the mean error of a
/// noising BLT and the min-sep sensitivity of a strategy BLT from their first n Toeplitz
/// coefficients, each with its gradient by an adjoint pass.
extension BufferedToeplitz {
    /// (1/n) Σ_{t<n} (n − t) b_t², the mean over steps of the per-query errors
    /// e_t = Σ_{s≤t} b_s² of this noising BLT (`toeplitz.per_query_error(noising_coef=…)`), with
    /// b_t = 1 + Σ_j ω_j G_t(θ_j) carried by G_{t+1} = θ G_t + 1 (no cancelling cumsum) and the
    /// derivative sequence G' alongside. Time O(n d), memory O(d).
    public func meanError(_ n: Int) throws -> BLTValue {
        try Check.positive(n, "n")
        let d = count
        var out = BLTValue(0, d)
        var g = [Double](repeating: 0, count: d), dg = g
        var sum = CompensatedSum()
        let inv = 1 / Double(n)
        for t in 0..<n {
            var b = 1.0
            for j in 0..<d { b += outputScale[j] * g[j] }
            let w = Double(n - t) * inv
            sum.add(w * b * b)
            let c = 2 * w * b
            for j in 0..<d {
                out.outputScale[j] += c * g[j]
                out.bufDecay[j] += c * outputScale[j] * dg[j]
                dg[j] = g[j] + bufDecay[j] * dg[j]
                g[j] = bufDecay[j] * g[j] + 1
            }
        }
        out.value = sum.value
        return out
    }

    /// Sensitivity² of this strategy BLT under min-sep participation
    /// (`toeplitz.minsep_sensitivity_squared(blt.toeplitz_coefs(n), min_sep, max_participations,
    /// skip_checks=True)`): with k = min(max_participations, ⌈n / min_sep⌉) and v_t =
    /// Σ_{i<k} c_{t − i·min_sep} (the worst case for non-increasing nonnegative coefficients),
    /// Σ_t v_t². The gradient with respect to c is 2 Σ_{i<k} v_{m + i·min_sep}, pulled back to
    /// (θ, ω) by Horner's rule. Time O(n d), memory 3 n doubles.
    public func minSepSensitivitySquared(_ n: Int, minSep: Int, maxParticipations: Int?) throws -> BLTValue {
        try Check.positive(n, "n")
        let k = try Sensitivity.minsepTrueMaxParticipations(n: n, minSep: minSep, maxParticipations: maxParticipations)
        let d = count
        var out = BLTValue(0, d)
        try Memory.requireAllocatable(3 * n, bytesPerElement: 8, "the min-sep sensitivity of \(n) steps")
        let c = try toeplitzCoefs(n)
        var v = [Double](repeating: 0, count: n)
        var sum = CompensatedSum()
        let span = Swift.max(k, 0) * minSep   // ≤ n + min_sep: k ≥ 2 only when min_sep < n
        for t in 0..<n {
            var x = c[t]
            if t >= minSep { x += v[t - minSep] }
            if k <= 0 { x = 0 } else if span <= t { x -= c[t - span] }
            v[t] = x
            sum.add(x * x)
        }
        out.value = sum.value
        // h_m = Σ_{i<k} v_{m + i·min_sep}, backwards; the gradient on c_m is 2 h_m.
        var h = [Double](repeating: 0, count: n)
        for m in stride(from: n - 1, through: 0, by: -1) {
            var x = v[m]
            if m + minSep < n { x += h[m + minSep] }
            if k <= 0 { x = 0 } else if span < n - m { x -= v[m + span] }
            h[m] = x
        }
        pullBack(h.map { 2 * $0 }, into: &out)
        return out
    }

    /// Adds Σ_{m≥1} g_m ∂c_m/∂(θ, ω) to `out` for coefficient gradients g (c_m = Σ_j ω_j θ_j^{m−1}):
    /// ∂/∂ω_j = Σ g_m θ_j^{m−1} and ∂/∂θ_j = ω_j Σ g_m (m − 1) θ_j^{m−2}, by Horner's rule and its
    /// derivative. Time O(n d).
    func pullBack(_ g: [Double], into out: inout BLTValue) {
        let n = g.count
        for j in 0..<count {
            let t = bufDecay[j]
            var p = 0.0, q = 0.0
            for m in stride(from: n - 1, through: 1, by: -1) {
                q = q * t + p
                p = p * t + g[m]
            }
            out.outputScale[j] += p
            out.bufDecay[j] += outputScale[j] * q
        }
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

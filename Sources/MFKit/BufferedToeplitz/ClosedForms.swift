import Glibc

/// A scalar function of a BLT and its gradient with respect to buf_decay and output_scale.
public struct BLTValue: Sendable {
    public var value: Double
    public var bufDecay: [Double]
    public var outputScale: [Double]

    init(_ value: Double, _ d: Int) {
        self.value = value
        bufDecay = [Double](repeating: 0, count: d)
        outputScale = bufDecay
    }
}

/// n for the closed forms: an integer-valued Double ≥ 0 (any size), or +inf where allowed.
func checkSteps(_ n: Double, _ name: String, allowInfinity: Bool = false, minimum: Double = 0) throws {
    if allowInfinity && n == .infinity { return }
    guard n.isFinite, n >= minimum, n == n.rounded() else {
        throw MFError.invalidArgument("\(name) must be an integer >= \(Int(minimum))\(allowInfinity ? " or inf" : ""), got \(n)")
    }
}

extension BufferedToeplitz {
    /// 1 − θ_j as a double-double (exact for θ_j ≥ 1/2, where it is one double).
    @inline(__always)
    static func complement(_ theta: Double) -> (Double, Double) { twoSum(1, -theta) }

    /// Adds ω / (1 − θ) to `sum` as a double-double (the division's remainder by FMA), so that
    /// 1 + Σ_j ω_j / (1 − θ_j) keeps its digits when its terms cancel. Returns the rounded term.
    @discardableResult
    static func addRatio(_ omega: Double, _ theta: Double, to sum: inout CompensatedSum) -> Double {
        let (u, ul) = complement(theta)
        let q = omega / u
        let r = fma(-q, u, omega)
        let lo = (r - q * ul) / u
        sum.add(q)
        sum.add(lo)
        return q + lo
    }

    /// sensitivity² of the strategy C for n steps (jax_privacy's `sensitivity_squared`; Lemma 5.3
    /// of arXiv:2404.16706): the largest squared column norm, that of column 0,
    ///
    ///     1 + Σ_{j,k} ω_j ω_k Σ_{t<n−1} (θ_j θ_k)^t,   or 1 + Σ ω_j ω_k / (1 − θ_j θ_k) for n = inf.
    ///
    /// +inf when some θ_j > 1. The sums are the doubling sums of `PairSums` (a few ulps for any
    /// θ; jax_privacy switches to a Taylor series near 1). n ≥ 1 (integer or inf). Time
    /// O(d² log n); the gradient comes with it.
    public func sensitivitySquared(_ n: Double) throws -> BLTValue {
        try checkSteps(n, "n", allowInfinity: true, minimum: 1)
        let d = count
        if bufDecay.contains(where: { $0 > 1 }) { return BLTValue(.infinity, d) }
        var out = BLTValue(0, d)
        var sum = CompensatedSum()
        sum.add(1)
        for j in 0..<d {
            for k in j..<d {
                let (wj, wk) = (outputScale[j], outputScale[k])
                let mult = j == k ? 1.0 : 2.0
                let a: Dual
                if n == .infinity {
                    let (uj, uk) = (1 - bufDecay[j], 1 - bufDecay[k])
                    let u = uj + uk - uj * uk
                    a = u > 0 ? Dual(1 / u, bufDecay[k] / (u * u), bufDecay[j] / (u * u)) : Dual(.infinity)
                } else {
                    a = PairSums.over(n - 1, Ratio(bufDecay[j], direction: 0), Ratio(bufDecay[k], direction: 1)).a
                }
                sum.add(mult * wj * wk * a.v)
                out.outputScale[j] += mult * wk * a.v
                out.outputScale[k] += mult * wj * a.v
                out.bufDecay[j] += mult * wj * wk * a.a
                out.bufDecay[k] += mult * wj * wk * a.b
            }
        }
        out.value = sum.value
        return out
    }

    /// The squared error of step n − 1 for this BLT as the noising matrix C⁻¹ on the prefix-sum
    /// workload, which is also the largest over steps 0 … n − 1 (jax_privacy's `max_error`; its
    /// `iteration_error(i)` is `maxError(i + 1)`; Lemma 5.4 of arXiv:2404.16706):
    ///
    ///     E(n) = Σ_{t<n} b_t²,   b_t = 1 + Σ_j ω_j G_t(θ_j),   G_t(θ) = Σ_{s<t} θ^s.
    ///
    /// Formula used: with a_j = ω_j / (1 − θ_j), buffers with n (1 − θ_j) ≥ 1 are written as
    /// a_j (1 − θ_j^t) and the rest as ω_j G_t(θ_j), so b_t = β − Σ_far a_j θ_j^t + Σ_near ω_j G_t(θ_j)
    /// with β = 1 + Σ_far a_j, and E is a quadratic form in these weights over sums of
    /// products of the sequences (`PairSums`, a few ulps each, also at θ = 1). β is summed in
    /// double-double: for a noising BLT it is the tiny limit value b_∞ = 1 / c(1), and the form
    /// then adds terms of one sign. jax_privacy expands n (1 + 2 Σ Γ_j + Σ Γ_jk) with Taylor
    /// branches near θ = 1 (accurate to 1e-5–1e-9) and computes 3 n³ in int64, which overflows
    /// for n ≥ 1.46e6. n ≥ 0 (integer-valued). Time O(d² log n); the gradient comes with it.
    public func maxError(_ n: Double) throws -> BLTValue {
        try checkSteps(n, "n")
        return errorSum(n, weighted: false)
    }

    /// The mean over steps 0 … n − 1 of the per-query errors e_t = Σ_{s≤t} b_s² of this noising
    /// BLT (the 'mean' error of `LossFn.build_min_sep`): (1/n) Σ_{t<n} (n − t) b_t², the same
    /// quadratic form as `maxError` over sums weighted by n − t (also by doubling, a few ulps).
    /// jax_privacy materializes the n coefficients. n ≥ 1. Time O(d² log n).
    public func meanError(_ n: Double) throws -> BLTValue {
        try checkSteps(n, "n", minimum: 1)
        var out = errorSum(n, weighted: true)
        out.value /= n
        for j in 0..<count { out.bufDecay[j] /= n; out.outputScale[j] /= n }
        return out
    }

    /// Σ_{t<n} w_t b_t² with w_t = 1, or n − t when `weighted` (see `maxError`).
    func errorSum(_ n: Double, weighted: Bool) -> BLTValue {
        let d = count
        var out = BLTValue(0, d)
        if n == 0 { return out }
        // Components: the constant (index 0) and one per buffer; far ones are exponentials.
        var far = [Bool](repeating: false, count: d + 1)
        var weight = [Double](repeating: 0, count: d + 1)
        var beta = CompensatedSum()
        beta.add(1)
        far[0] = true
        for j in 0..<d {
            let (t, w) = (bufDecay[j], outputScale[j])
            if (1 - t) * n >= 1 {
                far[j + 1] = true
                weight[j + 1] = -BufferedToeplitz.addRatio(w, t, to: &beta)
            } else {
                weight[j + 1] = w
            }
        }
        weight[0] = beta.value
        var dw = [Double](repeating: 0, count: d + 1)
        var sum = CompensatedSum()
        for c in 0...d {
            for e in c...d {
                let x = Ratio(c == 0 ? 1 : bufDecay[c - 1], direction: c == 0 ? -1 : 0)
                let y = Ratio(e == 0 ? 1 : bufDecay[e - 1], direction: e == 0 ? -1 : 1)
                let p = PairSums.over(n, x, y)
                let k: Dual
                switch (far[c], far[e]) {
                case (true, true): k = weighted ? p.aw : p.a
                case (true, false): k = weighted ? p.uw : p.u
                case (false, true): k = weighted ? p.vw : p.v
                case (false, false): k = weighted ? p.sw : p.s
                }
                let mult = c == e ? 1.0 : 2.0
                sum.add(mult * weight[c] * weight[e] * k.v)
                dw[c] += mult * weight[e] * k.v
                dw[e] += mult * weight[c] * k.v
                if c > 0 { out.bufDecay[c - 1] += mult * weight[c] * weight[e] * k.a }
                if e > 0 { out.bufDecay[e - 1] += mult * weight[c] * weight[e] * k.b }
            }
        }
        out.value = sum.value
        for j in 0..<d {
            if far[j + 1] {
                // a_j = ω_j / u_j enters β (+) and the weight (−).
                let u = 1 - bufDecay[j]
                let da = dw[0] - dw[j + 1]
                out.outputScale[j] = da / u
                out.bufDecay[j] += da * outputScale[j] / (u * u)
            } else {
                out.outputScale[j] = dw[j + 1]
            }
        }
        return out
    }

    /// lim_{n→∞} E(n) / n = b_∞² with b_∞ = 1 + Σ_j ω_j / (1 − θ_j) summed in double-double
    /// (jax_privacy's `limit_max_error`, which expands the square, cancels catastrophically for
    /// noising BLTs: 2.5e-3 relative error, or exactly 0 for a true 6e-24). O(d).
    public func limitMaxError() -> BLTValue {
        let d = count
        var out = BLTValue(0, d)
        var b = CompensatedSum()
        b.add(1)
        for j in 0..<d { BufferedToeplitz.addRatio(outputScale[j], bufDecay[j], to: &b) }
        let beta = b.value
        out.value = beta * beta
        for j in 0..<d {
            let u = 1 - bufDecay[j]
            out.outputScale[j] = 2 * beta / u
            out.bufDecay[j] = 2 * beta * outputScale[j] / (u * u)
        }
        return out
    }

    /// max error × sensitivity² of the strategy C for n steps (jax_privacy's `max_loss`):
    /// `sensitivitySquared(n) · inverse().maxError(n)`; +inf unless every ω_j > 0. The gradient
    /// passes through the inverse by implicit differentiation of the secular equation. n ≥ 1.
    /// Time O(d² log n).
    public func maxLoss(_ n: Double) throws -> BLTValue {
        try checkSteps(n, "n", minimum: 1)
        let d = count
        if outputScale.contains(where: { !($0 > 0) }) { return BLTValue(.infinity, d) }
        let sens = try sensitivitySquared(n)
        let inv = try inverse(skipChecks: true)
        let err = try inv.maxError(n)
        var out = BLTValue(sens.value * err.value, d)
        let back = try inverseGradient(inv, err)
        for j in 0..<d {
            out.bufDecay[j] = sens.bufDecay[j] * err.value + sens.value * back.bufDecay[j]
            out.outputScale[j] = sens.outputScale[j] * err.value + sens.value * back.outputScale[j]
        }
        return out
    }

    /// lim_{n→∞} max_loss / n (jax_privacy's `limit_max_loss`), computed as
    /// sensitivity²(∞) / c(1)² with c(1) = 1 + Σ_j ω_j / (1 − θ_j): the noising BLT's limit
    /// value is exactly 1 / c(1), whose terms have one sign, so no inverse is formed and nothing
    /// cancels. +inf unless every ω_j > 0 and θ_j < 1. O(d²).
    public func limitMaxLoss() throws -> BLTValue {
        let d = count
        if outputScale.contains(where: { !($0 > 0) }) || bufDecay.contains(where: { !($0 < 1) }) {
            return BLTValue(.infinity, d)
        }
        let sens = try sensitivitySquared(.infinity)
        var c = CompensatedSum()
        c.add(1)
        for j in 0..<d { BufferedToeplitz.addRatio(outputScale[j], bufDecay[j], to: &c) }
        let cv = c.value
        var out = BLTValue(sens.value / (cv * cv), d)
        for j in 0..<d {
            let u = 1 - bufDecay[j]
            let dc = -2 * sens.value / (cv * cv * cv)
            out.outputScale[j] = sens.outputScale[j] / (cv * cv) + dc / u
            out.bufDecay[j] = sens.bufDecay[j] / (cv * cv) + dc * outputScale[j] / (u * u)
        }
        return out
    }

    /// Pulls a gradient with respect to the inverse's (θ̂, ω̂) back to this BLT's (θ, ω) by
    /// implicit differentiation of f(θ̂_i) = 1 + Σ_j ω_j / (θ̂_i − θ_j) = 0 and ω̂_i = 1 / f'(θ̂_i).
    /// Needs simple roots (no zero ω_j, distinct θ_j). O(d²).
    func inverseGradient(_ inv: BufferedToeplitz, _ g: BLTValue) throws -> BLTValue {
        let d = count
        var out = BLTValue(g.value, d)
        for i in 0..<inv.count {
            let l = inv.bufDecay[i], wh = inv.outputScale[i]
            guard wh != 0 else { continue }
            // f'' and the partial derivatives of f and f' at λ = θ̂_i.
            var f2 = 0.0
            for j in 0..<d {
                let r = 1 / (l - bufDecay[j])
                f2 += 2 * outputScale[j] * r * r * r
            }
            // dθ̂ = −(∂f) ω̂;  dω̂ = −ω̂² (f'' dθ̂ + ∂f').
            let gl = g.bufDecay[i] - g.outputScale[i] * wh * wh * f2   // total weight on dθ̂
            for j in 0..<d {
                let r = 1 / (l - bufDecay[j])
                let dfdw = r, dfdt = outputScale[j] * r * r
                let dfpdw = -r * r, dfpdt = -2 * outputScale[j] * r * r * r
                out.outputScale[j] += gl * (-dfdw * wh) - g.outputScale[i] * wh * wh * dfpdw
                out.bufDecay[j] += gl * (-dfdt * wh) - g.outputScale[i] * wh * wh * dfpdt
            }
        }
        return out
    }

    /// a (1 + r + … + r^{num−1}), or a / (1 − r) for num = inf (jax_privacy's `geometric_sum`),
    /// with the derivative with respect to r; the sum is exact to a few ulps for every r (no
    /// series switch). num ≥ 0 (integer or inf). O(log num).
    public static func geometricSum(_ a: Double, _ r: Double, _ num: Double) throws -> (value: Double, dr: Double) {
        try checkSteps(num, "num", allowInfinity: true)
        if num == .infinity { return (a / (1 - r), a / ((1 - r) * (1 - r))) }
        let (g, dg) = geometricSeries(r, num)
        return (a * g, a * dg)
    }
}

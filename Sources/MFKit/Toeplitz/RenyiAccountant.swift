import Glibc

/// Rényi-DP accounting of the Poisson-subsampled Gaussian mechanism, as dp_accounting's
/// `RdpAccountant` (default orders, add-or-remove-one neighbours) computes it, and the noise
/// calibration of `calibrate_dp_mechanism`, for the amplified BandMF helper.
///
/// RDP of order α for sampling rate q and noise multiplier σ (Mironov, Talwar, Zhang 2019):
/// log A_α / (α − 1), with, for integer α, A_α = Σ_{i ≤ α} C(α, i) q^i (1 − q)^{α−i} e^{(i² − i)/(2σ²)}
/// and, for fractional α, the two-sided series of their Section 3.3 (terms summed in log space
/// until both sides decrease and fall 30 nats below the total; 1000 terms at most, else +∞).
/// k compositions add k times the RDP; ε(δ) = min_α r_α + log1p(−1/α) − log(δ α)/(α − 1)
/// (Proposition 12 of arXiv:2004.00010; α > 1.01; 0 where δ² + expm1(−r) > 0).
/// Cost: one ε is about 6,000 terms of lgamma / log erfc (microseconds to milliseconds).
enum RenyiAccountant {
    /// dp_accounting's DEFAULT_RDP_ORDERS: 1.1, 1.2, …, 10.9, 11, …, 63, 128, 256, 512, 1024.
    static let orders: [Double] = (1..<100).map { 1 + Double($0) / 10 } + (11..<64).map(Double.init) + [128, 256, 512, 1024]

    /// ε at δ after `count` compositions of the Poisson-subsampled Gaussian (q, σ).
    static func epsilon(q: Double, sigma: Double, count: Int, delta: Double) -> Double {
        if delta == 0 {
            return (q == 0 || count == 0) ? 0 : .infinity
        }
        var best = Double.infinity
        for a in orders {
            let r = Double(count) * rdp(q: q, sigma: sigma, alpha: a)
            var eps: Double
            if r < 0 {
                eps = 0
            } else if delta * delta + expm1(-r) > 0 {
                eps = 0
            } else if a > 1.01 {
                eps = r + log1p(-1 / a) - log(delta * a) / (a - 1)
            } else {
                eps = .infinity
            }
            if eps.isNaN { eps = .infinity }
            best = Swift.min(best, eps)
        }
        return Swift.max(0, best)
    }

    /// The RDP of order α of one Poisson-subsampled Gaussian step.
    static func rdp(q: Double, sigma: Double, alpha: Double) -> Double {
        if q == 0 { return 0 }
        if alpha.isInfinite || sigma == 0 { return .infinity }
        if q == 1 { return alpha / (2 * sigma * sigma) }
        let logA = alpha.rounded() == alpha ? logAInteger(q, sigma, Int(alpha)) : logAFraction(q, sigma, alpha)
        return logA / (alpha - 1)
    }

    static func logAInteger(_ q: Double, _ sigma: Double, _ alpha: Int) -> Double {
        var logA = -Double.infinity
        let logq = log(q), log1mq = log1p(-q)
        for i in 0...alpha {
            let x = Double(i)
            let term = logBinomial(Double(alpha), x) + x * logq + Double(alpha - i) * log1mq + (x * x - x) / (2 * sigma * sigma)
            logA = logAdd(logA, term)
        }
        return logA
    }

    static func logAFraction(_ q: Double, _ sigma: Double, _ alpha: Double) -> Double {
        var logA0 = -Double.infinity, logA1 = -Double.infinity
        let z0 = sigma * sigma * log(1 / q - 1) + 0.5
        let logq = log(q), log1mq = log1p(-q), scale = 2.0.squareRoot() * sigma, half = log(0.5)
        var last0 = -Double.infinity, last1 = -Double.infinity
        for i in 0..<1000 {
            let x = Double(i), j = alpha - x
            let coef = logBinomial(alpha, x)
            let s0 = coef + x * logq + j * log1mq + (x * x - x) / (2 * sigma * sigma) + half + logErfc((x - z0) / scale)
            let s1 = coef + j * logq + x * log1mq + (j * j - j) / (2 * sigma * sigma) + half + logErfc((z0 - j) / scale)
            logA0 = logAdd(logA0, s0)
            logA1 = logAdd(logA1, s1)
            let total = logAdd(logA0, logA1)
            if s0 < last0 && s1 < last1 && Swift.max(s0, s1) < total - 30 { return total }
            last0 = s0
            last1 = s1
        }
        return .infinity
    }

    /// log(e^x + e^y).
    static func logAdd(_ x: Double, _ y: Double) -> Double {
        let (a, b) = (Swift.min(x, y), Swift.max(x, y))
        if a == -.infinity { return b }
        return log1p(exp(a - b)) + b
    }

    /// log |C(n, k)| by log-gamma (thread-safe lgamma_r).
    static func logBinomial(_ n: Double, _ k: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(n + 1, &sign) - lgamma_r(k + 1, &sign) - lgamma_r(n - k + 1, &sign)
    }

    /// log erfc(x), accurate in the far tail: erfc below 25, past it the continued fraction
    /// erfc(x) = e^{−x²} / √π · 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + …)))).
    static func logErfc(_ x: Double) -> Double {
        if x < 25 { return log(erfc(x)) }
        var f = x
        for k in stride(from: 60, through: 1, by: -1) { f = x + Double(k) / 2 / f }
        return -x * x - 0.5 * log(Double.pi) - log(f)
    }

    /// The noise multiplier σ in [lower, upper] at which k compositions of the subsampled
    /// Gaussian reach exactly ε at δ, as dp_accounting's `calibrate_dp_mechanism` finds it:
    /// Brent's method on ε(σ) − ε with tolerance 1e-6, then the nearest point whose ε does not
    /// exceed the target (a bisection if needed). Throws when the interval does not bracket it.
    static func calibrate(q: Double, count: Int, epsilon target: Double, delta: Double,
                          lower: Double, upper: Double, tolerance: Double = 1e-6) throws -> Double {
        try require(target >= 0, "target_epsilon must be nonnegative. Found \(target).")
        try require(delta >= 0 && delta <= 1, "target_delta must be in range [0, 1]. Found \(delta).")
        try require(q >= 0 && q <= 1, "Sampling rate must be in [0, 1]. Found \(q).")
        func gap(_ sigma: Double) -> Double { epsilon(q: q, sigma: sigma, count: count, delta: delta) - target }
        let (fa, fb) = (gap(lower), gap(upper))
        guard !(fa * fb > 0) else {
            throw MFError.invalidArgument(
                "`brentq` raised ValueError. This often means the supplied bracket interval ExplicitBracketInterval(endpoint_1=\(lower), endpoint_2=\(upper)) did not bracket a solution.")
        }
        var root: Double? = brent(gap, lower, upper, fa, fb, xtol: tolerance)
        if let r = root, gap(r) > 0 {
            if gap(r + tolerance) < 0 { root = r + tolerance }
            else if gap(r - tolerance) < 0 { root = r - tolerance }
            else { root = nil }
        }
        return root ?? bisect(gap, lower, upper, fa, fb, tolerance)
    }

    /// Brent's root finder (inverse quadratic interpolation, secant, bisection), stopping when the
    /// bracket is below (xtol + 4 ε |x|) / 2 around the estimate; nil after 100 iterations.
    static func brent(_ f: (Double) -> Double, _ a: Double, _ b: Double, _ fa: Double, _ fb: Double,
                      xtol: Double, rtol: Double = 4 * .ulpOfOne, maxIterations: Int = 100) -> Double? {
        var (xpre, xcur, fpre, fcur) = (a, b, fa, fb)
        if fpre == 0 { return xpre }
        if fcur == 0 { return xcur }
        var (xblk, fblk, spre, scur) = (0.0, 0.0, 0.0, 0.0)
        for _ in 0..<maxIterations {
            if fpre != 0 && fcur != 0 && (fpre < 0) != (fcur < 0) {
                (xblk, fblk) = (xpre, fpre)
                spre = xcur - xpre
                scur = spre
            }
            if abs(fblk) < abs(fcur) {
                (xpre, xcur, xblk) = (xcur, xblk, xcur)
                (fpre, fcur, fblk) = (fcur, fblk, fcur)
            }
            let tol = (xtol + rtol * abs(xcur)) / 2, half = (xblk - xcur) / 2
            if fcur == 0 || abs(half) < tol { return xcur }
            var step = half
            if abs(spre) > tol && abs(fcur) < abs(fpre) {
                var trial: Double
                if xpre == xblk {   // secant
                    trial = -fcur * (xcur - xpre) / (fcur - fpre)
                } else {            // inverse quadratic interpolation
                    let dpre = (fpre - fcur) / (xpre - xcur), dblk = (fblk - fcur) / (xblk - xcur)
                    trial = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
                }
                if 2 * abs(trial) < Swift.min(abs(spre), 3 * abs(half) - tol) {
                    spre = scur
                    step = trial
                } else {
                    spre = half
                }
            } else {
                spre = half
            }
            scur = step
            (xpre, fpre) = (xcur, fcur)
            xcur += abs(scur) > tol ? scur : (half > 0 ? tol : -tol)
            fcur = f(xcur)
        }
        return nil
    }

    /// Bisection keeping a bracket, returning an end with a non-positive value within `tol` of
    /// the root.
    static func bisect(_ f: (Double) -> Double, _ lower: Double, _ upper: Double, _ fl: Double, _ fu: Double,
                       _ tol: Double) -> Double {
        var (lo, hi, flo, fhi) = (lower, upper, fl, fu)
        while true {
            if flo == 0 { return lo }
            if fhi == 0 { return hi }
            if hi - lo <= tol { return flo < 0 ? lo : hi }
            let mid = (lo + hi) / 2, fm = f(mid)
            if fm == 0 { return mid }
            if flo * fm < 0 { (hi, fhi) = (mid, fm) } else { (lo, flo) = (mid, fm) }
        }
    }
}

import Glibc

extension BufferedToeplitz {
    /// C⁻¹ as a BLT (jax_privacy's `inverse`). With c(x) = 1 + Σ_j ω_j x / (1 − θ_j x), the
    /// inverse has 1 / c(x) = 1 + Σ_i ω̂_i x / (1 − θ̂_i x), where θ̂ are the roots of the secular
    /// equation f(λ) = 1 + Σ_j ω_j / (λ − θ_j) = 0 (the eigenvalues of diag(θ) − ω 1ᵀ) and
    /// ω̂_i = 1 / f'(θ̂_i) = −1 / Σ_j ω_j / (θ̂_i − θ_j)².
    ///
    /// When every ω_j has one sign (every strategy and noising BLT of the optimizer), the roots
    /// interlace the θ_j and each is found by bisection to the last bit on λ = θ_k + τ, with θ_k
    /// the pole nearer the root and τ the unknown (Gu–Eisenstat / LAPACK dlaed4's choice of
    /// origin), so θ̂_i − θ_j is accurate to a few ulps even when a root lies next to a pole; ω̂
    /// is then a sum of terms of one sign. jax_privacy diagonalizes with an eigensolver and
    /// inverts the eigenvector matrix, which loses up to 6 digits (e.g. for
    /// `from_rational_approx_to_sqrt_x(6)`). Mixed signs: the roots of the degree-d polynomial by
    /// Aberth–Ehrlich iteration; complex roots are an error, as jax_privacy's check of the
    /// diagonalization makes them. A zero ω_j (or equal θ's, merged) leaves θ_j as a root with
    /// ω̂ = 0 instead of failing.
    ///
    /// Unless `skipChecks`, buf_decay values closer than 1e-9 are refused (as jax_privacy does).
    /// Time O(d² · 64) for bisection, O(d² · iterations) otherwise; memory O(d).
    public func inverse(skipChecks: Bool = false) throws -> BufferedToeplitz {
        if !skipChecks && count > 1 {
            let gap = BufferedToeplitz.minBufDecayGap(bufDecay)
            guard gap >= 1e-9 else {
                throw MFError.invalidArgument(
                    "The input BLT has buf_decay values that are too close to each other. Expected gap >= 1e-9, found \(gap) for buf_decay=\(bufDecay).")
            }
        }
        guard bufDecay.allSatisfy({ $0.isFinite }), outputScale.allSatisfy({ $0.isFinite }) else {
            throw MFError.numerical("Error computing inverse parameters: buf_decay and output_scale must be finite, got buf_decay=\(bufDecay), output_scale=\(outputScale)")
        }
        // Poles: distinct θ with nonzero total ω; every other θ stays a root with ω̂ = 0.
        var poles: [(theta: Double, omega: Double)] = []
        var theta: [Double] = [], omega: [Double] = []
        for (t, w) in zip(bufDecay, outputScale) {
            if let k = poles.firstIndex(where: { $0.theta == t }) {
                poles[k].omega += w
                theta.append(t); omega.append(0)
            } else {
                poles.append((t, w))
            }
        }
        for p in poles where p.omega == 0 { theta.append(p.theta); omega.append(0) }
        poles.removeAll { $0.omega == 0 }
        let roots: [(Double, Double)]
        if poles.allSatisfy({ $0.omega > 0 }) {
            roots = BufferedToeplitz.secularRoots(poles)
        } else if poles.allSatisfy({ $0.omega < 0 }) {
            // λ = −μ turns the poles −θ_j with weights −ω_j into the positive case.
            roots = BufferedToeplitz.secularRoots(poles.map { (-$0.theta, -$0.omega) }).map { (-$0.0, -$0.1) }
        } else {
            roots = try BufferedToeplitz.polynomialRoots(poles)
        }
        for (l, w) in roots { theta.append(l); omega.append(w) }
        return try BufferedToeplitz.build(bufDecay: theta, outputScale: omega)
    }

    /// The roots λ and ω̂ = −1 / Σ_j ω_j / (λ − θ_j)² of 1 + Σ_j ω_j / (λ − θ_j) for ω_j > 0 (the
    /// ω̂ returned are for these positive weights; the caller maps the sign back).
    static func secularRoots(_ poles: [(theta: Double, omega: Double)]) -> [(Double, Double)] {
        let sorted = poles.sorted { $0.theta > $1.theta }
        let theta = sorted.map(\.theta), omega = sorted.map(\.omega)
        let k = theta.count
        var out: [(Double, Double)] = []
        var total = CompensatedSum()
        for w in omega { total.add(w) }
        for i in 0..<k {
            // The root right below pole i: in (θ_{i+1}, θ_i), or (θ_{k−1} − Σω, θ_{k−1}) for the last.
            var origin = i, lo: Double, hi: Double   // τ bracket: g(lo) > 0 > g(hi)
            if i + 1 < k {
                let mid = theta[i + 1] + (theta[i] - theta[i + 1]) / 2
                if secular(theta, omega, at: i, mid - theta[i]) >= 0 {
                    (lo, hi) = (mid - theta[i], 0)
                } else {
                    origin = i + 1
                    (lo, hi) = (0, mid - theta[i + 1])
                }
            } else {
                (lo, hi) = (-total.value, 0)
            }
            let tau = bisect(lo, hi) { secular(theta, omega, at: origin, $0) }
            var slope = CompensatedSum()
            for j in 0..<k {
                let diff = (theta[origin] - theta[j]) + tau
                slope.add(omega[j] / (diff * diff))
            }
            out.append((theta[origin] + tau, -1 / slope.value))
        }
        return out
    }

    /// g(τ) = 1 + Σ_j ω_j / ((θ_o − θ_j) + τ), f at λ = θ_o + τ with the difference to the
    /// origin's own pole exact.
    @inline(__always)
    static func secular(_ theta: [Double], _ omega: [Double], at o: Int, _ tau: Double) -> Double {
        var s = CompensatedSum()
        s.add(1)
        for j in 0..<theta.count { s.add(omega[j] / ((theta[o] - theta[j]) + tau)) }
        return s.value
    }

    /// The zero of a decreasing g on the bracket [lo, hi] (g(lo) ≥ 0 ≥ g(hi); an end at 0 is a
    /// pole), to the last representable bit: bisection in the exponent while the bracket spans
    /// orders of magnitude, then in the value. At most ~1200 evaluations, ~70 in practice.
    static func bisect(_ lo0: Double, _ hi0: Double, _ g: (Double) -> Double) -> Double {
        var (lo, hi) = (lo0, hi0)
        for _ in 0..<1200 {
            var mid: Double
            let (a, b) = (abs(lo), abs(hi))
            if Swift.max(a, b) > 4 * Swift.min(a, b) {   // both ends on one side of 0
                // Geometric mean of the magnitudes (a zero end counts as the least magnitude).
                let small = Swift.max(Swift.min(a, b), Double.leastNonzeroMagnitude)
                mid = (small.squareRoot() * Swift.max(a, b).squareRoot()) * (lo + hi >= 0 ? 1 : -1)
            } else {
                mid = lo + (hi - lo) / 2
            }
            if mid == lo || mid == hi || !(mid > Swift.min(lo, hi) && mid < Swift.max(lo, hi)) { break }
            let v = g(mid)
            if v == 0 { return mid }
            if v > 0 { lo = mid } else { hi = mid }
        }
        // The end nearer the zero crossing, never the pole itself.
        if hi == 0 { return lo }
        if lo == 0 { return hi }
        return abs(g(lo)) <= abs(g(hi)) ? lo : hi
    }

    /// Roots of 1 + Σ ω_j / (λ − θ_j) for weights of mixed signs: Aberth–Ehrlich iteration on
    /// p(λ) = Π (λ − θ_j) f(λ) in complex arithmetic, then a real check. O(d² · iterations).
    static func polynomialRoots(_ poles: [(theta: Double, omega: Double)]) throws -> [(Double, Double)] {
        let k = poles.count
        let theta = poles.map(\.theta), omega = poles.map(\.omega)
        let scale = theta.map { abs($0) }.max()! + omega.map { abs($0) }.reduce(0, +) + 1e-300
        let center = theta.reduce(0, +) / Double(k)
        var z = (0..<k).map { i -> Complex in
            let angle = 2 * Double.pi * (Double(i) + 0.25) / Double(k) + 0.4
            return Complex(center + scale * cos(angle), scale * sin(angle))
        }
        // p'/p = f'/f + Σ 1 / (λ − θ_j), f = 1 + Σ ω_j / (λ − θ_j).
        func newton(_ l: Complex) -> Complex {
            var f = Complex(1, 0), df = Complex(0, 0), s = Complex(0, 0)
            for j in 0..<k {
                let r = Complex(1, 0) / (l - Complex(theta[j], 0))
                f = f + Complex(omega[j], 0) * r
                df = df - Complex(omega[j], 0) * r * r
                s = s + r
            }
            if f.magnitude == 0 { return Complex(0, 0) }
            return Complex(1, 0) / (df / f + s)
        }
        for _ in 0..<500 {
            var moved = 0.0
            for i in 0..<k {
                let n = newton(z[i])
                var rep = Complex(0, 0)
                for j in 0..<k where j != i { rep = rep + Complex(1, 0) / (z[i] - z[j]) }
                let w = n / (Complex(1, 0) - n * rep)
                if w.re.isFinite && w.im.isFinite { z[i] = z[i] - w }
                moved = Swift.max(moved, w.magnitude / Swift.max(z[i].magnitude, 1e-300))
            }
            if moved < 1e-15 { break }
        }
        return try z.map { l in
            guard abs(l.im) <= 1e-9 * Swift.max(1, l.magnitude), l.re.isFinite else {
                throw MFError.numerical(
                    "Error computing inverse parameters: the inverse of BLT(buf_decay=\(theta), output_scale=\(omega)) has complex buf_decay \(l.re) + \(l.im)i, so it is not a BLT with real parameters")
            }
            var slope = CompensatedSum()
            for j in 0..<k { slope.add(omega[j] / ((l.re - theta[j]) * (l.re - theta[j]))) }
            return (l.re, -1 / slope.value)
        }
    }
}

/// A complex number, for the root finder only.
struct Complex {
    var re: Double, im: Double
    init(_ re: Double, _ im: Double) { (self.re, self.im) = (re, im) }
    static func + (a: Complex, b: Complex) -> Complex { Complex(a.re + b.re, a.im + b.im) }
    static func - (a: Complex, b: Complex) -> Complex { Complex(a.re - b.re, a.im - b.im) }
    static func * (a: Complex, b: Complex) -> Complex { Complex(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re) }
    static func / (a: Complex, b: Complex) -> Complex {
        let s = Swift.max(b.re.magnitude, b.im.magnitude)
        let (br, bi) = (b.re / s, b.im / s)
        let den = br * br + bi * bi
        let scale = den * s
        return Complex((a.re * br + a.im * bi) / scale, (a.im * br - a.re * bi) / scale)
    }
    var magnitude: Double { hypot(re, im) }
}

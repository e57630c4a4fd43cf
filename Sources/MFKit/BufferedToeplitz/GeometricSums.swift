import Glibc

/// The ratio x of a geometric sequence x^t (a buf_decay θ, or a product θ_j θ_k), with what
/// accurate sums need: x, u = 1 − x and log x, each with its derivatives along a pair's two
/// directions. u is kept apart from x because 1 − θ_j θ_k = u_j + u_k − u_j u_k has no
/// cancellation near 1, where computing 1 − x from a rounded product would.
struct Ratio {
    var x: Dual
    var u: Dual
    /// log x for x > 0 (log1p(−u) when x ≥ 1/2, accurate near 1); nil for x ≤ 0.
    var log: Dual?

    /// θ as the first (`direction` 0), second (1) or neither (−1) variable of a pair.
    init(_ theta: Double, direction: Int) {
        let dx = direction == 0 ? 1.0 : 0, dy = direction == 1 ? 1.0 : 0
        x = Dual(theta, dx, dy)
        u = Dual(1 - theta, -dx, -dy)
        if theta >= 0.5 {
            log = Dual.log1p(-u)
        } else if theta > 0 {
            log = Dual.log(x)
        } else {
            log = nil
        }
    }

    init(x: Dual, u: Dual, log: Dual?) { (self.x, self.u, self.log) = (x, u, log) }

    /// The ratio x y.
    static func * (r: Ratio, s: Ratio) -> Ratio {
        var log: Dual? = nil
        if let a = r.log, let b = s.log { log = a + b }
        return Ratio(x: r.x * s.x, u: r.u + s.u - r.u * s.u, log: log)
    }

    /// The ratio x^s (s ≥ 1 an integer): 1 − x^s as −expm1(s log x), accurate near 1.
    func raised(_ s: Double) -> Ratio {
        if let l = log {
            let ls = s * l
            let e = Dual.exp(ls)
            let em1 = Glibc.expm1(ls.v)
            return Ratio(x: e, u: Dual(-em1, -e.v * ls.a, -e.v * ls.b), log: ls)
        }
        let p = power(s)
        return Ratio(x: p, u: Dual(1) - p, log: nil)
    }

    /// x^m for an integer-valued m ≥ 0: exp(m log x) (relative error a few ulps whatever m),
    /// or pow for x ≤ 0.
    func power(_ m: Double) -> Dual {
        if m == 0 { return Dual(1) }
        if let l = log { return Dual.exp(m * l) }
        if x.v == 0 { return m == 1 ? x : Dual(0) }
        let p = Glibc.pow(x.v, m), d = m * p / x.v
        return Dual(p, d * x.a, d * x.b)
    }
}

/// Sums over a block of m consecutive steps t = 0, …, m − 1 of two geometric sequences x^t,
/// y^t and their partial sums G_t(x) = Σ_{s<t} x^s:
///
///     gx = G_m(x),  a = Σ x^t y^t,  u = Σ x^t G_t(y),  v = Σ y^t G_t(x),
///     wx = Σ G_t(x),  s = Σ G_t(x) G_t(y),
///
/// and the same sums weighted by m − t (the sums of their prefix sums, for mean errors):
/// gxw = Σ (m − t) x^t, aw, uw, vw, wxw, sw likewise,
///
/// built by doubling: the sums over a block of m₁ + m₂ steps follow from the two blocks' sums
/// and x^{m₁}, y^{m₁}. For x, y ≥ 0 every combination adds and multiplies nonnegative numbers
/// (no subtraction anywhere), and x^m is computed afresh as exp(m log x) for every block, so
/// each sum has a relative error of O(log m) ulps whatever x is: near 1, at 1 and beyond 1,
/// where closed forms such as (1 − x^m)/(1 − x) cancel or divide by zero. Derivatives come
/// from the same arithmetic on Duals. Time O(log m).
struct PairSums {
    var m: Double
    var p: Dual        // x^m
    var q: Dual        // y^m
    var gx: Dual, gy: Dual
    var a: Dual
    var u: Dual, v: Dual
    var wx: Dual, wy: Dual
    var s: Dual
    var gxw = Dual(0), gyw = Dual(0), aw = Dual(0), uw = Dual(0), vw = Dual(0), wxw = Dual(0), wyw = Dual(0), sw = Dual(0)

    /// The empty block (m = 0).
    static let empty = PairSums(m: 0, p: Dual(1), q: Dual(1), gx: Dual(0), gy: Dual(0), a: Dual(0), u: Dual(0),
                                v: Dual(0), wx: Dual(0), wy: Dual(0), s: Dual(0))

    /// The block of one step (t = 0, weight 1).
    static func one(_ x: Ratio, _ y: Ratio) -> PairSums {
        var b = PairSums(m: 1, p: x.x, q: y.x, gx: Dual(1), gy: Dual(1), a: Dual(1), u: Dual(0), v: Dual(0),
                         wx: Dual(0), wy: Dual(0), s: Dual(0))
        (b.gxw, b.gyw, b.aw) = (Dual(1), Dual(1), Dual(1))
        return b
    }

    /// The first block followed by the second; x^{m₁+m₂}, y^{m₁+m₂} from the ratios.
    @inline(__always)
    static func join(_ b1: PairSums, _ b2: PairSums, _ x: Ratio, _ y: Ratio) -> PairSums {
        let m = b1.m + b2.m
        let (p1, q1) = (b1.p, b1.q)
        let m2 = Dual(b2.m), t2 = Dual(b2.m * (b2.m + 1) / 2)
        var out = PairSums(
            m: m, p: x.power(m), q: y.power(m),
            gx: b1.gx + p1 * b2.gx,
            gy: b1.gy + q1 * b2.gy,
            a: b1.a + p1 * q1 * b2.a,
            u: b1.u + p1 * (b1.gy * b2.gx + q1 * b2.u),
            v: b1.v + q1 * (b1.gx * b2.gy + p1 * b2.v),
            wx: b1.wx + m2 * b1.gx + p1 * b2.wx,
            wy: b1.wy + m2 * b1.gy + q1 * b2.wy,
            s: b1.s + m2 * b1.gx * b1.gy + b1.gx * q1 * b2.wy + b1.gy * p1 * b2.wx + p1 * q1 * b2.s)
        // Weighted by m − t: X'₁ + m₂ X₁ + Σ_{t<m₂} (m₂ − t) f_{m₁+t}.
        out.gxw = b1.gxw + m2 * b1.gx + p1 * b2.gxw
        out.gyw = b1.gyw + m2 * b1.gy + q1 * b2.gyw
        out.aw = b1.aw + m2 * b1.a + p1 * q1 * b2.aw
        out.uw = b1.uw + m2 * b1.u + p1 * (b1.gy * b2.gxw + q1 * b2.uw)
        out.vw = b1.vw + m2 * b1.v + q1 * (b1.gx * b2.gyw + p1 * b2.vw)
        out.wxw = b1.wxw + m2 * b1.wx + b1.gx * t2 + p1 * b2.wxw
        out.wyw = b1.wyw + m2 * b1.wy + b1.gy * t2 + q1 * b2.wyw
        out.sw = b1.sw + m2 * b1.s + b1.gx * b1.gy * t2 + b1.gx * q1 * b2.wyw + b1.gy * p1 * b2.wxw + p1 * q1 * b2.sw
        return out
    }

    /// The sums over steps 0 … n − 1 for an integer-valued n ≥ 0 (any size a Double holds).
    static func over(_ n: Double, _ x: Ratio, _ y: Ratio) -> PairSums {
        var block = PairSums.one(x, y)
        var total = PairSums.empty
        var rest = n
        while rest >= 1 {
            if fmod(rest, 2) == 1 { total = join(total, block, x, y) }
            rest = (rest / 2).rounded(.down)
            if rest >= 1 { block = join(block, block, x, y) }
        }
        return total
    }
}

/// Σ_{t<m} x^t (m an integer-valued Double ≥ 0) and its derivative with respect to x, to a few
/// ulps for any x (jax_privacy switches to a quadratic Taylor series near x = 1). O(log m).
func geometricSeries(_ x: Double, _ m: Double) -> (value: Double, derivative: Double) {
    let r = Ratio(x, direction: 0)
    let g = PairSums.over(m, r, Ratio(0, direction: -1)).gx
    return (g.v, g.a)
}

import Glibc

/// A number with its derivatives along two directions (forward-mode automatic
/// differentiation): the closed forms of BLT errors run on it to give their value and the exact
/// derivative of the computed formula together (`a` along the first pole of a pair, `b` along
/// the second). Arithmetic costs a few flops more than Double's.
struct Dual {
    var v: Double
    var a: Double
    var b: Double

    @inline(__always) init(_ v: Double, _ a: Double = 0, _ b: Double = 0) { (self.v, self.a, self.b) = (v, a, b) }

    @inline(__always) static func + (x: Dual, y: Dual) -> Dual { Dual(x.v + y.v, x.a + y.a, x.b + y.b) }
    @inline(__always) static func - (x: Dual, y: Dual) -> Dual { Dual(x.v - y.v, x.a - y.a, x.b - y.b) }
    @inline(__always) static prefix func - (x: Dual) -> Dual { Dual(-x.v, -x.a, -x.b) }
    @inline(__always) static func * (x: Dual, y: Dual) -> Dual {
        Dual(x.v * y.v, x.a * y.v + x.v * y.a, x.b * y.v + x.v * y.b)
    }
    @inline(__always) static func * (x: Double, y: Dual) -> Dual { Dual(x * y.v, x * y.a, x * y.b) }
    @inline(__always) static func / (x: Dual, y: Dual) -> Dual {
        let q = x.v / y.v
        return Dual(q, (x.a - q * y.a) / y.v, (x.b - q * y.b) / y.v)
    }
    @inline(__always) static func += (x: inout Dual, y: Dual) { x = x + y }

    /// exp(x).
    @inline(__always) static func exp(_ x: Dual) -> Dual {
        let e = Glibc.exp(x.v)
        return Dual(e, e * x.a, e * x.b)
    }
    /// log(1 + x).
    @inline(__always) static func log1p(_ x: Dual) -> Dual {
        let d = 1 + x.v
        return Dual(Glibc.log1p(x.v), x.a / d, x.b / d)
    }
    /// log(x).
    @inline(__always) static func log(_ x: Dual) -> Dual { Dual(Glibc.log(x.v), x.a / x.v, x.b / x.v) }
}

/// The error-free sum: s + e = a + b exactly (for double-double arithmetic).
@inline(__always)
func twoSum(_ a: Double, _ b: Double) -> (s: Double, e: Double) {
    let s = a + b
    let bb = s - a
    return (s, (a - (s - bb)) + (b - bb))
}

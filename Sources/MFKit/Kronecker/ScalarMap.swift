/// An elementwise function inlined into the fused row loops.
protocol ScalarMap { static func apply(_ x: Double) -> Double }
enum IdentityMap: ScalarMap { @inline(__always) static func apply(_ x: Double) -> Double { x } }
enum ReciprocalMap: ScalarMap { @inline(__always) static func apply(_ x: Double) -> Double { 1 / x } }
enum SquareMap: ScalarMap { @inline(__always) static func apply(_ x: Double) -> Double { x * x } }
enum SqrtMap: ScalarMap { @inline(__always) static func apply(_ x: Double) -> Double { x.squareRoot() } }

/// acc[j] += F(base + src[j]) for j < n; returns Σ_j F(base + src[j]) (four partial sums).
@inline(__always)
func mapAccumulate<F: ScalarMap>(_: F.Type, _ acc: UnsafeMutablePointer<Double>, _ src: UnsafePointer<Double>,
                                 _ base: Double, _ n: Int) -> Double {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, j = 0
    while j + 4 <= n {
        let a = F.apply(base + src[j]), b = F.apply(base + src[j + 1])
        let c = F.apply(base + src[j + 2]), d = F.apply(base + src[j + 3])
        acc[j] += a; acc[j + 1] += b; acc[j + 2] += c; acc[j + 3] += d
        s0 += a; s1 += b; s2 += c; s3 += d
        j += 4
    }
    while j < n { let a = F.apply(base + src[j]); acc[j] += a; s0 += a; j += 1 }
    return (s0 + s1) + (s2 + s3)
}

/// Σ_j F(base + src[j]) for j < n (four partial sums).
@inline(__always)
func mapSum<F: ScalarMap>(_: F.Type, _ src: UnsafePointer<Double>, _ base: Double, _ n: Int) -> Double {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, j = 0
    while j + 4 <= n {
        s0 += F.apply(base + src[j]); s1 += F.apply(base + src[j + 1])
        s2 += F.apply(base + src[j + 2]); s3 += F.apply(base + src[j + 3])
        j += 4
    }
    while j < n { s0 += F.apply(base + src[j]); j += 1 }
    return (s0 + s1) + (s2 + s3)
}

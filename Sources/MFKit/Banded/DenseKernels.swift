/// Small dense kernels for the error recursion: contiguous float64 vectors, SIMD with
/// independent accumulators (a plain loop would serialize on the reduction's latency).

/// Σ_i a[i] b[i]. Time O(n).
@inline(__always)
func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) -> Double {
    var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var i = 0
    while i + 8 <= n {
        s0 += ra.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self)
            * rb.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self)
        s1 += ra.loadUnaligned(fromByteOffset: i * 8 + 32, as: SIMD4<Double>.self)
            * rb.loadUnaligned(fromByteOffset: i * 8 + 32, as: SIMD4<Double>.self)
        i += 8
    }
    var s = (s0 + s1).sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// y[i] += alpha x[i]. Time O(n).
@inline(__always)
func axpy(_ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
    for i in 0..<n { y[i] += alpha * x[i] }
}

/// ‖x‖₂ without overflow or underflow (as LAPACK's dnrm2 scales): the plain sum of squares
/// where it is safely in range, else max |x_i| times the norm of x / max |x_i|. NaN if an entry
/// is NaN, infinity if one is infinite. Time O(n).
func scaledNorm(_ x: UnsafePointer<Double>, _ n: Int) -> Double {
    let s = dot(x, x, n)
    if s >= 0x1p-900 && s <= 0x1p900 { return s.squareRoot() }   // no square under- or overflowed
    var big = 0.0
    for i in 0..<n {
        let a = abs(x[i])
        if !(a <= big) { big = a }   // NaN wins
    }
    guard big > 0, big.isFinite else { return big }
    var t = 0.0
    for i in 0..<n { let y = x[i] / big; t += y * y }
    return big * t.squareRoot()
}

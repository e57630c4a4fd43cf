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

/// u = M v for M (rows × n, row-major, contiguous rows). Four rows at a time: each chunk of v
/// is loaded once for four rows, and the eight independent accumulators hide the latency of
/// the multiply-adds (one `dot` per row would wait on its two). Time O(rows n).
@inline(__always)
func matVec(_ M: UnsafePointer<Double>, rows: Int, _ n: Int, _ v: UnsafePointer<Double>, into u: UnsafeMutablePointer<Double>) {
    let rv = UnsafeRawPointer(v)
    var i = 0
    while i + 4 <= rows {
        let r0 = UnsafeRawPointer(M + i * n), r1 = UnsafeRawPointer(M + (i + 1) * n)
        let r2 = UnsafeRawPointer(M + (i + 2) * n), r3 = UnsafeRawPointer(M + (i + 3) * n)
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>(), a2 = SIMD4<Double>(), a3 = SIMD4<Double>()
        var b0 = SIMD4<Double>(), b1 = SIMD4<Double>(), b2 = SIMD4<Double>(), b3 = SIMD4<Double>()
        var k = 0
        while k + 8 <= n {
            let x = rv.loadUnaligned(fromByteOffset: k * 8, as: SIMD4<Double>.self)
            let y = rv.loadUnaligned(fromByteOffset: k * 8 + 32, as: SIMD4<Double>.self)
            a0 += r0.loadUnaligned(fromByteOffset: k * 8, as: SIMD4<Double>.self) * x
            a1 += r1.loadUnaligned(fromByteOffset: k * 8, as: SIMD4<Double>.self) * x
            a2 += r2.loadUnaligned(fromByteOffset: k * 8, as: SIMD4<Double>.self) * x
            a3 += r3.loadUnaligned(fromByteOffset: k * 8, as: SIMD4<Double>.self) * x
            b0 += r0.loadUnaligned(fromByteOffset: k * 8 + 32, as: SIMD4<Double>.self) * y
            b1 += r1.loadUnaligned(fromByteOffset: k * 8 + 32, as: SIMD4<Double>.self) * y
            b2 += r2.loadUnaligned(fromByteOffset: k * 8 + 32, as: SIMD4<Double>.self) * y
            b3 += r3.loadUnaligned(fromByteOffset: k * 8 + 32, as: SIMD4<Double>.self) * y
            k += 8
        }
        var s0 = (a0 + b0).sum(), s1 = (a1 + b1).sum(), s2 = (a2 + b2).sum(), s3 = (a3 + b3).sum()
        while k < n {
            let x = v[k]
            s0 += M[i * n + k] * x; s1 += M[(i + 1) * n + k] * x
            s2 += M[(i + 2) * n + k] * x; s3 += M[(i + 3) * n + k] * x
            k += 1
        }
        u[i] = s0; u[i + 1] = s1; u[i + 2] = s2; u[i + 3] = s3
        i += 4
    }
    while i < rows { u[i] = dot(M + i * n, v, n); i += 1 }
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

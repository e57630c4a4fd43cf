extension Sensitivity {
    /// X = Cᵀ C into `out` (n × n row-major float64, any initial content) for an encoder C
    /// (k × n). C is fully packed before `out` is written, so `out` may overlap C.
    ///
    /// C is packed into panels of 4 columns (row r of a panel is 4 contiguous doubles, so one
    /// SIMD load); the upper triangle is computed by 4 × 4 register tiles, each over the union
    /// of its columns' supports (first to last nonzero row: a lower-triangular C costs n³/6
    /// multiply-adds, a banded one O(n b²)), blocked over rows of C (256) and columns of X
    /// (64) so the panels in use stay in cache; column blocks are dealt round-robin to the
    /// cores. Terms outside a column's support are exact zeros, so every entry is the plain
    /// dot product. The lower triangle is mirrored: X is exactly symmetric.
    /// Time O(k n²/2) dense; memory n k doubles for the panels.
    static func gram(_ c: RealMatrixView, into out: UnsafeMutablePointer<Double>) throws {
        let k = c.rows, n = c.cols
        guard n > 0 else { return }
        let panels = (n + 3) / 4
        // Panel p holds columns 4p ..< 4p + 4 (zeros past n): element (r, a) at p·4k + 4r + a.
        let packed = try WorkBuffer<Double>(count: try Check.product(panels * 4, k, "the packed panels of C"),
                                            "the packed panels of C")
        let pan = packed.pointer
        let supports = try WorkBuffer<Int>(count: 2 * panels, "panel supports")
        let plo = supports.pointer, phi = supports.pointer + panels
        parallelFor(panels, work: k * n) { _, range in
            let j0 = range.lowerBound * 4, j1 = Swift.min(n, range.upperBound * 4)
            let row = UnsafeMutablePointer<Double>.allocate(capacity: 4 * range.count)
            defer { row.deallocate() }
            row.initialize(repeating: 0, count: 4 * range.count)
            for p in range { plo[p] = k; phi[p] = 0 }
            for r in 0..<k {
                c.row(r, j0..<j1, into: row)
                for p in range {
                    let src = row + 4 * (p - range.lowerBound), dst = pan + p * 4 * k + 4 * r
                    dst[0] = src[0]; dst[1] = src[1]; dst[2] = src[2]; dst[3] = src[3]
                    if src[0] != 0 || src[1] != 0 || src[2] != 0 || src[3] != 0 {
                        if plo[p] == k { plo[p] = r }
                        phi[p] = r + 1
                    }
                }
            }
        }
        out.initialize(repeating: 0, count: n * n)
        let kc = 256, jcPanels = 16
        let blocks = (panels + jcPanels - 1) / jcPanels
        let workers = Swift.max(1, Swift.min(Threads.count, blocks))
        parallelFor(workers, work: k * n * n / 2, threshold: 1 << 20, workers: workers) { _, range in
            for w in range {
                for jb in stride(from: w, to: blocks, by: workers) {
                    let q0 = jb * jcPanels, q1 = Swift.min(panels, q0 + jcPanels)
                    for r0 in stride(from: 0, to: k, by: kc) {
                        let r1 = Swift.min(k, r0 + kc)
                        for p in 0..<q1 {
                            let a = Swift.max(r0, plo[p]), b = Swift.min(r1, phi[p])
                            if a >= b { continue }
                            for q in Swift.max(p, q0)..<q1 {
                                let lo = Swift.max(a, plo[q]), hi = Swift.min(b, phi[q])
                                if lo >= hi { continue }
                                tile(pan + p * 4 * k, pan + q * 4 * k, lo, hi, out + 4 * p * n + 4 * q,
                                     n, Swift.min(4, n - 4 * p), Swift.min(4, n - 4 * q))
                            }
                        }
                    }
                }
            }
        }
        // Mirror the upper triangle, in 64 × 64 tiles so both sides stay in cache.
        let t = 64, tiles = (n + t - 1) / t
        parallelFor(tiles, work: n * n / 2) { _, range in
            for ti in range {
                let i0 = ti * t, i1 = Swift.min(n, i0 + t)
                for j0 in stride(from: 0, to: i1, by: t) {
                    for i in i0..<i1 {
                        for j in j0..<Swift.min(i, j0 + t) { out[i * n + j] = out[j * n + i] }
                    }
                }
            }
        }
    }

    /// dst[a, b] += Σ_{r ∈ [lo, hi)} A[r, a] B[r, b] for a < rows, b < cols (dst row stride n),
    /// A and B panels (4 doubles per row, 32-byte aligned).
    @inline(__always)
    private static func tile(_ pa: UnsafeMutablePointer<Double>, _ pb: UnsafeMutablePointer<Double>,
                             _ lo: Int, _ hi: Int, _ dst: UnsafeMutablePointer<Double>, _ n: Int,
                             _ rows: Int, _ cols: Int) {
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), s2 = SIMD4<Double>(), s3 = SIMD4<Double>()
        let vb = UnsafeRawPointer(pb)
        for r in lo..<hi {
            let bv = vb.load(fromByteOffset: 32 * r, as: SIMD4<Double>.self)
            let a = pa + 4 * r
            s0 += a[0] * bv; s1 += a[1] * bv; s2 += a[2] * bv; s3 += a[3] * bv
        }
        @inline(__always) func add(_ s: SIMD4<Double>, _ row: Int) {
            guard row < rows else { return }
            let d = dst + row * n
            for b in 0..<cols { d[b] += s[b] }
        }
        add(s0, 0); add(s1, 1); add(s2, 2); add(s3, 3)
    }
}

extension Sensitivity {
    /// X = Cᵀ C written into `out` (n × n, float32 or float64, any strides) for a finite C
    /// (k × n). C is packed before `out` is written, so `out` may even be C's own memory.
    /// Time O(k n²/2) as `gram(_:)`; memory n k doubles, plus n² when `out` is not a
    /// C-ordered float64 array.
    public static func gram(_ c: StridedArray, into out: StridedArray) throws {
        let c = try matrix(c, "C")
        let n = c.cols
        try out.requireOutput("out", ndim: 2, shape: [n, n])
        guard c.allFinite() else { throw MFError.invalidArgument("Matrix C is not finite") }
        guard n > 0, let base = out.data else { return }
        let size = out.dtype.itemSize
        let rs = out.strides[0] / size, cs = out.strides[1] / size
        if out.dtype == .float64 && rs == n && cs == 1 {
            try gram(c, into: base.assumingMemoryBound(to: Double.self))
            return
        }
        let x = try WorkBuffer<Double>(count: try Check.product(n, n, "X"), "X")
        try gram(c, into: x.pointer)
        out.writeElements(x.pointer)
    }
}

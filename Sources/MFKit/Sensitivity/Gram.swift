extension Sensitivity {
    /// X = Cᵀ C (n × n, row-major float64) for an encoder C (k × n).
    ///
    /// Upper triangle by 4 × 4 register tiles of column dot products, each over the union of
    /// its columns' supports (so a lower-triangular C costs n³/6 multiply-adds, a banded one
    /// O(n b²)), blocked over rows of C (256) and columns of X (64) so a block stays in cache;
    /// column blocks are dealt round-robin to the cores. The lower triangle is mirrored, so X
    /// is exactly symmetric.
    /// Time O(k n²/2) dense, memory n² + n k doubles (X and the packed columns).
    public static func gram(_ c: RealMatrixView) -> [Double] {
        let store = ColumnStore(c)
        let n = c.cols
        var x = [Double](repeating: 0, count: n * n)
        x.withUnsafeMutableBufferPointer { gram(store, into: $0.baseAddress!) }
        return x
    }

    /// X = Cᵀ C into `out` (n × n row-major, any initial content).
    static func gram(_ store: ColumnStore, into out: UnsafeMutablePointer<Double>) {
        let k = store.k, n = store.n
        guard n > 0 else { return }
        out.initialize(repeating: 0, count: n * n)
        guard k > 0 else { return }
        let zero = UnsafeMutablePointer<Double>.allocate(capacity: k)
        zero.initialize(repeating: 0, count: k)
        defer { zero.deallocate() }
        // Panels of 4 columns (the last one padded with zero columns) and their supports.
        let panels = (n + 3) / 4
        var cols = [UnsafePointer<Double>](repeating: UnsafePointer(zero), count: 4 * panels)
        var plo = [Int](repeating: k, count: panels), phi = [Int](repeating: 0, count: panels)
        for j in 0..<n {
            cols[j] = UnsafePointer(store.ct + j * k)
            if store.lo[j] < store.hi[j] {
                plo[j / 4] = Swift.min(plo[j / 4], store.lo[j])
                phi[j / 4] = Swift.max(phi[j / 4], store.hi[j])
            }
        }
        let kc = 256, jcPanels = 16
        let blocks = (panels + jcPanels - 1) / jcPanels
        let workers = Swift.max(1, Swift.min(mfkitThreadCount, blocks))
        cols.withUnsafeBufferPointer { cols in
            plo.withUnsafeBufferPointer { plo in
                phi.withUnsafeBufferPointer { phi in
                    parallelRanges(workers, work: k * n * n / 2, threshold: 1 << 20) { _, range in
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
                                            tile(cols, p, q, lo, hi, out, n)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Mirror the upper triangle.
        for i in 0..<n { for j in 0..<i { out[i * n + j] = out[j * n + i] } }
    }

    /// out[4p + a, 4q + b] += Σ_{r ∈ [lo, hi)} C[r, 4p + a] C[r, 4q + b] for valid indices.
    @inline(__always)
    private static func tile(_ cols: UnsafeBufferPointer<UnsafePointer<Double>>, _ p: Int, _ q: Int,
                             _ lo: Int, _ hi: Int, _ out: UnsafeMutablePointer<Double>, _ n: Int) {
        let a0 = cols[4 * p], a1 = cols[4 * p + 1], a2 = cols[4 * p + 2], a3 = cols[4 * p + 3]
        let b0 = cols[4 * q], b1 = cols[4 * q + 1], b2 = cols[4 * q + 2], b3 = cols[4 * q + 3]
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), s2 = SIMD4<Double>(), s3 = SIMD4<Double>()
        for r in lo..<hi {
            let bv = SIMD4(b0[r], b1[r], b2[r], b3[r])
            s0 += a0[r] * bv; s1 += a1[r] * bv; s2 += a2[r] * bv; s3 += a3[r] * bv
        }
        let rowsLeft = Swift.min(4, n - 4 * p), colsLeft = Swift.min(4, n - 4 * q)
        @inline(__always) func add(_ s: SIMD4<Double>, _ a: Int) {
            guard a < rowsLeft else { return }
            let dst = out + (4 * p + a) * n + 4 * q
            for b in 0..<colsLeft { dst[b] += s[b] }
        }
        add(s0, 0); add(s1, 1); add(s2, 2); add(s3, 3)
    }
}

extension Sensitivity {
    /// X = Cᵀ C written into `out` (n × n, float32 or float64, any strides) for a finite C
    /// (k × n). C is packed before `out` is written, so `out` may even be C's own memory.
    /// Time O(k n²/2) as `gram(_:)`; memory n k doubles, plus n² when `out` is not a
    /// C-ordered float64 array.
    public static func gram(_ c: RealMatrixView, into out: StridedArray) throws {
        guard c.allFinite() else { throw MFError.invalidArgument("Matrix C is not finite") }
        let n = c.cols
        guard out.ndim == 2, out.shape[0] == n, out.shape[1] == n else {
            throw MFError.shape("out must have shape (\(n), \(n)), got \(shapeText(out.shape))")
        }
        guard out.dtype.isReal else { throw MFError.dtype("out must be float32 or float64, got \(out.dtype)") }
        try out.requireElementStrides("out")
        guard n > 0, let base = out.data else { return }
        let store = ColumnStore(c)
        let size = out.dtype.itemSize
        let rs = out.strides[0] / size, cs = out.strides[1] / size
        if out.dtype == .float64 && rs == n && cs == 1 {
            let x = base.assumingMemoryBound(to: Double.self)
            gram(store, into: x)
            return
        }
        let x = UnsafeMutablePointer<Double>.allocate(capacity: n * n)
        defer { x.deallocate() }
        gram(store, into: x)
        for i in 0..<n {
            if out.dtype == .float64 {
                scatter(base.assumingMemoryBound(to: Double.self) + i * rs, cs, x + i * n, n)
            } else {
                let p = base.assumingMemoryBound(to: Float.self) + i * rs
                for j in 0..<n { p[j * cs] = Float(x[i * n + j]) }
            }
        }
    }
}

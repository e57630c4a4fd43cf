import Dispatch

extension AffineHermitianModel {
    /// The forward pass: out[s] = M(x[s]) = B + Σ_i x[s, i] A_i for every sample s, with
    /// B = M_0 + s C and A_i = M_i prepared at construction.
    ///
    /// `x` is (N, p) float32 or float64, any strides; `out` is (N, n, n) or (N, n²) (flattened)
    /// of the model's dtype, any strides, and must not overlap `x`. Everything is checked before
    /// anything is written.
    ///
    /// Algorithm: as x is real, the complex matrices are viewed as real rows of L = 2 n²
    /// interleaved values and the pass is the real GEMM out (N × L) = [1 x] (N × (p+1)) ·
    /// [B; A] ((p+1) × L). Four samples share each vector of A loaded from cache (register
    /// blocking), A is packed in panels so it is read as one sequential stream, and when a row
    /// is a whole number of 128-bit registers (n even, or complex128) only the lower triangle
    /// is computed and the upper one is mirrored (conjugated), which halves the arithmetic. For a low-rank model this beats rank
    /// updates per sample (n² (p+1) r complex products per sample, against n² (p+1) real ones
    /// here): the full stack costs n² (p+1) r once, at preparation. Mirrored entries are exact
    /// conjugates (and without the mirror an entry and its transpose are computed by the same
    /// operations on conjugate operands), so M(x) is exactly Hermitian.
    /// Time O(N p n²) (about p n² real multiply-adds per sample, plus the output write);
    /// memory O(p n²) for the operands plus 4 L per thread when `out` is not contiguous per sample.
    /// Blocks of 64 samples are handed out dynamically to the cores.
    public func forward(_ x: StridedArray, into out: StridedArray) throws {
        let (n, p) = (matrixSize, featureCount)
        guard x.dtype == .float32 || x.dtype == .float64 else {
            throw MFError.dtype("input_NF must be float32 or float64 (real features), got \(x.dtype)")
        }
        guard x.ndim == 2 else {
            throw MFError.shape("input_NF must be 2-dimensional (num_samples, num_features), got shape \(x.shape)")
        }
        guard x.shape[1] == p else {
            throw MFError.shape("input_NF has \(x.shape[1]) features per sample, but the module takes \(p)")
        }
        let count = x.shape[0]
        guard out.dtype == dtype else {
            throw MFError.dtype("out must be \(dtype) (the precision of the parameters), got \(out.dtype)")
        }
        guard out.shape == [count, n, n] || out.shape == [count, n * n] else {
            throw MFError.shape("out must have shape (\(count), \(n), \(n)) or (\(count), \(n * n)), got \(out.shape)")
        }
        try x.requireValid("input_NF")
        try out.requireOutput("out", dtypes: [dtype])
        try out.requireDisjoint(from: x, "out", "input_NF")
        guard count > 0 else { return }
        if dtype == .complex64 {
            try forwardKernel(Float.self, x, out, offsetSingle, slopesSingle)
        } else {
            try forwardKernel(Double.self, x, out, offsetDouble, slopesDouble)
        }
    }

    private func forwardKernel<T: RealScalar>(_: T.Type, _ x: StridedArray, _ out: StridedArray,
                                                           _ offset: [T], _ slopes: [T]) throws {
        let (n, p, count) = (matrixSize, featureCount, x.shape[0])
        let width = 2 * n * n
        let item = MemoryLayout<T>.stride
        // out per sample: contiguous when its n² complex entries are in C order.
        let inner = out.ndim == 3
            ? (out.shape[1] <= 1 || out.strides[1] == n * 2 * item) && (n <= 1 || out.strides[2] == 2 * item)
            : (n * n <= 1 || out.strides[1] == 2 * item)
        // out has count n² > 0 elements, so a data pointer (checked by the caller's descriptor);
        // x may have none (p = 0), and is then never read.
        guard let outBase = out.data else { return }
        let xBase = x.data ?? outBase
        let (xRow, xCol, outRow) = (x.strides[0], x.strides[1], out.strides[0])
        let xSingle = x.dtype == .float32
        // Large contiguous outputs are formed in cache and written with non-temporal stores: one
        // pass over memory instead of a read-for-ownership and a write (fresh pages included).
        let streaming = inner && count * width * item >= streamingStoreBytes
        // Per-worker scratch: 4 feature rows, and 4 samples' matrices when out is strided or streamed.
        let workers = Threads.count
        let staged = !inner || streaming
        let perWorker = max(1, 4 * p) + (staged ? 4 * width : 0)
        let work = try WorkBuffer<T>(count: try Check.product(workers, perWorker, "PMM forward scratch"), "PMM forward scratch")
        offset.withUnsafeBufferPointer { ob in slopes.withUnsafeBufferPointer { sb in
            let b = ob.baseAddress!, a = sb.baseAddress ?? ob.baseAddress!
            parallelForDynamic(count, block: 64, work: count * width * max(1, p), threshold: 1 << 15,
                               workers: workers) { worker, range in
                let xs = work.pointer + worker * perWorker
                let scratch = staged ? xs + max(1, 4 * p) : nil
                defer { if streaming { streamingStoreFence() } }
                var s0 = range.lowerBound
                while s0 < range.upperBound {
                    let g = min(4, range.upperBound - s0)
                    for j in 0..<g {
                        let row = xBase + (s0 + j) * xRow
                        for i in 0..<p {
                            xs[j * p + i] = xSingle ? T(Double((row + i * xCol).load(as: Float.self)))
                                                    : T((row + i * xCol).load(as: Double.self))
                        }
                    }
                    func dest(_ j: Int) -> UnsafeMutablePointer<T> {
                        if let scratch { return scratch + j * width }
                        return (outBase + (s0 + j) * outRow).assumingMemoryBound(to: T.self)
                    }
                    var packed = a
                    for (start, length) in segments {
                        if g == 4 {
                            affineRows4(b + start, packed, p, length, xs, dest(0) + start, dest(1) + start,
                                        dest(2) + start, dest(3) + start)
                        } else {
                            for j in 0..<g { affineRow(b + start, packed, p, length, xs + j * p, dest(j) + start) }
                        }
                        packed += p * length
                    }
                    if triangular {
                        for j in 0..<g { mirrorLower(dest(j), n, segments) }
                    }
                    if let scratch {
                        for j in 0..<g {
                            if streaming {
                                T.streamCopy((outBase + (s0 + j) * outRow).assumingMemoryBound(to: T.self),
                                             scratch + j * width, width)
                            } else {
                                storeSample(scratch + j * width, out, s0 + j, n)
                            }
                        }
                    }
                    s0 += g
                }
            }
        }}
    }

    /// Writes one sample's n × n interleaved matrix into a strided `out`.
    private func storeSample<T>(_ src: UnsafeMutablePointer<T>, _ out: StridedArray, _ s: Int, _ n: Int) {
        let base = out.data! + s * out.strides[0]
        for r in 0..<n {
            for c in 0..<n {
                let o = out.ndim == 3 ? r * out.strides[1] + c * out.strides[2] : (r * n + c) * out.strides[1]
                let d = (base + o).assumingMemoryBound(to: T.self)
                d[0] = src[2 * (r * n + c)]; d[1] = src[2 * (r * n + c) + 1]
            }
        }
    }
}

/// Fills row j's columns past its computed segment with the conjugates of column j of the rows
/// below: out[j][k] = conj(out[k][j]) for k ≥ L_j / 2. Time O(n²) per sample.
@inline(__always)
func mirrorLower<T: RealScalar>(_ d: UnsafeMutablePointer<T>, _ n: Int, _ segments: [(start: Int, length: Int)]) {
    // Pointers advance by whole rows and columns (no index products in the loop).
    segments.withUnsafeBufferPointer { seg in
        var row = d, column = d
        for j in 0..<n {
            var k = seg[j].length / 2
            var target = row + 2 * k, source = column + 2 * n * k
            while k < n {
                T.storeConjugate(target, source)
                target += 2; source += 2 * n; k &+= 1
            }
            row += 2 * n; column += 2
        }
    }
}

/// Packs the rows i = 0 ..< p of `source` (row i holds `width` values from `base + i width`)
/// for the kernel, segment after segment: within a segment (start, length), panel k holds
/// columns start + k w ..< start + (k+1) w of row 0, then of row 1, …, so A is read as one
/// sequential stream (rows of A are n² apart and would alias in the L1 cache); columns past
/// the segment's last whole panel follow, row by row. Time and memory O(p · Σ length).
func packSegments<T: RealScalar>(_ source: [Double], base: Int, rows p: Int, width: Int,
                                segments: [(start: Int, length: Int)], as _: T.Type) -> [T] {
    let w = T.Vector.scalarCount
    let total = p * segments.reduce(0) { $0 + $1.length }
    return [T](unsafeUninitializedCapacity: max(1, total)) { buffer, initialized in
        var o = 0
        for (start, length) in segments {
            let panels = length / w, tail = length - panels * w
            for k in 0..<panels {
                for i in 0..<p {
                    let src = base + i * width + start + k * w
                    for e in 0..<w { buffer[o] = T(source[src + e]); o += 1 }
                }
            }
            for i in 0..<p {
                let src = base + i * width + start + panels * w
                for t in 0..<tail { buffer[o] = T(source[src + t]); o += 1 }
            }
        }
        if total == 0 { buffer[0] = 0; o = 1 }
        initialized = o
    }
}

/// One panel of four samples: d_j[c ..< c+w] = b[c ..< c+w] + Σ_i xs[j p + i] panel[i stride ..< i stride + w]
/// for the vector type V (w = V.scalarCount): each vector of A is loaded once for the four.
@inline(__always)
func panel4<T: RealScalar, V: SIMD>(_: V.Type, _ b: UnsafePointer<T>, _ panel: UnsafePointer<T>, _ stride: Int,
                                   _ p: Int, _ xs: UnsafePointer<T>, _ c: Int,
                                   _ d0: UnsafeMutablePointer<T>, _ d1: UnsafeMutablePointer<T>,
                                   _ d2: UnsafeMutablePointer<T>, _ d3: UnsafeMutablePointer<T>) where V.Scalar == T {
    let bv = UnsafeRawPointer(b + c).loadUnaligned(as: V.self)
    var (v0, v1, v2, v3) = (bv, bv, bv, bv)
    let (x1, x2, x3) = (xs + p, xs + 2 * p, xs + 3 * p)
    var ap = panel   // row i of the panel: advanced by `stride` (no index products in the loop)
    for i in 0..<p {
        let av = UnsafeRawPointer(ap).loadUnaligned(as: V.self)
        v0 += xs[i] * av
        v1 += x1[i] * av
        v2 += x2[i] * av
        v3 += x3[i] * av
        ap += stride
    }
    UnsafeMutableRawPointer(d0 + c).storeBytes(of: v0, as: V.self)
    UnsafeMutableRawPointer(d1 + c).storeBytes(of: v1, as: V.self)
    UnsafeMutableRawPointer(d2 + c).storeBytes(of: v2, as: V.self)
    UnsafeMutableRawPointer(d3 + c).storeBytes(of: v3, as: V.self)
}

/// d_j = b + Σ_i xs[j p + i] a_i (A packed by `packSegments`) for four samples j at once: whole
/// panels with Vector, then half a panel with Half, then single columns. Time O(4 p width).
@inline(__always)
func affineRows4<T: RealScalar>(_ b: UnsafePointer<T>, _ a: UnsafePointer<T>, _ p: Int, _ width: Int,
                               _ xs: UnsafePointer<T>,
                               _ d0: UnsafeMutablePointer<T>, _ d1: UnsafeMutablePointer<T>,
                               _ d2: UnsafeMutablePointer<T>, _ d3: UnsafeMutablePointer<T>) {
    let w = T.Vector.scalarCount, h = T.Half.scalarCount
    var c = 0
    while c + w <= width {
        panel4(T.Vector.self, b, a + c * p, w, p, xs, c, d0, d1, d2, d3)
        c += w
    }
    let tail = width - c, ta = a + c * p - c
    if c + h <= width {
        panel4(T.Half.self, b, ta + c, tail, p, xs, c, d0, d1, d2, d3)
        c += h
    }
    while c < width {
        var (v0, v1, v2, v3) = (b[c], b[c], b[c], b[c])
        var ap = ta + c
        for i in 0..<p {
            let av = ap.pointee
            v0 += xs[i] * av; v1 += xs[p &+ i] * av; v2 += xs[2 &* p &+ i] * av; v3 += xs[3 &* p &+ i] * av
            ap += tail
        }
        d0[c] = v0; d1[c] = v1; d2[c] = v2; d3[c] = v3
        c += 1
    }
}

/// d = b + Σ_i xs[i] a_i for one sample (the remainder of a block of four). Time O(p width).
@inline(__always)
func affineRow<T: RealScalar>(_ b: UnsafePointer<T>, _ a: UnsafePointer<T>, _ p: Int, _ width: Int,
                             _ xs: UnsafePointer<T>, _ d: UnsafeMutablePointer<T>) {
    typealias V = T.Vector
    let w = V.scalarCount
    var c = 0
    while c + w <= width {
        var v = UnsafeRawPointer(b + c).loadUnaligned(as: V.self)
        var ap = a + c * p
        for i in 0..<p { v += xs[i] * UnsafeRawPointer(ap).loadUnaligned(as: V.self); ap += w }
        UnsafeMutableRawPointer(d + c).storeBytes(of: v, as: V.self)
        c += w
    }
    let tail = width - c, ta = a + c * p - c
    while c < width {
        var v = b[c]
        var ap = ta + c
        for i in 0..<p { v += xs[i] * ap.pointee; ap += tail }
        d[c] = v
        c += 1
    }
}

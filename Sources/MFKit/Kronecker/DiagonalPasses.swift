/// The element types of the Kronecker kernels, with direct conversions to and from Double.
public protocol KronScalar: RealScalar, KronRunStores {
    init(_ value: Double)
    var asDouble: Double { get }
}

extension Float: KronScalar { @inline(__always) public var asDouble: Double { Double(self) } }
extension Double: KronScalar { @inline(__always) public var asDouble: Double { self } }

/// The axes d_0 ... d_{K-1} of a flat index, split into head axes (walked as an odometer) and a
/// tail: the trailing axes folded into one contiguous run of length L. Trailing axes are folded
/// while L < 1024 and the folded run stays within `cap` elements (2^15 for generated values,
/// 4096 for accumulators), so runs are long enough for vector loops and tail buffers stay in
/// cache; L <= max(d_last, cap).
struct TailSplit {
    let dims: [Int]
    /// Number of head axes (dims[0 ..< headCount]).
    let headCount: Int
    /// L = Π dims[headCount...].
    let tailLength: Int

    init(_ dims: [Int], cap: Int = 1 << 15) {
        var t = dims.count - 1, length = dims[t]
        while t > 0 && length < 1024 && length * dims[t - 1] <= cap {
            t -= 1
            length *= dims[t]
        }
        self.dims = dims
        headCount = t
        tailLength = length
    }
}

/// The values of a diagonal Kronecker sum, w[i] = Σ_k v_k[i_k], produced run by run without
/// holding the N-vector: the tail's values are precomputed once (L Doubles, shared by all
/// threads), and each row adds the head factors' prefix sum to them. Sums are in Double.
final class KronDiagValues {
    let split: TailSplit
    /// Head factors' values, contiguous Doubles.
    let head: [[Double]]
    /// kronsum_diag of the tail factors, length L.
    let tail: UnsafeMutablePointer<Double>

    /// `vectors` are the K factors' values in Double; `cap` bounds the folded tail (see
    /// TailSplit). Cost O(L + Σ d_k).
    init(_ vectors: [[Double]], cap: Int = 1 << 15) {
        split = TailSplit(vectors.map(\.count), cap: cap)
        head = Array(vectors[..<split.headCount])
        tail = .allocate(capacity: split.tailLength)
        // Fold the tail factors from the innermost out: new[a L' + b] = v[a] + old[b].
        let last = vectors[vectors.count - 1]
        for j in 0..<last.count { tail[j] = last[j] }
        var length = last.count
        for k in stride(from: vectors.count - 2, through: split.headCount, by: -1) {
            let v = vectors[k]
            for a in stride(from: v.count - 1, through: 0, by: -1) {
                for b in 0..<length { tail[a * length + b] = v[a] + tail[b] }
            }
            length *= v.count
        }
    }

    deinit { tail.deallocate() }

    /// A cursor at flat index `position`.
    func cursor(at position: Int) -> Cursor { Cursor(self, position) }

    /// A position in the flat index with the head's prefix sums.
    struct Cursor {
        let values: KronDiagValues
        var index: [Int]
        /// prefix[k] = Σ_{l <= k} v_l[index[l]] over head axes.
        var prefix: [Double]
        var offset: Int

        init(_ values: KronDiagValues, _ position: Int) {
            self.values = values
            let split = values.split
            offset = position % split.tailLength
            var rest = position / split.tailLength
            index = [Int](repeating: 0, count: split.headCount)
            for k in stride(from: split.headCount - 1, through: 0, by: -1) {
                index[k] = rest % split.dims[k]
                rest /= split.dims[k]
            }
            prefix = [Double](repeating: 0, count: split.headCount)
            if split.headCount > 0 { refresh(from: 0) }
        }

        private mutating func refresh(from k: Int) {
            var s = k == 0 ? 0.0 : prefix[k - 1]
            for l in k..<index.count {
                s += values.head[l][index[l]]
                prefix[l] = s
            }
        }

        /// Steps to the next row (the head odometer), with carries.
        @inline(__always) private mutating func nextRow() {
            var k = index.count - 1
            while k >= 0 {
                index[k] += 1
                if index[k] < values.split.dims[k] { break }
                index[k] = 0
                k -= 1
            }
            if k >= 0 { refresh(from: k) }
        }

        /// The head factors' sum for the current row.
        @inline(__always) var base: Double { prefix.last ?? 0 }

        /// Advances by `count` values without producing them.
        mutating func skip(_ count: Int) {
            var left = count
            let length = values.split.tailLength
            while left > 0 {
                let run = Swift.min(left, length - offset)
                left -= run
                offset += run
                if offset == length { offset = 0; nextRow() }
            }
        }

        /// Σ F(w) over the next `count` values w (one pass per run, nothing stored).
        mutating func mappedSum<F: ScalarMap>(_: F.Type, _ count: Int) -> Double {
            let length = values.split.tailLength
            var done = 0, total = CompensatedSum()
            while done < count {
                let run = Swift.min(count - done, length - offset)
                total.add(mapSum(F.self, values.tail + offset, base, run))
                done += run
                offset += run
                if offset == length { offset = 0; nextRow() }
            }
            return total.value
        }

        /// Writes the next `count` values to out[0], out[stride], ... (rounded once to T):
        /// row by row, the head's prefix sum plus the tail's values. `streaming` (contiguous
        /// outputs only) writes with non-temporal stores; the caller fences afterwards.
        mutating func fill<T: KronScalar>(_ out: UnsafeMutablePointer<T>, _ stride: Int, _ count: Int,
                                          streaming: Bool = false) {
            let length = values.split.tailLength, tail = values.tail
            var done = 0
            while done < count {
                let run = Swift.min(count - done, length - offset)
                let base = prefix.last ?? 0
                let src = tail + offset
                if stride == 1 {
                    T.storeSums(out + done, base, src, run, streaming: streaming)
                } else {
                    let dst = out + done * stride
                    for j in 0..<run { dst[j * stride] = T(base + src[j]) }
                }
                done += run
                offset += run
                if offset == length { offset = 0; nextRow() }
            }
        }
    }
}

/// Per-axis sums S_k[i] = Σ_{flat index with i_k = i} x for a vector fed run by run in flat
/// order: each run is added to a tail accumulator (L Doubles) and its total to the head axes'
/// sums at the current row; `finish` folds the tail accumulator onto the tail axes. Memory
/// O(L + Σ d_k) Doubles; each input element is read once. Accumulation is in Double.
struct AxisSums {
    let split: TailSplit
    /// sums[k][i] = S_k[i] (head axes only until `finish`).
    var sums: [[Double]]
    var tailSums: UnsafeMutablePointer<Double>
    var index: [Int]
    var offset: Int
    /// Σ of every element fed, compensated over runs.
    var total = CompensatedSum()

    init(_ split: TailSplit, at position: Int) {
        self.split = split
        sums = split.dims.map { [Double](repeating: 0, count: $0) }
        tailSums = .allocate(capacity: split.tailLength)
        tailSums.initialize(repeating: 0, count: split.tailLength)
        offset = position % split.tailLength
        var rest = position / split.tailLength
        index = [Int](repeating: 0, count: split.headCount)
        for k in stride(from: split.headCount - 1, through: 0, by: -1) {
            index[k] = rest % split.dims[k]
            rest /= split.dims[k]
        }
    }

    /// Frees the tail accumulator (call once, when the accumulator is no longer used).
    func release() { tailSums.deallocate() }

    @inline(__always) private mutating func nextRow() {
        var k = index.count - 1
        while k >= 0 {
            index[k] += 1
            if index[k] < split.dims[k] { return }
            index[k] = 0
            k -= 1
        }
    }

    /// Adds the next `count` elements x[0], x[stride], ... in flat order. Whole rows go four at
    /// a time, so the accumulator is read and written once per four rows.
    mutating func add<T: KronScalar>(_ x: UnsafePointer<T>, _ stride: Int, _ count: Int) {
        let length = split.tailLength
        var done = 0
        while done < count {
            if offset == 0 && length >= 256 && count - done >= 4 * length {
                let p = x + done * stride, step = length * stride
                let rowSums = accumulate4(tailSums, p, p + step, p + 2 * step, p + 3 * step, stride, length)
                addRow(rowSums.0); addRow(rowSums.1); addRow(rowSums.2); addRow(rowSums.3)
                done += 4 * length
                continue
            }
            let run = Swift.min(count - done, length - offset)
            let rowSum = accumulate(tailSums + offset, x + done * stride, stride, run)
            for k in 0..<index.count { sums[k][index[k]] += rowSum }
            total.add(rowSum)
            done += run
            offset += run
            if offset == length { offset = 0; nextRow() }
        }
    }

    /// Credits a whole row's total to the head axes and steps to the next row.
    @inline(__always) private mutating func addRow(_ rowSum: Double) {
        for k in 0..<index.count { sums[k][index[k]] += rowSum }
        total.add(rowSum)
        nextRow()
    }

    /// Adds F(w) for the next `count` values w of `cursor`, whose split must equal this one's
    /// (same dims and cap), advancing both: one pass per run, acc[j] += F(base + tail[j]).
    mutating func addMapped<F: ScalarMap>(_: F.Type, _ cursor: inout KronDiagValues.Cursor, _ count: Int) {
        let length = split.tailLength, tail = cursor.values.tail
        var done = 0
        while done < count {
            let run = Swift.min(count - done, length - offset)
            let rowSum = mapAccumulate(F.self, tailSums + offset, tail + offset, cursor.base, run)
            for k in 0..<index.count { sums[k][index[k]] += rowSum }
            total.add(rowSum)
            cursor.skip(run)
            done += run
            offset += run
            if offset == length { offset = 0; nextRow() }
        }
    }

    /// acc[j] += x0[j] + x1[j] + x2[j] + x3[j] (stride apart) for j < n; returns the four rows'
    /// sums. One read-modify-write of acc per four rows.
    @inline(__always)
    private func accumulate4<T: KronScalar>(_ acc: UnsafeMutablePointer<Double>, _ x0: UnsafePointer<T>,
                                            _ x1: UnsafePointer<T>, _ x2: UnsafePointer<T>, _ x3: UnsafePointer<T>,
                                            _ stride: Int, _ n: Int) -> (Double, Double, Double, Double) {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0
        var j = 0
        if stride == 1 {
            while j + 2 <= n {
                let a0 = x0[j].asDouble, b0 = x1[j].asDouble, c0 = x2[j].asDouble, d0 = x3[j].asDouble
                let a1 = x0[j + 1].asDouble, b1 = x1[j + 1].asDouble, c1 = x2[j + 1].asDouble, d1 = x3[j + 1].asDouble
                acc[j] += (a0 + b0) + (c0 + d0)
                acc[j + 1] += (a1 + b1) + (c1 + d1)
                s0 += a0; s1 += b0; s2 += c0; s3 += d0
                t0 += a1; t1 += b1; t2 += c1; t3 += d1
                j += 2
            }
        }
        while j < n {
            let a = x0[j * stride].asDouble, b = x1[j * stride].asDouble
            let c = x2[j * stride].asDouble, d = x3[j * stride].asDouble
            acc[j] += (a + b) + (c + d)
            s0 += a; s1 += b; s2 += c; s3 += d
            j += 1
        }
        return (s0 + t0, s1 + t1, s2 + t2, s3 + t3)
    }

    /// acc[j] += x[j * stride] for j < n; returns Σ x (four interleaved partial sums).
    @inline(__always)
    private func accumulate<T: KronScalar>(_ acc: UnsafeMutablePointer<Double>, _ x: UnsafePointer<T>,
                                           _ stride: Int, _ n: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var j = 0
        if stride == 1 {
            while j + 4 <= n {
                let a = x[j].asDouble, b = x[j + 1].asDouble, c = x[j + 2].asDouble, d = x[j + 3].asDouble
                acc[j] += a; acc[j + 1] += b; acc[j + 2] += c; acc[j + 3] += d
                s0 += a; s1 += b; s2 += c; s3 += d
                j += 4
            }
            while j < n { let a = x[j].asDouble; acc[j] += a; s0 += a; j += 1 }
        } else {
            while j < n { let a = x[j * stride].asDouble; acc[j] += a; s0 += a; j += 1 }
        }
        return (s0 + s1) + (s2 + s3)
    }

    /// Adds another accumulator's sums (same split) into this one.
    mutating func merge(_ other: AxisSums) {
        for k in 0..<sums.count { for i in 0..<sums[k].count { sums[k][i] += other.sums[k][i] } }
        for j in 0..<split.tailLength { tailSums[j] += other.tailSums[j] }
        total.add(other.total.value)
    }

    /// Folds the tail accumulator onto the tail axes' sums. O(L (K - head)).
    mutating func finish() {
        let k0 = split.headCount
        guard k0 < split.dims.count else { return }
        var idx = [Int](repeating: 0, count: split.dims.count - k0)
        for j in 0..<split.tailLength {
            let v = tailSums[j]
            for (m, i) in idx.enumerated() { sums[k0 + m][i] += v }
            var m = idx.count - 1
            while m >= 0 {
                idx[m] += 1
                if idx[m] < split.dims[k0 + m] { break }
                idx[m] = 0
                m -= 1
            }
        }
    }

}

/// Runs `body(accumulator, lo, hi)` over [0, n) split between workers (each with its own
/// accumulator positioned at `lo`), then merges and finishes the accumulators.
func parallelAxisSums(_ split: TailSplit, _ n: Int, work: Int, threshold: Int = 1 << 17,
                      _ body: (inout AxisSums, Int, Int) -> Void) -> AxisTotals {
    var parts = [AxisSums?](repeating: nil, count: mfkitThreadCount)
    parts.withUnsafeMutableBufferPointer { slots in
        parallelRanges(n, work: work, threshold: threshold) { worker, range in
            var acc = AxisSums(split, at: range.lowerBound)
            body(&acc, range.lowerBound, range.upperBound)
            slots[worker] = acc
        }
    }
    var result = AxisSums(split, at: 0)
    for case let part? in parts {
        result.merge(part)
        part.release()
    }
    result.finish()
    result.release()
    return AxisTotals(dims: split.dims, sums: result.sums, total: result.total.value)
}

/// Finished per-axis sums S_k and the grand total of a vector of length N = Π dims.
struct AxisTotals {
    let dims: [Int]
    let sums: [[Double]]
    let total: Double

    var count: Int { dims.reduce(1, *) }

    /// The factorwise average of axis k: S_k[i] d_k / N (the mean over the other axes).
    func average(_ k: Int) -> [Double] {
        let scale = Double(dims[k]) / Double(count)
        return sums[k].map { $0 * scale }
    }

    /// The KS projection's factors: A_k[i] = S_k[i] d_k / N - (K-1)/K * Σx / N, so every
    /// factor carries an equal share Σx / (K N) of the mean diagonal.
    func projection() -> [[Double]] {
        let kk = Double(dims.count)
        let shift = dims.count == 1 ? 0 : (kk - 1) / kk * total / Double(count)
        return (0..<dims.count).map { k in average(k).map { $0 - shift } }
    }
}

/// Tail cap of the accumulating passes: a tail accumulator of at most 4096 Doubles (32 KB)
/// stays in L1/L2 while the input streams past.
let accumulatorCap = 4096

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

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

    /// A flat position as (head axes' indices, offset within the tail run).
    func locate(_ position: Int) -> (index: [Int], offset: Int) {
        var rest = position / tailLength
        var index = [Int](repeating: 0, count: headCount)
        for k in stride(from: headCount - 1, through: 0, by: -1) {
            index[k] = rest % dims[k]
            rest /= dims[k]
        }
        return (index, position % tailLength)
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
            (index, offset) = split.locate(position)
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
        mutating func fill<T: RealScalar>(_ out: UnsafeMutablePointer<T>, _ stride: Int, _ count: Int,
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

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
        (index, offset) = split.locate(position)
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
    mutating func add<T: RealScalar>(_ x: UnsafePointer<T>, _ stride: Int, _ count: Int) {
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
    private func accumulate4<T: RealScalar>(_ acc: UnsafeMutablePointer<Double>, _ x0: UnsafePointer<T>,
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
    private func accumulate<T: RealScalar>(_ acc: UnsafeMutablePointer<Double>, _ x: UnsafePointer<T>,
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
    let workers = Threads.count
    var parts = [AxisSums?](repeating: nil, count: workers)
    parts.withUnsafeMutableBufferPointer { slots in
        parallelFor(n, work: work, threshold: threshold, workers: workers) { worker, range in
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

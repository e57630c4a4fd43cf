extension StreamingMatrix {
    /// Writes the leading n × n block of A into `out` (any strides, float32 or float64).
    /// Streams the identity's columns in pieces; a piece of columns starting at j0 is zero above
    /// row j0 (A is lower-triangular), so only the lower part is computed.
    /// Time O(n² s / 2) for s stages; memory O(2K (s + 1)) per thread.
    public func materialize(into out: StridedArray) throws {
        guard out.ndim == 2, out.shape[0] == out.shape[1] else {
            throw MFError.shape("out must have shape (n, n), got \(out.shape)")
        }
        try require(out.shape[0] > 0, "n must be positive, got \(out.shape[0])")
        try out.requireElementStrides("out")
        try out.requireDisjointElements("out")
        guard out.data != nil else { throw MFError.invalidArgument("out: data pointer is null") }
        try requirePieceWorkSpace(itemSize: out.dtype.itemSize)
        switch out.dtype {
        case .float32: materializeKernel(Float.self, out)
        case .float64: materializeKernel(Double.self, out)
        default: throw MFError.dtype("out must be float32 or float64, got \(out.dtype)")
        }
    }

    /// Writes ‖A[t, :n]‖² for t < n into `out` (shape (n,), float32 or float64): the per-query
    /// squared error when A = B C⁻¹. Accumulates in float64.
    /// Time O(n² s / 2); memory O(n) per thread.
    public func rowNormsSquared(into out: StridedArray) throws {
        guard out.ndim == 1 else { throw MFError.shape("out must have shape (n,), got \(out.shape)") }
        let n = out.shape[0]
        try require(n > 0, "n must be positive, got \(n)")
        try out.requireElementStrides("out")
        try out.requireDisjointElements("out")
        guard let base = out.data else { throw MFError.invalidArgument("out: data pointer is null") }
        guard out.dtype.isReal else { throw MFError.dtype("out must be float32 or float64, got \(out.dtype)") }
        try requirePieceWorkSpace(itemSize: 8)
        let norms = rowNormsSquared(n)
        let s = out.strides[0] / out.dtype.itemSize
        if out.dtype == .float32 {
            let p = base.assumingMemoryBound(to: Float.self)
            for t in 0..<n { p[t * s] = Float(norms[t]) }
        } else {
            let p = base.assumingMemoryBound(to: Double.self)
            for t in 0..<n { p[t * s] = norms[t] }
        }
    }

    /// ‖A[t, :n]‖² for t < n, in float64.
    public func rowNormsSquared(_ n: Int) -> [Double] {
        let workers = Swift.max(1, mfkitThreadCount)
        var partial = [[Double]](repeating: [Double](repeating: 0, count: n), count: workers)
        partial.withUnsafeMutableBufferPointer { parts in
            let parts = parts
            columnPieces(Double.self, n) { worker, t, first, row, count in
                var acc = 0.0
                for i in 0..<count { acc += row[i] * row[i] }
                parts[worker][t] += acc
            }
        }
        var total = partial[0]
        for w in 1..<workers { for t in 0..<n { total[t] += partial[w][t] } }
        return total
    }

    private func materializeKernel<T: StreamScalar>(_: T.Type, _ out: StridedArray) {
        let n = out.shape[0], size = T.dtype.itemSize
        let base = out.data!.assumingMemoryBound(to: T.self)
        let rs = out.strides[0] / size, cs = out.strides[1] / size
        columnPieces(T.self, n) { _, t, first, row, count in
            let dst = base + t * rs + first * cs
            if t < first {
                for i in 0..<count { dst[i * cs] = 0 }
            } else {
                scatter(dst, cs, row, count)
            }
        }
    }

    /// Streams the n × n identity through A in pieces of columns and hands every row piece
    /// (worker, t, first column, values, count) to `visit`. Rows above a piece (t < first) are
    /// zero and are handed over without computation (`values` then holds zeros).
    private func columnPieces<T: StreamScalar>(
        _: T.Type, _ n: Int,
        _ visit: (_ worker: Int, _ t: Int, _ first: Int, _ row: UnsafeMutablePointer<T>, _ count: Int) -> Void
    ) {
        let pipeline = Pipeline(self)
        let width = Swift.min(pieceWidth, Swift.max(64, (n + 2 * mfkitThreadCount - 1) / (2 * mfkitThreadCount)))
        let pieces = (n + width - 1) / width
        parallelRanges(pieces, work: n * n * Swift.max(1, stages.count) / 2, threshold: 1 << 14) { worker, range in
            let state = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(1, pipeline.stateCount * width))
            let v = UnsafeMutablePointer<T>.allocate(capacity: width)
            defer { state.deallocate(); v.deallocate() }
            for p in range {
                let first = p * width, count = Swift.min(width, n - first)
                state.initialize(repeating: 0, count: pipeline.stateCount * width)
                v.initialize(repeating: 0, count: width)
                for t in 0..<first { visit(worker, t, first, v, count) }
                for t in first..<n {
                    v.update(repeating: 0, count: count)
                    if t < first + count { v[t - first] = 1 }
                    pipeline.step(t, v, count, state, width)
                    visit(worker, t, first, v, count)
                }
            }
        }
    }
}

extension StreamingMatrix {
    /// Writes the leading n × n block of A into `out` (any strides, float32 or float64).
    /// Streams the identity's columns in pieces; a piece of columns starting at j0 is zero above
    /// row j0 (A is lower-triangular), so only the lower part is computed.
    /// Time O(n² s / 2) for s stages; memory O(2K (s + 1)) per thread.
    public func materialize(into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 2)
        guard out.shape[0] == out.shape[1] else {
            throw MFError.shape("out must have shape (n, n), got \(shapeText(out.shape))")
        }
        try Check.positive(out.shape[0], "n")
        try requirePieceWorkSpace(itemSize: out.dtype.itemSize)
        if out.dtype == .float32 { materializeKernel(Float.self, out) } else { materializeKernel(Double.self, out) }
    }

    /// Writes ‖A[t, :n]‖² for t < n into `out` (shape (n,), float32 or float64): the per-query
    /// squared error when A = B C⁻¹. Accumulates in float64.
    /// Time O(n² s / 2); memory O(n) per thread.
    public func rowNormsSquared(into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 1)
        let n = out.shape[0]
        try Check.positive(n, "n")
        try requirePieceWorkSpace(itemSize: 8)
        let workers = Threads.count
        let partial = try WorkBuffer<Double>(count: try Check.product(workers, n, "the row norms"), zeroed: true, "the row norms")
        columnPieces(Double.self, n, workers: workers) { worker, t, first, row, count in
            var acc = 0.0
            for i in 0..<count { acc += row[i] * row[i] }
            partial[worker * n + t] += acc
        }
        for w in 1..<workers { for t in 0..<n { partial[t] += partial[w * n + t] } }
        out.writeElements(partial.pointer)
    }

    /// ‖A[t, :n]‖² for t < n, in float64 (n ≥ 1).
    public func rowNormsSquared(_ n: Int) throws -> [Double] {
        var norms = try Memory.array(repeating: 0.0, count: n, "the row norms")
        try norms.withUnsafeMutableBufferPointer {
            try rowNormsSquared(into: StridedArray(data: $0.baseAddress, dtype: .float64, shape: [n]))
        }
        return norms
    }

    private func materializeKernel<T: RealScalar>(_: T.Type, _ out: StridedArray) {
        let n = out.shape[0], size = T.dtype.itemSize
        let base = out.pointer(T.self)
        let rs = out.strides[0] / size, cs = out.strides[1] / size
        columnPieces(T.self, n, workers: Threads.count) { _, t, first, row, count in
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
    private func columnPieces<T: RealScalar>(
        _: T.Type, _ n: Int, workers: Int,
        _ visit: (_ worker: Int, _ t: Int, _ first: Int, _ row: UnsafeMutablePointer<T>, _ count: Int) -> Void
    ) {
        let pipeline = Pipeline(self)
        let width = Swift.min(pieceWidth, Swift.max(64, (n + 2 * workers - 1) / (2 * workers)))
        let pieces = (n + width - 1) / width
        parallelFor(pieces, work: n * n * Swift.max(1, stages.count) / 2, threshold: 1 << 14, workers: workers) { worker, range in
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

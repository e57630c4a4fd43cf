extension StreamingMatrix {
    /// out = A x for x of shape (n, ...) (`multiply_array`): out[t] = (A x)[t].
    ///
    /// `out` may be `x` itself (in place); any other overlap is refused. Both may have any
    /// strides. Each slice is cut into pieces of ~2K elements (fewer for stages with much state); a piece runs through all n steps
    /// with its state in cache, so x and out are each streamed through memory once, and pieces
    /// are spread over the cores.
    /// Time O(n m s) for m elements per slice and s stages; memory O(2K (s + 1)) per thread.
    public func multiply(_ x: StridedArray, into out: StridedArray) throws {
        try checkStreamOperands(x, out, xName: "x", outName: "out")
        guard x.ndim >= 1 else { throw MFError.shape("x must have at least one dimension (the step axis)") }
        try requirePieceWorkSpace(itemSize: x.dtype.itemSize)
        if x.dtype == .float32 { multiplyKernel(Float.self, x, out) } else { multiplyKernel(Double.self, x, out) }
    }

    private func multiplyKernel<T: RealScalar>(_: T.Type, _ x: StridedArray, _ out: StridedArray) {
        let n = x.shape[0], size = T.dtype.itemSize
        guard n > 0, x.count > 0 else { return }
        let lines = Lines(x.sliceLayout, out.sliceLayout)
        let xRow = x.strides[0] / size, oRow = out.strides[0] / size
        let xBase = x.pointer(T.self), oBase = out.pointer(T.self)
        let pipeline = Pipeline(self)
        let width = pipeline.pieceWidth(itemSize: size)
        let length = lines.length, perLine = (length + width - 1) / width
        let pieces = lines.lineCount * perLine
        parallelFor(pieces, work: x.count * Swift.max(1, stages.count)) { _, range in
            let state = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(1, pipeline.stateCount * width))
            let buffer = UnsafeMutablePointer<T>.allocate(capacity: width)
            defer { state.deallocate(); buffer.deallocate() }
            for p in range {
                let (line, first) = (p / perLine, (p % perLine) * width)
                let count = Swift.min(width, length - first)
                let offs = lines.lineOffsets(line)
                let xp = xBase + offs.a + first * lines.strideA
                let op = oBase + offs.b + first * lines.strideB
                state.initialize(repeating: 0, count: pipeline.stateCount * width)
                for t in 0..<n {
                    pipeline.step(t, from: xp + t * xRow, lines.strideA, to: op + t * oRow, lines.strideB,
                                  count, state, width, buffer: buffer)
                }
            }
        }
    }
}

/// Checks that x and out are valid real arrays of one dtype and shape, that out's elements are
/// distinct, and that out is x itself or does not overlap it.
func checkStreamOperands(_ x: StridedArray, _ out: StridedArray, xName: String, outName: String) throws {
    try x.requireInput(xName)
    guard out.dtype == x.dtype else {
        throw MFError.dtype("\(outName) has dtype \(out.dtype) but \(xName) has dtype \(x.dtype); they must match")
    }
    guard out.shape == x.shape else {
        throw MFError.shape("\(outName) has shape \(shapeText(out.shape)) but \(xName) has shape \(shapeText(x.shape)); they must match")
    }
    try out.requireOutput(outName)
    try out.requireDisjoint(from: x, outName, xName, allowSameView: true)
}

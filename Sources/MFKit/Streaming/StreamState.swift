import Glibc

/// The state of one streaming multiplication, for use inside a training loop: created for a
/// slice shape and dtype, then fed x[0], x[1], … one call at a time; `next` writes (A x)[t].
/// Owns its state (s buffers of the slice's size for s state-keeping stages). Belongs to one
/// thread at a time. (Python: `mfkit.streaming_matrix.Stream`.)
public final class StreamState {
    public let matrix: StreamingMatrix
    public let dtype: DType
    public let sliceShape: [Int]
    /// The index of the next step.
    public private(set) var step = 0
    private let pipeline: Pipeline
    private let sliceCount: Int
    /// The state of every stage, zeroed; lazily mapped, so a large one costs nothing until used.
    private let state: WorkBuffer<UInt8>

    /// Memory O(s m) for m = prod(sliceShape); sizes are checked (an impossible slice shape is
    /// an error, never a wrapped size).
    public init(matrix: StreamingMatrix, sliceShape: [Int], dtype: DType) throws {
        guard dtype.isReal else { throw MFError.dtype("a stream's dtype must be float32 or float64, got \(dtype)") }
        sliceCount = try Check.shape(sliceShape, "the slice shape")
        self.matrix = matrix
        self.dtype = dtype
        self.sliceShape = sliceShape
        pipeline = Pipeline(matrix)
        let elements = try Check.product(pipeline.stateCount, sliceCount, "the stream state")
        let bytes = try Check.product(elements, dtype.itemSize, "the stream state")
        state = try WorkBuffer(count: bytes, zeroed: true, "\(pipeline.stateCount) x \(sliceCount) elements of stream state")
    }

    /// Starts again from step 0 with zero state. O(s m).
    public func reset() {
        state.fill(0)
        step = 0
    }

    /// out = (A x)[t] for the slice x = x[t]; advances t. `out` may be `x` (in place).
    /// Time O(m s), spread over the cores for large slices.
    public func next(_ x: StridedArray, into out: StridedArray) throws {
        guard x.shape == sliceShape else {
            throw MFError.shape("slice has shape \(shapeText(x.shape)) but the stream was created for shape \(shapeText(sliceShape))")
        }
        guard x.dtype == dtype else {
            throw MFError.dtype("slice has dtype \(x.dtype) but the stream was created for \(dtype)")
        }
        try checkStreamOperands(x, out, xName: "x", outName: "out")
        if dtype == .float32 { kernel(Float.self, x, out) } else { kernel(Double.self, x, out) }
        step += 1
    }

    private func kernel<T: RealScalar>(_: T.Type, _ x: StridedArray, _ out: StridedArray) {
        let t = step
        guard sliceCount > 0 else { return }
        let lines = Lines(x, out)
        let xBase = x.pointer(T.self), oBase = out.pointer(T.self)
        let st = UnsafeMutableRawPointer(state.pointer).assumingMemoryBound(to: T.self)
        let length = lines.length, perLine = (length + pieceWidth - 1) / pieceWidth
        let pipeline = self.pipeline, m = sliceCount
        parallelFor(lines.lineCount * perLine, work: m * Swift.max(1, pipeline.stages.count), threshold: 1 << 18) { _, range in
            let buffer = UnsafeMutablePointer<T>.allocate(capacity: pieceWidth)
            defer { buffer.deallocate() }
            for p in range {
                let (line, first) = (p / perLine, (p % perLine) * pieceWidth)
                let count = Swift.min(pieceWidth, length - first)
                let offs = lines.lineOffsets(line)
                pipeline.step(t, from: xBase + offs.a + first * lines.strideA, lines.strideA,
                              to: oBase + offs.b + first * lines.strideB, lines.strideB, count,
                              st + line * length + first, m,   // state at the piece's flat C-order index
                              buffer: buffer)
            }
        }
    }
}

/// The state of one streaming multiplication, for use inside a training loop: created for a
/// slice shape and dtype, then fed x[0], x[1], … one call at a time; `next` writes (A x)[t].
/// Owns its state (s buffers of the slice's size for s state-keeping stages). Belongs to one
/// thread at a time.
public final class Stream {
    public let matrix: StreamingMatrix
    public let dtype: DType
    public let sliceShape: [Int]
    /// The index of the next step.
    public private(set) var step = 0
    private let pipeline: Pipeline
    private let sliceCount: Int
    private let state: UnsafeMutableRawPointer

    /// Memory O(s m) for m = prod(sliceShape).
    public init(matrix: StreamingMatrix, sliceShape: [Int], dtype: DType) throws {
        guard dtype.isReal else { throw MFError.dtype("a stream's dtype must be float32 or float64, got \(dtype)") }
        try require(sliceShape.allSatisfy { $0 >= 0 }, "slice shape must not have negative lengths, got \(sliceShape)")
        self.matrix = matrix
        self.dtype = dtype
        self.sliceShape = sliceShape
        pipeline = Pipeline(matrix)
        // Sizes come from the caller: multiply with overflow checks, and take zeroed memory from
        // calloc (an impossible size is reported; a large one is not touched until used).
        var count = 1
        for d in sliceShape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, c < 1 << 56 else { throw MFError.shape("slice shape \(sliceShape) is too large") }
            count = c
        }
        sliceCount = count
        let (elements, overflow) = pipeline.stateCount.multipliedReportingOverflow(by: count)
        guard !overflow, let p = calloc(Swift.max(1, elements), dtype.itemSize) else {
            throw MFError.outOfMemory("cannot allocate \(pipeline.stateCount) x \(count) elements of stream state")
        }
        state = UnsafeMutableRawPointer(p)
    }

    deinit { free(state) }

    /// Starts again from step 0 with zero state.
    public func reset() {
        memset(state, 0, Swift.max(1, pipeline.stateCount * sliceCount) * dtype.itemSize)
        step = 0
    }

    /// out = (A x)[t] for the slice x = x[t]; advances t. `out` may be `x` (in place).
    /// Time O(m s), spread over the cores for large slices.
    public func next(_ x: StridedArray, into out: StridedArray) throws {
        guard x.shape == sliceShape else {
            throw MFError.shape("slice has shape \(x.shape) but the stream was created for shape \(sliceShape)")
        }
        guard x.dtype == dtype else {
            throw MFError.dtype("slice has dtype \(x.dtype) but the stream was created for \(dtype)")
        }
        try checkStreamOperands(x, out, xName: "x", outName: "out")
        if dtype == .float32 { kernel(Float.self, x, out) } else { kernel(Double.self, x, out) }
        step += 1
    }

    private func kernel<T: StreamScalar>(_: T.Type, _ x: StridedArray, _ out: StridedArray) {
        let t = step
        guard sliceCount > 0, let xb = x.data, let ob = out.data else { return }
        let lines = PairedLines(shape: sliceShape, a: x.strides, b: out.strides, itemSize: T.dtype.itemSize)
        let xBase = xb.assumingMemoryBound(to: T.self), oBase = ob.assumingMemoryBound(to: T.self)
        let st = state.assumingMemoryBound(to: T.self)
        let length = lines.length, perLine = (length + pieceWidth - 1) / pieceWidth
        let pipeline = self.pipeline, m = sliceCount
        parallelRanges(lines.lineCount * perLine, work: m * Swift.max(1, pipeline.stages.count), threshold: 1 << 18) { _, range in
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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

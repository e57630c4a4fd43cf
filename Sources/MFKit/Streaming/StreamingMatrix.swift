/// A lower-triangular linear map x ↦ A x computed one row-slice at a time (the semantics of
/// jax_privacy's `streaming_matrix`): step t takes the slice x[t], of any shape, and returns
/// (A x)[t] from x[t] and state kept from earlier steps. A is infinite; any n rows of it can
/// be used.
///
/// A is held as a pipeline of stages applied in order to each slice (a product A B runs B's
/// stages, then A's). The description is immutable and may be shared between threads; the state
/// of a computation lives in a `Stream` or in the work space of `multiply`.
public final class StreamingMatrix: Sendable {
    /// The stages, applied first to last.
    public let stages: [any StreamStage]

    public init(stages: [any StreamStage]) { self.stages = stages }

    /// State buffers per slice element, summed over the stages.
    public var stateCount: Int { stages.reduce(0) { $0 + $1.stateCount } }

    /// The identity matrix.
    public static func identity() -> StreamingMatrix { StreamingMatrix(stages: []) }

    /// The lower-triangular matrix of ones: (A x)[t] = x[0] + … + x[t].
    public static func prefixSum() -> StreamingMatrix { StreamingMatrix(stages: [PrefixSumStage()]) }

    /// diag(d) with d_t = diag[min(t, len − 1)]: past its end the last entry repeats.
    public static func diagonal(_ diag: [Double], name: String = "diag") throws -> StreamingMatrix {
        try Check.nonEmpty(diag, name)
        try Check.finite(diag, name)
        return StreamingMatrix(stages: [DiagonalStage(diag: diag)])
    }

    /// Momentum SGD: m_t = μ m_{t−1} + x_t, y_t = y_{t−1} + lr_t m_t, with lr_t =
    /// learningRates[min(t, len − 1)] (all ones when nil). Learning rates must be positive.
    public static func momentumSGD(momentum: Double = 0, learningRates: [Double]? = nil) throws -> StreamingMatrix {
        try Check.finite(momentum, "momentum")
        let lr = learningRates ?? [1]
        try Check.nonEmpty(lr, "learning_rates")
        if let bad = lr.first(where: { !($0 > 0) || !$0.isFinite }) {
            throw MFError.invalidArgument(
                "Learning rates must be positive and finite (zero learning rates may prevent matrix factorization from succeeding); found \(bad)")
        }
        return StreamingMatrix(stages: [MomentumStage(momentum: momentum, learningRates: lr)])
    }

    /// The most stages a product may hold (2²⁴, 640 MB of stage references): repeated squaring
    /// `A = A @ A` doubles the count, so an absurd product is reported, not allocated.
    public static let maxStages = 1 << 24

    /// The product A B (`multiply_streaming_matrices(A, B)`): B's stages, then A's. Throws
    /// MFError.outOfMemory beyond `maxStages` stages or when the stage array cannot be
    /// allocated. Time and memory O(s_A + s_B).
    public static func product(_ a: StreamingMatrix, _ b: StreamingMatrix) throws -> StreamingMatrix {
        let count = a.stages.count + b.stages.count
        guard count <= maxStages else {
            throw MFError.outOfMemory("a product of \(count) stages is too large (at most \(maxStages))")
        }
        try Memory.requireAllocatable(count, bytesPerElement: MemoryLayout<any StreamStage>.stride,
                                      "a product of \(count) stages")
        return StreamingMatrix(stages: b.stages + a.stages)
    }

    /// The product A B for operands of known small size (`product(_:_:)` checks the size).
    public static func * (a: StreamingMatrix, b: StreamingMatrix) -> StreamingMatrix {
        StreamingMatrix(stages: b.stages + a.stages)
    }

    /// A · scalar, as A diag([scalar]) (jax_privacy's `A * scalar`).
    public func scaled(by scalar: Double) throws -> StreamingMatrix {
        try Check.finite(scalar, "scalar")
        return try .product(self, StreamingMatrix(stages: [DiagonalStage(diag: [scalar])]))
    }

    /// diag(rowScale) A diag(colScale); a nil scale is the identity. Schedules repeat their
    /// last entry past their end.
    public func scalingRowsAndColumns(rowScale: [Double]?, colScale: [Double]?) throws -> StreamingMatrix {
        var result = self
        if let r = rowScale { result = try .product(try StreamingMatrix.diagonal(r, name: "row_scale"), result) }
        if let c = colScale { result = try .product(result, try StreamingMatrix.diagonal(c, name: "col_scale")) }
        return result
    }
}

/// The state offsets of a pipeline's stages and the kernel that runs one step over a piece.
struct Pipeline {
    let stages: [any StreamStage]
    let offsets: [Int]
    let stateCount: Int

    init(_ matrix: StreamingMatrix) {
        stages = matrix.stages
        var o: [Int] = [], total = 0
        for s in stages { o.append(total); total += s.stateCount }
        offsets = o
        stateCount = total
    }

    /// The piece width `multiply` uses: the narrowest any stage asks for (64 to `pieceWidth`).
    func pieceWidth(itemSize: Int) -> Int {
        stages.reduce(MFKit.pieceWidth) { Swift.max(64, Swift.min($0, $1.preferredPieceWidth(itemSize: itemSize))) }
    }

    /// Step t over `n` elements of v; the piece's state buffers are `state + k * stride`.
    @inline(__always)
    func step<T: RealScalar>(_ t: Int, _ v: UnsafeMutablePointer<T>, _ n: Int,
                               _ state: UnsafeMutablePointer<T>, _ stride: Int) {
        for k in 0..<stages.count {
            apply(stages[k], step: t, v, n, state + offsets[k] * stride, stride)
        }
    }

    /// Step t of one piece read from x (element stride sx) and written to out (stride so):
    /// in out itself when it is contiguous (out may be x), else through `buffer`.
    @inline(__always)
    func step<T: RealScalar>(_ t: Int, from x: UnsafeMutablePointer<T>, _ sx: Int,
                               to out: UnsafeMutablePointer<T>, _ so: Int, _ n: Int,
                               _ state: UnsafeMutablePointer<T>, _ stride: Int,
                               buffer: UnsafeMutablePointer<T>) {
        if so == 1 {
            if x != out || sx != 1 { gather(out, x, sx, n) }
            step(t, out, n, state, stride)
        } else {
            gather(buffer, x, sx, n)
            step(t, buffer, n, state, stride)
            scatter(out, so, buffer, n)
        }
    }
}

/// Elements per piece: a slice is cut into pieces this long so that a piece's value and state
/// buffers stay in the L1/L2 cache across steps.
let pieceWidth = 2048

extension StreamingMatrix {
    /// diag(diag) from a real array of any strides (copied). See `diagonal(_:name:)`.
    public static func diagonal(_ diag: StridedArray) throws -> StreamingMatrix {
        try diagonal(try diag.readVector("diag"))
    }

    /// Momentum SGD with learning rates from a real array of any strides (copied), or all
    /// ones when nil. See `momentumSGD(momentum:learningRates:)`.
    public static func momentumSGD(momentum: Double, learningRates: StridedArray?) throws -> StreamingMatrix {
        try momentumSGD(momentum: momentum, learningRates: try learningRates?.readVector("learning_rates"))
    }

    /// diag(rowScale) A diag(colScale) with scales from real arrays of any strides (copied).
    public func scalingRowsAndColumns(rowScale: StridedArray?, colScale: StridedArray?) throws -> StreamingMatrix {
        try scalingRowsAndColumns(rowScale: try rowScale?.readVector("row_scale"),
                                  colScale: try colScale?.readVector("col_scale"))
    }
}

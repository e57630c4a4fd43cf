/// The array entry points of banded strategies: parameters and results as StridedArrays of any
/// strides (float32 or float64), checked here with the shared vocabulary before any copy or
/// write. Computations run in float64.
extension ColumnNormalizedBanded {
    /// A strategy from an (n, bands) parameter array (copied). The size is checked before the
    /// copy (a broadcast view of absurd size is MFError.outOfMemory). Time and memory O(n b).
    public convenience init(params: StridedArray) throws {
        try params.requireInput("params", ndim: 2)
        let (n, b) = (params.shape[0], params.shape[1])
        try require(n >= 1 && b >= 1, "params must not be empty, got shape \(shapeText(params.shape))")
        try require(b <= n, "bands must be at most n, got bands=\(b) > n=\(n)")
        try ColumnNormalizedBanded.requireSize(n, b)
        try self.init(params: try params.readDoubles("params"), n: n, bands: b)
    }

    /// `fromBandedToeplitz(n:coefs:)` with the coefficients from a 1-D array (copied).
    public static func fromBandedToeplitz(n: Int, coefs: StridedArray) throws -> ColumnNormalizedBanded {
        try coefs.requireInput("coefs", ndim: 1)
        let b = coefs.shape[0]
        try Check.positive(n, "n")
        guard b >= 1 && b <= n else { throw MFError.invalidArgument("len(coefs) must be in the range [1, n], got \(b)") }
        try requireSize(n, b)
        return try fromBandedToeplitz(n: n, coefs: try coefs.readVector("coefs"))
    }

    /// Copies params (as given, lower-right triangle included) into `out` (n, bands). O(n b).
    public func writeParams(into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 2, shape: [n, bands])
        params.withUnsafeBufferPointer { out.writeElements($0.baseAddress!) }
    }

    /// Per-query errors into `out` (n,). See `perQueryError(workload:)`.
    public func perQueryError(workload: StreamingMatrix = .prefixSum(), into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 1, shape: [n])
        let e = try perQueryError(workload: workload)
        e.withUnsafeBufferPointer { out.writeElements($0.baseAddress!) }
    }

    /// The loss, and its gradient with respect to params into `gradient` (n, bands) when
    /// given. See `loss(workload:reduction:gradient:)`.
    public func loss(workload: StreamingMatrix = .prefixSum(), reduction: ErrorReduction = .mean,
                     gradient out: StridedArray?) throws -> Double {
        try out?.requireOutput("grad", ndim: 2, shape: [n, bands])
        let (value, g) = try loss(workload: workload, reduction: reduction, gradient: out != nil)
        if let out, let g { g.withUnsafeBufferPointer { out.writeElements($0.baseAddress!) } }
        return value
    }
}

extension ErrorReduction {
    /// Caller-given per-query weights from a 1-D real array of length n (finite; copied).
    public static func weights(_ w: StridedArray, n: Int) throws -> ErrorReduction {
        try w.requireInput("weights", ndim: 1)
        guard w.shape[0] == n else { throw MFError.shape("weights must have length n=\(n), got \(w.shape[0])") }
        let values = try w.readVector("weights")
        try Check.finite(values, "weights")
        return .weights(values)
    }
}

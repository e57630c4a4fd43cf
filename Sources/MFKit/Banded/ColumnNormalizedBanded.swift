/// A column-normalized banded lower-triangular n × n strategy C (DP-BandMF), parameterized by
/// an n × b matrix `params` exactly as jax_privacy's `ColumnNormalizedBanded`:
///
///     C_raw[j + r, j] = params[j, r]   for 0 ≤ r < b, j + r < n,
///     C = C_raw diag(c)⁻¹,   c_j = ‖C_raw[:, j]‖ = ‖params[j, 0 ..< min(b, n − j)]‖.
///
/// Entries of `params` that fall outside the matrix (j + r ≥ n, the lower-right triangle) are
/// ignored everywhere — in the column norms, the inverse, the error and its gradient (which is
/// zero there). jax_privacy's materialize ignores them too, but its streaming inverse counts
/// them in the column norm; the two agree whenever that triangle is zero (as in `default`,
/// `fromBandedToeplitz` and everything its optimizer returns from them).
///
/// Immutable; may be shared between threads. Memory O(n b).
public final class ColumnNormalizedBanded: @unchecked Sendable {
    public let n: Int
    public let bands: Int
    /// Row-major n × b copy of the parameters as given (lower-right triangle included).
    public let params: [Double]
    /// c_j, the norm of column j of C_raw (masked; scaled, so that tiny or huge params neither
    /// underflow nor overflow).
    public let columnNorms: [Double]

    /// Validates and copies `params` (row-major n × bands). Throws unless 1 ≤ bands ≤ n, every
    /// entry is finite, and every diagonal entry params[j, 0] is nonzero (otherwise C is
    /// singular and has no streaming inverse).
    public init(params: [Double], n: Int, bands: Int) throws {
        try require(n >= 1, "n must be positive, got \(n)")
        try require(bands >= 1, "bands must be positive, got \(bands)")
        try require(bands <= n, "bands must be at most n, got bands=\(bands) > n=\(n)")
        guard params.count == n * bands else {
            throw MFError.shape("params must have \(n) x \(bands) = \(n * bands) entries, got \(params.count)")
        }
        for j in 0..<n {
            for r in 0..<bands where j + r < n && !params[j * bands + r].isFinite {
                throw MFError.invalidArgument("params must be finite (found \(params[j * bands + r]) at [\(j), \(r)])")
            }
            if params[j * bands] == 0 {
                throw MFError.numerical("params[\(j), 0] is zero: the strategy is singular (its diagonal must be nonzero)")
            }
        }
        self.n = n
        self.bands = bands
        self.params = params
        columnNorms = params.withUnsafeBufferPointer { p in
            (0..<n).map { j in scaledNorm(p.baseAddress! + j * bands, Swift.min(bands, n - j)) }
        }
    }

    /// The largest n · b accepted by the constructors (2³³ numbers, 64 GB), so that an absurd
    /// size is reported instead of failing an allocation.
    public static let maxParameters = 1 << 33

    /// Throws unless n · b is at most `maxParameters` and the parameters, with the work copies
    /// a constructor makes (about 3 n b doubles), can be allocated now.
    static func requireSize(_ n: Int, _ bands: Int) throws {
        let (count, overflow) = n.multipliedReportingOverflow(by: Swift.max(bands, 1))
        guard !overflow, count <= maxParameters else {
            throw MFError.outOfMemory("n x bands = \(n) x \(bands) is too large (at most \(maxParameters) parameters)")
        }
        try Memory.requireAllocatable(3 * count + n, bytesPerElement: 8, "a strategy of n x bands = \(n) x \(bands) parameters")
    }

    /// `params[j, r]` if (j, r) lies inside the matrix, else 0.
    @inline(__always)
    public func param(_ j: Int, _ r: Int) -> Double {
        j + r < n ? params[j * bands + r] : 0
    }

    /// The banded Toeplitz strategy with coefficients `coefs` (1 ≤ len ≤ n), normalized to unit
    /// norm, broadcast to every row, lower-right triangle set to zero (as jax_privacy).
    public static func fromBandedToeplitz(n: Int, coefs: [Double]) throws -> ColumnNormalizedBanded {
        try require(n >= 1, "n must be positive, got \(n)")
        let b = coefs.count
        guard b >= 1 && b <= n else {
            throw MFError.invalidArgument("len(coefs) must be in the range [1, n], got \(b)")
        }
        try requireSize(n, b)
        try require(coefs.allSatisfy { $0.isFinite }, "coefs must be finite")
        let norm = coefs.withUnsafeBufferPointer { scaledNorm($0.baseAddress!, b) }
        guard norm > 0, coefs[0] != 0 else {
            throw MFError.invalidArgument("coefs[0] must be nonzero (the strategy's diagonal), got \(coefs[0])")
        }
        var params = [Double](repeating: 0, count: n * b)
        for j in 0..<n { for r in 0..<b where j + r < n { params[j * b + r] = coefs[r] / norm } }
        return try ColumnNormalizedBanded(params: params, n: n, bands: b)
    }

    /// The Toeplitz coefficients of Fichtenberger et al. (2023, Algorithm 1), truncated to
    /// `bands` entries: f_0 = 1, f_k = f_{k−1} (2k − 1) / (2k).
    public static func fichtenbergerCoefficients(_ bands: Int) -> [Double] {
        var coefs = [Double](repeating: 1, count: Swift.max(bands, 0))
        var f = 1.0
        for k in stride(from: 1, to: bands, by: 1) {
            f *= Double(2 * k - 1) / Double(2 * k)
            coefs[k] = f
        }
        return coefs
    }

    /// `fromBandedToeplitz(n, fichtenbergerCoefficients(bands))`: jax_privacy's default start.
    public static func `default`(n: Int, bands: Int) throws -> ColumnNormalizedBanded {
        try Check.positive(n, "n")
        // Checked before the coefficients are made: bands comes from the caller.
        guard bands >= 1 && bands <= n else { throw MFError.invalidArgument("len(coefs) must be in the range [1, n], got \(bands)") }
        try requireSize(n, bands)
        return try fromBandedToeplitz(n: n, coefs: fichtenbergerCoefficients(bands))
    }

    /// Writes the dense n × n matrix C into `out` (float32 or float64, any strides).
    /// Time O(n²) (the zeros are written too), memory O(1) beyond `out`.
    public func materialize(into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 2, shape: [n, n])
        if out.dtype == .float32 { fill(out.matrix(Float.self)) } else { fill(out.matrix(Double.self)) }
    }

    private func fill<T: RealScalar>(_ m: StridedMatrix<T>) {
        for i in 0..<n {
            for j in 0..<n {
                let r = i - j
                m[i, j] = (r >= 0 && r < bands) ? T(params[j * bands + r] / columnNorms[j]) : 0
            }
        }
    }

    /// C⁻¹ as a streaming matrix (one `BandedInverseStage`), for correlated-noise generation:
    /// (C⁻¹ z)[t] from z[t] and the last b − 1 outputs. See `BandedInverseStage` for the cost
    /// and for what happens past row n.
    public func inverse() -> StreamingMatrix {
        StreamingMatrix(stages: [BandedInverseStage(self)])
    }
}

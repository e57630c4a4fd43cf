/// A compiled parameter set of an affine Hermitian matrix model (parametric matrix model):
///
///     M(x) = M_0 + x_1 M_1 + … + x_p M_p + s C,   C = i Σ_{i>j} [M_i, M_j]
///
/// for features x ∈ R^p, Hermitian n × n matrices M_i and smoothing s (without a bias term
/// the sum has no M_0 and the matrices are M_1 … M_p). Names and semantics follow
/// parametricmatrixmodels' `LowRankAffineHermitianMatrix` / `AffineHermitianMatrix`.
///
/// Preparation happens once per parameter set (FFTW's plan/execute split): the full matrices,
/// C, and the kernel operands B = M_0 + s C and A = [M_1; …; M_p] in the working precision.
/// A forward pass is then one dense affine map per sample, `M(x) = B + Σ_i x_i A_i`
/// (see `forward(_:into:)`). The object is immutable and may be shared between threads.
public final class AffineHermitianModel: @unchecked Sendable {
    /// complex64 or complex128: the precision of the kernel and of its output.
    public let dtype: DType
    /// n.
    public let matrixSize: Int
    /// q = p + 1 with a bias term, p without.
    public let matrixCount: Int
    public let biasTerm: Bool
    /// s (0 disables smoothing).
    public let smoothing: Double
    /// The full matrices M_0 … M_{q−1} (or M_1 … M_p without bias), C order (q, n, n),
    /// interleaved (re, im) Doubles: 2 q n² values. Exactly Hermitian.
    public let matrices: [Double]
    /// C = i Σ_{i>j} [M_i, M_j] over the stored matrices, (n, n) interleaved; exactly
    /// Hermitian; zeros when s = 0 (not computed).
    public let smoothingMatrix: [Double]
    /// The low-rank factors the matrices were built from (lambdas (q, r), us (q, r, n)
    /// interleaved), for the parameter gradient; nil for full-rank matrices.
    let factors: (lambdas: [Double], us: [Double], rank: Int)?

    /// Kernel operands, interleaved (re, im): B (2 n² values) and A (p rows of 2 n² values)
    /// packed in panels per segment (`packSegments`).
    let offsetSingle: [Float], slopesSingle: [Float]
    let offsetDouble: [Double], slopesDouble: [Double]
    /// The column ranges (start, length) of a sample's 2 n² values that the kernel computes;
    /// with `triangular`, the rest is mirrored from them.
    let segments: [(start: Int, length: Int)]
    let triangular: Bool

    /// p, the number of features a sample must have.
    public var featureCount: Int { biasTerm ? matrixCount - 1 : matrixCount }

    /// `commutators` is Q = Σ_{i≥1} M_i S_{i−1} (n × n interleaved) when the caller has it
    /// cheaper than the dense product (low rank); otherwise it is computed here when s ≠ 0.
    init(dtype: DType, matrixSize n: Int, matrixCount q: Int, biasTerm: Bool, smoothing: Double,
         matrices: [Double], commutators: [Double]? = nil,
         factors: (lambdas: [Double], us: [Double], rank: Int)? = nil) {
        self.factors = factors
        self.dtype = dtype
        self.matrixSize = n
        self.matrixCount = q
        self.biasTerm = biasTerm
        self.smoothing = smoothing
        self.matrices = matrices
        let m2 = 2 * n * n
        let c = smoothing == 0 ? [Double](repeating: 0, count: m2)
            : Self.smoothingMatrix(fromProducts: commutators ?? Self.commutatorProducts(matrices, n: n, q: q), n: n)
        smoothingMatrix = c
        var offset = [Double](repeating: 0, count: m2)
        for k in 0..<m2 { offset[k] = (biasTerm ? matrices[k] : 0) + smoothing * c[k] }
        let rows = q - (biasTerm ? 1 : 0)
        // Hermitian outputs: with rows a whole number of half vectors long, only the lower
        // triangle is computed (row j: columns 0 ..< L_j, L_j = 2(j+1) rounded up to the half
        // vector width h, 4 floats or 2 doubles; the overrun stays in row j) and the rest is
        // mirrored.
        let h = dtype == .complex64 ? Float.Half.scalarCount : Double.Half.scalarCount
        triangular = n >= 2 && (2 * n) % h == 0
        segments = triangular
            ? (0..<n).map { j in (2 * n * j, min(2 * n, (2 * (j + 1) + h - 1) / h * h)) }
            : [(0, m2)]
        if dtype == .complex64 {
            offsetSingle = offset.map { Float($0) }
            slopesSingle = packSegments(matrices, base: biasTerm ? m2 : 0, rows: rows, width: m2, segments: segments, as: Float.self)
            offsetDouble = []; slopesDouble = []
        } else {
            offsetDouble = offset
            slopesDouble = packSegments(matrices, base: biasTerm ? m2 : 0, rows: rows, width: m2, segments: segments, as: Double.self)
            offsetSingle = []; slopesSingle = []
        }
    }

    static func checkCommon(dtype: DType, smoothing: Double) throws {
        guard dtype == .complex64 || dtype == .complex128 else {
            throw MFError.dtype("dtype must be complex64 or complex128, got \(dtype)")
        }
        try require(smoothing.isFinite, "smoothing must be finite, got \(smoothing)")
    }

    /// The prepared model holds about 4 q n² Doubles; refuse sizes that overflow or would need
    /// more than 2^28 complex entries (4 GiB) before allocating anything.
    static func checkSize(q: Int, n: Int) throws {
        let (nn, o1) = n.multipliedReportingOverflow(by: n)
        let (total, o2) = nn.multipliedReportingOverflow(by: q)
        guard !o1, !o2, total <= 1 << 28 else {
            throw MFError.outOfMemory("\(q) matrices of size \(n) x \(n) are too large for MFKit's PMM kernels (at most 2^28 entries)")
        }
    }

    /// Low-rank matrices M_i = Σ_k λ_{ik} u_{ik} u_{ik}^H from `lambdas` (q, r) real and
    /// `us` (q, r, n) complex (parametricmatrixmodels' layout); the upper triangle is computed
    /// and mirrored, so each M_i is exactly Hermitian with a real diagonal.
    /// Time O(q r n²), with smoothing too (C from the factors); memory O(q n²).
    public static func lowRank(lambdas: StridedArray, us: StridedArray, smoothing: Double,
                               biasTerm: Bool, dtype: DType) throws -> AffineHermitianModel {
        try checkCommon(dtype: dtype, smoothing: smoothing)
        guard lambdas.ndim == 2 else { throw MFError.shape("lambdas must be 2-dimensional (matrices, rank), got shape \(lambdas.shape)") }
        guard us.ndim == 3 else { throw MFError.shape("us must be 3-dimensional (matrices, rank, matrix_size), got shape \(us.shape)") }
        let (q, r, n) = (us.shape[0], us.shape[1], us.shape[2])
        guard q >= 1, r >= 1, n >= 1 else { throw MFError.shape("us must have positive lengths, got shape \(us.shape)") }
        try checkSize(q: q, n: n)
        guard lambdas.shape == [q, r] else {
            throw MFError.shape("lambdas must have shape (\(q), \(r)) to match us of shape \(us.shape), got \(lambdas.shape)")
        }
        let lam = try lambdas.readDoubles("lambdas")
        let u = try us.readComplexDoubles("us")
        try require(lam.allSatisfy { $0.isFinite }, "lambdas must be finite (found NaN or infinity)")
        try require(u.allSatisfy { $0.isFinite }, "us must be finite (found NaN or infinity)")
        var m = [Double](repeating: 0, count: 2 * q * n * n)
        for i in 0..<q {
            let mi = 2 * i * n * n
            for k in 0..<r {
                let l = lam[i * r + k], uk = 2 * (i * r + k) * n
                for a in 0..<n {
                    let (ar, ai) = (l * u[uk + 2 * a], l * u[uk + 2 * a + 1])
                    for b in a..<n {
                        // λ u_a conj(u_b)
                        let (br, bi) = (u[uk + 2 * b], u[uk + 2 * b + 1])
                        m[mi + 2 * (a * n + b)] += ar * br + ai * bi
                        m[mi + 2 * (a * n + b) + 1] += ai * br - ar * bi
                    }
                }
            }
            mirrorUpper(&m, at: mi, n: n)
        }
        let products = smoothing != 0 ? lowRankProducts(lam, u, m, q: q, r: r, n: n) : nil
        return AffineHermitianModel(dtype: dtype, matrixSize: n, matrixCount: q, biasTerm: biasTerm,
                                    smoothing: smoothing, matrices: m, commutators: products,
                                    factors: (lam, u, r))
    }

    /// Q = Σ_{i≥1} M_i S_{i−1} from the factors: M_i S = U_i (Λ_i (U_i^H S)) with U_i the n × r
    /// matrix of the u_ik, so each term costs 2 r n² instead of n³.
    /// Time O(q r n²); memory O(n² + r n).
    static func lowRankProducts(_ lam: [Double], _ u: [Double], _ m: [Double], q: Int, r: Int, n: Int) -> [Double] {
        let nn = n * n
        var prod = [Double](repeating: 0, count: 2 * nn)
        var s = [Double](repeating: 0, count: 2 * nn)   // S_{i−1}
        var w = [Double](repeating: 0, count: 2 * r * n) // Λ_i U_i^H S_{i−1}
        for i in 1..<max(1, q) {
            for e in 0..<(2 * nn) { s[e] += m[2 * (i - 1) * nn + e] }
            for k in 0..<r {
                let uk = 2 * (i * r + k) * n, l = lam[i * r + k]
                for b in 0..<n { w[2 * (k * n + b)] = 0; w[2 * (k * n + b) + 1] = 0 }
                for a in 0..<n {
                    // conj(u_a) λ, times row a of S
                    let (cr, ci) = (l * u[uk + 2 * a], -l * u[uk + 2 * a + 1])
                    for b in 0..<n {
                        let (sr, si) = (s[2 * (a * n + b)], s[2 * (a * n + b) + 1])
                        w[2 * (k * n + b)] += cr * sr - ci * si
                        w[2 * (k * n + b) + 1] += cr * si + ci * sr
                    }
                }
                for a in 0..<n {
                    let (ur, ui) = (u[uk + 2 * a], u[uk + 2 * a + 1])
                    for b in 0..<n {
                        let (wr, wi) = (w[2 * (k * n + b)], w[2 * (k * n + b) + 1])
                        prod[2 * (a * n + b)] += ur * wr - ui * wi
                        prod[2 * (a * n + b) + 1] += ur * wi + ui * wr
                    }
                }
            }
        }
        return prod
    }

    /// Full-rank Hermitian matrices given by the upper triangles of `ms` (q, n, n) complex:
    /// entries above the diagonal are taken as given, the diagonal's real part is kept and the
    /// lower triangle is the conjugate mirror. Time O(q n² + q n³ [smoothing]); memory O(q n²).
    public static func fullRank(matrices ms: StridedArray, smoothing: Double, biasTerm: Bool,
                                dtype: DType) throws -> AffineHermitianModel {
        try checkCommon(dtype: dtype, smoothing: smoothing)
        guard ms.ndim == 3, ms.shape[1] == ms.shape[2] else {
            throw MFError.shape("Ms must be 3-dimensional (matrices, matrix_size, matrix_size), got shape \(ms.shape)")
        }
        let (q, n) = (ms.shape[0], ms.shape[1])
        guard q >= 1, n >= 1 else { throw MFError.shape("Ms must have positive lengths, got shape \(ms.shape)") }
        try checkSize(q: q, n: n)
        var m = try ms.readComplexDoubles("Ms")
        try require(m.allSatisfy { $0.isFinite }, "Ms must be finite (found NaN or infinity)")
        for i in 0..<q { mirrorUpper(&m, at: 2 * i * n * n, n: n) }
        return AffineHermitianModel(dtype: dtype, matrixSize: n, matrixCount: q, biasTerm: biasTerm,
                                    smoothing: smoothing, matrices: m)
    }

    /// Makes the n × n interleaved matrix at `base` Hermitian from its upper triangle.
    static func mirrorUpper(_ m: inout [Double], at base: Int, n: Int) {
        for a in 0..<n {
            m[base + 2 * (a * n + a) + 1] = 0
            for b in (a + 1)..<max(a + 1, n) {
                m[base + 2 * (b * n + a)] = m[base + 2 * (a * n + b)]
                m[base + 2 * (b * n + a) + 1] = -m[base + 2 * (a * n + b) + 1]
            }
        }
    }

    /// Q = Σ_{i≥1} M_i S_{i−1} with S_{i−1} = M_0 + … + M_{i−1}, by dense products (rows of Q
    /// over the cores). Time O(q n³); memory O(q n²).
    static func commutatorProducts(_ m: [Double], n: Int, q: Int) -> [Double] {
        let nn = n * n
        guard q >= 2 else { return [Double](repeating: 0, count: 2 * nn) }
        // Split planes: re/im of M_1 … M_{q−1} and of the cumulative sums S_0 … S_{q−2}.
        var mr = [Double](repeating: 0, count: q * nn), mi = mr, sr = mr, si = mr
        for i in 0..<q {
            for e in 0..<nn {
                mr[i * nn + e] = m[2 * (i * nn + e)]; mi[i * nn + e] = m[2 * (i * nn + e) + 1]
                sr[i * nn + e] = mr[i * nn + e] + (i > 0 ? sr[(i - 1) * nn + e] : 0)
                si[i * nn + e] = mi[i * nn + e] + (i > 0 ? si[(i - 1) * nn + e] : 0)
            }
        }
        var qr = [Double](repeating: 0, count: nn), qi = qr
        mr.withUnsafeBufferPointer { mr in mi.withUnsafeBufferPointer { mi in
        sr.withUnsafeBufferPointer { sr in si.withUnsafeBufferPointer { si in
        qr.withUnsafeMutableBufferPointer { qrb in qi.withUnsafeMutableBufferPointer { qib in
            let (qrp, qip) = (qrb.baseAddress!, qib.baseAddress!)
            parallelFor(n, work: q * nn * n, threshold: 1 << 18) { _, rows in
                for i in 1..<q {
                    let a = i * nn, s = (i - 1) * nn
                    for j in rows {
                        let rowR = qrp + j * n, rowI = qip + j * n
                        for l in 0..<n {
                            let (xr, xi) = (mr[a + j * n + l], mi[a + j * n + l])
                            let b = s + l * n
                            for k in 0..<n {
                                rowR[k] += xr * sr[b + k] - xi * si[b + k]
                                rowI[k] += xr * si[b + k] + xi * sr[b + k]
                            }
                        }
                    }
                }
            }
        }}}}}}
        var prod = [Double](repeating: 0, count: 2 * nn)
        for e in 0..<nn { prod[2 * e] = qr[e]; prod[2 * e + 1] = qi[e] }
        return prod
    }

    /// C = i Σ_{i≥1} [M_i, S_{i−1}] (= i Σ_{i>j} [M_i, M_j] by linearity) from
    /// Q = Σ_{i≥1} M_i S_{i−1}: for Hermitian M_i and S, S M_i = (M_i S)^H, so C = i (Q − Q^H).
    /// The upper triangle is formed and mirrored, so C is exactly Hermitian. Time O(n²).
    static func smoothingMatrix(fromProducts q: [Double], n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: 2 * n * n)
        for j in 0..<n {
            for k in j..<n {
                let dr = q[2 * (j * n + k)] - q[2 * (k * n + j)], di = q[2 * (j * n + k) + 1] + q[2 * (k * n + j) + 1]
                c[2 * (j * n + k)] = -di
                c[2 * (j * n + k) + 1] = dr
            }
        }
        mirrorUpper(&c, at: 0, n: n)
        return c
    }
}

extension AffineHermitianModel {
    /// Writes the full Hermitian matrices (q, n, n) into `out` (complex64 or complex128, any
    /// strides; converted from the model's precision). O(q n²).
    public func writeMatrices(into out: StridedArray) throws {
        try out.requireOutput("out", dtypes: [.complex64, .complex128], shape: [matrixCount, matrixSize, matrixSize])
        matrices.withUnsafeBufferPointer { out.writeComplexElements($0.baseAddress!) }
    }

    /// Writes C (n, n), without the factor s, into `out` (complex64 or complex128, any
    /// strides); zeros when s = 0. O(n²).
    public func writeSmoothingMatrix(into out: StridedArray) throws {
        try out.requireOutput("out", dtypes: [.complex64, .complex128], shape: [matrixSize, matrixSize])
        smoothingMatrix.withUnsafeBufferPointer { out.writeComplexElements($0.baseAddress!) }
    }
}

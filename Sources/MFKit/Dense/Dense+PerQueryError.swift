/// The expected per-query squared error of a general matrix mechanism (jax_privacy's
/// `dense.per_query_error`).
extension Dense {
    /// e_i = ‖B[i, :]‖² for the decoder B = A C⁻¹ (`strategy`: square C) or B = A C⁻¹ with the
    /// noising matrix C⁻¹ given (`noising`, n × m), exactly one of the two; A = `workload`
    /// (k × n; nil: prefix sums, the lower-triangular ones of size n). Writes e into `out`
    /// (length k, float32 or float64). Unless `skipChecks`, jax_privacy's checks run in its
    /// order: A finite, square, lower-triangular; B finite and, when square, lower-triangular;
    /// C finite and lower-triangular (NumPy's allclose tolerances).
    /// Time: n³/3 (triangular inverse) + O(n²) for C with prefix sums; n² k for a general A
    /// (a triangular solve), 2n³/3 + 2n² k for a C that is not exactly lower-triangular (LU);
    /// O(n m) or 2 k n m for C⁻¹. Memory: n² + k m doubles.
    public static func perQueryError(strategy: StridedArray?, noising: StridedArray?, workload: StridedArray?,
                                     skipChecks: Bool = false, into out: StridedArray) throws {
        guard (strategy == nil) != (noising == nil) else {
            throw MFError.invalidArgument("Specify exactly one of strategy_matrix or noising_matrix.")
        }
        let isStrategy = strategy != nil
        let given = strategy ?? noising!
        let name = isStrategy ? "strategy_matrix" : "noising_matrix"
        if isStrategy {
            guard given.dtype.isReal, given.ndim == 2, given.shape[0] == given.shape[1] else {
                if !given.dtype.isReal { throw MFError.dtype("Matrix \(name) must be float32 or float64, got \(given.dtype)") }
                throw MFError.shape("Matrix \(name) should be square")
            }
        }
        let m0 = try Sensitivity.matrix(given, name)
        let n = isStrategy ? m0.cols : m0.rows
        let a = try workload.map { try Sensitivity.matrix($0, "A") }
        if let a, a.cols != n {
            throw MFError.shape("workload_matrix must have n = \(n) columns (\(name) is \(m0.rows) x \(m0.cols)), got \(a.rows) x \(a.cols)")
        }
        let k = a?.rows ?? n, m = m0.cols
        try out.requireOutput("out", ndim: 1, shape: [k])
        if !skipChecks, let a { try a.checkWorkload() }
        guard k > 0 && n > 0 else {   // no queries, or no steps (every error is 0)
            if k > 0 { let zeros = [Double](repeating: 0, count: k); zeros.withUnsafeBufferPointer { out.writeElements($0.baseAddress!) } }
            return
        }

        // B (k × m, row-major) in float64.
        let b = try WorkBuffer<Double>(count: try Check.product(k, m, "B"), "the decoder B")
        let bView = StridedMatrix(base: b.pointer, rows: k, cols: m, rowStride: m, colStride: 1)
        if isStrategy {
            try decoder(c: m0, a: a, into: bView)
        } else if let a {
            let cinv = try m0.doubles("C^-1"), ad = try a.doubles("A")
            try LAPACK.gemm(.none, ad.matrix, .none, cinv.matrix, bView)
        } else {
            for j in 0..<n { m0.row(j, 0..<m, into: b.pointer + j * m) }
            accumulateRows(bView)
        }
        if !skipChecks {
            let bv = RealMatrixView(contiguous: b.pointer, rows: k, cols: m)
            try require(bv.allFinite(), "Matrix B is not finite")
            if k == m { try require(bv.isLowerTriangular(), "Matrix B should be lower-triangular") }
            if isStrategy { try m0.checkEncoder("C") }
        }
        let errors = try WorkBuffer<Double>(count: k, "the per-query errors")
        for i in 0..<k {
            var s = 0.0
            let row = b.pointer + i * m
            for j in 0..<m { s += row[j] * row[j] }
            errors[i] = s
        }
        out.writeElements(errors.pointer)
    }

    /// B = A C⁻¹ for square C (A nil: prefix sums) into `b` (k × n). Exactly lower-triangular C:
    /// a triangular inverse and row prefix sums (prefix workload) or a triangular solve;
    /// otherwise an LU solve of Cᵀ Bᵀ = Aᵀ. A singular C gives non-finite entries (as a
    /// floating-point solve does), which B's check reports.
    static func decoder(c: RealMatrixView, a: RealMatrixView?, into b: StridedMatrix<Double>) throws {
        let n = c.cols, k = b.rows
        var cd = try c.doubles("C")
        if c.isLowerTriangular(exactly: true) {
            if a == nil {
                if (try? LAPACK.trtri(cd.matrix, lower: true)) != nil {
                    for i in 0..<n { for j in 0..<n { b[i, j] = j <= i ? cd.matrix[i, j] : 0 } }
                    accumulateRows(b)
                    return
                }
                cd = try c.doubles("C")   // singular: the solve below gives the non-finite B
                fillPrefixSum(b)
            } else {
                for i in 0..<k { a!.row(i, 0..<n, into: b.base + i * b.rowStride) }
            }
            try LAPACK.trsm(side: .right, lower: true, .none, cd.matrix, b)
            return
        }
        // Cᵀ Bᵀ = Aᵀ: the transposed views of C's copy and of b are solved in place.
        let bt = StridedMatrix(base: b.base, rows: n, cols: k, rowStride: 1, colStride: b.rowStride)
        if let a { for i in 0..<k { a.row(i, 0..<n, into: b.base + i * b.rowStride) } } else { fillPrefixSum(b) }
        do {
            try LAPACK.gesv(cd.matrix.transposed, bt)
        } catch MFError.numerical {
            b.base.update(repeating: .nan, count: k * b.rowStride)
        }
    }

    /// Rows i ← Σ_{r ≤ i} rows r (the prefix-sum workload applied from the left). O(k m).
    static func accumulateRows(_ b: StridedMatrix<Double>) {
        for i in 1..<Swift.max(1, b.rows) {
            let prev = b.base + (i - 1) * b.rowStride, row = b.base + i * b.rowStride
            for j in 0..<b.cols { row[j] += prev[j] }
        }
    }

    /// The lower-triangular matrix of ones. O(n²).
    static func fillPrefixSum(_ b: StridedMatrix<Double>) {
        for i in 0..<b.rows { for j in 0..<b.cols { b[i, j] = j <= i ? 1 : 0 } }
    }
}

/// A row-major float64 copy of a matrix, with its view.
final class DenseCopy {
    let buffer: WorkBuffer<Double>
    let matrix: StridedMatrix<Double>

    init(rows: Int, cols: Int, _ what: String) throws {
        buffer = try WorkBuffer<Double>(count: try Check.product(rows, cols, what), "a copy of \(what)")
        matrix = StridedMatrix(base: buffer.pointer, rows: rows, cols: cols, rowStride: cols, colStride: 1)
    }
}

extension RealMatrixView {
    /// The matrix as row-major doubles. O(rows cols) time and memory.
    func doubles(_ what: String) throws -> DenseCopy {
        let copy = try DenseCopy(rows: rows, cols: cols, what)
        for i in 0..<rows { row(i, 0..<cols, into: copy.buffer.pointer + i * cols) }
        return copy
    }

    /// Zero above the diagonal: exactly, or up to NumPy's allclose (|x| ≤ 1e-8). O(rows cols).
    func isLowerTriangular(exactly: Bool = false) -> Bool {
        let tol = exactly ? 0 : RealMatrixView.atol
        return rowsSatisfy { i in
            for j in (i + 1)..<Swift.max(i + 1, cols) where !(Swift.abs(self[i, j]) <= tol) { return false }
            return true
        }
    }

    /// The checks of a workload A: finite, square, lower-triangular (jax_privacy's order).
    func checkWorkload() throws {
        try require(allFinite(), "Matrix A is not finite")
        guard rows == cols else { throw MFError.shape("Matrix A should be square") }
        try require(isLowerTriangular(), "Matrix A should be lower-triangular")
    }
}

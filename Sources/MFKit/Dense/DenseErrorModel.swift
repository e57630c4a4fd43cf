/// The error of the matrix mechanism with Gram matrix X = Cᵀ C for a workload A (k × n) and
/// its gradient in X, for `Dense.optimize`:
///
///     e_j = (A X⁻¹ Aᵀ)_jj,   L(X) = Σ_j w_j e_j,   ∇L = −Z diag(w) Zᵀ,   Z = X⁻¹ Aᵀ,
///
/// with weights w from the reduction (mean: 1/n, jax_privacy's analytic mean loss). With the
/// Cholesky factor X = L Lᵀ:
/// - prefix sums (A nil): L⁻¹ (trtri); W = L⁻¹ Aᵀ is L⁻¹ with prefix-summed rows, so
///   e_j = ‖W[:, j]‖² in O(n²); X⁻¹ = L⁻ᵀ L⁻¹ (lauum) and Z = X⁻¹ with prefix-summed rows.
///   Loss n³/3 + n³/3, gradient n³/3 + n³ (syrk) more;
/// - a general A: W = L⁻¹ Aᵀ (trsm, n² k), Z = L⁻ᵀ W (trsm). Loss n³/3 + n² k, gradient
///   n² k + n² k (syrk) more.
/// The gradient reuses the factor of the last `loss` call (the optimizer's accepted trial).
/// Memory: n² (+ n k and k n for a general A) doubles. Not thread-safe.
final class DenseErrorModel {
    let n: Int, k: Int
    let reduction: ErrorReduction
    /// Aᵀ (n × k, row-major), nil for prefix sums.
    private let workloadT: DenseCopy?
    /// L⁻¹ (prefix sums) or L (general A) in the lower triangle; then X⁻¹ / Z.
    private let factor: DenseCopy
    /// L⁻¹ Aᵀ, then X⁻¹ Aᵀ (general A only).
    private let solved: DenseCopy?
    /// The per-query errors and the weights of the last `loss`.
    private let errors: WorkBuffer<Double>, weights: WorkBuffer<Double>
    /// Scratch for negative weights (Z diag(sign w)), made on first use.
    private var signed: DenseCopy?
    /// True when `factor` (and `solved`) belong to the X of the last finite `loss`.
    private(set) var factorIsCurrent = false

    init(n: Int, workload: RealMatrixView?, reduction: ErrorReduction) throws {
        self.n = n
        k = workload?.rows ?? n
        self.reduction = reduction
        if case .weights(let w) = reduction, w.count != k {
            throw MFError.shape("weights must have length \(k) (the workload's rows), got \(w.count)")
        }
        if let a = workload {
            let t = try DenseCopy(rows: n, cols: k, "the workload")
            for j in 0..<k { for i in 0..<n { t.matrix[i, j] = a[j, i] } }
            workloadT = t
            solved = try DenseCopy(rows: n, cols: k, "L^-1 A^T")
        } else {
            workloadT = nil; solved = nil
        }
        factor = try DenseCopy(rows: n, cols: n, "the Cholesky factor")
        errors = try WorkBuffer<Double>(count: k, "the per-query errors")
        weights = try WorkBuffer<Double>(count: k, "the per-query weights")
    }

    /// L(X) for X (n × n, row-major, symmetric; the lower triangle is read), or NaN when X is
    /// not positive definite.
    func loss(_ x: UnsafePointer<Double>) throws -> Double {
        factorIsCurrent = false
        factor.buffer.pointer.update(from: x, count: n * n)
        let f = factor.matrix
        do {
            try LAPACK.potrf(f, lower: true)
            if let solved, let workloadT {
                solved.buffer.pointer.update(from: workloadT.buffer.pointer, count: n * k)
                try LAPACK.trsm(side: .left, lower: true, .none, f, solved.matrix)
                columnNormsSquared(solved.matrix)
            } else {
                try LAPACK.trtri(f, lower: true)
                prefixErrors(f)
            }
        } catch MFError.numerical {
            return .nan
        }
        setWeights()
        var total = 0.0
        for j in 0..<k { total += weights[j] * errors[j] }
        factorIsCurrent = total.isFinite
        return total
    }

    /// ∇L at the X of the last finite `loss` into g (n × n, row-major, exactly symmetric).
    func gradient(into g: UnsafeMutablePointer<Double>) throws {
        precondition(factorIsCurrent, "DenseErrorModel.gradient needs a finite loss first")
        factorIsCurrent = false   // the factor is overwritten below
        let z: StridedMatrix<Double>
        if let solved {
            try LAPACK.trsm(side: .left, lower: true, .transpose, factor.matrix, solved.matrix)
            z = solved.matrix
        } else {
            try LAPACK.lauum(factor.matrix, lower: true)
            z = factor.matrix
            mirrorLower(z)
            accumulateWithinRows(z)
        }
        // −Z diag(w) Zᵀ = −(Z S)(Z S)ᵀ with S = diag(√|w|), signs through a product when needed.
        for i in 0..<z.rows {
            let row = z.base + i * z.rowStride
            for j in 0..<k { row[j] *= Swift.abs(weights[j]).squareRoot() }
        }
        let gv = StridedMatrix(base: g, rows: n, cols: n, rowStride: n, colStride: 1)
        if (0..<k).allSatisfy({ weights[$0] >= 0 }) {
            try LAPACK.syrk(z, gv, lower: true, alpha: -1, beta: 0)
            mirrorLower(gv)
        } else {
            if signed == nil { signed = try DenseCopy(rows: n, cols: k, "the signed factor") }
            let t = signed!.matrix
            for i in 0..<n { for j in 0..<k { t[i, j] = weights[j] < 0 ? -z[i, j] : z[i, j] } }
            try LAPACK.gemm(.none, t, .transpose, z, gv, alpha: -1, beta: 0)
        }
    }

    /// The per-query errors of the last `loss` (k of them).
    var perQueryErrors: UnsafePointer<Double> { UnsafePointer(errors.pointer) }

    /// e_j = Σ_i W[i, j]² for W = L⁻¹ Aᵀ with A the prefix sums, from L⁻¹ (lower triangle of f):
    /// row i of W is the prefix sum p of row i of L⁻¹, constant (its total r_i) from column i on.
    /// O(n²).
    private func prefixErrors(_ f: StridedMatrix<Double>) {
        let e = errors.pointer
        e.update(repeating: 0, count: n)
        var tail = 0.0   // Σ r_i² over the rows i ≤ j seen so far, added to e_j below
        let suffix = weights.pointer   // scratch: r_i² at index i (weights are set after)
        for i in 0..<n {
            let row = f.base + i * f.rowStride
            var p = 0.0
            for j in 0..<i {
                p += row[j]
                e[j] += p * p
            }
            p += row[i]
            suffix[i] = p * p
        }
        for j in 0..<n {
            tail += suffix[j]
            e[j] += tail
        }
    }

    /// e_j = ‖W[:, j]‖² for W (n × k). O(n k).
    private func columnNormsSquared(_ w: StridedMatrix<Double>) {
        let e = errors.pointer
        e.update(repeating: 0, count: k)
        for i in 0..<w.rows {
            let row = w.base + i * w.rowStride
            for j in 0..<k { e[j] += row[j] * row[j] }
        }
    }

    /// The weights of the reduction at the current errors (max: one-hot at the first arg-max).
    private func setWeights() {
        switch reduction {
        case .mean: weights.buffer.update(repeating: 1 / Double(n))
        case .last:
            weights.fill(0); weights[k - 1] = 1
        case .max:
            var best = 0
            for j in 1..<Swift.max(1, k) where errors[j] > errors[best] { best = j }
            weights.fill(0); weights[best] = 1
        case .weights(let w):
            for j in 0..<k { weights[j] = w[j] }
        }
    }
}

/// m[i, j] = m[j, i] for j > i (the upper triangle from the lower), in 64 × 64 tiles. O(n²).
func mirrorLower(_ m: StridedMatrix<Double>) {
    let n = m.rows, tile = 64
    for ib in stride(from: 0, to: n, by: tile) {
        for jb in stride(from: ib, to: n, by: tile) {
            for i in ib..<Swift.min(ib + tile, n) {
                for j in Swift.max(jb, i + 1)..<Swift.max(Swift.max(jb, i + 1), Swift.min(jb + tile, n)) { m[i, j] = m[j, i] }
            }
        }
    }
}

/// Rows of m replaced by their prefix sums along the row: m[i, j] ← Σ_{l ≤ j} m[i, l]
/// (X⁻¹ Aᵀ for the prefix-sum A). O(n²).
func accumulateWithinRows(_ m: StridedMatrix<Double>) {
    for i in 0..<m.rows {
        let row = m.base + i * m.rowStride
        for j in 1..<Swift.max(1, m.cols) { row[j] += row[j - 1] }
    }
}

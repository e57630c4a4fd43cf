/// The lower-triangular strategy of a Gram matrix (jax_privacy's `dense.strategy_from_X`).
extension Dense {
    /// C lower-triangular with Cᵀ C = X, for X symmetric positive definite (its symmetric part
    /// (X + Xᵀ)/2 is used, as jnp.linalg.cholesky does): with J the reversal, J X J = R Rᵀ
    /// (Cholesky) and C = J Rᵀ J. Written into `out` ((n, n), float32 or float64; may be X
    /// itself). MFError.numerical when X is not positive definite (jax_privacy returns NaN).
    /// Time n³/3; memory n² doubles.
    public static func strategyFromX(_ x: StridedArray, into out: StridedArray) throws {
        let xv = try Sensitivity.matrix(x, "X")
        guard xv.rows == xv.cols else { throw MFError.shape("Matrix X should be square") }
        try require(xv.allFinite(), "Matrix X is not finite")
        let n = xv.rows
        try out.requireOutput("out", ndim: 2, shape: [n, n])
        try out.requireDisjoint(from: x, "out", "X", allowSameView: true)
        let y = try DenseCopy(rows: n, cols: n, "X")
        for i in 0..<n { for j in 0...i { y.matrix[i, j] = (xv[n - 1 - i, n - 1 - j] + xv[n - 1 - j, n - 1 - i]) / 2 } }
        try strategy(fromReversedGram: y.matrix)
        out.writeElements(y.buffer.pointer)
    }

    /// In place: the lower triangle of `y` holds J X J; on return `y` holds C (zeros above the
    /// diagonal). Time n³/3.
    static func strategy(fromReversedGram y: StridedMatrix<Double>) throws {
        let n = y.rows
        do {
            try LAPACK.potrf(y, lower: true)
        } catch MFError.numerical {
            throw MFError.numerical("Matrix X is not positive definite (it has no Cholesky factor)")
        }
        for i in 0..<n { for j in (i + 1)..<Swift.max(i + 1, n) { y[i, j] = 0 } }
        // C[i, j] = R[n−1−j, n−1−i]: the anti-transpose, an involution swapped in place.
        for i in 0..<n {
            for j in 0..<Swift.max(0, n - 1 - i) {
                let t = y[i, j]
                y[i, j] = y[n - 1 - j, n - 1 - i]
                y[n - 1 - j, n - 1 - i] = t
            }
        }
    }
}

/// Dense (explicitly represented) strategies, following `jax_privacy.matrix_factorization.dense`:
/// the per-query error of a general matrix mechanism, the fixed-epoch orthogonality mask, the
/// lower-triangular strategy of a Gram matrix, and the optimal strategy for a workload.
/// Notation: A the workload (k × n, prefix sums by default), C the strategy (encoder, n × n
/// lower-triangular), C⁻¹ a noising matrix (n × m), B = A C⁻¹ the decoder, X = Cᵀ C. The work
/// runs in float64 on the BLAS/LAPACK layer (an OpenBLAS found at run time).
public enum Dense {}

extension Dense {
    /// get_orthogonal_mask(n, epochs): the n × n 0/1 mask M with M[i, j] = 0 when i ≠ j and
    /// i ≡ j (mod b), b = n / epochs (the steps one user participates in under (epochs,
    /// b)-fixed-epoch order), 1 elsewhere; written into `out` ((n, n), float32 or float64).
    /// epochs ≥ 1 must divide n. Time O(n²); memory n² doubles.
    public static func orthogonalMask(n: Int, epochs: Int, into out: StridedArray) throws {
        try Check.nonNegative(n, "n")
        try requireEpochs(epochs, n: n)
        try out.requireOutput("out", ndim: 2, shape: [n, n])
        let b = n / Swift.max(epochs, 1)
        let mask = try WorkBuffer<Double>(count: try Check.product(n, n, "the mask"), "the mask")
        for i in 0..<n { for j in 0..<n { mask[i * n + j] = i != j && (i - j) % b == 0 ? 0 : 1 } }
        out.writeElements(mask.pointer)
    }

    static func requireEpochs(_ epochs: Int, n: Int) throws {
        try Check.positive(epochs, "epochs")
        try require(n % epochs == 0, "epochs=\(epochs) must divide n=\(n) (fixed-epoch order needs n / epochs steps per epoch)")
    }
}

extension Sensitivity {
    /// The sensitivity under (k, b)-fixed-epoch participation with k = `epochs` and
    /// b = n / epochs steps per epoch: a user takes part in steps j, j + b, …, j + (k − 1) b
    /// for one j < b, and the result is sqrt(max_j Σ_{a,c < k} |X[j + a b, j + c b]|)
    /// (Choquette-Choo et al. 2022, Eq. 5, with absolute values for negative entries).
    /// Checks X (finite, square, symmetric), epochs > 0 and epochs dividing n.
    /// Time O(n²) (the checks) + O(n k); memory O(1); X read in place.
    public static func fixedEpoch(x: StridedArray, epochs: Int) throws -> Double {
        let x = try gramMatrix(x)
        let n = try requireEpochs(epochs, x.rows)
        let b = n / epochs
        var best = 0.0
        for j in 0..<b {
            var total = 0.0
            for a in 0..<epochs { for c in 0..<epochs { total += Swift.abs(x[j + a * b, j + c * b]) } }
            best = Swift.max(best, total)
        }
        return best.squareRoot()
    }

    /// As `fixedEpoch(x:…)` for X = Cᵀ C of an encoder C (k × n), checked first (finite;
    /// lower-triangular when square). Only the k² entries of X per pattern are formed, as
    /// column dot products over overlapping supports. Time O(k n) + O(b k² · overlap)
    /// = O(n k · rows) at most, patterns split over the cores; memory n · rows doubles.
    public static func fixedEpoch(c: StridedArray, epochs: Int) throws -> Double {
        let c = try encoder(c)
        let n = try requireEpochs(epochs, c.cols)
        let b = n / epochs
        let store = try ColumnStore(c)
        let totalsBuffer = try WorkBuffer<Double>(count: b, "the pattern totals")
        let totals = totalsBuffer.pointer
        parallelFor(b, work: epochs * epochs * c.rows * b / 2, threshold: 1 << 16) { _, range in
            for j in range {
                var total = 0.0
                for a in 0..<epochs {
                    total += store.dot(j + a * b, j + a * b)
                    for e in (a + 1)..<Swift.max(a + 1, epochs) {
                        total += 2 * Swift.abs(store.dot(j + a * b, j + e * b))
                    }
                }
                totals[j] = total
            }
        }
        var best = 0.0
        for j in 0..<b {
            guard totals[j].isFinite else { throw MFError.invalidArgument("Matrix X is not finite") }
            best = Swift.max(best, totals[j])
        }
        return best.squareRoot()
    }

    /// n, after jax_privacy's checks on epochs; n must be positive.
    static func requireEpochs(_ epochs: Int, _ n: Int) throws -> Int {
        try require(epochs > 0, "epochs=\(epochs) must be positive.")
        try require(n % epochs == 0, "epochs=\(epochs) must divide n=\(n).")
        try require(n > 0, "Matrix X is empty (n=0).")
        return n
    }
}

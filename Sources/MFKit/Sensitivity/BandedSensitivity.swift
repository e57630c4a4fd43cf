extension Sensitivity {
    /// The exact (min_sep, max_participations) sensitivity of C when every two columns i, j
    /// with |i − j| ≥ min_sep are orthogonal (X = Cᵀ C is min_sep-banded; e.g. C lower-
    /// triangular with at most min_sep bands): sqrt(max over patterns of Σ_{i∈π} X[i, i]).
    /// Checks X (finite, square, symmetric), 1 ≤ min_sep ≤ n, and that X is exactly zero off
    /// the band, with jax_privacy's messages.
    /// Time O(n²) (the checks) + O(n k) (the pattern search); memory O(n); X read in place.
    public static func banded(x: StridedArray, minSep: Int, maxParticipations: Int?) throws -> Double {
        let x = try gramMatrix(x)
        let n = x.rows
        try requireMinSepInRange(minSep, n)
        let zeroOffBand = x.rowsSatisfy { i in
            for j in 0..<n where Swift.abs(i - j) >= minSep && x[i, j] != 0 { return false }
            return true
        }
        guard zeroOffBand else { throw notOrthogonal }
        let diag = try WorkBuffer<Double>(count: n, "the diagonal of X")
        for i in 0..<n { diag[i] = x[i, i] }
        return try maxParticipationForLinearFn(UnsafeBufferPointer(diag.buffer), minSep: minSep,
                                               maxParticipations: maxParticipations).squareRoot()
    }

    /// As `banded(x:…)` for X = Cᵀ C of an encoder C (k × n), checked first (finite;
    /// lower-triangular when square). X is never formed: its diagonal is the column norms,
    /// and the zero test computes a dot product only for columns |i − j| ≥ min_sep whose
    /// supports (first to last nonzero row) overlap — none for a C with at most min_sep
    /// bands, and the scan of column i stops at the first column from which no later one
    /// starts inside column i's support. Time O(k n) for a lower-triangular C with at most
    /// min_sep bands; O(k n + n² + overlaps) at most (up to O(k n²) for a dense C that
    /// passes, which is rare); memory n k doubles (the packed columns).
    public static func banded(c: StridedArray, minSep: Int, maxParticipations: Int?) throws -> Double {
        let c = try encoder(c)
        let n = c.cols
        let store = try ColumnStore(c)
        let diag = try WorkBuffer<Double>(count: n, "the diagonal of X")
        for j in 0..<n { diag[j] = store.dot(j, j) }
        guard diag.buffer.allSatisfy({ $0.isFinite }) else { throw MFError.invalidArgument("Matrix X is not finite") }
        try requireMinSepInRange(minSep, n)
        // firstRow[j] = the first nonzero row of any column from j on: once it reaches the
        // end of column i's support, no later column overlaps column i.
        let firstRows = try WorkBuffer<Int>(count: n + 1, "column supports")
        let firstRow = firstRows.pointer
        firstRow[n] = Int.max
        for j in stride(from: n - 1, through: 0, by: -1) { firstRow[j] = Swift.min(store.lo[j], firstRow[j + 1]) }
        let workers = Swift.max(1, Swift.min(Threads.count, n))
        // Rows of the upper triangle shrink with i: deal them round-robin, one stride per part.
        let orthogonal = parallelReduce(workers, work: n * n, threshold: 1 << 16, { parts in
            for w in parts {
                for i in stride(from: w, to: n, by: workers) {
                    let (a, b) = (store.lo[i], store.hi[i])
                    if a >= b { continue }
                    var j = i + minSep
                    while j < n && firstRow[j] < b {
                        if store.lo[j] < b && a < store.hi[j] && store.dot(i, j) != 0 { return false }
                        j += 1
                    }
                }
            }
            return true
        }, combine: { $0 && $1 }) ?? true
        guard orthogonal else { throw notOrthogonal }
        return try maxParticipationForLinearFn(UnsafeBufferPointer(diag.buffer), minSep: minSep,
                                               maxParticipations: maxParticipations).squareRoot()
    }

    static func requireMinSepInRange(_ minSep: Int, _ n: Int) throws {
        try require(minSep >= 1 && minSep <= n, "min_sep must be in the range [1, \(n)], found \(minSep).")
    }

    static let notOrthogonal = MFError.invalidArgument(
        "All columns of C corresponding to iterations i and j where user might participate "
            + "(that is, |i - j| < min_sep + 1) must be orthogonal.")
}

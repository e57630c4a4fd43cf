extension Sensitivity {
    /// An upper bound on the (min_sep, max_participations) sensitivity for any X = Cᵀ C:
    /// v_i = max over patterns π of Σ_{j∈π} |X[i, j]| for every row i, then the same maximum
    /// over v, and the square root (Choquette-Choo et al. 2023). At least the exact value;
    /// equal for a diagonal X and often (not always: a row may pick two entries of its band)
    /// for a min_sep-banded one. Checks X (finite, square, symmetric) and min_sep ≥ 1.
    ///
    /// Time O(n²) for the checks plus n + 1 runs of `maxParticipationForLinearFn` on length n:
    /// O(n²) without a binding participation cap, O(n²) (k ≤ 64) to O(n² log n) for min_sep = 1, O(n² k)
    /// otherwise (often less: each run stops when its table stops changing); rows are split
    /// over the cores. Memory O(n) per core; X is read in place.
    public static func minSepUpperBound(x: StridedArray, minSep: Int, maxParticipations: Int?) throws -> Double {
        let x = try gramMatrix(x)
        let k = try minsepTrueMaxParticipations(n: x.rows, minSep: minSep, maxParticipations: maxParticipations)
        return try upperBound(x, minSep, k)
    }

    /// As `minSepUpperBound(x:…)` for X = Cᵀ C of an encoder C (k × n), which is checked
    /// first (finite; lower-triangular when square). X is formed by `gram`.
    /// Time O(k n²/2) for X (n³/6 for a lower-triangular C, O(n b²) for a banded one) plus the
    /// above; memory n² + n k doubles.
    public static func minSepUpperBound(c: StridedArray, minSep: Int, maxParticipations: Int?) throws -> Double {
        let c = try encoder(c)
        let k = try minsepTrueMaxParticipations(n: c.cols, minSep: minSep, maxParticipations: maxParticipations)
        let n = c.cols
        let x = try WorkBuffer<Double>(count: try Check.product(n, n, "X"), "X")
        try gram(c, into: x.pointer)
        try checkGramFinite(x.pointer, n * n)
        return try upperBound(RealMatrixView(contiguous: x.pointer, rows: n, cols: n), minSep, k)
    }

    /// The bound for a checked X and a capped participation count k.
    static func upperBound(_ x: RealMatrixView, _ minSep: Int, _ k: Int) throws -> Double {
        let n = x.rows
        guard n > 0, k > 0 else { return 0 }
        let rowMaxima = try WorkBuffer<Double>(count: n, "the row maxima")
        let rowMax = rowMaxima.pointer
        parallelFor(n, work: n * n, threshold: 1 << 14) { _, range in
            let row = UnsafeMutablePointer<Double>.allocate(capacity: 3 * (n + 1))
            defer { row.deallocate() }
            let scratch = row + (n + 1)
            for i in range {
                x.row(i, 0..<n, into: row)
                for j in 0..<n { row[j] = Swift.abs(row[j]) }
                rowMax[i] = maxLinear(row, n, minSep, k, scratch)
            }
        }
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 2 * (n + 1))
        defer { scratch.deallocate() }
        return maxLinear(rowMax, n, minSep, k, scratch).squareRoot()
    }

    /// Throws jax_privacy's message when an X computed from C overflowed.
    static func checkGramFinite(_ x: UnsafePointer<Double>, _ count: Int) throws {
        for i in 0..<count where !x[i].isFinite { throw MFError.invalidArgument("Matrix X is not finite") }
    }
}

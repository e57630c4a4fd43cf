extension Sensitivity {
    /// max_j ‖C[:, j]‖₂: the sensitivity of C (k × n) when a user takes part once.
    /// Checks C first (finite; lower-triangular when square).
    /// Time O(k n), columns split over the cores; memory O(n).
    public static func singleParticipation(_ c: StridedArray) throws -> Double {
        let c = try encoder(c)
        try require(c.cols > 0, "Matrix C has no columns")
        let norms = try columnNormsSquared(c)
        return norms.buffer.max()!.squareRoot()
    }

    /// ‖C[:, j]‖² for every column j, summed down the rows. Time O(k n) over the cores,
    /// memory O(n).
    static func columnNormsSquared(_ c: RealMatrixView) throws -> WorkBuffer<Double> {
        let k = c.rows, n = c.cols
        let norms = try WorkBuffer<Double>(count: n, zeroed: true, "the column norms of C")
        guard k > 0 && n > 0 else { return norms }
        let out = norms.pointer
        parallelFor(n, work: k * n) { _, range in
            let row = UnsafeMutablePointer<Double>.allocate(capacity: range.count)
            defer { row.deallocate() }
            let acc = out + range.lowerBound
            for r in 0..<k {
                c.row(r, range, into: row)
                for j in 0..<range.count { acc[j] += row[j] * row[j] }
            }
        }
        return norms
    }
}

extension ColumnNormalizedBanded {
    /// `per_query_error(C, A)`: e_t = ‖(A C⁻¹)[t, :n]‖² for t < n, for a workload A built from
    /// prefix sums, momentum, diagonals and the identity (see `WorkloadSystem`).
    /// Time O(n (b − 1 + q)²), memory O((b + q)²) — against O(n² b) for streaming n unit
    /// vectors through C⁻¹ (which `StreamingMatrix.rowNormsSquared` does, as a test oracle).
    /// Accurate whatever the scale of params; for a C close to singular the values come from
    /// the square-root recursion (about 5x the time), and beyond its precision this throws
    /// MFError.numerical (see `BandedErrorModel`) rather than return a wrong value.
    public func perQueryError(workload: StreamingMatrix = .prefixSum()) throws -> [Double] {
        let model = try BandedErrorModel(n: n, bands: bands, workload: workload)
        try model.requireWorkspace(gradient: false)
        var e = [Double](repeating: 0, count: n)
        try params.withUnsafeBufferPointer { p in
            try e.withUnsafeMutableBufferPointer { try model.errors(params: p.baseAddress!, into: $0.baseAddress!) }
        }
        return e
    }

    /// The loss reduction(per-query error) and, if asked, its gradient with respect to params
    /// (row-major n × b, zero on the lower-right triangle, orthogonal to every row). Time
    /// about 5 n D² with the gradient (D = b − 1 + q), memory O(n b + √n D²); throws
    /// MFError.numerical where the gradient cannot be trusted (see `BandedErrorModel`).
    public func loss(workload: StreamingMatrix = .prefixSum(), reduction: ErrorReduction = .mean,
                     gradient: Bool = false) throws -> (loss: Double, gradient: [Double]?) {
        if case .weights(let w) = reduction, w.count != n {
            throw MFError.shape("weights must have length n=\(n), got \(w.count)")
        }
        let model = try BandedErrorModel(n: n, bands: bands, workload: workload)
        try model.requireWorkspace(gradient: gradient)
        var g = gradient ? [Double](repeating: 0, count: n * bands) : nil
        let value: Double = try params.withUnsafeBufferPointer { p in
            if g != nil {
                return try g!.withUnsafeMutableBufferPointer {
                    try model.loss(params: p.baseAddress!, reduction: reduction, gradient: $0.baseAddress!)
                }
            }
            return try model.loss(params: p.baseAddress!, reduction: reduction)
        }
        return (value, g)
    }
}

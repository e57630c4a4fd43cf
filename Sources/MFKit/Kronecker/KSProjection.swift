extension Kron {
    /// The Frobenius-nearest Kronecker sum to an N x N matrix M (`ks_project`): writes factors
    /// A_k (d_k x d_k, d_k read from outs[k]'s shape, Π d_k = N) with
    ///   A_k = A(·,·|k) - (K-1)/K · tr(M)/N · I,
    /// A(·,·|k) the factorwise average. ⊕ A_k is the orthogonal projection of M onto the
    /// Kronecker sums; the factors are unique only up to trace shifts c_k I with Σ c_k = 0, and
    /// this convention gives every factor the same mean diagonal tr(M)/(K N). Projecting
    /// ⊕ B_k returns factors with ⊕ A_k = ⊕ B_k.
    /// Time O(N Σ d_k); memory O(Σ d_k^2) Doubles (per thread for one factor at a time).
    public static func ksProject(_ mat: StridedArray, into outs: [StridedArray]) throws {
        try KronCheck.factorCount(outs.count, "output factor")
        guard mat.dtype.isReal else { throw MFError.dtype("mat must be float32 or float64, got \(mat.dtype)") }
        try KronCheck.square(mat, "mat")
        let names = outs.indices.map { "out[\($0)]" }
        for (o, name) in zip(outs, names) {
            guard o.ndim == 2 && o.shape[0] == o.shape[1] else {
                throw MFError.shape("\(name) must be a square matrix, got shape \(o.shape)")
            }
        }
        let dims = outs.map { $0.shape[0] }
        let n = try KronCheck.product(dims, "out factor")
        guard mat.shape[0] == n else {
            throw MFError.shape("mat has shape \(mat.shape) but the output factors' sizes \(dims) multiply to \(n)")
        }
        for (o, name) in zip(outs, names) { try KronCheck.output(o, name, shape: o.shape, dtype: mat.dtype) }
        try Array(zip(outs, names)).requireDisjoint(from: [(mat, "mat")])
        switch mat.dtype {
        case .float32: try denseProjection(mat.matrix(Float.self), dims, outs.map { $0.matrix(Float.self) })
        default: try denseProjection(mat.matrix(Double.self), dims, outs.map { $0.matrix(Double.self) })
        }
    }

    private static func denseProjection<T: RealScalar>(_ m: StridedMatrix<T>, _ dims: [Int], _ outs: [StridedMatrix<T>]) throws {
        let n = dims.reduce(1, *), kk = Double(dims.count)
        var trace = CompensatedSum()
        for i in 0..<n { trace.add(m[i, i].asDouble) }
        let shift = dims.count == 1 ? 0 : (kk - 1) / kk * trace.value / Double(n)
        let factors = try dims.indices.map { k -> [Double] in
            var a = try blockAverage(m, dims, k)
            for i in 0..<dims[k] { a[i * dims[k] + i] -= shift }
            return a
        }
        for (a, o) in zip(factors, outs) { store(a, o) }
    }

    /// The diagonal KS projection (`ks_project_diag`): for a length-N vector v and outputs of
    /// lengths d_k (Π d_k = N), out[k][i] = (d_k/N) Σ_{i_k = i} v - (K-1)/K · Σv / N, the
    /// diagonal case of `ksProject` (same trace convention).
    /// One pass over v accumulating every axis' sums at once (the trailing axes into an L-long
    /// accumulator, the others per row), over the cores; accumulated in Double with
    /// compensated row totals. Time O(N); memory O(L + Σ d_k) Doubles per thread.
    public static func ksProjectDiag(_ vec: StridedArray, into outs: [StridedArray]) throws {
        try KronCheck.factorCount(outs.count, "output factor")
        guard vec.dtype.isReal else { throw MFError.dtype("vec must be float32 or float64, got \(vec.dtype)") }
        try KronCheck.vector(vec, "vec")
        let dims = try checkVectorOutputs(outs, dtype: vec.dtype)
        let n = try KronCheck.product(dims, "out factor")
        guard vec.shape[0] == n else {
            throw MFError.shape("vec has length \(vec.shape[0]) but the output factors' lengths \(dims) multiply to \(n)")
        }
        try outs.enumerated().map { ($1, "out[\($0)]") }.requireDisjoint(from: [(vec, "vec")])
        switch vec.dtype {
        case .float32: storeFactors(axisTotals(vec.vector(Float.self), dims).projection(), outs, Float.self)
        default: storeFactors(axisTotals(vec.vector(Double.self), dims).projection(), outs, Double.self)
        }
    }

    /// Checks 1-D outputs of one dtype; returns their lengths.
    static func checkVectorOutputs(_ outs: [StridedArray], dtype: DType) throws -> [Int] {
        for (k, o) in outs.enumerated() {
            guard o.ndim == 1 else { throw MFError.shape("out[\(k)] must be one-dimensional, got shape \(o.shape)") }
            try KronCheck.output(o, "out[\(k)]", shape: o.shape, dtype: dtype)
        }
        return outs.map { $0.shape[0] }
    }

    static func storeFactors<T: RealScalar>(_ factors: [[Double]], _ outs: [StridedArray], _: T.Type) {
        for (values, o) in zip(factors, outs) { storeVector(values, o.vector(T.self)) }
    }
}

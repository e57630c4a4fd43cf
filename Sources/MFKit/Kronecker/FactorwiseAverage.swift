extension Kron {
    /// out = A(·,·|k), the average of the d_k x d_k diagonal blocks of factor k of an N x N
    /// matrix M (`factorwise_average`; the A(i,j|k) of Greenewald, Zhou and Hero):
    /// out[i, j] = (d_k / N) Σ_{l} M[(l, i at axis k), (l, j at axis k)], the sum running over
    /// the N / d_k multi-indices l of the other axes. `axis` counts from 0.
    ///
    /// For M = A_1 ⊕ ... ⊕ A_K this is A_k + Σ_{l≠k} tr(A_l)/d_l I.
    /// Time O(N d_k) (each used element of M read once), memory O(d_k^2) Doubles per thread;
    /// accumulated in Double.
    public static func factorwiseAverage(_ mat: StridedArray, dims: [Int], axis: Int,
                                         into out: StridedArray) throws {
        let n = try checkDims(dims, axis: axis)
        guard mat.dtype.isReal else { throw MFError.dtype("mat must be float32 or float64, got \(mat.dtype)") }
        try KronCheck.square(mat, "mat")
        guard mat.shape[0] == n else {
            throw MFError.shape("mat has shape \(mat.shape) but dims \(dims) multiply to \(n)")
        }
        try KronCheck.output(out, "out", shape: [dims[axis], dims[axis]], dtype: mat.dtype)
        try [(out, "out")].requireDisjoint(from: [(mat, "mat")])
        switch mat.dtype {
        case .float32: store(try blockAverage(mat.matrix(Float.self), dims, axis), out.matrix(Float.self))
        default: store(try blockAverage(mat.matrix(Double.self), dims, axis), out.matrix(Double.self))
        }
    }

    /// out = the average of v over every axis but k: out[i] = (d_k / N) Σ_{i_k = i} v
    /// (`factorwise_average_diag`). One pass over v (all axes' sums at once); time O(N),
    /// memory O(L + Σ d_k) Doubles per thread; accumulated in Double.
    public static func factorwiseAverageDiag(_ vec: StridedArray, dims: [Int], axis: Int,
                                             into out: StridedArray) throws {
        let n = try checkDims(dims, axis: axis)
        guard vec.dtype.isReal else { throw MFError.dtype("vec must be float32 or float64, got \(vec.dtype)") }
        try KronCheck.vector(vec, "vec")
        guard vec.shape[0] == n else {
            throw MFError.shape("vec has length \(vec.shape[0]) but dims \(dims) multiply to \(n)")
        }
        try KronCheck.output(out, "out", shape: [dims[axis]], dtype: vec.dtype)
        try [(out, "out")].requireDisjoint(from: [(vec, "vec")])
        switch vec.dtype {
        case .float32: storeVector(axisTotals(vec.vector(Float.self), dims).average(axis), out.vector(Float.self))
        default: storeVector(axisTotals(vec.vector(Double.self), dims).average(axis), out.vector(Double.self))
        }
    }

    /// N = Π dims, with 0 <= axis < K.
    static func checkDims(_ dims: [Int], axis: Int) throws -> Int {
        try KronCheck.factorCount(dims.count, "dimension in dims")
        let n = try KronCheck.product(dims, "dims entry")
        guard axis >= 0 && axis < dims.count else {
            throw MFError.invalidArgument("axis \(axis) is out of range for \(dims.count) factors (0 ..< \(dims.count))")
        }
        return n
    }

    /// The d x d block average of axis k as row-major Doubles. Rows of M advance by rs, columns
    /// by cs; the block of other-index l starts at M[b, b] with b = flat index of (l, 0 at k)
    /// and steps by s_k = Π_{l>k} d_l in both directions.
    static func blockAverage<T: RealScalar>(_ m: StridedMatrix<T>, _ dims: [Int], _ k: Int) throws -> [Double] {
        let d = dims[k], s = dims[(k + 1)...].reduce(1, *)
        let n = dims.reduce(1, *), others = n / d
        let workers = Threads.count
        let sums = try WorkBuffer<Double>(count: try Check.product(workers, d * d, "the block sums"), zeroed: true,
                                          "the block sums")
        let acc = sums.pointer
        let rs = m.rowStride * s, cs = m.colStride * s, diagStep = m.rowStride + m.colStride
        parallelFor(others, work: n * d, threshold: 1 << 16, workers: workers) { worker, range in
            let a = acc + worker * d * d
            for l in range {
                let b = (l / s) * d * s + l % s
                let p = m.base + b * diagStep
                for i in 0..<d {
                    let row = p + i * rs, ai = a + i * d
                    if cs == 1 {
                        for j in 0..<d { ai[j] += row[j].asDouble }
                    } else {
                        for j in 0..<d { ai[j] += row[j * cs].asDouble }
                    }
                }
            }
        }
        var result = [Double](repeating: 0, count: d * d)
        for w in 0..<workers { for e in 0..<d * d { result[e] += acc[w * d * d + e] } }
        let scale = 1 / Double(others)
        return result.map { $0 * scale }
    }

    /// Per-axis sums of a vector in one pass, over the cores.
    static func axisTotals<T: RealScalar>(_ v: StridedVector<T>, _ dims: [Int]) -> AxisTotals {
        parallelAxisSums(TailSplit(dims, cap: accumulatorCap), v.count, work: v.count) { acc, lo, hi in
            acc.add(UnsafePointer(v.base + lo * v.stride), v.stride, hi - lo)
        }
    }

    static func store<T: RealScalar>(_ values: [Double], _ out: StridedMatrix<T>) {
        for i in 0..<out.rows { for j in 0..<out.cols { out[i, j] = T(values[i * out.cols + j]) } }
    }

    static func storeVector<T: RealScalar>(_ values: [Double], _ out: StridedVector<T>) {
        for i in 0..<out.count { out.base[i * out.stride] = T(values[i]) }
    }
}

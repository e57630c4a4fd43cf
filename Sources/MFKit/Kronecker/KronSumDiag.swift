extension Kron {
    /// out = diag(diag(v_1) ⊕ ... ⊕ diag(v_K)): out[i] = Σ_k v_k[i_k], length N = Π d_k
    /// (`kronsum_diag`), for any K >= 1.
    ///
    /// The trailing factors are folded into one precomputed run of L values (see TailSplit);
    /// each row of out is that run plus a scalar (the head factors' sum), written with a
    /// contiguous inner loop, rows spread over the cores; outputs of 16 MB and more are written
    /// with non-temporal stores (no read-for-ownership). Sums are formed in Double and
    /// rounded once to the output type. Time O(N + L + Σ d_k); memory O(L) beyond out;
    /// out is written once and no input is re-read from memory.
    public static func kronsumDiag(_ vecs: [StridedArray], into out: StridedArray) throws {
        try KronCheck.factorCount(vecs.count, "vector")
        let names = vecs.indices.map { "vecs[\($0)]" }
        let dtype = try KronCheck.commonDType(vecs, names)
        for (v, name) in zip(vecs, names) { try KronCheck.vector(v, name) }
        let n = try KronCheck.product(vecs.map { $0.shape[0] }, "vector")
        try KronCheck.output(out, "out", shape: [n], dtype: dtype)
        try [(out, "out")].requireDisjoint(from: Array(zip(vecs, names)))
        switch dtype {
        case .float32: try diagKernel(Float.self, vecs, out)
        default: try diagKernel(Double.self, vecs, out)
        }
    }

    private static func diagKernel<T: RealScalar>(_: T.Type, _ vecs: [StridedArray], _ out: StridedArray) throws {
        let values = KronDiagValues(try zip(vecs, vecs.indices).map { try $0.readVector("vecs[\($1)]") })
        let o = out.vector(T.self)
        let streaming = o.stride == 1 && o.count * T.dtype.itemSize >= streamingStoreBytes
        parallelFor(o.count, work: o.count, threshold: 1 << 17) { _, range in
            var cursor = values.cursor(at: range.lowerBound)
            cursor.fill(o.base + range.lowerBound * o.stride, o.stride, range.count, streaming: streaming)
            if streaming { streamingStoreFence() }
        }
    }

    /// The factors' values of a vector list as Doubles (validated first; the copies' memory is
    /// checked, so a broadcast view of absurd length is MFError.outOfMemory).
    static func factorDoubles(_ vecs: [StridedArray]) throws -> (dtype: DType, values: [[Double]]) {
        try KronCheck.factorCount(vecs.count, "vector")
        let names = vecs.indices.map { "vecs[\($0)]" }
        let dtype = try KronCheck.commonDType(vecs, names)
        for (v, name) in zip(vecs, names) { try KronCheck.vector(v, name) }
        _ = try KronCheck.product(vecs.map { $0.shape[0] }, "vector")
        return (dtype, try zip(vecs, names).map { try $0.readVector($1) })
    }
}

extension Kron {
    /// out = A_1 ⊕ ... ⊕ A_K, the dense N x N Kronecker sum of square factors (`kronsum`):
    /// row I = (i_1, ..., i_K) is zero except at the columns J that differ from I in one axis k
    /// only, where it is A_k[i_k, j_k], and at J = I, where it is Σ_k A_k[i_k, i_k].
    ///
    /// Each row is zeroed, then its Σ_k d_k nonzeros written; rows are spread over the cores.
    /// Outputs of 16 MB and more with contiguous rows are composed row by row in a cached
    /// buffer and written with non-temporal stores (each byte of out crosses memory once).
    /// When out's columns are closer in memory than its rows (Fortran order) the transpose
    /// ⊕ A_k^T is written row by row instead, so writes stay contiguous.
    /// Time O(N^2 + N Σ d_k); no memory beyond out.
    public static func kronsum(_ mats: [StridedArray], into out: StridedArray) throws {
        let dims = try checkFactors(mats)
        let n = dims.reduce(1, *)
        guard n <= (1 << 28) else { throw MFError.shape("the dense Kronecker sum of size \(n) x \(n) is too large") }
        try KronCheck.output(out, "out", shape: [n, n], dtype: mats[0].dtype)
        try [(out, "out")].requireDisjoint(from: mats.enumerated().map { ($1, "mats[\($0)]") })
        switch mats[0].dtype {
        case .float32: denseKernel(mats.map { $0.matrix(Float.self) }, out.matrix(Float.self), dims)
        default: denseKernel(mats.map { $0.matrix(Double.self) }, out.matrix(Double.self), dims)
        }
    }

    /// Validates K >= 1 square factors of one real dtype; returns their sizes.
    static func checkFactors(_ mats: [StridedArray]) throws -> [Int] {
        try KronCheck.factorCount(mats.count, "factor matrix")
        let names = mats.indices.map { "mats[\($0)]" }
        _ = try KronCheck.commonDType(mats, names)
        for (a, name) in zip(mats, names) { try KronCheck.square(a, name) }
        let dims = mats.map { $0.shape[0] }
        _ = try KronCheck.product(dims, "factor")
        return dims
    }

    private static func denseKernel<T: RealScalar>(_ mats: [StridedMatrix<T>], _ out: StridedMatrix<T>, _ dims: [Int]) {
        var o = out, factors = mats
        if abs(o.colStride) > abs(o.rowStride) {
            o = o.transposed
            factors = factors.map(\.transposed)
        }
        let n = o.rows, k = dims.count
        var strides = [Int](repeating: 1, count: k)
        for a in stride(from: k - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * dims[a + 1] }
        let cs = o.colStride
        let streaming = cs == 1 && n * n * T.dtype.itemSize >= streamingStoreBytes
        parallelFor(n, work: n * n, threshold: 1 << 16) { _, range in
            // Streaming: each row is composed in a zeroed, cache-resident buffer, copied out
            // with non-temporal stores, and its nonzeros cleared again.
            let buffer = UnsafeMutablePointer<T>.allocate(capacity: streaming ? n : 0)
            buffer.initialize(repeating: 0, count: streaming ? n : 0)
            defer { buffer.deallocate() }
            for row in range {
                let p = o.base + row * o.rowStride
                let (q, qs) = streaming ? (buffer, 1) : (p, cs)
                if !streaming {
                    if cs == 1 { p.update(repeating: 0, count: n) } else { for j in 0..<n { p[j * cs] = 0 } }
                }
                var rest = row, diagonal = 0.0
                for a in stride(from: k - 1, through: 0, by: -1) {
                    let d = dims[a], i = rest % d, s = strides[a], f = factors[a]
                    rest /= d
                    let first = row - i * s
                    for j in 0..<d where j != i { q[(first + j * s) * qs] = f[i, j] }
                    diagonal += f[i, i].asDouble
                }
                q[row * qs] = T(diagonal)
                if streaming {
                    T.streamCopy(p, buffer, n)
                    rest = row
                    for a in stride(from: k - 1, through: 0, by: -1) {
                        let d = dims[a], i = rest % d, s = strides[a], first = row - i * s
                        rest /= d
                        for j in 0..<d { buffer[first + j * s] = 0 }
                    }
                }
            }
            if streaming { streamingStoreFence() }
        }
    }
}

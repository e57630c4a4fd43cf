extension Kron {
    /// out = (A_1 ⊕ ... ⊕ A_K) x without forming the N x N matrix (`kronsum_matvec`), for x of
    /// shape (N,) or (N, m): viewing x as a tensor (d_1, ..., d_K, m),
    /// out = Σ_k (A_k applied along axis k).
    ///
    /// x is read once into a Double work tensor; each factor's term is accumulated into a
    /// Double result (rows of the mode-k product spread over the cores), which is rounded once
    /// into out. Time O(N m Σ d_k); memory 2 N m Doubles + Σ d_k^2 Doubles.
    public static func kronsumMatvec(_ mats: [StridedArray], _ x: StridedArray, into out: StridedArray) throws {
        let dims = try checkFactors(mats)
        let n = dims.reduce(1, *)
        guard x.dtype == mats[0].dtype else {
            throw MFError.dtype("x has dtype \(x.dtype) but the factors are \(mats[0].dtype); they must match")
        }
        guard x.ndim == 1 || x.ndim == 2 else { throw MFError.shape("x must have shape (N,) or (N, m), got \(x.shape)") }
        guard x.shape[0] == n else {
            throw MFError.shape("x has \(x.shape[0]) rows but the factors' sizes \(dims) multiply to \(n)")
        }
        try x.requireValid("x")
        try KronCheck.output(out, "out", shape: x.shape, dtype: x.dtype)
        try [(out, "out")].requireDisjoint(from: [(x, "x")] + mats.enumerated().map { ($1, "mats[\($0)]") })
        let elements = x.count
        guard elements > 0 else { return }
        let work = try WorkBuffer<Double>(count: try Check.product(2, elements, "the work space"), "the kronsum_matvec work space")
        switch x.dtype {
        case .float32: matvecKernel(Float.self, mats, x, out, dims, work.pointer)
        default: matvecKernel(Double.self, mats, x, out, dims, work.pointer)
        }
    }

    private static func matvecKernel<T: RealScalar>(_: T.Type, _ mats: [StridedArray], _ x: StridedArray,
                                                    _ out: StridedArray, _ dims: [Int],
                                                    _ work: UnsafeMutablePointer<Double>) {
        let n = dims.reduce(1, *), m = x.ndim == 2 ? x.shape[1] : 1
        let size = T.dtype.itemSize
        let xs0 = x.strides[0] / size, xs1 = x.ndim == 2 ? x.strides[1] / size : 0
        let os0 = out.strides[0] / size, os1 = out.ndim == 2 ? out.strides[1] / size : 0
        let xb = x.data!.assumingMemoryBound(to: T.self), ob = out.data!.assumingMemoryBound(to: T.self)
        let xd = work, yd = work + n * m
        for r in 0..<n { for c in 0..<m { xd[r * m + c] = xb[r * xs0 + c * xs1].asDouble } }
        yd.initialize(repeating: 0, count: n * m)
        var before = 1
        for (k, a) in mats.enumerated() {
            let d = dims[k], inner = (n / (before * d)) * m
            let f = a.matrix(T.self)
            var coeff = [Double](repeating: 0, count: d * d)
            for i in 0..<d { for j in 0..<d { coeff[i * d + j] = f[i, j].asDouble } }
            coeff.withUnsafeBufferPointer { cp in
                let c = cp.baseAddress!
                // One output row (outer index o, axis-k index i) per iteration.
                parallelFor(before * d, work: n * m * d, threshold: 1 << 16) { _, range in
                    for p in range {
                        let o = p / d, i = p % d
                        let y = yd + p * inner, xo = xd + o * d * inner, ci = c + i * d
                        if inner == 1 {
                            var s = 0.0
                            for j in 0..<d { s += ci[j] * xo[j] }
                            y[0] += s
                        } else {
                            for j in 0..<d where ci[j] != 0 {
                                let cij = ci[j], xr = xo + j * inner
                                for t in 0..<inner { y[t] += cij * xr[t] }
                            }
                        }
                    }
                }
            }
            before *= d
        }
        for r in 0..<n { for c in 0..<m { ob[r * os0 + c * os1] = T(yd[r * m + c]) } }
    }
}

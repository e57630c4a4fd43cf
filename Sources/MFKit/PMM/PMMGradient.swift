/// Gradients of PMM losses, in two steps that meet in the matrix sensitivities: a real loss L
/// of the eigenpairs of M(x_s) = M_0 + Σ_i x_si M_i + s C has dL = Σ_s Re tr(G_s dM(x_s)) with
/// Hermitian G_s = V_s W_s V_s^H (W_s diagonal, ∂L/∂λ, for eigenvalues: Hellmann–Feynman;
/// the perturbation terms for eigenvectors). `featureSum` forms H_0 = Σ_s G_s and
/// H_{1+i} = Σ_s x_si G_s (one product over the samples); `AffineHermitianModel.parameterGradient`
/// adds the smoothing term and applies the chain rule to the parameters.
public enum PMMGradient {
    /// out[0] = Σ_s G_s, out[1+i] = Σ_s x[s, i] G_s with G_s = V_s W_s V_s^H, for x (N, p) real,
    /// vectors (N, n, m) complex, weights (N, m) real (W diagonal) or (N, m, m) complex (W
    /// Hermitian, only its upper triangle read), out (p+1, n, n) complex; the precisions may
    /// differ (sums in float64). Each G_s is Hermitian, so the lower triangles are summed and
    /// mirrored. Time O(N (m n² [m² n for a full W] + p n²)) over the threads; memory
    /// (p+1) n² doubles per thread.
    public static func featureSum(x: StridedArray, vectors: StridedArray, weights: StridedArray,
                                  out: StridedArray) throws {
        try x.requireInput("x", ndim: 2)
        try vectors.requireInput("vectors", dtypes: [.complex64, .complex128], ndim: 3)
        let (count, p, n, m) = (x.shape[0], x.shape[1], vectors.shape[1], vectors.shape[2])
        guard vectors.shape[0] == count else {
            throw MFError.shape("vectors must have \(count) matrices (the rows of x), got \(shapeText(vectors.shape))")
        }
        let full = weights.ndim == 3
        if full {
            try weights.requireInput("weights", dtypes: [.complex64, .complex128], shape: [count, m, m])
        } else {
            try weights.requireInput("weights", ndim: 2, shape: [count, m])
        }
        try out.requireOutput("out", dtypes: [.complex64, .complex128], shape: [p + 1, n, n])
        try [(out, "out")].requireDisjoint(from: [(x, "x"), (vectors, "vectors"), (weights, "weights")])
        let tri = n * (n + 1) / 2, q = p + 1
        let workers = Threads.count
        let perWorker = 2 * q * tri + 2 * tri + 4 * m * n + p
        let work = try WorkBuffer<Double>(count: try Check.product(workers, perWorker, "gradient work space"),
                                          zeroed: true, "gradient work space")
        let (xs, vs, ws) = (x.elementStrides, vectors.elementStrides, weights.elementStrides)
        func load(_ a: StridedArray, _ offset: Int) -> (Double, Double) {
            if a.dtype == .complex64 { let v = a.pointer(SIMD2<Float>.self)[offset]; return (Double(v.x), Double(v.y)) }
            let v = a.pointer(SIMD2<Double>.self)[offset]; return (v.x, v.y)
        }
        func real(_ a: StridedArray, _ offset: Int) -> Double {
            a.dtype == .float32 ? Double(a.pointer(Float.self)[offset]) : a.pointer(Double.self)[offset]
        }
        parallelFor(count, work: count * (m + q) * tri, threshold: 1 << 16, workers: workers) { worker, range in
            let acc = work.pointer + worker * perWorker, g = acc + 2 * q * tri
            let vw = g + 2 * tri, feat = vw + 2 * m * n, vv = feat + p
            for s in range {
                // the sample's vectors, staged once as float64 (column c at 2 c n), so the
                // O(m n²) loop below reads plain memory
                for c in 0..<m {
                    for i in 0..<n {
                        let (a, b) = load(vectors, s * vs[0] + i * vs[1] + c * vs[2])
                        vv[2 * (c * n + i)] = a; vv[2 * (c * n + i) + 1] = b
                    }
                }
                // u_c = Σ_d v_d W_dc (u = v w_c for a diagonal W); G = Σ_c u_c v_c^H (lower part)
                for c in 0..<m {
                    for i in 0..<n {
                        var (ur, ui) = (0.0, 0.0)
                        if full {
                            for d in 0..<m {
                                let (a, b) = (vv[2 * (d * n + i)], vv[2 * (d * n + i) + 1])
                                var (wr, wi) = load(weights, s * ws[0] + min(d, c) * ws[1] + max(d, c) * ws[2])
                                if d > c { wi = -wi }
                                if d == c { wi = 0 }
                                ur += a * wr - b * wi; ui += a * wi + b * wr
                            }
                        } else {
                            let (a, b) = (vv[2 * (c * n + i)], vv[2 * (c * n + i) + 1])
                            let w = real(weights, s * ws[0] + c * ws[1])
                            ur = a * w; ui = b * w
                        }
                        vw[2 * (c * n + i)] = ur; vw[2 * (c * n + i) + 1] = ui
                    }
                }
                for t in 0..<(2 * tri) { g[t] = 0 }
                for c in 0..<m {
                    let vc = vv + 2 * c * n
                    for i in 0..<n {
                        let (ur, ui) = (vw[2 * (c * n + i)], vw[2 * (c * n + i) + 1])
                        var row = g + i * (i + 1), v = vc
                        for _ in 0...i {
                            let (a, b) = (v[0], v[1])
                            row[0] += ur * a + ui * b            // u_i conj(v_j)
                            row[1] += ui * a - ur * b
                            row += 2; v += 2
                        }
                    }
                }
                for i in 0..<p { feat[i] = real(x, s * xs[0] + i * xs[1]) }
                for t in 0..<(2 * tri) { acc[t] += g[t] }
                for i in 0..<p {
                    let f = feat[i], dst = acc + 2 * (i + 1) * tri
                    for t in 0..<(2 * tri) { dst[t] += f * g[t] }
                }
            }
        }
        // total over the workers, mirrored to full Hermitian matrices
        var total = try Memory.array(repeating: 0.0, count: 2 * q * n * n, "gradient sums")
        for w in 0..<workers {
            let acc = work.pointer + w * perWorker
            for a in 0..<q {
                for i in 0..<n {
                    for j in 0...i {
                        let src = acc + 2 * (a * tri + i * (i + 1) / 2 + j)
                        total[2 * ((a * n + i) * n + j)] += src[0]
                        total[2 * ((a * n + i) * n + j) + 1] += src[1]
                        if j < i {
                            total[2 * ((a * n + j) * n + i)] += src[0]
                            total[2 * ((a * n + j) * n + i) + 1] -= src[1]
                        }
                    }
                }
            }
        }
        total.withUnsafeBufferPointer { out.writeComplexElements($0.baseAddress!) }
    }
}

extension AffineHermitianModel {
    /// The gradient of L with respect to the parameters the model was built from, given the
    /// sums `sums` (p+1, n, n) of `PMMGradient.featureSum` (out[0] = Σ_s G_s, out[1+i] =
    /// Σ_s x_si G_s): first the sensitivities E_a (dL = Σ_a Re tr(E_a dM_a)) of the stored
    /// matrices, E_a = H_a + s · i [S_{<a} − T_{>a}, H_0] (the smoothing matrix's derivative;
    /// S_{<a} and T_{>a} the sums of the stored matrices before and after a), then, in jax.grad's
    /// convention for complex parameters (∂L/∂Re − i ∂L/∂Im):
    /// full rank, `outs` = [grad_Ms (q, n, n)]: conj(E_a) (Hermitian, as the forward reads the
    /// Hermitian part); low rank, `outs` = [grad_lambdas (q, r), grad_us (q, r, n)]:
    /// ∂λ_ar = u_ar^H E_a u_ar and 2 λ_ar conj(E_a u_ar). Outputs of any float/complex precision.
    /// Time O(q n³) with smoothing, else O(q n² r); memory O(q n²).
    public func parameterGradient(sums: StridedArray, outs: [StridedArray]) throws {
        let (n, q, p) = (matrixSize, matrixCount, featureCount)
        try sums.requireInput("sums", dtypes: [.complex64, .complex128], shape: [p + 1, n, n])
        if let f = factors {
            guard outs.count == 2 else { throw MFError.invalidArgument("a low-rank model takes 2 gradient outputs (lambdas, us), got \(outs.count)") }
            try outs[0].requireOutput("grad_lambdas", shape: [q, f.rank])
            try outs[1].requireOutput("grad_us", dtypes: [.complex64, .complex128], shape: [q, f.rank, n])
        } else {
            guard outs.count == 1 else { throw MFError.invalidArgument("a full-rank model takes 1 gradient output (Ms), got \(outs.count)") }
            try outs[0].requireOutput("grad_Ms", dtypes: [.complex64, .complex128], shape: [q, n, n])
        }
        try zip(outs, ["grad_0", "grad_1"]).map { ($0, $1) }.requireDisjoint(from: [(sums, "sums")])
        let h = try sums.readComplexDoubles("sums")
        let nn = n * n
        // E_a: H for the stored matrix a (H_0 is Σ G, the bias matrix's own sum)
        var e = try Memory.array(repeating: 0.0, count: 2 * q * nn, "gradient")
        for a in 0..<q {
            let src = biasTerm ? a : a + 1
            for t in 0..<(2 * nn) { e[2 * a * nn + t] = h[2 * src * nn + t] }
        }
        if smoothing != 0 && q > 1 {
            // A_a = S_{<a} − T_{>a} = 2 S_{<a} + M_a − Σ_b M_b; E_a += s i (A_a H_0 − (A_a H_0)^H)
            var total = [Double](repeating: 0, count: 2 * nn), prefix = total, diff = total
            for b in 0..<q { for t in 0..<(2 * nn) { total[t] += matrices[2 * b * nn + t] } }
            for a in 0..<q {
                for t in 0..<(2 * nn) { diff[t] = 2 * prefix[t] + matrices[2 * a * nn + t] - total[t] }
                let prod = complexProduct(diff, h, n)   // A_a H_0 (h starts with H_0)
                for i in 0..<n {
                    for j in 0..<n {
                        // i (P − P^H)_ij = i (P_ij − conj(P_ji))
                        let dr = prod[2 * (i * n + j)] - prod[2 * (j * n + i)]
                        let di = prod[2 * (i * n + j) + 1] + prod[2 * (j * n + i) + 1]
                        e[2 * (a * nn + i * n + j)] += smoothing * -di
                        e[2 * (a * nn + i * n + j) + 1] += smoothing * dr
                    }
                }
                for t in 0..<(2 * nn) { prefix[t] += matrices[2 * a * nn + t] }
            }
        }
        if let f = factors {
            let r = f.rank
            var gl = [Double](repeating: 0, count: q * r), gu = [Double](repeating: 0, count: 2 * q * r * n)
            for a in 0..<q {
                for k in 0..<r {
                    let u = 2 * (a * r + k) * n, lam = f.lambdas[a * r + k]
                    var quad = 0.0
                    for i in 0..<n {
                        var (sr, si) = (0.0, 0.0)   // (E u)_i
                        for j in 0..<n {
                            let er = e[2 * (a * nn + i * n + j)], ei = e[2 * (a * nn + i * n + j) + 1]
                            let ur = f.us[u + 2 * j], ui = f.us[u + 2 * j + 1]
                            sr += er * ur - ei * ui; si += er * ui + ei * ur
                        }
                        quad += f.us[u + 2 * i] * sr + f.us[u + 2 * i + 1] * si   // Re(conj(u_i) (Eu)_i)
                        gu[u + 2 * i] = 2 * lam * sr
                        gu[u + 2 * i + 1] = -2 * lam * si
                    }
                    gl[a * r + k] = quad
                }
            }
            gl.withUnsafeBufferPointer { outs[0].writeElements($0.baseAddress!) }
            gu.withUnsafeBufferPointer { outs[1].writeComplexElements($0.baseAddress!) }
        } else {
            for t in stride(from: 1, to: e.count, by: 2) { e[t] = -e[t] }   // conj
            e.withUnsafeBufferPointer { outs[0].writeComplexElements($0.baseAddress!) }
        }
    }
}

/// A B for n × n interleaved complex matrices (the first n² entries of each). O(n³).
func complexProduct(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: 2 * n * n)
    for i in 0..<n {
        for l in 0..<n {
            let ar = a[2 * (i * n + l)], ai = a[2 * (i * n + l) + 1]
            if ar == 0 && ai == 0 { continue }
            for j in 0..<n {
                let br = b[2 * (l * n + j)], bi = b[2 * (l * n + j) + 1]
                c[2 * (i * n + j)] += ar * br - ai * bi
                c[2 * (i * n + j) + 1] += ar * bi + ai * br
            }
        }
    }
    return c
}

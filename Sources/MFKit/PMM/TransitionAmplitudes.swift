/// The observables of parametricmatrixmodels' TransitionAmplitudeSum on the selected
/// eigenvectors, and their derivatives. With V_s the n × k selected eigenvectors of sample s,
/// P_s = V_s V_s^H and D_cl the Hermitian parts (D + D^H)/2 of the observables (o outputs of
/// l secondaries each):
///
///     z_sc = Σ_l [ Σ_{i,j<k} |v_i^H D_cl v_j|² − ½ ‖D_cl‖₂² (centered) ] = Σ_l tr(P D P D) − …
///
/// (phase- and rotation-free: it depends on P only). For a loss with ∂L/∂z = ḡ (N, o):
/// - through D: dL = Re tr(E_cl dD_cl), E_cl = Σ_s ḡ_sc 2 P_s D P_s − (Σ_s ḡ_sc) λ w w^H
///   (centered; λ the eigenvalue of D of largest magnitude, w its vector: d‖D‖₂ = sign λ w^H dD w);
/// - through M(x_s): dP = Σ_{j<k≤t} (v_t v_t^H dM v_j v_j^H + h.c.)/(λ_j − λ_t) gives
///   dL = Re tr(V_s W_s V_s^H dM) with W_s Hermitian, nonzero only between a selected j and an
///   unselected t: W_jt = K̃_jt / (λ_j − λ_t), K̃ = Σ_cl ḡ_sc 2 D̃ [:, S] D̃ [S, :], D̃ = V_s^H D V_s.
///   Pairs inside the selection cancel exactly and are never formed (the release's NaN for
///   equal eigenvalues does not arise); a selected and an unselected eigenvalue closer than
///   10⁻¹² of the spectrum's scale (the selection boundary, where P jumps) contribute 0.
public enum TransitionAmplitudes {
    /// values (N, n) and vectors (N, n, n): whole eigensystems with the k selected pairs first
    /// (`HermitianEigen` with m = n); ds (o, l, n, n) complex. Outputs (each optional): out (N, o)
    /// real, z above; with cotangent (N, o) real: weights (N, n, n) complex (W_s, in the
    /// eigenbasis of `vectors`) and dsSensitivity (o, l, n, n) complex (E_cl). Time
    /// O(N o l n³) over the threads; memory O(o l n²) per thread.
    public static func evaluate(values: StridedArray, vectors: StridedArray, numEig k: Int, ds: StridedArray,
                                centered: Bool, out: StridedArray?, cotangent: StridedArray?,
                                weights: StridedArray?, dsSensitivity: StridedArray?) throws {
        try vectors.requireInput("vectors", dtypes: [.complex64, .complex128], ndim: 3)
        let (count, n) = (vectors.shape[0], vectors.shape[1])
        try vectors.requireShape("vectors", [count, n, n])
        try values.requireInput("values", ndim: 2, shape: [count, n])
        try ds.requireInput("ds", dtypes: [.complex64, .complex128], ndim: 4)
        let (o, l) = (ds.shape[0], ds.shape[1])
        try ds.requireShape("ds", [o, l, n, n])
        try require(k >= 1 && k <= n, "num_eig must be in 1...\(n), got \(k)")
        var outs: [(StridedArray, String)] = []
        if let out { try out.requireOutput("out", shape: [count, o]); outs.append((out, "out")) }
        if let cotangent { try cotangent.requireInput("cotangent", shape: [count, o]) }
        if weights != nil || dsSensitivity != nil {
            try require(cotangent != nil, "weights and ds_sensitivity need a cotangent")
        }
        if let weights { try weights.requireOutput("weights", dtypes: [.complex64, .complex128], shape: [count, n, n]); outs.append((weights, "weights")) }
        if let dsSensitivity { try dsSensitivity.requireOutput("ds_sensitivity", dtypes: [.complex64, .complex128], shape: [o, l, n, n]); outs.append((dsSensitivity, "ds_sensitivity")) }
        var inputs = [(values, "values"), (vectors, "vectors"), (ds, "ds")]
        if let cotangent { inputs.append((cotangent, "cotangent")) }
        try outs.requireDisjoint(from: inputs)

        let nn = n * n, ol = o * l
        var dm = try ds.readComplexDoubles("ds")
        for b in 0..<ol {   // Hermitian parts
            for i in 0..<n {
                for j in i..<n {
                    let x = 2 * (b * nn + i * n + j), y = 2 * (b * nn + j * n + i)
                    let re = 0.5 * (dm[x] + dm[y]), im = 0.5 * (dm[x + 1] - dm[y + 1])
                    dm[x] = re; dm[x + 1] = im; dm[y] = re; dm[y + 1] = -im
                }
            }
        }
        // ‖D‖₂ = |λ| of largest magnitude, with its eigenvector (the centring and its derivative)
        var top = [Double](repeating: 0, count: ol), topVec = [Double](repeating: 0, count: 2 * ol * n)
        if centered && ol > 0 {
            try dm.withUnsafeMutableBufferPointer { dmb in
                let base = dmb.baseAddress!
                try top.withUnsafeMutableBufferPointer { tb in try topVec.withUnsafeMutableBufferPointer { vb in
                    let vals = StridedArray(data: UnsafeMutableRawPointer(tb.baseAddress!), dtype: .float64, shape: [ol, 1])
                    let vecs = StridedArray(data: UnsafeMutableRawPointer(vb.baseAddress!), dtype: .complex128, shape: [ol, n, 1])
                    try HermitianEigen.batch(Double.self, count: ol, n: n, k: 1, m: 1, which: .lm, values: vals,
                                             vectors: vecs, scratch: 0) { b, dst, _ in
                        for t in 0..<(2 * nn) { dst[t] = base[2 * b * nn + t] }
                    }
                }}
            }
        }
        let vsT = vectors.elementStrides, valS = values.elementStrides
        let cotS = cotangent?.elementStrides ?? [0, 0]
        let outS = out?.elementStrides ?? [0, 0], wS = weights?.elementStrides ?? [0, 0, 0]
        let workers = Threads.count
        let perWorker = 2 * nn * 4 + n + 2 * ol * nn
        let work = try WorkBuffer<Double>(count: try Check.product(workers, perWorker, "observable work space"),
                                          zeroed: true, "observable work space")
        let wantGrad = cotangent != nil
        let cutoff = 1e-12
        let dmc = dm
        dmc.withUnsafeBufferPointer { dmp in
        parallelFor(count, work: count * ol * nn * n, threshold: 1 << 15, workers: workers) { worker, range in
            let vmat = work.pointer + worker * perWorker, dv = vmat + 2 * nn, dt = dv + 2 * nn, kt = dt + 2 * nn
            let lam = kt + 2 * nn, eAcc = lam + n
            for s in range {
                for i in 0..<n {
                    lam[i] = values.dtype == .float32 ? Double(values.pointer(Float.self)[s * valS[0] + i * valS[1]])
                                                     : values.pointer(Double.self)[s * valS[0] + i * valS[1]]
                    for j in 0..<n {
                        let o = s * vsT[0] + i * vsT[1] + j * vsT[2]
                        if vectors.dtype == .complex64 {
                            let v = vectors.pointer(SIMD2<Float>.self)[o]
                            vmat[2 * (i * n + j)] = Double(v.x); vmat[2 * (i * n + j) + 1] = Double(v.y)
                        } else {
                            let v = vectors.pointer(SIMD2<Double>.self)[o]
                            vmat[2 * (i * n + j)] = v.x; vmat[2 * (i * n + j) + 1] = v.y
                        }
                    }
                }
                var scale = 0.0
                for i in 0..<n { scale = max(scale, abs(lam[i])) }
                if wantGrad { for t in 0..<(2 * nn) { kt[t] = 0 } }
                for c in 0..<o {
                    let g = wantGrad ? cotangentValue(cotangent!, s * cotS[0] + c * cotS[1]) : 0
                    var z = 0.0
                    for b in (c * l)..<((c + 1) * l) {
                        let d = dmp.baseAddress! + 2 * b * nn
                        // dv = D V, dt = V^H D V
                        for i in 0..<n {
                            for j in 0..<n {
                                var (sr, si) = (0.0, 0.0)
                                for t in 0..<n {
                                    let ar = d[2 * (i * n + t)], ai = d[2 * (i * n + t) + 1]
                                    let br = vmat[2 * (t * n + j)], bi = vmat[2 * (t * n + j) + 1]
                                    sr += ar * br - ai * bi; si += ar * bi + ai * br
                                }
                                dv[2 * (i * n + j)] = sr; dv[2 * (i * n + j) + 1] = si
                            }
                        }
                        for i in 0..<n {
                            for j in 0..<n {
                                var (sr, si) = (0.0, 0.0)
                                for t in 0..<n {
                                    let ar = vmat[2 * (t * n + i)], ai = -vmat[2 * (t * n + i) + 1]
                                    let br = dv[2 * (t * n + j)], bi = dv[2 * (t * n + j) + 1]
                                    sr += ar * br - ai * bi; si += ar * bi + ai * br
                                }
                                dt[2 * (i * n + j)] = sr; dt[2 * (i * n + j) + 1] = si
                            }
                        }
                        for i in 0..<k { for j in 0..<k { z += dt[2 * (i * n + j)] * dt[2 * (i * n + j)] + dt[2 * (i * n + j) + 1] * dt[2 * (i * n + j) + 1] } }
                        if centered { z -= 0.5 * top[b] * top[b] }
                        guard wantGrad && g != 0 else { continue }
                        // K̃[j, t] += 2 g Σ_{u<k} D̃[j, u] D̃[u, t]  (j < k ≤ t)
                        for j in 0..<k {
                            for t in k..<n {
                                var (sr, si) = (0.0, 0.0)
                                for u in 0..<k {
                                    let ar = dt[2 * (j * n + u)], ai = dt[2 * (j * n + u) + 1]
                                    let br = dt[2 * (u * n + t)], bi = dt[2 * (u * n + t) + 1]
                                    sr += ar * br - ai * bi; si += ar * bi + ai * br
                                }
                                kt[2 * (j * n + t)] += 2 * g * sr; kt[2 * (j * n + t) + 1] += 2 * g * si
                            }
                        }
                        // E_b += 2 g P D P = 2 g V_S D̃_SS V_S^H
                        let e = eAcc + 2 * b * nn
                        for i in 0..<n {
                            for u in 0..<k {
                                var (ar, ai) = (0.0, 0.0)   // (V_S D̃_SS)[i, u]
                                for t in 0..<k {
                                    let vr = vmat[2 * (i * n + t)], vi = vmat[2 * (i * n + t) + 1]
                                    let br = dt[2 * (t * n + u)], bi = dt[2 * (t * n + u) + 1]
                                    ar += vr * br - vi * bi; ai += vr * bi + vi * br
                                }
                                for j in 0..<n {
                                    let vr = vmat[2 * (j * n + u)], vi = -vmat[2 * (j * n + u) + 1]
                                    e[2 * (i * n + j)] += 2 * g * (ar * vr - ai * vi)
                                    e[2 * (i * n + j) + 1] += 2 * g * (ar * vi + ai * vr)
                                }
                            }
                        }
                    }
                    if let out {
                        let o = s * outS[0] + c * outS[1]
                        if out.dtype == .float32 { out.pointer(Float.self)[o] = Float(z) } else { out.pointer(Double.self)[o] = z }
                    }
                }
                guard let weights else { continue }
                let wp = s * wS[0]
                for i in 0..<n {
                    for j in 0..<n {
                        var (wr, wi) = (0.0, 0.0)
                        if i < k && j >= k || j < k && i >= k {
                            let (a, b) = i < k ? (i, j) : (j, i)   // a selected, b not
                            let gap = lam[a] - lam[b]
                            if abs(gap) > cutoff * max(scale, Double.leastNormalMagnitude) {
                                wr = kt[2 * (a * n + b)] / gap; wi = kt[2 * (a * n + b) + 1] / gap
                                if i >= k { wi = -wi }
                            }
                        }
                        let o = wp + i * wS[1] + j * wS[2]
                        if weights.dtype == .complex64 {
                            weights.pointer(SIMD2<Float>.self)[o] = SIMD2(Float(wr), Float(wi))
                        } else {
                            weights.pointer(SIMD2<Double>.self)[o] = SIMD2(wr, wi)
                        }
                    }
                }
            }
        }
        }
        guard let dsSensitivity else { return }
        var total = [Double](repeating: 0, count: 2 * ol * nn)
        for w in 0..<workers {
            let acc = work.pointer + w * perWorker + 2 * nn * 4 + n
            for t in 0..<(2 * ol * nn) { total[t] += acc[t] }
        }
        if centered, let cotangent {
            for c in 0..<o {
                var gsum = 0.0
                for s in 0..<count { gsum += cotangentValue(cotangent, s * cotS[0] + c * cotS[1]) }
                for b in (c * l)..<((c + 1) * l) {
                    for i in 0..<n {
                        for j in 0..<n {
                            let (ar, ai) = (topVec[2 * (b * n + i)], topVec[2 * (b * n + i) + 1])
                            let (br, bi) = (topVec[2 * (b * n + j)], -topVec[2 * (b * n + j) + 1])
                            total[2 * (b * nn + i * n + j)] -= gsum * top[b] * (ar * br - ai * bi)
                            total[2 * (b * nn + i * n + j) + 1] -= gsum * top[b] * (ar * bi + ai * br)
                        }
                    }
                }
            }
        }
        total.withUnsafeBufferPointer { dsSensitivity.writeComplexElements($0.baseAddress!) }
    }

    private static func cotangentValue(_ a: StridedArray, _ offset: Int) -> Double {
        a.dtype == .float32 ? Double(a.pointer(Float.self)[offset]) : a.pointer(Double.self)[offset]
    }
}

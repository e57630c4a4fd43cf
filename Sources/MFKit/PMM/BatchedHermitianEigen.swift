/// The batched Hermitian eigensolver of the PMM eigen modules: many small matrices at once, one
/// per SIMD lane (L = 4 complex128 or 8 complex64 matrices per block, as GPU libraries' batched
/// solvers put one matrix per thread), so every arithmetic instruction serves L matrices.
///
/// Per block of L matrices A (each symmetrised, (A + A^H)/2, as jax's eigh does):
/// 1. Householder tridiagonalization A = Q T Q^H (LAPACK's zhetd2 in lanes): T real symmetric
///    tridiagonal, Q = H_0 … H_{n−2}, H_k = I − τ_k v_k v_k^H. (16/3) n³ real operations per
///    matrix, L matrices per instruction.
/// 2. Per lane: the eigenvalues of T by the implicit QL method with Wilkinson shifts (O(n²)),
///    the selection (`EigenSelection`), and for the m selected columns only, eigenvectors of T by
///    inverse iteration (LU of T − λI with partial pivoting, three sweeps; vectors of eigenvalues
///    closer than 10⁻³ ‖T‖ are reorthogonalized against each other, equal eigenvalues are
///    separated by a few ulps first, as LAPACK's stein does). O(n) per vector and sweep.
/// 3. Back-transformation z = Q y of the m vectors in lanes: O(4 m n²) per matrix.
/// The first component of every eigenvector is real and ≥ 0 (Q leaves it unchanged), the phase
/// LAPACK's heevd gives up to sign. Accuracy: eigenvalues to a few ulps of ‖A‖, eigenvectors to
/// ulps of ‖A‖ / gap (as LAPACK). Work space O(L (3 n² + 3 m n)) scalars per worker.
struct HermitianLanes<T: RealScalar> {
    typealias V = T.Vector
    let n: Int
    let m: Int
    /// The block's matrices, row-major, real and imaginary planes (n² lanes each).
    let re: UnsafeMutablePointer<V>, im: UnsafeMutablePointer<V>
    /// Reflector k (k < n − 1) at k n: n − k − 1 entries, the first 1.
    let vr: UnsafeMutablePointer<V>, vi: UnsafeMutablePointer<V>
    let taur: UnsafeMutablePointer<V>, taui: UnsafeMutablePointer<V>
    /// T: diagonal and subdiagonal; p, w: work vectors of the reduction.
    let d: UnsafeMutablePointer<V>, e: UnsafeMutablePointer<V>
    let pr: UnsafeMutablePointer<V>, pi: UnsafeMutablePointer<V>
    /// The m vectors of T (y, real) and of A (z), column c at c n.
    let y: UnsafeMutablePointer<V>, zr: UnsafeMutablePointer<V>, zi: UnsafeMutablePointer<V>
    /// Eigenvalues of the m slots (ascending in every lane) and their vectors of T (slot s at s n),
    /// and the LU factors of T − λ I (u0, u1, u2, multipliers, row swaps as 0/1).
    let lam: UnsafeMutablePointer<V>, ys: UnsafeMutablePointer<V>
    let u0: UnsafeMutablePointer<V>, u1: UnsafeMutablePointer<V>, u2: UnsafeMutablePointer<V>
    let mult: UnsafeMutablePointer<V>, swaps: UnsafeMutablePointer<V>, e2: UnsafeMutablePointer<V>

    /// Lanes of work space one block needs.
    static func size(n: Int, m: Int) -> Int { 4 * n * n + 12 * n + 4 * m * n + m }

    init(n: Int, m: Int, storage: UnsafeMutablePointer<V>) {
        self.n = n; self.m = m
        var p = storage
        func take(_ count: Int) -> UnsafeMutablePointer<V> { defer { p += count }; return p }
        re = take(n * n); im = take(n * n); vr = take(n * n); vi = take(n * n)
        taur = take(n); taui = take(n); d = take(n); e = take(n); pr = take(n); pi = take(n)
        y = take(m * n); zr = take(m * n); zi = take(m * n)
        lam = take(m); ys = take(m * n)
        u0 = take(n); u1 = take(n); u2 = take(n); mult = take(n); swaps = take(n); e2 = take(n)
    }

    /// Step 1: A → T, keeping the reflectors. Reads the lower triangle of re/im (and the real
    /// part of the diagonal), overwrites it. (8/3) n³ vector multiply-adds.
    func tridiagonalize() {
        let zero = V(repeating: 0), one = V(repeating: 1), half = V(repeating: 0.5)
        for k in 0..<(n - 1) {
            let m = n - k - 1, base = (k + 1) * n + k   // x = A[k+1..<n, k]
            let ar = re[base], ai = im[base]
            var xn2 = zero
            for i in 1..<max(1, m) { xn2 += re[base + i * n] * re[base + i * n] + im[base + i * n] * im[base + i * n] }
            // zlarfg: β = −sign(Re α) ‖x‖, τ = (β − α)/β, v = x / (α − β) with v_0 = 1.
            // trivial lanes (x = 0, α real): H = I; t = 1 there, else 0
            let t = V.choose(one, zero, where: zero, isLessThan: xn2 + ai * ai)
            let norm = (ar * ar + ai * ai + xn2).squareRoot()
            var beta = V.choose(-norm, norm, where: ar, isLessThan: zero)
            beta = beta + t * (ar - beta)
            let bs = beta + t * (one - beta)
            taur[k] = (one - t) * ((beta - ar) / bs)
            taui[k] = (one - t) * (-ai / bs)
            let dr = ar - beta
            let den = dr * dr + ai * ai + t
            let sr = dr / den, si = -ai / den
            let v = k * n
            vr[v] = one; vi[v] = zero
            for i in 1..<max(1, m) {
                let xr = re[base + i * n], xi = im[base + i * n]
                vr[v + i] = xr * sr - xi * si
                vi[v + i] = xr * si + xi * sr
            }
            d[k] = re[k * n + k]
            e[k] = beta
            // p = τ B v (B = A[k+1..., k+1...], its lower triangle read), α = −½ τ (p^H v),
            // w = p + α v, B −= v w^H + w v^H (lower triangle).
            let tr = taur[k], ti = taui[k]
            for i in 0..<m { pr[i] = zero; pi[i] = zero }
            // Row i of B and v as base pointers: the inner loops index without products.
            let (vkr, vki) = (vr + v, vi + v)
            for i in 0..<m {
                let row = (k + 1 + i) * n + k + 1
                let (rr, ri) = (re + row, im + row)
                let xr = vkr[i], xi = vki[i]
                var sr = rr[i] * xr, si = rr[i] * xi   // real diagonal
                for j in 0..<i {
                    let br = rr[j], bi = ri[j], yr = vkr[j], yi = vki[j]
                    sr += br * yr - bi * yi                  // B_ij v_j
                    si += br * yi + bi * yr
                    pr[j] += br * xr + bi * xi               // conj(B_ij) v_i
                    pi[j] += br * xi - bi * xr
                }
                pr[i] += sr; pi[i] += si
            }
            var dotr = zero, doti = zero
            for i in 0..<m {
                let qr = tr * pr[i] - ti * pi[i], qi = tr * pi[i] + ti * pr[i]
                pr[i] = qr; pi[i] = qi
                dotr += qr * vr[v + i] + qi * vi[v + i]   // conj(p_i) v_i
                doti += qr * vi[v + i] - qi * vr[v + i]
            }
            let alr = -half * (tr * dotr - ti * doti), ali = -half * (tr * doti + ti * dotr)
            for i in 0..<m {
                let xr = vr[v + i], xi = vi[v + i]
                pr[i] += alr * xr - ali * xi
                pi[i] += alr * xi + ali * xr
            }
            for i in 0..<m {
                let row = (k + 1 + i) * n + k + 1
                let (rr, ri) = (re + row, im + row)
                let ar = vkr[i], ai = vki[i], wr = pr[i], wi = pi[i]
                for j in 0...i {
                    let br = pr[j], bi = pi[j], cr = vkr[j], ci = vki[j]
                    rr[j] -= ar * br + ai * bi + wr * cr + wi * ci
                    ri[j] -= ai * br - ar * bi + wi * cr - wr * ci
                }
            }
        }
        d[n - 1] = re[(n - 1) * n + n - 1]
        e[n - 1] = zero
    }

    /// ‖T‖ bound per lane (Gershgorin): max_i |d_i| + |e_i| + |e_{i−1}|, at least the smallest normal / ε.
    func tridiagonalNorm() -> V {
        var t = V(repeating: T.leastNormalMagnitude / T.ulpOfOne)
        for i in 0..<n {
            var r = d[i].lanesMagnitude + e[i].lanesMagnitude
            if i > 0 { r += e[i - 1].lanesMagnitude }
            t = t.lanesMax(r)
        }
        return t
    }

    /// Eigenvalues number `indices[s]` (0-based, ascending; the same in every lane) of T into
    /// lam[s], by bisection on Sturm counts (the number of negative pivots of T − λ I) in all
    /// lanes at once, the slots interleaved. Fixed iteration count (the interval shrinks from
    /// the Gershgorin bound to an ulp). Time O(count · n · digits) per block.
    func bisect(_ indices: UnsafePointer<Int>, _ count: Int, norm: V) {
        let eps = V(repeating: T.ulpOfOne)
        let tiny = (eps * eps * norm).lanesMax(V(repeating: T.leastNormalMagnitude))
        let half = V(repeating: 0.5), zeroV = V(repeating: 0), oneV = V(repeating: 1)
        for i in 0..<n { e2[i] = i < n - 1 ? e[i] * e[i] : V(repeating: 0) }
        let lo = u0, hi = u1    // per slot bounds (count ≤ m ≤ n)
        for s in 0..<count { lo[s] = -norm; hi[s] = norm }
        let steps = T.significandBitCount + 4
        withUnsafeTemporaryAllocation(of: V.self, capacity: 24) { tmp in
        let mid = tmp.baseAddress!, q = mid + 8, neg = mid + 16
        for _ in 0..<steps {
            var start = 0
            while start < count {   // 8 slots at a time, for independent division chains
                let width = min(8, count - start)
                for s in 0..<width {
                    mid[s] = half * (lo[start + s] + hi[start + s])
                    neg[s] = V(repeating: 0)
                }
                // pivots q_i = d_i − λ − e_{i−1}² / q_{i−1}; a pivot below `tiny` counts as −tiny
                for i in 0..<n {
                    for s in 0..<width {
                        var t = d[i] - mid[s]
                        if i > 0 { t -= e2[i - 1] / q[s] }
                        t = V.choose(t, -tiny, where: t.lanesMagnitude, isLessThan: tiny)
                        q[s] = t
                        neg[s] += V.choose(zeroV, oneV, where: t, isLessThan: zeroV)
                    }
                }
                for s in 0..<width {
                    let target = V(repeating: T(indices[start + s]) + T(0.5))
                    // more than idx eigenvalues below mid: the idx-th is below it
                    hi[start + s] = V.choose(hi[start + s], mid[s], where: target, isLessThan: neg[s])
                    lo[start + s] = V.choose(mid[s], lo[start + s], where: target, isLessThan: neg[s])
                }
                start += width
            }
        }
        }
        for s in 0..<count { lam[s] = half * (lo[s] + hi[s]) }
    }

    /// Eigenvectors of T for the slots' eigenvalues lam[0 ..< m] (ascending in every lane), into
    /// ys, by inverse iteration in all lanes at once: three sweeps of y ← (T − λ I)⁻¹ y from a
    /// fixed start, each solved with the LU factors of T − λ I (partial pivoting, chosen per lane;
    /// pivots below ε‖T‖ replaced). Within a cluster (neighbours closer than 10⁻³ ‖T‖) each
    /// vector is orthogonalized against the cluster's earlier ones (modified Gram–Schmidt) and
    /// equal eigenvalues are first pulled 10 ε ‖T‖ apart, as LAPACK's stein does. Unit vectors,
    /// the first entry that is not negligible positive. Time O(m n · cluster size) per block.
    func inverseIteration(norm: V) {
        let zero = V(repeating: 0), one = V(repeating: 1)
        let eps = V(repeating: T.ulpOfOne)
        let pivmin = eps * norm, ortol = V(repeating: T(1e-3)) * norm, sep = V(repeating: 10) * eps * norm
        var previous = zero
        for c in 0..<m {
            var l = lam[c]
            if c > 0 { l = V.choose(l, previous + sep, where: l - previous, isLessThan: sep) }
            previous = l
            // LU of T − λ I, rows (u0, u1, u2) over columns i, i+1, i+2
            var a0 = d[0] - l, a1 = n > 1 ? e[0] : zero, a2 = zero
            for i in 0..<(n - 1) {
                let r0 = e[i], r1 = d[i + 1] - l, r2 = i + 2 < n ? e[i + 1] : zero
                // swap rows where |a0| < |r0|
                let (x, yy) = (a0.lanesMagnitude, r0.lanesMagnitude)
                let p0 = safePivot(V.choose(a0, r0, where: x, isLessThan: yy), pivmin)
                let p1 = V.choose(a1, r1, where: x, isLessThan: yy), p2 = V.choose(a2, r2, where: x, isLessThan: yy)
                let o0 = V.choose(r0, a0, where: x, isLessThan: yy), o1 = V.choose(r1, a1, where: x, isLessThan: yy)
                let o2 = V.choose(r2, a2, where: x, isLessThan: yy)
                let f = o0 / p0
                u0[i] = p0; u1[i] = p1; u2[i] = p2; mult[i] = f
                swaps[i] = V.choose(zero, one, where: x, isLessThan: yy)
                a0 = o1 - f * p1; a1 = o2 - f * p2; a2 = zero
            }
            u0[n - 1] = safePivot(a0, pivmin); u1[n - 1] = zero; u2[n - 1] = zero
            let yv = ys + c * n
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(c) &* 0xBF58_476D_1CE4_E5B9
            for i in 0..<n {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                yv[i] = V(repeating: T(Double(state >> 11) / Double(1 << 53) + 0.5))
            }
            // the cluster: earlier slots chained to c by gaps ≤ ortol (a mask per lane)
            var first = c
            var chain = V(repeating: 1)
            while first > 0 {
                chain = V.choose(chain, zero, where: ortol, isLessThan: lam[first] - lam[first - 1])
                if !chain.anyPositive { break }
                first -= 1
            }
            for _ in 0..<3 {
                for i in 0..<(n - 1) {
                    let a = yv[i], b = yv[i + 1], sw = swaps[i]
                    let top = a + sw * (b - a), bottom = b + sw * (a - b)
                    yv[i] = top
                    yv[i + 1] = bottom - mult[i] * top
                }
                var i = n - 1
                while i >= 0 {
                    var s = yv[i]
                    if i + 1 < n { s -= u1[i] * yv[i + 1] }
                    if i + 2 < n { s -= u2[i] * yv[i + 2] }
                    yv[i] = s / u0[i]
                    i -= 1
                }
                if first < c {
                    var member = V(repeating: 1)
                    var j = c - 1
                    while j >= first {
                        member = V.choose(member, zero, where: ortol, isLessThan: lam[j + 1] - lam[j])
                        let w = ys + j * n
                        var dot = zero
                        for t in 0..<n { dot += w[t] * yv[t] }
                        dot *= member
                        for t in 0..<n { yv[t] -= dot * w[t] }
                        j -= 1
                    }
                }
                var scale = zero
                for t in 0..<n { scale = scale.lanesMax(yv[t].lanesMagnitude) }
                scale = V.choose(one, scale, where: zero, isLessThan: scale)
                var nrm = zero
                for t in 0..<n { yv[t] /= scale; nrm += yv[t] * yv[t] }
                nrm = nrm.squareRoot()
                for t in 0..<n { yv[t] /= nrm }
            }
            // sign of the first entry above ε: s = 0 until decided
            var sign = zero, undecided = one
            for t in 0..<n {
                let big = V.choose(zero, undecided, where: eps, isLessThan: yv[t].lanesMagnitude)
                sign += big * V.choose(one, -one, where: yv[t], isLessThan: zero)
                undecided -= big
            }
            sign += undecided
            for t in 0..<n { yv[t] *= sign }
        }
    }

    /// p, or ±pivmin (p's sign, + for 0) where |p| < pivmin.
    @inline(__always)
    func safePivot(_ p: V, _ pivmin: V) -> V {
        let signed = V.choose(pivmin, -pivmin, where: p, isLessThan: V(repeating: 0))
        return V.choose(p, signed, where: p.lanesMagnitude, isLessThan: pivmin)
    }

    /// Step 3: z_c = Q y_c = H_0 (H_1 (… H_{n−2} y_c)) for the m columns.
    func backTransform() {
        let zero = V(repeating: 0)
        for c in 0..<m {
            let zrc = zr + c * n, zic = zi + c * n, yc = y + c * n
            for i in 0..<n { zrc[i] = yc[i]; zic[i] = zero }
            var k = n - 2
            while k >= 0 {
                let len = n - k - 1, v = k * n, z0 = k + 1
                var sr = zero, si = zero            // v^H z
                for j in 0..<len {
                    let a = vr[v + j], b = vi[v + j], c = zrc[z0 + j], dd = zic[z0 + j]
                    sr += a * c + b * dd
                    si += a * dd - b * c
                }
                let tr = taur[k] * sr - taui[k] * si, ti = taur[k] * si + taui[k] * sr
                for j in 0..<len {
                    let a = vr[v + j], b = vi[v + j]
                    zrc[z0 + j] -= tr * a - ti * b
                    zic[z0 + j] -= tr * b + ti * a
                }
                k -= 1
            }
        }
    }
}

/// The eigenvalues of the symmetric tridiagonal matrix (d, e) (e[i] couples i and i+1,
/// e[n−1] = 0), ascending, in place in d; e is destroyed. Implicit QL with Wilkinson shifts
/// (Numerical Recipes' tqli without vectors). False if an eigenvalue took more than 60
/// iterations (non-finite input). Time O(n²).
func tridiagonalEigenvalues(_ d: UnsafeMutablePointer<Double>, _ e: UnsafeMutablePointer<Double>, _ n: Int) -> Bool {
    var converged = true
    for l in 0..<n {
        var iter = 0
        while true {
            var m = l
            while m < n - 1 {
                let dd = abs(d[m]) + abs(d[m + 1])
                if !(abs(e[m]) > Double.ulpOfOne * dd) { break }
                m += 1
            }
            if m == l { break }
            iter += 1
            if iter > 60 { converged = false; break }
            var g = (d[l + 1] - d[l]) / (2 * e[l])
            var r = (g * g + 1).squareRoot()
            g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
            var s = 1.0, c = 1.0, p = 0.0
            var i = m - 1
            var deflated = false
            while i >= l {
                let f = s * e[i], b = c * e[i]
                r = (f * f + g * g).squareRoot()
                e[i + 1] = r
                if r == 0 { d[i + 1] -= p; e[m] = 0; deflated = true; break }
                s = f / r; c = g / r
                g = d[i + 1] - p
                r = (d[i] - g) * s + 2 * c * b
                p = s * r
                d[i + 1] = g + p
                g = c * r - b
                i -= 1
            }
            if deflated { continue }
            d[l] -= p; e[l] = g; e[m] = 0
        }
    }
    // insertion sort (n is small; d is nearly sorted)
    for i in 1..<max(1, n) {
        let v = d[i]
        var j = i - 1
        while j >= 0 && d[j] > v { d[j + 1] = d[j]; j -= 1 }
        d[j + 1] = v
    }
    return converged
}


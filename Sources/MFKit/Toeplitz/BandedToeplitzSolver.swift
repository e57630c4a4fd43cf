import Glibc
import Synchronization

/// Triangular solves with a banded lower-triangular Toeplitz matrix T(c), b = len(c), and the
/// correlation that the gradients need, in float64.
///
/// Forward substitution x_t = (y_t − Σ_{r=1}^{min(t, b−1)} c_r x_{t−r}) / c_0 runs in blocks of
/// K = 32 steps. First the contributions of the finished steps before the block,
/// acc[j] = y_{t0+j} − Σ_{d=1}^{b−1} x_{t0−d} c_{d+j} (a broadcast times a contiguous run of c:
/// eight 4-wide multiply-adds in registers per d). Then the block's own K × K triangle is solved
/// by its inverse, T(c)_K⁻¹ = T(h)_K with h the first K coefficients of T(c)⁻¹:
/// x_{t0+j} = Σ_{i ≤ j} h_{j−i} acc[i], the same broadcast form, so no step waits for the one
/// before it. Time (b − 1 + K) n multiply-adds in 4-wide vectors, memory O(b + K); the blocks
/// are sequential, so one core.
///
/// The converged tail. When y is constant from some step on and T(c)⁻¹ is stable (every root of
/// c(z) outside the unit circle, checked by the Schur–Cohn recursion), x converges
/// geometrically to its limit y / c(1): the deviation solves the homogeneous recursion. Every
/// 4096 steps the solve checks the last 2 (b + K) values; once they agree with the limit to 64 ε
/// of the largest |x| so far (the size of the rounding noise the recursion itself makes), the
/// rest of x is the limit and the solve stops. So a strategy's decoder under the prefix sums
/// (y = 1) costs O(T b) for its transient T, whatever n (T ≈ 10⁵ for an optimized b = 256),
/// and its tail is exact (y / c(1) depends smoothly on c, which an optimizer needs).
struct BandedToeplitzSolver {
    static let block = 32
    /// Steps between two convergence checks.
    static let checkEvery = 4096
    let b: Int
    /// True when T(c)⁻¹ is a stable filter (the early stop is allowed).
    let stable: Bool
    /// c(1) = Σ c_r: a constant input y gives the limit y / c(1).
    let sum: Double
    /// c_0 … c_{b−1} followed by K zeros (c_{d+j} for d + j ≥ b reads a zero).
    private let padded: WorkBuffer<Double>
    /// K zeros followed by h_0 … h_{K−1}: x_j gets acc[i] h_{j−i} from entry K − i + j.
    private let inverse: WorkBuffer<Double>

    /// c must have c[0] ≠ 0 (checked by the callers).
    init(_ c: [Double]) throws {
        let K = Self.block
        b = c.count
        padded = try WorkBuffer<Double>(count: b + K, zeroed: true, "the Toeplitz coefficients")
        for (r, v) in c.enumerated() { padded[r] = v }
        inverse = try WorkBuffer<Double>(count: 2 * K, zeroed: true, "the inverse's leading coefficients")
        let h = inverse.pointer + K
        for i in 0..<K {
            var s = i == 0 ? 1.0 : 0.0
            for r in stride(from: 1, through: Swift.min(i, b - 1), by: 1) { s -= c[r] * h[i - r] }
            h[i] = s / c[0]
        }
        stable = Self.minimumPhase(c)
        sum = c.reduce(0, +)
    }

    /// True when every root of c(z) = Σ c_k z^k lies outside the unit circle, with a margin:
    /// the Schur–Cohn step-down recursion k = a_m / a_0, a ← (a − k ā) / (1 − k²) (ā the reversed
    /// coefficients) keeps |k| < 1 − 1e-9 at every degree. O(b²).
    static func minimumPhase(_ c: [Double]) -> Bool {
        var a = c
        while a.count > 1 {
            let m = a.count - 1, k = a[m] / a[0]
            guard abs(k) < 1 - 1e-9 else { return false }
            a = (0..<m).map { (a[$0] - k * a[m - $0]) / (1 - k * k) }
        }
        return true
    }

    /// x = T(c)⁻¹ y for n steps; y nil means y_t = `constant` for every t; `constantFrom`: y is
    /// constant from that step on (0 for nil). x may be y. Returns the step T from which x is
    /// its converged value (n when solved to the end); x[T..<n] is written only when `fill`.
    @discardableResult
    func solve(_ y: UnsafePointer<Double>?, constant: Double = 1, into x: UnsafeMutablePointer<Double>, _ n: Int,
               constantFrom: Int = Int.max, fill: Bool = true) -> Int {
        var largest = 0.0
        return solve(y, constant: constant, into: x, steps: 0..<n, total: n, constantFrom: y == nil ? 0 : constantFrom,
                     largest: &largest, fill: fill) ?? n
    }

    /// Steps `steps` of a solve of `total` steps (the steps before them are already in x; a range
    /// starts at a multiple of K; `largest` carries max |x| over the checked steps from one range
    /// to the next). Returns nil, or the step T from which x[T..<total] was filled with the
    /// converged value.
    func solve(_ y: UnsafePointer<Double>?, constant: Double = 1, into x: UnsafeMutablePointer<Double>,
               steps: Range<Int>, total: Int, constantFrom: Int, largest: inout Double, fill: Bool = true) -> Int? {
        let K = Self.block, c = padded.pointer, h = inverse.pointer, b = self.b, n = steps.upperBound
        let window = 2 * (b + K), every = Self.checkEvery
        let canStop = stable && total - constantFrom > 2 * every
        var scale = largest
        defer { largest = scale }
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * K) { buffer -> Int? in
            let acc = buffer.baseAddress!, out = acc + K
            var t0 = steps.lowerBound
            while t0 < n {
                let m = Swift.min(K, n - t0)
                if let y {
                    for j in 0..<m { acc[j] = y[t0 + j] }
                    for j in m..<K { acc[j] = 0 }
                } else {
                    for j in 0..<K { acc[j] = constant }
                }
                var a0 = load4(acc), a1 = load4(acc + 4), a2 = load4(acc + 8), a3 = load4(acc + 12)
                var a4 = load4(acc + 16), a5 = load4(acc + 20), a6 = load4(acc + 24), a7 = load4(acc + 28)
                var d = Swift.min(b - 1, t0)
                while d >= 1 {   // oldest first: the newest values are needed last
                    let v = SIMD4<Double>(repeating: -x[t0 - d]), p = c + d
                    a0 = a0.addingProduct(v, load4(p)); a1 = a1.addingProduct(v, load4(p + 4))
                    a2 = a2.addingProduct(v, load4(p + 8)); a3 = a3.addingProduct(v, load4(p + 12))
                    a4 = a4.addingProduct(v, load4(p + 16)); a5 = a5.addingProduct(v, load4(p + 20))
                    a6 = a6.addingProduct(v, load4(p + 24)); a7 = a7.addingProduct(v, load4(p + 28))
                    d -= 1
                }
                store4(a0, acc); store4(a1, acc + 4); store4(a2, acc + 8); store4(a3, acc + 12)
                store4(a4, acc + 16); store4(a5, acc + 20); store4(a6, acc + 24); store4(a7, acc + 28)
                var x0 = SIMD4<Double>(), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0
                for i in 0..<m {
                    let v = SIMD4<Double>(repeating: acc[i]), p = h + K - i
                    x0 = x0.addingProduct(v, load4(p)); x1 = x1.addingProduct(v, load4(p + 4))
                    x2 = x2.addingProduct(v, load4(p + 8)); x3 = x3.addingProduct(v, load4(p + 12))
                    x4 = x4.addingProduct(v, load4(p + 16)); x5 = x5.addingProduct(v, load4(p + 20))
                    x6 = x6.addingProduct(v, load4(p + 24)); x7 = x7.addingProduct(v, load4(p + 28))
                }
                if m == K {
                    let dst = x + t0
                    store4(x0, dst); store4(x1, dst + 4); store4(x2, dst + 8); store4(x3, dst + 12)
                    store4(x4, dst + 16); store4(x5, dst + 20); store4(x6, dst + 24); store4(x7, dst + 28)
                } else {
                    store4(x0, out); store4(x1, out + 4); store4(x2, out + 8); store4(x3, out + 12)
                    store4(x4, out + 16); store4(x5, out + 20); store4(x6, out + 24); store4(x7, out + 28)
                    for j in 0..<m { x[t0 + j] = out[j] }
                }
                t0 += m
                if stable && t0 % every == 0 && t0 >= every {
                    for i in (t0 - every)..<t0 { scale = Swift.max(scale, abs(x[i])) }
                }
                if canStop && t0 % every == 0 && t0 < total - every {
                    let limit = (y?[t0] ?? constant) / sum
                    if t0 - window >= constantFrom && converged(x + t0 - window, window, limit, scale) {
                        if fill { (x + t0).update(repeating: limit, count: total - t0) }
                        return t0
                    }
                }
            }
            return nil
        }
    }

    /// All `count` values agree with `limit` to 64 ε of `scale`.
    private func converged(_ x: UnsafePointer<Double>, _ count: Int, _ limit: Double, _ scale: Double) -> Bool {
        let tolerance = 64 * Double.ulpOfOne * scale
        for i in 0..<count where abs(x[i] - limit) > tolerance { return false }
        return true
    }
}

/// x = T(c)⁻¹ y and z = T(c)⁻¹ x (y constant from `constantFrom` on, nil: all `constant`): with
/// two threads the second solve trails the first on another core, a chunk of 8192 steps
/// behind (the first publishes its progress after each chunk), so both take the time of one.
/// One thread solves them one after the other. x must not alias z. Returns the steps from which
/// x and z hold their converged values (n when none). Time 2 n (b − 1 + K) multiply-adds over
/// two cores at most (O(T b) with converged tails).
@discardableResult
func solveTwice(_ solver: BandedToeplitzSolver, _ y: UnsafePointer<Double>?, constant: Double = 1,
                constantFrom: Int = Int.max, into x: UnsafeMutablePointer<Double>,
                then z: UnsafeMutablePointer<Double>, _ n: Int) -> (x: Int, z: Int) {
    let chunk = 8192
    let progress = Atomic<Int>(0), xFrom = Atomic<Int>(n), zFrom = Atomic<Int>(n)
    let from = y == nil ? 0 : constantFrom
    parallelForDynamic(2, block: 1, work: n * solver.b, threshold: 1 << 20) { roles in
        for role in roles {
            var (t, largest) = (0, 0.0)
            while t < n {
                let end = Swift.min(n, t + chunk)
                if role == 0 {
                    if let stop = solver.solve(y, constant: constant, into: x, steps: t..<end, total: n, constantFrom: from,
                                               largest: &largest) {
                        xFrom.store(stop, ordering: .relaxed)
                        progress.store(n, ordering: .releasing)
                        break
                    }
                    progress.store(end, ordering: .releasing)
                } else {
                    while progress.load(ordering: .acquiring) < end { sched_yield() }
                    if let stop = solver.solve(UnsafePointer(x), into: z, steps: t..<end, total: n,
                                               constantFrom: xFrom.load(ordering: .relaxed), largest: &largest) {
                        zFrom.store(stop, ordering: .relaxed)
                        break
                    }
                }
                t = end
            }
        }
    }
    return (xFrom.load(ordering: .relaxed), zFrom.load(ordering: .relaxed))
}

/// G[r] = Σ_{u=0}^{n−1−r} p[u] q[u + r] for r < lags: the lag-r correlations of two length-n
/// vectors, in chunks of 2048 u over the cores, four lags and eight u at a time (eight 4-wide
/// multiply-adds per two loads of p and eight of q). Time n · lags multiply-adds; memory
/// O(lags) per core.
func correlate(_ p: UnsafePointer<Double>, _ q: UnsafePointer<Double>, _ n: Int, lags: Int,
               into out: UnsafeMutablePointer<Double>) {
    let chunk = 2048
    let chunks = (n + chunk - 1) / chunk
    let total = parallelReduce(chunks, work: n * Swift.max(lags, 1), threshold: 1 << 18, { range -> [Double] in
        var sums = [Double](repeating: 0, count: lags)
        for piece in range {
            let lo = piece * chunk, hi = Swift.min(n, lo + chunk)
            var r = 0
            while r + 4 <= lags {
                // Every lag r … r + 3 is defined for u < end.
                let end = Swift.min(hi, n - r - 3)
                var s0 = SIMD4<Double>(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0
                var u = lo
                while u + 8 <= end {
                    let pa = load4(p + u), pb = load4(p + u + 4), qa = q + u + r, qb = qa + 4
                    s0 = s0.addingProduct(pa, load4(qa)); s1 = s1.addingProduct(pa, load4(qa + 1))
                    s2 = s2.addingProduct(pa, load4(qa + 2)); s3 = s3.addingProduct(pa, load4(qa + 3))
                    t0 = t0.addingProduct(pb, load4(qb)); t1 = t1.addingProduct(pb, load4(qb + 1))
                    t2 = t2.addingProduct(pb, load4(qb + 2)); t3 = t3.addingProduct(pb, load4(qb + 3))
                    u += 8
                }
                sums[r] += (s0 + t0).sum(); sums[r + 1] += (s1 + t1).sum()
                sums[r + 2] += (s2 + t2).sum(); sums[r + 3] += (s3 + t3).sum()
                for k in 0..<4 { sums[r + k] += tailSum(p, q, from: u, to: Swift.min(hi, n - r - k), lag: r + k) }
                r += 4
            }
            for k in r..<lags { sums[k] += tailSum(p, q, from: lo, to: Swift.min(hi, n - k), lag: k) }
        }
        return sums
    }, combine: { a, b in zip(a, b).map { $0 + $1 } }) ?? [Double](repeating: 0, count: lags)
    for r in 0..<lags { out[r] = total[r] }
}

/// Σ_{u ∈ [from, to)} p[u] q[u + lag] (0 when the range is empty).
@inline(__always)
private func tailSum(_ p: UnsafePointer<Double>, _ q: UnsafePointer<Double>, from: Int, to: Int, lag: Int) -> Double {
    var s = 0.0
    var u = from
    while u < to { s += p[u] * q[u + lag]; u += 1 }
    return s
}

@inline(__always) func load4(_ p: UnsafePointer<Double>) -> SIMD4<Double> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Double>.self)
}

@inline(__always) func load4(_ p: UnsafeMutablePointer<Double>) -> SIMD4<Double> { load4(UnsafePointer(p)) }

@inline(__always) func store4(_ v: SIMD4<Double>, _ p: UnsafeMutablePointer<Double>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Double>.self)
}

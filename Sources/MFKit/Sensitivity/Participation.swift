/// Participation patterns with a minimum separation: a user takes part in steps
/// i₁ < i₂ < … with i_{m+1} − i_m ≥ min_sep, at most k times (jax_privacy's `min_sep`,
/// `max_participations`; min_sep = 1 allows adjacent steps).
public enum Sensitivity {}

extension Sensitivity {
    /// The largest number of participations possible in n steps: ⌈n / min_sep⌉, capped at
    /// `maxParticipations` when given (which may be smaller, even negative, as in jax_privacy).
    /// Requires n ≥ 0 and min_sep ≥ 1. Time O(1).
    public static func minsepTrueMaxParticipations(n: Int, minSep: Int, maxParticipations: Int?) throws -> Int {
        try require(n >= 0, "n must be >= 0, found \(n).")
        try require(minSep >= 1, "min_sep must be >= 1, found \(minSep).")
        let upper = n / minSep + (n % minSep == 0 ? 0 : 1)
        guard let k = maxParticipations else { return upper }
        return Swift.min(k, upper)
    }

    /// max ⟨x, u⟩ over 0/1 vectors u whose ones respect (min_sep, max_participations); the
    /// empty pattern is allowed, so the result is ≥ 0. Dynamic program (Choquette-Choo et al.
    /// 2023, Alg. 3): F_k[i] = max(x[i] + F_{k−1}[i + min_sep], F_k[i + 1]), F_0 = 0.
    ///
    /// Time O(n k) for k = min(max_participations, ⌈n / min_sep⌉), stopping early once F_k
    /// stops changing (F is then a fixed point, bit for bit); O(n) without a binding cap
    /// (a single pass of F[i] = max(x[i] + F[i + min_sep], F[i + 1])); for min_sep = 1 the
    /// sum of the k largest positive entries, O(n) for k ≤ 64, O(n log n) above. Memory O(n).
    public static func maxParticipationForLinearFn(_ x: UnsafeBufferPointer<Double>, minSep: Int,
                                                   maxParticipations: Int?) throws -> Double {
        let k = try minsepTrueMaxParticipations(n: x.count, minSep: minSep, maxParticipations: maxParticipations)
        for v in x where !v.isFinite { throw MFError.invalidArgument("x must be finite") }
        guard let base = x.baseAddress, k > 0 else { return 0 }
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 2 * (x.count + 1))
        defer { scratch.deallocate() }
        return maxLinear(base, x.count, minSep, k, scratch)
    }

    /// As above, for x a 1-D real array of any strides (copied into float64). Memory O(n).
    public static func maxParticipationForLinearFn(_ x: StridedArray, minSep: Int,
                                                   maxParticipations: Int?) throws -> Double {
        try x.requireInput("x", ndim: 1)
        _ = try minsepTrueMaxParticipations(n: x.count, minSep: minSep, maxParticipations: maxParticipations)
        let values = try x.readVector("x")
        return try values.withUnsafeBufferPointer {
            try maxParticipationForLinearFn($0, minSep: minSep, maxParticipations: maxParticipations)
        }
    }

    /// The kernel of `maxParticipationForLinearFn` for k = the true maximum (≥ 1, already
    /// capped) on n ≥ 1 finite values; `scratch` holds 2 (n + 1) doubles.
    @usableFromInline
    static func maxLinear(_ x: UnsafePointer<Double>, _ n: Int, _ minSep: Int, _ k: Int,
                          _ scratch: UnsafeMutablePointer<Double>) -> Double {
        // Past the end F is zero; a separation beyond n reaches past the end from every i.
        let s = Swift.min(minSep, n)
        let unbounded = k >= n / minSep + (n % minSep == 0 ? 0 : 1)
        if unbounded {
            // F[i] = max(x[i] + F[i + s], F[i + 1]) with F[n...] = 0.
            let f = scratch
            f[n] = 0
            var run = 0.0
            for i in stride(from: n - 1, through: 0, by: -1) {
                let take = x[i] + (i + s < n ? f[i + s] : 0)
                if take > run { run = take }
                f[i] = run
            }
            return f[0]
        }
        if s == 1 { return sumOfLargestPositive(x, n, k, scratch) }
        var prev = scratch, cur = scratch + (n + 1)
        prev.initialize(repeating: 0, count: n + 1)
        cur[n] = 0
        for _ in 0..<k {
            var run = 0.0, changed = false
            for i in stride(from: n - 1, through: 0, by: -1) {
                let take = x[i] + (i + s < n ? prev[i + s] : 0)
                if take > run { run = take }
                if run != prev[i] { changed = true }
                cur[i] = run
            }
            swap(&prev, &cur)
            if !changed { break }
        }
        return prev[0]
    }

    /// Sum of the k largest positive entries (the optimum for min_sep = 1), added from the
    /// smallest up. For k ≤ 64 a sorted window of the k best so far: time O(n) plus O(k) per
    /// entry that enters it; otherwise a sort, O(n log n). `scratch` holds n doubles.
    static func sumOfLargestPositive(_ x: UnsafePointer<Double>, _ n: Int, _ k: Int,
                                     _ scratch: UnsafeMutablePointer<Double>) -> Double {
        var m = 0
        if k <= 64 {
            // scratch[0 ..< m] ascending, m ≤ k.
            for i in 0..<n {
                let v = x[i]
                guard v > 0, m < k || v > scratch[0] else { continue }
                var j: Int
                if m < k {
                    // Grow the window: insert from the top.
                    j = m
                    m += 1
                    while j > 0 && scratch[j - 1] > v { scratch[j] = scratch[j - 1]; j -= 1 }
                } else {
                    // Full: drop the smallest, insert from the bottom.
                    j = 0
                    while j + 1 < k && scratch[j + 1] < v { scratch[j] = scratch[j + 1]; j += 1 }
                }
                scratch[j] = v
            }
        } else {
            for i in 0..<n where x[i] > 0 { scratch[m] = x[i]; m += 1 }
            var buffer = UnsafeMutableBufferPointer(start: scratch, count: m)
            buffer.sort()
            if m > k { scratch.update(from: scratch + (m - k), count: k); m = k }
        }
        var total = 0.0
        for i in 0..<m { total += scratch[i] }
        return total
    }
}

/// Sensitivity of a Toeplitz strategy C = T(c) (jax_privacy's `toeplitz.sensitivity_squared`
/// and `toeplitz.minsep_sensitivity_squared`).
extension Toeplitz {
    /// `sensitivity_squared(coef, n)`: ‖c[..<n']‖², the squared norm of C's first column, its
    /// largest, hence the sensitivity under single participation. O(b).
    public static func sensitivitySquared(_ coef: [Double], n: Int?) throws -> Double {
        let (c, _) = try reconcile(coef, n)
        return c.reduce(0) { $0 + $1 * $1 }
    }

    /// `minsep_sensitivity_squared`: the squared sensitivity of T(c) (n' = n ?? len(c) steps)
    /// under participations at least `minSep` apart, at most k = min(maxParticipations,
    /// ⌈n' / min_sep⌉) of them. For non-negative, non-increasing c (checked unless skipChecks)
    /// the worst pattern takes every min_sep-th step from the first (Theorem 2 of
    /// arXiv:2405.13763), so with s = min_sep
    ///
    ///     sens² = Σ_{i < n'} V_i²,   V_i = Σ_{m < k} c[i − m s]   (c[j] = 0 outside [0, b)).
    ///
    /// V_i = P(i) − P(i − k s) for the strided prefix sums P(j) = Σ_{j' ≤ j, j' ≡ j (mod s)} c[j'],
    /// which are constant along each residue class once j ≥ b: outside [0, b) and
    /// [k s, k s + b) every V_i is one of at most b residue sums (each counted in O(1)) or zero.
    /// Time and memory O(b), whatever n' and k (jax_privacy: O(n')).
    public static func minsepSensitivitySquared(_ coef: [Double], minSep: Int, maxParticipations: Int?, n: Int?,
                                                skipChecks: Bool = false) throws -> Double {
        let (c, size) = try reconcile(coef, n, "strategy_coef")
        if !skipChecks {
            if let least = c.min(), least < 0 {
                throw MFError.invalidArgument("coef must be non-negative, but found minimum value \(least), coef[:25]=\(Array(c.prefix(25)))")
            }
            var (largest, at) = (0.0, 0)
            for i in 1..<Swift.max(c.count, 1) where c[i] - c[i - 1] > largest { (largest, at) = (c[i] - c[i - 1], i - 1) }
            if largest > 0 {
                throw MFError.invalidArgument("coef must be non-increasing, but found increase \(largest) at index \(at)")
            }
        }
        try require(minSep > 0, "min_sep must be positive")
        if let k = maxParticipations { try Check.positive(k, "max_participations") }
        let k = try Sensitivity.minsepTrueMaxParticipations(n: size, minSep: minSep, maxParticipations: maxParticipations)
        let b = c.count, s = minSep
        let (product, overflow) = k.multipliedReportingOverflow(by: s)
        let ks = overflow ? Int.max : product
        // P[j] for j < b, and the full residue sums Pend[ρ] (ρ < min(s, b)).
        var prefix = c
        for j in stride(from: s, to: b, by: 1) { prefix[j] += prefix[j - s] }
        let residues = Swift.min(s, b)
        var end = [Double](repeating: 0, count: residues)
        for rho in 0..<residues { end[rho] = prefix[b - 1 - ((b - 1 - rho) % s)] }
        func full(_ j: Int) -> Double {   // P(j) for j ≥ 0
            if j < b { return prefix[j] }
            let rho = j % s
            return rho < residues ? end[rho] : 0
        }
        func v(_ i: Int) -> Double { full(i) - (i >= ks ? full(i - ks) : 0) }
        var total = 0.0
        for i in 0..<Swift.min(b, size) { total += v(i) * v(i) }
        // i in [b, min(n', k s)): V_i = Pend[i mod s]; count the i of each residue.
        let lo = b, hi = Swift.min(size, ks)
        if hi > lo {
            for rho in 0..<residues {
                let count = (hi - 1 - rho) / s - (lo - 1 - rho) / s
                total += Double(count) * end[rho] * end[rho]
            }
        }
        // i in [max(b, k s), min(n', k s + b)): both terms.
        if ks < size {
            let from = Swift.max(b, ks), to = Swift.min(size, ks &+ b < ks ? Int.max : ks + b)
            if to > from { for i in from..<to { total += v(i) * v(i) } }
        }
        return total
    }
}

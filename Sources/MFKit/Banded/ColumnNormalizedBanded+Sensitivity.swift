extension ColumnNormalizedBanded {
    /// `minsep_sensitivity_squared`: the squared L2 sensitivity of this (column-normalized)
    /// strategy under (k, min_sep) participation with min_sep ≥ bands, which is the largest
    /// possible number of participations min(k, ⌈n / min_sep⌉) (k = nil: no limit).
    /// `n` (default: the strategy's n) must not exceed the strategy's n. Checks (skipped with
    /// `skipChecks`) and messages as jax_privacy. Time O(1).
    public func minsepSensitivitySquared(minSep: Int, maxParticipations: Int? = nil, n: Int? = nil,
                                         skipChecks: Bool = false) throws -> Int {
        try require(minSep >= 1, "min_sep must be positive, got \(minSep)")
        if let k = maxParticipations { try require(k >= 1, "max_participations must be positive, got \(k)") }
        let rounds = n ?? self.n
        try require(rounds >= 1, "n must be positive, got \(rounds)")
        let upper = rounds / minSep + (rounds % minSep == 0 ? 0 : 1)   // ⌈rounds / minSep⌉ without overflow
        let participations = maxParticipations.map { Swift.min($0, upper) } ?? upper
        if !skipChecks {
            if minSep < bands {
                throw MFError.invalidArgument(
                    "min_sep=\(minSep) must be greater than or equal to bands=\(bands). This error is usually "
                    + "indicative of a mis-configuration of the strategy for the participation pattern.  If it "
                    + "is intentional, please use sensitivity.get_sensitivity_banded.")
            }
            if rounds > self.n {
                throw MFError.invalidArgument("n=\(rounds) must be less than or equal to strategy.n=\(self.n).")
            }
        }
        return participations
    }
}

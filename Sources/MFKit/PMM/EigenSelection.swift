/// Which eigenpairs a PMM eigen module keeps: parametricmatrixmodels' `which`. The first letter
/// chooses smallest (S), largest (L), both ends (E) or the middle (I) of the spectrum sorted by
/// a key, the second the key: the eigenvalue (A, algebraic) or its magnitude (M).
public enum EigenSelection: Int, Sendable, CaseIterable {
    case sa = 0, la, sm, lm, ea, em, ia, im

    /// The columns kept, as indices into the ascending spectrum `values` (n of them): first the
    /// k selected ones in the release's order, then (when `m > k`) the unselected ones in
    /// ascending order, m in all. With s the indices sorted by the key (a stable sort, so equal
    /// magnitudes keep ascending algebraic order) and h = n / 2:
    /// S: s[..<k]; L: s[n−k...] (the largest last); E: s[..<k/2] then s[n−(k−k/2)...];
    /// I: s[h−k/2 ..< h] then s[h ..< h+k−k/2]. Needs 1 ≤ k ≤ m ≤ n. Time O(n log n).
    public func order(_ values: UnsafePointer<Double>, n: Int, k: Int, m: Int, into out: UnsafeMutablePointer<Int>) {
        let byMagnitude = self == .sm || self == .lm || self == .em || self == .im
        var s = Array(0..<n)
        if byMagnitude {
            s.sort { (abs(values[$0]), $0) < (abs(values[$1]), $1) }
        }
        let half = k / 2, rest = k - k / 2, h = n / 2
        var chosen: [Int]
        switch self {
        case .sa, .sm: chosen = Array(s[..<k])
        case .la, .lm: chosen = Array(s[(n - k)...])
        case .ea, .em: chosen = Array(s[..<half]) + Array(s[(n - rest)...])
        case .ia, .im: chosen = Array(s[(h - half)..<h]) + Array(s[h..<(h + rest)])
        }
        if m > k {
            var taken = [Bool](repeating: false, count: n)
            for i in chosen { taken[i] = true }
            for i in 0..<n where !taken[i] && chosen.count < m { chosen.append(i) }
        }
        for c in 0..<m { out[c] = chosen[c] }
    }
}

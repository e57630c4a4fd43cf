/// Lower-triangular Toeplitz matrices given by their leading coefficients (jax_privacy's
/// `matrix_factorization.toeplitz`): T(c) is n × n with T(c)[i, j] = c[i − j] for
/// 0 ≤ i − j < len(c) and zero elsewhere, so the product of two is the truncated convolution
/// of their coefficients and the inverse is again lower-triangular Toeplitz. A banded strategy
/// has b = len(c) ≪ n coefficients; every function here costs O(n b) or less.
///
/// Sizes follow jax_privacy's `_reconcile(coef, n)`: n defaults to len(coef), and only the
/// first n coefficients are used when len(coef) > n.
public enum Toeplitz {
    /// jax_privacy's `_reconcile`: (coef[..<n'], n') with n' = n ?? len(coef). n ≥ 1 when
    /// given; coef must have at least one entry and be finite. O(len).
    public static func reconcile(_ coef: [Double], _ n: Int?, _ name: String = "coef") throws -> (coef: [Double], n: Int) {
        try Check.nonEmpty(coef, name)
        try Check.finite(coef, name)
        if let n { try Check.positive(n, "n") }
        let size = n ?? coef.count
        return (coef.count > size ? Array(coef[..<size]) : coef, size)
    }

    /// Throws unless c[0] ≠ 0, without which T(c) is singular.
    static func requireInvertible(_ c: [Double], _ name: String) throws {
        guard c[0] != 0 else {
            throw MFError.numerical("\(name)[0] must be nonzero (the diagonal of a lower-triangular Toeplitz matrix), got 0")
        }
    }

    /// `pad_coefs_to_n`: the n' = n ?? len(coef) coefficients of T(coef), zeros past len(coef).
    /// O(n').
    public static func padCoefs(_ coef: [Double], n: Int?) throws -> [Double] {
        let (c, size) = try reconcile(coef, n)
        var out = try Memory.array(repeating: 0.0, count: size, "the padded coefficients")
        for (k, v) in c.enumerated() { out[k] = v }
        return out
    }

    /// `multiply`: the n' coefficients of T(lhs) T(rhs), the convolution of the two truncated to
    /// n' = n ?? len(lhs) terms (both reconciled to n'); its length is min(n', l + r − 1) for l and r
    /// the reconciled lengths, as jax_privacy's `convolve(...)[:n]`. Without n the two lengths must
    /// agree (unless skipChecks). Time O(L · min(l, r)) for the output length L; memory O(L).
    public static func multiply(_ lhs: [Double], _ rhs: [Double], n: Int?, skipChecks: Bool = false) throws -> [Double] {
        if !skipChecks && n == nil && lhs.count != rhs.count {
            throw MFError.invalidArgument(
                "If n is not specified, then lhs_coef and rhs_coef must have the same length, but found lhs_coef of length len(lhs_coef)=\(lhs.count) and rhs_coef of length len(rhs_coef)=\(rhs.count).")
        }
        let (l, size) = try reconcile(lhs, n, "lhs_coef")
        let (r, _) = try reconcile(rhs, size, "rhs_coef")
        let count = Swift.min(size, l.count + r.count - 1)
        var out = try Memory.array(repeating: 0.0, count: count, "the product's coefficients")
        // out[i + j] += short[i] · long[j]: one contiguous multiply-add per entry of the shorter.
        let (short, long) = l.count <= r.count ? (l, r) : (r, l)
        long.withUnsafeBufferPointer { lp in
            out.withUnsafeMutableBufferPointer { op in
                for (i, s) in short.enumerated() where i < count && s != 0 {
                    let m = Swift.min(long.count, count - i)
                    let dst = op.baseAddress! + i
                    for j in 0..<m { dst[j] += s * lp[j] }
                }
            }
        }
        return out
    }

    /// `optimal_max_error_strategy_coefs(n)`: the coefficients of Fichtenberger, Henzinger and
    /// Upadhyay (2023), f_0 = 1, f_k = f_{k−1} (2k − 1) / (2k), the square root of the prefix-sum
    /// matrix (T(f)² = T(1)), optimal for the max error under single participation. O(n).
    public static func optimalMaxErrorStrategyCoefs(_ n: Int) throws -> [Double] {
        try Check.positive(n, "n")
        try Memory.requireAllocatable(n, bytesPerElement: 8, "the coefficients")
        return ColumnNormalizedBanded.fichtenbergerCoefficients(n)
    }

    /// `optimal_max_error_noising_coefs(n)`: the coefficients of T(f)⁻¹ = T(1)⁻¹ T(f), the first
    /// differences f_k − f_{k−1} (f_{−1} = 0). O(n).
    public static func optimalMaxErrorNoisingCoefs(_ n: Int) throws -> [Double] {
        let f = try optimalMaxErrorStrategyCoefs(n)
        var d = f
        for k in stride(from: 1, to: n, by: 1) { d[k] = f[k] - f[k - 1] }
        return d
    }
}

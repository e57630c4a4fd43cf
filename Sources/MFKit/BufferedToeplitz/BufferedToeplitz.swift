import Glibc

/// A buffered linear Toeplitz (BLT) matrix (jax_privacy's `buffered_toeplitz.BufferedToeplitz`):
/// the lower-triangular Toeplitz C with coefficients
///
///     c_0 = 1,   c_m = Σ_j ω_j θ_j^{m−1}   (m ≥ 1),
///
/// for d buffers with decays θ = buf_decay and scales ω = output_scale; its generating function
/// is c(x) = 1 + Σ_j ω_j x / (1 − θ_j x). C x is computed with d buffers of state
/// (Dvijotham et al. 2024, arXiv:2404.16706; McMahan et al. 2024, arXiv:2408.08868). An immutable
/// value; d = 0 is the identity. Memory O(d).
public struct BufferedToeplitz: Sendable, Equatable {
    public let bufDecay: [Double]
    public let outputScale: [Double]

    /// The parameters as given (no reordering); both of one length. Use `build` for the
    /// canonical order.
    public init(bufDecay: [Double], outputScale: [Double]) throws {
        try BufferedToeplitz.validate(bufDecay: bufDecay, outputScale: outputScale)
        self.bufDecay = bufDecay
        self.outputScale = outputScale
    }

    /// The most buffers a BLT may have (its closed forms cost O(d² log n); 3 to 7 buffers are
    /// typical and jax_privacy's optimize stops at 15).
    public static let maxBuffers = 1024

    /// Checks that the two parameter vectors have one length (jax_privacy's `validate`) of at
    /// most `maxBuffers`.
    public static func validate(bufDecay: [Double], outputScale: [Double]) throws {
        guard bufDecay.count == outputScale.count else {
            throw MFError.invalidArgument(
                "buf_decay and output_scale must have the same length, but buf_decay.shape = (\(bufDecay.count),) != output_scale.shape = (\(outputScale.count),)")
        }
        try require(bufDecay.count <= maxBuffers, "a BLT has at most \(maxBuffers) buffers, got \(bufDecay.count)")
    }

    /// The BLT with buf_decay in decreasing order (`build` / `canonicalize`); ties keep the
    /// reverse of their given order, as jax_privacy's reversed argsort does. O(d log d).
    public static func build(bufDecay: [Double], outputScale: [Double]) throws -> BufferedToeplitz {
        try BufferedToeplitz(bufDecay: bufDecay, outputScale: outputScale).canonicalized()
    }

    /// This BLT with buf_decay in decreasing order (NaN last). O(d log d).
    public func canonicalized() -> BufferedToeplitz {
        // NumPy's stable ascending argsort (NaN last), reversed.
        let ascending = (0..<count).sorted { i, j in
            let (a, b) = (bufDecay[i], bufDecay[j])
            if a.isNaN != b.isNaN { return b.isNaN }
            if a.isNaN || a == b { return i < j }
            return a < b
        }
        let order = Array(ascending.reversed())
        return try! BufferedToeplitz(bufDecay: order.map { bufDecay[$0] }, outputScale: order.map { outputScale[$0] })
    }

    /// The number of buffers d.
    public var count: Int { bufDecay.count }

    /// The identity (no buffers).
    public static let identity = try! BufferedToeplitz(bufDecay: [], outputScale: [])

    /// Σ_j ω_j / θ_j (the Pillutla score of arXiv:2504.21413, Theorem 1). O(d).
    public var pillutlaScore: Double {
        var s = CompensatedSum()
        for j in 0..<count { s.add(outputScale[j] / bufDecay[j]) }
        return s.value
    }

    /// The first n Toeplitz coefficients c_0 … c_{n−1} (n ≥ 1) into `out`. Powers are carried
    /// by multiplication and recomputed with pow every 64 steps (relative error ≤ 64 ulps per
    /// power). Time O(n d); no memory beyond out.
    public func toeplitzCoefs(_ n: Int, into out: UnsafeMutablePointer<Double>) {
        guard n >= 1 else { return }
        out[0] = 1
        let d = count
        var power = [Double](repeating: 1, count: d)
        for m in 1..<n {
            var s = 0.0
            if (m - 1) % 64 == 0 {
                for j in 0..<d { power[j] = pow(bufDecay[j], Double(m - 1)) }
            }
            for j in 0..<d {
                s += outputScale[j] * power[j]
                power[j] *= bufDecay[j]
            }
            out[m] = s
        }
    }

    /// The first n Toeplitz coefficients as an array. Time and memory O(n d), O(n).
    public func toeplitzCoefs(_ n: Int) throws -> [Double] {
        try Check.positive(n, "n")
        try Memory.requireAllocatable(n, bytesPerElement: 8, "\(n) Toeplitz coefficients")
        return [Double](unsafeUninitializedCapacity: n) { b, k in
            toeplitzCoefs(n, into: b.baseAddress!)
            k = n
        }
    }

    /// The smallest |θ_i − θ_j| over i ≠ j (+inf for fewer than two buffers;
    /// jax_privacy's `min_buf_decay_gap`). O(d²).
    public static func minBufDecayGap(_ theta: [Double]) -> Double {
        var gap = Double.infinity
        for i in 0..<theta.count {
            for j in 0..<theta.count where j != i { gap = Swift.min(gap, abs(theta[i] - theta[j])) }
        }
        return gap
    }

    /// The output scales that make a BLT with decays `theta` the inverse-pair partner of decays
    /// `thetaHat` (Lemma 5.2 of arXiv:2404.16706; Theorem 2 of arXiv:2504.21413):
    /// ω_i = Π_j (θ_i − θ̂_j) / Π_{j≠i} (θ_i − θ_j). O(d²).
    public static func pairOutputScale(_ theta: [Double], _ thetaHat: [Double]) -> [Double] {
        (0..<theta.count).map { i in
            var num = 1.0, den = 1.0
            for t in thetaHat { num *= theta[i] - t }
            for j in 0..<theta.count where j != i { den *= theta[i] - theta[j] }
            return num / den
        }
    }

    /// The pair (C, C⁻¹) with decays θ and θ̂ (`blt_pair_from_theta_pair`), each canonicalized.
    /// θ and θ̂ have one length. O(d²).
    public static func pair(theta: [Double], thetaHat: [Double]) throws -> (BufferedToeplitz, BufferedToeplitz) {
        guard theta.count == thetaHat.count else {
            throw MFError.invalidArgument("theta and theta_hat must have the same length, got \(theta.count) and \(thetaHat.count)")
        }
        return (try build(bufDecay: theta, outputScale: pairOutputScale(theta, thetaHat)),
                try build(bufDecay: thetaHat, outputScale: pairOutputScale(thetaHat, theta)))
    }
}

extension BufferedToeplitz: CustomStringConvertible {
    public var description: String { "BufferedToeplitz(buf_decay=\(bufDecay), output_scale=\(outputScale))" }
}

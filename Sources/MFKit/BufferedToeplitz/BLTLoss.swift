import Glibc

/// What `optimize` minimizes for a BLT strategy C and its noising matrix C⁻¹ (jax_privacy's
/// `buffered_toeplitz.LossFn`): error(C⁻¹) × sensitivity²(C), plus small log-barrier penalties
/// that keep the pair in the well-behaved class of arXiv:2504.21413, Theorem 1.
///
/// - closed form (`closedFormSingleParticipation(n:)`): max error and single-participation
///   sensitivity by the closed forms, O(d² log n) per evaluation whatever n is;
/// - min-sep (`minSep(n:error:minSep:maxParticipations:)`): 'max' error by the same closed
///   form (the max of the per-query errors is the last one), 'mean' error and the min-sep
///   sensitivity by closed forms too (jax_privacy materializes the first n Toeplitz
///   coefficients of C and C⁻¹), O(d² log n) per evaluation.
public struct BLTLoss: Sendable {
    public enum ErrorKind: Sendable { case mean, max }

    /// The penalties, in the order of their sorted names (jax_privacy's dictionary keys).
    public static let penaltyNames = ["buf_decay<1", "buf_decay>0", "inv_buf_decay<1", "inv_buf_decay>0",
                                      "inv_output_scale<0", "output_scale>0", "pillutla_score", "second_coef",
                                      "theta_gap"]

    public let n: Int
    public let minSep: Int
    /// The participation cap as given (nil: none).
    public let maxParticipationsCap: Int?
    /// k = min(cap, ⌈n / min_sep⌉), as jax_privacy's `LossFn.max_participations`.
    public let maxParticipations: Int
    public let error: ErrorKind
    public let closedForm: Bool
    public var penaltyStrength = 1e-8
    /// Multipliers of the penalties, in `penaltyNames` order (0 turns one off, even if NaN).
    public var penaltyMultipliers = [Double](repeating: 1, count: 9)
    public var maxSecondCoef = 1.0
    public var minThetaGap = 1e-12

    init(n: Int, minSep: Int, cap: Int?, error: ErrorKind, closedForm: Bool) throws {
        try Check.positive(n, "n")
        self.n = n
        self.minSep = minSep
        maxParticipationsCap = cap
        maxParticipations = try Sensitivity.minsepTrueMaxParticipations(n: n, minSep: minSep, maxParticipations: cap)
        self.error = error
        self.closedForm = closedForm
    }

    /// Max error × single-participation sensitivity by the closed forms.
    public static func closedFormSingleParticipation(n: Int) throws -> BLTLoss {
        try BLTLoss(n: n, minSep: 1, cap: 1, error: .max, closedForm: true)
    }

    /// Mean or max error × min-sep sensitivity for k participations.
    public static func minSep(n: Int, error: ErrorKind = .max, minSep: Int = 1, maxParticipations: Int? = nil) throws -> BLTLoss {
        try BLTLoss(n: n, minSep: minSep, cap: maxParticipations, error: error, closedForm: false)
    }

    /// The error of the noising BLT, with its gradient.
    public func errorForInverse(_ inv: BufferedToeplitz) throws -> BLTValue {
        error == .mean && !closedForm ? try inv.meanError(Double(n)) : try inv.maxError(Double(n))
    }

    /// The sensitivity² of the strategy BLT, with its gradient.
    public func sensitivitySquared(_ blt: BufferedToeplitz) throws -> BLTValue {
        closedForm ? try blt.sensitivitySquared(Double(n))
                   : try blt.minSepSensitivitySquared(n, minSep: minSep, maxParticipations: maxParticipationsCap)
    }

    /// error(C⁻¹) × sensitivity²(C), no penalties (`LossFn.loss`). C⁻¹ from `inverse`; unless
    /// `skipChecks`, a strategy for several participations must have nonnegative,
    /// non-increasing coefficients. A BLT whose inverse is not a real BLT has loss +inf.
    public func loss(_ blt: BufferedToeplitz, skipChecks: Bool = false) throws -> Double {
        let inv: BufferedToeplitz
        do { inv = try blt.inverse(skipChecks: skipChecks) } catch MFError.numerical { return .infinity }
        let e = try errorForInverse(inv).value
        if !skipChecks && maxParticipations > 1 { try blt.requireValidForMinSep(n) }
        return e * (try sensitivitySquared(blt).value)
    }

    /// The penalties of the pair (C, C⁻¹) in `penaltyNames` order (theta_gap is 0 for fewer
    /// than two buffers, where jax_privacy has no such penalty), with their gradients with
    /// respect to (θ, ω, θ̂, ω̂) when `gradient` is given (9 × 4d, row per penalty).
    public func penalties(_ c: BufferedToeplitz, _ inv: BufferedToeplitz, gradient: UnsafeMutablePointer<Double>? = nil) -> [Double] {
        let d = c.count
        let (t, w, th, wh) = (c.bufDecay, c.outputScale, inv.bufDecay, inv.outputScale)
        var p = [Double](repeating: 0, count: 9)
        func grad(_ row: Int, _ block: Int, _ j: Int, _ value: Double) { gradient?[row * 4 * d + block * d + j] += value }
        if let gradient { gradient.initialize(repeating: 0, count: 9 * 4 * d) }
        for j in 0..<d {
            p[0] -= log(1 - t[j]); grad(0, 0, j, 1 / (1 - t[j]))
            p[1] -= log(t[j]); grad(1, 0, j, -1 / t[j])
            p[2] -= log(1 - th[j]); grad(2, 2, j, 1 / (1 - th[j]))
            p[3] -= log(th[j]); grad(3, 2, j, -1 / th[j])
            p[4] -= log(-wh[j]); grad(4, 3, j, -1 / wh[j])
            p[5] -= log(w[j]); grad(5, 1, j, -1 / w[j])
        }
        var score = 0.0, second = 0.0
        for j in 0..<d { score += w[j] / t[j]; second += w[j] }
        p[6] = -log(1 - score)
        p[7] = -log(maxSecondCoef - second)
        for j in 0..<d {
            grad(6, 1, j, 1 / (t[j] * (1 - score)))
            grad(6, 0, j, -w[j] / (t[j] * t[j] * (1 - score)))
            grad(7, 1, j, 1 / (maxSecondCoef - second))
        }
        if d > 1 {
            for (block, theta) in [(0, t), (2, th)] {
                var (gap, bi, bj) = (Double.infinity, 0, 0)
                for i in 0..<d { for j in 0..<d where j != i && abs(theta[i] - theta[j]) < gap { (gap, bi, bj) = (abs(theta[i] - theta[j]), i, j) } }
                p[8] -= log(gap - minThetaGap)
                let s = (theta[bi] >= theta[bj] ? 1.0 : -1.0) / (gap - minThetaGap)
                grad(8, block, bi, -s)
                grad(8, block, bj, s)
            }
        }
        return p
    }

    /// jax_privacy's normalization of the loss: k + (1 + ln n / π)², roughly the optimum.
    public var approximateOptimalLoss: Double { Double(maxParticipations) + pow(1 + log(Double(n)) / Double.pi, 2) }

    /// The penalized loss (`LossFn.penalized_loss`) of the pair (C, C⁻¹) with gradients with
    /// respect to (θ, ω) and (θ̂, ω̂) into `gradC` / `gradInv` (each 2d: θ then ω) when given.
    public func penalizedLoss(_ c: BufferedToeplitz, _ inv: BufferedToeplitz, normalize: Bool = true,
                              gradC: UnsafeMutablePointer<Double>? = nil, gradInv: UnsafeMutablePointer<Double>? = nil) throws -> Double {
        let d = c.count
        let e = try errorForInverse(inv), s = try sensitivitySquared(c)
        let scale = normalize ? 1 / approximateOptimalLoss : 1
        var penaltyGradient = [Double](repeating: 0, count: 9 * 4 * Swift.max(d, 1))
        let pens = penaltyGradient.withUnsafeMutableBufferPointer {
            penalties(c, inv, gradient: gradC == nil && gradInv == nil ? nil : $0.baseAddress!)
        }
        var total = 0.0
        var active = [Double](repeating: 0, count: 9)
        for (i, m) in penaltyMultipliers.enumerated() where m != 0 && (i != 8 || d > 1) {
            total += m * pens[i]
            active[i] = m * penaltyStrength
        }
        if let gradC, let gradInv {
            for j in 0..<d {
                gradC[j] = s.bufDecay[j] * e.value * scale
                gradC[d + j] = s.outputScale[j] * e.value * scale
                gradInv[j] = e.bufDecay[j] * s.value * scale
                gradInv[d + j] = e.outputScale[j] * s.value * scale
                for i in 0..<9 where active[i] != 0 {
                    let row = i * 4 * d
                    gradC[j] += active[i] * penaltyGradient[row + j]
                    gradC[d + j] += active[i] * penaltyGradient[row + d + j]
                    gradInv[j] += active[i] * penaltyGradient[row + 2 * d + j]
                    gradInv[d + j] += active[i] * penaltyGradient[row + 3 * d + j]
                }
            }
        }
        return e.value * s.value * scale + penaltyStrength * total
    }

    /// The penalized loss as a function of the buf_decay pair x = (θ, θ̂) (jax_privacy's
    /// `Parameterization.buf_decay_pair`): ω and ω̂ from `pairOutputScale`, the gradient pulled
    /// back through them into `g` (2d) when given.
    func pairLoss(_ x: UnsafePointer<Double>, _ d: Int, _ g: UnsafeMutablePointer<Double>?) -> Double {
        let theta = Array(UnsafeBufferPointer(start: x, count: d))
        let thetaHat = Array(UnsafeBufferPointer(start: x + d, count: d))
        let w = BufferedToeplitz.pairOutputScale(theta, thetaHat)
        let wh = BufferedToeplitz.pairOutputScale(thetaHat, theta)
        guard let c = try? BufferedToeplitz(bufDecay: theta, outputScale: w),
              let inv = try? BufferedToeplitz(bufDecay: thetaHat, outputScale: wh) else { return .nan }
        var gc = [Double](repeating: 0, count: 2 * d), gi = gc
        let value: Double
        if g == nil {
            value = (try? penalizedLoss(c, inv)) ?? .nan
        } else {
            value = gc.withUnsafeMutableBufferPointer { pc in
                gi.withUnsafeMutableBufferPointer { pi in
                    (try? penalizedLoss(c, inv, gradC: pc.baseAddress!, gradInv: pi.baseAddress!)) ?? .nan
                }
            }
        }
        guard let g, value.isFinite else { return value }
        for j in 0..<d { g[j] = gc[j]; g[d + j] = gi[j] }
        BufferedToeplitz.pairPullBack(theta, thetaHat, Array(gc[d...]), g, g + d)
        BufferedToeplitz.pairPullBack(thetaHat, theta, Array(gi[d...]), g + d, g)
        return value
    }
}

extension BufferedToeplitz {
    /// Adds gω · ∂ω/∂θ to gTheta and gω · ∂ω/∂θ̂ to gThetaHat for ω = pairOutputScale(θ, θ̂):
    /// ω_i = N_i / D_i with N_i = Π_l (θ_i − θ̂_l), D_i = Π_{j≠i} (θ_i − θ_j). O(d³).
    static func pairPullBack(_ theta: [Double], _ thetaHat: [Double], _ gw: [Double],
                             _ gTheta: UnsafeMutablePointer<Double>, _ gThetaHat: UnsafeMutablePointer<Double>) {
        let d = theta.count
        let w = pairOutputScale(theta, thetaHat)
        for i in 0..<d where gw[i] != 0 {
            var den = 1.0
            for j in 0..<d where j != i { den *= theta[i] - theta[j] }
            var dNum = 0.0   // Σ_l Π_{l'≠l} (θ_i − θ̂_l')
            for l in 0..<d {
                var others = 1.0
                for l2 in 0..<d where l2 != l { others *= theta[i] - thetaHat[l2] }
                dNum += others
                gThetaHat[l] -= gw[i] * others / den
            }
            var self_ = dNum / den
            for j in 0..<d where j != i {
                self_ -= w[i] / (theta[i] - theta[j])
                gTheta[j] += gw[i] * w[i] / (theta[i] - theta[j])
            }
            gTheta[i] += gw[i] * self_
        }
    }
}

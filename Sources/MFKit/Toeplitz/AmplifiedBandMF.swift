/// Amplified BandMF with banded Toeplitz strategies (jax_privacy's `_AmplifiedBandMFHelper` and
/// `optimize_coefs_for_amplifications`; Theorem 4 and Algorithm 2 of arXiv:2306.08153): with
/// b bands the data set is cut into b subsets used in turn (cyclic Poisson sampling with rate
/// q = batch / ⌊dataset / b⌋), so a user takes part at most k = ⌈n / b⌉ times, b apart, and the
/// mechanism is k compositions of the subsampled Gaussian. Fewer bands amplify more; more bands
/// correlate the noise more. The helper picks the number of bands (among the divisors of the
/// data set size up to dataset / batch) with the least error of the average prefix sum.
public struct AmplifiedBandMF {
    public let n: Int
    public let datasetSize: Int
    /// The expected batch size.
    public let batchSize: Int
    public let epsilon: Double
    public let delta: Double
    public let reduction: ErrorReduction

    /// Checks n ≥ 1, 1 ≤ batch ≤ dataset, ε ≥ 0 and δ in [0, 1].
    public init(n: Int, datasetSize: Int, batchSize: Int, epsilon: Double, delta: Double,
                reduction: ErrorReduction = .max) throws {
        try Check.positive(n, "n")
        try Check.positive(datasetSize, "dataset_size")
        try require(batchSize >= 1 && batchSize <= datasetSize,
                    "the batch size must be in [1, dataset_size=\(datasetSize)], got \(batchSize)")
        try require(epsilon >= 0 && epsilon.isFinite, "target_epsilon must be nonnegative. Found \(epsilon).")
        try require(delta >= 0 && delta <= 1, "target_delta must be in range [0, 1]. Found \(delta).")
        (self.n, self.datasetSize, self.batchSize, self.epsilon, self.delta, self.reduction) =
            (n, datasetSize, batchSize, epsilon, delta, reduction)
    }

    /// The most bands that still allow b-min-sep participation: ⌊dataset / batch⌋.
    public var maxBands: Int { datasetSize / batchSize }

    /// The divisors of the data set size up to `maxBands`, ascending. O(√dataset).
    public var candidateBands: [Int] {
        var small: [Int] = [], large: [Int] = []
        var i = 1
        while i <= datasetSize / i {
            if datasetSize % i == 0 {
                small.append(i)
                if i != datasetSize / i { large.append(datasetSize / i) }
            }
            i += 1
        }
        return (small + large.reversed()).filter { $0 <= maxBands }
    }

    /// The noise multiplier that reaches (ε, δ) with b bands: k = ⌈n / b⌉ compositions of the
    /// Gaussian subsampled at q = batch / ⌊dataset / b⌋, calibrated in [0.01, ⌊100 √batch⌋].
    public func totalNoiseMultiplier(bands: Int) throws -> Double {
        try Check.positive(bands, "bands")
        let subset = datasetSize / bands
        try require(subset >= 1, "bands=\(bands) exceeds dataset_size=\(datasetSize)")
        let q = Double(batchSize) / Double(subset)
        let k = n / bands + (n % bands == 0 ? 0 : 1)
        let upper = (100 * Double(batchSize).squareRoot()).rounded(.towardZero)
        return try RenyiAccountant.calibrate(q: q, count: k, epsilon: epsilon, delta: delta, lower: 0.01, upper: upper)
    }

    /// ‖coef[..<n]‖, the sensitivity of T(coef) (b-min-sep participations touch disjoint rows).
    public func sensitivity(_ coef: [Double]) throws -> Double {
        try Toeplitz.sensitivitySquared(coef, n: n).squareRoot()
    }

    /// The standard deviation of the uncorrelated noise z: total noise multiplier × sensitivity.
    public func requiredStddev(_ coef: [Double]) throws -> Double {
        try totalNoiseMultiplier(bands: coef.count) * sensitivity(coef)
    }

    /// The error of the estimate of the average prefix sum: √loss(coef) × σ_total / batch.
    public func amplifiedLoss(_ coef: [Double]) throws -> Double {
        let (loss, _) = try Toeplitz.loss(.strategy(coef), n: n, workload: nil, reduction: reduction, timesSensitivity: true)
        return loss.squareRoot() * (try totalNoiseMultiplier(bands: coef.count)) / Double(batchSize)
    }

    /// `compute_loss_for_bands`: for each b of `bandsList` (default `candidateBands`), the
    /// optimized coefficients (`optimizeBandedToeplitz(n, b, maxSteps)` with the tolerances and
    /// the callback, whose steps restart from 0 with each b), their amplified loss and the
    /// run's report. Time: one optimization and one calibration per candidate.
    public func lossForBands(_ bandsList: [Int]? = nil, maxSteps: Int = 250, gradientTolerance: Double = 0,
                             lossTolerance: Double = 0,
                             callback: (Int, Double, Double) -> Bool = { _, _, _ in false })
        throws -> [(bands: Int, coef: [Double], loss: Double, result: LBFGS.Result)] {
        let list = bandsList ?? candidateBands
        try Check.nonEmpty(list, "bands_list")
        if let top = list.max(), top > maxBands {
            throw MFError.invalidArgument("bands_list=\(list) contains a value that exceeds max_bands=\(maxBands)")
        }
        return try list.map { b in
            let (coef, result) = try Toeplitz.optimizeBandedToeplitz(
                n: n, bands: b, maxSteps: maxSteps, reduction: reduction, gradientTolerance: gradientTolerance,
                lossTolerance: lossTolerance, callback: callback)
            return (b, coef, try amplifiedLoss(coef), result)
        }
    }

    /// `optimize_coefs_for_amplifications`: the candidate with the least amplified loss (the
    /// first on ties), the standard deviation its noise needs and its run's report.
    public func optimize(maxSteps: Int = 250, gradientTolerance: Double = 0, lossTolerance: Double = 0,
                         callback: (Int, Double, Double) -> Bool = { _, _, _ in false })
        throws -> (coef: [Double], stddev: Double, result: LBFGS.Result) {
        let results = try lossForBands(maxSteps: maxSteps, gradientTolerance: gradientTolerance,
                                       lossTolerance: lossTolerance, callback: callback)
        var best = results[0]
        for r in results.dropFirst() where r.loss < best.loss { best = r }
        return (best.coef, try requiredStddev(best.coef), best.result)
    }
}

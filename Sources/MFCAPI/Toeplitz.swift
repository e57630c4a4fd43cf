import MFKit
import MFKitABI

// Toeplitz strategies (include/mfkit.h, "Toeplitz strategies").

@c @implementation
public func mfkit_toeplitz_pad_coefs(_ coef: UnsafePointer<mfkit_array>?, _ n: UnsafePointer<Int64>?,
                                     _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Toeplitz.padCoefs(try array(coef, "coef"), n: optional(n), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_toeplitz_materialize(_ coef: UnsafePointer<mfkit_array>?, _ n: UnsafePointer<Int64>?,
                                       _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Toeplitz.materializeLowerTriangular(try array(coef, "coef"), n: optional(n), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_toeplitz_solve_banded(_ coef: UnsafePointer<mfkit_array>?, _ rhs: UnsafePointer<mfkit_array>?,
                                        _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Toeplitz.solveBanded(try array(coef, "coef"), try array(rhs, "rhs"), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_toeplitz_multiply(_ lhs: UnsafePointer<mfkit_array>?, _ rhs: UnsafePointer<mfkit_array>?,
                                    _ n: UnsafePointer<Int64>?, _ skipChecks: Int32,
                                    _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try Toeplitz.multiply(try array(lhs, "lhs_coef"), try array(rhs, "rhs_coef"), n: optional(n),
                              skipChecks: skipChecks != 0, into: try array(out, "out"))
    }
}

@c @implementation
public func mfkit_toeplitz_inverse_coef(_ coef: UnsafePointer<mfkit_array>?, _ n: UnsafePointer<Int64>?,
                                        _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Toeplitz.inverseCoef(try array(coef, "coef"), n: optional(n), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_toeplitz_optimal_max_error_strategy_coefs(_ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Toeplitz.optimalMaxErrorStrategyCoefs(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_toeplitz_optimal_max_error_noising_coefs(_ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Toeplitz.optimalMaxErrorNoisingCoefs(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_toeplitz_sensitivity_squared(_ coef: UnsafePointer<mfkit_array>?, _ n: UnsafePointer<Int64>?,
                                               _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let c = try array(coef, "coef")
        try store(out) { try Toeplitz.sensitivitySquared(c, n: optional(n)) }
    }
}

@c @implementation
public func mfkit_toeplitz_minsep_sensitivity_squared(_ coef: UnsafePointer<mfkit_array>?, _ minSep: Int64,
                                                      _ maxParticipations: UnsafePointer<Int64>?,
                                                      _ n: UnsafePointer<Int64>?, _ skipChecks: Int32,
                                                      _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let c = try array(coef, "strategy_coef")
        try store(out) {
            try Toeplitz.minsepSensitivitySquared(c, minSep: Int(minSep), maxParticipations: optional(maxParticipations),
                                                  n: optional(n), skipChecks: skipChecks != 0)
        }
    }
}

@c @implementation
public func mfkit_toeplitz_per_query_error(_ strategy: UnsafePointer<mfkit_array>?, _ noising: UnsafePointer<mfkit_array>?,
                                           _ n: UnsafePointer<Int64>?, _ workload: UnsafePointer<mfkit_array>?,
                                           _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try Toeplitz.perQueryError(strategy: try optionalArray(strategy, "strategy_coef"),
                                   noising: try optionalArray(noising, "noising_coef"), n: optional(n),
                                   workload: try optionalArray(workload, "workload_coef"), into: try array(out, "out"))
    }
}

@c @implementation
public func mfkit_toeplitz_loss(_ strategy: UnsafePointer<mfkit_array>?, _ noising: UnsafePointer<mfkit_array>?,
                                _ n: UnsafePointer<Int64>?, _ workload: UnsafePointer<mfkit_array>?,
                                _ code: mfkit_reduction, _ weights: UnsafePointer<mfkit_array>?,
                                _ timesSensitivity: Int32, _ loss: UnsafeMutablePointer<Double>?,
                                _ grad: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        let (s, v, w) = (try optionalArray(strategy, "strategy_coef"), try optionalArray(noising, "noising_coef"),
                         try optionalArray(workload, "workload_coef"))
        let (red, g) = (try reduction(code, weights, nil), try optionalArray(grad, "grad"))
        try store(loss, "loss") {
            try Toeplitz.loss(strategy: s, noising: v, n: optional(n), workload: w, reduction: red,
                              timesSensitivity: timesSensitivity != 0, gradient: g)
        }
    }
}

@c @implementation
public func mfkit_toeplitz_inverse(_ coef: UnsafePointer<mfkit_array>?, _ columnNormalizeFor: UnsafePointer<Int64>?,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let c = try array(coef, "coef")
        try storeHandle(out) { try Toeplitz.inverse(c, columnNormalizeFor: optional(columnNormalizeFor)) }
    }
}

@c @implementation
public func mfkit_toeplitz_optimize(_ n: Int64, _ bands: Int64, _ start: UnsafePointer<mfkit_array>?, _ maxSteps: Int64,
                                    _ code: mfkit_reduction, _ weights: UnsafePointer<mfkit_array>?,
                                    _ gtol: Double, _ ftol: Double,
                                    _ callback: mfkit_optimize_callback?, _ user: UnsafeMutableRawPointer?,
                                    _ out: UnsafePointer<mfkit_array>?, _ steps: UnsafeMutablePointer<Int64>?,
                                    _ evaluations: UnsafeMutablePointer<Int64>?, _ loss: UnsafeMutablePointer<Double>?,
                                    _ gradNorm: UnsafeMutablePointer<Double>?,
                                    _ stop: UnsafeMutablePointer<mfkit_stop_reason>?) -> mfkit_status {
    exported {
        let (s, o) = (try optionalArray(start, "strategy_coef"), try array(out, "out"))
        let red = try reduction(code, weights, Int(n))
        let result = try Toeplitz.optimizeBandedToeplitz(
            n: Int(n), bands: Int(bands), start: s, maxSteps: Int(maxSteps), reduction: red, gradientTolerance: gtol,
            lossTolerance: ftol, callback: stepCallback(callback, user), into: o)
        report(result, steps: steps, evaluations: evaluations, loss: loss, gradNorm: gradNorm, stop: stop)
    }
}

@c @implementation
public func mfkit_toeplitz_amplified_noise_multiplier(_ n: Int64, _ datasetSize: Int64, _ batchSize: Int64, _ bands: Int64,
                                                      _ epsilon: Double, _ delta: Double,
                                                      _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let helper = try AmplifiedBandMF(n: Int(n), datasetSize: Int(datasetSize), batchSize: Int(batchSize),
                                         epsilon: epsilon, delta: delta)
        try store(out) { try helper.totalNoiseMultiplier(bands: Int(bands)) }
    }
}

@c @implementation
public func mfkit_toeplitz_optimize_for_amplifications(_ n: Int64, _ datasetSize: Int64, _ batchSize: Int64,
                                                       _ epsilon: Double, _ delta: Double, _ maxSteps: Int64,
                                                       _ code: mfkit_reduction, _ gtol: Double, _ ftol: Double,
                                                       _ callback: mfkit_optimize_callback?,
                                                       _ user: UnsafeMutableRawPointer?,
                                                       _ out: UnsafePointer<mfkit_array>?,
                                                       _ bands: UnsafeMutablePointer<Int64>?,
                                                       _ stddev: UnsafeMutablePointer<Double>?,
                                                       _ steps: UnsafeMutablePointer<Int64>?,
                                                       _ evaluations: UnsafeMutablePointer<Int64>?,
                                                       _ loss: UnsafeMutablePointer<Double>?,
                                                       _ gradNorm: UnsafeMutablePointer<Double>?,
                                                       _ stop: UnsafeMutablePointer<mfkit_stop_reason>?) -> mfkit_status {
    exported {
        let o = try array(out, "out")
        guard let bands, let stddev else { throw MFError.invalidArgument("bands and stddev must not be null pointers") }
        let helper = try AmplifiedBandMF(n: Int(n), datasetSize: Int(datasetSize), batchSize: Int(batchSize),
                                         epsilon: epsilon, delta: delta,
                                         reduction: try reduction(code, nil, Int(n)))
        try Check.nonNegative(Int(maxSteps), "max_optimizer_steps")
        let (b, s, result) = try helper.optimize(maxSteps: Int(maxSteps), gradientTolerance: gtol, lossTolerance: ftol,
                                                 callback: stepCallback(callback, user), into: o)
        bands.pointee = Int64(b)
        stddev.pointee = s
        report(result, steps: steps, evaluations: evaluations, loss: loss, gradNorm: gradNorm, stop: stop)
    }
}

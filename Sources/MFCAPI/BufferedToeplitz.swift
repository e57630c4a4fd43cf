import MFKit
import MFKitABI

// Buffered Toeplitz strategies (include/mfkit.h, "buffered Toeplitz strategies").

private func blt(_ bufDecay: UnsafePointer<mfkit_array>?, _ outputScale: UnsafePointer<mfkit_array>?,
                 _ names: (String, String) = ("buf_decay", "output_scale")) throws -> BufferedToeplitz {
    try BufferedToeplitz(bufDecay: try array(bufDecay, names.0), outputScale: try array(outputScale, names.1), names: names)
}

/// The error reduction of a code (MFKIT_BLT_ERROR_*).
private func errorKind(_ error: mfkit_blt_error) throws -> BLTLoss.ErrorKind {
    switch Int(error) {
    case MFKIT_BLT_ERROR_MEAN: return .mean
    case MFKIT_BLT_ERROR_MAX: return .max
    default: throw MFError.invalidArgument("Unknown error=\(error) (0 mean, 1 max)")
    }
}

/// The loss described by the C arguments (and its penalty settings).
private func lossSpec(_ n: Int64, _ minSep: Int64, _ cap: UnsafePointer<Int64>?, _ error: mfkit_blt_error,
                      _ closedForm: Int32, strength: Double = 1e-8, multipliers: UnsafePointer<mfkit_array>? = nil,
                      maxSecondCoef: Double = 1, minThetaGap: Double = 1e-12) throws -> BLTLoss {
    try BLTLoss.described(n: Int(n), minSep: Int(minSep), maxParticipations: optional(cap), error: try errorKind(error),
                          closedForm: closedForm != 0, penaltyStrength: strength,
                          multipliers: try optionalArray(multipliers, "penalty_multipliers"),
                          maxSecondCoef: maxSecondCoef, minThetaGap: minThetaGap)
}

/// Stores a closed form's value into *out and its gradient into the optional arrays.
private func storeValue(_ b: BufferedToeplitz, _ out: UnsafeMutablePointer<Double>?, _ g1: UnsafePointer<mfkit_array>?,
                        _ g2: UnsafePointer<mfkit_array>?, _ compute: () throws -> BLTValue) throws {
    let (a1, a2) = (try optionalArray(g1, "grad_buf_decay"), try optionalArray(g2, "grad_output_scale"))
    try store(out) { try b.value(gradient: a1, a2, compute) }
}

@c @implementation
public func mfkit_blt_canonicalize(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                   _ outBd: UnsafePointer<mfkit_array>?, _ outOs: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try blt(bd, os).canonicalized().write(bufDecay: try array(outBd, "out_buf_decay"), outputScale: try array(outOs, "out_output_scale")) }
}

@c @implementation
public func mfkit_blt_toeplitz_coefs(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                     _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try blt(bd, os).toeplitzCoefs(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_blt_materialize(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                  _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try blt(bd, os).materialize(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_blt_inverse(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?, _ skipChecks: Int32,
                              _ outBd: UnsafePointer<mfkit_array>?, _ outOs: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try blt(bd, os).inverse(skipChecks: skipChecks != 0, into: try array(outBd, "out_buf_decay"),
                                try array(outOs, "out_output_scale"))
    }
}

@c @implementation
public func mfkit_blt_pillutla_score(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                     _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported { let b = try blt(bd, os); try store(out) { b.pillutlaScore } }
}

@c @implementation
public func mfkit_blt_min_buf_decay_gap(_ bd: UnsafePointer<mfkit_array>?, _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let theta = try BufferedToeplitz.parameters(try array(bd, "buf_decay"), "buf_decay")
        try store(out) { BufferedToeplitz.minBufDecayGap(theta) }
    }
}

@c @implementation
public func mfkit_blt_pair_from_theta_pair(_ theta: UnsafePointer<mfkit_array>?, _ thetaHat: UnsafePointer<mfkit_array>?,
                                           _ out1: UnsafePointer<mfkit_array>?, _ out2: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        let pair = try blt(theta, thetaHat, ("theta", "theta_hat"))   // two vectors of one length
        let (t, th) = (pair.bufDecay, pair.outputScale)
        let (o1, o2) = (try array(out1, "out_output_scale"), try array(out2, "out_inverse_output_scale"))
        try BufferedToeplitz(bufDecay: BufferedToeplitz.pairOutputScale(t, th), outputScale: BufferedToeplitz.pairOutputScale(th, t))
            .write(bufDecay: o1, outputScale: o2, names: ("out_output_scale", "out_inverse_output_scale"))
    }
}

@c @implementation
public func mfkit_blt_from_rational_approx(_ numBuffers: Int64, _ maxBufDecay: Double, _ maxScore: UnsafePointer<Double>?,
                                           _ scale: Double, _ shift: Int64, _ outBd: UnsafePointer<mfkit_array>?,
                                           _ outOs: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try BufferedToeplitz.fromRationalApproxToSqrtX(
            numBuffers: Int(numBuffers), maxBufDecay: maxBufDecay, maxPillutlaScore: maxScore?.pointee,
            bufDecayScale: scale, bufDecayShift: Int(shift),
            into: try array(outBd, "out_buf_decay"), try array(outOs, "out_output_scale"))
    }
}

@c @implementation
public func mfkit_blt_streaming_matrix(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?, _ inverse: Int32,
                                       _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let b = try blt(bd, os)
        try storeHandle(out) { inverse != 0 ? b.inverseAsStreamingMatrix() : b.asStreamingMatrix() }
    }
}

@c @implementation
public func mfkit_blt_geometric_sum(_ a: UnsafePointer<mfkit_array>?, _ r: UnsafePointer<mfkit_array>?, _ num: Double,
                                    _ out: UnsafePointer<mfkit_array>?, _ gradR: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        let (av, rv, o) = (try array(a, "a"), try array(r, "r"), try array(out, "out"))
        let g = try optionalArray(gradR, "grad_r")
        try BufferedToeplitz.geometricSum(a: av, r: rv, num: num, into: o, gradient: g)
    }
}

@c @implementation
public func mfkit_blt_sensitivity_squared(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?, _ n: Double,
                                          _ out: UnsafeMutablePointer<Double>?, _ g1: UnsafePointer<mfkit_array>?,
                                          _ g2: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { let b = try blt(bd, os); try storeValue(b, out, g1, g2) { try b.sensitivitySquared(n) } }
}

@c @implementation
public func mfkit_blt_max_error(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?, _ n: Double,
                                _ out: UnsafeMutablePointer<Double>?, _ g1: UnsafePointer<mfkit_array>?,
                                _ g2: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { let b = try blt(bd, os); try storeValue(b, out, g1, g2) { try b.maxError(n) } }
}

@c @implementation
public func mfkit_blt_limit_max_error(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                      _ out: UnsafeMutablePointer<Double>?, _ g1: UnsafePointer<mfkit_array>?,
                                      _ g2: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { let b = try blt(bd, os); try storeValue(b, out, g1, g2) { b.limitMaxError() } }
}

@c @implementation
public func mfkit_blt_max_loss(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?, _ n: Double,
                               _ out: UnsafeMutablePointer<Double>?, _ g1: UnsafePointer<mfkit_array>?,
                               _ g2: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { let b = try blt(bd, os); try storeValue(b, out, g1, g2) { try b.maxLoss(n) } }
}

@c @implementation
public func mfkit_blt_limit_max_loss(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                     _ out: UnsafeMutablePointer<Double>?, _ g1: UnsafePointer<mfkit_array>?,
                                     _ g2: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { let b = try blt(bd, os); try storeValue(b, out, g1, g2) { try b.limitMaxLoss() } }
}

@c @implementation
public func mfkit_blt_loss(_ n: Int64, _ minSep: Int64, _ cap: UnsafePointer<Int64>?, _ error: mfkit_blt_error,
                           _ closedForm: Int32, _ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                           _ skipChecks: Int32, _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let spec = try lossSpec(n, minSep, cap, error, closedForm)
        let b = try blt(bd, os)
        try store(out) { try spec.loss(b, skipChecks: skipChecks != 0) }
    }
}

@c @implementation
public func mfkit_blt_loss_error(_ n: Int64, _ minSep: Int64, _ cap: UnsafePointer<Int64>?, _ error: mfkit_blt_error,
                                 _ closedForm: Int32, _ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                 _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let spec = try lossSpec(n, minSep, cap, error, closedForm)
        let b = try blt(bd, os)
        try store(out) { try spec.errorForInverse(b).value }
    }
}

@c @implementation
public func mfkit_blt_loss_sensitivity(_ n: Int64, _ minSep: Int64, _ cap: UnsafePointer<Int64>?, _ error: mfkit_blt_error,
                                       _ closedForm: Int32, _ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                       _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let spec = try lossSpec(n, minSep, cap, error, closedForm)
        let b = try blt(bd, os)
        try store(out) { try spec.sensitivitySquared(b).value }
    }
}

@c @implementation
public func mfkit_blt_penalties(_ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                _ ibd: UnsafePointer<mfkit_array>?, _ ios: UnsafePointer<mfkit_array>?,
                                _ maxSecondCoef: Double, _ minThetaGap: Double, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        let (c, inv) = (try blt(bd, os), try blt(ibd, ios, ("inv_buf_decay", "inv_output_scale")))
        let spec = try BLTLoss.described(n: 1, minSep: 1, maxParticipations: 1, error: .max, closedForm: true,
                                         maxSecondCoef: maxSecondCoef, minThetaGap: minThetaGap)
        try spec.penalties(c, inv, into: try array(out, "out"))
    }
}

@c @implementation
public func mfkit_blt_penalized_loss(_ n: Int64, _ minSep: Int64, _ cap: UnsafePointer<Int64>?, _ error: mfkit_blt_error,
                                     _ closedForm: Int32, _ strength: Double, _ multipliers: UnsafePointer<mfkit_array>?,
                                     _ maxSecondCoef: Double, _ minThetaGap: Double,
                                     _ bd: UnsafePointer<mfkit_array>?, _ os: UnsafePointer<mfkit_array>?,
                                     _ ibd: UnsafePointer<mfkit_array>?, _ ios: UnsafePointer<mfkit_array>?,
                                     _ normalize: Int32, _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let spec = try lossSpec(n, minSep, cap, error, closedForm, strength: strength, multipliers: multipliers,
                                maxSecondCoef: maxSecondCoef, minThetaGap: minThetaGap)
        let (c, inv) = (try blt(bd, os), try blt(ibd, ios, ("inv_buf_decay", "inv_output_scale")))
        try spec.requireSameLength(c, inv)
        try store(out) { try spec.penalizedLoss(c, inv, normalize: normalize != 0) }
    }
}

@c @implementation
public func mfkit_blt_optimize_loss(_ n: Int64, _ minSep: Int64, _ cap: UnsafePointer<Int64>?, _ error: mfkit_blt_error,
                                    _ closedForm: Int32, _ strength: Double, _ multipliers: UnsafePointer<mfkit_array>?,
                                    _ maxSecondCoef: Double, _ minThetaGap: Double, _ numBuffers: Int64,
                                    _ ibd: UnsafePointer<mfkit_array>?, _ ios: UnsafePointer<mfkit_array>?,
                                    _ maxSteps: Int64, _ gtol: Double, _ ftol: Double,
                                    _ callback: mfkit_optimize_callback?, _ user: UnsafeMutableRawPointer?,
                                    _ outBd: UnsafePointer<mfkit_array>?, _ outOs: UnsafePointer<mfkit_array>?,
                                    _ loss: UnsafeMutablePointer<Double>?, _ steps: UnsafeMutablePointer<Int64>?,
                                    _ evaluations: UnsafeMutablePointer<Int64>?, _ objective: UnsafeMutablePointer<Double>?,
                                    _ gradNorm: UnsafeMutablePointer<Double>?,
                                    _ stop: UnsafeMutablePointer<mfkit_stop_reason>?) -> mfkit_status {
    exported {
        let spec = try lossSpec(n, minSep, cap, error, closedForm, strength: strength, multipliers: multipliers,
                                maxSecondCoef: maxSecondCoef, minThetaGap: minThetaGap)
        let start = ibd == nil && ios == nil ? nil : try blt(ibd, ios, ("init_buf_decay", "init_output_scale"))
        let (o1, o2) = (try array(outBd, "out_buf_decay"), try array(outOs, "out_output_scale"))
        guard let loss else { throw MFError.invalidArgument("loss is a null pointer") }
        let (value, result) = try BufferedToeplitz.optimize(
            loss: spec, numBuffers: Int(numBuffers), initial: start, maxSteps: Int(maxSteps), gradientTolerance: gtol,
            lossTolerance: ftol, callback: stepCallback(callback, user), into: o1, o2)
        loss.pointee = value
        report(result, steps: steps, evaluations: evaluations, loss: objective, gradNorm: gradNorm, stop: stop)
    }
}

@c @implementation
public func mfkit_blt_optimize(_ n: Int64, _ minSep: Int64, _ cap: UnsafePointer<Int64>?, _ error: mfkit_blt_error,
                               _ minBuffers: Int64, _ maxBuffers: Int64, _ rtol: Double, _ maxSteps: Int64,
                               _ gtol: Double, _ ftol: Double,
                               _ callback: mfkit_optimize_callback?, _ user: UnsafeMutableRawPointer?,
                               _ outBd: UnsafePointer<mfkit_array>?, _ outOs: UnsafePointer<mfkit_array>?,
                               _ numBuffers: UnsafeMutablePointer<Int64>?, _ steps: UnsafeMutablePointer<Int64>?,
                               _ evaluations: UnsafeMutablePointer<Int64>?, _ objective: UnsafeMutablePointer<Double>?,
                               _ gradNorm: UnsafeMutablePointer<Double>?,
                               _ stop: UnsafeMutablePointer<mfkit_stop_reason>?) -> mfkit_status {
    exported {
        let kind = try errorKind(error)
        guard let numBuffers else { throw MFError.invalidArgument("num_buffers is a null pointer") }
        let (count, result) = try BufferedToeplitz.optimize(
            n: Int(n), minSep: Int(minSep), maxParticipations: optional(cap), error: kind,
            minBuffers: Int(minBuffers), maxBuffers: Int(maxBuffers), rtol: rtol, maxSteps: Int(maxSteps),
            gradientTolerance: gtol, lossTolerance: ftol, callback: stepCallback(callback, user),
            into: try array(outBd, "out_buf_decay"), try array(outOs, "out_output_scale"))
        numBuffers.pointee = Int64(count)
        report(result, steps: steps, evaluations: evaluations, loss: objective, gradNorm: gradNorm, stop: stop)
    }
}

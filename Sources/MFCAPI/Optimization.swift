import MFKit
import MFKitABI

// Optimization (include/mfkit.h, "optimization").

/// The MFKIT_STOP_* code of a stop reason.
func stopCode(_ stop: LBFGS.Stop) -> mfkit_stop_reason {
    switch stop {
    case .maxSteps: return mfkit_stop_reason(MFKIT_STOP_MAX_STEPS)
    case .gradientTolerance: return mfkit_stop_reason(MFKIT_STOP_GRADIENT_TOLERANCE)
    case .lossTolerance: return mfkit_stop_reason(MFKIT_STOP_LOSS_TOLERANCE)
    case .callback: return mfkit_stop_reason(MFKIT_STOP_CALLBACK)
    case .lineSearch: return mfkit_stop_reason(MFKIT_STOP_LINE_SEARCH)
    case .nonFinite: return mfkit_stop_reason(MFKIT_STOP_NON_FINITE)
    }
}

/// Writes an optimizer's report into the caller's out-parameters (each may be NULL).
func report(_ result: LBFGS.Result, steps: UnsafeMutablePointer<Int64>?, evaluations: UnsafeMutablePointer<Int64>?,
            loss: UnsafeMutablePointer<Double>?, gradNorm: UnsafeMutablePointer<Double>?,
            stop: UnsafeMutablePointer<mfkit_stop_reason>?) {
    steps?.pointee = Int64(result.steps)
    evaluations?.pointee = Int64(result.evaluations)
    loss?.pointee = result.loss
    gradNorm?.pointee = result.gradientNorm
    stop?.pointee = stopCode(result.stop)
}

/// A C optimizer callback as a Swift one (false when absent).
func stepCallback(_ callback: mfkit_optimize_callback?, _ user: UnsafeMutableRawPointer?) -> (Int, Double, Double) -> Bool {
    { step, value, gnorm in callback.map { $0(user, Int64(step), value, gnorm) != 0 } ?? false }
}

@c @implementation
public func mfkit_lbfgs_minimize(_ x: UnsafePointer<mfkit_array>?, _ objective: mfkit_objective?,
                                 _ callback: mfkit_optimize_callback?, _ user: UnsafeMutableRawPointer?,
                                 _ maxSteps: Int64, _ memory: Int64, _ gtol: Double, _ ftol: Double,
                                 _ invariantBlock: Int64, _ steps: UnsafeMutablePointer<Int64>?,
                                 _ evaluations: UnsafeMutablePointer<Int64>?, _ loss: UnsafeMutablePointer<Double>?,
                                 _ gradNorm: UnsafeMutablePointer<Double>?,
                                 _ stop: UnsafeMutablePointer<mfkit_stop_reason>?) -> mfkit_status {
    exported {
        let xa = try array(x, "x")
        guard let objective else { throw MFError.invalidArgument("objective is a null function pointer") }
        let count = Int64(xa.count)
        var lbfgs = LBFGS(maxSteps: Int(maxSteps), memory: Int(memory))
        lbfgs.gradientTolerance = gtol
        lbfgs.lossTolerance = ftol
        lbfgs.invariantBlock = Int(invariantBlock)
        let result = try lbfgs.minimize(inPlace: xa, { p, g in objective(user, p, g, count) },
                                        callback: stepCallback(callback, user))
        report(result, steps: steps, evaluations: evaluations, loss: loss, gradNorm: gradNorm, stop: stop)
    }
}

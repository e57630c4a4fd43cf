import MFKit
import MFKitABI

// Optimization (include/mfkit.h, "optimization").

@c @implementation
public func mfkit_lbfgs_minimize(_ x: UnsafePointer<mfkit_array>?, _ objective: mfkit_objective?,
                                 _ callback: mfkit_optimize_callback?, _ user: UnsafeMutableRawPointer?,
                                 _ maxSteps: Int64, _ memory: Int64, _ steps: UnsafeMutablePointer<Int64>?,
                                 _ loss: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let xa = try array(x, "x")
        guard let objective else { throw MFError.invalidArgument("objective is a null function pointer") }
        let count = Int64(xa.count)
        let result = try LBFGS(maxSteps: Int(maxSteps), memory: Int(memory)).minimize(inPlace: xa, { p, g in
            objective(user, p, g, count)
        }, callback: { step, value, gnorm in callback.map { $0(user, Int64(step), value, gnorm) != 0 } ?? false })
        steps?.pointee = Int64(result.steps)
        loss?.pointee = result.loss
    }
}

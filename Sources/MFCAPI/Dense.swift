import MFKit
import MFKitABI

// Dense strategies (include/mfkit.h, "dense strategies").

@c @implementation
public func mfkit_dense_per_query_error(_ strategy: UnsafePointer<mfkit_array>?, _ noising: UnsafePointer<mfkit_array>?,
                                        _ workload: UnsafePointer<mfkit_array>?, _ skipChecks: Int32,
                                        _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try Dense.perQueryError(strategy: try optionalArray(strategy, "strategy_matrix"),
                                noising: try optionalArray(noising, "noising_matrix"),
                                workload: try optionalArray(workload, "workload_matrix"), skipChecks: skipChecks != 0,
                                into: try array(out, "out"))
    }
}

@c @implementation
public func mfkit_dense_orthogonal_mask(_ n: Int64, _ epochs: Int64, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Dense.orthogonalMask(n: Int(n), epochs: Int(epochs), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_dense_strategy_from_x(_ x: UnsafePointer<mfkit_array>?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Dense.strategyFromX(try array(x, "X"), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_dense_optimize(_ n: Int64, _ epochs: Int64, _ bands: UnsafePointer<Int64>?, _ equalNorm: Int32,
                                 _ a: UnsafePointer<mfkit_array>?, _ maxSteps: Int64, _ code: mfkit_reduction,
                                 _ weights: UnsafePointer<mfkit_array>?, _ pgTol: UnsafePointer<Double>?,
                                 _ callback: mfkit_dense_callback?, _ user: UnsafeMutableRawPointer?,
                                 _ steps: UnsafeMutablePointer<Int64>?, _ loss: UnsafeMutablePointer<Double>?,
                                 _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        let workload = try optionalArray(a, "A")
        let queries = workload.flatMap { $0.ndim == 2 ? $0.shape[0] : nil } ?? Int(n)
        let result = try Dense.optimize(
            n: Int(n), epochs: Int(epochs), bands: optional(bands), equalNorm: equalNorm != 0, workload: workload,
            reduction: try reduction(code, weights, queries), maxSteps: Int(maxSteps), gradientTolerance: pgTol?.pointee,
            callback: callback.map { fn in
                { s in fn(user, Int64(s.step), s.loss, s.gradient, s.params, Int64(s.n)) != 0 }
            }, into: try array(out, "out"))
        steps?.pointee = Int64(result.steps)
        loss?.pointee = result.loss
    }
}

@c @implementation
public func mfkit_dense_loss(_ x: UnsafePointer<mfkit_array>?, _ a: UnsafePointer<mfkit_array>?, _ code: mfkit_reduction,
                             _ weights: UnsafePointer<mfkit_array>?, _ loss: UnsafeMutablePointer<Double>?,
                             _ grad: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        let (xa, workload, g) = (try array(x, "X"), try optionalArray(a, "A"), try optionalArray(grad, "grad"))
        let queries = workload.flatMap { $0.ndim == 2 ? $0.shape[0] : nil } ?? (xa.ndim == 2 ? xa.shape[0] : 0)
        let red = try reduction(code, weights, queries)
        try store(loss, "loss") { try Dense.lossAndGradient(x: xa, workload: workload, reduction: red, gradient: g) }
    }
}

import MFKit
import MFKitABI

// Banded strategies (include/mfkit.h, "banded strategies").

private func strategy(_ h: OpaquePointer?, _ name: String = "strategy") throws -> ColumnNormalizedBanded {
    try handles.lookup(h, ColumnNormalizedBanded.self, name)
}

/// The workload: a streaming matrix handle, or the prefix sum for NULL.
private func workload(_ h: OpaquePointer?) throws -> StreamingMatrix {
    h == nil ? StreamingMatrix.prefixSum() : try handles.lookup(h, StreamingMatrix.self, "A")
}

@c @implementation
public func mfkit_banded_create(_ params: UnsafePointer<mfkit_array>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let p = try array(params, "params")
        try storeHandle(out) { try ColumnNormalizedBanded(params: p) }
    }
}

@c @implementation
public func mfkit_banded_from_banded_toeplitz(_ n: Int64, _ coefs: UnsafePointer<mfkit_array>?,
                                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let c = try array(coefs, "coefs")
        try storeHandle(out) { try ColumnNormalizedBanded.fromBandedToeplitz(n: Int(n), coefs: c) }
    }
}

@c @implementation
public func mfkit_banded_default(_ n: Int64, _ bands: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported { try storeHandle(out) { try ColumnNormalizedBanded.default(n: Int(n), bands: Int(bands)) } }
}

@c @implementation
public func mfkit_banded_free(_ h: OpaquePointer?) -> mfkit_status {
    exported { try handles.release(h, ColumnNormalizedBanded.self, "strategy") }
}

@c @implementation
public func mfkit_banded_shape(_ h: OpaquePointer?, _ n: UnsafeMutablePointer<Int64>?,
                               _ bands: UnsafeMutablePointer<Int64>?) -> mfkit_status {
    exported {
        let s = try strategy(h)
        guard let n, let bands else { throw MFError.invalidArgument("n and bands must not be null pointers") }
        n.pointee = Int64(s.n)
        bands.pointee = Int64(s.bands)
    }
}

@c @implementation
public func mfkit_banded_params(_ h: OpaquePointer?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try strategy(h).writeParams(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_banded_materialize(_ h: OpaquePointer?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try strategy(h).materialize(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_banded_inverse(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let s = try strategy(h)
        try storeHandle(out) { s.inverse() }
    }
}

@c @implementation
public func mfkit_banded_minsep_sensitivity_squared(_ h: OpaquePointer?, _ minSep: Int64,
                                                    _ maxParticipations: UnsafePointer<Int64>?,
                                                    _ n: UnsafePointer<Int64>?, _ skipChecks: Int32,
                                                    _ out: UnsafeMutablePointer<Int64>?) -> mfkit_status {
    exported {
        let s = try strategy(h)
        try store(out) {
            Int64(try s.minsepSensitivitySquared(minSep: Int(minSep), maxParticipations: optional(maxParticipations),
                                                 n: optional(n), skipChecks: skipChecks != 0))
        }
    }
}

@c @implementation
public func mfkit_banded_per_query_error(_ h: OpaquePointer?, _ a: OpaquePointer?,
                                         _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try strategy(h).perQueryError(workload: try workload(a), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_banded_loss(_ h: OpaquePointer?, _ a: OpaquePointer?, _ code: mfkit_reduction,
                              _ weights: UnsafePointer<mfkit_array>?, _ loss: UnsafeMutablePointer<Double>?,
                              _ grad: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        let s = try strategy(h)
        let (w, red, g) = (try workload(a), try reduction(code, weights, s.n), try optionalArray(grad, "grad"))
        try store(loss, "loss") { try s.loss(workload: w, reduction: red, gradient: g) }
    }
}

@c @implementation
public func mfkit_banded_optimize(_ n: Int64, _ bands: Int64, _ initial: OpaquePointer?, _ a: OpaquePointer?,
                                  _ maxSteps: Int64, _ code: mfkit_reduction, _ weights: UnsafePointer<mfkit_array>?,
                                  _ gtol: Double, _ ftol: Double,
                                  _ callback: mfkit_optimize_callback?, _ user: UnsafeMutableRawPointer?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?, _ steps: UnsafeMutablePointer<Int64>?,
                                  _ evaluations: UnsafeMutablePointer<Int64>?, _ loss: UnsafeMutablePointer<Double>?,
                                  _ gradNorm: UnsafeMutablePointer<Double>?,
                                  _ stop: UnsafeMutablePointer<mfkit_stop_reason>?) -> mfkit_status {
    exported {
        guard out != nil else { throw MFError.invalidArgument("out is a null pointer") }
        let start = initial == nil ? nil : try strategy(initial, "C")
        let (w, red) = (try workload(a), try reduction(code, weights, Int(n)))
        let (strategy, result) = try ColumnNormalizedBanded.optimize(
            n: Int(n), bands: Int(bands), initial: start, workload: w, maxSteps: Int(maxSteps), reduction: red,
            gradientTolerance: gtol, lossTolerance: ftol, callback: stepCallback(callback, user))
        try storeHandle(out) { strategy }
        report(result, steps: steps, evaluations: evaluations, loss: loss, gradNorm: gradNorm, stop: stop)
    }
}

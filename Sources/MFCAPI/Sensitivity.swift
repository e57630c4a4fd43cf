import MFKit

// Sensitivity of dense strategies (include/mfkit.h, "sensitivity of dense strategies").

/// `*p`, or nil (None) for a null pointer.
private func optionalCount(_ p: UnsafePointer<Int64>?) -> Int? { p.map { Int($0.pointee) } }

/// A view of C (any 2-D real array) or X (jax_privacy calls an X that is not 2-D "not square").
private func matrixView(_ p: UnsafeRawPointer?, _ name: String) throws -> RealMatrixView {
    let a = try readArray(p, name)
    if name == "X" && a.ndim != 2 && a.dtype.isReal { throw MFError.shape("Matrix X should be square") }
    return try RealMatrixView(a, name)
}

/// Runs `compute` and stores its result into `*out` (checked before any work).
private func store<T>(_ out: UnsafeMutablePointer<T>?, _ compute: () throws -> T) throws {
    guard let out else { throw MFError.invalidArgument("out is a null pointer") }
    out.pointee = try compute()
}

@_cdecl("mfkit_sens_minsep_true_max_participations")
public func mfkit_sens_minsep_true_max_participations(_ n: Int64, _ minSep: Int64, _ maxParticipations: UnsafePointer<Int64>?,
                                                      _ out: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded("minsep_true_max_participations") {
        try store(out) {
            Int64(try Sensitivity.minsepTrueMaxParticipations(
                n: Int(n), minSep: Int(minSep), maxParticipations: optionalCount(maxParticipations)))
        }
    }
}

@_cdecl("mfkit_sens_max_participation_for_linear_fn")
public func mfkit_sens_max_participation_for_linear_fn(_ x: UnsafeRawPointer?, _ minSep: Int64,
                                                       _ maxParticipations: UnsafePointer<Int64>?,
                                                       _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("max_participation_for_linear_fn") {
        let values = try readArray(x, "x").doubles("x")
        try store(out) {
            try values.withUnsafeBufferPointer {
                try Sensitivity.maxParticipationForLinearFn($0, minSep: Int(minSep),
                                                            maxParticipations: optionalCount(maxParticipations))
            }
        }
    }
}

@_cdecl("mfkit_sens_single_participation")
public func mfkit_sens_single_participation(_ c: UnsafeRawPointer?, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("single_participation_sensitivity") {
        let view = try matrixView(c, "C")
        try store(out) { try Sensitivity.singleParticipation(view) }
    }
}

@_cdecl("mfkit_sens_min_sep_upper_bound")
public func mfkit_sens_min_sep_upper_bound(_ c: UnsafeRawPointer?, _ minSep: Int64, _ maxParticipations: UnsafePointer<Int64>?,
                                           _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("get_min_sep_sensitivity_upper_bound") {
        let view = try matrixView(c, "C")
        try store(out) {
            try Sensitivity.minSepUpperBound(c: view, minSep: Int(minSep), maxParticipations: optionalCount(maxParticipations))
        }
    }
}

@_cdecl("mfkit_sens_min_sep_upper_bound_for_x")
public func mfkit_sens_min_sep_upper_bound_for_x(_ x: UnsafeRawPointer?, _ minSep: Int64, _ maxParticipations: UnsafePointer<Int64>?,
                                                 _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("get_min_sep_sensitivity_upper_bound_for_X") {
        let view = try matrixView(x, "X")
        try store(out) {
            try Sensitivity.minSepUpperBound(x: view, minSep: Int(minSep), maxParticipations: optionalCount(maxParticipations))
        }
    }
}

@_cdecl("mfkit_sens_banded")
public func mfkit_sens_banded(_ c: UnsafeRawPointer?, _ minSep: Int64, _ maxParticipations: UnsafePointer<Int64>?,
                              _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("get_sensitivity_banded") {
        let view = try matrixView(c, "C")
        try store(out) {
            try Sensitivity.banded(c: view, minSep: Int(minSep), maxParticipations: optionalCount(maxParticipations))
        }
    }
}

@_cdecl("mfkit_sens_banded_for_x")
public func mfkit_sens_banded_for_x(_ x: UnsafeRawPointer?, _ minSep: Int64, _ maxParticipations: UnsafePointer<Int64>?,
                                    _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("get_sensitivity_banded_for_X") {
        let view = try matrixView(x, "X")
        try store(out) {
            try Sensitivity.banded(x: view, minSep: Int(minSep), maxParticipations: optionalCount(maxParticipations))
        }
    }
}

@_cdecl("mfkit_sens_fixed_epoch")
public func mfkit_sens_fixed_epoch(_ c: UnsafeRawPointer?, _ epochs: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("fixed_epoch_sensitivity") {
        let view = try matrixView(c, "C")
        try store(out) { try Sensitivity.fixedEpoch(c: view, epochs: Int(epochs)) }
    }
}

@_cdecl("mfkit_sens_fixed_epoch_for_x")
public func mfkit_sens_fixed_epoch_for_x(_ x: UnsafeRawPointer?, _ epochs: Int64, _ out: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("fixed_epoch_sensitivity_for_X") {
        let view = try matrixView(x, "X")
        try store(out) { try Sensitivity.fixedEpoch(x: view, epochs: Int(epochs)) }
    }
}

@_cdecl("mfkit_sens_gram")
public func mfkit_sens_gram(_ c: UnsafeRawPointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("gram") {
        let view = try matrixView(c, "C")
        let dst = try readOutputArray(out, "out")
        try Sensitivity.gram(view, into: dst)
    }
}

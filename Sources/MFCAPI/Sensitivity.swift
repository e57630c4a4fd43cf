import MFKit
import MFKitABI

// Sensitivity of dense strategies (include/mfkit.h, "sensitivity of dense strategies").


@c @implementation
public func mfkit_sens_minsep_true_max_participations(_ n: Int64, _ minSep: Int64, _ maxParticipations: UnsafePointer<Int64>?,
                                                      _ out: UnsafeMutablePointer<Int64>?) -> mfkit_status {
    exported {
        try store(out) {
            Int64(try Sensitivity.minsepTrueMaxParticipations(n: Int(n), minSep: Int(minSep),
                                                              maxParticipations: optional(maxParticipations)))
        }
    }
}

@c @implementation
public func mfkit_sens_max_participation_for_linear_fn(_ x: UnsafePointer<mfkit_array>?, _ minSep: Int64,
                                                       _ maxParticipations: UnsafePointer<Int64>?,
                                                       _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let values = try array(x, "x")
        try store(out) {
            try Sensitivity.maxParticipationForLinearFn(values, minSep: Int(minSep), maxParticipations: optional(maxParticipations))
        }
    }
}

@c @implementation
public func mfkit_sens_single_participation(_ c: UnsafePointer<mfkit_array>?, _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let view = try array(c, "C")
        try store(out) { try Sensitivity.singleParticipation(view) }
    }
}

@c @implementation
public func mfkit_sens_min_sep_upper_bound(_ c: UnsafePointer<mfkit_array>?, _ minSep: Int64,
                                           _ maxParticipations: UnsafePointer<Int64>?,
                                           _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let view = try array(c, "C")
        try store(out) {
            try Sensitivity.minSepUpperBound(c: view, minSep: Int(minSep), maxParticipations: optional(maxParticipations))
        }
    }
}

@c @implementation
public func mfkit_sens_min_sep_upper_bound_for_x(_ x: UnsafePointer<mfkit_array>?, _ minSep: Int64,
                                                 _ maxParticipations: UnsafePointer<Int64>?,
                                                 _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let view = try array(x, "X")
        try store(out) {
            try Sensitivity.minSepUpperBound(x: view, minSep: Int(minSep), maxParticipations: optional(maxParticipations))
        }
    }
}

@c @implementation
public func mfkit_sens_banded(_ c: UnsafePointer<mfkit_array>?, _ minSep: Int64, _ maxParticipations: UnsafePointer<Int64>?,
                              _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let view = try array(c, "C")
        try store(out) { try Sensitivity.banded(c: view, minSep: Int(minSep), maxParticipations: optional(maxParticipations)) }
    }
}

@c @implementation
public func mfkit_sens_banded_for_x(_ x: UnsafePointer<mfkit_array>?, _ minSep: Int64, _ maxParticipations: UnsafePointer<Int64>?,
                                    _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let view = try array(x, "X")
        try store(out) { try Sensitivity.banded(x: view, minSep: Int(minSep), maxParticipations: optional(maxParticipations)) }
    }
}

@c @implementation
public func mfkit_sens_fixed_epoch(_ c: UnsafePointer<mfkit_array>?, _ epochs: Int64,
                                   _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let view = try array(c, "C")
        try store(out) { try Sensitivity.fixedEpoch(c: view, epochs: Int(epochs)) }
    }
}

@c @implementation
public func mfkit_sens_fixed_epoch_for_x(_ x: UnsafePointer<mfkit_array>?, _ epochs: Int64,
                                         _ out: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let view = try array(x, "X")
        try store(out) { try Sensitivity.fixedEpoch(x: view, epochs: Int(epochs)) }
    }
}

@c @implementation
public func mfkit_sens_gram(_ c: UnsafePointer<mfkit_array>?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Sensitivity.gram(try array(c, "C"), into: try array(out, "out")) }
}

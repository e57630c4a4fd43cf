import MFKit
import MFKitABI

// Parametric matrix models (include/mfkit.h, "parametric matrix models").

private func model(_ h: OpaquePointer?) throws -> AffineHermitianModel {
    try handles.lookup(h, AffineHermitianModel.self, "model")
}

@c @implementation
public func mfkit_pmm_low_rank_create(_ lambdas: UnsafePointer<mfkit_array>?, _ us: UnsafePointer<mfkit_array>?,
                                      _ smoothing: Double, _ biasTerm: Int32, _ precision: mfkit_dtype,
                                      _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let (l, u, type) = (try array(lambdas, "lambdas"), try array(us, "us"), try dtype(precision, "dtype"))
        try storeHandle(out) {
            try AffineHermitianModel.lowRank(lambdas: l, us: u, smoothing: smoothing, biasTerm: biasTerm != 0, dtype: type)
        }
    }
}

@c @implementation
public func mfkit_pmm_affine_create(_ ms: UnsafePointer<mfkit_array>?, _ smoothing: Double, _ biasTerm: Int32,
                                    _ precision: mfkit_dtype, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let (m, type) = (try array(ms, "Ms"), try dtype(precision, "dtype"))
        try storeHandle(out) {
            try AffineHermitianModel.fullRank(matrices: m, smoothing: smoothing, biasTerm: biasTerm != 0, dtype: type)
        }
    }
}

@c @implementation
public func mfkit_pmm_free(_ h: OpaquePointer?) -> mfkit_status {
    exported { try handles.release(h, AffineHermitianModel.self, "model") }
}

@c @implementation
public func mfkit_pmm_info(_ h: OpaquePointer?, _ numFeatures: UnsafeMutablePointer<Int64>?,
                           _ matrixSize: UnsafeMutablePointer<Int64>?, _ type: UnsafeMutablePointer<mfkit_dtype>?) -> mfkit_status {
    exported {
        let m = try model(h)
        numFeatures?.pointee = Int64(m.featureCount)
        matrixSize?.pointee = Int64(m.matrixSize)
        type?.pointee = code(m.dtype)
    }
}

@c @implementation
public func mfkit_pmm_matrices(_ h: OpaquePointer?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try model(h).writeMatrices(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_pmm_smoothing_matrix(_ h: OpaquePointer?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try model(h).writeSmoothingMatrix(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_pmm_forward(_ h: OpaquePointer?, _ x: UnsafePointer<mfkit_array>?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try model(h).forward(try array(x, "input_NF"), into: try array(out, "out")) }
}

// PMM eigen (include/mfkit.h, "PMM eigen").

private func selection(_ which: mfkit_pmm_which) throws -> EigenSelection {
    guard let s = EigenSelection(rawValue: Int(which)) else {
        throw MFError.invalidArgument("which must be one of MFKIT_PMM_SA ... MFKIT_PMM_IM (0 ... 7), got \(which)")
    }
    return s
}

@c @implementation
public func mfkit_pmm_eigh(_ a: UnsafePointer<mfkit_array>?, _ numEig: Int64, _ which: mfkit_pmm_which,
                           _ values: UnsafePointer<mfkit_array>?, _ vectors: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try HermitianEigen.solve(try array(a, "a"), numEig: Int(numEig), which: try selection(which),
                                 values: try optionalArray(values, "values"), vectors: try optionalArray(vectors, "vectors"))
    }
}

@c @implementation
public func mfkit_pmm_model_eigh(_ h: OpaquePointer?, _ x: UnsafePointer<mfkit_array>?, _ numEig: Int64,
                                 _ which: mfkit_pmm_which, _ values: UnsafePointer<mfkit_array>?,
                                 _ vectors: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try model(h).eigen(try array(x, "input_NF"), numEig: Int(numEig), which: try selection(which),
                           values: try optionalArray(values, "values"), vectors: try optionalArray(vectors, "vectors"))
    }
}

@c @implementation
public func mfkit_pmm_feature_sum(_ x: UnsafePointer<mfkit_array>?, _ vectors: UnsafePointer<mfkit_array>?,
                                  _ weights: UnsafePointer<mfkit_array>?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try PMMGradient.featureSum(x: try array(x, "x"), vectors: try array(vectors, "vectors"),
                                   weights: try array(weights, "weights"), out: try array(out, "out"))
    }
}

@c @implementation
public func mfkit_pmm_parameter_gradient(_ h: OpaquePointer?, _ sums: UnsafePointer<mfkit_array>?,
                                         _ outs: UnsafePointer<mfkit_array>?, _ count: Int32) -> mfkit_status {
    exported { try model(h).parameterGradient(sums: try array(sums, "sums"), outs: try arrays(outs, count, "outs")) }
}

@c @implementation
public func mfkit_pmm_transition_sums(_ values: UnsafePointer<mfkit_array>?, _ vectors: UnsafePointer<mfkit_array>?,
                                      _ numEig: Int64, _ ds: UnsafePointer<mfkit_array>?, _ centered: Int32,
                                      _ out: UnsafePointer<mfkit_array>?, _ cotangent: UnsafePointer<mfkit_array>?,
                                      _ weights: UnsafePointer<mfkit_array>?,
                                      _ dsSensitivity: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try TransitionAmplitudes.evaluate(values: try array(values, "values"), vectors: try array(vectors, "vectors"),
                                          numEig: Int(numEig), ds: try array(ds, "ds"), centered: centered != 0,
                                          out: try optionalArray(out, "out"), cotangent: try optionalArray(cotangent, "cotangent"),
                                          weights: try optionalArray(weights, "weights"),
                                          dsSensitivity: try optionalArray(dsSensitivity, "ds_sensitivity"))
    }
}

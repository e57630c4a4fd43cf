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

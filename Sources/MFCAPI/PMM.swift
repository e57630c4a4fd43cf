import MFKit

// Parametric matrix models (include/mfkit.h, "parametric matrix models (mfkit_pmm_*)").

private func model(_ h: OpaquePointer?) throws -> AffineHermitianModel {
    try handles.lookup(h, AffineHermitianModel.self, "model")
}

private func complexDType(_ code: Int32) throws -> DType {
    guard let dt = DType(rawValue: code), dt == .complex64 || dt == .complex128 else {
        throw MFError.dtype("dtype must be complex64 (3) or complex128 (4), got code \(code)")
    }
    return dt
}

@_cdecl("mfkit_pmm_low_rank_create")
public func mfkit_pmm_low_rank_create(_ lambdas: UnsafeRawPointer?, _ us: UnsafeRawPointer?, _ smoothing: Double,
                                      _ biasTerm: Int32, _ dtype: Int32,
                                      _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("LowRankAffineHermitianMatrix") {
        let (l, u) = (try readArray(lambdas, "lambdas"), try readArray(us, "us"))
        let dt = try complexDType(dtype)
        try storeHandle(out, "out") {
            try AffineHermitianModel.lowRank(lambdas: l, us: u, smoothing: smoothing, biasTerm: biasTerm != 0, dtype: dt)
        }
    }
}

@_cdecl("mfkit_pmm_affine_create")
public func mfkit_pmm_affine_create(_ ms: UnsafeRawPointer?, _ smoothing: Double, _ biasTerm: Int32, _ dtype: Int32,
                                    _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("AffineHermitianMatrix") {
        let m = try readArray(ms, "Ms")
        let dt = try complexDType(dtype)
        try storeHandle(out, "out") {
            try AffineHermitianModel.fullRank(matrices: m, smoothing: smoothing, biasTerm: biasTerm != 0, dtype: dt)
        }
    }
}

@_cdecl("mfkit_pmm_free")
public func mfkit_pmm_free(_ h: OpaquePointer?) -> Int32 {
    guarded("pmm_free") { try handles.release(h, AffineHermitianModel.self, "model") }
}

@_cdecl("mfkit_pmm_info")
public func mfkit_pmm_info(_ h: OpaquePointer?, _ numFeatures: UnsafeMutablePointer<Int64>?,
                           _ matrixSize: UnsafeMutablePointer<Int64>?, _ dtype: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded("pmm_info") {
        let m = try model(h)
        numFeatures?.pointee = Int64(m.featureCount)
        matrixSize?.pointee = Int64(m.matrixSize)
        dtype?.pointee = m.dtype.rawValue
    }
}

/// Writes an interleaved Double matrix stack into a complex view of `shape`.
private func write(_ values: [Double], into out: StridedArray, shape: [Int], name: String) throws {
    guard out.dtype == .complex64 || out.dtype == .complex128 else {
        throw MFError.dtype("\(name) must be complex64 or complex128, got \(out.dtype)")
    }
    guard out.shape == shape else { throw MFError.shape("\(name) must have shape \(shape), got \(out.shape)") }
    try out.requireElementStrides(name)
    guard let base = out.data else { return }
    var k = 0
    var index = [Int](repeating: 0, count: shape.count)
    for _ in 0..<(values.count / 2) {
        var o = 0
        for (i, s) in zip(index, out.strides) { o += i * s }
        if out.dtype == .complex64 {
            let p = (base + o).assumingMemoryBound(to: Float.self)
            p[0] = Float(values[k]); p[1] = Float(values[k + 1])
        } else {
            let p = (base + o).assumingMemoryBound(to: Double.self)
            p[0] = values[k]; p[1] = values[k + 1]
        }
        k += 2
        var axis = shape.count - 1
        while axis >= 0 { index[axis] += 1; if index[axis] < shape[axis] { break }; index[axis] = 0; axis -= 1 }
    }
}

@_cdecl("mfkit_pmm_matrices")
public func mfkit_pmm_matrices(_ h: OpaquePointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("pmm_matrices") {
        let m = try model(h)
        try write(m.matrices, into: try readOutputArray(out, "out"),
                  shape: [m.matrixCount, m.matrixSize, m.matrixSize], name: "out")
    }
}

@_cdecl("mfkit_pmm_smoothing_matrix")
public func mfkit_pmm_smoothing_matrix(_ h: OpaquePointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("pmm_smoothing_matrix") {
        let m = try model(h)
        try write(m.smoothingMatrix, into: try readOutputArray(out, "out"), shape: [m.matrixSize, m.matrixSize], name: "out")
    }
}

@_cdecl("mfkit_pmm_forward")
public func mfkit_pmm_forward(_ h: OpaquePointer?, _ x: UnsafeRawPointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("__call__") {
        let m = try model(h)
        try m.forward(try readArray(x, "input_NF"), into: try readOutputArray(out, "out"))
    }
}

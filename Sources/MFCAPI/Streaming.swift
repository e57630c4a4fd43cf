import MFKit

// Streaming matrices and streams (include/mfkit.h, "Streaming matrices").

private func matrix(_ h: OpaquePointer?, _ name: String = "matrix") throws -> StreamingMatrix {
    try handles.lookup(h, StreamingMatrix.self, name)
}

@_cdecl("mfkit_sm_identity")
public func mfkit_sm_identity(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("identity") { try storeHandle(out, "out") { StreamingMatrix.identity() } }
}

@_cdecl("mfkit_sm_prefix_sum")
public func mfkit_sm_prefix_sum(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("prefix_sum") { try storeHandle(out, "out") { StreamingMatrix.prefixSum() } }
}

@_cdecl("mfkit_sm_diagonal")
public func mfkit_sm_diagonal(_ diag: UnsafeRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("diagonal") {
        let d = try readArray(diag, "diag").doubles("diag")
        try storeHandle(out, "out") { try StreamingMatrix.diagonal(d) }
    }
}

@_cdecl("mfkit_sm_momentum_sgd")
public func mfkit_sm_momentum_sgd(_ momentum: Double, _ learningRates: UnsafeRawPointer?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("momentum_sgd_matrix") {
        let lr = try readOptionalArray(learningRates, "learning_rates")?.doubles("learning_rates")
        try storeHandle(out, "out") { try StreamingMatrix.momentumSGD(momentum: momentum, learningRates: lr) }
    }
}

@_cdecl("mfkit_sm_multiply")
public func mfkit_sm_multiply(_ a: OpaquePointer?, _ b: OpaquePointer?,
                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("multiply_streaming_matrices") {
        let (ma, mb) = (try matrix(a, "A"), try matrix(b, "B"))
        try storeHandle(out, "out") { ma * mb }
    }
}

@_cdecl("mfkit_sm_scale")
public func mfkit_sm_scale(_ a: OpaquePointer?, _ scalar: Double,
                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("scale") {
        let m = try matrix(a, "A")
        try storeHandle(out, "out") { try m.scaled(by: scalar) }
    }
}

@_cdecl("mfkit_sm_scale_rows_and_columns")
public func mfkit_sm_scale_rows_and_columns(_ a: OpaquePointer?, _ rowScale: UnsafeRawPointer?,
                                            _ colScale: UnsafeRawPointer?,
                                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("scale_rows_and_columns") {
        let m = try matrix(a, "matrix")
        let r = try readOptionalArray(rowScale, "row_scale")?.doubles("row_scale")
        let c = try readOptionalArray(colScale, "col_scale")?.doubles("col_scale")
        try storeHandle(out, "out") { try m.scalingRowsAndColumns(rowScale: r, colScale: c) }
    }
}

@_cdecl("mfkit_sm_free")
public func mfkit_sm_free(_ a: OpaquePointer?) -> Int32 {
    guarded("streaming_matrix_free") { try handles.release(a, StreamingMatrix.self, "matrix") }
}

@_cdecl("mfkit_sm_num_stages")
public func mfkit_sm_num_stages(_ a: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded("num_stages") {
        let m = try matrix(a)
        guard let out else { throw MFError.invalidArgument("out is a null pointer") }
        out.pointee = Int64(m.stages.count)
    }
}

@_cdecl("mfkit_sm_materialize")
public func mfkit_sm_materialize(_ a: OpaquePointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("materialize") { try matrix(a).materialize(into: try readArray(out, "out")) }
}

@_cdecl("mfkit_sm_row_norms_squared")
public func mfkit_sm_row_norms_squared(_ a: OpaquePointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("row_norms_squared") { try matrix(a).rowNormsSquared(into: try readArray(out, "out")) }
}

@_cdecl("mfkit_sm_multiply_array")
public func mfkit_sm_multiply_array(_ a: OpaquePointer?, _ x: UnsafeRawPointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("multiply_array") {
        let m = try matrix(a, "A")
        try m.multiply(try readArray(x, "x"), into: try readArray(out, "out"))
    }
}

@_cdecl("mfkit_stream_create")
public func mfkit_stream_create(_ a: OpaquePointer?, _ dtype: Int32, _ ndim: Int32, _ shape: UnsafePointer<Int64>?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("stream_create") {
        let m = try matrix(a)
        guard let dt = DType(rawValue: dtype) else { throw MFError.dtype("unknown dtype code \(dtype)") }
        let dims = try readShape(ndim, shape, "shape")
        try storeHandle(out, "out") { try Stream(matrix: m, sliceShape: dims, dtype: dt) }
    }
}

@_cdecl("mfkit_stream_next")
public func mfkit_stream_next(_ s: OpaquePointer?, _ x: UnsafeRawPointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("stream_next") {
        let stream = try handles.lookup(s, Stream.self, "stream")
        try stream.next(try readArray(x, "x"), into: try readArray(out, "out"))
    }
}

@_cdecl("mfkit_stream_step")
public func mfkit_stream_step(_ s: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded("stream_step") {
        let stream = try handles.lookup(s, Stream.self, "stream")
        guard let out else { throw MFError.invalidArgument("out is a null pointer") }
        out.pointee = Int64(stream.step)
    }
}

@_cdecl("mfkit_stream_reset")
public func mfkit_stream_reset(_ s: OpaquePointer?) -> Int32 {
    guarded("stream_reset") { try handles.lookup(s, Stream.self, "stream").reset() }
}

@_cdecl("mfkit_stream_free")
public func mfkit_stream_free(_ s: OpaquePointer?) -> Int32 {
    guarded("stream_free") { try handles.release(s, Stream.self, "stream") }
}

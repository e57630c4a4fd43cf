import MFKit
import MFKitABI

// Streaming matrices and streams (include/mfkit.h, "streaming matrices").

private func matrix(_ h: OpaquePointer?, _ name: String = "matrix") throws -> StreamingMatrix {
    try handles.lookup(h, StreamingMatrix.self, name)
}

private func stream(_ h: OpaquePointer?) throws -> StreamState {
    try handles.lookup(h, StreamState.self, "stream")
}

@c @implementation
public func mfkit_sm_identity(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported { try storeHandle(out) { StreamingMatrix.identity() } }
}

@c @implementation
public func mfkit_sm_prefix_sum(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported { try storeHandle(out) { StreamingMatrix.prefixSum() } }
}

@c @implementation
public func mfkit_sm_diagonal(_ diag: UnsafePointer<mfkit_array>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let d = try array(diag, "diag")
        try storeHandle(out) { try StreamingMatrix.diagonal(d) }
    }
}

@c @implementation
public func mfkit_sm_momentum_sgd(_ momentum: Double, _ learningRates: UnsafePointer<mfkit_array>?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let lr = try optionalArray(learningRates, "learning_rates")
        try storeHandle(out) { try StreamingMatrix.momentumSGD(momentum: momentum, learningRates: lr) }
    }
}

@c @implementation
public func mfkit_sm_multiply(_ a: OpaquePointer?, _ b: OpaquePointer?,
                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let (ma, mb) = (try matrix(a, "A"), try matrix(b, "B"))
        try storeHandle(out) { try StreamingMatrix.product(ma, mb) }
    }
}

@c @implementation
public func mfkit_sm_scale(_ a: OpaquePointer?, _ scalar: Double, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let m = try matrix(a, "A")
        try storeHandle(out) { try m.scaled(by: scalar) }
    }
}

@c @implementation
public func mfkit_sm_scale_rows_and_columns(_ a: OpaquePointer?, _ rowScale: UnsafePointer<mfkit_array>?,
                                            _ colScale: UnsafePointer<mfkit_array>?,
                                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let m = try matrix(a)
        let (r, c) = (try optionalArray(rowScale, "row_scale"), try optionalArray(colScale, "col_scale"))
        try storeHandle(out) { try m.scalingRowsAndColumns(rowScale: r, colScale: c) }
    }
}

@c @implementation
public func mfkit_sm_free(_ a: OpaquePointer?) -> mfkit_status {
    exported { try handles.release(a, StreamingMatrix.self, "matrix") }
}

@c @implementation
public func mfkit_sm_num_stages(_ a: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?) -> mfkit_status {
    exported {
        let m = try matrix(a)
        try store(out) { Int64(m.stages.count) }
    }
}

@c @implementation
public func mfkit_sm_materialize(_ a: OpaquePointer?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try matrix(a).materialize(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_sm_row_norms_squared(_ a: OpaquePointer?, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try matrix(a).rowNormsSquared(into: try array(out, "out")) }
}

@c @implementation
public func mfkit_sm_multiply_array(_ a: OpaquePointer?, _ x: UnsafePointer<mfkit_array>?,
                                    _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try matrix(a, "A").multiply(try array(x, "x"), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_stream_create(_ a: OpaquePointer?, _ dtypeCode: mfkit_dtype, _ sliceShape: UnsafePointer<Int64>?,
                                _ ndim: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> mfkit_status {
    exported {
        let m = try matrix(a)
        let (type, dims) = (try dtype(dtypeCode, "dtype"), try shape(sliceShape, ndim, "shape"))
        try storeHandle(out) { try StreamState(matrix: m, sliceShape: dims, dtype: type) }
    }
}

@c @implementation
public func mfkit_stream_next(_ s: OpaquePointer?, _ x: UnsafePointer<mfkit_array>?,
                              _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try stream(s).next(try array(x, "x"), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_stream_step(_ s: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?) -> mfkit_status {
    exported {
        let st = try stream(s)
        try store(out) { Int64(st.step) }
    }
}

@c @implementation
public func mfkit_stream_reset(_ s: OpaquePointer?) -> mfkit_status {
    exported { try stream(s).reset() }
}

@c @implementation
public func mfkit_stream_free(_ s: OpaquePointer?) -> mfkit_status {
    exported { try handles.release(s, StreamState.self, "stream") }
}

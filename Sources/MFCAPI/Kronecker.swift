import MFKit
import MFKitABI

// Kronecker sums (include/mfkit.h, "Kronecker sums").

private func function(_ code: mfkit_kron_function) throws -> ElementFunction {
    switch Int(code) {
    case MFKIT_KRON_IDENTITY: return .identity
    case MFKIT_KRON_RECIPROCAL: return .reciprocal
    case MFKIT_KRON_LOG: return .log
    case MFKIT_KRON_EXP: return .exp
    case MFKIT_KRON_SQUARE: return .square
    case MFKIT_KRON_SQRT: return .sqrt
    default:
        throw MFError.invalidArgument("unknown elementwise function code \(code); expected 0 (identity) to 5 (sqrt)")
    }
}

@c @implementation
public func mfkit_kron_sum(_ mats: UnsafePointer<mfkit_array>?, _ k: Int32, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Kron.kronsum(try arrays(mats, k, "mats"), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_kron_sum_diag(_ vecs: UnsafePointer<mfkit_array>?, _ k: Int32, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Kron.kronsumDiag(try arrays(vecs, k, "vecs"), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_kron_factorwise_average(_ mat: UnsafePointer<mfkit_array>?, _ dims: UnsafePointer<Int64>?, _ k: Int32,
                                          _ axis: Int32, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try Kron.factorwiseAverage(try array(mat, "mat"), dims: try integers(dims, k, "dims"), axis: Int(axis),
                                   into: try array(out, "out"))
    }
}

@c @implementation
public func mfkit_kron_factorwise_average_diag(_ vec: UnsafePointer<mfkit_array>?, _ dims: UnsafePointer<Int64>?, _ k: Int32,
                                               _ axis: Int32, _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported {
        try Kron.factorwiseAverageDiag(try array(vec, "vec"), dims: try integers(dims, k, "dims"), axis: Int(axis),
                                       into: try array(out, "out"))
    }
}

@c @implementation
public func mfkit_kron_ks_project(_ mat: UnsafePointer<mfkit_array>?, _ outs: UnsafePointer<mfkit_array>?,
                                  _ k: Int32) -> mfkit_status {
    exported { try Kron.ksProject(try array(mat, "mat"), into: try arrays(outs, k, "out")) }
}

@c @implementation
public func mfkit_kron_ks_project_diag(_ vec: UnsafePointer<mfkit_array>?, _ outs: UnsafePointer<mfkit_array>?,
                                       _ k: Int32) -> mfkit_status {
    exported { try Kron.ksProjectDiag(try array(vec, "vec"), into: try arrays(outs, k, "out")) }
}

@c @implementation
public func mfkit_kron_sum_matvec(_ mats: UnsafePointer<mfkit_array>?, _ k: Int32, _ x: UnsafePointer<mfkit_array>?,
                                  _ out: UnsafePointer<mfkit_array>?) -> mfkit_status {
    exported { try Kron.kronsumMatvec(try arrays(mats, k, "mats"), try array(x, "x"), into: try array(out, "out")) }
}

@c @implementation
public func mfkit_kron_sum_diag_reduce(_ vecs: UnsafePointer<mfkit_array>?, _ k: Int32, _ f: mfkit_kron_function,
                                       _ result: UnsafeMutablePointer<Double>?) -> mfkit_status {
    exported {
        let (factors, fn) = (try arrays(vecs, k, "vecs"), try function(f))
        try store(result, "result") { try Kron.kronsumDiagReduce(factors, fn) }
    }
}

@c @implementation
public func mfkit_kron_ks_project_diag_map(_ vecs: UnsafePointer<mfkit_array>?, _ k: Int32, _ f: mfkit_kron_function,
                                           _ outs: UnsafePointer<mfkit_array>?, _ j: Int32) -> mfkit_status {
    exported {
        let (factors, fn) = (try arrays(vecs, k, "vecs"), try function(f))
        try Kron.ksProjectDiagMap(factors, fn, into: try arrays(outs, j, "out"))
    }
}

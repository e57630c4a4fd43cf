import MFKit

// Kronecker sums (include/mfkit.h, "Kronecker sums (mfkit_kron_*)").

/// Size of one `mfkit_array` descriptor.
private let descriptorSize = 144

/// Reads `count` consecutive descriptors named `name[0]`, `name[1]`, ...
private func readArrays(_ p: UnsafeRawPointer?, _ count: Int32, _ name: String) throws -> [StridedArray] {
    guard count >= 1 else { throw MFError.invalidArgument("\(name): needs at least one array (K >= 1), got \(count)") }
    guard count <= 64 else { throw MFError.invalidArgument("\(name): at most 64 factors, got \(count)") }
    guard let p else { throw MFError.invalidArgument("\(name) is a null pointer") }
    return try (0..<Int(count)).map { try readArray(p + $0 * descriptorSize, "\(name)[\($0)]") }
}

private func readDims(_ count: Int32, _ dims: UnsafePointer<Int64>?) throws -> [Int] {
    guard count >= 1 else { throw MFError.invalidArgument("dims: needs at least one factor (K >= 1), got \(count)") }
    guard count <= 64 else { throw MFError.invalidArgument("dims: at most 64 factors, got \(count)") }
    guard let dims else { throw MFError.invalidArgument("dims is a null pointer") }
    return (0..<Int(count)).map { Int(dims[$0]) }
}

private func readFunction(_ code: Int32) throws -> ElementFunction {
    guard let f = ElementFunction(rawValue: code) else {
        throw MFError.invalidArgument("unknown elementwise function code \(code); expected 0 (identity) to 5 (sqrt)")
    }
    return f
}

@_cdecl("mfkit_kron_sum")
public func mfkit_kron_sum(_ k: Int32, _ mats: UnsafeRawPointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("kronsum") { try Kron.kronsum(try readArrays(mats, k, "mats"), into: try readArray(out, "out")) }
}

@_cdecl("mfkit_kron_sum_diag")
public func mfkit_kron_sum_diag(_ k: Int32, _ vecs: UnsafeRawPointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("kronsum_diag") { try Kron.kronsumDiag(try readArrays(vecs, k, "vecs"), into: try readArray(out, "out")) }
}

@_cdecl("mfkit_kron_factorwise_average")
public func mfkit_kron_factorwise_average(_ mat: UnsafeRawPointer?, _ k: Int32, _ dims: UnsafePointer<Int64>?,
                                          _ axis: Int32, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("factorwise_average") {
        try Kron.factorwiseAverage(try readArray(mat, "mat"), dims: try readDims(k, dims), axis: Int(axis),
                                   into: try readArray(out, "out"))
    }
}

@_cdecl("mfkit_kron_factorwise_average_diag")
public func mfkit_kron_factorwise_average_diag(_ vec: UnsafeRawPointer?, _ k: Int32, _ dims: UnsafePointer<Int64>?,
                                               _ axis: Int32, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("factorwise_average_diag") {
        try Kron.factorwiseAverageDiag(try readArray(vec, "vec"), dims: try readDims(k, dims), axis: Int(axis),
                                       into: try readArray(out, "out"))
    }
}

@_cdecl("mfkit_kron_ks_project")
public func mfkit_kron_ks_project(_ mat: UnsafeRawPointer?, _ k: Int32, _ outs: UnsafeRawPointer?) -> Int32 {
    guarded("ks_project") { try Kron.ksProject(try readArray(mat, "mat"), into: try readArrays(outs, k, "out")) }
}

@_cdecl("mfkit_kron_ks_project_diag")
public func mfkit_kron_ks_project_diag(_ vec: UnsafeRawPointer?, _ k: Int32, _ outs: UnsafeRawPointer?) -> Int32 {
    guarded("ks_project_diag") { try Kron.ksProjectDiag(try readArray(vec, "vec"), into: try readArrays(outs, k, "out")) }
}

@_cdecl("mfkit_kron_sum_matvec")
public func mfkit_kron_sum_matvec(_ k: Int32, _ mats: UnsafeRawPointer?, _ x: UnsafeRawPointer?,
                                  _ out: UnsafeRawPointer?) -> Int32 {
    guarded("kronsum_matvec") {
        try Kron.kronsumMatvec(try readArrays(mats, k, "mats"), try readArray(x, "x"), into: try readArray(out, "out"))
    }
}

@_cdecl("mfkit_kron_sum_diag_reduce")
public func mfkit_kron_sum_diag_reduce(_ k: Int32, _ vecs: UnsafeRawPointer?, _ f: Int32,
                                       _ result: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("kronsum_diag_reduce") {
        let arrays = try readArrays(vecs, k, "vecs"), function = try readFunction(f)
        guard let result else { throw MFError.invalidArgument("result is a null pointer") }
        result.pointee = try Kron.kronsumDiagReduce(arrays, function)
    }
}

@_cdecl("mfkit_kron_ks_project_diag_map")
public func mfkit_kron_ks_project_diag_map(_ k: Int32, _ vecs: UnsafeRawPointer?, _ f: Int32, _ j: Int32,
                                           _ outs: UnsafeRawPointer?) -> Int32 {
    guarded("ks_project_diag_map") {
        let arrays = try readArrays(vecs, k, "vecs"), function = try readFunction(f)
        try Kron.ksProjectDiagMap(arrays, function, into: try readArrays(outs, j, "out"))
    }
}

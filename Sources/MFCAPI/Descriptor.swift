import MFKit

/// Layout of `mfkit_array` (include/mfkit.h), read field by field at fixed offsets:
/// `void *data` @0, `int32_t dtype` @8, `int32_t ndim` @12, `int64_t shape[8]` @16,
/// `int64_t strides[8]` @80 (bytes); 144 bytes in all.
let maxNDim = 8

/// Reads and validates the descriptor `p` (named `name` in messages). Nothing is copied: the
/// view addresses the caller's memory.
func readArray(_ p: UnsafeRawPointer?, _ name: String) throws -> StridedArray {
    guard let p else { throw MFError.invalidArgument("\(name) is a null pointer") }
    let data = p.load(fromByteOffset: 0, as: UnsafeMutableRawPointer?.self)
    let code = p.load(fromByteOffset: 8, as: Int32.self)
    let ndim = Int(p.load(fromByteOffset: 12, as: Int32.self))
    guard let dtype = DType(rawValue: code) else {
        throw MFError.dtype("\(name) has unknown dtype code \(code)")
    }
    guard ndim >= 0 && ndim <= maxNDim else {
        throw MFError.shape("\(name) has ndim \(ndim); MFKit takes 0 to \(maxNDim) dimensions")
    }
    var shape = [Int](), strides = [Int]()
    var count = 1
    for i in 0..<ndim {
        let n = Int(p.load(fromByteOffset: 16 + 8 * i, as: Int64.self))
        let s = Int(p.load(fromByteOffset: 80 + 8 * i, as: Int64.self))
        guard n >= 0 else { throw MFError.shape("\(name) has negative length \(n) on axis \(i)") }
        let (c, overflow) = count.multipliedReportingOverflow(by: n)
        guard !overflow, c < (1 << 56) else { throw MFError.shape("\(name) is too large") }
        count = c
        shape.append(n); strides.append(s)
    }
    if count > 0 && data == nil { throw MFError.invalidArgument("\(name) has a null data pointer") }
    return StridedArray(data: data, dtype: dtype, shape: shape, strides: strides)
}

/// Reads an output descriptor (written in place): as `readArray`, and no two of its elements
/// may share memory (a broadcast view cannot be written).
func readOutputArray(_ p: UnsafeRawPointer?, _ name: String) throws -> StridedArray {
    let a = try readArray(p, name)
    try a.requireDisjointElements(name)
    return a
}

/// An optional descriptor: nil for a null pointer.
func readOptionalArray(_ p: UnsafeRawPointer?, _ name: String) throws -> StridedArray? {
    guard p != nil else { return nil }
    return try readArray(p, name)
}

/// Reads a C shape (ndim, int64 lengths).
func readShape(_ ndim: Int32, _ shape: UnsafePointer<Int64>?, _ name: String) throws -> [Int] {
    guard ndim >= 0 && Int(ndim) <= maxNDim else {
        throw MFError.shape("\(name) has ndim \(ndim); MFKit takes 0 to \(maxNDim) dimensions")
    }
    if ndim == 0 { return [] }
    guard let shape else { throw MFError.invalidArgument("\(name) is a null pointer") }
    let dims = (0..<Int(ndim)).map { Int(shape[$0]) }
    guard dims.allSatisfy({ $0 >= 0 }) else { throw MFError.shape("\(name) has a negative length: \(dims)") }
    return dims
}

/// Stores a new handle into a caller's `T **out`.
func storeHandle(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ name: String,
                 _ make: () throws -> AnyObject) throws {
    guard let out else { throw MFError.invalidArgument("\(name) is a null pointer") }
    let object = try make()
    out.pointee = OpaquePointer(handles.register(object))
}

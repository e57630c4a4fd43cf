import Glibc
import MFKit
import MFKitABI
import Synchronization

// The boundary between C callers and MFKit: every exported function runs its body through
// `exported`, which turns an MFError into a status and the calling thread's message; arrays
// and handles are decoded here and nothing else is: operands are checked by MFKit itself.

/// Runs `body` for the exported C function `function` (its Swift `#function`, e.g.
/// "mfkit_sm_identity(_:)") and returns its status; a failure records "mfkit_sm_identity:
/// message" for the calling thread. No Swift error crosses the boundary.
@inline(__always)
func exported(_ function: String = #function, _ body: () throws -> Void) -> mfkit_status {
    do {
        try body()
        return mfkit_status(MFKIT_OK)
    } catch let error as MFError {
        let name = function.prefix { $0 != "(" }
        LastError.set(function: String(name), message: error.message)
        switch error {
        case .invalidArgument: return mfkit_status(MFKIT_ERR_INVALID_ARGUMENT)
        case .shape: return mfkit_status(MFKIT_ERR_SHAPE)
        case .dtype: return mfkit_status(MFKIT_ERR_DTYPE)
        case .numerical: return mfkit_status(MFKIT_ERR_NUMERICAL)
        case .cancelled: return mfkit_status(MFKIT_ERR_CANCELLED)
        case .outOfMemory: return mfkit_status(MFKIT_ERR_OUT_OF_MEMORY)
        case .unavailable: return mfkit_status(MFKIT_ERR_UNAVAILABLE)
        }
    } catch {
        LastError.set(function: String(function.prefix { $0 != "(" }), message: "internal error: \(error)")
        return mfkit_status(MFKIT_ERR_INTERNAL)
    }
}

/// The calling thread's last failure: "function: message" and the message alone, in one
/// thread-local allocation (freed when the thread exits or the next failure replaces it).
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()
    /// Two empty C strings for a thread without failures.
    private static let none: UnsafeMutablePointer<CChar> = calloc(2, 1)!.assumingMemoryBound(to: CChar.self)

    static func set(function: String, message: String) {
        let full = "\(function): \(message)"
        let a = Array(full.utf8CString), b = Array(message.utf8CString)
        guard let p = malloc(a.count + b.count)?.assumingMemoryBound(to: CChar.self) else { return }
        a.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: a.count) }
        b.withUnsafeBufferPointer { (p + a.count).update(from: $0.baseAddress!, count: b.count) }
        let old = pthread_getspecific(key)
        pthread_setspecific(key, p)
        free(old)
    }

    /// "function: message".
    static var full: UnsafePointer<CChar> {
        UnsafePointer(pthread_getspecific(key)?.assumingMemoryBound(to: CChar.self) ?? none)
    }

    /// The message alone (after the full text's terminating zero).
    static var message: UnsafePointer<CChar> {
        guard let p = pthread_getspecific(key)?.assumingMemoryBound(to: CChar.self) else { return UnsafePointer(none + 1) }
        return UnsafePointer(p + strlen(p) + 1)
    }
}

// MARK: - arrays

/// The MFKit element type of a C dtype code.
func dtype(_ code: mfkit_dtype, _ name: String) throws -> DType {
    switch Int(code) {
    case MFKIT_FLOAT32: return .float32
    case MFKIT_FLOAT64: return .float64
    case MFKIT_COMPLEX64: return .complex64
    case MFKIT_COMPLEX128: return .complex128
    default: throw MFError.dtype("\(name) has unknown dtype code \(code)")
    }
}

/// The C dtype code of an MFKit element type.
func code(_ dtype: DType) -> mfkit_dtype {
    switch dtype {
    case .float32: return mfkit_dtype(MFKIT_FLOAT32)
    case .float64: return mfkit_dtype(MFKIT_FLOAT64)
    case .complex64: return mfkit_dtype(MFKIT_COMPLEX64)
    case .complex128: return mfkit_dtype(MFKIT_COMPLEX128)
    }
}

/// The view described by `*p` (named `name` in messages): nothing is copied, the view
/// addresses the caller's memory. Decodes only (dtype code, ndim in range); MFKit checks the
/// view itself.
func array(_ p: UnsafePointer<mfkit_array>?, _ name: String) throws -> StridedArray {
    guard let d = p?.pointee else { throw MFError.invalidArgument("\(name) is a null pointer") }
    let type = try dtype(d.dtype, name)
    let ndim = Int(d.ndim)
    guard ndim >= 0 && ndim <= Int(MFKIT_MAX_NDIM) else {
        throw MFError.shape("\(name) has ndim \(ndim); MFKit takes 0 to \(MFKIT_MAX_NDIM) dimensions")
    }
    let (shape, strides) = withUnsafeBytes(of: d.shape) { s in
        withUnsafeBytes(of: d.strides) { t in
            ((0..<ndim).map { Int(s.load(fromByteOffset: 8 * $0, as: Int64.self)) },
             (0..<ndim).map { Int(t.load(fromByteOffset: 8 * $0, as: Int64.self)) })
        }
    }
    return StridedArray(data: d.data, dtype: type, shape: shape, strides: strides)
}

/// An optional array: nil for a null pointer.
func optionalArray(_ p: UnsafePointer<mfkit_array>?, _ name: String) throws -> StridedArray? {
    try p.map { try array($0, name) }
}

/// `count` consecutive descriptors named `name[0]`, `name[1]`, ... (1 ≤ count ≤ 64).
func arrays(_ p: UnsafePointer<mfkit_array>?, _ count: Int32, _ name: String) throws -> [StridedArray] {
    guard count >= 1 else { throw MFError.invalidArgument("\(name): needs at least one array (K >= 1), got \(count)") }
    guard count <= 64 else { throw MFError.invalidArgument("\(name): at most 64 arrays, got \(count)") }
    guard let p else { throw MFError.invalidArgument("\(name) is a null pointer") }
    return try (0..<Int(count)).map { try array(p + $0, "\(name)[\($0)]") }
}

/// `count` integers at `p` (1 ≤ count ≤ 64).
func integers(_ p: UnsafePointer<Int64>?, _ count: Int32, _ name: String) throws -> [Int] {
    guard count >= 1 else { throw MFError.invalidArgument("\(name): needs at least one entry, got \(count)") }
    guard count <= 64 else { throw MFError.invalidArgument("\(name): at most 64 entries, got \(count)") }
    guard let p else { throw MFError.invalidArgument("\(name) is a null pointer") }
    return (0..<Int(count)).map { Int(p[$0]) }
}

/// A shape of `ndim` lengths at `p` (NULL allowed when ndim is 0).
func shape(_ p: UnsafePointer<Int64>?, _ ndim: Int32, _ name: String) throws -> [Int] {
    guard ndim >= 0 && Int(ndim) <= Int(MFKIT_MAX_NDIM) else {
        throw MFError.shape("\(name) has ndim \(ndim); MFKit takes 0 to \(MFKIT_MAX_NDIM) dimensions")
    }
    if ndim == 0 { return [] }
    guard let p else { throw MFError.invalidArgument("\(name) is a null pointer") }
    return (0..<Int(ndim)).map { Int(p[$0]) }
}

/// `*p`, or nil (absent) for a null pointer.
func optional(_ p: UnsafePointer<Int64>?) -> Int? { p.map { Int($0.pointee) } }

/// Writes `value()` to a required output pointer (checked before the work runs).
func store<T>(_ out: UnsafeMutablePointer<T>?, _ name: String = "out", _ value: () throws -> T) throws {
    guard let out else { throw MFError.invalidArgument("\(name) is a null pointer") }
    out.pointee = try value()
}

/// The reduction of a code (MFKIT_REDUCTION_*), with its weights for MFKIT_REDUCTION_WEIGHTS
/// (of length n when given; otherwise 1-D and finite, their length checked by MFKit).
func reduction(_ code: mfkit_reduction, _ weights: UnsafePointer<mfkit_array>?, _ n: Int?) throws -> ErrorReduction {
    switch Int(code) {
    case MFKIT_REDUCTION_MEAN: return .mean
    case MFKIT_REDUCTION_MAX: return .max
    case MFKIT_REDUCTION_LAST: return .last
    case MFKIT_REDUCTION_WEIGHTS:
        guard weights != nil else { throw MFError.invalidArgument("reduction is MFKIT_REDUCTION_WEIGHTS but weights is NULL") }
        let w = try array(weights, "weights")
        if let n { return try .weights(w, n: n) }
        let values = try w.readVector("weights")
        try Check.finite(values, "weights")
        return .weights(values)
    default:
        throw MFError.invalidArgument("unknown reduction code \(code) (0 mean, 1 max, 2 last, 3 weights)")
    }
}

// MARK: - handles

/// Live handles: every object handed to C is retained here until its `mfkit_*_free`, so a
/// freed, foreign or mistyped handle is reported instead of being dereferenced.
///
/// A handle is a token, never the object's address: tokens are never reused, so a freed handle
/// stays dead even when a later object is allocated at the same address.
final class HandleRegistry: Sendable {
    private struct State {
        var live: [UInt: AnyObject] = [:]
        /// The next token; 16-byte steps from a nonzero base, so tokens look like aligned pointers.
        var next: UInt = 0x4D46_4B00_0000_0010
    }
    private let state = Mutex(State())

    func register(_ object: AnyObject) -> OpaquePointer {
        state.withLock { s in
            let token = s.next
            s.next = s.next &+ 16 == 0 ? 16 : s.next &+ 16   // never zero
            s.live[token] = object
            return OpaquePointer(bitPattern: token)!
        }
    }

    /// The object behind `handle`, which must be live and of type T.
    func lookup<T: AnyObject>(_ handle: OpaquePointer?, _ type: T.Type, _ name: String) throws -> T {
        guard let handle else { throw MFError.invalidArgument("\(name) is a null handle") }
        let object = state.withLock { $0.live[UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))] }
        guard let object else { throw MFError.invalidArgument("\(name) is not a live handle (freed, or never made by MFKit)") }
        guard let typed = object as? T else {
            throw MFError.invalidArgument("\(name) is a handle of another kind (\(Swift.type(of: object)), expected \(T.self))")
        }
        return typed
    }

    /// Drops the handle; a null handle is a no-op.
    func release<T: AnyObject>(_ handle: OpaquePointer?, _ type: T.Type, _ name: String) throws {
        guard let handle else { return }
        _ = try lookup(handle, type, name)
        _ = state.withLock { $0.live.removeValue(forKey: UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))) }
    }
}

let handles = HandleRegistry()

/// Makes an object and writes its new handle to the caller's `T **out` (checked first).
func storeHandle(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ name: String = "out",
                 _ make: () throws -> AnyObject) throws {
    guard let out else { throw MFError.invalidArgument("\(name) is a null pointer") }
    let object = try make()
    out.pointee = handles.register(object)
}

// MARK: - library

@c @implementation
public func mfkit_version() -> UnsafePointer<CChar>? { Version.string }

/// "major.minor.patch" from the header's version macros, in static storage.
enum Version {
    static let string: UnsafePointer<CChar> = {
        let text = "\(MFKIT_VERSION_MAJOR).\(MFKIT_VERSION_MINOR).\(MFKIT_VERSION_PATCH)"
        return UnsafePointer(strdup(text)!)
    }()
}

@c @implementation
public func mfkit_last_error() -> UnsafePointer<CChar>? { LastError.full }

@c @implementation
public func mfkit_last_error_message() -> UnsafePointer<CChar>? { LastError.message }

@c @implementation
public func mfkit_num_threads() -> Int32 { Int32(Threads.count) }

@c @implementation
public func mfkit_set_num_threads(_ n: Int32) -> mfkit_status {
    exported { try Threads.set(Int(n)) }
}

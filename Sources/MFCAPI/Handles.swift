import MFKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Live handles: every object handed to C is retained here until its `mfkit_*_free`, so a
/// freed, foreign or mistyped handle is reported instead of being dereferenced.
///
/// A handle is a token, never the object's address: tokens are never reused, so a freed handle
/// stays dead even when a later object is allocated at the same address.
final class HandleRegistry: @unchecked Sendable {
    private var live: [UnsafeMutableRawPointer: AnyObject] = [:]
    private var mutex = pthread_mutex_t()
    /// The next token; 16-byte steps from a nonzero base, so tokens look like aligned pointers.
    private var nextToken: UInt = 0x4D46_4B00_0000_0010

    init() { pthread_mutex_init(&mutex, nil) }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    func register(_ object: AnyObject) -> UnsafeMutableRawPointer {
        locked {
            // nextToken is never zero (it skips 0 on wrap-around), so the pointer exists.
            let p = UnsafeMutableRawPointer(bitPattern: nextToken)!
            nextToken = nextToken &+ 16 == 0 ? 16 : nextToken &+ 16
            live[p] = object
            return p
        }
    }

    /// The object behind `handle`, which must be live and of type T.
    func lookup<T: AnyObject>(_ handle: OpaquePointer?, _ type: T.Type, _ name: String) throws -> T {
        guard let handle else { throw MFError.invalidArgument("\(name) is a null handle") }
        let object = locked { live[UnsafeMutableRawPointer(handle)] }
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
        locked { _ = live.removeValue(forKey: UnsafeMutableRawPointer(handle)) }
    }
}

let handles = HandleRegistry()

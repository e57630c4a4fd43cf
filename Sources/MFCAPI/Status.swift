import MFKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Status codes of the C ABI (include/mfkit.h, `mfkit_status`).
enum Status: Int32 {
    case ok = 0
    case invalidArgument = 1
    case shape = 2
    case dtype = 3
    case numerical = 4
    case cancelled = 5
    case outOfMemory = 6
    case `internal` = 7
}

/// The calling thread's last failure message, owned by a thread-local slot (freed when the
/// thread exits or the next failure replaces it).
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

func setLastError(_ message: String) {
    let old = pthread_getspecific(errorKey)
    pthread_setspecific(errorKey, strdup(message))
    free(old)
}

private let noError: UnsafePointer<CChar> = {
    let p = strdup("")!
    return UnsafePointer(p)
}()

@_cdecl("mfkit_last_error")
public func mfkit_last_error() -> UnsafePointer<CChar> {
    guard let p = pthread_getspecific(errorKey) else { return noError }
    return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
}

/// Runs `body` and turns its outcome into a status, recording the message of a failure.
/// Every exported function goes through here, so no Swift error crosses the boundary.
@inline(__always)
func guarded(_ function: String, _ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return Status.ok.rawValue
    } catch let error as MFError {
        setLastError("\(function): \(error.message)")
        switch error {
        case .invalidArgument: return Status.invalidArgument.rawValue
        case .shape: return Status.shape.rawValue
        case .dtype: return Status.dtype.rawValue
        case .numerical: return Status.numerical.rawValue
        case .cancelled: return Status.cancelled.rawValue
        case .outOfMemory: return Status.outOfMemory.rawValue
        }
    } catch {
        setLastError("\(function): internal error: \(error)")
        return Status.internal.rawValue
    }
}

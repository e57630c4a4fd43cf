import Glibc

/// Work space for the sensitivity kernels: `count` elements of T from malloc, or
/// MFError.outOfMemory (never a trap) when the size overflows or the memory cannot be had.
/// `what` names the buffer in the message. The caller frees it with `free`.
func allocateWorkSpace<T>(_ count: Int, _: T.Type, _ what: String) throws -> UnsafeMutablePointer<T> {
    let (bytes, overflow) = Swift.max(1, count).multipliedReportingOverflow(by: MemoryLayout<T>.stride)
    guard !overflow, let p = malloc(bytes) else {
        throw MFError.outOfMemory("cannot allocate \(what) (\(count) elements of \(MemoryLayout<T>.stride) bytes)")
    }
    return p.bindMemory(to: T.self, capacity: Swift.max(1, count))
}

/// count · count, or MFError.outOfMemory when it overflows.
func squareCount(_ n: Int, _ what: String) throws -> Int {
    let (c, overflow) = n.multipliedReportingOverflow(by: n)
    guard !overflow else { throw MFError.outOfMemory("\(what) would have \(n) × \(n) entries") }
    return c
}

/// As `allocateWorkSpace`, aligned to `alignment` bytes (SIMD loads).
func allocateAligned(_ bytes: Int, alignment: Int, _ what: String) throws -> UnsafeMutableRawPointer {
    var p: UnsafeMutableRawPointer?
    guard bytes >= 0, posix_memalign(&p, alignment, Swift.max(bytes, alignment)) == 0, let p else {
        throw MFError.outOfMemory("cannot allocate \(what) (\(bytes) bytes)")
    }
    return p
}

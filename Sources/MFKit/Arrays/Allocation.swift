#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Throws MFError.outOfMemory unless `count` elements of `bytesPerElement` bytes can be had
/// right now: the size must not overflow and the kernel must grant an anonymous mapping of it
/// (unmapped at once, its pages never touched). Swift arrays trap when their storage cannot be
/// allocated, so a constructor whose sizes come from the caller probes first and reports
/// instead. (mmap, not malloc: an unused malloc/free pair is removed by the optimizer.)
/// Time O(1).
func requireAllocatable(_ count: Int, bytesPerElement: Int, _ what: String) throws {
    let (bytes, overflow) = Swift.max(1, count).multipliedReportingOverflow(by: Swift.max(1, bytesPerElement))
    let failure = MFError.outOfMemory("cannot allocate \(what) (\(count) elements of \(bytesPerElement) bytes)")
    guard count >= 0, !overflow else { throw failure }
    let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let p, p != MAP_FAILED else { throw failure }
    munmap(p, bytes)
}

import Glibc

/// Owning, throwing work space: `count` elements of T, 64-byte aligned (16 when zeroed), freed when the buffer
/// is released. The size comes from the caller, so it is computed with overflow checks and a
/// failed allocation is MFError.outOfMemory (Swift arrays trap instead). Memory beyond the
/// first touch is lazily mapped by the kernel (Linux overcommit), so a large buffer costs
/// nothing until it is used.
public final class WorkBuffer<T: BitwiseCopyable>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    public let count: Int

    /// `what` names the buffer in the error message. `zeroed` gives zero bytes (calloc: fresh
    /// pages are not touched until used). Time O(1).
    public init(count: Int, zeroed: Bool = false, _ what: @autoclosure () -> String) throws {
        let size = MemoryLayout<T>.stride
        let (bytes, overflow) = Swift.max(count, 1).multipliedReportingOverflow(by: size)
        var raw: UnsafeMutableRawPointer?
        if count >= 0, !overflow, bytes <= Int.max - 64 {
            if zeroed { raw = calloc(bytes, 1) } else if posix_memalign(&raw, 64, (bytes + 63) & ~63) != 0 { raw = nil }
        }
        guard let raw else {
            throw MFError.outOfMemory("cannot allocate \(what()) (\(count) elements of \(size) bytes)")
        }
        self.pointer = raw.bindMemory(to: T.self, capacity: Swift.max(count, 1))
        self.count = count
    }

    /// A buffer holding a copy of `values`.
    public convenience init(copying values: UnsafeBufferPointer<T>, _ what: @autoclosure () -> String) throws {
        try self.init(count: values.count, what())
        if let base = values.baseAddress { pointer.update(from: base, count: values.count) }
    }

    deinit { free(pointer) }

    @inline(__always) public subscript(i: Int) -> T {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// Sets every element to `value`. O(count).
    public func fill(_ value: T) { pointer.update(repeating: value, count: count) }

    /// The elements as a buffer pointer (valid while the WorkBuffer lives).
    public var buffer: UnsafeMutableBufferPointer<T> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}

/// Memory checks for sizes that come from the caller.
public enum Memory {
    /// Throws MFError.outOfMemory unless `count` elements of `bytesPerElement` bytes can be had
    /// right now: the size must not overflow and the kernel must grant an anonymous mapping of it
    /// (unmapped at once, its pages never touched). For Swift arrays, which trap when their
    /// storage cannot be allocated. (mmap, not malloc: an unused malloc/free pair is removed by
    /// the optimizer.) Time O(1).
    public static func requireAllocatable(_ count: Int, bytesPerElement: Int, _ what: @autoclosure () -> String) throws {
        let (bytes, overflow) = Swift.max(1, count).multipliedReportingOverflow(by: Swift.max(1, bytesPerElement))
        guard count >= 0, !overflow else {
            throw MFError.outOfMemory("cannot allocate \(what()) (\(count) elements of \(bytesPerElement) bytes)")
        }
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else {
            throw MFError.outOfMemory("cannot allocate \(what()) (\(count) elements of \(bytesPerElement) bytes)")
        }
        munmap(p, bytes)
    }

    /// A Swift array of `count` copies of `value`, after `requireAllocatable`.
    public static func array<T>(repeating value: T, count: Int, _ what: @autoclosure () -> String) throws -> [T] {
        try Memory.requireAllocatable(count, bytesPerElement: MemoryLayout<T>.stride, what())
        return [T](repeating: value, count: count)
    }
}

import Dispatch

/// The number of worker threads MFKit splits large work over (the machine's cores, capped at 64;
/// `MFKIT_NUM_THREADS` overrides it).
public let mfkitThreadCount: Int = {
    if let s = getenvString("MFKIT_NUM_THREADS"), let n = Int(s), n >= 1 { return min(n, 64) }
    return max(1, min(ProcessInfoLite.activeProcessorCount, 64))
}()

/// Runs `body(range)` over `0 ..< count` split into contiguous ranges, one per worker, when
/// `work` (a rough element count) is above `threshold`; otherwise on the calling thread.
/// `body` receives the worker's index (0 ..< mfkitThreadCount) and its range.
public func parallelRanges(_ count: Int, work: Int, threshold: Int = 1 << 16,
                           _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
    let workers = min(mfkitThreadCount, count)
    if workers <= 1 || work < threshold {
        if count > 0 { body(0, 0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            if lo < hi { body(w, lo..<hi) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}

enum ProcessInfoLite {
    static var activeProcessorCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}

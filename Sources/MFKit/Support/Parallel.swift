import Dispatch
import Glibc
import Synchronization

/// The one thread setting of MFKit: how many worker threads large work is split over. It
/// starts as MFKIT_NUM_THREADS (1 to 64) when that is set, else the online cores (at most 64),
/// and can be changed at run time; every parallel loop reads it when it starts.
public enum Threads {
    /// The largest setting.
    public static let maximum = 64

    private static let setting = Atomic<Int>(initialCount())

    private static func initialCount() -> Int {
        if let p = getenv("MFKIT_NUM_THREADS"), let n = Int(String(cString: p)), n >= 1 {
            return Swift.min(n, maximum)
        }
        return Swift.max(1, Swift.min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), maximum))
    }

    /// The current number of worker threads (1 ... 64).
    public static var count: Int { setting.load(ordering: .relaxed) }

    /// Sets the number of worker threads for every later parallel loop (1 ... 64).
    public static func set(_ n: Int) throws {
        try require(n >= 1 && n <= maximum, "the number of threads must be in 1...\(maximum), got \(n)")
        setting.store(n, ordering: .relaxed)
    }
}

/// Runs `body(worker, range)` over `0 ..< count` split into contiguous ranges, one per worker
/// (`worker` in 0 ..< the number of ranges), when `work` (a rough operation count) reaches
/// `threshold` and more than one thread is set; otherwise once, on the calling thread, with
/// worker 0. The split depends only on `count` and the thread setting, so a result that
/// combines per-range values in range order is reproducible for a given setting.
/// A caller that keeps per-worker scratch reads `Threads.count` once, sizes the scratch by it
/// and passes it as `workers` (the setting may change between the two reads otherwise).
public func parallelFor(_ count: Int, work: Int, threshold: Int = 1 << 16, workers maxWorkers: Int? = nil,
                        _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
    let workers = Swift.min(maxWorkers ?? Threads.count, count)
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

/// Runs `body(range)` over `0 ..< count` in blocks of `block` handed out one at a time to the
/// workers (dynamic scheduling, for work whose cost varies along the range), under the same
/// threshold rule as `parallelFor`.
public func parallelForDynamic(_ count: Int, block: Int, work: Int, threshold: Int = 1 << 16,
                               _ body: (_ range: Range<Int>) -> Void) {
    parallelForDynamic(count, block: block, work: work, threshold: threshold) { _, range in body(range) }
}

/// As above, with the worker's index (0 ..< `workers`, or the thread setting) passed to
/// `body`, for loops that keep per-worker scratch sized before the loop.
public func parallelForDynamic(_ count: Int, block: Int, work: Int, threshold: Int = 1 << 16,
                               workers maxWorkers: Int? = nil,
                               _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
    let block = Swift.max(1, block)
    let blocks = (count + block - 1) / block
    let workers = Swift.min(maxWorkers ?? Threads.count, blocks)
    if workers <= 1 || work < threshold {
        if count > 0 { body(0, 0..<count) }
        return
    }
    let next = Atomic<Int>(0)
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            while true {
                let b = next.add(1, ordering: .relaxed).oldValue
                if b >= blocks { return }
                body(w, b * block ..< Swift.min(count, (b + 1) * block))
            }
        }
    }
}

/// Splits `0 ..< count` as `parallelFor` does, computes `body(range)` for every range and
/// combines the results in range order with `combine` (nil when count is 0). Deterministic for
/// a given thread setting.
public func parallelReduce<R>(_ count: Int, work: Int, threshold: Int = 1 << 16,
                              _ body: (_ range: Range<Int>) -> R, combine: (R, R) -> R) -> R? {
    let workers = Swift.min(Threads.count, count)
    if count <= 0 { return nil }
    if workers <= 1 || work < threshold { return body(0..<count) }
    let results = UnsafeMutablePointer<R?>.allocate(capacity: workers)
    results.initialize(repeating: nil, count: workers)
    defer { results.deinitialize(count: workers); results.deallocate() }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            if lo < hi { results[w] = body(lo..<hi) }
        }
    }
    var total: R? = nil
    for w in 0..<workers {
        guard let r = results[w] else { continue }
        total = total.map { combine($0, r) } ?? r
    }
    return total
}

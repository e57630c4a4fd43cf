import Glibc
import Synchronization

/// The BLAS/LAPACK under MFKit's dense linear algebra: an OpenBLAS (or any library with the
/// Fortran BLAS/LAPACK interface) found at run time with dlopen/dlsym, so libmfkit.so has no
/// link-time dependency. Looked up once, at the first call that needs it, in this order:
///
/// 1. `MFKIT_OPENBLAS=/path/to/lib.so` when set (nothing else is tried if it fails);
/// 2. a library already loaded in the process whose file name contains "openblas", then one
///    named like another BLAS ("blas", "lapack", "mkl") that exports LAPACK (from Python: the
///    OpenBLAS NumPy's wheels bundle, `numpy.libs/libscipy_openblas64_-*.so`);
/// 3. `libscipy_openblas*.so` / `libopenblas*.so*` in the directory of libmfkit.so (where the
///    scipy-openblas32 wheel's library can be placed);
/// 4. the system's: libopenblas.so.0, libopenblas64_.so.0, libflexiblas.so.3, liblapack.so.3.
///
/// Symbol schemes: plain (`dpotrf_`, 32-bit integers), `64_`-suffixed (`dpotrf_64_`, 64-bit
/// integers: Debian's libopenblas64, NumPy 1.x), `scipy_`-prefixed (scipy-openblas32:
/// `scipy_dpotrf_`; NumPy 2.x: `scipy_dpotrf_64_`). A plain-named library built with 64-bit
/// integers is recognized by its `openblas_get_config()` ("USE64BITINT").
///
/// Threads: OpenBLAS keeps one process-wide thread count (shared with NumPy when it is NumPy's
/// copy). `withThreads` sets it for the duration of MFKit's LAPACK work and restores it after.
public final class BLASLibrary: @unchecked Sendable {
    /// The file the library was loaded from.
    public let path: String
    /// 32 (LP64 interface) or 64 (ILP64).
    public let integerBits: Int
    let handle: UnsafeMutableRawPointer
    let prefix: String, fortranSuffix: String, cSuffix: String
    private let symbols = Mutex<[String: UnsafeMutableRawPointer]>([:])
    private let setThreads: (@convention(c) (Int32) -> Void)?
    private let getThreads: (@convention(c) () -> Int32)?

    private init?(handle: UnsafeMutableRawPointer, path: String) {
        let schemes: [(String, String, String, Int)] = [
            ("scipy_", "_64_", "64_", 64), ("", "_64_", "64_", 64), ("scipy_", "_", "", 32), ("", "_", "", 32),
        ]
        guard let (p, f, c, bits) = schemes.first(where: { dlsym(handle, $0.0 + "dpotrf" + $0.1) != nil }) else {
            return nil
        }
        self.handle = handle
        self.path = path
        self.prefix = p; self.fortranSuffix = f; self.cSuffix = c
        var integerBits = bits
        if bits == 32, let config = dlsym(handle, p + "openblas_get_config" + c) {
            let get = unsafeBitCast(config, to: (@convention(c) () -> UnsafePointer<CChar>?).self)
            if let text = get(), String(cString: text).contains("USE64BITINT") { integerBits = 64 }
        }
        self.integerBits = integerBits
        setThreads = dlsym(handle, p + "openblas_set_num_threads" + c)
            .map { unsafeBitCast($0, to: (@convention(c) (Int32) -> Void).self) }
        getThreads = dlsym(handle, p + "openblas_get_num_threads" + c)
            .map { unsafeBitCast($0, to: (@convention(c) () -> Int32).self) }
    }

    /// The library, found once per process; MFError.unavailable (saying where MFKit looked and
    /// how to provide one) when there is none. O(1) after the first call.
    public static func shared() throws -> BLASLibrary {
        switch loaded {
        case .success(let library): return library
        case .failure(let error): throw error
        }
    }

    private static let loaded: Result<BLASLibrary, MFError> = locate()

    private static func locate() -> Result<BLASLibrary, MFError> {
        let hint = "set MFKIT_OPENBLAS to an OpenBLAS library (NumPy's numpy.libs/libscipy_openblas64_*.so, "
            + "or lib/libscipy_openblas.so of `pip install scipy-openblas32`), or install the system's "
            + "OpenBLAS (Debian/Ubuntu: apt install libopenblas0)"
        if let value = getenv("MFKIT_OPENBLAS"), value.pointee != 0 {
            let path = String(cString: value)
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
                return .failure(.unavailable("BLAS/LAPACK not available: MFKIT_OPENBLAS=\(path) cannot be loaded (\(dlerrorText())); \(hint)"))
            }
            guard let library = BLASLibrary(handle: handle, path: path) else {
                return .failure(.unavailable("BLAS/LAPACK not available: MFKIT_OPENBLAS=\(path) exports no LAPACK (dpotrf); \(hint)"))
            }
            return .success(library)
        }
        // Loaded libraries named like a BLAS (a handle's symbol search also covers its
        // dependencies, so other libraries would report the path of whatever links one).
        let maps = MappedFiles.current()
        let names = maps.paths.map { (path: $0, name: String($0.split(separator: "/").last ?? "").lowercased()) }
        let blas = names.filter { $0.name.contains(".so") && ["blas", "lapack", "mkl"].contains(where: $0.name.contains) }
        let ordered = blas.filter { $0.name.contains("openblas") } + blas.filter { !$0.name.contains("openblas") }
        for (path, _) in ordered {
            guard let handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD) else { continue }
            if let library = BLASLibrary(handle: handle, path: path) { return .success(library) }
            dlclose(handle)
        }
        var candidates: [String] = []
        if let own = maps.ownPath, let slash = own.lastIndex(of: "/") {
            let dir = String(own[..<slash])
            candidates += directoryEntries(dir)
                .filter { $0.hasPrefix("libscipy_openblas") || $0.hasPrefix("libopenblas") }
                .filter { $0.contains(".so") }.sorted().map { dir + "/" + $0 }
        }
        candidates += ["libopenblas.so.0", "libopenblas.so", "libopenblas64_.so.0", "libopenblas64_.so",
                       "libflexiblas.so.3", "liblapack.so.3"]
        for path in candidates {
            if let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) {
                if let library = BLASLibrary(handle: handle, path: path) { return .success(library) }
                dlclose(handle)
            }
        }
        return .failure(.unavailable("BLAS/LAPACK not available: no OpenBLAS is loaded in this process, next to libmfkit.so or installed; \(hint)"))
    }

    /// The address of routine `name` (e.g. "dpotrf"), or MFError.unavailable.
    func routine(_ name: String) throws -> UnsafeMutableRawPointer {
        if let p = symbols.withLock({ $0[name] }) { return p }
        guard let p = dlsym(handle, prefix + name + fortranSuffix) else {
            throw MFError.unavailable("the BLAS/LAPACK at \(path) lacks \(name)")
        }
        symbols.withLock { $0[name] = p }
        return p
    }

    // MARK: - threads

    private struct Lease { var depth = 0; var saved: Int32 = 0 }
    private let lease = Mutex(Lease())

    /// Runs `body` with the library's thread pool set to `count` (default: MFKit's
    /// `Threads.count`) and restores the library's previous count afterwards. Calls overlapping
    /// in time (nested, or from several threads) share the first one's count. Use
    /// `withThreads(1)` around an MFKit parallel loop that calls LAPACK per item, so the total
    /// stays at MFKit's setting. O(1); a library without thread control runs `body` as is.
    public func withThreads<R>(_ count: Int? = nil, _ body: () throws -> R) rethrows -> R {
        guard let setThreads, let getThreads else { return try body() }
        let n = Int32(Swift.max(1, Swift.min(count ?? Threads.count, Threads.maximum)))
        lease.withLock { l in
            if l.depth == 0 {
                l.saved = getThreads()
                if l.saved != n { setThreads(n) }
            }
            l.depth += 1
        }
        defer {
            lease.withLock { l in
                l.depth -= 1
                if l.depth == 0 && getThreads() != l.saved { setThreads(l.saved) }
            }
        }
        return try body()
    }

    /// The threads for a call of `flops` floating-point operations: MFKit's `Threads.count`
    /// from 2²⁸ (a Cholesky factorization of n ≈ 900) on, else 1. OpenBLAS's threads wait for
    /// work by spinning, so smaller calls lose more to waking them than they gain, and on a
    /// loaded machine much more (measured here: 2 threads 4–8x slower than 1 at n = 1024 under
    /// a load of 11 on 2 cores, for calls of 2²⁸–2³⁰ flops).
    public static func threads(forFlops flops: Double) -> Int { flops >= 0x1p28 ? Threads.count : 1 }

    /// The library's current thread count (1 when it has no thread control).
    public var threadCount: Int { getThreads.map { Int($0()) } ?? 1 }
}

/// The files mapped into this process (from /proc/self/maps), in load order, and the file
/// holding MFKit's own code.
private struct MappedFiles {
    var paths: [String] = []
    var ownPath: String?

    static func current() -> MappedFiles {
        var result = MappedFiles()
        guard let file = fopen("/proc/self/maps", "r") else { return result }
        defer { fclose(file) }
        let own = UInt(bitPattern: unsafeBitCast(ownAddressProbe, to: Int.self))
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            guard let slash = text.firstIndex(of: "/") else { continue }
            let path = String(text[slash...].prefix { $0 != "\n" })
            if !result.paths.contains(path) { result.paths.append(path) }
            let range = text.prefix { $0 != " " }.split(separator: "-")
            if range.count == 2, let lo = UInt(range[0], radix: 16), let hi = UInt(range[1], radix: 16),
               lo <= own && own < hi {
                result.ownPath = path
            }
        }
        return result
    }
}

/// A function of MFKit's own code, whose address locates the library on disk.
private let ownAddressProbe: @convention(c) () -> Void = {}

/// The names in directory `path` (empty when it cannot be read).
private func directoryEntries(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        names.append(name)
    }
    return names
}

private func dlerrorText() -> String { dlerror().map { String(cString: $0) } ?? "unknown error" }

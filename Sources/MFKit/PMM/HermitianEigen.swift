/// Batched Hermitian eigenproblems with parametricmatrixmodels' selection: for each of N
/// matrices, the eigenvalues and eigenvectors of m columns, the first k of them the selected
/// eigenpairs (`EigenSelection`) and the rest the unselected ones in ascending order (m = k for
/// the eigen modules; m = n gives the whole eigensystem, as the gradients of observables need).
/// The work is `HermitianLanes` over blocks of L matrices, the blocks spread over the threads;
/// matrices larger than 64 × 64 go to LAPACK's heevd one at a time (when a LAPACK is found).
public enum HermitianEigen {
    /// Checks the outputs of a batch of `count` n × n problems of complex dtype `type`:
    /// `values` (count, m) of the real component type, `vectors` (count, n, m) of `type`, with
    /// 1 ≤ k ≤ m ≤ n (at least one output given; both: the same m), distinct elements, no
    /// overlap with each other or with `inputs`. Returns m. O(1).
    static func checkOutputs(count: Int, n: Int, k: Int, type: DType, values: StridedArray?,
                             vectors: StridedArray?, inputs: [(StridedArray, String)]) throws -> Int {
        try require(k >= 1 && k <= n, "num_eig must be in 1...\(n) (the matrix size), got \(k)")
        guard values != nil || vectors != nil else {
            throw MFError.invalidArgument("at least one of values and vectors must be given")
        }
        var m: Int? = nil
        var outs: [(StridedArray, String)] = []
        if let values {
            try values.requireOutput("values", dtypes: [type.realComponent], ndim: 2)
            guard values.shape[0] == count, values.shape[1] >= k, values.shape[1] <= n else {
                throw MFError.shape("values must have shape (\(count), m) with \(k) <= m <= \(n), got \(shapeText(values.shape))")
            }
            m = values.shape[1]
            outs.append((values, "values"))
        }
        if let vectors {
            try vectors.requireOutput("vectors", dtypes: [type], ndim: 3)
            let mv = m ?? vectors.shape[2]
            guard vectors.shape == [count, n, mv], mv >= k, mv <= n else {
                throw MFError.shape("vectors must have shape (\(count), \(n), m) with \(k) <= m <= \(n)\(m == nil ? "" : " and m = \(mv) as values"), got \(shapeText(vectors.shape))")
            }
            m = mv
            outs.append((vectors, "vectors"))
        }
        try outs.requireDisjoint(from: inputs)
        return m!
    }

    /// The selected eigenpairs of every matrix of `a` (N, n, n) complex64 or complex128, any
    /// strides, symmetrised (A + A^H)/2 first (only the Hermitian part is used, as jax's eigh):
    /// `values` (N, m) real of a's precision, `vectors` (N, n, m) of a's dtype; either may be
    /// nil. Time O(N ((16/3) n³ + 4 m n²)) arithmetic, L matrices per instruction, over the
    /// threads; work space O(L n²) per thread. Outputs are written only after every check.
    public static func solve(_ a: StridedArray, numEig k: Int, which: EigenSelection,
                             values: StridedArray?, vectors: StridedArray?) throws {
        try a.requireInput("a", dtypes: [.complex64, .complex128], ndim: 3)
        guard a.shape[1] == a.shape[2] else {
            throw MFError.shape("a must hold square matrices (N, n, n), got \(shapeText(a.shape))")
        }
        let (count, n) = (a.shape[0], a.shape[1])
        try require(n >= 1, "a must hold matrices of size at least 1, got \(shapeText(a.shape))")
        let m = try checkOutputs(count: count, n: n, k: k, type: a.dtype, values: values, vectors: vectors,
                                 inputs: [(a, "a")])
        if a.dtype == .complex64 {
            try run(Float.self, a, count: count, n: n, k: k, m: m, which: which, values: values, vectors: vectors)
        } else {
            try run(Double.self, a, count: count, n: n, k: k, m: m, which: which, values: values, vectors: vectors)
        }
    }

    private static func run<T: RealScalar>(_: T.Type, _ a: StridedArray, count: Int, n: Int, k: Int, m: Int,
                                           which: EigenSelection, values: StridedArray?, vectors: StridedArray?) throws {
        let s = a.strides.map { $0 / a.dtype.itemSize }
        let base = a.pointer(SIMD2<T>.self)
        let half = T(0.5)
        try batch(T.self, count: count, n: n, k: k, m: m, which: which, values: values, vectors: vectors,
                  scratch: 0) { sample, dst, _ in
            let mat = base + sample * s[0]
            for i in 0..<n {
                for j in 0..<n {
                    let x = mat[i * s[1] + j * s[2]], y = mat[j * s[1] + i * s[2]]
                    dst[2 * (i * n + j)] = half * (x.x + y.x)
                    dst[2 * (i * n + j) + 1] = half * (x.y - y.y)
                }
            }
        }
    }

    /// The driver: `load(sample, dst, scratch)` writes matrix `sample` (Hermitian, interleaved
    /// (re, im), row-major, 2 n² values) into dst, with `scratch` (this many T) its own.
    static func batch<T: RealScalar>(_: T.Type, count: Int, n: Int, k: Int, m: Int, which: EigenSelection,
                                     values: StridedArray?, vectors: StridedArray?, scratch: Int,
                                     load: (Int, UnsafeMutablePointer<T>, UnsafeMutablePointer<T>) -> Void) throws {
        if n > lanesLimit {
            do {
                return try batchLAPACK(T.self, count: count, n: n, k: k, m: m, which: which, values: values,
                                       vectors: vectors, scratch: scratch, load: load)
            } catch MFError.unavailable {
                // no LAPACK in this process: the lanes solve every size
            }
        }
        typealias V = T.Vector
        let lanes = V.scalarCount
        let groups = (count + lanes - 1) / lanes
        guard groups > 0 else { return }
        let workers = Threads.count
        let laneSize = HermitianLanes<T>.size(n: n, m: m)
        let realSize = 2 * n * n + scratch
        let doubleSize = 2 * n
        let laneWork = try WorkBuffer<V>(count: try Check.product(workers, laneSize, "eigensolver work space"), "eigensolver work space")
        let realWork = try WorkBuffer<T>(count: try Check.product(workers, realSize, "eigensolver work space"), "eigensolver work space")
        let doubleWork = try WorkBuffer<Double>(count: try Check.product(workers, doubleSize, "eigensolver work space"), "eigensolver work space")
        let intSize = 2 * m + lanes * m
        let intWork = try WorkBuffer<Int>(count: try Check.product(workers, intSize, "eigensolver work space"), "eigensolver work space")
        // Eigenvalues by bisection in lanes when the selection is by index (algebraic keys) and
        // at most half of the spectrum is needed; otherwise all of them by QL, lane by lane.
        let magnitude = which == .sm || which == .lm || which == .em || which == .im
        let bisection = !magnitude && 2 * m <= n
        var fixedOrder = [Int](repeating: 0, count: m)
        if bisection {   // index-based selection: the values are not read
            let ascending = [Double](repeating: 0, count: n)
            ascending.withUnsafeBufferPointer { which.order($0.baseAddress!, n: n, k: k, m: m, into: &fixedOrder) }
        }
        let valuesOut = values.map { ($0.pointer(T.self), $0.strides.map { $0 / MemoryLayout<T>.stride }) }
        let vectorsOut = vectors.map { ($0.pointer(SIMD2<T>.self), $0.strides.map { $0 / (2 * MemoryLayout<T>.stride) }) }
        let work = n * n * n * lanes
        parallelForDynamic(groups, block: max(1, 4096 / max(1, n * n)), work: groups * work, threshold: 1 << 18,
                           workers: workers) { worker, range in
            let block = HermitianLanes<T>(n: n, m: m, storage: laneWork.pointer + worker * laneSize)
            let mat = realWork.pointer + worker * realSize, own = mat + 2 * n * n
            let dw = doubleWork.pointer + worker * doubleSize
            let ev = dw, ee = dw + n
            let order = intWork.pointer + worker * intSize, slotIndex = order + m, sorted = slotIndex + m
            for g in range {
                let first = g * lanes, valid = min(lanes, count - first)
                for l in 0..<lanes {
                    if l < valid {
                        load(first + l, mat, own)
                        for t in 0..<(n * n) { block.re[t][l] = mat[2 * t]; block.im[t][l] = mat[2 * t + 1] }
                    } else {
                        for t in 0..<(n * n) { block.re[t][l] = 0; block.im[t][l] = 0 }
                    }
                }
                block.tridiagonalize()
                let norm = block.tridiagonalNorm()
                if !bisection {
                    // per lane: all eigenvalues (implicit QL), then the selection
                    for l in 0..<lanes {
                        let cols = sorted + l * m
                        guard l < valid else {
                            for c in 0..<m { block.lam[c][l] = T(c); cols[c] = c }
                            continue
                        }
                        for i in 0..<n { ev[i] = Double(block.d[i][l]); ee[i] = Double(block.e[i][l]) }
                        if !tridiagonalEigenvalues(ev, ee, n) { for i in 0..<n { ev[i] = .nan } }
                        which.order(ev, n: n, k: k, m: m, into: order)
                        sortColumns(order, m, cols)
                        for c in 0..<m { block.lam[c][l] = T(ev[order[cols[c]]]) }
                    }
                } else {
                    // the selected indices are the same in every lane: bisection in lanes
                    for l in 0..<lanes { sortColumns(fixedOrder, m, sorted + l * m) }
                    for c in 0..<m { slotIndex[c] = fixedOrder[sorted[c]] }
                    block.bisect(slotIndex, m, norm: norm)
                }
                block.inverseIteration(norm: norm)
                for l in 0..<valid {
                    let cols = sorted + l * m
                    for c in 0..<m {
                        let col = cols[c]
                        for i in 0..<n { block.y[col * n + i][l] = block.ys[c * n + i][l] }
                    }
                    if let (p, st) = valuesOut.map({ ($0.0, $0.1) }) {
                        let row = p + (first + l) * st[0]
                        for c in 0..<m { row[cols[c] * st[1]] = block.lam[c][l] }
                    }
                }
                guard let (p, st) = vectorsOut.map({ ($0.0, $0.1) }) else { continue }
                block.backTransform()
                for l in 0..<valid {
                    let dst = p + (first + l) * st[0]
                    for c in 0..<m {
                        for i in 0..<n {
                            dst[i * st[1] + c * st[2]] = SIMD2(block.zr[c * n + i][l], block.zi[c * n + i][l])
                        }
                    }
                }
            }
        }
    }
}

extension HermitianEigen {
    /// Matrices larger than this go to LAPACK's heevd one at a time (its blocked reduction wins
    /// there, and a block of lanes would hold L n² values per thread); smaller ones to the lanes.
    static let lanesLimit = 64

    /// `batch` by LAPACK (heevd, divide and conquer), one matrix per call, the matrices spread
    /// over the threads with OpenBLAS on one thread each; then the selection and the phase
    /// (first component real ≥ 0). A matrix LAPACK cannot solve gives NaN values and vectors.
    /// Time about 9 n³ (4n³/3 without vectors) per matrix; work space O(n²) per thread.
    /// MFError.unavailable when no LAPACK can be found.
    static func batchLAPACK<T: RealScalar>(_: T.Type, count: Int, n: Int, k: Int, m: Int, which: EigenSelection,
                                           values: StridedArray?, vectors: StridedArray?, scratch: Int,
                                           load: (Int, UnsafeMutablePointer<T>, UnsafeMutablePointer<T>) -> Void) throws {
        let workers = Swift.max(1, Swift.min(Threads.count, count))
        let wantVectors = vectors != nil
        let spaces = try (0..<workers).map { _ in try EigenWorkspace<SIMD2<T>>(n: n, vectors: wantVectors) }
        let matSize = 2 * n * n + scratch
        let mats = try WorkBuffer<T>(count: try Check.product(workers, matSize, "eigensolver work space"), "eigensolver work space")
        let reals = try WorkBuffer<T>(count: try Check.product(workers, n, "eigensolver work space"), "eigensolver work space")
        let doubles = try WorkBuffer<Double>(count: try Check.product(workers, n, "eigensolver work space"), "eigensolver work space")
        let ints = try WorkBuffer<Int>(count: try Check.product(workers, m, "eigensolver work space"), "eigensolver work space")
        let valuesOut = values.map { ($0.pointer(T.self), $0.strides.map { $0 / MemoryLayout<T>.stride }) }
        let vectorsOut = vectors.map { ($0.pointer(SIMD2<T>.self), $0.strides.map { $0 / (2 * MemoryLayout<T>.stride) }) }
        try BLASLibrary.shared().withThreads(1) {
            parallelFor(count, work: count * n * n * n, threshold: 1 << 16, workers: workers) { worker, range in
                let dst = mats.pointer + worker * matSize, own = dst + 2 * n * n
                let w = reals.pointer + worker * n, ev = doubles.pointer + worker * n, order = ints.pointer + worker * m
                let a = StridedMatrix(base: UnsafeMutableRawPointer(dst).assumingMemoryBound(to: SIMD2<T>.self),
                                      rows: n, cols: n, rowStride: n, colStride: 1)
                for s in range {
                    load(s, dst, own)
                    do {
                        try LAPACK.eigh(a, values: StridedVector(base: w, count: n, stride: 1), vectors: wantVectors,
                                        lower: true, workspace: spaces[worker])
                    } catch {
                        for i in 0..<n { w[i] = .nan }
                        for t in 0..<(2 * n * n) { dst[t] = .nan }
                    }
                    for i in 0..<n { ev[i] = Double(w[i]) }
                    which.order(ev, n: n, k: k, m: m, into: order)
                    if let (p, st) = valuesOut.map({ ($0.0, $0.1) }) {
                        for c in 0..<m { p[s * st[0] + c * st[1]] = w[order[c]] }
                    }
                    guard let (p, st) = vectorsOut.map({ ($0.0, $0.1) }) else { continue }
                    for c in 0..<m {
                        let col = order[c]
                        let z0 = a[0, col]
                        let r = (z0.x * z0.x + z0.y * z0.y).squareRoot()
                        let phase = r > 0 ? SIMD2(z0.x / r, -z0.y / r) : SIMD2<T>(1, 0)   // conj(z0) / |z0|
                        for i in 0..<n {
                            let z = a[i, col]
                            p[s * st[0] + i * st[1] + c * st[2]] = i == 0 && r > 0 ? SIMD2(r, 0)
                                : SIMD2(z.x * phase.x - z.y * phase.y, z.x * phase.y + z.y * phase.x)
                        }
                    }
                }
            }
        }
    }
}

/// cols[0 ..< m] = the columns 0 ..< m sorted by order[col] (ascending eigenvalue index).
func sortColumns(_ order: UnsafePointer<Int>, _ m: Int, _ cols: UnsafeMutablePointer<Int>) {
    for c in 0..<m { cols[c] = c }
    for c in 1..<max(1, m) {
        let v = cols[c]
        var j = c - 1
        while j >= 0 && order[cols[j]] > order[v] { cols[j + 1] = cols[j]; j -= 1 }
        cols[j + 1] = v
    }
}

extension AffineHermitianModel {
    /// The selected eigenpairs of M(x) for every sample of `x` (N, p) float32/float64, as
    /// `HermitianEigen.solve` on the forward pass but without holding the N matrices: each is
    /// formed into per-thread scratch (O(p n²)) and decomposed at once. `values` (N, m) real and
    /// `vectors` (N, n, m) complex of the model's precision. Time O(N (p n² + (16/3) n³ + 4 m n²)).
    public func eigen(_ x: StridedArray, numEig k: Int, which: EigenSelection,
                      values: StridedArray?, vectors: StridedArray?) throws {
        let (n, p) = (matrixSize, featureCount)
        try x.requireInput("input_NF", ndim: 2)
        guard x.shape[1] == p else {
            throw MFError.shape("input_NF has \(x.shape[1]) features per sample, but the module takes \(p)")
        }
        let count = x.shape[0]
        let m = try HermitianEigen.checkOutputs(count: count, n: n, k: k, type: dtype, values: values,
                                                vectors: vectors, inputs: [(x, "input_NF")])
        if dtype == .complex64 {
            try eigenKernel(Float.self, x, count: count, k: k, m: m, which: which, values: values, vectors: vectors,
                            offset: offsetSingle, slopes: slopesSingle)
        } else {
            try eigenKernel(Double.self, x, count: count, k: k, m: m, which: which, values: values, vectors: vectors,
                            offset: offsetDouble, slopes: slopesDouble)
        }
    }

    private func eigenKernel<T: RealScalar>(_: T.Type, _ x: StridedArray, count: Int, k: Int, m: Int,
                                            which: EigenSelection, values: StridedArray?, vectors: StridedArray?,
                                            offset: [T], slopes: [T]) throws {
        let (n, p) = (matrixSize, featureCount)
        let xs = x.elementStrides
        let x32 = x.dtype == .float32
        let xBase = x.data ?? UnsafeMutableRawPointer(bitPattern: 64)!
        try offset.withUnsafeBufferPointer { ob in try slopes.withUnsafeBufferPointer { sb in
            let b = ob.baseAddress!, a = sb.baseAddress ?? ob.baseAddress!
            try HermitianEigen.batch(T.self, count: count, n: n, k: k, m: m, which: which, values: values,
                                     vectors: vectors, scratch: max(1, p)) { sample, dst, own in
                for i in 0..<p {
                    let o = sample * xs[0] + i * xs[1]
                    own[i] = x32 ? T(Double(xBase.assumingMemoryBound(to: Float.self)[o]))
                                 : T(xBase.assumingMemoryBound(to: Double.self)[o])
                }
                forwardSample(own, into: dst, offset: b, slopes: a)
            }
        }}
    }

    /// M(x) for one sample (features `xs`, p of them) into `dest` (2 n² interleaved values,
    /// contiguous), with the kernel operands of `forward`. Time O(p n²).
    func forwardSample<T: RealScalar>(_ xs: UnsafePointer<T>, into dest: UnsafeMutablePointer<T>,
                                      offset b: UnsafePointer<T>, slopes a: UnsafePointer<T>) {
        var packed = a
        for (start, length) in segments {
            affineRow(b + start, packed, featureCount, length, xs, dest + start)
            packed += featureCount * length
        }
        if triangular { mirrorLower(dest, matrixSize, segments) }
    }
}

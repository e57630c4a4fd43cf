/// The stage of a BLT C (or of C⁻¹) in a streaming pipeline (Algorithms 2 and 3 of
/// arXiv:2408.08868): with one buffer s_j per buffer of the BLT,
///
///     C:    y_t = x_t + Σ_j ω_j s_j,   then s_j ← θ_j s_j + x_t;
///     C⁻¹:  x_t = y_t − Σ_j ω_j s_j,   then s_j ← θ_j s_j + x_t.
///
/// The slice is updated in place in its own dtype (float32 stays float32; jax_privacy promotes
/// to the parameters' float64, doubling the memory of the noise). Per step and element: 4 d
/// flops over d state slices, in one pass over a piece (8-wide SIMD) for d ≤ 4, one pass per
/// buffer beyond; a piece's buffers stay in cache. Memory d slices.
public struct BufferedToeplitzStage: StreamStage {
    public let blt: BufferedToeplitz
    public let isInverse: Bool
    /// ω and θ rounded once to each slice type.
    let scalesF: [Float], decaysF: [Float]

    public init(_ blt: BufferedToeplitz, inverse: Bool) {
        self.blt = blt
        isInverse = inverse
        scalesF = blt.outputScale.map { Float($0) }
        decaysF = blt.bufDecay.map { Float($0) }
    }

    /// The parameters in the slice type T (no allocation).
    @inline(__always)
    func parameters<T: RealScalar>(_: T.Type) -> ([T], [T]) {
        T.self == Float.self ? (unsafeBitCast(scalesF, to: [T].self), unsafeBitCast(decaysF, to: [T].self))
                             : (unsafeBitCast(blt.outputScale, to: [T].self), unsafeBitCast(blt.bufDecay, to: [T].self))
    }

    public var stateCount: Int { blt.count }

    /// Pieces whose d state slices and the slice itself fit in about 24 KB of the L1 cache
    /// (64 elements at least), so that a piece's state stays in L1 across steps.
    public func preferredPieceWidth(itemSize: Int) -> Int {
        Swift.max(64, (24 * 1024 / ((blt.count + 1) * itemSize)) / 64 * 64)
    }

    @inline(__always)
    func run<T: RealScalar>(_ v: UnsafeMutablePointer<T>, _ n: Int, _ state: UnsafeMutablePointer<T>, _ ss: Int) {
        let d = blt.count
        guard d > 0 else { return }
        let (ws, ts) = parameters(T.self)
        if d <= 4 {
            fused(d, v, n, state, ss, ws, ts)
            return
        }
        // More buffers: the reads, then the updates, four buffers per pass; for C the input x
        // is kept aside (v becomes the output y).
        withUnsafeTemporaryAllocation(of: T.self, capacity: isInverse ? 0 : n) { keep in
            if !isInverse { keep.baseAddress!.update(from: v, count: n) }
            let sign: T = isInverse ? -1 : 1
            for k in 0..<d {
                let (wk, sk) = (sign * ws[k], state + k &* ss)
                for i in 0..<n { v[i] += wk * sk[i] }
            }
            let x = isInverse ? v : keep.baseAddress!
            for k in 0..<d {
                let (tk, sk) = (ts[k], state + k &* ss)
                for i in 0..<n { sk[i] = tk * sk[i] + x[i] }
            }
        }
    }

    /// One pass for k ≤ 4 buffers, eight elements at a time: r = Σ_j ω_j s_j; x = y − r (C⁻¹)
    /// or y = x + r (C); s_j ← θ_j s_j + x (fused multiply-adds). The buffer count and the
    /// direction are type parameters, so each of the eight loops is compiled without branches.
    @inline(__always)
    func fused<T: RealScalar>(_ k: Int, _ v: UnsafeMutablePointer<T>, _ n: Int, _ state: UnsafeMutablePointer<T>,
                              _ ss: Int, _ ws: [T], _ ts: [T]) {
        func go<K: BufferCount>(_: K.Type) {
            if isInverse {
                fusedLoop(K.self, InverseDirection.self, v, n, state, ss, ws, ts)
            } else {
                fusedLoop(K.self, ForwardDirection.self, v, n, state, ss, ws, ts)
            }
        }
        switch k {
        case 1: go(One.self)
        case 2: go(Two.self)
        case 3: go(Three.self)
        default: go(Four.self)
        }
    }

    func fusedLoop<T: RealScalar, K: BufferCount, D: Direction>(
        _: K.Type, _: D.Type, _ v: UnsafeMutablePointer<T>, _ n: Int, _ state: UnsafeMutablePointer<T>,
        _ ss: Int, _ ws: [T], _ ts: [T]) {
        typealias V = SIMD8<T>
        let k = K.count
        let w0 = V(repeating: ws[0]), w1 = V(repeating: k > 1 ? ws[1] : 0)
        let w2 = V(repeating: k > 2 ? ws[2] : 0), w3 = V(repeating: k > 3 ? ws[3] : 0)
        let t0 = V(repeating: ts[0]), t1 = V(repeating: k > 1 ? ts[1] : 0)
        let t2 = V(repeating: k > 2 ? ts[2] : 0), t3 = V(repeating: k > 3 ? ts[3] : 0)
        let s0 = state, s1 = state + ss, s2 = state + 2 &* ss, s3 = state + 3 &* ss
        @inline(__always) func load(_ p: UnsafeMutablePointer<T>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ x: V, _ p: UnsafeMutablePointer<T>) { UnsafeMutableRawPointer(p).storeBytes(of: x, as: V.self) }
        var i = 0
        while i &+ 8 <= n {
            let a0 = load(s0 + i)
            var r = w0 * a0
            var a1 = V(), a2 = V(), a3 = V()
            if k > 1 { a1 = load(s1 + i); r.addProduct(w1, a1) }
            if k > 2 { a2 = load(s2 + i); r.addProduct(w2, a2) }
            if k > 3 { a3 = load(s3 + i); r.addProduct(w3, a3) }
            let y = load(v + i)
            let x = D.inverse ? y - r : y
            store(D.inverse ? x : y + r, v + i)
            store(x.addingProduct(t0, a0), s0 + i)
            if k > 1 { store(x.addingProduct(t1, a1), s1 + i) }
            if k > 2 { store(x.addingProduct(t2, a2), s2 + i) }
            if k > 3 { store(x.addingProduct(t3, a3), s3 + i) }
            i &+= 8
        }
        while i < n {   // the last < 8 elements
            var r = ws[0] * s0[i]
            for j in 1..<k { r += ws[j] * state[j &* ss &+ i] }
            let y = v[i]
            let x = D.inverse ? y - r : y
            v[i] = D.inverse ? x : y + r
            for j in 0..<k { state[j &* ss &+ i] = ts[j] * state[j &* ss &+ i] + x }
            i &+= 1
        }
    }

    public func apply(step t: Int, _ v: UnsafeMutablePointer<Float>, _ n: Int,
                      _ state: UnsafeMutablePointer<Float>, _ ss: Int) { run(v, n, state, ss) }
    public func apply(step t: Int, _ v: UnsafeMutablePointer<Double>, _ n: Int,
                      _ state: UnsafeMutablePointer<Double>, _ ss: Int) { run(v, n, state, ss) }
}

extension BufferedToeplitz {
    /// C as a streaming matrix (d slices of state). O(d) to make.
    public func asStreamingMatrix() -> StreamingMatrix {
        count == 0 ? .identity() : StreamingMatrix(stages: [BufferedToeplitzStage(self, inverse: false)])
    }

    /// C⁻¹ as a streaming matrix (d slices of state), computed by the recursion of C itself (no
    /// inverse parameters needed). O(d) to make.
    public func inverseAsStreamingMatrix() -> StreamingMatrix {
        count == 0 ? .identity() : StreamingMatrix(stages: [BufferedToeplitzStage(self, inverse: true)])
    }
}

/// Compile-time buffer counts and directions for the fused BLT loops.
protocol BufferCount { static var count: Int { get } }
enum One: BufferCount { static var count: Int { 1 } }
enum Two: BufferCount { static var count: Int { 2 } }
enum Three: BufferCount { static var count: Int { 3 } }
enum Four: BufferCount { static var count: Int { 4 } }
protocol Direction { static var inverse: Bool { get } }
enum ForwardDirection: Direction { static var inverse: Bool { false } }
enum InverseDirection: Direction { static var inverse: Bool { true } }

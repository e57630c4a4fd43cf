/// The stage of a BLT C (or of C⁻¹) in a streaming pipeline (Algorithms 2 and 3 of
/// arXiv:2408.08868): with one buffer s_j per buffer of the BLT,
///
///     C:    y_t = x_t + Σ_j ω_j s_j,   then s_j ← θ_j s_j + x_t;
///     C⁻¹:  x_t = y_t − Σ_j ω_j s_j,   then s_j ← θ_j s_j + x_t.
///
/// The slice is updated in place in its own dtype (float32 stays float32; jax_privacy promotes
/// to the parameters' float64, doubling the memory of the noise). Per step and element: 4 d
/// flops over d state slices, in one pass over a piece for d ≤ 4, one pass per buffer beyond
/// (the loops vectorize across the piece, whose buffers stay in cache). Memory d slices.
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

    @inline(__always)
    func run<T: RealScalar>(_ v: UnsafeMutablePointer<T>, _ n: Int, _ state: UnsafeMutablePointer<T>, _ ss: Int) {
        let d = blt.count
        guard d > 0 else { return }
        if !isInverse {
            // y = x + Σ ω_j s_j and s_j ← θ_j s_j + x, buffer by buffer, x kept aside.
            withUnsafeTemporaryAllocation(of: T.self, capacity: n) { xs in
                let x = xs.baseAddress!
                x.update(from: v, count: n)
                let (ws, ts) = parameters(T.self)
                for j in 0..<d {
                    let w = ws[j], t = ts[j], s = state + j &* ss
                    for i in 0..<n {
                        let old = s[i]
                        v[i] += w * old
                        s[i] = t * old + x[i]
                    }
                }
            }
            return
        }
        // x = y − Σ_j ω_j s_j, then s_j ← θ_j s_j + x: one fused pass for up to 4 buffers,
        // else the reads and then the updates four buffers per pass.
        let (ws, ts) = parameters(T.self)
        // Loop-invariant parameters, read once (no bounds checks inside the loops).
        let (w0, w1, w2, w3) = (ws[0], d > 1 ? ws[1] : 0, d > 2 ? ws[2] : 0, d > 3 ? ws[3] : 0)
        let (t0, t1, t2, t3) = (ts[0], d > 1 ? ts[1] : 0, d > 2 ? ts[2] : 0, d > 3 ? ts[3] : 0)
        let (s0, s1, s2, s3) = (state, state + ss, state + 2 &* ss, state + 3 &* ss)
        switch d {
        case 1:
            for i in 0..<n {
                let x = v[i] - w0 * s0[i]
                s0[i] = t0 * s0[i] + x
                v[i] = x
            }
        case 2:
            for i in 0..<n {
                let (a0, a1) = (s0[i], s1[i])
                let x = v[i] - (w0 * a0 + w1 * a1)
                s0[i] = t0 * a0 + x; s1[i] = t1 * a1 + x
                v[i] = x
            }
        case 3:
            for i in 0..<n {
                let (a0, a1, a2) = (s0[i], s1[i], s2[i])
                let x = v[i] - (w0 * a0 + w1 * a1 + w2 * a2)
                s0[i] = t0 * a0 + x; s1[i] = t1 * a1 + x; s2[i] = t2 * a2 + x
                v[i] = x
            }
        case 4:
            for i in 0..<n {
                let (a0, a1, a2, a3) = (s0[i], s1[i], s2[i], s3[i])
                let x = v[i] - ((w0 * a0 + w1 * a1) + (w2 * a2 + w3 * a3))
                s0[i] = t0 * a0 + x; s1[i] = t1 * a1 + x; s2[i] = t2 * a2 + x; s3[i] = t3 * a3 + x
                v[i] = x
            }
        default:
            // One buffer per pass: the reads, then the updates.
            for k in 0..<d {
                let (wk, sk) = (ws[k], state + k &* ss)
                for i in 0..<n { v[i] -= wk * sk[i] }
            }
            for k in 0..<d {
                let (tk, sk) = (ts[k], state + k &* ss)
                for i in 0..<n { sk[i] = tk * sk[i] + v[i] }
            }
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

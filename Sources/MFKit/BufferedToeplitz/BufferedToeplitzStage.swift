/// The stage of a BLT C (or of C⁻¹) in a streaming pipeline (Algorithms 2 and 3 of
/// arXiv:2408.08868): with one buffer s_j per buffer of the BLT,
///
///     C:    y_t = x_t + Σ_j ω_j s_j,   then s_j ← θ_j s_j + x_t;
///     C⁻¹:  x_t = y_t − Σ_j ω_j s_j,   then s_j ← θ_j s_j + x_t.
///
/// The slice is updated in place in its own dtype (float32 stays float32; jax_privacy promotes
/// to the parameters' float64, doubling the memory of the noise). Per step and element: 4 d
/// flops over d state slices; the loops run one buffer at a time over a piece so that they
/// vectorize, and a piece's buffers stay in cache. Memory d slices of state.
public struct BufferedToeplitzStage: StreamStage {
    public let blt: BufferedToeplitz
    public let isInverse: Bool

    public init(_ blt: BufferedToeplitz, inverse: Bool) {
        self.blt = blt
        isInverse = inverse
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
                for j in 0..<d {
                    let w = T(blt.outputScale[j]), t = T(blt.bufDecay[j]), s = state + j * ss
                    for i in 0..<n {
                        let old = s[i]
                        v[i] += w * old
                        s[i] = t * old + x[i]
                    }
                }
            }
            return
        }
        // x = y − Σ ω_j s_j (two buffers per pass), then s_j ← θ_j s_j + x.
        var j = 0
        while j + 1 < d {
            let w0 = T(blt.outputScale[j]), w1 = T(blt.outputScale[j + 1])
            let s0 = state + j * ss, s1 = state + (j + 1) * ss
            for i in 0..<n { v[i] -= w0 * s0[i] + w1 * s1[i] }
            j += 2
        }
        if j < d {
            let w0 = T(blt.outputScale[j]), s0 = state + j * ss
            for i in 0..<n { v[i] -= w0 * s0[i] }
        }
        for j in 0..<d {
            let t = T(blt.bufDecay[j]), s = state + j * ss
            for i in 0..<n { s[i] = t * s[i] + v[i] }
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

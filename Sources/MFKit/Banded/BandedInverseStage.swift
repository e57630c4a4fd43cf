/// The stage of C⁻¹ for a column-normalized banded strategy C (Algorithm 9 of Choquette-Choo
/// et al. 2023, on C's own entries): with κ_{t,r} = C[t, t − r] = params[t − r, r] / c_{t−r},
///
///     ζ_t = (C⁻¹ z)_t = (z_t − Σ_{r=1}^{b−1} κ_{t,r} ζ_{t−r}) / κ_{t,0}.
///
/// (jax_privacy divides by params[t, 0] and multiplies by c_t; the same numbers up to
/// rounding, but C's entries are at most 1 whatever the scale of params, so tiny or huge
/// params neither overflow nor underflow, in float32 either.)
/// State: b − 1 slices holding ζ_{t−1}, …, ζ_{t−b+1} as a ring: ζ_s lives in buffer
/// s mod (b − 1), so nothing moves between steps (ζ_t overwrites ζ_{t−b+1} after it is read).
/// Cost per step O(m b) time for m slice elements; memory (b − 1) m elements.
///
/// Past row n the strategy continues as the identity (C = diag(C_n, I)): (C⁻¹ z)_t = z_t for
/// t ≥ n. jax_privacy clips its indices there instead, which gives the same result up to the
/// sign of params[n − 1, 0] when the lower-right triangle of params is zero.
/// Slices are computed in their own dtype (float32 stays float32; jax_privacy promotes to the
/// parameters' float64).
public struct BandedInverseStage: StreamStage {
    public let n: Int
    public let bands: Int
    /// Row t: [1 / κ_{t,0}, κ_{t,1}, …, κ_{t,b−1}] (zero where t − r < 0).
    let rows: [Double]

    public init(_ strategy: ColumnNormalizedBanded) {
        n = strategy.n
        bands = strategy.bands
        let b = bands
        var rows = [Double](repeating: 0, count: n * b)
        let norms = strategy.columnNorms
        for t in 0..<n {
            rows[t * b] = norms[t] / strategy.params[t * b]
            for r in stride(from: 1, to: b, by: 1) where t - r >= 0 {
                rows[t * b + r] = strategy.param(t - r, r) / norms[t - r]
            }
        }
        self.rows = rows
    }

    public var stateCount: Int { bands - 1 }

    @inline(__always)
    func run<T: RealScalar>(_ t: Int, _ v: UnsafeMutablePointer<T>, _ count: Int,
                            _ state: UnsafeMutablePointer<T>, _ ss: Int) {
        guard t < n else { return }   // identity past row n
        let b = bands
        let inv0 = rows[t * b]
        if b == 1 {
            let f = T(inv0)
            for i in 0..<count { v[i] *= f }
            return
        }
        let ring = b - 1
        let top = Swift.min(b - 1, t)   // r ≤ t: earlier ζ exist
        var r = 1
        // Four ring buffers per pass over v.
        while r + 3 <= top {
            let p1 = T(rows[t * b + r]), p2 = T(rows[t * b + r + 1])
            let p3 = T(rows[t * b + r + 2]), p4 = T(rows[t * b + r + 3])
            let s1 = state + ((t - r) % ring) * ss, s2 = state + ((t - r - 1) % ring) * ss
            let s3 = state + ((t - r - 2) % ring) * ss, s4 = state + ((t - r - 3) % ring) * ss
            for i in 0..<count {
                v[i] -= (p1 * s1[i] + p2 * s2[i]) + (p3 * s3[i] + p4 * s4[i])
            }
            r += 4
        }
        while r <= top {
            let p = T(rows[t * b + r]), s = state + ((t - r) % ring) * ss
            for i in 0..<count { v[i] -= p * s[i] }
            r += 1
        }
        let fi = T(inv0)
        let dst = state + (t % ring) * ss
        for i in 0..<count {
            let zeta = v[i] * fi
            dst[i] = zeta
            v[i] = zeta
        }
    }

    public func apply(step t: Int, _ v: UnsafeMutablePointer<Float>, _ n: Int,
                      _ state: UnsafeMutablePointer<Float>, _ ss: Int) { run(t, v, n, state, ss) }
    public func apply(step t: Int, _ v: UnsafeMutablePointer<Double>, _ n: Int,
                      _ state: UnsafeMutablePointer<Double>, _ ss: Int) { run(t, v, n, state, ss) }
}

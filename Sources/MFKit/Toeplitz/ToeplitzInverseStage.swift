/// The stage of C⁻¹ for a banded Toeplitz strategy C = T(c), b = len(c) (jax_privacy's
/// `toeplitz.inverse_as_streaming_matrix`, Algorithm 9 of arXiv:2306.08153):
///
///     ξ_t = (z_t − Σ_{r=1}^{min(t, b−1)} c_r ξ_{t−r}) / c_0,    (C⁻¹ z)_t = s_t ξ_t,
///
/// with s_t = 1, or, for the strategy column-normalized for n steps (each column of T(c)'s n × n
/// block divided by its norm), s_t = ‖c[0 ... min(n − 1 − t, b − 1)]‖ (t < n) and ‖c_0‖ past n,
/// as jax_privacy's row scaling repeats its last entry.
///
/// State: b − 1 slices holding ξ_{t−1} … ξ_{t−b+1} as a ring (ξ_s in slot s mod (b − 1)), so
/// nothing moves between steps. Slices keep their dtype (float32 noise stays float32; jax_privacy
/// promotes it to float64). Cost per step: (b − 1) multiply-adds per element, eight SIMD
/// accumulators over 64 float32 (32 float64) elements at a time, each ring slot read once.
public struct ToeplitzInverseStage: StreamStage {
    /// c_0 … c_{b−1}.
    public let coef: [Double]
    /// For a column-normalized strategy: n and ‖c[0...j]‖ for j < b.
    let normalizeFor: Int?
    let partialNorms: [Double]
    /// −c_r in both precisions, for the kernels.
    let negatedFloat: WorkBuffer<Float>, negatedDouble: WorkBuffer<Double>

    /// `coef` finite with coef[0] ≠ 0; `normalizeFor` ≥ 1 (coef already cut to it) or nil.
    init(coef: [Double], normalizeFor: Int?) throws {
        self.coef = coef
        self.normalizeFor = normalizeFor
        var s = 0.0
        partialNorms = coef.map { s += $0 * $0; return s.squareRoot() }
        negatedDouble = try coef.map { -$0 }.withUnsafeBufferPointer { try WorkBuffer(copying: $0, "the coefficients") }
        negatedFloat = try coef.map { Float(-$0) }.withUnsafeBufferPointer { try WorkBuffer(copying: $0, "the coefficients") }
    }

    public var stateCount: Int { coef.count - 1 }

    /// Pieces whose b − 1 state slices fill about the 32 KB L1 cache (64 elements at least;
    /// narrower pieces keep more of the state in L1 but touch each row of x in shorter runs).
    public func preferredPieceWidth(itemSize: Int) -> Int {
        Swift.max(64, (32 * 1024 / Swift.max(1, stateCount * itemSize)) / 64 * 64)
    }

    /// s_t.
    @inline(__always) func scale(_ t: Int) -> Double {
        guard let n = normalizeFor else { return 1 }
        return partialNorms[t < n ? Swift.min(n - 1 - t, coef.count - 1) : 0]
    }

    @inline(__always)
    func run<V: SIMD>(_: V.Type, _ t: Int, _ v: UnsafeMutablePointer<V.Scalar>, _ count: Int,
                      _ state: UnsafeMutablePointer<V.Scalar>, _ ss: Int) where V.Scalar: RealScalar {
        typealias T = V.Scalar
        let b = coef.count, f0 = T(1 / coef[0]), fs = T(scale(t))
        let negated = (T.self == Float.self ? UnsafeRawPointer(negatedFloat.pointer) : UnsafeRawPointer(negatedDouble.pointer))
            .assumingMemoryBound(to: T.self)
        if b == 1 {
            let f = f0 * fs
            for i in 0..<count { v[i] *= f }
            return
        }
        let ring = b - 1, taps = Swift.min(ring, t), here = t % ring
        let w = V.scalarCount, chunk = 8 * w
        // ξ_{t−r} lives in slot here − r for r ≤ here and in slot here − r + ring after the wrap:
        // two runs of consecutive slots, walked downwards (no index arithmetic per tap).
        let firstRun = Swift.min(taps, here)
        var i0 = 0
        while i0 + chunk <= count {
            let p = v + i0
            var a0 = load(V.self, p), a1 = load(V.self, p + w), a2 = load(V.self, p + 2 * w), a3 = load(V.self, p + 3 * w)
            var a4 = load(V.self, p + 4 * w), a5 = load(V.self, p + 5 * w), a6 = load(V.self, p + 6 * w), a7 = load(V.self, p + 7 * w)
            @inline(__always) func run(_ r0: Int, _ r1: Int, _ top: UnsafeMutablePointer<T>) {
                var s = top
                for r in stride(from: r0, through: r1, by: 1) {
                    let c = V(repeating: negated[r])
                    a0 = a0.addingProduct(c, load(V.self, s)); a1 = a1.addingProduct(c, load(V.self, s + w))
                    a2 = a2.addingProduct(c, load(V.self, s + 2 * w)); a3 = a3.addingProduct(c, load(V.self, s + 3 * w))
                    a4 = a4.addingProduct(c, load(V.self, s + 4 * w)); a5 = a5.addingProduct(c, load(V.self, s + 5 * w))
                    a6 = a6.addingProduct(c, load(V.self, s + 6 * w)); a7 = a7.addingProduct(c, load(V.self, s + 7 * w))
                    s -= ss
                }
            }
            if firstRun >= 1 { run(1, firstRun, state + (here - 1) * ss + i0) }
            if taps > firstRun { run(firstRun + 1, taps, state + (ring - 1) * ss + i0) }
            let inv = V(repeating: f0), out = V(repeating: fs), dst = state + here * ss + i0
            @inline(__always) func finish(_ a: V, _ k: Int) {
                let xi = a * inv
                store(xi, dst + k * w)
                store(xi * out, p + k * w)
            }
            finish(a0, 0); finish(a1, 1); finish(a2, 2); finish(a3, 3)
            finish(a4, 4); finish(a5, 5); finish(a6, 6); finish(a7, 7)
            i0 += chunk
        }
        for i in i0..<count {
            var a = v[i]
            for r in stride(from: 1, through: taps, by: 1) {
                a += negated[r] * state[(here >= r ? here - r : here - r + ring) * ss + i]
            }
            let xi = a * f0
            state[here * ss + i] = xi
            v[i] = xi * fs
        }
    }

    public func apply(step t: Int, _ v: UnsafeMutablePointer<Float>, _ n: Int,
                      _ state: UnsafeMutablePointer<Float>, _ ss: Int) { run(SIMD8<Float>.self, t, v, n, state, ss) }
    public func apply(step t: Int, _ v: UnsafeMutablePointer<Double>, _ n: Int,
                      _ state: UnsafeMutablePointer<Double>, _ ss: Int) { run(SIMD4<Double>.self, t, v, n, state, ss) }
}

@inline(__always) private func load<V: SIMD>(_: V.Type, _ p: UnsafeMutablePointer<V.Scalar>) -> V {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@inline(__always) private func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<V.Scalar>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}

extension Toeplitz {
    /// `inverse_as_streaming_matrix(coef, column_normalize_for_n)`: C⁻¹ as a streaming matrix of
    /// one `ToeplitzInverseStage`. With `columnNormalizeFor` n, coef is cut to n coefficients
    /// and C is T(coef)'s n × n block with unit-norm columns (jax_privacy expects ‖coef‖ = 1 then,
    /// so that the sensitivity is unchanged; not checked, as there). coef finite, coef[0] ≠ 0.
    /// O(b) to make.
    public static func inverse(_ coef: [Double], columnNormalizeFor n: Int?) throws -> StreamingMatrix {
        let (c, _) = try reconcile(coef, n)
        try requireInvertible(c, "coef")
        return StreamingMatrix(stages: [try ToeplitzInverseStage(coef: c, normalizeFor: n)])
    }
}

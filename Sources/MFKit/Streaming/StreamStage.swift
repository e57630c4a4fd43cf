/// One factor of a streaming matrix's pipeline. A streaming matrix applies its stages in order
/// to every row-slice: step t maps the slice v (in place) to the stage's output, reading and
/// updating `stateCount` state buffers of the slice's size. Every stage acts elementwise across
/// the slice, so a slice may be cut into pieces that are processed independently.
///
/// A stage's state starts at zero and depends only on earlier steps, which is what makes the
/// matrix lower-triangular. Two concrete entry points (Float, Double) keep the kernels
/// specialized: each conformer implements both by calling one generic body, and `apply`
/// picks one for a generic kernel.
public protocol StreamStage: Sendable {
    /// Number of state buffers kept per slice element.
    var stateCount: Int { get }
    /// Applies step `t` to `count` elements of `v`; state buffer k of this stage is
    /// `state + k * stateStride` (the piece's elements at the same offsets as `v`).
    func apply(step t: Int, _ v: UnsafeMutablePointer<Float>, _ count: Int,
               _ state: UnsafeMutablePointer<Float>, _ stateStride: Int)
    func apply(step t: Int, _ v: UnsafeMutablePointer<Double>, _ count: Int,
               _ state: UnsafeMutablePointer<Double>, _ stateStride: Int)
    /// The widest piece (in elements of `itemSize` bytes) `multiply` should cut a slice into for
    /// this stage: a stage with much state per element asks for narrow pieces, so that the state
    /// of a piece stays in the L1 cache across steps. Default: `pieceWidth`.
    func preferredPieceWidth(itemSize: Int) -> Int
}

extension StreamStage {
    public func preferredPieceWidth(itemSize: Int) -> Int { pieceWidth }
}

/// Applies `stage` at step t to a piece of type T: the stage's Float or Double entry point,
/// chosen at compile time once T is specialized.
@inline(__always)
func apply<T: RealScalar>(_ stage: any StreamStage, step t: Int, _ v: UnsafeMutablePointer<T>, _ count: Int,
                          _ state: UnsafeMutablePointer<T>, _ stateStride: Int) {
    if T.self == Float.self {
        stage.apply(step: t, UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self), count,
                    UnsafeMutableRawPointer(state).assumingMemoryBound(to: Float.self), stateStride)
    } else {
        stage.apply(step: t, UnsafeMutableRawPointer(v).assumingMemoryBound(to: Double.self), count,
                    UnsafeMutableRawPointer(state).assumingMemoryBound(to: Double.self), stateStride)
    }
}

/// `coefficients[min(t, count - 1)]`: a per-step schedule whose last entry repeats forever.
@inline(__always)
func clipped(_ coefficients: [Double], _ t: Int) -> Double {
    coefficients[Swift.min(t, coefficients.count - 1)]
}

/// Diagonal stage: v ← d_t v with d_t = diag[min(t, len - 1)]. Cost O(1) per element, no state.
public struct DiagonalStage: StreamStage {
    public let diag: [Double]
    public var stateCount: Int { 0 }

    @inline(__always)
    func run<T: RealScalar>(_ t: Int, _ v: UnsafeMutablePointer<T>, _ n: Int) {
        let d = T(clipped(diag, t))
        for i in 0..<n { v[i] *= d }
    }

    public func apply(step t: Int, _ v: UnsafeMutablePointer<Float>, _ n: Int,
                      _ state: UnsafeMutablePointer<Float>, _ ss: Int) { run(t, v, n) }
    public func apply(step t: Int, _ v: UnsafeMutablePointer<Double>, _ n: Int,
                      _ state: UnsafeMutablePointer<Double>, _ ss: Int) { run(t, v, n) }
}

/// Prefix-sum stage: s ← s + v; v ← s. Cost O(1) per element, one state buffer.
public struct PrefixSumStage: StreamStage {
    public var stateCount: Int { 1 }

    @inline(__always)
    func run<T: RealScalar>(_ v: UnsafeMutablePointer<T>, _ n: Int, _ s: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            let y = s[i] + v[i]
            s[i] = y
            v[i] = y
        }
    }

    public func apply(step t: Int, _ v: UnsafeMutablePointer<Float>, _ n: Int,
                      _ state: UnsafeMutablePointer<Float>, _ ss: Int) { run(v, n, state) }
    public func apply(step t: Int, _ v: UnsafeMutablePointer<Double>, _ n: Int,
                      _ state: UnsafeMutablePointer<Double>, _ ss: Int) { run(v, n, state) }
}

/// Momentum-SGD stage: m ← μ m + v; y ← y + lr_t m; v ← y, with lr_t = lr[min(t, len - 1)].
/// Cost O(1) per element, two state buffers (m, y).
public struct MomentumStage: StreamStage {
    public let momentum: Double
    public let learningRates: [Double]
    public var stateCount: Int { 2 }

    @inline(__always)
    func run<T: RealScalar>(_ t: Int, _ v: UnsafeMutablePointer<T>, _ n: Int,
                            _ m: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>) {
        let mu = T(momentum), lr = T(clipped(learningRates, t))
        for i in 0..<n {
            let mi = mu * m[i] + v[i]
            let yi = y[i] + lr * mi
            m[i] = mi
            y[i] = yi
            v[i] = yi
        }
    }

    public func apply(step t: Int, _ v: UnsafeMutablePointer<Float>, _ n: Int,
                      _ state: UnsafeMutablePointer<Float>, _ ss: Int) { run(t, v, n, state, state + ss) }
    public func apply(step t: Int, _ v: UnsafeMutablePointer<Double>, _ n: Int,
                      _ state: UnsafeMutablePointer<Double>, _ ss: Int) { run(t, v, n, state, state + ss) }
}

/// Limited-memory BFGS with a backtracking (Armijo) line search, in float64.
///
/// Each step: direction d = −H g by the two-loop recursion over the last `memory` pairs
/// (s, y), with H₀ = (sᵀy / yᵀy) I; step α = 1 first, halved until f(x + α d) ≤ f(x) + c₁ α gᵀd
/// (non-finite values count as failures). A pair is kept only when sᵀy > 1e-12 ‖s‖‖y‖. When the
/// search fails the memory is dropped and a scaled steepest-descent step is tried; when that
/// fails too, x is (numerically) stationary and the run ends.
/// Cost per step: the objective evaluations plus O(memory · N) for N unknowns; memory
/// (2 memory + 4) N doubles.
public struct LBFGS {
    public var maxSteps: Int
    /// Number of (s, y) pairs kept.
    public var memory: Int = 10
    /// Halvings tried per line search.
    public var maxBacktracks: Int = 40
    /// Armijo constant c₁.
    public var armijo: Double = 1e-4

    public init(maxSteps: Int, memory: Int = 10) {
        self.maxSteps = maxSteps
        self.memory = memory
    }

    /// Why a run ended.
    public enum Stop: Equatable { case maxSteps, callback, stationary }

    public struct Result {
        public var x: [Double]
        public var loss: Double
        /// Steps taken (accepted updates).
        public var steps: Int
        public var stop: Stop
        /// Objective evaluations (each with its gradient).
        public var evaluations: Int
    }

    /// Minimizes f from x0. `f(x, g)` returns f(x) and writes ∇f(x) into g (it may return a
    /// non-finite value for an inadmissible x). `callback(step, loss, gradNorm)` runs after
    /// every accepted step (step counts from 0) and returns true to stop; the result so far
    /// is returned. Throws `.numerical` if f(x0) is not finite.
    public func minimize(_ x0: [Double],
                         _ f: (UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Double,
                         callback: (Int, Double, Double) -> Bool = { _, _, _ in false }) throws -> Result {
        let N = x0.count
        var x = x0, g = [Double](repeating: 0, count: N)
        var xt = x0, gt = [Double](repeating: 0, count: N), d = [Double](repeating: 0, count: N)
        let m = Swift.max(1, memory)
        var S = [[Double]](), Y = [[Double]](), rhoS = [Double]()
        var evaluations = 1
        var fx = x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { f(xp.baseAddress!, $0.baseAddress!) } }
        guard fx.isFinite else { throw MFError.numerical("the loss at the starting point is not finite (\(fx))") }
        var alpha = [Double](repeating: 0, count: m)
        func dot(_ a: [Double], _ b: [Double]) -> Double {
            var s = 0.0
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in for i in 0..<N { s += ap[i] * bp[i] } } }
            return s
        }
        var step = 0
        while step < maxSteps {
            let gnorm = dot(g, g).squareRoot()
            if gnorm == 0 { return Result(x: x, loss: fx, steps: step, stop: .stationary, evaluations: evaluations) }
            var accepted = false
            for attempt in 0..<2 {
                // Direction.
                for i in 0..<N { d[i] = -g[i] }
                if attempt == 0 && !S.isEmpty {
                    let count = S.count
                    for j in stride(from: count - 1, through: 0, by: -1) {
                        let a = rhoS[j] * dot(S[j], d)
                        alpha[j] = a
                        Y[j].withUnsafeBufferPointer { yp in for i in 0..<N { d[i] -= a * yp[i] } }
                    }
                    let yy = dot(Y[count - 1], Y[count - 1])
                    let gamma = 1 / (rhoS[count - 1] * yy)
                    for i in 0..<N { d[i] *= gamma }
                    for j in 0..<count {
                        let beta = rhoS[j] * dot(Y[j], d)
                        let a = alpha[j]
                        S[j].withUnsafeBufferPointer { sp in for i in 0..<N { d[i] += (a - beta) * sp[i] } }
                    }
                } else {
                    // Scaled steepest descent: a first step of length 1e-2 ‖x‖ (or 1e-2).
                    let xn = dot(x, x).squareRoot()
                    let scale = (xn > 0 ? 1e-2 * xn : 1e-2) / gnorm
                    for i in 0..<N { d[i] *= scale }
                }
                var slope = dot(g, d)
                if !(slope < 0) {   // not a descent direction: fall back to steepest descent
                    if attempt == 0 { S.removeAll(); Y.removeAll(); rhoS.removeAll(); continue }
                    slope = -dot(g, g)
                }
                var a = 1.0
                for _ in 0...maxBacktracks {
                    for i in 0..<N { xt[i] = x[i] + a * d[i] }
                    evaluations += 1
                    let ft = xt.withUnsafeBufferPointer { xp in gt.withUnsafeMutableBufferPointer { f(xp.baseAddress!, $0.baseAddress!) } }
                    if ft.isFinite && ft <= fx + armijo * a * slope {
                        // Accept; update the memory.
                        var s = [Double](repeating: 0, count: N), y = s
                        for i in 0..<N { s[i] = xt[i] - x[i]; y[i] = gt[i] - g[i] }
                        let sy = dot(s, y)
                        if sy > 1e-12 * (dot(s, s) * dot(y, y)).squareRoot() {
                            if S.count == m { S.removeFirst(); Y.removeFirst(); rhoS.removeFirst() }
                            S.append(s); Y.append(y); rhoS.append(1 / sy)
                        }
                        swap(&x, &xt); swap(&g, &gt); fx = ft
                        accepted = true
                        break
                    }
                    a *= 0.5
                }
                if accepted { break }
                S.removeAll(); Y.removeAll(); rhoS.removeAll()
            }
            if !accepted { return Result(x: x, loss: fx, steps: step, stop: .stationary, evaluations: evaluations) }
            let stop = callback(step, fx, dot(g, g).squareRoot())
            step += 1
            if stop { return Result(x: x, loss: fx, steps: step, stop: .callback, evaluations: evaluations) }
        }
        return Result(x: x, loss: fx, steps: step, stop: .maxSteps, evaluations: evaluations)
    }
}

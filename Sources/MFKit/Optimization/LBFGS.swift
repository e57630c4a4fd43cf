import Glibc

/// Limited-memory BFGS with a backtracking (Armijo) line search, in float64.
///
/// Each step: direction d = −H g by the two-loop recursion over the last `memory` pairs
/// (s, y), with H₀ = (sᵀy / yᵀy) I; step α = 1 first, halved until f(x + α d) < f(x) and
/// f(x + α d) ≤ f(x) + c₁ α gᵀd (non-finite values: α / 4). (Quadratic interpolation of the step
/// was tried and reached worse losses on the ill-conditioned 'last' objective.) Trial points
/// are evaluated without their gradient and the gradient is computed once a point is accepted
/// — except the first trial after a step that took its first trial, which is evaluated with
/// its gradient at once.
/// A pair is kept only when sᵀy > 1e-12 ‖s‖‖y‖. When the search fails the memory is dropped and
/// a scaled steepest-descent step is tried; when that fails too, x is (numerically)
/// stationary and the run ends. The first step (and any restart) has length 1e-2 ‖x‖.
/// Cost per step: the objective evaluations plus O(memory · N) for N unknowns; memory
/// (2 memory + 5) N doubles.
public struct LBFGS {
    public var maxSteps: Int
    /// Number of (s, y) pairs kept.
    public var memory: Int = 10
    /// Backtracking steps tried per line search.
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
        /// Objective evaluations (value only or value and gradient).
        public var evaluations: Int
    }

    /// Minimizes f from x0. `f(x, g)` returns f(x) and, when g is not nil, writes ∇f(x) into
    /// g; it may return a non-finite value for an inadmissible x. `callback(step, loss,
    /// gradNorm)` runs after every accepted step (step counts from 0) and returns true to stop;
    /// the result so far is returned. Throws `.numerical` if f(x0) is not finite.
    public func minimize(_ x0: [Double],
                         _ f: (UnsafePointer<Double>, UnsafeMutablePointer<Double>?) -> Double,
                         callback: (Int, Double, Double) -> Bool = { _, _, _ in false }) throws -> Result {
        // At most one pair is stored per step, so a memory beyond maxSteps is never used.
        let N = x0.count, m = Swift.max(1, Swift.min(memory, maxSteps))
        let (mN, overflow) = m.multipliedReportingOverflow(by: N)
        guard !overflow else { throw MFError.outOfMemory("L-BFGS memory \(m) x \(N) unknowns is too large") }
        // Zeroed buffers from calloc: an allocation failure is reported (never a trap), and the
        // pair slots are only touched as pairs are stored.
        var owned: [UnsafeMutablePointer<Double>] = []
        defer { for p in owned { free(p) } }
        func buffer(_ count: Int) throws -> UnsafeMutablePointer<Double> {
            guard let raw = calloc(Swift.max(count, 1), MemoryLayout<Double>.stride) else {
                throw MFError.outOfMemory("cannot allocate the L-BFGS work space (\(count) doubles)")
            }
            let p = raw.bindMemory(to: Double.self, capacity: Swift.max(count, 1))
            owned.append(p)
            return p
        }
        let S = try buffer(mN), Y = try buffer(mN)
        var x = try buffer(N), xt = try buffer(N), g = try buffer(N), gt = try buffer(N)
        let d = try buffer(N)
        x0.withUnsafeBufferPointer { x.update(from: $0.baseAddress!, count: N) }
        var rho = [Double](repeating: 0, count: m), alpha = rho
        var first = 0, count = 0              // pairs live in slots (first + j) mod m
        var evaluations = 1
        var fx = f(x, g)
        guard fx.isFinite else { throw MFError.numerical("the loss at the starting point is not finite (\(fx))") }
        func result(_ steps: Int, _ stop: Stop) -> Result {
            Result(x: Array(UnsafeBufferPointer(start: x, count: N)), loss: fx, steps: steps, stop: stop,
                   evaluations: evaluations)
        }
        var step = 0
        // When the previous step took its first trial point, the next first trial is evaluated
        // with its gradient at once (saving the value-only pass in the common case).
        var gradientFirst = false
        while step < maxSteps {
            let gnorm = dot(g, g, N).squareRoot()
            if gnorm == 0 { return result(step, .stationary) }
            var accepted = false
            for attempt in 0..<2 {
                for i in 0..<N { d[i] = -g[i] }
                if attempt == 0 && count > 0 {
                    for j in stride(from: count - 1, through: 0, by: -1) {
                        let slot = (first + j) % m
                        let a = rho[slot] * dot(S + slot * N, d, N)
                        alpha[slot] = a
                        axpy(-a, Y + slot * N, d, N)
                    }
                    let last = (first + count - 1) % m
                    let yl = Y + last * N
                    let gamma = 1 / (rho[last] * dot(yl, yl, N))
                    for i in 0..<N { d[i] *= gamma }
                    for j in 0..<count {
                        let slot = (first + j) % m
                        let beta = rho[slot] * dot(Y + slot * N, d, N)
                        axpy(alpha[slot] - beta, S + slot * N, d, N)
                    }
                } else {
                    let xn = dot(x, x, N).squareRoot()
                    let scale = (xn > 0 ? 1e-2 * xn : 1e-2) / gnorm
                    for i in 0..<N { d[i] *= scale }
                }
                let slope = dot(g, d, N)
                if !(slope < 0) {   // not a descent direction: drop the memory
                    count = 0
                    continue
                }
                var a = 1.0
                for trial in 0...maxBacktracks {
                    for i in 0..<N { xt[i] = x[i] + a * d[i] }
                    evaluations += 1
                    let withGradient = trial == 0 && gradientFirst
                    let ft = f(xt, withGradient ? gt : nil)
                    if ft.isFinite && ft < fx && ft <= fx + armijo * a * slope {
                        var fg = ft
                        if !withGradient {
                            evaluations += 1
                            fg = f(xt, gt)
                        }
                        if !fg.isFinite { break }
                        gradientFirst = trial == 0
                        // s = xt − x into the next slot, y = gt − g.
                        let slot = count < m ? (first + count) % m : first
                        let s = S + slot * N, y = Y + slot * N
                        var sy = 0.0, ss = 0.0, yy = 0.0
                        for i in 0..<N {
                            let si = xt[i] - x[i], yi = gt[i] - g[i]
                            s[i] = si; y[i] = yi
                            sy += si * yi; ss += si * si; yy += yi * yi
                        }
                        if sy > 1e-12 * (ss * yy).squareRoot() {
                            rho[slot] = 1 / sy
                            if count < m { count += 1 } else { first = (first + 1) % m }
                        } else if count == m {   // the oldest pair's slot was overwritten: drop it
                            first = (first + 1) % m
                            count -= 1
                        }
                        swap(&x, &xt); swap(&g, &gt); fx = fg
                        accepted = true
                        break
                    }
                    a *= ft.isFinite ? 0.5 : 0.25
                }
                if accepted { break }
                count = 0
            }
            if !accepted { return result(step, .stationary) }
            let stop = callback(step, fx, dot(g, g, N).squareRoot())
            step += 1
            if stop { return result(step, .callback) }
        }
        return result(step, .maxSteps)
    }
}


/// The last `memory` curvature pairs (s, y) = (x_{k+1} − x_k, ∇f_{k+1} − ∇f_k) of L-BFGS and what
/// is done with them: the search direction by the two-loop recursion, the pair update, and
/// the change of coordinates that keeps scale-invariant blocks at unit norm.
/// Memory 2 memory N doubles for N unknowns (zeroed pages, touched as pairs arrive).
final class CurvaturePairs {
    let N: Int, capacity: Int
    private let S, Y: WorkBuffer<Double>
    private var rho: [Double], alpha: [Double]
    /// Pairs live in slots (first + j) mod capacity, j < count (oldest first).
    private(set) var count = 0
    private var first = 0

    init(unknowns N: Int, memory: Int) throws {
        self.N = N
        capacity = memory
        let (size, overflow) = memory.multipliedReportingOverflow(by: N)
        guard !overflow else {
            throw MFError.outOfMemory("cannot allocate the L-BFGS work space (memory \(memory) x \(N) unknowns is too large)")
        }
        S = try WorkBuffer(count: size, zeroed: true, "the L-BFGS work space (memory \(memory) x \(N) unknowns)")
        Y = try WorkBuffer(count: size, zeroed: true, "the L-BFGS work space (memory \(memory) x \(N) unknowns)")
        rho = try Memory.array(repeating: 0, count: memory, "the L-BFGS work space (\(memory) pairs)")
        alpha = rho
    }

    /// B > 0: H₀ is scaled per block of B unknowns (see `direction`).
    var blocks = 0

    func clear() { count = 0; first = 0 }

    /// d = −H g, H the L-BFGS inverse Hessian of the stored pairs (two-loop recursion) with
    /// H₀ = (sᵀy / yᵀy) I of the newest pair, or with `blocks` = B > 0 the diagonal H₀ that
    /// scales each block b of B unknowns by Σ_k s_kbᵀy_kb / Σ_k y_kbᵀy_kb over the stored pairs
    /// (the block's own secant estimate of its inverse curvature; the scalar one where that is
    /// not positive); d = −g without pairs. Time O(count N).
    func direction(_ g: UnsafePointer<Double>, into d: UnsafeMutablePointer<Double>) {
        for i in 0..<N { d[i] = -g[i] }
        guard count > 0 else { return }
        for j in stride(from: count - 1, through: 0, by: -1) {
            let slot = (first + j) % capacity
            let a = rho[slot] * dot(S.pointer + slot * N, d, N)
            alpha[slot] = a
            axpy(-a, Y.pointer + slot * N, d, N)
        }
        let newest = (first + count - 1) % capacity, yn = Y.pointer + newest * N
        let gamma = 1 / (rho[newest] * dot(yn, yn, N))
        if blocks > 0 {
            for start in stride(from: 0, to: N, by: blocks) {
                let len = Swift.min(blocks, N - start)
                var sy = 0.0, yy = 0.0
                for j in 0..<count {
                    let slot = (first + j) % capacity
                    sy += dot(S.pointer + slot * N + start, Y.pointer + slot * N + start, len)
                    yy += dot(Y.pointer + slot * N + start, Y.pointer + slot * N + start, len)
                }
                var gb = sy / yy
                if !(gb > 0 && gb.isFinite) { gb = gamma }
                for i in start..<(start + len) { d[i] *= gb }
            }
        } else {
            for i in 0..<N { d[i] *= gamma }
        }
        for j in 0..<count {
            let slot = (first + j) % capacity
            let beta = rho[slot] * dot(Y.pointer + slot * N, d, N)
            axpy(alpha[slot] - beta, S.pointer + slot * N, d, N)
        }
    }

    /// Stores s = x1 − x0, y = g1 − g0 when sᵀy > ε yᵀy (ε the machine epsilon: the curvature
    /// is positive beyond rounding), dropping the oldest pair when full; returns whether it was
    /// stored. Time O(N).
    @discardableResult
    func update(x0: UnsafePointer<Double>, x1: UnsafePointer<Double>,
                g0: UnsafePointer<Double>, g1: UnsafePointer<Double>) -> Bool {
        let slot = count < capacity ? (first + count) % capacity : first
        let s = S.pointer + slot * N, y = Y.pointer + slot * N
        var sy = 0.0, yy = 0.0
        for i in 0..<N {
            let si = x1[i] - x0[i], yi = g1[i] - g0[i]
            s[i] = si; y[i] = yi
            sy += si * yi; yy += yi * yi
        }
        guard sy > Double.ulpOfOne * yy, sy.isFinite, yy.isFinite else {
            if count == capacity { first = (first + 1) % capacity; count -= 1 }   // its slot was overwritten
            return false
        }
        rho[slot] = 1 / sy
        if count < capacity { count += 1 } else { first = (first + 1) % capacity }
        return true
    }

    /// Applies the change of coordinates x' = T x (T = diag(tau)) to the pairs: s' = T s and
    /// y' = T⁻¹ y, so that sᵀy (and ρ) are unchanged and the pairs describe f in the new
    /// coordinates. Time O(count N).
    func rescale(_ tau: UnsafePointer<Double>) {
        for j in 0..<count {
            let slot = (first + j) % capacity, s = S.pointer + slot * N, y = Y.pointer + slot * N
            for i in 0..<N { s[i] *= tau[i]; y[i] /= tau[i] }
        }
    }
}

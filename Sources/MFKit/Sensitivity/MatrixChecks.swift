/// The checks MFKit's sensitivity functions apply to an encoder C and to X = Cᵀ C before any
/// computation, with jax_privacy's wording (`matrix_factorization/_checks.py`): tolerances are
/// NumPy's `allclose` defaults, |a − b| ≤ 1e-8 + 1e-5 |b| elementwise.
extension RealMatrixView {
    static let atol = 1e-8, rtol = 1e-5

    /// C (k × n): finite; when square, lower-triangular up to `allclose`. Time O(k n).
    public func checkEncoder(_ name: String = "C") throws {
        guard allFinite() else { throw MFError.invalidArgument("Matrix \(name) is not finite") }
        if rows == cols {
            let upperSmall = rowsSatisfy { i in
                for j in (i + 1)..<Swift.max(i + 1, cols) where Swift.abs(self[i, j]) > RealMatrixView.atol {
                    return false
                }
                return true
            }
            guard upperSmall else { throw MFError.invalidArgument("Matrix \(name) should be lower-triangular") }
        }
    }

    /// X (n × n): finite, square and symmetric up to `allclose(X, Xᵀ)`. Time O(n²).
    public func checkGram(_ name: String = "X") throws {
        guard allFinite() else { throw MFError.invalidArgument("Matrix \(name) is not finite") }
        guard rows == cols else { throw MFError.shape("Matrix \(name) should be square") }
        let symmetric = rowsSatisfy { i in
            for j in 0..<cols {
                let a = self[i, j], b = self[j, i]
                if Swift.abs(a - b) > RealMatrixView.atol + RealMatrixView.rtol * Swift.abs(b) { return false }
            }
            return true
        }
        guard symmetric else { throw MFError.invalidArgument("Matrix \(name) should be symmetric") }
    }

    /// True when every element is finite. Time O(k n), over the cores for large matrices.
    func allFinite() -> Bool {
        rowsSatisfy { i in
            for j in 0..<cols where !self[i, j].isFinite { return false }
            return true
        }
    }

    /// True when `test(i)` holds for every row i; rows are split over the cores when the
    /// matrix is large.
    func rowsSatisfy(_ test: (Int) -> Bool) -> Bool {
        guard rows > 0 && cols > 0 else { return true }
        let workers = Swift.max(1, Swift.min(Threads.count, rows))
        let failed = UnsafeMutablePointer<Bool>.allocate(capacity: workers)
        failed.initialize(repeating: false, count: workers)
        defer { failed.deallocate() }
        parallelFor(rows, work: rows * cols, threshold: 1 << 18, workers: workers) { w, range in
            for i in range where !test(i) { failed[w] = true; return }
        }
        return !(0..<workers).contains { failed[$0] }
    }
}

/// The checks MFKit's sensitivity functions apply to an encoder C and to X = Cᵀ C before any
/// computation, with jax_privacy's wording (`matrix_factorization/_checks.py`): tolerances are
/// NumPy's `allclose` defaults, |a − b| ≤ 1e-8 + 1e-5 |b| elementwise.
extension Sensitivity {
    /// A view of a valid 2-D real array named `name` ("C", "X"), with jax_privacy's words for
    /// the wrong dtype or rank (an X that is not 2-D is "not square"). O(1).
    static func matrix(_ a: StridedArray, _ name: String) throws -> RealMatrixView {
        guard a.dtype.isReal else { throw MFError.dtype("Matrix \(name) must be float32 or float64, got \(a.dtype)") }
        guard a.ndim == 2 else {
            if name == "X" { throw MFError.shape("Matrix X should be square") }
            throw MFError.shape("Matrix \(name) has unexpected shape \(shapeText(a.shape))")
        }
        try a.requireValid(name)
        return RealMatrixView(a)
    }

    /// The encoder C (r × n), checked: finite; lower-triangular up to allclose when square.
    static func encoder(_ c: StridedArray) throws -> RealMatrixView {
        let view = try matrix(c, "C")
        try view.checkEncoder()
        return view
    }

    /// X = Cᵀ C (n × n), checked: finite, square, symmetric up to allclose.
    static func gramMatrix(_ x: StridedArray) throws -> RealMatrixView {
        let view = try matrix(x, "X")
        try view.checkGram()
        return view
    }
}

extension RealMatrixView {
    static let atol = 1e-8, rtol = 1e-5

    /// C (k × n): finite; when square, lower-triangular up to `allclose`. Time O(k n).
    func checkEncoder(_ name: String = "C") throws {
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
    func checkGram(_ name: String = "X") throws {
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
    /// matrix is large (each part stops at its first failure).
    func rowsSatisfy(_ test: (Int) -> Bool) -> Bool {
        guard rows > 0 && cols > 0 else { return true }
        return parallelReduce(rows, work: rows * cols, threshold: 1 << 18, { range in
            range.allSatisfy(test)
        }, combine: { $0 && $1 }) ?? true
    }
}

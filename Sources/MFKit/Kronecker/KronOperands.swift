/// Kronecker sums A_1 ⊕ ... ⊕ A_K = Σ_k I_{<k} ⊗ A_k ⊗ I_{>k} of K square factors (d_k x d_k),
/// N = Π d_k, and their projections. A multi-index (i_1, ..., i_K) is the flat index
/// Σ_k i_k s_k with s_k = Π_{l>k} d_l (row-major: the first factor is the outermost axis),
/// matching `np.kron(A, I) + np.kron(I, B)`.
///
/// Every operation validates all of its operands before any kernel runs, so an output is
/// either fully written or untouched. Outputs may have any strides and must not overlap an
/// input or each other.
public enum Kron {}

/// The Kronecker operations' domain checks (factor counts, one dtype for all operands, factor
/// sizes), written with the shared check vocabulary.
enum KronCheck {
    /// Throws unless K >= 1.
    static func factorCount(_ k: Int, _ what: String) throws {
        guard k >= 1 else { throw MFError.invalidArgument("needs at least one \(what) (K >= 1), got none") }
    }

    /// The common real dtype of `arrays` (named `names`).
    static func commonDType(_ arrays: [StridedArray], _ names: [String]) throws -> DType {
        let dtype = arrays[0].dtype
        for (a, name) in zip(arrays, names) {
            try a.requireDType(name, [.float32, .float64])
            guard a.dtype == dtype else {
                throw MFError.dtype("\(name) has dtype \(a.dtype) but \(names[0]) has dtype \(dtype); they must match")
            }
        }
        return dtype
    }

    /// Π dims with an overflow check; every length must be >= 1.
    static func product(_ dims: [Int], _ what: String) throws -> Int {
        var n = 1
        for (k, d) in dims.enumerated() {
            guard d >= 1 else { throw MFError.shape("\(what) \(k) has length \(d); every factor needs length >= 1") }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow, p < (1 << 48) else { throw MFError.shape("the product of \(what) lengths \(dims) is too large") }
            n = p
        }
        return n
    }

    /// A valid 1-D real array.
    static func vector(_ a: StridedArray, _ name: String) throws {
        try a.requireInput(name, ndim: 1)
    }

    /// A valid 2-D square real array.
    static func square(_ a: StridedArray, _ name: String) throws {
        guard a.ndim == 2, a.shape[0] == a.shape[1] else {
            throw MFError.shape("\(name) must be a square matrix, got shape \(shapeText(a.shape))")
        }
        try a.requireInput(name)
    }

    /// An output of the inputs' dtype and of `shape`, whose elements are distinct in memory.
    static func output(_ o: StridedArray, _ name: String, shape: [Int], dtype: DType) throws {
        guard o.dtype == dtype else { throw MFError.dtype("\(name) has dtype \(o.dtype) but the inputs are \(dtype); they must match") }
        guard o.shape == shape else {
            throw MFError.shape("\(name) has shape \(shapeText(o.shape)) but the result has shape \(shapeText(shape))")
        }
        try o.requireOutput(name, dtypes: [dtype])
    }
}

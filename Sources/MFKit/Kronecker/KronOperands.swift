/// Kronecker sums A_1 ⊕ ... ⊕ A_K = Σ_k I_{<k} ⊗ A_k ⊗ I_{>k} of K square factors (d_k x d_k),
/// N = Π d_k, and their projections. A multi-index (i_1, ..., i_K) is the flat index
/// Σ_k i_k s_k with s_k = Π_{l>k} d_l (row-major: the first factor is the outermost axis),
/// matching `np.kron(A, I) + np.kron(I, B)`.
///
/// Every operation validates all of its operands before any kernel runs, so an output is
/// either fully written or untouched. Outputs may have any strides and must not overlap an
/// input or each other.
public enum Kron {}

/// Validation shared by the Kronecker operations.
enum KronCheck {
    /// Throws unless K >= 1.
    static func factorCount(_ k: Int, _ what: String) throws {
        guard k >= 1 else { throw MFError.invalidArgument("needs at least one \(what) (K >= 1), got none") }
    }

    /// The common real dtype of `arrays` (named `names`).
    static func commonDType(_ arrays: [StridedArray], _ names: [String]) throws -> DType {
        let dtype = arrays[0].dtype
        for (a, name) in zip(arrays, names) {
            guard a.dtype.isReal else { throw MFError.dtype("\(name) must be float32 or float64, got \(a.dtype)") }
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

    /// A 1-D array with element strides and a data pointer.
    static func vector(_ a: StridedArray, _ name: String) throws {
        guard a.ndim == 1 else { throw MFError.shape("\(name) must be one-dimensional, got shape \(a.shape)") }
        try a.requireValid(name)
        if a.count > 0 && a.data == nil { throw MFError.invalidArgument("\(name): data pointer is null") }
    }

    /// A 2-D square array with element strides.
    static func square(_ a: StridedArray, _ name: String) throws {
        guard a.ndim == 2 else { throw MFError.shape("\(name) must be a 2-D square matrix, got shape \(a.shape)") }
        guard a.shape[0] == a.shape[1] else { throw MFError.shape("\(name) must be square, got shape \(a.shape)") }
        try a.requireValid(name)
        if a.count > 0 && a.data == nil { throw MFError.invalidArgument("\(name): data pointer is null") }
    }

    /// Outputs must not overlap any input nor each other.
    static func disjoint(outputs: [(StridedArray, String)], inputs: [(StridedArray, String)]) throws {
        for (i, (o, oname)) in outputs.enumerated() {
            for (x, xname) in inputs where o.overlaps(x) {
                throw MFError.invalidArgument("\(oname) overlaps the input \(xname); pass a separate output array")
            }
            for (p, pname) in outputs[..<i] where o.overlaps(p) {
                throw MFError.invalidArgument("\(oname) overlaps \(pname); every output needs its own memory")
            }
        }
    }

    /// An output of a given shape and dtype whose elements are all distinct in memory.
    static func output(_ o: StridedArray, _ name: String, shape: [Int], dtype: DType) throws {
        guard o.dtype == dtype else { throw MFError.dtype("\(name) has dtype \(o.dtype) but the inputs are \(dtype); they must match") }
        guard o.shape == shape else { throw MFError.shape("\(name) has shape \(o.shape) but the result has shape \(shape)") }
        try o.requireValid(name)
        if o.count > 0 && o.data == nil { throw MFError.invalidArgument("\(name): data pointer is null") }
        try o.requireDisjointElements(name)   // zero strides and interleaved rows are refused
    }
}

/// A strided 1-D view as (base pointer, element stride); element i lives at base + i * stride.
struct VectorView<T: RealScalar> {
    let base: UnsafeMutablePointer<T>
    let stride: Int
    let count: Int

    init(_ a: StridedArray) {
        base = a.data!.assumingMemoryBound(to: T.self)
        stride = a.ndim == 0 ? 1 : a.strides[0] / T.dtype.itemSize
        count = a.count
    }

    /// The elements as contiguous Doubles. O(count).
    func doubles() -> [Double] {
        (0..<count).map { Double(base[$0 * stride]) }
    }
}

/// A strided 2-D view (row and column element strides).
struct MatrixView<T: RealScalar> {
    let base: UnsafeMutablePointer<T>
    let rowStride: Int
    let colStride: Int
    let rows: Int
    let cols: Int

    init(_ a: StridedArray) {
        base = a.data!.assumingMemoryBound(to: T.self)
        rowStride = a.strides[0] / T.dtype.itemSize
        colStride = a.strides[1] / T.dtype.itemSize
        rows = a.shape[0]; cols = a.shape[1]
    }

    @inline(__always) subscript(i: Int, j: Int) -> T {
        get { base[i * rowStride + j * colStride] }
        nonmutating set { base[i * rowStride + j * colStride] = newValue }
    }

    /// The view of the transpose (strides swapped).
    var transposed: MatrixView {
        MatrixView(base: base, rowStride: colStride, colStride: rowStride, rows: cols, cols: rows)
    }

    private init(base: UnsafeMutablePointer<T>, rowStride: Int, colStride: Int, rows: Int, cols: Int) {
        self.base = base; self.rowStride = rowStride; self.colStride = colStride
        self.rows = rows; self.cols = cols
    }
}

/// Σ_i values[i] with Neumaier's compensation: the combiner for per-row and per-thread sums.
struct CompensatedSum {
    private(set) var sum = 0.0
    private var c = 0.0

    @inline(__always) mutating func add(_ x: Double) {
        let t = sum + x
        if abs(sum) >= abs(x) { c += (sum - t) + x } else { c += (x - t) + sum }
        sum = t
    }

    /// The compensated sum (the plain sum once it is not finite: inf and NaN propagate).
    var value: Double { sum.isFinite ? sum + c : sum }
}

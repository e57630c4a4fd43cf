/// How a matrix view reaches BLAS/LAPACK, which read column-major storage M with a leading
/// dimension: a view with unit row stride is M itself, a view with unit column stride
/// (row-major) is read as M = Aᵀ (`transposed`), and any other view (or one a routine cannot
/// take transposed) is copied into a column-major work buffer and, for outputs, copied back.
struct BLASOperand<T: LinearAlgebraScalar> {
    let view: StridedMatrix<T>
    /// Column-major storage of M, leading dimension `ld`.
    let pointer: UnsafeMutablePointer<T>
    let ld: Int
    /// M = Aᵀ (a row-major view read in place).
    let transposed: Bool
    /// The column-major copy, when the view could not be read in place.
    let packed: ScalarBuffer<T>?

    /// `columnMajor` forces a column-major M (a copy unless the view is column-major);
    /// `copyIn: false` skips reading the view into a copy (an output that is only written).
    init(_ view: StridedMatrix<T>, columnMajor: Bool = false, copyIn: Bool = true) throws {
        self.view = view
        let m = view.rows, n = view.cols
        if (m <= 1 || view.rowStride == 1) && (n <= 1 || view.colStride >= Swift.max(1, m)) {
            pointer = view.base; ld = n <= 1 ? Swift.max(1, m) : view.colStride
            transposed = false; packed = nil
        } else if !columnMajor && (n <= 1 || view.colStride == 1) && (m <= 1 || view.rowStride >= Swift.max(1, n)) {
            pointer = view.base; ld = m <= 1 ? Swift.max(1, n) : view.rowStride
            transposed = true; packed = nil
        } else {
            let buffer = try ScalarBuffer<T>(count: try Check.product(m, n, "a matrix copy"), "a column-major copy of a matrix")
            if copyIn {
                for j in 0..<n { for i in 0..<m { buffer[i + j * m] = view[i, j] } }
            }
            pointer = buffer.pointer; ld = Swift.max(1, m); transposed = false; packed = buffer
        }
    }

    /// Rows and columns of M (the view's, swapped when transposed).
    var storedRows: Int { transposed ? view.cols : view.rows }
    var storedCols: Int { transposed ? view.rows : view.cols }

    /// Copies a packed result back into the view (no-op for a view used in place). O(m n).
    func writeBack() {
        guard let packed else { return }
        let m = view.rows
        for j in 0..<view.cols { for i in 0..<m { view[i, j] = packed[i + j * m] } }
    }
}

/// An operation applied to a matrix operand: A, Aᵀ or Aᴴ (Aᴴ = Aᵀ for real types).
public enum MatrixOp: Sendable {
    case none, transpose, adjoint

    var transposes: Bool { self != .none }
    var conjugates: Bool { self == .adjoint }
}

/// BLAS's TRANS character for op (transpose t, conjugate c) on stored M, or nil when BLAS has
/// no such op (conjugation without transposition, complex types only).
func transCharacter<T: LinearAlgebraScalar>(_ t: Bool, _ c: Bool, _: T.Type) -> UInt8? {
    let conj = c && T.isComplex
    if !t { return conj ? nil : UInt8(ascii: "N") }
    return UInt8(ascii: conj ? "C" : "T")
}

@inline(__always) func uploCharacter(_ lower: Bool) -> UInt8 { UInt8(ascii: lower ? "L" : "U") }

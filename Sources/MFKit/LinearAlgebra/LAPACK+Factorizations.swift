/// MFKit's BLAS/LAPACK layer: typed calls of the library `BLASLibrary.shared()` finds, on
/// matrix views of any strides (`StridedMatrix`; row-major views are passed in place as
/// transposes, other views through a column-major copy), for Float, Double and complex
/// (SIMD2<Float>, SIMD2<Double>). Every call throws MFError: `.unavailable` without a library,
/// `.shape` for operands that do not fit, `.numerical` for a LAPACK failure (INFO > 0).
/// Inputs must be finite (LAPACK's results are undefined otherwise). Each call runs with the
/// library's threads set to `BLASLibrary.threads(forFlops:)` of its work (MFKit's
/// `Threads.count` for large calls, 1 for small ones) unless it is inside
/// `BLASLibrary.withThreads`, whose count then applies.
public enum LAPACK {}

typealias FortranPointer = UnsafeMutableRawPointer

extension LAPACK {
    /// Cholesky factorization in place (potrf): A = L Lᴴ with L in the lower triangle
    /// (`lower`), or A = Uᴴ U with U in the upper one; the other triangle is not referenced.
    /// MFError.numerical when A is not positive definite (the triangle then holds a partial
    /// factor). Time n³/3, no work space for a view with a unit stride.
    public static func potrf<T: LinearAlgebraScalar>(_ a: StridedMatrix<T>, lower: Bool = true) throws {
        let info = try uploInPlace("potrf", a, lower: lower)
        if info > 0 {
            throw MFError.numerical("the matrix is not positive definite (its leading minor of order \(info) is not)")
        }
    }

    /// Inverse of a triangular matrix in place (trtri), lower or upper, with a unit diagonal
    /// when `unitDiagonal` (not read). MFError.numerical when a diagonal entry is zero.
    /// Time n³/3.
    public static func trtri<T: LinearAlgebraScalar>(_ a: StridedMatrix<T>, lower: Bool = true,
                                                     unitDiagonal: Bool = false) throws {
        try requireSquare(a, "trtri")
        guard a.rows > 0 else { return }
        let library = try BLASLibrary.shared()
        let fn = unsafeBitCast(try library.routine(T.blasLetter + "trtri"),
                               to: (@convention(c) (FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer, Int, Int) -> Void).self)
        let op = try BLASOperand(a)
        let info = try library.withThreads(BLASLibrary.threads(forFlops: Double(a.rows) * Double(a.rows) * Double(a.rows) / 3)) {
            try FortranArguments.with(library) { args in
                let info = args.output()
                fn(args.char(uploCharacter(lower != op.transposed)), args.char(UInt8(ascii: unitDiagonal ? "U" : "N")),
                   try args.int(a.rows), FortranPointer(op.pointer), try args.int(op.ld), info, 1, 1)
                return args.integer(at: info)
            }
        }
        try requireValidArguments(info, "trtri")
        op.writeBack()
        if info > 0 { throw MFError.numerical("the triangular matrix is singular (diagonal entry \(info) is zero)") }
    }

    /// The product of a triangular matrix with its adjoint, in place (lauum): Lᴴ L into the
    /// lower triangle (`lower`) or U Uᴴ into the upper one. With the inverse Cholesky factor
    /// L = chol(X)⁻¹ (lower), this gives X⁻¹ = Lᴴ L. Time n³/3.
    public static func lauum<T: LinearAlgebraScalar>(_ a: StridedMatrix<T>, lower: Bool = true) throws {
        _ = try uploInPlace("lauum", a, lower: lower)
    }

    /// Runs the LAPACK routine `name` (potrf, lauum: arguments uplo, n, A, lda, info) on the
    /// triangle of `a` that `lower` names, in place, on as many OpenBLAS threads as n³/3 flops
    /// earn; returns its info (> 0: the routine's numerical failure), after rejecting a
    /// negative one. A row-major view holds Aᵀ = conj(A), so its lower triangle is the
    /// routine's upper one: the factor lands where the caller expects it.
    private static func uploInPlace<T: LinearAlgebraScalar>(_ name: String, _ a: StridedMatrix<T>,
                                                            lower: Bool) throws -> Int {
        try requireSquare(a, name)
        guard a.rows > 0 else { return 0 }
        let library = try BLASLibrary.shared()
        let fn = unsafeBitCast(try library.routine(T.blasLetter + name),
                               to: (@convention(c) (FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer, Int) -> Void).self)
        let op = try BLASOperand(a)
        let info = try library.withThreads(BLASLibrary.threads(forFlops: Double(a.rows) * Double(a.rows) * Double(a.rows) / 3)) {
            try FortranArguments.with(library) { args in
                let info = args.output()
                fn(args.char(uploCharacter(lower != op.transposed)), try args.int(a.rows), FortranPointer(op.pointer),
                   try args.int(op.ld), info, 1)
                return args.integer(at: info)
            }
        }
        try requireValidArguments(info, name)
        op.writeBack()
        return info
    }

    /// Solves A X = B in place of B (gesv: LU with partial pivoting; A is overwritten by its
    /// factors). A is n × n, B n × k. MFError.numerical when A is singular. Time 2n³/3 + 2n² k;
    /// n integers of pivots.
    public static func gesv<T: LinearAlgebraScalar>(_ a: StridedMatrix<T>, _ b: StridedMatrix<T>) throws {
        try requireSquare(a, "gesv")
        guard b.rows == a.rows else {
            throw MFError.shape("gesv: B has \(b.rows) rows for a \(a.rows) x \(a.rows) matrix")
        }
        guard a.rows > 0 && b.cols > 0 else { return }
        let library = try BLASLibrary.shared()
        let fn = unsafeBitCast(try library.routine(T.blasLetter + "gesv"),
                               to: (@convention(c) (FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer) -> Void).self)
        let opA = try BLASOperand(a, columnMajor: true), opB = try BLASOperand(b, columnMajor: true)
        let pivots = try WorkBuffer<Int64>(count: a.rows, "the pivots")
        let info = try library.withThreads(BLASLibrary.threads(forFlops: 2 * Double(a.rows) * Double(a.rows) * (Double(a.rows) / 3 + Double(b.cols)))) {
            try FortranArguments.with(library) { args in
                let info = args.output()
                fn(try args.int(a.rows), try args.int(b.cols), FortranPointer(opA.pointer), try args.int(opA.ld),
                   FortranPointer(pivots.pointer), FortranPointer(opB.pointer), try args.int(opB.ld), info)
                return args.integer(at: info)
            }
        }
        try requireValidArguments(info, "gesv")
        opA.writeBack()
        if info > 0 { throw MFError.numerical("the matrix is singular (U[\(info - 1), \(info - 1)] is zero)") }
        opB.writeBack()
    }

    static func requireSquare<T>(_ a: StridedMatrix<T>, _ routine: String) throws {
        guard a.rows == a.cols else {
            throw MFError.shape("\(routine): the matrix must be square, got \(a.rows) x \(a.cols)")
        }
    }
}

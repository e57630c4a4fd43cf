/// Products and triangular solves (BLAS levels 2 and 3) of the LAPACK layer.
extension LAPACK {
    /// Which side a triangular matrix multiplies from.
    public enum Side: Sendable { case left, right }

    /// C ← α op(A) op(B) + β C (gemm), op(A) m × k, op(B) k × n, C m × n. C must not overlap A
    /// or B. Time 2 m n k.
    public static func gemm<T: LinearAlgebraScalar>(_ opA: MatrixOp = .none, _ a: StridedMatrix<T>,
                                                    _ opB: MatrixOp = .none, _ b: StridedMatrix<T>,
                                                    _ c: StridedMatrix<T>, alpha: T = .one, beta: T = .zero) throws {
        let (m, k) = opA.transposes ? (a.cols, a.rows) : (a.rows, a.cols)
        let (kb, n) = opB.transposes ? (b.cols, b.rows) : (b.rows, b.cols)
        guard k == kb, c.rows == m, c.cols == n else {
            throw MFError.shape("gemm: op(A) is \(m) x \(k), op(B) \(kb) x \(n), C \(c.rows) x \(c.cols)")
        }
        guard m > 0 && n > 0 else { return }
        let library = try BLASLibrary.shared()
        let fn = unsafeBitCast(try library.routine(T.blasLetter + "gemm"),
                               to: (@convention(c) (FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                    FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                    FortranPointer, FortranPointer, FortranPointer, Int, Int) -> Void).self)
        // A row-major C holds Cᵀ = α op(B)ᵀ op(A)ᵀ + β Cᵀ: the operands swap and their ops
        // flip transposition (a conjugate without transpose has no BLAS op: C is copied).
        let conjugating = T.isComplex && (opA.conjugates || opB.conjugates)
        let opC = try BLASOperand(c, columnMajor: conjugating, copyIn: !isZero(beta))
        let flip = opC.transposed
        let (x, opX, y, opY) = flip ? (b, opB, a, opA) : (a, opA, b, opB)
        let first = try operand(x, transposing: opX.transposes != flip, conjugating: opX.conjugates)
        let second = try operand(y, transposing: opY.transposes != flip, conjugating: opY.conjugates)
        try library.withThreads(BLASLibrary.threads(forFlops: 2 * Double(m) * Double(n) * Double(k))) {
            try FortranArguments.with(library) { args in
                fn(args.char(first.trans), args.char(second.trans), try args.int(opC.storedRows), try args.int(opC.storedCols),
                   try args.int(k), args.scalar(alpha), FortranPointer(first.op.pointer), try args.int(Swift.max(first.op.ld, 1)),
                   FortranPointer(second.op.pointer), try args.int(Swift.max(second.op.ld, 1)), args.scalar(beta),
                   FortranPointer(opC.pointer), try args.int(opC.ld), 1, 1)
            }
        }
        opC.writeBack()
    }

    /// C ← α op(A) op(A)ᴴ + β C on one triangle of C (syrk; herk for complex types, where α and
    /// β are real): op(A) = A (n × k) or, with `transposeA`, Aᴴ (A k × n). The other triangle
    /// is not referenced. Time n² k.
    public static func syrk<T: LinearAlgebraScalar>(_ a: StridedMatrix<T>, transposeA: Bool = false,
                                                    _ c: StridedMatrix<T>, lower: Bool = true,
                                                    alpha: T.Real = 1, beta: T.Real = 0) throws {
        try requireSquare(c, "syrk")
        let (n, k) = transposeA ? (a.cols, a.rows) : (a.rows, a.cols)
        guard n == c.rows else { throw MFError.shape("syrk: op(A) has \(n) rows for a \(c.rows) x \(c.rows) C") }
        guard n > 0 else { return }
        let library = try BLASLibrary.shared()
        let name = T.isComplex ? "herk" : "syrk"
        let fn = unsafeBitCast(try library.routine(T.blasLetter + name),
                               to: (@convention(c) (FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                    FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                    Int, Int) -> Void).self)
        // Real: a row-major C is C itself with the other triangle; a row-major A is Mᵀ, so op
        // flips. Complex (Cᵀ = conj(C)): both are copied column-major unless they already are.
        let opC = try BLASOperand(c, columnMajor: T.isComplex, copyIn: beta != 0)
        let opA = try BLASOperand(a, columnMajor: T.isComplex)
        let trans = UInt8(ascii: transposeA != opA.transposed ? (T.isComplex ? "C" : "T") : "N")
        try library.withThreads(BLASLibrary.threads(forFlops: Double(n) * Double(n) * Double(k))) {
            try FortranArguments.with(library) { args in
                // α and β are real (herk), or of the element type, which is then the real type (syrk).
                let pa = args.scalar(alpha), pb = args.scalar(beta)
                fn(args.char(uploCharacter(lower != opC.transposed)), args.char(trans), try args.int(n), try args.int(k),
                   pa, FortranPointer(opA.pointer), try args.int(Swift.max(opA.ld, 1)), pb, FortranPointer(opC.pointer),
                   try args.int(opC.ld), 1, 1)
            }
        }
        opC.writeBack()
    }

    /// B ← α op(A)⁻¹ B (`side: .left`) or α B op(A)⁻¹ (`.right`) in place (trsm), A triangular
    /// (lower or upper; unit diagonal not read), B m × n. Time m² n (left) or m n² (right).
    public static func trsm<T: LinearAlgebraScalar>(side: Side = .left, lower: Bool = true, _ op: MatrixOp = .none,
                                                    unitDiagonal: Bool = false, alpha: T = .one,
                                                    _ a: StridedMatrix<T>, _ b: StridedMatrix<T>) throws {
        try requireSquare(a, "trsm")
        let order = side == .left ? b.rows : b.cols
        guard order == a.rows else {
            throw MFError.shape("trsm: A is \(a.rows) x \(a.rows), B \(b.rows) x \(b.cols)")
        }
        guard b.rows > 0 && b.cols > 0 else { return }
        let library = try BLASLibrary.shared()
        let fn = unsafeBitCast(try library.routine(T.blasLetter + "trsm"),
                               to: (@convention(c) (FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                    FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                    FortranPointer, Int, Int, Int, Int) -> Void).self)
        // A row-major B holds Bᵀ: the equation is transposed (side flips, op flips its
        // transposition); with a conjugating op that needs conj(A), B is copied instead.
        let opB = try BLASOperand(b, columnMajor: T.isComplex && op.conjugates)
        let flip = opB.transposed
        let first = try operand(a, transposing: op.transposes != flip, conjugating: op.conjugates)
        let sideChar = UInt8(ascii: (side == .left) != flip ? "L" : "R")
        try library.withThreads(BLASLibrary.threads(forFlops: Double(b.rows) * Double(b.cols) * Double(order))) {
            try FortranArguments.with(library) { args in
                fn(args.char(sideChar), args.char(uploCharacter(lower != first.op.transposed)), args.char(first.trans),
                   args.char(UInt8(ascii: unitDiagonal ? "U" : "N")), try args.int(opB.storedRows), try args.int(opB.storedCols),
                   args.scalar(alpha), FortranPointer(first.op.pointer), try args.int(first.op.ld), FortranPointer(opB.pointer),
                   try args.int(opB.ld), 1, 1, 1, 1)
            }
        }
        opB.writeBack()
    }

    /// x ← op(A)⁻¹ x in place (trsv), A n × n triangular, x of length n and any nonzero
    /// stride (a zero-stride x is refused). Time n².
    public static func trsv<T: LinearAlgebraScalar>(lower: Bool = true, _ op: MatrixOp = .none, unitDiagonal: Bool = false,
                                                    _ a: StridedMatrix<T>, _ x: StridedVector<T>) throws {
        try requireSquare(a, "trsv")
        guard x.count == a.rows else { throw MFError.shape("trsv: x has length \(x.count) for a \(a.rows) x \(a.rows) A") }
        guard x.count > 0 else { return }
        guard x.stride != 0 || x.count == 1 else { throw MFError.invalidArgument("trsv: x has stride 0") }
        let library = try BLASLibrary.shared()
        let fn = unsafeBitCast(try library.routine(T.blasLetter + "trsv"),
                               to: (@convention(c) (FortranPointer, FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                    FortranPointer, FortranPointer, FortranPointer, Int, Int, Int) -> Void).self)
        let first = try operand(a, transposing: op.transposes, conjugating: op.conjugates)
        // BLAS reads a negative-stride vector from its lowest address.
        let stride = x.count == 1 ? 1 : x.stride
        let start = stride < 0 ? x.base + (x.count - 1) * stride : x.base
        try library.withThreads(BLASLibrary.threads(forFlops: Double(x.count) * Double(x.count))) {
            try FortranArguments.with(library) { args in
                fn(args.char(uploCharacter(lower != first.op.transposed)), args.char(first.trans),
                   args.char(UInt8(ascii: unitDiagonal ? "U" : "N")), try args.int(a.rows), FortranPointer(first.op.pointer),
                   try args.int(first.op.ld), FortranPointer(start), try args.int(stride), 1, 1, 1)
            }
        }
    }

    /// An input operand with the BLAS TRANS character giving op (transpose `t`, conjugate `c`)
    /// of the caller's matrix; copied column-major when its layout has no such character.
    static func operand<T: LinearAlgebraScalar>(_ a: StridedMatrix<T>, transposing t: Bool,
                                                conjugating c: Bool) throws -> (op: BLASOperand<T>, trans: UInt8) {
        let op = try BLASOperand(a)
        if let trans = transCharacter(t != op.transposed, c, T.self) { return (op, trans) }
        let packed = try BLASOperand(a, columnMajor: true)
        return (packed, transCharacter(t, c, T.self)!)
    }

    static func isZero<T: LinearAlgebraScalar>(_ v: T) -> Bool {
        withUnsafeBytes(of: v) { $0.allSatisfy { $0 == 0 } }
    }
}

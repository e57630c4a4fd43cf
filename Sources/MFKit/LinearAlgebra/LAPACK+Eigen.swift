/// Symmetric and Hermitian eigensolvers of the LAPACK layer (divide and conquer).
extension LAPACK {
    /// Eigenvalues (ascending, into `values`) and, with `vectors`, orthonormal eigenvectors
    /// (into the columns of `a`, in the order of the values) of the symmetric (real T: syevd)
    /// or Hermitian (complex T: heevd) n × n matrix in the lower (`lower`) or upper triangle
    /// of `a`. Without `vectors`, `a` is overwritten with intermediate values. `workspace`
    /// (for this n and `vectors`) avoids an allocation per call, e.g. one per thread over a
    /// batch (calls in an MFKit parallel loop belong inside `BLASLibrary.withThreads(1)`).
    /// MFError.numerical when LAPACK does not converge. Time O(n³) (about 9n³ with vectors,
    /// 4n³/3 without); work space O(n²) with vectors, O(n) without.
    public static func eigh<T: LinearAlgebraScalar>(_ a: StridedMatrix<T>, values: StridedVector<T.Real>,
                                                    vectors: Bool = true, lower: Bool = true,
                                                    workspace: EigenWorkspace<T>? = nil) throws {
        try requireSquare(a, "eigh")
        let n = a.rows
        guard values.count == n else { throw MFError.shape("eigh: values has length \(values.count) for a \(n) x \(n) matrix") }
        if let workspace, workspace.n != n || workspace.vectors != vectors {
            throw MFError.invalidArgument("eigh: the workspace is for n = \(workspace.n), vectors = \(workspace.vectors)")
        }
        guard n > 0 else { return }
        let space = try workspace ?? EigenWorkspace<T>(n: n, vectors: vectors)
        let library = space.library
        let op = try BLASOperand(a)
        // A row-major view holds Aᵀ = conj(A) (uplo flips), whose eigenvectors are conj(v):
        // the columns of M are the view's rows, so the view is transposed and conjugated after.
        let w = values.stride == 1 ? nil : try WorkBuffer<T.Real>(count: n, "the eigenvalues")
        let wp = w?.pointer ?? values.base
        let info = try library.withThreads(BLASLibrary.threads(forFlops: 9 * Double(n) * Double(n) * Double(n))) {
            try FortranArguments.with(library) { args in
                try space.call(&args, vectors: vectors, uplo: uploCharacter(lower != op.transposed), n: n,
                               a: op.pointer, lda: op.ld, w: wp)
            }
        }
        try requireValidArguments(info, T.isComplex ? "heevd" : "syevd")
        if info > 0 { throw MFError.numerical("the eigensolver did not converge (LAPACK info \(info))") }
        op.writeBack()
        if let w { for i in 0..<n { values[i] = w[i] } }
        if vectors && op.transposed {
            for i in 0..<n {
                a[i, i] = a[i, i].conjugate
                for k in (i + 1)..<Swift.max(i + 1, n) {
                    let t = a[i, k]
                    a[i, k] = a[k, i].conjugate
                    a[k, i] = t.conjugate
                }
            }
        }
    }
}

/// The work space of `LAPACK.eigh` for n × n matrices, sized by LAPACK's own query once; reuse
/// one per thread for a batch of matrices of one size.
public final class EigenWorkspace<T: LinearAlgebraScalar>: @unchecked Sendable {
    public let n: Int
    public let vectors: Bool
    let library: BLASLibrary
    private let work: ScalarBuffer<T>, rwork: WorkBuffer<T.Real>, iwork: WorkBuffer<Int64>
    private let routine: UnsafeMutableRawPointer

    /// Asks LAPACK (syevd or heevd) for its work-space sizes and allocates them. O(n²) memory
    /// with vectors, O(n) without.
    public init(n: Int, vectors: Bool) throws {
        try Check.nonNegative(n, "n")
        self.n = n; self.vectors = vectors
        let library = try BLASLibrary.shared(), vectors = vectors
        let routine = try library.routine(T.blasLetter + (T.isComplex ? "heevd" : "syevd"))
        self.library = library; self.routine = routine
        // The query: LWORK = LRWORK = LIWORK = -1 returns the optimal sizes in the first entries.
        var w0 = T.zero, r0 = T.Real.zero
        var i0: Int64 = 0
        var sizes = (work: 1, rwork: 1, iwork: 1)
        if n > 0 {
            let probe = try ScalarBuffer<T>(count: 1, "the query")
            let values = try WorkBuffer<T.Real>(count: n, "the query")
            let info = try FortranArguments.with(library) { args in
                try Self.invoke(routine, &args, vectors: vectors, uplo: UInt8(ascii: "L"), n: n, a: probe.pointer, lda: n,
                                w: values.pointer, work: &w0, lwork: -1, rwork: &r0, lrwork: -1, iwork: &i0, liwork: -1)
            }
            try requireValidArguments(info, "the eigensolver's work-space query")
            let iw = library.integerBits == 64 ? Int(i0) : Int(Int32(truncatingIfNeeded: i0))
            let lw = withUnsafeBytes(of: w0) { $0.load(as: T.Real.self) }   // the real part
            sizes = (Swift.max(1, Int(lw.asDouble.rounded(.up))), Swift.max(1, Int(r0.asDouble.rounded(.up))), Swift.max(1, iw))
        }
        work = try ScalarBuffer<T>(count: sizes.work, "the eigensolver's work space")
        rwork = try WorkBuffer<T.Real>(count: sizes.rwork, "the eigensolver's work space")
        iwork = try WorkBuffer<Int64>(count: sizes.iwork, "the eigensolver's work space")
    }

    /// One eigensolver call with this work space; returns INFO.
    func call(_ args: inout FortranArguments, vectors: Bool, uplo: UInt8, n: Int, a: UnsafeMutablePointer<T>, lda: Int,
              w: UnsafeMutablePointer<T.Real>) throws -> Int {
        try Self.invoke(routine, &args, vectors: vectors, uplo: uplo, n: n, a: a, lda: lda, w: w, work: work.pointer,
                        lwork: work.count, rwork: rwork.pointer, lrwork: rwork.count, iwork: iwork.pointer, liwork: iwork.count)
    }

    private static func invoke(_ routine: UnsafeMutableRawPointer, _ args: inout FortranArguments, vectors: Bool, uplo: UInt8,
                               n: Int, a: UnsafeMutablePointer<T>, lda: Int, w: UnsafeMutablePointer<T.Real>,
                               work: UnsafeMutablePointer<T>, lwork: Int, rwork: UnsafeMutablePointer<T.Real>, lrwork: Int,
                               iwork: UnsafeMutablePointer<Int64>, liwork: Int) throws -> Int {
        let info = args.output()
        let jobz = args.char(UInt8(ascii: vectors ? "V" : "N")), up = args.char(uplo)
        let pn = try args.int(n), plda = try args.int(lda), plwork = try args.int(lwork), pliwork = try args.int(liwork)
        if T.isComplex {
            let fn = unsafeBitCast(routine, to: (@convention(c) (FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                                FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                                FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                                FortranPointer, Int, Int) -> Void).self)
            fn(jobz, up, pn, FortranPointer(a), plda, FortranPointer(w), FortranPointer(work), plwork, FortranPointer(rwork),
               try args.int(lrwork), FortranPointer(iwork), pliwork, info, 1, 1)
        } else {
            let fn = unsafeBitCast(routine, to: (@convention(c) (FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                                FortranPointer, FortranPointer, FortranPointer, FortranPointer,
                                                                FortranPointer, FortranPointer, FortranPointer, Int, Int) -> Void).self)
            fn(jobz, up, pn, FortranPointer(a), plda, FortranPointer(w), FortranPointer(work), plwork, FortranPointer(iwork),
               pliwork, info, 1, 1)
        }
        return args.integer(at: info)
    }
}

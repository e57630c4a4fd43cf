import XCTest
@testable import MFKit

/// The BLAS/LAPACK layer against plain Swift oracles (triple loops, residuals, reconstructions)
/// for Float, Double, complex64 and complex128, on column-major, padded, row-major and
/// non-unit-stride views. The library comes from MFKIT_OPENBLAS (Tests/run-all.sh points it at
/// NumPy's OpenBLAS) or the system.
final class LinearAlgebraTests: XCTestCase {
    typealias C64 = SIMD2<Float>
    typealias C128 = SIMD2<Double>

    enum Layout: CaseIterable { case columnMajor, padded, rowMajor, strided }

    /// An owned rows × cols matrix of T laid out as `layout`.
    final class Matrix<T: LinearAlgebraScalar> {
        let storage: UnsafeMutablePointer<T>
        let view: StridedMatrix<T>

        init(_ rows: Int, _ cols: Int, _ layout: Layout, _ value: (Int, Int) -> T) {
            let (rs, cs, size): (Int, Int, Int)
            switch layout {
            case .columnMajor: (rs, cs, size) = (1, rows, rows * cols)
            case .padded: (rs, cs, size) = (1, rows + 3, (rows + 3) * cols)
            case .rowMajor: (rs, cs, size) = (cols, 1, rows * cols)
            case .strided: (rs, cs, size) = (2, 2 * rows + 1, (2 * rows + 1) * cols)
            }
            storage = .allocate(capacity: Swift.max(size, 1))
            storage.initialize(repeating: .zero, count: Swift.max(size, 1))
            view = StridedMatrix(base: storage, rows: rows, cols: cols, rowStride: rs, colStride: cs)
            for i in 0..<rows { for j in 0..<cols { view[i, j] = value(i, j) } }
        }

        deinit { storage.deallocate() }
        subscript(i: Int, j: Int) -> T { view[i, j] }
    }

    // MARK: complex arithmetic in double precision (the oracles)

    static func c<T: LinearAlgebraScalar>(_ v: T) -> C128 {
        withUnsafeBytes(of: v) { raw in
            T.isComplex ? C128(raw.load(as: T.Real.self).asDouble, raw.load(fromByteOffset: MemoryLayout<T.Real>.stride, as: T.Real.self).asDouble)
                        : C128(raw.load(as: T.Real.self).asDouble, 0)
        }
    }
    static func value<T: LinearAlgebraScalar>(_ z: C128, _: T.Type) -> T {
        if T.isComplex {
            var v = T.zero
            withUnsafeMutableBytes(of: &v) { raw in
                raw.storeBytes(of: T.Real(z.x), as: T.Real.self)
                raw.storeBytes(of: T.Real(z.y), toByteOffset: MemoryLayout<T.Real>.stride, as: T.Real.self)
            }
            return v
        }
        return T(real: T.Real(z.x))
    }
    static func mul(_ a: C128, _ b: C128) -> C128 { C128(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x) }
    static func conj(_ a: C128) -> C128 { C128(a.x, -a.y) }

    /// Element (i, j) of op(M) for a dense rows × cols oracle matrix.
    static func apply(_ op: MatrixOp, _ m: [[C128]], _ i: Int, _ j: Int) -> C128 {
        switch op {
        case .none: return m[i][j]
        case .transpose: return m[j][i]
        case .adjoint: return conj(m[j][i])
        }
    }

    static func dense<T>(_ m: Matrix<T>) -> [[C128]] {
        (0..<m.view.rows).map { i in (0..<m.view.cols).map { j in c(m[i, j]) } }
    }

    static func product(_ a: [[C128]], _ b: [[C128]]) -> [[C128]] {
        let n = b.first?.count ?? 0
        return a.map { row in (0..<n).map { j in zip(row, b).reduce(C128()) { $0 + mul($1.0, $1.1[j]) } } }
    }

    static func maxDifference(_ a: [[C128]], _ b: [[C128]]) -> Double {
        var worst = 0.0
        for (r, s) in zip(a, b) { for (x, y) in zip(r, s) { worst = Swift.max(worst, ((x - y) * (x - y)).sum().squareRoot()) } }
        return worst
    }

    var rng = TestRandom(state: 7)

    func random<T: LinearAlgebraScalar>(_: T.Type) -> T {
        Self.value(C128(rng.next(), T.isComplex ? rng.next() : 0), T.self)
    }

    /// A well-conditioned Hermitian positive definite n × n oracle: B Bᴴ / n + I.
    func hpd<T: LinearAlgebraScalar>(_ n: Int, _: T.Type) -> [[C128]] {
        let b = (0..<n).map { _ in (0..<n).map { _ in Self.c(random(T.self)) } }
        return (0..<n).map { i in (0..<n).map { j in
            (0..<n).reduce(C128(i == j ? 1 : 0, 0)) { $0 + Self.mul(b[i][$1], Self.conj(b[j][$1])) / Double(n) }
        } }
    }

    static func tolerance<T: LinearAlgebraScalar>(_: T.Type) -> Double { T.Real.self == Float.self ? 2e-4 : 1e-11 }

    // MARK: tests

    func testLibraryIsFound() throws {
        let library = try BLASLibrary.shared()
        XCTAssert([32, 64].contains(library.integerBits))
        XCTAssertFalse(library.path.isEmpty)
    }

    func testGemmEveryOpAndLayout() throws {
        try gemm(Float.self); try gemm(Double.self); try gemm(C64.self); try gemm(C128.self)
    }

    func gemm<T: LinearAlgebraScalar>(_: T.Type) throws {
        let (m, k, n) = (5, 4, 3)
        for opA in [MatrixOp.none, .transpose, .adjoint] {
            for opB in [MatrixOp.none, .transpose, .adjoint] {
                for layout in Layout.allCases {
                    let a = opA == .none ? Matrix(m, k, layout) { _, _ in self.random(T.self) }
                                         : Matrix(k, m, layout) { _, _ in self.random(T.self) }
                    let b = opB == .none ? Matrix(k, n, Layout.allCases[(layout.index + 1) % 4]) { _, _ in self.random(T.self) }
                                         : Matrix(n, k, Layout.allCases[(layout.index + 1) % 4]) { _, _ in self.random(T.self) }
                    let c = Matrix(m, n, Layout.allCases[(layout.index + 2) % 4]) { _, _ in self.random(T.self) }
                    let alpha = random(T.self), beta = random(T.self)
                    let (da, db, dc) = (Self.dense(a), Self.dense(b), Self.dense(c))
                    try LAPACK.gemm(opA, a.view, opB, b.view, c.view, alpha: alpha, beta: beta)
                    let expected = (0..<m).map { i in (0..<n).map { j in
                        (0..<k).reduce(Self.mul(Self.c(beta), dc[i][j])) {
                            $0 + Self.mul(Self.c(alpha), Self.mul(Self.apply(opA, da, i, $1), Self.apply(opB, db, $1, j)))
                        }
                    } }
                    XCTAssertLessThan(Self.maxDifference(Self.dense(c), expected), Self.tolerance(T.self), "\(T.self) \(opA) \(opB) \(layout)")
                }
            }
        }
        let a = Matrix(2, 3, .columnMajor) { _, _ in T.one }
        XCTAssertThrowsError(try LAPACK.gemm(.none, a.view, .none, a.view, a.view)) { XCTAssert(Self.isShape($0)) }
    }

    func testSyrk() throws {
        try syrk(Float.self); try syrk(Double.self); try syrk(C64.self); try syrk(C128.self)
    }

    func syrk<T: LinearAlgebraScalar>(_: T.Type) throws {
        let (n, k) = (4, 6)
        for transposeA in [false, true] {
            for lower in [false, true] {
                for layout in Layout.allCases {
                    let a = transposeA ? Matrix(k, n, layout) { _, _ in self.random(T.self) } : Matrix(n, k, layout) { _, _ in self.random(T.self) }
                    let c = Matrix(n, n, Layout.allCases[(layout.index + 1) % 4]) { _, _ in self.random(T.self) }
                    let (da, dc) = (Self.dense(a), Self.dense(c))
                    try LAPACK.syrk(a.view, transposeA: transposeA, c.view, lower: lower, alpha: 0.5, beta: 2)
                    let op: MatrixOp = transposeA ? .adjoint : .none
                    for i in 0..<n {
                        for j in 0..<n {
                            let inTriangle = lower ? i >= j : i <= j
                            var e = inTriangle ? dc[i][j] * 2 : dc[i][j]
                            if inTriangle {
                                for r in 0..<k { e += 0.5 * Self.mul(Self.apply(op, da, i, r), Self.conj(Self.apply(op, da, j, r))) }
                                if T.isComplex && i == j { e.y = 0 }   // herk keeps the diagonal real
                            }
                            XCTAssertLessThan(((Self.c(c[i, j]) - e) * (Self.c(c[i, j]) - e)).sum().squareRoot(),
                                              Self.tolerance(T.self) * 10, "\(T.self) \(transposeA) \(lower) \(layout) \(i) \(j)")
                        }
                    }
                }
            }
        }
    }

    func testTrsmEverySideOpAndLayout() throws {
        try trsm(Float.self); try trsm(Double.self); try trsm(C64.self); try trsm(C128.self)
    }

    func trsm<T: LinearAlgebraScalar>(_: T.Type) throws {
        let (m, n) = (4, 3)
        for side in [LAPACK.Side.left, .right] {
            for lower in [true, false] {
                for op in [MatrixOp.none, .transpose, .adjoint] {
                    for unit in [false, true] {
                        for layout in Layout.allCases {
                            let order = side == .left ? m : n
                            let a = Matrix(order, order, layout) { i, j in
                                i == j ? Self.value(C128(3 + Double(i), 0.5), T.self)
                                       : ((lower ? i > j : i < j) ? self.random(T.self) : Self.value(C128(99, 0), T.self))
                            }
                            let b = Matrix(m, n, Layout.allCases[(layout.index + 1) % 4]) { _, _ in self.random(T.self) }
                            let (da, db) = (Self.dense(a), Self.dense(b))
                            let alpha = random(T.self)
                            try LAPACK.trsm(side: side, lower: lower, op, unitDiagonal: unit, alpha: alpha, a.view, b.view)
                            // op(A) with the unread triangle and (for unit) the diagonal replaced.
                            let t = (0..<order).map { i in (0..<order).map { j -> C128 in
                                let v = Self.apply(op, da, i, j)
                                let (r, s) = op == .none ? (i, j) : (j, i)
                                if r == s { return unit ? C128(1, 0) : v }
                                return (lower ? r > s : r < s) ? v : C128()
                            } }
                            let x = Self.dense(b)
                            let lhs = side == .left ? Self.product(t, x) : Self.product(x, t)
                            let rhs = db.map { $0.map { Self.mul(Self.c(alpha), $0) } }
                            XCTAssertLessThan(Self.maxDifference(lhs, rhs), Self.tolerance(T.self) * 10,
                                              "\(T.self) \(side) \(lower) \(op) \(unit) \(layout)")
                        }
                    }
                }
            }
        }
    }

    func testTrsvNegativeAndPositiveStrides() throws {
        try trsv(Double.self); try trsv(C64.self)
    }

    func trsv<T: LinearAlgebraScalar>(_: T.Type) throws {
        let n = 5
        for op in [MatrixOp.none, .transpose, .adjoint] {
            for stride in [1, 3, -2] {
                for layout in Layout.allCases {
                    let a = Matrix(n, n, layout) { i, j in
                        i == j ? Self.value(C128(2 + Double(i), 0), T.self) : (i > j ? self.random(T.self) : .zero)
                    }
                    let storage = UnsafeMutablePointer<T>.allocate(capacity: n * abs(stride))
                    defer { storage.deallocate() }
                    let x = StridedVector(base: stride < 0 ? storage + (n - 1) * -stride : storage, count: n, stride: stride)
                    let b = (0..<n).map { _ in random(T.self) }
                    for i in 0..<n { x[i] = b[i] }
                    try LAPACK.trsv(lower: true, op, a.view, x)
                    let da = Self.dense(a)
                    for i in 0..<n {
                        let row = (0..<n).reduce(C128()) { $0 + Self.mul(Self.apply(op, da, i, $1), Self.c(x[$1])) }
                        XCTAssertLessThan(((row - Self.c(b[i])) * (row - Self.c(b[i]))).sum().squareRoot(), Self.tolerance(T.self) * 10)
                    }
                }
            }
        }
    }

    func testCholeskyInverseAndProduct() throws {
        try cholesky(Float.self); try cholesky(Double.self); try cholesky(C64.self); try cholesky(C128.self)
    }

    func cholesky<T: LinearAlgebraScalar>(_: T.Type) throws {
        let n = 6, tol = Self.tolerance(T.self) * 10
        for lower in [true, false] {
            for layout in Layout.allCases {
                let x = hpd(n, T.self)
                let a = Matrix(n, n, layout) { i, j in Self.value(x[i][j], T.self) }
                try LAPACK.potrf(a.view, lower: lower)
                // The factor F (lower L or upper U) with zeros elsewhere; L Lᴴ or Uᴴ U = X.
                let f = (0..<n).map { i in (0..<n).map { j in (lower ? i >= j : i <= j) ? Self.c(a[i, j]) : C128() } }
                let fh = (0..<n).map { i in (0..<n).map { j in Self.conj(f[j][i]) } }
                XCTAssertLessThan(Self.maxDifference(lower ? Self.product(f, fh) : Self.product(fh, f), x), tol, "\(T.self) potrf \(lower) \(layout)")
                // trtri: F⁻¹ F = I; lauum of F⁻¹ (lower: F⁻ᴴ F⁻¹ = X⁻¹): X X⁻¹ = I.
                try LAPACK.trtri(a.view, lower: lower)
                let g = (0..<n).map { i in (0..<n).map { j in (lower ? i >= j : i <= j) ? Self.c(a[i, j]) : C128() } }
                let identity = (0..<n).map { i in (0..<n).map { j in C128(i == j ? 1 : 0, 0) } }
                XCTAssertLessThan(Self.maxDifference(Self.product(g, f), identity), tol, "\(T.self) trtri \(lower) \(layout)")
                try LAPACK.lauum(a.view, lower: lower)
                let inverse = (0..<n).map { i in (0..<n).map { j -> C128 in
                    (lower ? i >= j : i <= j) ? Self.c(a[i, j]) : Self.conj(Self.c(a[j, i]))
                } }
                // lower: Lᴴ L = X⁻¹ for L = F⁻¹; upper: U Uᴴ = X⁻¹ for U = F⁻¹.
                XCTAssertLessThan(Self.maxDifference(Self.product(x, inverse), identity), tol * 10, "\(T.self) lauum \(lower) \(layout)")
            }
        }
        let indefinite = Matrix(2, 2, .rowMajor) { i, j in Self.value(C128(i == j ? 1 : 2, 0), T.self) }
        XCTAssertThrowsError(try LAPACK.potrf(indefinite.view)) { XCTAssert(Self.isNumerical($0)) }
        let singular = Matrix(2, 2, .columnMajor) { i, j in i == 1 && j == 1 ? .zero : T.one }
        XCTAssertThrowsError(try LAPACK.trtri(singular.view)) { XCTAssert(Self.isNumerical($0)) }
        let wide = Matrix(2, 3, .columnMajor) { _, _ in T.one }
        XCTAssertThrowsError(try LAPACK.potrf(wide.view)) { XCTAssert(Self.isShape($0)) }
    }

    func testGesv() throws {
        try gesv(Double.self); try gesv(C64.self)
    }

    func gesv<T: LinearAlgebraScalar>(_: T.Type) throws {
        let (n, k) = (5, 2)
        for layout in Layout.allCases {
            let a = Matrix(n, n, layout) { i, j in i == j ? Self.value(C128(4, 0), T.self) : self.random(T.self) }
            let b = Matrix(n, k, Layout.allCases[(layout.index + 3) % 4]) { _, _ in self.random(T.self) }
            let (da, db) = (Self.dense(a), Self.dense(b))
            try LAPACK.gesv(a.view, b.view)
            XCTAssertLessThan(Self.maxDifference(Self.product(da, Self.dense(b)), db), Self.tolerance(T.self) * 10, "\(T.self) \(layout)")
        }
        let singular = Matrix(2, 2, .columnMajor) { _, _ in T.one }
        let rhs = Matrix(2, 1, .columnMajor) { _, _ in T.one }
        XCTAssertThrowsError(try LAPACK.gesv(singular.view, rhs.view)) { XCTAssert(Self.isNumerical($0)) }
    }

    func testEighEveryTypeAndLayout() throws {
        try eigh(Float.self); try eigh(Double.self); try eigh(C64.self); try eigh(C128.self)
    }

    func eigh<T: LinearAlgebraScalar>(_: T.Type) throws {
        let n = 7, tol = Self.tolerance(T.self) * 100
        let workspace = try EigenWorkspace<T>(n: n, vectors: true)
        for lower in [true, false] {
            for layout in Layout.allCases {
                // X = I + B Bᴴ with B n × 3: the eigenvalue 1 is repeated n − 3 times.
                let b = (0..<n).map { _ in (0..<3).map { _ in Self.c(random(T.self)) } }
                let x = (0..<n).map { i in (0..<n).map { j in
                    (0..<3).reduce(C128(i == j ? 1 : 0, 0)) { $0 + Self.mul(b[i][$1], Self.conj(b[j][$1])) }
                } }
                let a = Matrix(n, n, layout) { i, j in Self.value(x[i][j], T.self) }
                let w = UnsafeMutablePointer<T.Real>.allocate(capacity: 2 * n)
                defer { w.deallocate() }
                let values = StridedVector(base: w, count: n, stride: 2)
                try LAPACK.eigh(a.view, values: values, vectors: true, lower: lower, workspace: workspace)
                let v = Self.dense(a)
                for k in 0..<n {
                    if k > 0 { XCTAssertLessThanOrEqual(values[k - 1], values[k]) }
                    for i in 0..<n {   // (X v_k)_i = λ_k v_ik
                        let xv = (0..<n).reduce(C128()) { $0 + Self.mul(x[i][$1], v[$1][k]) }
                        XCTAssertLessThan(((xv - values[k].asDouble * v[i][k]) * (xv - values[k].asDouble * v[i][k])).sum().squareRoot(), tol,
                                          "\(T.self) \(lower) \(layout)")
                    }
                    for l in 0..<n {   // orthonormal
                        let d = (0..<n).reduce(C128()) { $0 + Self.mul(Self.conj(v[$1][k]), v[$1][l]) }
                        XCTAssertLessThan(((d - C128(k == l ? 1 : 0, 0)) * (d - C128(k == l ? 1 : 0, 0))).sum().squareRoot(), tol)
                    }
                }
                XCTAssertEqual(values[0].asDouble, 1, accuracy: tol)   // the repeated eigenvalue
                XCTAssertEqual(values[n - 4].asDouble, 1, accuracy: tol)
                // Values only: the same values.
                let again = Matrix(n, n, layout) { i, j in Self.value(x[i][j], T.self) }
                let w2 = UnsafeMutablePointer<T.Real>.allocate(capacity: n)
                defer { w2.deallocate() }
                try LAPACK.eigh(again.view, values: StridedVector(base: w2, count: n, stride: 1), vectors: false, lower: lower)
                for k in 0..<n { XCTAssertEqual(w2[k].asDouble, values[k].asDouble, accuracy: tol) }
            }
        }
        let a = Matrix(3, 3, .columnMajor) { _, _ in T.one }
        let w = UnsafeMutablePointer<T.Real>.allocate(capacity: 3)
        defer { w.deallocate() }
        XCTAssertThrowsError(try LAPACK.eigh(a.view, values: StridedVector(base: w, count: 2, stride: 1))) { XCTAssert(Self.isShape($0)) }
        XCTAssertThrowsError(try LAPACK.eigh(a.view, values: StridedVector(base: w, count: 3, stride: 1), workspace: workspace))
    }

    func testThreadLeaseRestoresTheLibrarySetting() throws {
        let library = try BLASLibrary.shared()
        let before = library.threadCount
        let inside = library.withThreads(1) { library.withThreads(2) { library.threadCount } }
        XCTAssertEqual(inside, 1)   // the outer lease's count holds for nested calls
        XCTAssertEqual(library.threadCount, before)
    }

    static func isShape(_ error: Error) -> Bool { if case MFError.shape = error { return true }; return false }
    static func isNumerical(_ error: Error) -> Bool { if case MFError.numerical = error { return true }; return false }
}

extension LinearAlgebraTests.Layout {
    var index: Int { Self.allCases.firstIndex(of: self)! }
}

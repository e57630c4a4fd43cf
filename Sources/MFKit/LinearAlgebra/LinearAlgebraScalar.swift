/// The element types of MFKit's BLAS/LAPACK layer: Float, Double (real) and SIMD2<Float>,
/// SIMD2<Double> (complex64 and complex128 as (re, im) pairs, the layout of C's and NumPy's
/// complex numbers). Each picks its routine by BLAS's type letter: s, d, c, z.
public protocol LinearAlgebraScalar: Sendable {
    /// The real type of one component (self for real types).
    associatedtype Real: RealScalar
    /// "s", "d", "c" or "z".
    static var blasLetter: String { get }
    static var isComplex: Bool { get }
    static var zero: Self { get }
    static var one: Self { get }
    /// The value `x` (imaginary part 0).
    init(real x: Real)
    /// The complex conjugate (the value itself for real types).
    var conjugate: Self { get }
}

extension Float: LinearAlgebraScalar {
    public typealias Real = Float
    public static var blasLetter: String { "s" }
    public static var isComplex: Bool { false }
    public static var one: Float { 1 }
    @inline(__always) public init(real x: Float) { self = x }
    @inline(__always) public var conjugate: Float { self }
}

extension Double: LinearAlgebraScalar {
    public typealias Real = Double
    public static var blasLetter: String { "d" }
    public static var isComplex: Bool { false }
    public static var one: Double { 1 }
    @inline(__always) public init(real x: Double) { self = x }
    @inline(__always) public var conjugate: Double { self }
}

extension SIMD2: LinearAlgebraScalar where Scalar: RealScalar {
    public typealias Real = Scalar
    public static var blasLetter: String { Scalar.self == Float.self ? "c" : "z" }
    public static var isComplex: Bool { true }
    public static var one: SIMD2<Scalar> { SIMD2(1, 0) }
    @inline(__always) public init(real x: Scalar) { self.init(x, 0) }
    @inline(__always) public var conjugate: SIMD2<Scalar> { SIMD2(x, -y) }
}

/// Owning work space of `count` elements of a LinearAlgebraScalar (a WorkBuffer of their bytes:
/// every such type is a plain pair or single of floats). Throws MFError.outOfMemory.
final class ScalarBuffer<T: LinearAlgebraScalar>: @unchecked Sendable {
    private let bytes: WorkBuffer<UInt8>
    let pointer: UnsafeMutablePointer<T>
    let count: Int

    init(count: Int, _ what: @autoclosure () -> String) throws {
        bytes = try WorkBuffer<UInt8>(count: try Check.product(Swift.max(count, 1), MemoryLayout<T>.stride, what()), what())
        pointer = UnsafeMutableRawPointer(bytes.pointer).bindMemory(to: T.self, capacity: Swift.max(count, 1))
        self.count = count
    }

    @inline(__always) subscript(i: Int) -> T {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

/// The one scalar protocol of MFKit's real kernels: Float and Double. Kernels are generic over
/// it and specialized at compile time (never dispatched per element); complex arrays are
/// handled as interleaved pairs of their real component type.
public protocol RealScalar: BinaryFloatingPoint, SIMDScalar, Sendable, BitwiseCopyable where RawSignificand: FixedWidthInteger {
    /// The element type of arrays of this scalar.
    static var dtype: DType { get }
    /// The complex element type whose components are this scalar.
    static var complexDType: DType { get }
    /// The value as a Double (exact).
    var asDouble: Double { get }
    /// dst[j] = Self(base + src[j]) for j < n (dst contiguous); with `streaming`, non-temporal
    /// stores where the platform has them (see NonTemporalStores.swift).
    static func storeSums(_ dst: UnsafeMutablePointer<Self>, _ base: Double, _ src: UnsafePointer<Double>,
                          _ n: Int, streaming: Bool)
    /// dst[j] = src[j] for j < n (both contiguous) with non-temporal stores where available.
    static func streamCopy(_ dst: UnsafeMutablePointer<Self>, _ src: UnsafePointer<Self>, _ n: Int)
}

extension Float: RealScalar {
    public static var dtype: DType { .float32 }
    public static var complexDType: DType { .complex64 }
    @inline(__always) public var asDouble: Double { Double(self) }
}

extension Double: RealScalar {
    public static var dtype: DType { .float64 }
    public static var complexDType: DType { .complex128 }
    @inline(__always) public var asDouble: Double { self }
}

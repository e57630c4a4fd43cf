/// The one scalar protocol of MFKit's real kernels: Float and Double. Kernels are generic over
/// it and specialized at compile time (never dispatched per element); complex arrays are
/// handled as interleaved pairs of their real component type.
public protocol RealScalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable, BitwiseCopyable
    where RawSignificand: FixedWidthInteger {
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
    /// The register vector of 32 bytes (SIMD8<Float>, SIMD4<Double>): four accumulators and an
    /// operand fit the 16 vector registers of x86-64; also the lanes of batched kernels.
    associatedtype Vector: SIMDLanes & BitwiseCopyable where Vector.Scalar == Self
    /// Half a Vector (one 128-bit register).
    associatedtype Half: SIMD where Half.Scalar == Self
    /// The complex number at `src` conjugated into `dst` (one load, a sign flip, one store).
    static func storeConjugate(_ dst: UnsafeMutablePointer<Self>, _ src: UnsafePointer<Self>)
}

extension Float: RealScalar {
    public typealias Vector = SIMD8<Float>
    public typealias Half = SIMD4<Float>
    @inline(__always)
    public static func storeConjugate(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>) {
        let bits = UnsafeRawPointer(src).loadUnaligned(as: UInt64.self) ^ (1 << 63)
        UnsafeMutableRawPointer(dst).storeBytes(of: bits, as: UInt64.self)
    }
    public static var dtype: DType { .float32 }
    public static var complexDType: DType { .complex64 }
    @inline(__always) public var asDouble: Double { Double(self) }
}

extension Double: RealScalar {
    public typealias Vector = SIMD4<Double>
    public typealias Half = SIMD2<Double>
    @inline(__always)
    public static func storeConjugate(_ dst: UnsafeMutablePointer<Double>, _ src: UnsafePointer<Double>) {
        let bits = UnsafeRawPointer(src).loadUnaligned(as: SIMD2<UInt64>.self) ^ SIMD2(0, 1 << 63)
        UnsafeMutableRawPointer(dst).storeBytes(of: bits, as: SIMD2<UInt64>.self)
    }
    public static var dtype: DType { .float64 }
    public static var complexDType: DType { .complex128 }
    @inline(__always) public var asDouble: Double { self }
}

/// Lane operations of a register vector that Swift's generic SIMD code would run one lane at a
/// time (masks, selection, absolute value, maximum): written here for the concrete vectors, so
/// generic kernels over RealScalar get single instructions.
public protocol SIMDLanes: SIMD where Scalar: BinaryFloatingPoint {
    /// b where x < y, else a (lane by lane).
    static func choose(_ a: Self, _ b: Self, where x: Self, isLessThan y: Self) -> Self
    /// |v| lane by lane.
    var lanesMagnitude: Self { get }
    /// max(v, o) lane by lane.
    func lanesMax(_ o: Self) -> Self
    /// True when some lane is > 0.
    var anyPositive: Bool { get }
}

extension SIMD4: SIMDLanes where Scalar == Double {
    @inline(__always)
    public static func choose(_ a: Self, _ b: Self, where x: Self, isLessThan y: Self) -> Self {
        let m = (x .< y)._storage
        let r = (unsafeBitCast(a, to: SIMD4<Int64>.self) & ~m) | (unsafeBitCast(b, to: SIMD4<Int64>.self) & m)
        return unsafeBitCast(r, to: Self.self)
    }
    @inline(__always) public var lanesMagnitude: Self {
        unsafeBitCast(unsafeBitCast(self, to: SIMD4<Int64>.self) & SIMD4<Int64>(repeating: .max), to: Self.self)
    }
    @inline(__always) public func lanesMax(_ o: Self) -> Self { Self.choose(self, o, where: self, isLessThan: o) }
    @inline(__always) public var anyPositive: Bool { any(self .> 0) }
}

extension SIMD8: SIMDLanes where Scalar == Float {
    @inline(__always)
    public static func choose(_ a: Self, _ b: Self, where x: Self, isLessThan y: Self) -> Self {
        let m = (x .< y)._storage
        let r = (unsafeBitCast(a, to: SIMD8<Int32>.self) & ~m) | (unsafeBitCast(b, to: SIMD8<Int32>.self) & m)
        return unsafeBitCast(r, to: Self.self)
    }
    @inline(__always) public var lanesMagnitude: Self {
        unsafeBitCast(unsafeBitCast(self, to: SIMD8<Int32>.self) & SIMD8<Int32>(repeating: .max), to: Self.self)
    }
    @inline(__always) public func lanesMax(_ o: Self) -> Self { Self.choose(self, o, where: self, isLessThan: o) }
    @inline(__always) public var anyPositive: Bool { any(self .> 0) }
}

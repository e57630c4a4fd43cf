/// Element types that cross MFKit's boundary. Raw values are the C ABI's dtype codes.
public enum DType: Int32, Sendable, CustomStringConvertible {
    case float32 = 1
    case float64 = 2
    case complex64 = 3
    case complex128 = 4

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float32: return 4
        case .float64, .complex64: return 8
        case .complex128: return 16
        }
    }

    /// True for float32 and float64.
    public var isReal: Bool { self == .float32 || self == .float64 }

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .float64: return "float64"
        case .complex64: return "complex64"
        case .complex128: return "complex128"
        }
    }
}

/// The real element types MFKit's real kernels are specialized for (Float, Double).
public protocol RealScalar: BinaryFloatingPoint where Self.RawSignificand: FixedWidthInteger {
    static var dtype: DType { get }
}

extension Float: RealScalar { public static var dtype: DType { .float32 } }
extension Double: RealScalar { public static var dtype: DType { .float64 } }

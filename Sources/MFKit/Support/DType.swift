/// Element types MFKit computes with. The C ABI maps its own dtype codes onto these
/// (Sources/MFCAPI); the core knows only the types.
public enum DType: Sendable, CustomStringConvertible, CaseIterable {
    case float32, float64, complex64, complex128

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

    /// True for complex64 and complex128.
    public var isComplex: Bool { !isReal }

    /// The real type of one component: float32 for complex64, float64 for complex128.
    public var realComponent: DType {
        switch self {
        case .float32, .complex64: return .float32
        case .float64, .complex128: return .float64
        }
    }

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .float64: return "float64"
        case .complex64: return "complex64"
        case .complex128: return "complex128"
        }
    }
}

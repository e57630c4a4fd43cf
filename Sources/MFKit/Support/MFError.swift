/// The one error type of MFKit. Each case is a kind of failure; the message says what was
/// wrong in the caller's terms (argument names as the user wrote them), without naming the
/// function: the C layer prefixes the C function's name, the Python layer its own.
public enum MFError: Error, Equatable, CustomStringConvertible {
    /// An argument has a value outside its domain (n <= 0, NaN, a null pointer, a freed handle).
    case invalidArgument(String)
    /// Array shapes do not fit together.
    case shape(String)
    /// An array has an element type the operation does not take.
    case dtype(String)
    /// The computation failed numerically (a singular system, a non-finite result).
    case numerical(String)
    /// A callback asked the work to stop.
    case cancelled(String)
    /// Memory for the result or the work space could not be had.
    case outOfMemory(String)
    /// A run-time dependency (the BLAS/LAPACK library) could not be loaded.
    case unavailable(String)

    public var message: String {
        switch self {
        case .invalidArgument(let m), .shape(let m), .dtype(let m), .numerical(let m),
             .cancelled(let m), .outOfMemory(let m), .unavailable(let m):
            return m
        }
    }

    public var description: String { message }
}

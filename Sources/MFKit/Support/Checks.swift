/// The check vocabulary for scalar arguments, shared by every public entry of the core. Each
/// throws the MFError a C or Python caller sees; messages name the argument as the user wrote it.

/// Throws `.invalidArgument(message)` unless `condition` holds.
@inlinable
public func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw MFError.invalidArgument(message()) }
}

public enum Check {
    /// `value` ≥ 1.
    public static func positive(_ value: Int, _ name: String) throws {
        try require(value >= 1, "\(name) must be positive, got \(value)")
    }

    /// `value` ≥ 0.
    public static func nonNegative(_ value: Int, _ name: String) throws {
        try require(value >= 0, "\(name) must be non-negative, got \(value)")
    }

    /// A finite number (not NaN, not ±inf).
    public static func finite(_ value: Double, _ name: String) throws {
        try require(value.isFinite, "\(name) must be finite, got \(value)")
    }

    /// Every entry finite.
    public static func finite(_ values: [Double], _ name: String) throws {
        try require(values.allSatisfy { $0.isFinite }, "\(name) must be finite (found NaN or infinity)")
    }

    /// At least one entry.
    public static func nonEmpty<C: Collection>(_ values: C, _ name: String) throws {
        try require(!values.isEmpty, "\(name) must have at least one entry")
    }

    /// The element count of an array shape: at most StridedArray.maxNDim axes, no negative
    /// length, at most StridedArray.maxCount elements (so sizes derived from it cannot overflow).
    @discardableResult
    public static func shape(_ shape: [Int], _ name: String) throws -> Int {
        guard shape.count <= StridedArray.maxNDim else {
            throw MFError.shape("\(name) has \(shape.count) dimensions; MFKit takes at most \(StridedArray.maxNDim)")
        }
        var count = 1
        for (axis, n) in shape.enumerated() {
            guard n >= 0 else { throw MFError.shape("\(name) has negative length \(n) on axis \(axis)") }
            let (c, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow, c <= StridedArray.maxCount else { throw MFError.shape("\(name) of shape \(shapeText(shape)) is too large") }
            count = c
        }
        return count
    }

    /// a · b, or MFError.outOfMemory naming `what` when the product overflows.
    public static func product(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow, a >= 0, b >= 0 else { throw MFError.outOfMemory("\(what()) is too large (\(a) × \(b))") }
        return p
    }
}

/// NumPy's way of writing a shape: (3,), (2, 3).
public func shapeText(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}

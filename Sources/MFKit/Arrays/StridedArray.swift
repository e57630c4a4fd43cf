/// A view of caller-owned memory: element type, shape and strides in bytes (NumPy's
/// convention; strides may be negative or zero). MFKit never owns or frees `data`.
public struct StridedArray {
    public var data: UnsafeMutableRawPointer?
    public var dtype: DType
    public var shape: [Int]
    /// Byte distance between neighbours along each axis.
    public var strides: [Int]

    public init(data: UnsafeMutableRawPointer?, dtype: DType, shape: [Int], strides: [Int]) {
        self.data = data
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
    }

    /// A C-ordered view of `count` contiguous elements at `data`.
    public init(data: UnsafeMutableRawPointer?, dtype: DType, shape: [Int]) {
        var strides = [Int](repeating: dtype.itemSize, count: shape.count)
        var step = dtype.itemSize
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = step
            step *= Swift.max(shape[axis], 1)
        }
        self.init(data: data, dtype: dtype, shape: shape, strides: strides)
    }

    public var ndim: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }

    /// The half-open byte range [lo, hi) that the view touches, or nil when it is empty.
    public var byteRange: (lo: Int, hi: Int)? {
        guard count > 0, let base = data else { return nil }
        var lo = Int(bitPattern: base), hi = lo
        for (n, s) in zip(shape, strides) where n > 1 {
            if s < 0 { lo += (n - 1) * s } else { hi += (n - 1) * s }
        }
        return (lo, hi + dtype.itemSize)
    }

    /// True when the two views share at least one byte range (a conservative test).
    public func overlaps(_ other: StridedArray) -> Bool {
        guard let a = byteRange, let b = other.byteRange else { return false }
        return a.lo < b.hi && b.lo < a.hi
    }

    /// True when both views address the same elements in the same order.
    public func isSameView(_ other: StridedArray) -> Bool {
        data == other.data && dtype == other.dtype && shape == other.shape
            && zip(zip(shape, strides), other.strides).allSatisfy { $0.0 <= 1 || $0.1 == $1 }
    }

    /// The view of index `i` along axis 0 (one row-slice of a stream).
    public func slice(_ i: Int) -> StridedArray {
        StridedArray(data: data.map { $0 + i * strides[0] }, dtype: dtype,
                     shape: Array(shape.dropFirst()), strides: Array(strides.dropFirst()))
    }

    /// Throws unless every stride is a whole number of elements (the kernels index by element).
    public func requireElementStrides(_ name: String) throws {
        for (n, s) in zip(shape, strides) where n > 1 && s % dtype.itemSize != 0 {
            throw MFError.invalidArgument("\(name): stride \(s) is not a multiple of the item size \(dtype.itemSize)")
        }
        if let p = data, Int(bitPattern: p) % Swift.min(dtype.itemSize, 8) != 0 {
            throw MFError.invalidArgument("\(name): data pointer is not aligned to its element type")
        }
    }

    /// Reads a float32 or float64 vector into [Double]; a parameter array of a constructor.
    public func doubles(_ name: String) throws -> [Double] {
        guard ndim == 1 else { throw MFError.shape("\(name) must be one-dimensional, got \(ndim) dimensions") }
        try requireElementStrides(name)
        let n = shape[0]
        guard n > 0 else { return [] }
        guard let base = data else { throw MFError.invalidArgument("\(name): data pointer is null") }
        switch dtype {
        case .float32:
            let s = strides[0] / 4, p = base.assumingMemoryBound(to: Float.self)
            return (0..<n).map { Double(p[$0 * s]) }
        case .float64:
            let s = strides[0] / 8, p = base.assumingMemoryBound(to: Double.self)
            return (0..<n).map { p[$0 * s] }
        default:
            throw MFError.dtype("\(name) must be float32 or float64, got \(dtype)")
        }
    }
}

/// A view of caller-owned memory: element type, shape and strides in bytes (NumPy's
/// convention; strides may be negative or zero). MFKit never owns or frees `data`.
///
/// This is the one array type of the core: every public function takes its arrays as
/// StridedArrays, validates them with the checks of `StridedArray+Checks.swift`, and reads or
/// writes them through `Lines` (elementwise walks) or the typed views of `StridedViews.swift`.
public struct StridedArray: @unchecked Sendable {
    public var data: UnsafeMutableRawPointer?
    public var dtype: DType
    public var shape: [Int]
    /// Byte distance between neighbours along each axis.
    public var strides: [Int]

    /// The largest number of dimensions a view may have (the C descriptor's MFKIT_MAX_NDIM).
    public static let maxNDim = 8
    /// The largest number of elements a view may have (checked before any size is used).
    public static let maxCount = 1 << 56

    public init(data: UnsafeMutableRawPointer?, dtype: DType, shape: [Int], strides: [Int]) {
        self.data = data
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
    }

    /// A C-ordered (row-major, contiguous) view of `shape` at `data`.
    public init(data: UnsafeMutableRawPointer?, dtype: DType, shape: [Int]) {
        var strides = [Int](repeating: dtype.itemSize, count: shape.count)
        var step = dtype.itemSize
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = step
            step = step &* Swift.max(shape[axis], 1)
        }
        self.init(data: data, dtype: dtype, shape: shape, strides: strides)
    }

    public var ndim: Int { shape.count }

    /// The number of elements (use after `requireValid`, which bounds it).
    public var count: Int { shape.reduce(1, &*) }

    /// The half-open byte range [lo, hi) that the view touches, or nil when it is empty.
    public var byteRange: (lo: Int, hi: Int)? {
        guard count > 0, let base = data else { return nil }
        var lo = Int(bitPattern: base), hi = lo
        for (n, s) in zip(shape, strides) where n > 1 {
            if s < 0 { lo &+= (n &- 1) &* s } else { hi &+= (n &- 1) &* s }
        }
        return (lo, hi &+ dtype.itemSize)
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

    /// The view without its first axis' extent: the layout of one slice (data unchanged).
    public var sliceLayout: StridedArray {
        StridedArray(data: data, dtype: dtype, shape: Array(shape.dropFirst()), strides: Array(strides.dropFirst()))
    }

    /// The base pointer typed as T (the caller has checked that T matches the dtype).
    @inline(__always)
    public func pointer<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        data.unsafelyUnwrapped.assumingMemoryBound(to: T.self)
    }

    /// Strides in elements of the dtype (valid after `requireValid`).
    public var elementStrides: [Int] { strides.map { $0 / dtype.itemSize } }
}

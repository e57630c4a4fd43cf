/// Typed views of a checked StridedArray, and conversions between arrays of any strides and
/// contiguous Doubles. Views index by element strides; they do not own memory.

/// A strided 1-D view: element i lives at base + i * stride.
public struct StridedVector<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public let count: Int
    public let stride: Int

    public init(base: UnsafeMutablePointer<T>, count: Int, stride: Int) {
        self.base = base; self.count = count; self.stride = stride
    }

    @inline(__always) public subscript(i: Int) -> T {
        get { base[i &* stride] }
        nonmutating set { base[i &* stride] = newValue }
    }
}

/// A strided 2-D view: element (i, j) lives at base + i * rowStride + j * colStride.
public struct StridedMatrix<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public let rows: Int
    public let cols: Int
    public let rowStride: Int
    public let colStride: Int

    public init(base: UnsafeMutablePointer<T>, rows: Int, cols: Int, rowStride: Int, colStride: Int) {
        self.base = base; self.rows = rows; self.cols = cols
        self.rowStride = rowStride; self.colStride = colStride
    }

    @inline(__always) public subscript(i: Int, j: Int) -> T {
        get { base[i &* rowStride &+ j &* colStride] }
        nonmutating set { base[i &* rowStride &+ j &* colStride] = newValue }
    }

    /// Row i as a vector.
    @inline(__always) public func row(_ i: Int) -> StridedVector<T> {
        StridedVector(base: base + i &* rowStride, count: cols, stride: colStride)
    }

    /// Column j as a vector.
    @inline(__always) public func column(_ j: Int) -> StridedVector<T> {
        StridedVector(base: base + j &* colStride, count: rows, stride: rowStride)
    }

    /// The view of the transpose (strides swapped).
    public var transposed: StridedMatrix<T> {
        StridedMatrix(base: base, rows: cols, cols: rows, rowStride: colStride, colStride: rowStride)
    }
}

extension StridedArray {
    /// A 1-D view with elements of type T (a 0-D array is one element). Use after the checks;
    /// an empty array gives a view of count 0 whose base must not be read.
    public func vector<T>(_: T.Type) -> StridedVector<T> {
        let base = (data ?? UnsafeMutableRawPointer(bitPattern: 64)!).assumingMemoryBound(to: T.self)
        let size = MemoryLayout<T>.stride
        return StridedVector(base: base, count: count, stride: ndim == 0 ? 1 : strides[0] / size)
    }

    /// A 2-D view with elements of type T. Use after the checks (ndim 2).
    public func matrix<T>(_: T.Type) -> StridedMatrix<T> {
        let base = (data ?? UnsafeMutableRawPointer(bitPattern: 64)!).assumingMemoryBound(to: T.self)
        let size = MemoryLayout<T>.stride
        return StridedMatrix(base: base, rows: shape[0], cols: shape[1],
                             rowStride: strides[0] / size, colStride: strides[1] / size)
    }

    /// The elements of a real (float32 or float64) array as Doubles in C order, for parameter
    /// arrays that constructors copy. Checks the array first (`name` in messages) and the
    /// memory of the copy (a broadcast view of huge logical size is MFError.outOfMemory, never
    /// a trap). Time and memory O(count).
    public func readDoubles(_ name: String) throws -> [Double] {
        try requireInput(name)
        let n = count
        try Memory.requireAllocatable(n, bytesPerElement: 8, "a copy of \(name)")
        return [Double](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 { copyElements(into: buffer.baseAddress!) }
            initialized = n
        }
    }

    /// As `readDoubles`, for a 1-D array.
    public func readVector(_ name: String) throws -> [Double] {
        try requireNDim(name, 1)
        return try readDoubles(name)
    }

    /// The interleaved (re, im) Doubles of a complex array in C order (2 count values).
    public func readComplexDoubles(_ name: String) throws -> [Double] {
        try requireInput(name, dtypes: [.complex64, .complex128])
        let n = try Check.product(count, 2, "a copy of \(name)")
        try Memory.requireAllocatable(n, bytesPerElement: 8, "a copy of \(name)")
        var out = [Double](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { dst in
            var k = 0
            let lines = Lines(self)
            if dtype == .complex64 {
                let p = pointer(SIMD2<Float>.self)
                lines.forEachElement { o, _ in let v = p[o]; dst[k] = Double(v.x); dst[k + 1] = Double(v.y); k += 2 }
            } else {
                let p = pointer(SIMD2<Double>.self)
                lines.forEachElement { o, _ in let v = p[o]; dst[k] = v.x; dst[k + 1] = v.y; k += 2 }
            }
        }
        return out
    }

    /// Copies the elements of a real array, in C order, into `dst` as Doubles. O(count).
    public func copyElements(into dst: UnsafeMutablePointer<Double>) {
        var k = 0
        let lines = Lines(self)
        switch dtype {
        case .float32:
            let p = pointer(Float.self)
            lines.forEachElement { o, _ in dst[k] = Double(p[o]); k &+= 1 }
        case .float64:
            let p = pointer(Double.self)
            lines.forEachElement { o, _ in dst[k] = p[o]; k &+= 1 }
        default:
            preconditionFailure("copyElements needs a real array")
        }
    }

    /// Writes `values` (C order, count of them) into a real array of any strides, rounding to
    /// float32 where needed. The caller has checked the array as an output. O(count).
    public func writeElements(_ values: UnsafePointer<Double>) {
        var k = 0
        let lines = Lines(self)
        switch dtype {
        case .float32:
            let p = pointer(Float.self)
            lines.forEachElement { o, _ in p[o] = Float(values[k]); k &+= 1 }
        case .float64:
            let p = pointer(Double.self)
            lines.forEachElement { o, _ in p[o] = values[k]; k &+= 1 }
        default:
            preconditionFailure("writeElements needs a real array")
        }
    }

    /// Writes interleaved (re, im) `values` (C order, 2 count of them) into a complex array of
    /// any strides. The caller has checked the array as an output. O(count).
    public func writeComplexElements(_ values: UnsafePointer<Double>) {
        var k = 0
        let lines = Lines(self)
        if dtype == .complex64 {
            let p = pointer(SIMD2<Float>.self)
            lines.forEachElement { o, _ in p[o] = SIMD2(Float(values[k]), Float(values[k + 1])); k &+= 2 }
        } else {
            let p = pointer(SIMD2<Double>.self)
            lines.forEachElement { o, _ in p[o] = SIMD2(values[k], values[k + 1]); k &+= 2 }
        }
    }
}

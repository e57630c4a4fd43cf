/// A read-only lens on a checked 2-D real StridedArray (float32 or float64) whose values are
/// read as Doubles, for code that reads matrices of either precision row by row into float64
/// work space (the sensitivity functions read C and X = Cᵀ C through it, in any memory order,
/// without a copy). Strides are cached in elements. Kernels generic over the element type use
/// `StridedMatrix<T>` instead.
public struct RealMatrixView: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    let base: UnsafeRawPointer?
    let isDouble: Bool
    /// Element strides between rows and between columns.
    let rs: Int, cs: Int

    /// A view of a 2-D float32/float64 array already checked (`requireInput(ndim: 2)`). O(1).
    public init(_ a: StridedArray) {
        rows = a.shape[0]; cols = a.shape[1]
        base = rows > 0 && cols > 0 ? UnsafeRawPointer(a.data) : nil
        isDouble = a.dtype == .float64
        rs = a.strides[0] / a.dtype.itemSize
        cs = a.strides[1] / a.dtype.itemSize
    }

    /// Element (i, j).
    @inline(__always)
    public subscript(i: Int, j: Int) -> Double {
        let k = i * rs + j * cs
        return isDouble ? base.unsafelyUnwrapped.assumingMemoryBound(to: Double.self)[k]
                        : Double(base.unsafelyUnwrapped.assumingMemoryBound(to: Float.self)[k])
    }

    /// Copies columns `range` of row i into dst (dst[0] is column range.lowerBound). O(len).
    @inline(__always)
    public func row(_ i: Int, _ range: Range<Int>, into dst: UnsafeMutablePointer<Double>) {
        let off = i * rs + range.lowerBound * cs, m = range.count
        if isDouble {
            let p = base.unsafelyUnwrapped.assumingMemoryBound(to: Double.self) + off
            if cs == 1 { dst.update(from: p, count: m) } else { for j in 0..<m { dst[j] = p[j * cs] } }
        } else {
            let p = base.unsafelyUnwrapped.assumingMemoryBound(to: Float.self) + off
            for j in 0..<m { dst[j] = Double(p[j * cs]) }
        }
    }

    /// A view of MFKit's own row-major float64 buffer.
    public init(contiguous p: UnsafePointer<Double>, rows: Int, cols: Int) {
        self.rows = rows; self.cols = cols
        base = UnsafeRawPointer(p); isDouble = true; rs = cols; cs = 1
    }
}

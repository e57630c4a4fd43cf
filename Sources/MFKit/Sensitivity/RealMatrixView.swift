/// A read-only view of a real (float32 or float64) matrix of caller memory, with element
/// strides; values are read as Double. The sensitivity functions take C (k × n) and
/// X = Cᵀ C (n × n) through it, so any memory order is read without a copy.
public struct RealMatrixView {
    public let rows: Int
    public let cols: Int
    let base: UnsafeRawPointer?
    let isDouble: Bool
    /// Element strides between rows and between columns.
    let rs: Int, cs: Int

    /// Checks that `a` is a valid 2-D float32/float64 array. `name` is the matrix' letter in
    /// messages ("C", "X"; jax_privacy calls an X that is not 2-D "not square"). Cost O(1).
    public init(_ a: StridedArray, _ name: String) throws {
        guard a.dtype.isReal else {
            throw MFError.dtype("Matrix \(name) must be float32 or float64, got \(a.dtype)")
        }
        guard a.ndim == 2 else {
            if name == "X" { throw MFError.shape("Matrix X should be square") }
            throw MFError.shape("Matrix \(name) has unexpected shape \(shapeText(a.shape))")
        }
        try a.requireValid(name)
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
}

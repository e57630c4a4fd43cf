/// The one way to walk arrays element by element: one or two views of one shape as a set of
/// 1-D lines. Axes of length 1 are dropped, axes that are contiguous in both views are merged,
/// and the last remaining axis is the line, so a contiguous array is one long line and any
/// NumPy view (transposed, reversed, stepped) is a few strided ones. Strides are in elements.
/// Cost O(ndim) to build; walking visits each element once.
public struct Lines: Sendable {
    /// Outer axes, outermost first: (length, stride in a, stride in b), in elements.
    public private(set) var outer: [(n: Int, a: Int, b: Int)] = []
    /// Length of one line and its element strides in a and b.
    public private(set) var length = 1
    public private(set) var strideA = 0
    public private(set) var strideB = 0

    /// The lines of `a` alone (its strides stand in for b's too).
    public init(_ a: StridedArray) { self.init(shape: a.shape, a: a.strides, b: a.strides, itemSize: a.dtype.itemSize) }

    /// The lines of `a` and `b`, views of one shape (dtypes may differ: b's strides are divided
    /// by its own item size).
    public init(_ a: StridedArray, _ b: StridedArray) {
        self.init(shape: a.shape, a: a.strides.map { $0 / a.dtype.itemSize },
                  b: b.strides.map { $0 / b.dtype.itemSize }, itemSize: 1)
    }

    /// `shape` is shared; `a` and `b` are byte strides, `itemSize` divides them.
    public init(shape: [Int], a: [Int], b: [Int], itemSize: Int) {
        var axes: [(n: Int, a: Int, b: Int)] = []
        for i in 0..<shape.count where shape[i] != 1 {
            axes.append((shape[i], a[i] / itemSize, b[i] / itemSize))
        }
        // Merge from the inside out: axis i folds into the inner one when both views step
        // over it exactly by the inner axis' extent.
        var merged: [(n: Int, a: Int, b: Int)] = []
        for axis in axes.reversed() {
            if let inner = merged.last, axis.a == inner.a &* inner.n, axis.b == inner.b &* inner.n {
                merged[merged.count - 1] = (inner.n &* axis.n, inner.a, inner.b)
            } else {
                merged.append(axis)
            }
        }
        merged.reverse()
        if let line = merged.last {
            length = line.n; strideA = line.a; strideB = line.b
            outer = Array(merged.dropLast())
        }
        if shape.contains(0) { length = 0; outer = [] }
    }

    /// Number of lines.
    public var lineCount: Int { outer.reduce(1) { $0 &* $1.n } }

    /// Element offsets in a and b of the start of line `index` (0 ..< lineCount).
    @inline(__always)
    public func lineOffsets(_ index: Int) -> (a: Int, b: Int) {
        var rest = index, oa = 0, ob = 0
        for axis in outer.reversed() {
            let k = rest % axis.n
            rest /= axis.n
            oa &+= k &* axis.a; ob &+= k &* axis.b
        }
        return (oa, ob)
    }

    /// Calls `body(offsetA, offsetB)` with the element offsets of every element, in C order.
    @inline(__always)
    public func forEachElement(_ body: (Int, Int) throws -> Void) rethrows {
        guard length > 0 else { return }
        for line in 0..<lineCount {
            let (oa, ob) = lineOffsets(line)
            for i in 0..<length { try body(oa &+ i &* strideA, ob &+ i &* strideB) }
        }
    }
}

/// Copies `n` elements from a strided source into contiguous `dst`.
@inline(__always)
public func gather<T>(_ dst: UnsafeMutablePointer<T>, _ src: UnsafePointer<T>, _ stride: Int, _ n: Int) {
    if stride == 1 { dst.update(from: src, count: n) } else { for i in 0..<n { dst[i] = src[i &* stride] } }
}

/// Copies `n` contiguous elements into a strided destination.
@inline(__always)
public func scatter<T>(_ dst: UnsafeMutablePointer<T>, _ stride: Int, _ src: UnsafePointer<T>, _ n: Int) {
    if stride == 1 { dst.update(from: src, count: n) } else { for i in 0..<n { dst[i &* stride] = src[i] } }
}

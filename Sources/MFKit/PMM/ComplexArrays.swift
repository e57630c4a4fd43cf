/// Reading PMM parameter arrays (complex64/complex128 or float32/float64 views of caller memory)
/// into contiguous Double buffers, where the parameter set is prepared once.

extension StridedArray {
    /// Byte offset of the element at `index` (one index per axis).
    @inline(__always)
    func byteOffset(_ index: [Int]) -> Int {
        var o = 0
        for (i, s) in zip(index, strides) { o += i * s }
        return o
    }

    /// The elements of a complex64 or complex128 view in C order, as interleaved (re, im)
    /// Doubles: 2 * count values. Time and memory O(count).
    func complexDoubles(_ name: String) throws -> [Double] {
        try requireValid(name)
        guard dtype == .complex64 || dtype == .complex128 else {
            throw MFError.dtype("\(name) must be complex64 or complex128, got \(dtype)")
        }
        var result = [Double](repeating: 0, count: 2 * count)
        guard count > 0, let base = data else { return result }
        var k = 0
        forEachOffset { o in
            if dtype == .complex64 {
                let p = (base + o).assumingMemoryBound(to: Float.self)
                result[k] = Double(p[0]); result[k + 1] = Double(p[1])
            } else {
                let p = (base + o).assumingMemoryBound(to: Double.self)
                result[k] = p[0]; result[k + 1] = p[1]
            }
            k += 2
        }
        return result
    }

    /// The elements of a float32 or float64 view of any shape in C order. Time O(count).
    func realDoubles(_ name: String) throws -> [Double] {
        try requireValid(name)
        guard dtype == .float32 || dtype == .float64 else {
            throw MFError.dtype("\(name) must be float32 or float64, got \(dtype)")
        }
        var result = [Double](repeating: 0, count: count)
        guard count > 0, let base = data else { return result }
        var k = 0
        forEachOffset { o in
            result[k] = dtype == .float32 ? Double((base + o).load(as: Float.self)) : (base + o).load(as: Double.self)
            k += 1
        }
        return result
    }

    /// Calls `body` with the byte offset of every element, in C order.
    func forEachOffset(_ body: (Int) -> Void) {
        guard count > 0 else { return }
        var index = [Int](repeating: 0, count: ndim)
        var offset = 0
        while true {
            body(offset)
            var axis = ndim - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < shape[axis] { break }
                offset -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { return }
        }
    }
}

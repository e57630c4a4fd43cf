extension StridedArray {
    /// True when no two elements of the view share memory, by a sufficient layout test: with the
    /// axes of length > 1 sorted by |stride|, each |stride| is at least the byte extent of the axes
    /// below it. Every view NumPy slicing makes (transposes, steps, reversals) passes; a
    /// broadcast (zero stride) or an overlapping `as_strided` view does not. Time O(ndim log ndim).
    public var hasDisjointElements: Bool {
        if shape.contains(0) { return true }   // no elements
        var axes = zip(shape, strides).filter { $0.0 > 1 }.map { (n: $0.0, s: abs($0.1)) }
        axes.sort { $0.s < $1.s }
        var extent = dtype.itemSize
        for (n, s) in axes {
            guard s >= extent else { return false }
            let (span, o1) = s.multipliedReportingOverflow(by: n - 1)
            let (e, o2) = span.addingReportingOverflow(extent)
            guard !o1, !o2 else { return false }
            extent = e
        }
        return true
    }

    /// Throws unless the view can be written element by element without two elements landing
    /// on the same memory (an output, or an array updated in place).
    public func requireDisjointElements(_ name: String) throws {
        guard hasDisjointElements else {
            throw MFError.invalidArgument("\(name) overlaps itself (strides \(strides) for shape \(shape)); pass an array whose elements are distinct")
        }
    }
}

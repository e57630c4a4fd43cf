/// The check vocabulary for arrays, run inside every public function of the core before any
/// element is read or written, so a Swift, C or Python caller gets the same errors and an
/// output is either fully written or untouched. Names in messages are the argument names the
/// user wrote. Every check is O(ndim) unless it says otherwise.
extension StridedArray {
    /// Structural validity: at most `maxNDim` axes, no negative length, at most `maxCount`
    /// elements (so sizes computed from the shape cannot overflow), strides that are whole
    /// elements, a data pointer aligned to the element type and present when there are elements.
    public func requireValid(_ name: String) throws {
        let count = try Check.shape(shape, name)
        guard strides.count == shape.count else {
            throw MFError.shape("\(name) has \(strides.count) strides for \(shape.count) dimensions")
        }
        let size = dtype.itemSize
        for (n, s) in zip(shape, strides) where n > 1 && s % size != 0 {
            throw MFError.invalidArgument("\(name): stride \(s) is not a multiple of the item size \(size)")
        }
        guard count > 0 else { return }
        guard let p = data else { throw MFError.invalidArgument("\(name) has a null data pointer") }
        guard Int(bitPattern: p) % Swift.min(size, 8) == 0 else {
            throw MFError.invalidArgument("\(name): data pointer is not aligned to its element type")
        }
    }

    /// Throws unless the dtype is one of `dtypes`.
    public func requireDType(_ name: String, _ dtypes: [DType]) throws {
        guard dtypes.contains(dtype) else {
            let allowed = dtypes.map(\.description)
            let list = allowed.count <= 1 ? allowed.joined()
                : allowed.dropLast().joined(separator: ", ") + " or " + allowed.last!
            throw MFError.dtype("\(name) must be \(list), got \(dtype)")
        }
    }

    /// Throws unless the view has `expected` dimensions.
    public func requireNDim(_ name: String, _ expected: Int) throws {
        guard ndim == expected else {
            let words = [0: "zero", 1: "one", 2: "two", 3: "three", 4: "four"]
            let text = words[expected].map { "\($0)-dimensional" } ?? "\(expected)-dimensional"
            throw MFError.shape("\(name) must be \(text), got shape \(shapeText(shape))")
        }
    }

    /// Throws unless the shape is `expected` (`what` names the shape's meaning, e.g. "(n, bands)").
    public func requireShape(_ name: String, _ expected: [Int], _ what: String? = nil) throws {
        guard shape == expected else {
            throw MFError.shape("\(name) must have shape \(what.map { "\($0) = " } ?? "")\(shapeText(expected)), got \(shapeText(shape))")
        }
    }

    /// An input array: valid, of one of `dtypes`, with `ndim` axes and `shape` when given.
    public func requireInput(_ name: String, dtypes: [DType] = [.float32, .float64], ndim: Int? = nil,
                             shape: [Int]? = nil) throws {
        try requireDType(name, dtypes)
        if let ndim { try requireNDim(name, ndim) }
        try requireValid(name)
        if let shape { try requireShape(name, shape) }
    }

    /// An output array: an input's checks, and elements that are distinct in memory (no zero or
    /// interleaved strides), so that writing one element never changes another.
    public func requireOutput(_ name: String, dtypes: [DType] = [.float32, .float64], ndim: Int? = nil,
                              shape: [Int]? = nil) throws {
        try requireInput(name, dtypes: dtypes, ndim: ndim, shape: shape)
        try requireDisjointElements(name)
    }

    /// Throws when this view (an output, named `name`) shares memory with `other` (an input
    /// or another output, `otherName`); with `allowSameView`, the very same view (in-place
    /// work) is accepted.
    public func requireDisjoint(from other: StridedArray, _ name: String, _ otherName: String,
                                allowSameView: Bool = false) throws {
        guard overlaps(other) else { return }
        if allowSameView && isSameView(other) { return }
        throw MFError.invalidArgument(allowSameView
            ? "\(name) overlaps \(otherName) without being the same view; pass the same array for in-place work or a separate one"
            : "\(name) overlaps \(otherName); pass a separate array")
    }

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
            throw MFError.invalidArgument("\(name) overlaps itself (strides \(strides) for shape \(shapeText(shape))); pass an array whose elements are distinct")
        }
    }
}

extension Array where Element == (StridedArray, String) {
    /// Outputs (`self`) must not overlap any of `inputs` nor each other. O(K²).
    public func requireDisjoint(from inputs: [(StridedArray, String)]) throws {
        for (i, (o, oname)) in enumerated() {
            for (x, xname) in inputs { try o.requireDisjoint(from: x, oname, "the input \(xname)") }
            for (p, pname) in self[..<i] where o.overlaps(p) {
                throw MFError.invalidArgument("\(oname) overlaps \(pname); every output needs its own memory")
            }
        }
    }
}

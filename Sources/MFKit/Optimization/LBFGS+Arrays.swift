extension LBFGS {
    /// Minimizes f from the float64 array `x` (any shape and strides, not empty), which receives
    /// the result: f sees the unknowns as `x.count` contiguous doubles in C order. `x` is
    /// written only when the run returns (the result so far when the callback stops it; the
    /// start, rescaled when `invariantBlock` > 0, for `Stop.nonFinite`).
    /// Checks: x float64 with distinct elements (it is updated in place), and the settings as
    /// `minimize(_:_:callback:)`, whose cost this has, plus O(count) to gather and scatter x.
    public func minimize(inPlace x: StridedArray,
                         _ f: (UnsafePointer<Double>, UnsafeMutablePointer<Double>?) -> Double,
                         callback: (Int, Double, Double) -> Bool = { _, _, _ in false }) throws -> Result {
        try x.requireOutput("x", dtypes: [.float64])
        try require(x.count >= 1, "x must not be empty")
        let start = try WorkBuffer<Double>(count: x.count, "a copy of x")
        x.copyElements(into: start.pointer)
        let result = try minimize(Array(start.buffer), f, callback: callback)
        result.x.withUnsafeBufferPointer { x.writeElements($0.baseAddress!) }
        return result
    }
}

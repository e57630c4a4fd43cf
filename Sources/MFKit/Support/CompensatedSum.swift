/// Σ_i values[i] with Neumaier's compensation: the combiner for per-row and per-thread sums.
/// O(1) per term.
public struct CompensatedSum: Sendable {
    public private(set) var sum = 0.0
    private var c = 0.0

    @inline(__always) public mutating func add(_ x: Double) {
        let t = sum + x
        if abs(sum) >= abs(x) { c += (sum - t) + x } else { c += (x - t) + sum }
        sum = t
    }

    /// The compensated sum (the plain sum once it is not finite: inf and NaN propagate).
    public var value: Double { sum.isFinite ? sum + c : sum }
}

import MFKit

/// A C-ordered owned buffer of Doubles or Floats with a StridedArray view, for tests.
final class Buffer<T: RealScalar> {
    let pointer: UnsafeMutablePointer<T>
    let count: Int
    let shape: [Int]

    init(shape: [Int], _ values: [T]? = nil) {
        self.shape = shape
        count = shape.reduce(1, *)
        pointer = .allocate(capacity: Swift.max(count, 1))
        pointer.initialize(repeating: 0, count: Swift.max(count, 1))
        if let values { for i in 0..<count { pointer[i] = values[i] } }
    }

    deinit { pointer.deallocate() }

    var view: StridedArray { StridedArray(data: UnsafeMutableRawPointer(pointer), dtype: T.dtype, shape: shape) }
    var values: [T] { (0..<count).map { pointer[$0] } }
    subscript(_ i: Int) -> T { pointer[i] }
}

/// Deterministic pseudo-random numbers in [-1, 1).
struct TestRandom {
    var state: UInt64
    mutating func next() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 52) - 1
    }
    mutating func values(_ n: Int) -> [Double] { (0..<n).map { _ in next() } }
}

/// Dense C-ordered matrix product (n × n) · (n × m).
func denseProduct(_ a: [Double], _ b: [Double], n: Int, m: Int) -> [Double] {
    var c = [Double](repeating: 0, count: n * m)
    for i in 0..<n { for k in 0..<n { let aik = a[i * n + k]; if aik != 0 { for j in 0..<m { c[i * m + j] += aik * b[k * m + j] } } } }
    return c
}

func maxRelativeError(_ a: [Double], _ b: [Double]) -> Double {
    let scale = Swift.max(b.map { abs($0) }.max() ?? 0, 1e-300)
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}

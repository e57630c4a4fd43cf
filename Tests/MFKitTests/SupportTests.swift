import XCTest
@testable import MFKit

/// The shared support layer: the check vocabulary, the line walk, conversions, work buffers and
/// the thread setting, each against a plain oracle.
final class SupportTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return (error as? MFError)?.message ?? "\(error)" }
    }

    // MARK: checks

    func testValidityChecks() {
        var x = [Double](repeating: 0, count: 16)
        x.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            XCTAssertNil(message { try StridedArray(data: p, dtype: .float64, shape: [4, 4]).requireValid("x") })
            XCTAssertEqual(message { try StridedArray(data: p, dtype: .float64, shape: [2, -1], strides: [8, 8]).requireValid("x") },
                           "x has negative length -1 on axis 1")
            XCTAssertEqual(message { try StridedArray(data: p, dtype: .float64, shape: [1 << 40, 1 << 30], strides: [0, 0]).requireValid("x") },
                           "x of shape (1099511627776, 1073741824) is too large")
            XCTAssertEqual(message { try StridedArray(data: p, dtype: .float64, shape: [4], strides: [12]).requireValid("x") },
                           "x: stride 12 is not a multiple of the item size 8")
            XCTAssertEqual(message { try StridedArray(data: p + 4, dtype: .float64, shape: [2]).requireValid("x") },
                           "x: data pointer is not aligned to its element type")
            XCTAssertEqual(message { try StridedArray(data: nil, dtype: .float64, shape: [2]).requireValid("x") },
                           "x has a null data pointer")
            XCTAssertNil(message { try StridedArray(data: nil, dtype: .float64, shape: [0, 5]).requireValid("x") })
            XCTAssertEqual(message { try StridedArray(data: p, dtype: .float64, shape: [1, 1, 1, 1, 1, 1, 1, 1, 1]).requireValid("x") },
                           "x has 9 dimensions; MFKit takes at most 8")
            XCTAssertEqual(message { try StridedArray(data: p, dtype: .complex64, shape: [2]).requireInput("x") },
                           "x must be float32 or float64, got complex64")
            XCTAssertEqual(message { try StridedArray(data: p, dtype: .float64, shape: [2, 2]).requireInput("x", ndim: 1) },
                           "x must be one-dimensional, got shape (2, 2)")
            XCTAssertEqual(message { try StridedArray(data: p, dtype: .float64, shape: [2, 2]).requireInput("x", shape: [2, 3]) },
                           "x must have shape (2, 3), got (2, 2)")
        }
    }

    func testOutputsMustHaveDistinctElementsAndNotOverlapInputs() {
        var x = [Float](repeating: 0, count: 32)
        x.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            let a = StridedArray(data: p, dtype: .float32, shape: [4, 4])
            XCTAssertNil(message { try a.requireOutput("out") })
            XCTAssertNotNil(message { try StridedArray(data: p, dtype: .float32, shape: [4, 4], strides: [4, 0]).requireOutput("out") })
            XCTAssertNotNil(message { try StridedArray(data: p, dtype: .float32, shape: [4, 4], strides: [8, 4]).requireOutput("out") })
            // Transposed and reversed views have distinct elements.
            XCTAssertNil(message { try StridedArray(data: p, dtype: .float32, shape: [4, 4], strides: [4, 16]).requireOutput("out") })
            XCTAssertNil(message { try StridedArray(data: p + 60, dtype: .float32, shape: [16], strides: [-4]).requireOutput("out") })
            let b = StridedArray(data: p + 64, dtype: .float32, shape: [4, 4])
            XCTAssertNil(message { try b.requireDisjoint(from: a, "out", "x") })
            let shifted = StridedArray(data: p + 4, dtype: .float32, shape: [4, 4])
            XCTAssertNotNil(message { try shifted.requireDisjoint(from: a, "out", "x", allowSameView: true) })
            XCTAssertNil(message { try a.requireDisjoint(from: a, "out", "x", allowSameView: true) })
            XCTAssertNotNil(message { try a.requireDisjoint(from: a, "out", "x") })
            XCTAssertEqual(message { try [(b, "out[0]"), (b, "out[1]")].requireDisjoint(from: [(a, "x")]) },
                           "out[1] overlaps out[0]; every output needs its own memory")
        }
    }

    func testScalarChecks() {
        XCTAssertEqual(message { try Check.positive(0, "n") }, "n must be positive, got 0")
        XCTAssertEqual(message { try Check.finite(.nan, "s") }, "s must be finite, got nan")
        XCTAssertEqual(message { try Check.finite([1, .infinity], "w") }, "w must be finite (found NaN or infinity)")
        XCTAssertThrowsError(try Check.product(1 << 40, 1 << 40, "x"))
        XCTAssertEqual(try Check.shape([3, 0, 5], "s"), 0)
    }

    // MARK: lines and conversions

    /// Element offsets of every element in C order, walked naively.
    func naiveOffsets(_ shape: [Int], _ strides: [Int]) -> [Int] {
        var result: [Int] = []
        let count = shape.reduce(1, *)
        for flat in 0..<count {
            var rest = flat, o = 0
            for axis in stride(from: shape.count - 1, through: 0, by: -1) {
                o += (rest % shape[axis]) * strides[axis]; rest /= shape[axis]
            }
            result.append(o)
        }
        return result
    }

    func testLinesVisitEveryElementInCOrder() {
        let cases: [([Int], [Int])] = [([3, 4], [4, 1]), ([3, 4], [1, 3]), ([2, 3, 4], [12, 4, 1]), ([2, 1, 5], [5, 7, -1]),
                                      ([6], [2]), ([4, 5], [10, 2]), ([], []), ([3, 0], [0, 1])]
        for (shape, strides) in cases {
            let a = StridedArray(data: nil, dtype: .float64, shape: shape, strides: strides.map { $0 * 8 })
            let lines = Lines(a)
            var seen: [Int] = []
            lines.forEachElement { o, _ in seen.append(o) }
            XCTAssertEqual(seen, naiveOffsets(shape, strides), "shape \(shape) strides \(strides)")
        }
        // Contiguous axes merge into one line.
        XCTAssertEqual(Lines(StridedArray(data: nil, dtype: .float32, shape: [2, 3, 4])).lineCount, 1)
        XCTAssertEqual(Lines(StridedArray(data: nil, dtype: .float32, shape: [2, 3, 4])).length, 24)
    }

    func testReadAndWriteElementsOfAnyStrides() throws {
        var storage = (0..<24).map(Double.init)
        try storage.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            // The transpose of a 4 x 6 row-major matrix: element (i, j) = 6 j + i.
            let t = StridedArray(data: p, dtype: .float64, shape: [6, 4], strides: [8, 48])
            XCTAssertEqual(try t.readDoubles("t"), (0..<24).map { Double(6 * ($0 % 4) + $0 / 4) })
            let values = (0..<24).map { Double(100 + $0) }
            values.withUnsafeBufferPointer { t.writeElements($0.baseAddress!) }
            XCTAssertEqual(try t.readDoubles("t"), values)
        }
        var one: Float = 2
        let broadcast = StridedArray(data: &one, dtype: .float32, shape: [1 << 50], strides: [0])
        XCTAssertThrowsError(try broadcast.readDoubles("diag")) { XCTAssertTrue(($0 as? MFError)?.message.contains("cannot allocate") ?? false) }
        var z: [Float] = [1, 2, 3, 4]
        try z.withUnsafeMutableBytes { raw in
            let c = StridedArray(data: raw.baseAddress, dtype: .complex64, shape: [2])
            XCTAssertEqual(try c.readComplexDoubles("c"), [1, 2, 3, 4])
        }
    }

    // MARK: memory

    func testWorkBuffers() throws {
        let b = try WorkBuffer<Double>(count: 1000, zeroed: true, "b")
        XCTAssertTrue(b.buffer.allSatisfy { $0 == 0 })
        XCTAssertEqual(Int(bitPattern: b.pointer) % 16, 0)
        let c = try WorkBuffer<Float>(count: 10, "c")
        XCTAssertEqual(Int(bitPattern: c.pointer) % 64, 0)
        c.fill(3)
        XCTAssertEqual(c[9], 3)
        XCTAssertThrowsError(try WorkBuffer<Double>(count: -1, "d"))
        XCTAssertThrowsError(try WorkBuffer<Double>(count: 1 << 60, "e"))
        XCTAssertThrowsError(try Memory.array(repeating: 0.0, count: 1 << 58, "f"))
    }

    // MARK: threads

    func testThreadSettingAndParallelLoops() throws {
        let start = Threads.count
        defer { try? Threads.set(start) }
        XCTAssertThrowsError(try Threads.set(0))
        XCTAssertThrowsError(try Threads.set(65))
        for threads in [1, 2, 3] {
            try Threads.set(threads)
            XCTAssertEqual(Threads.count, threads)
            let n = 100_003
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: n)
            hits.initialize(repeating: 0, count: n)
            defer { hits.deallocate() }
            parallelFor(n, work: n, threshold: 1) { worker, range in
                XCTAssertLessThan(worker, threads)
                for i in range { hits[i] += 1 }
            }
            XCTAssertTrue((0..<n).allSatisfy { hits[$0] == 1 })
            parallelForDynamic(n, block: 1000, work: n, threshold: 1) { range in for i in range { hits[i] += 1 } }
            XCTAssertTrue((0..<n).allSatisfy { hits[$0] == 2 })
            // Ranges are combined in order, so a non-commutative combine sees them sorted.
            let ranges = parallelReduce(n, work: n, threshold: 1, { [$0] }, combine: { $0 + $1 })!
            XCTAssertEqual(ranges.first?.lowerBound, 0)
            XCTAssertEqual(ranges.last?.upperBound, n)
            XCTAssertTrue(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            XCTAssertEqual(ranges.count, threads)
        }
        XCTAssertNil(parallelReduce(0, work: 0, { _ in 1 }, combine: +))
    }
}

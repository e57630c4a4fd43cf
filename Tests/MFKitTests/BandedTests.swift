import XCTest
@testable import MFKit

/// Banded strategies against independent dense oracles (the params layout, streaming the
/// identity through A C⁻¹, finite differences).
final class BandedTests: XCTestCase {
    func randomParams(_ n: Int, _ b: Int, seed: UInt64) -> [Double] {
        var state = seed
        var p = [Double](repeating: 0, count: n * b)
        for j in 0..<n {
            for r in 0..<b where j + r < n {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                p[j * b + r] = 0.5 + Double(state >> 11) / Double(1 << 53)
            }
        }
        return p
    }

    func dense(_ s: ColumnNormalizedBanded) throws -> [Double] {
        var c = [Double](repeating: .nan, count: s.n * s.n)
        try c.withUnsafeMutableBytes { raw in
            try s.materialize(into: StridedArray(data: raw.baseAddress, dtype: .float64, shape: [s.n, s.n]))
        }
        return c
    }

    func testMaterializeFollowsTheParamsLayout() throws {
        let n = 9, b = 3
        let p = randomParams(n, b, seed: 1)
        let s = try ColumnNormalizedBanded(params: p, n: n, bands: b)
        let c = try dense(s)
        for j in 0..<n {
            var sum = 0.0
            for r in 0..<Swift.min(b, n - j) { sum += p[j * b + r] * p[j * b + r] }
            let norm = sum.squareRoot()
            for i in 0..<n {
                let expect = (i >= j && i - j < b) ? p[j * b + i - j] / norm : 0
                XCTAssertEqual(c[i * n + j], expect, accuracy: 1e-15)
            }
        }
    }

    func testDefaultCoefficients() throws {
        XCTAssertEqual(ColumnNormalizedBanded.fichtenbergerCoefficients(4), [1, 0.5, 0.375, 0.3125])
        let s = try ColumnNormalizedBanded.default(n: 6, bands: 4)
        let norm = (1 + 0.25 + 0.375 * 0.375 + 0.3125 * 0.3125).squareRoot()
        XCTAssertEqual(s.params[0], 1 / norm, accuracy: 1e-16)
        XCTAssertEqual(s.params[5 * 4 + 1], 0)   // lower-right triangle is zero
    }

    func testInverseTimesStrategyIsIdentity() throws {
        let n = 14, b = 5
        let s = try ColumnNormalizedBanded(params: randomParams(n, b, seed: 2), n: n, bands: b)
        let c = try dense(s)
        var z = (0..<(n * 3)).map { sin(Double($0) + 0.5) }
        let z0 = z
        try z.withUnsafeMutableBytes { raw in
            let view = StridedArray(data: raw.baseAddress, dtype: .float64, shape: [n, 3])
            try s.inverse().multiply(view, into: view)   // in place
        }
        for i in 0..<n {
            for k in 0..<3 {
                var acc = 0.0
                for j in 0...i { acc += c[i * n + j] * z[j * 3 + k] }
                XCTAssertEqual(acc, z0[i * 3 + k], accuracy: 1e-12)
            }
        }
    }

    func testPerQueryErrorMatchesStreamingOracle() throws {
        let n = 25, b = 4
        let s = try ColumnNormalizedBanded(params: randomParams(n, b, seed: 3), n: n, bands: b)
        let workloads: [StreamingMatrix] = [
            .prefixSum(), .identity(),
            try StreamingMatrix.momentumSGD(momentum: 0.9, learningRates: (0..<n).map { 1 - 0.03 * Double($0) }),
            try StreamingMatrix.diagonal([2, 1, 0.5]) * StreamingMatrix.prefixSum() * (try StreamingMatrix.momentumSGD(momentum: 0.5)),
        ]
        for a in workloads {
            let fast = try s.perQueryError(workload: a)
            let oracle = try (a * s.inverse()).rowNormsSquared(n)
            for t in 0..<n { XCTAssertEqual(fast[t], oracle[t], accuracy: 1e-12 * oracle[t]) }
        }
    }

    func testGradientMatchesFiniteDifferences() throws {
        let n = 13, b = 4
        let p = randomParams(n, b, seed: 4)
        let a = StreamingMatrix.prefixSum() * (try StreamingMatrix.momentumSGD(momentum: 0.8))
        for reduction in [ErrorReduction.mean, .max, .last] {
            let s = try ColumnNormalizedBanded(params: p, n: n, bands: b)
            let g = try s.loss(workload: a, reduction: reduction, gradient: true).gradient!
            for k in 0..<(n * b) where (k / b) + (k % b) < n {
                var up = p, dn = p
                up[k] += 1e-6; dn[k] -= 1e-6
                let fu = try ColumnNormalizedBanded(params: up, n: n, bands: b).loss(workload: a, reduction: reduction).loss
                let fd = try ColumnNormalizedBanded(params: dn, n: n, bands: b).loss(workload: a, reduction: reduction).loss
                XCTAssertEqual(g[k], (fu - fd) / 2e-6, accuracy: 1e-6 * Swift.max(1, abs(g[k])))
            }
        }
    }

    func testPipelinedGradientEqualsSerial() throws {
        // n = 300, b = 64: segments of 18 steps of 64 x 64 covariances, large enough to pipeline.
        let n = 300, b = 64
        let p = randomParams(n, b, seed: 5)
        let model = try BandedErrorModel(n: n, bands: b, workload: .prefixSum())
        var g1 = [Double](repeating: 0, count: n * b), g2 = g1
        let l1 = p.withUnsafeBufferPointer { pp in
            g1.withUnsafeMutableBufferPointer {
                model.loss(params: pp.baseAddress!, reduction: .mean, gradient: $0.baseAddress!, threads: 1)
            }
        }
        let l2 = p.withUnsafeBufferPointer { pp in
            g2.withUnsafeMutableBufferPointer {
                model.loss(params: pp.baseAddress!, reduction: .mean, gradient: $0.baseAddress!, threads: 2)
            }
        }
        XCTAssertEqual(l1, l2)
        XCTAssertEqual(g1, g2)
        XCTAssertTrue(g1.contains { $0 != 0 })
    }

    func testInvalidInputThrows() {
        XCTAssertThrowsError(try ColumnNormalizedBanded(params: [0, 1, 1, 0], n: 2, bands: 2))
        XCTAssertThrowsError(try ColumnNormalizedBanded(params: [1, 1, 1], n: 2, bands: 2))
        XCTAssertThrowsError(try ColumnNormalizedBanded.fromBandedToeplitz(n: 2, coefs: [1, 2, 3]))
        XCTAssertThrowsError(try ColumnNormalizedBanded.default(n: 5, bands: 0))
        let s = try! ColumnNormalizedBanded.default(n: 8, bands: 2)
        XCTAssertThrowsError(try s.perQueryError(workload: .prefixSum() * s.inverse()))
        XCTAssertThrowsError(try s.minsepSensitivitySquared(minSep: 1))
        XCTAssertEqual(try s.minsepSensitivitySquared(minSep: 3), 3)
    }
}

final class BandedOptimizeTests: XCTestCase {
    func testLBFGSMinimizesRosenbrock() throws {
        let f: (UnsafePointer<Double>, UnsafeMutablePointer<Double>?) -> Double = { x, g in
            let (a, b) = (x[0], x[1])
            if let g {
                g[0] = -2 * (1 - a) - 400 * a * (b - a * a)
                g[1] = 200 * (b - a * a)
            }
            return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a)
        }
        let result = try LBFGS(maxSteps: 200).minimize([-1.2, 1], f)
        XCTAssertEqual(result.x[0], 1, accuracy: 1e-6)
        XCTAssertEqual(result.x[1], 1, accuracy: 1e-6)
    }

    func testOptimizeDecreasesLossAndStopsOnCallback() throws {
        var steps = 0
        let start = try ColumnNormalizedBanded.default(n: 40, bands: 4)
        let (s, result) = try ColumnNormalizedBanded.optimize(n: 40, bands: 4, maxSteps: 100) { step, _, _ in
            steps += 1
            return step == 9
        }
        XCTAssertEqual(steps, 10)
        XCTAssertEqual(result.stop, .callback)
        let before = try start.perQueryError().reduce(0, +), after = try s.perQueryError().reduce(0, +)
        XCTAssertLessThan(after, before)
    }
}

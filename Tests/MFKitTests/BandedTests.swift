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
                // h = 1e-5: the losses reach 3573, so rounding adds about 1e-15 L / h to the quotient.
                up[k] += 1e-5; dn[k] -= 1e-5
                let fu = try ColumnNormalizedBanded(params: up, n: n, bands: b).loss(workload: a, reduction: reduction).loss
                let fd = try ColumnNormalizedBanded(params: dn, n: n, bands: b).loss(workload: a, reduction: reduction).loss
                XCTAssertEqual(g[k], (fu - fd) / 2e-5, accuracy: 1e-6 * Swift.max(1, abs(g[k])))
            }
        }
    }

    func testPipelinedGradientEqualsSerial() throws {
        // n = 300, b = 64: segments of 18 steps of 64 x 64 covariances, large enough to pipeline.
        let n = 300, b = 64
        let p = randomParams(n, b, seed: 5)
        let model = try BandedErrorModel(n: n, bands: b, workload: .prefixSum())
        var g1 = [Double](repeating: 0, count: n * b), g2 = g1
        let l1 = try p.withUnsafeBufferPointer { pp in
            try g1.withUnsafeMutableBufferPointer {
                try model.loss(params: pp.baseAddress!, reduction: .mean, gradient: $0.baseAddress!, threads: 1)
            }
        }
        let l2 = try p.withUnsafeBufferPointer { pp in
            try g2.withUnsafeMutableBufferPointer {
                try model.loss(params: pp.baseAddress!, reduction: .mean, gradient: $0.baseAddress!, threads: 2)
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

    /// params [[1, 1], [d, 1], [1, 0]]: C⁻¹ has entries of size 1/d, A C⁻¹ is moderate, and the
    /// last error is (√2 − x₁)² + x₁² + 1 with x₁ = d / (√(1 + d²) + 1) (back substitution in
    /// Cᵀ x = 1). The recursion used to return 1.0 at d = 1e-8 and 32769 at 1e-10.
    func testNearSingularStrategyKeepsItsAccuracy() throws {
        for d in [1e-2, 1e-4, 1e-6, 1e-8, 1e-10] {
            let s = try ColumnNormalizedBanded(params: [1, 1, d, 1, 1, 0], n: 3, bands: 2)
            let e = try s.perQueryError()
            let x1 = d / ((1 + d * d).squareRoot() + 1)
            let exact = (2.0.squareRoot() - x1) * (2.0.squareRoot() - x1) + x1 * x1 + 1
            XCTAssertEqual(e[2], exact, accuracy: 1e-13 / d * exact, "d = \(d)")
            XCTAssertEqual(e[0], 2, accuracy: 1e-14)
            let oracle = try (StreamingMatrix.prefixSum() * s.inverse()).rowNormsSquared(3)
            XCTAssertEqual(e[2], oracle[2], accuracy: 1e-13 / d * exact)
        }
        // Beyond all precision the error is refused, not returned wrong.
        let s = try ColumnNormalizedBanded(params: [1, 1, 1e-14, 1, 1, 0], n: 3, bands: 2)
        XCTAssertThrowsError(try s.perQueryError()) { error in
            XCTAssertTrue("\(error)".contains("too close to singular"), "\(error)")
        }
        // A gradient is refused where it could not be trusted; the value alone is not.
        let t = try ColumnNormalizedBanded(params: [1, 1, 1e-9, 1, 1, 0], n: 3, bands: 2)
        XCTAssertNoThrow(try t.loss(reduction: .last))
        XCTAssertThrowsError(try t.loss(reduction: .last, gradient: true))
    }

    func testScaledParamsAreTheSameStrategy() throws {
        let n = 17, b = 4
        let p = randomParams(n, b, seed: 7)
        let s = try ColumnNormalizedBanded(params: p, n: n, bands: b)
        let e = try s.perQueryError(), c = try dense(s)
        let (l, g) = try s.loss(gradient: true)
        for scale in [1e-200, 1e200] {
            let t = try ColumnNormalizedBanded(params: p.map { $0 * scale }, n: n, bands: b)
            for (x, y) in zip(try t.perQueryError(), e) { XCTAssertEqual(x, y, accuracy: 1e-13 * y) }
            for (x, y) in zip(try dense(t), c) { XCTAssertEqual(x, y, accuracy: 1e-15) }
            let (lt, gt) = try t.loss(gradient: true)
            XCTAssertEqual(lt, l, accuracy: 1e-13 * l)
            // The gradient scales as 1 / scale.
            for (x, y) in zip(gt!, g!) { XCTAssertEqual(x * scale, y, accuracy: 1e-12 * Swift.max(1, abs(y))) }
            // The inverse: C⁻¹ (C z) = z.
            var z = (0..<n).map { cos(Double($0)) }
            let z0 = z
            var cz = [Double](repeating: 0, count: n)
            for i in 0..<n { for j in 0...i { cz[i] += c[i * n + j] * z0[j] } }
            z = cz
            try z.withUnsafeMutableBytes { raw in
                let view = StridedArray(data: raw.baseAddress, dtype: .float64, shape: [n])
                try t.inverse().multiply(view, into: view)
            }
            for (x, y) in zip(z, z0) { XCTAssertEqual(x, y, accuracy: 1e-10) }
        }
        let tiny = try ColumnNormalizedBanded.fromBandedToeplitz(n: 4, coefs: [1e-170, 0.5e-170, 0.25e-170])
        let unit = try ColumnNormalizedBanded.fromBandedToeplitz(n: 4, coefs: [1, 0.5, 0.25])
        for (x, y) in zip(tiny.params, unit.params) { XCTAssertEqual(x, y, accuracy: 1e-15) }
    }

    func testGradientIsOrthogonalToEveryRow() throws {
        let n = 30, b = 5
        let p = randomParams(n, b, seed: 11)
        let (_, g) = try ColumnNormalizedBanded(params: p, n: n, bands: b).loss(reduction: .max, gradient: true)
        for j in 0..<n {
            var along = 0.0, norm = 0.0
            for r in 0..<b { along += p[j * b + r] * g![j * b + r]; norm += g![j * b + r] * g![j * b + r] }
            XCTAssertEqual(along, 0, accuracy: 1e-12 * Swift.max(1, norm.squareRoot()))
        }
    }
}

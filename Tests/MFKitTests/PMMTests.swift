import XCTest
@testable import MFKit

/// AffineHermitianModel against a direct evaluation of M(x) = M_0 + Σ x_i M_i + s i Σ_{i>j} [M_i, M_j]
/// (dense complex matrices, the commutator double sum written out).
final class PMMTests: XCTestCase {
    typealias C = (re: Double, im: Double)

    struct Rng {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
    }

    /// A view of a Swift array (kept alive by the caller) as a StridedArray.
    func view<T>(_ a: inout [T], _ dtype: DType, _ shape: [Int], _ body: (StridedArray) throws -> Void) rethrows {
        try a.withUnsafeMutableBytes { try body(StridedArray(data: $0.baseAddress, dtype: dtype, shape: shape)) }
    }

    func matmul(_ a: [C], _ b: [C], _ n: Int) -> [C] {
        var c = [C](repeating: (0, 0), count: n * n)
        for i in 0..<n { for k in 0..<n { for j in 0..<n {
            let (x, y) = (a[i * n + k], b[k * n + j])
            c[i * n + j].re += x.re * y.re - x.im * y.im
            c[i * n + j].im += x.re * y.im + x.im * y.re
        } } }
        return c
    }

    /// The oracle: full matrices ms[i] (n × n), features x (N × p).
    func oracle(_ ms: [[C]], _ x: [[Double]], _ s: Double, _ bias: Bool, _ n: Int) -> [[C]] {
        var comm = [C](repeating: (0, 0), count: n * n)
        for i in 0..<ms.count { for j in 0..<i {
            let ab = matmul(ms[i], ms[j], n), ba = matmul(ms[j], ms[i], n)
            for e in 0..<(n * n) { comm[e].re += ab[e].re - ba[e].re; comm[e].im += ab[e].im - ba[e].im }
        } }
        return x.map { row in
            var m = [C](repeating: (0, 0), count: n * n)
            for e in 0..<(n * n) {
                // s i comm = s (−comm.im + i comm.re)
                m[e] = (-s * comm[e].im, s * comm[e].re)
                if bias { m[e].re += ms[0][e].re; m[e].im += ms[0][e].im }
                for (i, xi) in row.enumerated() {
                    let mi = ms[i + (bias ? 1 : 0)][e]
                    m[e].re += xi * mi.re; m[e].im += xi * mi.im
                }
            }
            return m
        }
    }

    func checkLowRank(n: Int, r: Int, p: Int, count: Int, s: Double, bias: Bool, dtype: DType) throws {
        var rng = Rng(state: UInt64(n * 1000 + r * 100 + p * 10 + count))
        let q = p + (bias ? 1 : 0)
        var lambdas = (0..<(q * r)).map { _ in rng.next() }
        var us = (0..<(2 * q * r * n)).map { _ in rng.next() }
        var x = (0..<(count * p)).map { _ in rng.next() }
        // full matrices from the definition
        var ms = [[C]](repeating: [C](repeating: (0, 0), count: n * n), count: q)
        for i in 0..<q { for k in 0..<r { for a in 0..<n { for b in 0..<n {
            let ua = (us[2 * ((i * r + k) * n + a)], us[2 * ((i * r + k) * n + a) + 1])
            let ub = (us[2 * ((i * r + k) * n + b)], us[2 * ((i * r + k) * n + b) + 1])
            let l = lambdas[i * r + k]
            ms[i][a * n + b].re += l * (ua.0 * ub.0 + ua.1 * ub.1)
            ms[i][a * n + b].im += l * (ua.1 * ub.0 - ua.0 * ub.1)
        } } } }
        let rows = (0..<count).map { k in Array(x[(k * p)..<(k * p + p)]) }
        let expected = oracle(ms, rows, s, bias, n)

        var model: AffineHermitianModel!
        try view(&lambdas, .float64, [q, r]) { l in
            try view(&us, .complex128, [q, r, n]) { u in
                model = try AffineHermitianModel.lowRank(lambdas: l, us: u, smoothing: s, biasTerm: bias, dtype: dtype)
            }
        }
        XCTAssertEqual(model.featureCount, p)
        let tol = dtype == .complex64 ? 2e-5 : 1e-12
        if dtype == .complex64 {
            var out = [Float](repeating: .nan, count: 2 * count * n * n)
            try view(&x, .float64, [count, p]) { xv in
                try view(&out, .complex64, [count, n, n]) { try model.forward(xv, into: $0) }
            }
            compare(out.map(Double.init), expected, n, tol)
        } else {
            var out = [Double](repeating: .nan, count: 2 * count * n * n)
            try view(&x, .float64, [count, p]) { xv in
                try view(&out, .complex128, [count, n * n]) { try model.forward(xv, into: $0) }
            }
            compare(out, expected, n, tol)
        }
    }

    func compare(_ out: [Double], _ expected: [[C]], _ n: Int, _ tol: Double) {
        let scale = max(1, expected.flatMap { $0.map { max(abs($0.re), abs($0.im)) } }.max() ?? 1)
        for (k, m) in expected.enumerated() {
            for a in 0..<n { for b in 0..<n {
                let o = 2 * (k * n * n + a * n + b), t = 2 * (k * n * n + b * n + a)
                XCTAssertEqual(out[o], m[a * n + b].re, accuracy: tol * scale)
                XCTAssertEqual(out[o + 1], m[a * n + b].im, accuracy: tol * scale)
                // Hermitian to the last bit
                XCTAssertEqual(out[o], out[t])
                XCTAssertEqual(out[o + 1], -out[t + 1])
            } }
        }
    }

    func testLowRankMatchesFormula() throws {
        for dtype in [DType.complex64, .complex128] {
            for bias in [true, false] {
                for s in [0.0, 0.45] {
                    for (n, r, p, count) in [(4, 2, 3, 9), (5, 1, 2, 6), (8, 3, 4, 13), (1, 1, 1, 2)] {
                        try checkLowRank(n: n, r: r, p: p, count: count, s: s, bias: bias, dtype: dtype)
                    }
                }
            }
        }
    }

    func testFullRankReadsUpperTriangle() throws {
        let (n, q) = (3, 2)
        var rng = Rng(state: 7)
        var ms = (0..<(2 * q * n * n)).map { _ in rng.next() }
        var x: [Float] = [0.5, -2, 1.25]
        var full = [[C]](repeating: [], count: q)
        for i in 0..<q {
            full[i] = (0..<(n * n)).map { e in
                let (a, b) = (e / n, e % n)
                let (lo, hi) = (min(a, b), max(a, b))
                let o = 2 * (i * n * n + lo * n + hi)
                return a == b ? (ms[o], 0) : (ms[o], a < b ? ms[o + 1] : -ms[o + 1])
            }
        }
        let expected = oracle(full, x.map { [Double($0)] }, 0.3, true, n)
        var out = [Double](repeating: 0, count: 2 * 3 * n * n)
        try view(&ms, .complex128, [q, n, n]) { m in
            let model = try AffineHermitianModel.fullRank(matrices: m, smoothing: 0.3, biasTerm: true, dtype: .complex128)
            try view(&x, .float32, [3, 1]) { xv in
                try view(&out, .complex128, [3, n, n]) { try model.forward(xv, into: $0) }
            }
        }
        compare(out, expected, n, 1e-12)
    }

    func testErrorsLeaveOutputUntouched() throws {
        var lambdas = [1.0, 2.0]
        var us = [Double](repeating: 0.5, count: 2 * 2 * 3)
        var model: AffineHermitianModel!
        try view(&lambdas, .float64, [2, 1]) { l in
            try view(&us, .complex128, [2, 1, 3]) { u in
                model = try AffineHermitianModel.lowRank(lambdas: l, us: u, smoothing: 0, biasTerm: true, dtype: .complex64)
                XCTAssertThrowsError(try AffineHermitianModel.lowRank(lambdas: l, us: u, smoothing: .nan,
                                                                      biasTerm: true, dtype: .complex64))
                XCTAssertThrowsError(try AffineHermitianModel.lowRank(lambdas: l, us: u, smoothing: 0,
                                                                      biasTerm: true, dtype: .float32)) { error in
                    XCTAssertEqual(error as? MFError, .dtype("dtype must be complex64 or complex128, got float32"))
                }
            }
        }
        var x = [Double](repeating: 1, count: 4)
        var out = [Float](repeating: 9, count: 2 * 2 * 9)
        try view(&x, .float64, [2, 2]) { xv in
            try view(&out, .complex64, [2, 3, 3]) { ov in
                XCTAssertThrowsError(try model.forward(xv, into: ov)) { error in
                    XCTAssertEqual(error as? MFError, .shape("input_NF has 2 features per sample, but the module takes 1"))
                }
            }
        }
        try view(&x, .float64, [4, 1]) { xv in
            try view(&out, .complex64, [2, 3, 3]) { ov in
                XCTAssertThrowsError(try model.forward(xv, into: ov))
            }
        }
        XCTAssertTrue(out.allSatisfy { $0 == 9 })
    }
}

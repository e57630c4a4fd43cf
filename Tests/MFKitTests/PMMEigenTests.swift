import XCTest
@testable import MFKit

/// The batched Hermitian eigensolver and the PMM gradient kernels, against independent oracles:
/// matrices built as Q diag(λ) Q^H from known spectra (exact eigenvalues, including clusters and
/// degeneracies), the eigen-equation residual, orthonormality, and finite differences.
final class PMMEigenTests: XCTestCase {
    struct Rng {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
    }

    /// A random unitary n × n matrix (Gram–Schmidt on random complex columns), interleaved.
    func unitary(_ n: Int, _ rng: inout Rng) -> [Double] {
        var q = [Double](repeating: 0, count: 2 * n * n)
        for c in 0..<n {
            var v = (0..<(2 * n)).map { _ in rng.next() }
            for p in 0..<c {   // v −= (q_p^H v) q_p
                var (dr, di) = (0.0, 0.0)
                for i in 0..<n {
                    let (ar, ai) = (q[2 * (i * n + p)], q[2 * (i * n + p) + 1])
                    dr += ar * v[2 * i] + ai * v[2 * i + 1]; di += ar * v[2 * i + 1] - ai * v[2 * i]
                }
                for i in 0..<n {
                    let (ar, ai) = (q[2 * (i * n + p)], q[2 * (i * n + p) + 1])
                    v[2 * i] -= dr * ar - di * ai; v[2 * i + 1] -= dr * ai + di * ar
                }
            }
            let norm = stride(from: 0, to: 2 * n, by: 1).reduce(0.0) { $0 + v[$1] * v[$1] }.squareRoot()
            for i in 0..<n { q[2 * (i * n + c)] = v[2 * i] / norm; q[2 * (i * n + c) + 1] = v[2 * i + 1] / norm }
        }
        return q
    }

    /// Q diag(λ) Q^H, interleaved.
    func matrix(_ lambda: [Double], _ q: [Double]) -> [Double] {
        let n = lambda.count
        var a = [Double](repeating: 0, count: 2 * n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n {
            let (xr, xi) = (q[2 * (i * n + k)], q[2 * (i * n + k) + 1]), (yr, yi) = (q[2 * (j * n + k)], -q[2 * (j * n + k) + 1])
            a[2 * (i * n + j)] += lambda[k] * (xr * yr - xi * yi)
            a[2 * (i * n + j) + 1] += lambda[k] * (xr * yi + xi * yr)
        } } }
        return a
    }

    /// Solves every matrix of `mats` (each n × n interleaved) with all n columns; returns values and vectors.
    func solve(_ mats: [[Double]], _ n: Int, k: Int, m: Int, which: EigenSelection) throws -> ([Double], [Double]) {
        var a = mats.flatMap { $0 }
        var values = [Double](repeating: .nan, count: mats.count * m)
        var vectors = [Double](repeating: .nan, count: 2 * mats.count * n * m)
        try a.withUnsafeMutableBytes { ab in try values.withUnsafeMutableBytes { vb in try vectors.withUnsafeMutableBytes { wb in
            try HermitianEigen.solve(StridedArray(data: ab.baseAddress, dtype: .complex128, shape: [mats.count, n, n]),
                                     numEig: k, which: which,
                                     values: StridedArray(data: vb.baseAddress, dtype: .float64, shape: [mats.count, m]),
                                     vectors: StridedArray(data: wb.baseAddress, dtype: .complex128, shape: [mats.count, n, m]))
        }}}
        return (values, vectors)
    }

    func testKnownSpectraIncludingClustersAndDegeneracies() throws {
        var rng = Rng(state: 3)
        let spectra: [[Double]] = [
            [1, 1, 1, 2, 3, 3, 4, 5],
            [1, 1 + 1e-10, 1 + 2e-10, 2, 2, 2, 2, 7],
            [0, 0, 0, 0, 0, 0, 0, 0],
            [-5, -5, -1e-3, 0, 0, 1e-3, 5, 5],
            (0..<8).map { Double($0) * 0.37 - 1 },
        ]
        for lambda in spectra {
            let n = lambda.count
            let mats = (0..<5).map { _ in matrix(lambda, unitary(n, &rng)) }   // 5 lanes: a partial block too
            let (values, vectors) = try solve(mats, n, k: n, m: n, which: .sa)
            let sorted = lambda.sorted()
            for (s, a) in mats.enumerated() {
                for c in 0..<n { XCTAssertEqual(values[s * n + c], sorted[c], accuracy: 1e-13) }
                for i in 0..<n { for c in 0..<n {   // A v_c = λ_c v_c
                    var (rr, ri) = (0.0, 0.0)
                    for j in 0..<n {
                        let (ar, ai) = (a[2 * (i * n + j)], a[2 * (i * n + j) + 1])
                        let (vr, vi) = (vectors[2 * ((s * n + j) * n + c)], vectors[2 * ((s * n + j) * n + c) + 1])
                        rr += ar * vr - ai * vi; ri += ar * vi + ai * vr
                    }
                    rr -= values[s * n + c] * vectors[2 * ((s * n + i) * n + c)]
                    ri -= values[s * n + c] * vectors[2 * ((s * n + i) * n + c) + 1]
                    XCTAssertLessThan(abs(rr) + abs(ri), 1e-12)
                } }
                for c in 0..<n { for d in 0..<n {   // V^H V = I
                    var (gr, gi) = (0.0, 0.0)
                    for i in 0..<n {
                        let (xr, xi) = (vectors[2 * ((s * n + i) * n + c)], -vectors[2 * ((s * n + i) * n + c) + 1])
                        let (yr, yi) = (vectors[2 * ((s * n + i) * n + d)], vectors[2 * ((s * n + i) * n + d) + 1])
                        gr += xr * yr - xi * yi; gi += xr * yi + xi * yr
                    }
                    XCTAssertEqual(gr, c == d ? 1 : 0, accuracy: 1e-12)
                    XCTAssertEqual(gi, 0, accuracy: 1e-12)
                } }
                for c in 0..<n {   // first component real and ≥ 0
                    XCTAssertEqual(vectors[2 * (s * n * n + c) + 1], 0)
                    XCTAssertGreaterThanOrEqual(vectors[2 * (s * n * n + c)], 0)
                }
            }
        }
    }

    func testSelectionOrders() throws {
        let lambda: [Double] = [-3, -2.1, -1, 0, 1.1, 2, 3.2]   // no exact magnitude ties (rounding decides those)
        var rng = Rng(state: 9)
        let mats = [matrix(lambda, unitary(7, &rng))]
        let expected: [(EigenSelection, Int, [Double])] = [
            (.sa, 2, [-3, -2.1]), (.la, 2, [2, 3.2]), (.sm, 3, [0, -1, 1.1]), (.lm, 2, [-3, 3.2]),
            (.ea, 3, [-3, 2, 3.2]), (.em, 1, [3.2]), (.ia, 3, [-1, 0, 1.1]), (.im, 2, [1.1, 2]),
        ]
        for (which, k, want) in expected {
            let (values, _) = try solve(mats, 7, k: k, m: 7, which: which)
            for c in 0..<k { XCTAssertEqual(values[c], want[c], accuracy: 1e-13, "\(which)") }
            let rest = lambda.filter { v in !want.contains(where: { abs($0 - v) < 1e-9 }) }
            for c in k..<7 { XCTAssertEqual(values[c], rest[c - k], accuracy: 1e-13, "\(which) rest") }
        }
    }

    func testOutputChecksLeaveOutputsUntouched() throws {
        var a = [Double](repeating: 0, count: 2 * 2 * 9)
        var values = [Double](repeating: 7, count: 4)
        var short = [Double](repeating: 7, count: 2 * 2 * 3 * 1)
        try a.withUnsafeMutableBytes { ab in try values.withUnsafeMutableBytes { vb in try short.withUnsafeMutableBytes { sb in
            let input = StridedArray(data: ab.baseAddress, dtype: .complex128, shape: [2, 3, 3])
            let vals = StridedArray(data: vb.baseAddress, dtype: .float64, shape: [2, 2])
            let vecs = StridedArray(data: sb.baseAddress, dtype: .complex128, shape: [2, 3, 1])
            XCTAssertThrowsError(try HermitianEigen.solve(input, numEig: 2, which: .sa, values: vals, vectors: vecs))
            XCTAssertThrowsError(try HermitianEigen.solve(input, numEig: 4, which: .sa, values: vals, vectors: nil))
            XCTAssertThrowsError(try HermitianEigen.solve(input, numEig: 1, which: .sa, values: nil, vectors: nil))
            let wrongType = StridedArray(data: vb.baseAddress, dtype: .float32, shape: [2, 2])
            XCTAssertThrowsError(try HermitianEigen.solve(input, numEig: 1, which: .sa, values: wrongType, vectors: nil))
        }}}
        XCTAssertEqual(values, [7, 7, 7, 7])
        XCTAssertTrue(short.allSatisfy { $0 == 7 })
    }

    /// featureSum + parameterGradient of L = Σ_s w_s λ_min(M(x_s)) for a full-rank model with
    /// smoothing, against central differences of L along random Hermitian directions.
    func testEigenvalueGradientAgainstFiniteDifferences() throws {
        let (n, p, count, s) = (4, 2, 6, 0.3)
        var rng = Rng(state: 11)
        func hermitian() -> [Double] {
            var m = (0..<(2 * n * n)).map { _ in rng.next() }
            for i in 0..<n { for j in 0..<n where j < i {
                m[2 * (i * n + j)] = m[2 * (j * n + i)]; m[2 * (i * n + j) + 1] = -m[2 * (j * n + i) + 1]
            } }
            for i in 0..<n { m[2 * (i * n + i) + 1] = 0 }
            return m
        }
        let ms = (0...p).flatMap { _ in hermitian() }
        var x = (0..<(count * p)).map { _ in rng.next() }
        let w = (0..<count).map { _ in rng.next() }
        func loss(_ params: [Double]) throws -> Double {
            var ps = params, vals = [Double](repeating: 0, count: count)
            let model = try ps.withUnsafeMutableBytes {
                try AffineHermitianModel.fullRank(matrices: StridedArray(data: $0.baseAddress, dtype: .complex128,
                                                  shape: [p + 1, n, n]), smoothing: s, biasTerm: true, dtype: .complex128)
            }
            try x.withUnsafeMutableBytes { xb in try vals.withUnsafeMutableBytes { vb in
                try model.eigen(StridedArray(data: xb.baseAddress, dtype: .float64, shape: [count, p]), numEig: 1,
                                which: .sa, values: StridedArray(data: vb.baseAddress, dtype: .float64, shape: [count, 1]),
                                vectors: nil)
            }}
            return zip(vals, w).reduce(0) { $0 + $1.0 * $1.1 }
        }
        // the analytic gradient
        var params = ms
        let model = try params.withUnsafeMutableBytes {
            try AffineHermitianModel.fullRank(matrices: StridedArray(data: $0.baseAddress, dtype: .complex128,
                                              shape: [p + 1, n, n]), smoothing: s, biasTerm: true, dtype: .complex128)
        }
        var vecs = [Double](repeating: 0, count: 2 * count * n), weights = w
        var sums = [Double](repeating: 0, count: 2 * (p + 1) * n * n), grad = sums
        try x.withUnsafeMutableBytes { xb in try vecs.withUnsafeMutableBytes { vb in
        try weights.withUnsafeMutableBytes { wb in try sums.withUnsafeMutableBytes { sb in try grad.withUnsafeMutableBytes { gb in
            let xa = StridedArray(data: xb.baseAddress, dtype: .float64, shape: [count, p])
            let va = StridedArray(data: vb.baseAddress, dtype: .complex128, shape: [count, n, 1])
            try model.eigen(xa, numEig: 1, which: .sa, values: nil, vectors: va)
            let sa = StridedArray(data: sb.baseAddress, dtype: .complex128, shape: [p + 1, n, n])
            try PMMGradient.featureSum(x: xa, vectors: va,
                                       weights: StridedArray(data: wb.baseAddress, dtype: .float64, shape: [count, 1]), out: sa)
            try model.parameterGradient(sums: sa, outs: [StridedArray(data: gb.baseAddress, dtype: .complex128, shape: [p + 1, n, n])])
        }}}}}
        for trial in 0..<3 {
            var dir = [Double](repeating: 0, count: ms.count)
            for a in 0...p { let h = hermitian(); for t in 0..<(2 * n * n) { dir[a * 2 * n * n + t] = h[t] } }
            let h = 1e-6
            let plus = try loss(zip(ms, dir).map { $0 + h * $1 }), minus = try loss(zip(ms, dir).map { $0 - h * $1 })
            // jax convention g = ∂L/∂Re − i ∂L/∂Im: dL = Σ Re g Re E − Im g Im E
            var expected = 0.0
            for t in stride(from: 0, to: ms.count, by: 2) { expected += grad[t] * dir[t] - grad[t + 1] * dir[t + 1] }
            XCTAssertEqual((plus - minus) / (2 * h), expected, accuracy: 1e-6 * max(1, abs(expected)), "trial \(trial)")
        }
    }
}

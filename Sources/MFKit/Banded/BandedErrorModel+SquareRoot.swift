import Glibc

extension BandedErrorModel {
    /// e_t for every t by the square-root form of the recursion, for strategies close to
    /// singular (see the type's note on accuracy): Σ_t = L Lᵀ with L (D × D) kept lower
    /// triangular in the state's age order — the ring's slots from the oldest ζ_{t−b+1} to the
    /// newest ζ_{t−1}, then the workload's state. Step t: e_t = ‖ℓᵀ L‖² + (s g0)², a sum of
    /// squares (no cancellation); the new rows ζ_t = vᵀ L (+ g0 in a fresh column) and
    /// w' = M w + k ζ_t replace the oldest slot and the workload's rows; Givens rotations of
    /// the columns (orthogonal, so L Lᵀ is unchanged) then restore the triangle and empty the
    /// fresh column. The rows of L hold the state's coefficients on an orthonormal basis of
    /// the noise, so the result is as accurate as streaming the rows of A C⁻¹: a row or output
    /// R x formed with terms of size √(Σ_a R_a² ‖L_a‖²) and norm ‖R L‖ has a relative error of
    /// about u times their ratio (u the unit roundoff; the covariance form has the square of
    /// it), and the largest such ratio, times 2u, is the estimate. Throws MFError.numerical
    /// when it passes `valueTolerance` or a value is not finite.
    /// Time about 4 n D² (the rotations touch every row), memory D² + O(D q).
    func squareRootErrors(into errors: UnsafeMutablePointer<Double>) throws {
        let D = self.D, ring = self.ring, q = self.q, d = Swift.max(D, 1)
        let work = try WorkBuffer<Double>(count: d * (d + 1) + (q + 3) * d, zeroed: true,
                                          "the square-root recursion's factor")
        // L column-major (column j at Lc + j D; column D is the fresh one), then the new ζ row,
        // the output row (then the new workload rows' term sizes), the new workload rows
        // (q × D) and each row's squared norm (which the rotations keep).
        let Lc = work.pointer, fresh = Lc + d * d, zrow = fresh + d, h = zrow + d, wrows = h + d
        let norm2 = wrows + q * d, wSizes = h
        let v = mainScratch.v
        var worst = 0.0   // the largest ratio of a sum's terms to its result (norms)
        for t in 0..<n {
            let g0 = stepCoefficients(t, v)
            let M = maps.pointer + system.offset(t), k = M + q * q, rr = k + q, s = rr[q]
            let j0 = ring > 0 ? t % ring : -1
            // ζ_t's row (the ring's rows live in columns < ring) and the size of its terms.
            var zSize = g0 * g0
            for j in 0..<ring { zrow[j] = dot(v, Lc + j * D, ring) }
            for j in ring..<D { zrow[j] = 0 }
            for a in 0..<ring { zSize += v[a] * v[a] * norm2[a] }
            // The output row h = s ζ_t + rᵀ w and e_t.
            var hSize = s * s * zSize, e = 0.0
            for j in 0..<D {
                var x = s * zrow[j]
                for l in 0..<q where rr[l] != 0 { x += rr[l] * Lc[j * D + ring + l] }
                h[j] = x
                e += x * x
            }
            e += (s * g0) * (s * g0)
            for l in 0..<q where rr[l] != 0 { hSize += rr[l] * rr[l] * norm2[ring + l] }
            errors[t] = e
            guard e.isFinite else { throw MFError.numerical(inaccuracyMessage("the per-query errors", estimate: .infinity)) }
            worst = Swift.max(worst, ratioOf(hSize, e))
            // The new workload rows w'_i = Σ_l M_il w_l + k_i ζ_t (fresh entry k_i g0).
            for i in 0..<q {
                let row = wrows + i * d
                var size = k[i] * k[i] * zSize
                for j in 0..<D { row[j] = k[i] * zrow[j] }
                for l in 0..<q where M[i * q + l] != 0 {
                    let m = M[i * q + l]
                    for j in 0..<D { row[j] += m * Lc[j * D + ring + l] }
                    size += m * m * norm2[ring + l]
                }
                wSizes[i] = size
            }
            // Write the rows (and their fresh entries) into L; rows' norms are kept by rotations.
            for j in 0..<d { fresh[j] = 0 }
            if ring > 0 {
                for j in 0..<D { Lc[j * D + j0] = zrow[j] }
                fresh[j0] = g0
                norm2[j0] = dot(zrow, zrow, D) + g0 * g0
                worst = Swift.max(worst, ratioOf(zSize, norm2[j0]))
            }
            for i in 0..<q {
                let row = wrows + i * d
                for j in 0..<D { Lc[j * D + ring + i] = row[j] }
                fresh[ring + i] = k[i] * g0
                norm2[ring + i] = dot(row, row, D) + fresh[ring + i] * fresh[ring + i]
                worst = Swift.max(worst, ratioOf(wSizes[i], norm2[ring + i]))
            }
            retriangularize(Lc, fresh, t)
        }
        let estimate = 2 * BandedErrorModel.unitRoundoff * worst.squareRoot()
        guard estimate <= BandedErrorModel.valueTolerance else {
            throw MFError.numerical(inaccuracyMessage("the per-query errors", estimate: estimate))
        }
    }

    /// Restores L (column-major D × D, then the fresh column) to lower triangular in the age
    /// order of step t + 1 and empties the fresh column, by Givens rotations of columns:
    /// the ring's rows, shifted one place older, lose their entry right of the diagonal
    /// (columns r, r + 1); ζ_t's row gives up its fresh entry (columns ring − 1, fresh); the
    /// workload's rows are reduced to a triangle on columns ring … D − 1 and fresh.
    /// Time O(ring D + q² D).
    private func retriangularize(_ Lc: UnsafeMutablePointer<Double>, _ fresh: UnsafeMutablePointer<Double>, _ t: Int) {
        let D = self.D, ring = self.ring, q = self.q
        /// Rotates columns x and y over `rows` so that row `pivot` has a zero in column y.
        func rotate(_ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>, pivot: Int, rows: Range<Int>) {
            let a = x[pivot], b = y[pivot]
            guard b != 0 else { return }
            let r = hypot(a, b), c = a / r, s = b / r
            for i in rows {
                let xi = x[i], yi = y[i]
                x[i] = c * xi + s * yi
                y[i] = c * yi - s * xi
            }
            y[pivot] = 0
        }
        if ring > 0 {
            for r in 0..<(ring - 1) {
                rotate(Lc + r * D, Lc + (r + 1) * D, pivot: (t + 1 + r) % ring, rows: 0..<D)
            }
            rotate(Lc + (ring - 1) * D, fresh, pivot: t % ring, rows: 0..<D)
        }
        for i in 0..<q {
            let p = ring + i
            for j in (p + 1)..<(D + 1) {
                rotate(Lc + p * D, j == D ? fresh : Lc + j * D, pivot: p, rows: p..<D)
            }
        }
    }
}

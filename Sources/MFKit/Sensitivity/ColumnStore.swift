/// The columns of an encoder C (k × n) packed as contiguous float64 rows (the transpose Cᵀ),
/// with each column's support [lo, hi) (first and last nonzero row). Column dot products
/// ⟨C[:, i], C[:, j]⟩ — entries of X = Cᵀ C — then run over the overlap of two supports only:
/// k − max(i, j) terms for a lower-triangular C, at most b for a b-banded one, none for
/// columns of disjoint support. Terms outside a support are exact zeros, so a sum over any
/// range covering the overlap is the same number.
///
/// Built once per call (MFError.outOfMemory if the space cannot be had): time O(k n) (a tiled transpose, over the cores), memory n k doubles.
final class ColumnStore {
    let k: Int, n: Int
    /// Column j is ct[j * k ..< (j + 1) * k].
    let ct: UnsafeMutablePointer<Double>
    let lo: UnsafeMutablePointer<Int>, hi: UnsafeMutablePointer<Int>
    private let columns: WorkBuffer<Double>, supports: WorkBuffer<Int>

    init(_ c: RealMatrixView) throws {
        k = c.rows; n = c.cols
        supports = try WorkBuffer(count: try Check.product(n, 2, "the column supports of C"), "the column supports of C")
        columns = try WorkBuffer(count: try Check.product(k, n, "the packed columns of C"), "the packed columns of C")
        ct = columns.pointer
        lo = supports.pointer; hi = supports.pointer + n
        let (k, n, ct, lo, hi) = (self.k, self.n, self.ct, self.lo, self.hi)
        let tile = 32
        let tiles = (n + tile - 1) / tile
        parallelFor(tiles, work: k * n) { _, range in
            let row = UnsafeMutablePointer<Double>.allocate(capacity: tile)
            defer { row.deallocate() }
            for t in range {
                let j0 = t * tile, j1 = Swift.min(n, j0 + tile)
                for r in 0..<k {
                    c.row(r, j0..<j1, into: row)
                    for j in j0..<j1 { ct[j * k + r] = row[j - j0] }
                }
                for j in j0..<j1 {
                    let col = ct + j * k
                    var a = 0
                    while a < k && col[a] == 0 { a += 1 }
                    var b = k
                    while b > a && col[b - 1] == 0 { b -= 1 }
                    lo[j] = a; hi[j] = a < b ? b : a
                }
            }
        }
    }

    /// ⟨C[:, i], C[:, j]⟩ over the overlap of the supports. Time O(overlap).
    @inline(__always)
    func dot(_ i: Int, _ j: Int) -> Double {
        let a = Swift.max(lo[i], lo[j]), b = Swift.min(hi[i], hi[j])
        guard a < b else { return 0 }
        let p = ct + i * k, q = ct + j * k
        var s = 0.0
        for r in a..<b { s += p[r] * q[r] }
        return s
    }
}

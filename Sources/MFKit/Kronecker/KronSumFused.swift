extension Kron {
    /// Σ_i f(w_i) for w = kronsum_diag(vecs) without holding w (`kronsum_diag_reduce`);
    /// f = log gives log det(⊕ diag(v_k)). The flat index is cut into chunks of 2048 values,
    /// each generated (see KronDiagValues), mapped by f and summed in cache (for log: the log
    /// of products of 32 mantissas plus ln2 times the exponents, see sumOfLogs); chunk sums are
    /// combined with compensation per thread and across threads. Everything is in Double.
    /// Time O(N) evaluations of f; memory O(L + Σ d_k) Doubles, independent of N.
    public static func kronsumDiagReduce(_ vecs: [StridedArray], _ f: ElementFunction) throws -> Double {
        let (_, values) = try factorDoubles(vecs)
        let generator = KronDiagValues(values)
        let n = values.reduce(1) { $0 * $1.count }
        let workers = Threads.count
        var parts = [Double](repeating: 0, count: workers)
        parts.withUnsafeMutableBufferPointer { slots in
            parallelFor(n, work: n * 4, threshold: 1 << 16, workers: workers) { worker, range in
                var cursor = generator.cursor(at: range.lowerBound)
                switch f {
                case .identity: slots[worker] = cursor.mappedSum(IdentityMap.self, range.count); return
                case .reciprocal: slots[worker] = cursor.mappedSum(ReciprocalMap.self, range.count); return
                case .square: slots[worker] = cursor.mappedSum(SquareMap.self, range.count); return
                case .sqrt: slots[worker] = cursor.mappedSum(SqrtMap.self, range.count); return
                case .log, .exp: break
                }
                let buffer = UnsafeMutablePointer<Double>.allocate(capacity: chunk)
                defer { buffer.deallocate() }
                var total = CompensatedSum()
                var p = range.lowerBound
                while p < range.upperBound {
                    let c = Swift.min(chunk, range.upperBound - p)
                    cursor.fill(buffer, 1, c)
                    if f == .log {
                        total.add(sumOfLogs(buffer, c))
                    } else {
                        f.apply(buffer, c)
                        total.add(sum(buffer, c))
                    }
                    p += c
                }
                slots[worker] = total.value
            }
        }
        var total = CompensatedSum()
        for part in parts { total.add(part) }
        return total.value
    }

    /// All K diagonal KS projections of f(kronsum_diag(vecs)) in one pass, without holding the
    /// N-vector (`ks_project_diag_map`): out[k] is ks_project_diag(f(w)) for the axis lengths
    /// d_k of the outputs (Π d_k = N; usually the lengths of vecs, but any factorization of N
    /// works). identity, reciprocal, square and sqrt with the vectors' own lengths run in one
    /// loop per row (acc[j] += f(base + tail[j])); otherwise chunks of 2048 values are
    /// generated, mapped by f and fed to per-thread axis sums (see AxisSums), which are
    /// combined at the end. Everything is in Double; outputs are
    /// rounded once. Time O(N) evaluations of f; memory O(L + Σ d_k) Doubles per thread.
    public static func ksProjectDiagMap(_ vecs: [StridedArray], _ f: ElementFunction,
                                        into outs: [StridedArray]) throws {
        let (dtype, values) = try factorDoubles(vecs)
        try KronCheck.factorCount(outs.count, "output factor")
        let dims = try checkVectorOutputs(outs, dtype: dtype)
        let n = values.reduce(1) { $0 * $1.count }
        let m = try KronCheck.product(dims, "out factor")
        guard m == n else {
            throw MFError.shape("the output factors' lengths \(dims) multiply to \(m) but the vectors' lengths \(values.map(\.count)) multiply to \(n)")
        }
        try outs.enumerated().map { ($1, "out[\($0)]") }.requireDisjoint(from: vecs.enumerated().map { ($1, "vecs[\($0)]") })
        // With the vectors' own lengths as dims, generator and accumulator share one split and
        // the simple functions run fused in one loop per row; otherwise chunk by chunk.
        let generator = KronDiagValues(values, cap: accumulatorCap)
        let sameSplit = dims == values.map(\.count)
        let totals = parallelAxisSums(TailSplit(dims, cap: accumulatorCap), n, work: n * 4, threshold: 1 << 16) { acc, lo, hi in
            var cursor = generator.cursor(at: lo)
            if sameSplit {
                switch f {
                case .identity: acc.addMapped(IdentityMap.self, &cursor, hi - lo); return
                case .reciprocal: acc.addMapped(ReciprocalMap.self, &cursor, hi - lo); return
                case .square: acc.addMapped(SquareMap.self, &cursor, hi - lo); return
                case .sqrt: acc.addMapped(SqrtMap.self, &cursor, hi - lo); return
                case .log, .exp: break
                }
            }
            let buffer = UnsafeMutablePointer<Double>.allocate(capacity: chunk)
            defer { buffer.deallocate() }
            var p = lo
            while p < hi {
                let c = Swift.min(chunk, hi - p)
                cursor.fill(buffer, 1, c)
                f.apply(buffer, c)
                acc.add(UnsafePointer(buffer), 1, c)
                p += c
            }
        }
        switch dtype {
        case .float32: storeFactors(totals.projection(), outs, Float.self)
        default: storeFactors(totals.projection(), outs, Double.self)
        }
    }

    /// Values per chunk of the fused passes (16 KB of Doubles: stays in L1).
    static let chunk = 2048

    /// Σ x[i] with four interleaved partial sums.
    @inline(__always) static func sum(_ x: UnsafePointer<Double>, _ n: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, j = 0
        while j + 4 <= n { s0 += x[j]; s1 += x[j + 1]; s2 += x[j + 2]; s3 += x[j + 3]; j += 4 }
        while j < n { s0 += x[j]; j += 1 }
        return (s0 + s1) + (s2 + s3)
    }
}

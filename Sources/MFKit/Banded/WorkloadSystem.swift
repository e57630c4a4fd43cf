/// A workload A with a small linear state, seen one scalar step at a time: with input o_t
/// (one coordinate of C⁻¹ z) and state w_t (q numbers: one per state buffer of A's stages),
///
///     u_t = r_tᵀ w_t + s_t o_t          (the workload's output, row t of A applied)
///     w_{t+1} = M_t w_t + k_t o_t.
///
/// Built by introspecting a `StreamingMatrix`: only stages known to be linear with a per-element
/// state are accepted (DiagonalStage, PrefixSumStage, MomentumStage, in any product and with
/// any scaling); anything else, such as a banded inverse, is refused. The maps of step t are
/// read off by running the stages themselves on q + 1 lanes (lane j starts from state e_j and
/// input 0, the last lane from state 0 and input 1), so the system agrees with multiply_array
/// by construction. Schedules repeat their last entry, so the maps are constant from
/// T = max schedule length on; only min(n, T) steps are stored.
/// Cost: O(T (q + 1)(s + q)) time and O(T q²) memory to build, for s stages.
public struct WorkloadSystem {
    /// q, the state dimension.
    public let q: Int
    /// Steps stored; step t ≥ count uses the last one.
    let count: Int
    /// Per step: M (q × q row-major), k (q), r (q), s (1): q² + 2q + 1 numbers.
    let maps: [Double]
    var stride: Int { q * q + 2 * q + 1 }

    public init(_ workload: StreamingMatrix, n: Int) throws {
        var steps = 1
        for stage in workload.stages {
            switch stage {
            case let d as DiagonalStage: steps = Swift.max(steps, d.diag.count)
            case is PrefixSumStage: break
            case let m as MomentumStage: steps = Swift.max(steps, m.learningRates.count)
            default:
                throw MFError.invalidArgument(
                    "the workload A must be built from prefix_sum, momentum_sgd_matrix, diagonal and identity "
                    + "(products and scalings of them); it contains a \(type(of: stage)) stage, which the O(n b^2) "
                    + "error recursion does not support")
            }
        }
        steps = Swift.min(steps, Swift.max(n, 1))
        let pipeline = Pipeline(workload)
        let q = pipeline.stateCount, lanes = q + 1
        self.q = q
        count = steps
        let st = q * q + 2 * q + 1
        // steps · st comes from the caller's schedules and stage count: checked, not trapped.
        let (mapCount, overflow) = steps.multipliedReportingOverflow(by: st)
        guard !overflow, mapCount < 1 << 56 else {
            throw MFError.outOfMemory("the workload's per-step maps (\(steps) steps x \(st) numbers) are too large")
        }
        try Memory.requireAllocatable(mapCount, bytesPerElement: 8,
                               "the workload's per-step maps (\(steps) steps x \(st) numbers)")
        var maps = [Double](repeating: 0, count: mapCount)
        var state = [Double](repeating: 0, count: Swift.max(1, q * lanes))
        var v = [Double](repeating: 0, count: lanes)
        for t in 0..<steps {
            for i in 0..<state.count { state[i] = 0 }
            for j in 0..<q { state[j * lanes + j] = 1; v[j] = 0 }
            v[q] = 1
            state.withUnsafeMutableBufferPointer { sp in
                v.withUnsafeMutableBufferPointer { vp in
                    pipeline.step(t, vp.baseAddress!, lanes, sp.baseAddress!, lanes)
                }
            }
            let base = t * st
            for i in 0..<q {
                for j in 0..<q { maps[base + i * q + j] = state[i * lanes + j] }
                maps[base + q * q + i] = state[i * lanes + q]
                maps[base + q * q + q + i] = v[i]
            }
            maps[base + q * q + 2 * q] = v[q]
        }
        self.maps = maps
    }

    /// Offset of step t's maps in `maps`.
    @inline(__always)
    func offset(_ t: Int) -> Int { Swift.min(t, count - 1) * stride }
}

/// The array entry points of `Toeplitz`: coefficients and results as StridedArrays of any
/// strides (float32 or float64), checked with the shared vocabulary before any copy or write.
/// Coefficients are copied into float64; outputs are written once, after the computation.
extension Toeplitz {
    /// A 1-D real coefficient array as Doubles (finite, at least one entry).
    static func coefficients(_ a: StridedArray, _ name: String) throws -> [Double] {
        let values = try a.readVector(name)
        try Check.nonEmpty(values, name)
        try Check.finite(values, name)
        return values
    }

    static func optionalCoefficients(_ a: StridedArray?, _ name: String) throws -> [Double]? {
        try a.map { try coefficients($0, name) }
    }

    /// Calls `body` with float64 memory for the `count` elements of the 1-D output `out` (checked
    /// first): out's own when it is contiguous float64, else a work buffer written into out
    /// afterwards. `body` must not throw once it has written.
    static func writeDoubles(into out: StridedArray, count: Int, _ body: (UnsafeMutablePointer<Double>) throws -> Void) throws {
        try out.requireOutput("out", ndim: 1, shape: [count])
        guard count > 0 else { return }
        if out.dtype == .float64 && (count == 1 || out.strides[0] == 8) {
            try body(out.pointer(Double.self))
            return
        }
        let buffer = try WorkBuffer<Double>(count: count, "the result")
        try body(buffer.pointer)
        out.writeElements(buffer.pointer)
    }

    /// Writes `values` into a 1-D output of exactly their length.
    static func write(_ values: [Double], into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 1, shape: [values.count])
        values.withUnsafeBufferPointer { if values.count > 0 { out.writeElements($0.baseAddress!) } }
    }

    /// `pad_coefs_to_n` into out, shape (n ?? len(coef),). O(n').
    public static func padCoefs(_ coef: StridedArray, n: Int?, into out: StridedArray) throws {
        try write(try padCoefs(try coefficients(coef, "coef"), n: n), into: out)
    }

    /// `materialize_lower_triangular`: the n' × n' matrix T(coef) into out (n' = n ?? len(coef)),
    /// any strides. Time O(n'²), no work space.
    public static func materializeLowerTriangular(_ coef: StridedArray, n: Int?, into out: StridedArray) throws {
        let (c, size) = try reconcile(try coefficients(coef, "coef"), n)
        try out.requireOutput("out", ndim: 2, shape: [size, size])
        if out.dtype == .float32 { fill(out.matrix(Float.self), c) } else { fill(out.matrix(Double.self), c) }
    }

    private static func fill<T: RealScalar>(_ m: StridedMatrix<T>, _ c: [Double]) {
        for i in 0..<m.rows {
            for j in 0..<m.cols {
                let r = i - j
                m[i, j] = r >= 0 && r < c.count ? T(c[r]) : 0
            }
        }
    }

    /// `solve_banded(coef, rhs)`: x = T(coef)⁻¹ rhs for rhs of shape (n, ...) into out (same shape
    /// and dtype; out may be rhs itself). A vector is solved in float64 (the blocked solver); a
    /// larger rhs streams through `ToeplitzInverseStage` in its own dtype. coef finite with
    /// coef[0] ≠ 0 (any length: coefficients past n are never reached). Time O(n b m) for m
    /// elements per row; memory O(b) for a vector, the streaming work space otherwise.
    public static func solveBanded(_ coef: StridedArray, _ rhs: StridedArray, into out: StridedArray) throws {
        let c = try coefficients(coef, "coef")
        try requireInvertible(c, "coef")
        try rhs.requireInput("rhs")
        guard rhs.ndim >= 1 else { throw MFError.shape("rhs must have at least one dimension (the steps)") }
        if rhs.ndim == 1 {
            guard out.shape == rhs.shape, out.dtype == rhs.dtype else {
                throw MFError.shape("out must have rhs's shape \(shapeText(rhs.shape)) and dtype \(rhs.dtype), got \(shapeText(out.shape)) \(out.dtype)")
            }
            try out.requireOutput("out", ndim: 1)
            try out.requireDisjoint(from: rhs, "out", "rhs", allowSameView: true)
            let n = rhs.count
            let x = try WorkBuffer<Double>(count: n, "the solution")
            if n > 0 {
                rhs.copyElements(into: x.pointer)
                try BandedToeplitzSolver(Array(c.prefix(n))).solve(x.pointer, into: x.pointer, n)
                out.writeElements(x.pointer)
            }
            return
        }
        try StreamingMatrix(stages: [try ToeplitzInverseStage(coef: c, normalizeFor: nil)]).multiply(rhs, into: out)
    }

    /// `multiply(lhs_coef, rhs_coef, n)` into out, shape (min(n', l + r − 1),). See
    /// `multiply(_:_:n:skipChecks:)`.
    public static func multiply(_ lhs: StridedArray, _ rhs: StridedArray, n: Int?, skipChecks: Bool,
                                into out: StridedArray) throws {
        let product = try multiply(try coefficients(lhs, "lhs_coef"), try coefficients(rhs, "rhs_coef"), n: n,
                                   skipChecks: skipChecks)
        try write(product, into: out)
    }

    /// `inverse_coef(coef, n)`: the n' coefficients of T(coef)⁻¹ (n' = n ?? len(coef)) into out:
    /// T(coef)⁻¹ e_0 by the blocked solver. Time O(n' b), memory O(b) beyond out.
    public static func inverseCoef(_ coef: StridedArray, n: Int?, into out: StridedArray) throws {
        let (c, size) = try reconcile(try coefficients(coef, "coef"), n)
        try requireInvertible(c, "coef")
        let solver = try BandedToeplitzSolver(c)
        try writeDoubles(into: out, count: size) { x in
            x.update(repeating: 0, count: size)
            x[0] = 1
            solver.solve(x, into: x, size)
        }
    }

    /// `optimal_max_error_strategy_coefs(len(out))` into out.
    public static func optimalMaxErrorStrategyCoefs(into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 1)
        try write(try optimalMaxErrorStrategyCoefs(out.shape[0]), into: out)
    }

    /// `optimal_max_error_noising_coefs(len(out))` into out.
    public static func optimalMaxErrorNoisingCoefs(into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 1)
        try write(try optimalMaxErrorNoisingCoefs(out.shape[0]), into: out)
    }

    /// `sensitivity_squared(coef, n)`. O(b).
    public static func sensitivitySquared(_ coef: StridedArray, n: Int?) throws -> Double {
        try sensitivitySquared(try coefficients(coef, "coef"), n: n)
    }

    /// `minsep_sensitivity_squared`. O(b).
    public static func minsepSensitivitySquared(_ coef: StridedArray, minSep: Int, maxParticipations: Int?, n: Int?,
                                                skipChecks: Bool) throws -> Double {
        try minsepSensitivitySquared(try coefficients(coef, "strategy_coef"), minSep: minSep,
                                     maxParticipations: maxParticipations, n: n, skipChecks: skipChecks)
    }

    /// Exactly one of the two descriptions ("Specify exactly one of strategy_coef or noising_coef.").
    static func mechanism(strategy: StridedArray?, noising: StridedArray?) throws -> Mechanism {
        switch (strategy, noising) {
        case (let s?, nil): return .strategy(try coefficients(s, "strategy_coef"))
        case (nil, let v?): return .noising(try coefficients(v, "noising_coef"))
        default: throw MFError.invalidArgument("Specify exactly one of strategy_coef or noising_coef.")
        }
    }

    /// `per_query_error` into out, float64 or float32, of the length `perQueryError` gives
    /// (n' for a strategy; see `decoder` for a noising matrix).
    public static func perQueryError(strategy: StridedArray?, noising: StridedArray?, n: Int?, workload: StridedArray?,
                                     into out: StridedArray) throws {
        let (m, a) = (try mechanism(strategy: strategy, noising: noising), try optionalCoefficients(workload, "workload_coef"))
        try writeDoubles(into: out, count: try errorCount(m, n: n, workload: a)) { try perQueryError(m, n: n, workload: a, into: $0) }
    }

    /// The loss (see `loss(_:n:workload:reduction:timesSensitivity:gradient:)`) and, when `gradient`
    /// is given (1-D, the length of the coefficients given), its gradient.
    public static func loss(strategy: StridedArray?, noising: StridedArray?, n: Int?, workload: StridedArray?,
                            reduction: ErrorReduction, timesSensitivity: Bool, gradient out: StridedArray?) throws -> Double {
        let m = try mechanism(strategy: strategy, noising: noising)
        let given: Int
        switch m { case .strategy(let c): given = c.count; case .noising(let v): given = v.count }
        try out?.requireOutput("grad", ndim: 1, shape: [given])
        let (value, g) = try loss(m, n: n, workload: try optionalCoefficients(workload, "workload_coef"),
                                  reduction: reduction, timesSensitivity: timesSensitivity, gradient: out != nil)
        if let out, let g { g.withUnsafeBufferPointer { out.writeElements($0.baseAddress!) } }
        return value
    }

    /// `inverse_as_streaming_matrix(coef, column_normalize_for_n)`.
    public static func inverse(_ coef: StridedArray, columnNormalizeFor n: Int?) throws -> StreamingMatrix {
        try inverse(try coefficients(coef, "coef"), columnNormalizeFor: n)
    }

    /// `optimize_banded_toeplitz` with the result (unit norm) into out, shape (bands,); returns
    /// the run's report.
    public static func optimizeBandedToeplitz(n: Int, bands: Int, start: StridedArray?, maxSteps: Int,
                                              reduction: ErrorReduction, gradientTolerance: Double = 0,
                                              lossTolerance: Double = 0,
                                              callback: (Int, Double, Double) -> Bool = { _, _, _ in false },
                                              into out: StridedArray) throws -> LBFGS.Result {
        try Check.positive(bands, "bands")
        try out.requireOutput("out", ndim: 1, shape: [bands])
        let (coef, result) = try optimizeBandedToeplitz(
            n: n, bands: bands, start: try optionalCoefficients(start, "strategy_coef"), maxSteps: maxSteps,
            reduction: reduction, gradientTolerance: gradientTolerance, lossTolerance: lossTolerance, callback: callback)
        try write(coef, into: out)
        return result
    }
}

extension AmplifiedBandMF {
    /// `optimize_coefs_for_amplifications`: the chosen coefficients into the first `bands` entries
    /// of out (1-D, at least `maxBands` long), returning (bands, stddev, the chosen run's report).
    public func optimize(maxSteps: Int, gradientTolerance: Double = 0, lossTolerance: Double = 0,
                         callback: (Int, Double, Double) -> Bool = { _, _, _ in false },
                         into out: StridedArray) throws -> (bands: Int, stddev: Double, result: LBFGS.Result) {
        try out.requireOutput("out", ndim: 1)
        try require(out.shape[0] >= maxBands, "out must hold max_bands=\(maxBands) coefficients, got length \(out.shape[0])")
        let (coef, stddev, result) = try optimize(maxSteps: maxSteps, gradientTolerance: gradientTolerance,
                                                  lossTolerance: lossTolerance, callback: callback)
        var full = [Double](repeating: 0, count: out.shape[0])
        for (r, v) in coef.enumerated() { full[r] = v }
        try Toeplitz.write(full, into: out)
        return (coef.count, stddev, result)
    }
}

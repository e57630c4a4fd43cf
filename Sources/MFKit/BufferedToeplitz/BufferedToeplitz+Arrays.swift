/// The array entry points of BLTs: parameters and results as StridedArrays of any strides
/// (float32 or float64), checked with the shared vocabulary before anything is written.
/// Parameters are read (copied) before outputs are written, so an output may be an input.
extension BufferedToeplitz {
    /// A BLT from two 0-D or 1-D arrays of one length (copied, in the given order; a 0-D array
    /// is one buffer, as jax_privacy's `validate` allows). O(d).
    public init(bufDecay: StridedArray, outputScale: StridedArray,
                names: (String, String) = ("buf_decay", "output_scale")) throws {
        try self.init(bufDecay: try BufferedToeplitz.parameters(bufDecay, names.0),
                      outputScale: try BufferedToeplitz.parameters(outputScale, names.1))
    }

    /// The values of a 0-D or 1-D real array (copied). O(d).
    public static func parameters(_ a: StridedArray, _ name: String) throws -> [Double] {
        try a.requireInput(name)
        guard a.ndim <= 1 else {
            throw MFError.shape("\(name) must be 0D or 1D, got shape \(shapeText(a.shape))")
        }
        return try a.readDoubles(name)
    }

    /// Writes buf_decay and output_scale into two (d,) arrays.
    public func write(bufDecay out1: StridedArray, outputScale out2: StridedArray, names: (String, String) = ("out_buf_decay", "out_output_scale")) throws {
        try out1.requireOutput(names.0, ndim: 1, shape: [count])
        try out2.requireOutput(names.1, ndim: 1, shape: [count])
        try [(out1, names.0)].requireDisjoint(from: [(out2, names.1)])
        bufDecay.withUnsafeBufferPointer { if count > 0 { out1.writeElements($0.baseAddress!) } }
        outputScale.withUnsafeBufferPointer { if count > 0 { out2.writeElements($0.baseAddress!) } }
    }

    /// Writes a gradient into optional (d,) arrays (each may be absent).
    public func writeGradient(_ v: BLTValue, bufDecay g1: StridedArray?, outputScale g2: StridedArray?) throws {
        try g1?.requireOutput("grad_buf_decay", ndim: 1, shape: [count])
        try g2?.requireOutput("grad_output_scale", ndim: 1, shape: [count])
        if let g1, let g2 { try [(g1, "grad_buf_decay")].requireDisjoint(from: [(g2, "grad_output_scale")]) }
        if count == 0 { return }
        v.bufDecay.withUnsafeBufferPointer { p in g1?.writeElements(p.baseAddress!) }
        v.outputScale.withUnsafeBufferPointer { p in g2?.writeElements(p.baseAddress!) }
    }

    /// `fromRationalApproxToSqrtX` into two (numBuffers,) arrays, num_buffers checked first.
    public static func fromRationalApproxToSqrtX(numBuffers: Int, maxBufDecay: Double, maxPillutlaScore: Double?,
                                                 bufDecayScale: Double, bufDecayShift: Int,
                                                 into out1: StridedArray, _ out2: StridedArray) throws {
        try checkRationalApprox(numBuffers)
        try out1.requireOutput("out_buf_decay", ndim: 1, shape: [numBuffers])
        try out2.requireOutput("out_output_scale", ndim: 1, shape: [numBuffers])
        try fromRationalApproxToSqrtX(numBuffers: numBuffers, maxBufDecay: maxBufDecay, maxPillutlaScore: maxPillutlaScore,
                                      bufDecayScale: bufDecayScale, bufDecayShift: bufDecayShift)
            .write(bufDecay: out1, outputScale: out2)
    }

    /// `optimize(n:…)` into the first d entries of two 1-D arrays of at least maxBuffers
    /// entries; returns d and the chosen run's report. The arguments are checked before the
    /// outputs.
    public static func optimize(n: Int, minSep: Int, maxParticipations: Int?, error: BLTLoss.ErrorKind,
                                minBuffers: Int, maxBuffers: Int, rtol: Double, maxSteps: Int,
                                gradientTolerance: Double = 0, lossTolerance: Double = 0,
                                callback: (Int, Double, Double) -> Bool,
                                into out1: StridedArray, _ out2: StridedArray) throws -> (count: Int, result: LBFGS.Result) {
        try checkOptimize(minBuffers: minBuffers, maxBuffers: maxBuffers, rtol: rtol)
        try out1.requireOutput("out_buf_decay", ndim: 1)
        try out2.requireOutput("out_output_scale", ndim: 1)
        try require(out1.shape[0] >= maxBuffers && out2.shape[0] >= maxBuffers,
                    "out_buf_decay and out_output_scale must have at least max_buffers=\(maxBuffers) entries")
        try [(out1, "out_buf_decay")].requireDisjoint(from: [(out2, "out_output_scale")])
        let (b, result) = try optimize(n: n, minSep: minSep, maxParticipations: maxParticipations, error: error,
                                       minBuffers: minBuffers, maxBuffers: maxBuffers, rtol: rtol, maxSteps: maxSteps,
                                       gradientTolerance: gradientTolerance, lossTolerance: lossTolerance,
                                       callback: callback)
        let head = { (a: StridedArray) in StridedArray(data: a.data, dtype: a.dtype, shape: [b.count], strides: a.strides) }
        try b.write(bufDecay: head(out1), outputScale: head(out2))
        return (b.count, result)
    }

    /// The first n = len(out) ≥ 1 Toeplitz coefficients into out. Time O(n d).
    public func toeplitzCoefs(into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 1)
        let c = try toeplitzCoefs(out.shape[0])
        c.withUnsafeBufferPointer { out.writeElements($0.baseAddress!) }
    }

    /// The leading n × n block of C into out (n, n), n ≥ 1. Time O(n² + n d), memory O(n).
    public func materialize(into out: StridedArray) throws {
        try out.requireOutput("out", ndim: 2)
        let n = out.shape[0]
        try require(out.shape[1] == n, "out must be square (n, n), got shape \(shapeText(out.shape))")
        let c = try toeplitzCoefs(n)
        func fill<T: RealScalar>(_ m: StridedMatrix<T>) {
            for i in 0..<n { for j in 0..<n { m[i, j] = i >= j ? T(c[i - j]) : 0 } }
        }
        if out.dtype == .float32 { fill(out.matrix(Float.self)) } else { fill(out.matrix(Double.self)) }
    }
}

extension BufferedToeplitz {
    /// `geometricSum` elementwise: out = a (1 + r + … + r^{num−1}) for arrays a, r and out of
    /// one shape (a and r may be broadcast views), the derivative with respect to r into
    /// `gradient` when given. Time O(count log num).
    public static func geometricSum(a: StridedArray, r: StridedArray, num: Double, into out: StridedArray,
                                    gradient: StridedArray?) throws {
        try out.requireOutput("out")
        try a.requireInput("a", shape: out.shape)
        try r.requireInput("r", shape: out.shape)
        try gradient?.requireOutput("grad_r", shape: out.shape)
        if let gradient { try [(out, "out")].requireDisjoint(from: [(gradient, "grad_r")]) }
        try checkSteps(num, "num", allowInfinity: true)
        let (av, rv) = (try a.readDoubles("a"), try r.readDoubles("r"))
        var values = av, derivatives = av
        for i in 0..<av.count { (values[i], derivatives[i]) = try geometricSum(av[i], rv[i], num) }
        values.withUnsafeBufferPointer { if !$0.isEmpty { out.writeElements($0.baseAddress!) } }
        derivatives.withUnsafeBufferPointer { p in if !p.isEmpty { gradient?.writeElements(p.baseAddress!) } }
    }
}

extension BufferedToeplitz {
    /// `inverse(skipChecks:)` into two (d,) arrays (checked before the work).
    public func inverse(skipChecks: Bool, into out1: StridedArray, _ out2: StridedArray) throws {
        try out1.requireOutput("out_buf_decay", ndim: 1, shape: [count])
        try out2.requireOutput("out_output_scale", ndim: 1, shape: [count])
        try inverse(skipChecks: skipChecks).write(bufDecay: out1, outputScale: out2)
    }

    /// A closed form's value with its gradient written into optional (d,) arrays, checked before
    /// the work.
    public func value(gradient g1: StridedArray?, _ g2: StridedArray?, _ compute: () throws -> BLTValue) throws -> Double {
        try g1?.requireOutput("grad_buf_decay", ndim: 1, shape: [count])
        try g2?.requireOutput("grad_output_scale", ndim: 1, shape: [count])
        let v = try compute()
        try writeGradient(v, bufDecay: g1, outputScale: g2)
        return v.value
    }

    /// `optimize(loss:numBuffers:…)` into two (numBuffers,) arrays (checked before the work);
    /// returns the loss and the run's report.
    public static func optimize(loss: BLTLoss, numBuffers: Int, initial: BufferedToeplitz?, maxSteps: Int,
                                gradientTolerance: Double = 0, lossTolerance: Double = 0,
                                callback: (Int, Double, Double) -> Bool,
                                into out1: StridedArray, _ out2: StridedArray) throws -> (loss: Double, result: LBFGS.Result) {
        try out1.requireOutput("out_buf_decay", ndim: 1, shape: [numBuffers])
        try out2.requireOutput("out_output_scale", ndim: 1, shape: [numBuffers])
        let (b, value, result) = try optimize(loss: loss, numBuffers: numBuffers, initial: initial, maxSteps: maxSteps,
                                              gradientTolerance: gradientTolerance, lossTolerance: lossTolerance,
                                              callback: callback)
        try b.write(bufDecay: out1, outputScale: out2)
        return (value, result)
    }
}

extension BLTLoss {
    /// A loss from the C ABI's description: the closed form (max error only) or the min-sep
    /// loss, with its penalty settings (finite) and multipliers ((9,) real array, or all ones).
    public static func described(n: Int, minSep: Int, maxParticipations: Int?, error: ErrorKind, closedForm: Bool,
                                 penaltyStrength: Double = 1e-8, multipliers: StridedArray? = nil,
                                 maxSecondCoef: Double = 1, minThetaGap: Double = 1e-12) throws -> BLTLoss {
        var loss: BLTLoss
        if closedForm {
            try require(error == .max, "the closed-form loss is for max error only")
            loss = try .closedFormSingleParticipation(n: n)
        } else {
            loss = try .minSep(n: n, error: error, minSep: minSep, maxParticipations: maxParticipations)
        }
        try Check.finite(penaltyStrength, "penalty_strength")
        try Check.finite(maxSecondCoef, "max_second_coef")
        try Check.finite(minThetaGap, "min_theta_gap")
        (loss.penaltyStrength, loss.maxSecondCoef, loss.minThetaGap) = (penaltyStrength, maxSecondCoef, minThetaGap)
        if let m = multipliers {
            try m.requireInput("penalty_multipliers", ndim: 1, shape: [9])
            loss.penaltyMultipliers = try m.readVector("penalty_multipliers")
            try Check.finite(loss.penaltyMultipliers, "penalty_multipliers")
        }
        return loss
    }

    /// The pair's penalties into a (9,) array (lengths checked first).
    public func penalties(_ c: BufferedToeplitz, _ inv: BufferedToeplitz, into out: StridedArray) throws {
        try requireSameLength(c, inv)
        try out.requireOutput("out", ndim: 1, shape: [9])
        penalties(c, inv).withUnsafeBufferPointer { out.writeElements($0.baseAddress!) }
    }

    /// C and C⁻¹ have one number of buffers.
    public func requireSameLength(_ c: BufferedToeplitz, _ inv: BufferedToeplitz) throws {
        try require(inv.count == c.count, "inv_buf_decay must have the length of buf_decay (\(c.count)), got \(inv.count)")
    }
}

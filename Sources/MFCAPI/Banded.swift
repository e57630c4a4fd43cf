import MFKit

// Banded strategies (include/mfkit.h, "banded strategies (mfkit_banded_*)").

private func strategy(_ h: OpaquePointer?, _ name: String = "strategy") throws -> ColumnNormalizedBanded {
    try handles.lookup(h, ColumnNormalizedBanded.self, name)
}

private func workloadOrPrefixSum(_ h: OpaquePointer?) throws -> StreamingMatrix {
    h == nil ? StreamingMatrix.prefixSum() : try handles.lookup(h, StreamingMatrix.self, "A")
}

/// Reads an (n, b) float32/float64 array of any strides into row-major doubles.
private func readMatrix(_ a: StridedArray, _ name: String) throws -> (values: [Double], n: Int, b: Int) {
    guard a.ndim == 2 else { throw MFError.shape("\(name) must be two-dimensional (n, bands), got shape \(a.shape)") }
    try a.requireElementStrides(name)
    let (n, b) = (a.shape[0], a.shape[1])
    try require(n >= 1 && b >= 1, "\(name) must not be empty, got shape \(a.shape)")
    guard let base = a.data else { throw MFError.invalidArgument("\(name): data pointer is null") }
    var out = [Double](repeating: 0, count: n * b)
    switch a.dtype {
    case .float32:
        let p = base.assumingMemoryBound(to: Float.self), rs = a.strides[0] / 4, cs = a.strides[1] / 4
        for i in 0..<n { for j in 0..<b { out[i * b + j] = Double(p[i * rs + j * cs]) } }
    case .float64:
        let p = base.assumingMemoryBound(to: Double.self), rs = a.strides[0] / 8, cs = a.strides[1] / 8
        for i in 0..<n { for j in 0..<b { out[i * b + j] = p[i * rs + j * cs] } }
    default:
        throw MFError.dtype("\(name) must be float32 or float64, got \(a.dtype)")
    }
    return (out, n, b)
}

/// Writes row-major doubles into an (n, b) float32/float64 array of any strides.
private func writeMatrix(_ values: [Double], _ n: Int, _ b: Int, _ a: StridedArray, _ name: String) throws {
    guard a.shape == [n, b] else { throw MFError.shape("\(name) must have shape (\(n), \(b)), got \(a.shape)") }
    try a.requireElementStrides(name)
    guard let base = a.data else { throw MFError.invalidArgument("\(name): data pointer is null") }
    switch a.dtype {
    case .float32:
        let p = base.assumingMemoryBound(to: Float.self), rs = a.strides[0] / 4, cs = a.strides[1] / 4
        for i in 0..<n { for j in 0..<b { p[i * rs + j * cs] = Float(values[i * b + j]) } }
    case .float64:
        let p = base.assumingMemoryBound(to: Double.self), rs = a.strides[0] / 8, cs = a.strides[1] / 8
        for i in 0..<n { for j in 0..<b { p[i * rs + j * cs] = values[i * b + j] } }
    default:
        throw MFError.dtype("\(name) must be float32 or float64, got \(a.dtype)")
    }
}

/// Writes a vector into a (n,) float32/float64 array.
private func writeVector(_ values: [Double], _ a: StridedArray, _ name: String) throws {
    guard a.shape == [values.count] else { throw MFError.shape("\(name) must have shape (\(values.count),), got \(a.shape)") }
    try a.requireElementStrides(name)
    guard let base = a.data else { throw MFError.invalidArgument("\(name): data pointer is null") }
    switch a.dtype {
    case .float32:
        let p = base.assumingMemoryBound(to: Float.self), s = a.strides[0] / 4
        for i in 0..<values.count { p[i * s] = Float(values[i]) }
    case .float64:
        let p = base.assumingMemoryBound(to: Double.self), s = a.strides[0] / 8
        for i in 0..<values.count { p[i * s] = values[i] }
    default:
        throw MFError.dtype("\(name) must be float32 or float64, got \(a.dtype)")
    }
}

private func reduction(_ code: Int32, _ weights: UnsafeRawPointer?, _ n: Int) throws -> ErrorReduction {
    switch code {
    case 0: return .mean
    case 1: return .max
    case 2: return .last
    case 3:
        guard weights != nil else { throw MFError.invalidArgument("reduction is MFKIT_REDUCTION_WEIGHTS but weights is NULL") }
        let w = try readArray(weights, "weights").doubles("weights")
        guard w.count == n else { throw MFError.shape("weights must have length n=\(n), got \(w.count)") }
        try require(w.allSatisfy { $0.isFinite }, "weights must be finite")
        return .weights(w)
    default:
        throw MFError.invalidArgument("unknown reduction code \(code) (0 mean, 1 max, 2 last, 3 weights)")
    }
}

@_cdecl("mfkit_banded_create")
public func mfkit_banded_create(_ params: UnsafeRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("ColumnNormalizedBanded") {
        let (values, n, b) = try readMatrix(try readArray(params, "params"), "params")
        try storeHandle(out, "out") { try ColumnNormalizedBanded(params: values, n: n, bands: b) }
    }
}

@_cdecl("mfkit_banded_from_banded_toeplitz")
public func mfkit_banded_from_banded_toeplitz(_ n: Int64, _ coefs: UnsafeRawPointer?,
                                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("from_banded_toeplitz") {
        let c = try readArray(coefs, "coefs").doubles("coefs")
        try storeHandle(out, "out") { try ColumnNormalizedBanded.fromBandedToeplitz(n: Int(n), coefs: c) }
    }
}

@_cdecl("mfkit_banded_default")
public func mfkit_banded_default(_ n: Int64, _ bands: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("default") {
        try require(bands <= n, "len(coefs) must be in the range [1, n], got \(bands)")
        try storeHandle(out, "out") { try ColumnNormalizedBanded.default(n: Int(n), bands: Int(bands)) }
    }
}

@_cdecl("mfkit_banded_free")
public func mfkit_banded_free(_ h: OpaquePointer?) -> Int32 {
    guarded("banded_free") { try handles.release(h, ColumnNormalizedBanded.self, "strategy") }
}

@_cdecl("mfkit_banded_shape")
public func mfkit_banded_shape(_ h: OpaquePointer?, _ n: UnsafeMutablePointer<Int64>?,
                               _ bands: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded("shape") {
        let s = try strategy(h)
        guard let n, let bands else { throw MFError.invalidArgument("n and bands must not be null pointers") }
        n.pointee = Int64(s.n)
        bands.pointee = Int64(s.bands)
    }
}

@_cdecl("mfkit_banded_params")
public func mfkit_banded_params(_ h: OpaquePointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("params") {
        let s = try strategy(h)
        try writeMatrix(s.params, s.n, s.bands, try readOutputArray(out, "out"), "out")
    }
}

@_cdecl("mfkit_banded_materialize")
public func mfkit_banded_materialize(_ h: OpaquePointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("materialize") { try strategy(h).materialize(into: try readOutputArray(out, "out")) }
}

@_cdecl("mfkit_banded_inverse")
public func mfkit_banded_inverse(_ h: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("inverse_as_streaming_matrix") {
        let s = try strategy(h)
        try storeHandle(out, "out") { s.inverse() }
    }
}

@_cdecl("mfkit_banded_minsep_sensitivity_squared")
public func mfkit_banded_minsep_sensitivity_squared(_ h: OpaquePointer?, _ minSep: Int64, _ maxParticipations: Int64,
                                                    _ n: Int64, _ skipChecks: Int32,
                                                    _ out: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded("minsep_sensitivity_squared") {
        let s = try strategy(h)
        guard let out else { throw MFError.invalidArgument("out is a null pointer") }
        let value = try s.minsepSensitivitySquared(minSep: Int(minSep),
                                                   maxParticipations: maxParticipations < 0 ? nil : Int(maxParticipations),
                                                   n: n == 0 ? nil : Int(n), skipChecks: skipChecks != 0)
        out.pointee = Int64(value)
    }
}

@_cdecl("mfkit_banded_per_query_error")
public func mfkit_banded_per_query_error(_ h: OpaquePointer?, _ a: OpaquePointer?, _ out: UnsafeRawPointer?) -> Int32 {
    guarded("per_query_error") {
        let s = try strategy(h)
        let w = try workloadOrPrefixSum(a)
        let o = try readOutputArray(out, "out")
        guard o.shape == [s.n] else { throw MFError.shape("out must have shape (\(s.n),), got \(o.shape)") }
        try writeVector(try s.perQueryError(workload: w), o, "out")
    }
}

@_cdecl("mfkit_banded_loss")
public func mfkit_banded_loss(_ h: OpaquePointer?, _ a: OpaquePointer?, _ code: Int32, _ weights: UnsafeRawPointer?,
                              _ loss: UnsafeMutablePointer<Double>?, _ grad: UnsafeRawPointer?) -> Int32 {
    guarded("loss") {
        let s = try strategy(h)
        let w = try workloadOrPrefixSum(a)
        let red = try reduction(code, weights, s.n)
        guard let loss else { throw MFError.invalidArgument("loss is a null pointer") }
        let g = try readOptionalArray(grad, "grad")
        try g?.requireDisjointElements("grad")
        if let g, g.shape != [s.n, s.bands] {
            throw MFError.shape("grad must have shape (\(s.n), \(s.bands)), got \(g.shape)")
        }
        if let g { try g.requireElementStrides("grad"); guard g.dtype.isReal else { throw MFError.dtype("grad must be float32 or float64, got \(g.dtype)") } }
        let (value, gradient) = try s.loss(workload: w, reduction: red, gradient: g != nil)
        if let g, let gradient { try writeMatrix(gradient, s.n, s.bands, g, "grad") }
        loss.pointee = value
    }
}

public typealias OptimizeCallback = @convention(c) (UnsafeMutableRawPointer?, Int64, Double, Double) -> Int32

@_cdecl("mfkit_banded_optimize")
public func mfkit_banded_optimize(_ n: Int64, _ bands: Int64, _ initial: OpaquePointer?, _ a: OpaquePointer?,
                                  _ maxSteps: Int64, _ code: Int32, _ weights: UnsafeRawPointer?,
                                  _ callback: OptimizeCallback?, _ user: UnsafeMutableRawPointer?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("optimize") {
        try require(n >= 1, "n must be positive, got \(n)")
        try require(bands >= 1, "bands must be positive, got \(bands)")
        guard out != nil else { throw MFError.invalidArgument("out is a null pointer") }
        let start = initial == nil ? nil : try strategy(initial, "C")
        let w = try workloadOrPrefixSum(a)
        let red = try reduction(code, weights, Int(n))
        let (result, _) = try ColumnNormalizedBanded.optimize(
            n: Int(n), bands: Int(bands), initial: start, workload: w, maxSteps: Int(maxSteps), reduction: red,
            callback: { step, loss, gnorm in
                guard let callback else { return false }
                return callback(user, Int64(step), loss, gnorm) != 0
            })
        try storeHandle(out, "out") { result }
    }
}

public typealias ObjectiveCallback = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<Double>?,
                                                     UnsafeMutablePointer<Double>?, Int64) -> Double

@_cdecl("mfkit_banded_lbfgs_minimize")
public func mfkit_banded_lbfgs_minimize(_ x: UnsafeRawPointer?, _ objective: ObjectiveCallback?,
                                        _ callback: OptimizeCallback?, _ user: UnsafeMutableRawPointer?,
                                        _ maxSteps: Int64, _ memory: Int64, _ steps: UnsafeMutablePointer<Int64>?,
                                        _ loss: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("optimization.optimize") {
        let xa = try readArray(x, "x")
        guard xa.dtype == .float64 else { throw MFError.dtype("x must be float64, got \(xa.dtype)") }
        try xa.requireElementStrides("x")
        try xa.requireDisjointElements("x")   // updated in place
        guard let objective else { throw MFError.invalidArgument("objective is a null function pointer") }
        try require(maxSteps >= 0, "max_optimizer_steps must be non-negative, got \(maxSteps)")
        try require(memory >= 1, "memory must be positive, got \(memory)")
        let count = xa.count
        try require(count >= 1, "x must not be empty")
        // Gather x (any strides) into a contiguous start.
        let lines = PairedLines(shape: xa.shape, a: xa.strides, b: xa.strides, itemSize: 8)
        let base = xa.data!.assumingMemoryBound(to: Double.self)
        var start = [Double](repeating: 0, count: count)
        var k = 0
        for line in 0..<lines.lineCount {
            let o = lines.lineOffsets(line).a
            for i in 0..<lines.length { start[k] = base[o + i * lines.strideA]; k += 1 }
        }
        let result = try LBFGS(maxSteps: Int(maxSteps), memory: Int(memory)).minimize(start, { p, g in
            objective(user, p, g, Int64(count))
        }, callback: { step, value, gnorm in
            guard let callback else { return false }
            return callback(user, Int64(step), value, gnorm) != 0
        })
        k = 0
        for line in 0..<lines.lineCount {
            let o = lines.lineOffsets(line).a
            for i in 0..<lines.length { base[o + i * lines.strideA] = result.x[k]; k += 1 }
        }
        steps?.pointee = Int64(result.steps)
        loss?.pointee = result.loss
    }
}

/// The optimal dense strategy (jax_privacy's `dense.optimize`).
extension Dense {
    /// What the callback sees after every step: the step index (from 0), the loss and the
    /// projected gradient at the point the step started from, and the parameters X after the
    /// step (both n × n, row-major, valid during the call only).
    public struct OptimizeStep {
        public let step: Int
        public let loss: Double
        public let gradient: UnsafePointer<Double>
        public let params: UnsafePointer<Double>
        public let n: Int
    }

    /// Steps taken and the loss of the returned strategy.
    public struct OptimizeResult: Equatable {
        public let steps: Int
        public let loss: Double
    }

    /// Optimizes the Gram matrix X = Cᵀ C of a strategy for workload A (`workload`, k × n;
    /// nil: prefix sums) and writes C = strategy_from_X(X) into `out` ((n, n), float32 or
    /// float64). The loss is the reduction of the per-query errors (e_j = (A X⁻¹ Aᵀ)_jj; mean:
    /// Σ e_j / n); participation constraints are kept by projecting the gradient, as
    /// jax_privacy does: X starts at I / epochs; the diagonal gradient is zero (`equalNorm`)
    /// or has zero sum over each user's steps {j, j + b, …} (b = n / epochs), so those
    /// diagonal sums stay 1; entries (i ≠ j, i ≡ j mod b) and, with `bands`, |i − j| ≥ bands
    /// are held at 0.
    ///
    /// The optimizer is the one of jax_privacy (optax's L-BFGS with one pair and scaled identity,
    /// backtracking line search: first step min(1.5 × the previous step, 1), × 0.8 until
    /// L(X + t u) ≤ L(X) + 10⁻⁴ t ∇Lᵀu, at most 129 trials, step 0 when none is finite), so it
    /// reaches jax_privacy's strategies. After step i, `callback` sees the step (loss and
    /// gradient from its start, X after it) and stops the run by returning true; the run also
    /// stops when max |projected gradient| ≤ `gradientTolerance` (jax_privacy's default
    /// callback, 10⁻³; nil: never), or after `maxSteps`.
    ///
    /// Checks: n ≥ 1; epochs ≥ 1 dividing n; bands ≥ 1; maxSteps ≥ 0; A finite with n columns;
    /// weights of length k. Time per step: one loss-and-gradient (prefix sums: n³/3 + n³/3 +
    /// n³/3 + n³, i.e. 2n³ flops; general A: n³/3 + 3n² k) plus one loss (2n³/3; n³/3 + n² k)
    /// per line-search trial beyond the first, all in OpenBLAS over `Threads.count` cores;
    /// O(n²) elementwise work. Memory 7 n² doubles (+ 3 n k for a general A).
    public static func optimize(n: Int, epochs: Int = 1, bands: Int? = nil, equalNorm: Bool = false,
                                workload: StridedArray? = nil, reduction: ErrorReduction = .mean,
                                maxSteps: Int = 10000, gradientTolerance: Double? = 1e-3,
                                callback: ((OptimizeStep) -> Bool)? = nil, into out: StridedArray) throws -> OptimizeResult {
        try Check.positive(n, "n")
        try requireEpochs(epochs, n: n)
        if let bands { try Check.positive(bands, "bands") }
        try Check.nonNegative(maxSteps, "max_optimizer_steps")
        if let gradientTolerance { try Check.finite(gradientTolerance, "the gradient tolerance") }
        try out.requireOutput("out", ndim: 2, shape: [n, n])
        let a = try workloadView(workload, n: n, squares: 7)
        let library = try BLASLibrary.shared()
        let model = try DenseErrorModel(n: n, workload: a, reduction: reduction)
        let projection = GradientProjection(n: n, epochs: epochs, bands: bands, equalNorm: equalNorm)
        let nd = Double(n)
        return try library.withThreads(BLASLibrary.threads(forFlops: nd * nd * nd / 3)) {
            var state = try LBFGSOneState(n: n, epochs: epochs)
            let result = try state.run(model: model, projection: projection, maxSteps: maxSteps,
                                       tolerance: gradientTolerance, callback: callback)
            let c = StridedMatrix(base: state.x, rows: n, cols: n, rowStride: n, colStride: 1)
            // J X J into the lower triangle, then C in place.
            for i in 0..<n { for j in 0...i { state.g[i * n + j] = c[n - 1 - i, n - 1 - j] } }
            let y = StridedMatrix(base: state.g, rows: n, cols: n, rowStride: n, colStride: 1)
            try strategy(fromReversedGram: y)
            out.writeElements(state.g)
            return result
        }
    }
}

extension Dense {
    /// The workload A (k × n, finite), after checking that the work space of `squares` n × n
    /// and three n × k double matrices can be had (so a huge broadcast A is refused before it
    /// is scanned). O(k n).
    static func workloadView(_ workload: StridedArray?, n: Int, squares: Int) throws -> RealMatrixView? {
        let a = try workload.map { try Sensitivity.matrix($0, "A") }
        if let a, a.cols != n { throw MFError.shape("A must have n = \(n) columns, got shape (\(a.rows), \(a.cols))") }
        let nn = try Check.product(n, n, "an n x n matrix"), nk = try Check.product(n, a?.rows ?? 0, "an n x k matrix")
        let (total, overflow) = try Check.product(nn, squares, "the work space").addingReportingOverflow(try Check.product(nk, 3, "the work space"))
        guard !overflow else { throw MFError.outOfMemory("the work space for n = \(n) is too large") }
        try Memory.requireAllocatable(total, bytesPerElement: 8, "the work space (\(squares) n^2 + 3 n k doubles)")
        if let a { try require(a.allFinite(), "Matrix A is not finite") }
        return a
    }
}

/// jax_privacy's gradient projection for the participation constraints (see `Dense.optimize`).
struct GradientProjection {
    let n: Int, epochs: Int, bands: Int?, equalNorm: Bool

    /// In place on the n × n gradient g. O(n²).
    func apply(_ g: UnsafeMutablePointer<Double>) {
        let b = n / epochs
        if equalNorm {
            for i in 0..<n { g[i * n + i] = 0 }
        } else {
            for j in 0..<b {
                var sum = 0.0
                for p in 0..<epochs { let i = j + p * b; sum += g[i * n + i] }
                let mean = sum / Double(epochs)
                for p in 0..<epochs { let i = j + p * b; g[i * n + i] -= mean }
            }
        }
        if epochs > 1 {   // the same user's steps: i ≡ j (mod b), i ≠ j
            for i in 0..<n { for j in stride(from: i % b, to: n, by: b) where j != i { g[i * n + j] = 0 } }
        }
        if let bands, bands < n {
            for i in 0..<n {
                let row = g + i * n
                for j in 0..<Swift.max(0, i - bands + 1) { row[j] = 0 }
                for j in Swift.min(n, i + bands)..<n { row[j] = 0 }
            }
        }
    }
}

/// optax.lbfgs(memory_size=1, linesearch=scale_by_backtracking_linesearch(128)) on n × n
/// iterates, as jax_privacy runs it (the default of its `optimization.optimize`):
///
///     s = X − X_prev, y = g − g_prev, ρ = 1/(sᵀy) (0 if sᵀy = 0), γ = sᵀy / yᵀy (1 if yᵀy = 0;
///     min(1, 1/‖g‖) at the first step), α = ρ sᵀg, r = γ (g − α y), r += (α − ρ yᵀr) s,
///     u = −r, then the backtracking line search along u.
///
/// Buffers (n² doubles each): x, the trial point, g, s, y (the previous g until the new one
/// arrives) and r.
struct LBFGSOneState {
    let n: Int, count: Int
    private let buffers: WorkBuffer<Double>
    private(set) var x: UnsafeMutablePointer<Double>
    private var trial: UnsafeMutablePointer<Double>
    let g, s, y, r: UnsafeMutablePointer<Double>

    init(n: Int, epochs: Int) throws {
        self.n = n
        count = n * n
        buffers = try WorkBuffer<Double>(count: try Check.product(count, 6, "the optimizer's work space"), zeroed: true,
                                         "the optimizer's work space (6 n^2 doubles)")
        let p = buffers.pointer
        x = p; trial = p + count; g = p + 2 * count; s = p + 3 * count; y = p + 4 * count; r = p + 5 * count
        for i in 0..<n { x[i * n + i] = 1 / Double(epochs) }
    }

    mutating func run(model: DenseErrorModel, projection: GradientProjection, maxSteps: Int, tolerance: Double?,
                      callback: ((Dense.OptimizeStep) -> Bool)?) throws -> Dense.OptimizeResult {
        var f = 0.0, stepSize = 1.0, steps = 0
        for step in 0..<maxSteps {
            // Value and projected gradient at x (the accepted trial's factor, when there is one).
            if !model.factorIsCurrent { f = try model.loss(x) }
            guard model.factorIsCurrent else {
                throw MFError.numerical("the loss is not finite at step \(step) (X is not positive definite)")
            }
            try model.gradient(into: g)
            projection.apply(g)

            // Direction r (memory one); y becomes g − g_prev, then holds g for the next step.
            var gamma: Double, rho = 0.0
            if step > 0 {
                for i in 0..<count { y[i] = g[i] - y[i] }
                let sy = dot(s, y), yy = dot(y, y)
                rho = sy == 0 ? 0 : 1 / sy
                gamma = yy > 0 ? sy / yy : 1
            } else {
                gamma = Swift.min(1, 1 / dot(g, g).squareRoot())
            }
            let alpha = rho * dot(s, g)
            for i in 0..<count { r[i] = gamma * (g[i] - alpha * y[i]) }
            let beta = rho * dot(y, r)
            for i in 0..<count { r[i] += (alpha - beta) * s[i] }
            y.update(from: g, count: count)
            let slope = -dot(r, g)

            // Backtracking: t = min(1.5 t_prev, 1), × 0.8 until sufficient decrease (≤ 129 trials).
            var t = Swift.min(1.5 * stepSize, 1), trials = 0, excess = Double.infinity, ft = f
            while !(excess <= 0) && trials <= 128 {
                if trials > 0 { t *= 0.8 }
                for i in 0..<count { trial[i] = x[i] + t * -r[i] }
                ft = try model.loss(trial)
                let e = ft - f - t * 1e-4 * slope
                excess = e.isNaN ? .infinity : Swift.max(e, 0)
                trials += 1
            }
            let lossAtStart = f
            if excess.isInfinite {   // no finite trial: step 0 (x stays; its factor is recomputed)
                stepSize = 0
                s.update(repeating: 0, count: count)
            } else {
                stepSize = t
                for i in 0..<count { s[i] = trial[i] - x[i] }
                swap(&x, &trial)
                f = ft
            }
            steps = step + 1
            var stop = callback?(Dense.OptimizeStep(step: step, loss: lossAtStart, gradient: g, params: x, n: n)) ?? false
            if let tolerance, maxAbs(g) <= tolerance { stop = true }
            if stop { break }
        }
        if steps == 0 { f = try model.loss(x) }
        return Dense.OptimizeResult(steps: steps, loss: f)
    }

    private func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var i = 0
        while i + 4 <= count { s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]; i += 4 }
        while i < count { s0 += a[i] * b[i]; i += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    private func maxAbs(_ a: UnsafePointer<Double>) -> Double {
        var m = 0.0
        for i in 0..<count { m = Swift.max(m, Swift.abs(a[i])) }
        return m
    }
}

extension Dense {
    /// The loss L(X) = Σ_j w_j (A X⁻¹ Aᵀ)_jj for the Gram matrix X (n × n, symmetric positive
    /// definite; its lower triangle is read) and workload A (`workload`, k × n; nil: prefix
    /// sums), and, when `gradient` is given ((n, n), float32 or float64), ∇L = −Z diag(w) Zᵀ with
    /// Z = X⁻¹ Aᵀ, unprojected (jax_privacy's `_mean_loss_and_gradient` for the mean). MFError.numerical
    /// when X is not positive definite. Time and memory as one step of `optimize`: 2n³ flops
    /// for prefix sums (n³/3 + 3n² k for a general A; 2n³/3 without the gradient); 2n² (+ 3nk)
    /// doubles.
    public static func lossAndGradient(x: StridedArray, workload: StridedArray? = nil, reduction: ErrorReduction = .mean,
                                       gradient: StridedArray? = nil) throws -> Double {
        let xv = try Sensitivity.matrix(x, "X")
        guard xv.rows == xv.cols else { throw MFError.shape("Matrix X should be square") }
        try require(xv.allFinite(), "Matrix X is not finite")
        let n = xv.rows
        try Check.positive(n, "n")
        let a = try workloadView(workload, n: n, squares: 3)
        if let gradient {
            try gradient.requireOutput("grad", ndim: 2, shape: [n, n])
            try gradient.requireDisjoint(from: x, "grad", "X")
        }
        let library = try BLASLibrary.shared()
        let model = try DenseErrorModel(n: n, workload: a, reduction: reduction)
        let copy = try xv.doubles("X")
        let nd = Double(n)
        return try library.withThreads(BLASLibrary.threads(forFlops: nd * nd * nd / 3)) {
            let loss = try model.loss(copy.buffer.pointer)
            guard model.factorIsCurrent else { throw MFError.numerical("Matrix X is not positive definite (it has no Cholesky factor)") }
            if let gradient {
                try model.gradient(into: copy.buffer.pointer)
                gradient.writeElements(copy.buffer.pointer)
            }
            return loss
        }
    }
}

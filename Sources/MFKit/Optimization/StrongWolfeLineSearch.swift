/// A line search for the strong Wolfe conditions on φ(α) = f(x + α d), after Moré and Thuente,
/// "Line search algorithms with guaranteed sufficient decrease" (ACM TOMS 20(3), 1994):
///
///     φ(α) ≤ φ(0) + c₁ α φ'(0)      (sufficient decrease)
///     |φ'(α)| ≤ c₂ |φ'(0)|          (curvature)
///
/// It keeps an interval of uncertainty [a_l, a_u] whose ends satisfy the paper's conditions, and
/// picks each trial by safeguarded cubic, quadratic or secant interpolation of the values and
/// slopes at the ends (`safeguardedStep`). Until a trial has sufficient decrease and a
/// nonnegative slope (stage 1) it works on ψ(α) = φ(α) − φ(0) − c₁ α φ'(0). The caller
/// evaluates each trial and passes (φ, φ') to `update`, which accepts the trial, asks for the
/// next one, or gives up (the interval became too small for the arithmetic, or the step
/// reached a bound). A trial whose value or slope is not finite shrinks the step a quarter of
/// the way from the best point (the next trials stay below it). Time O(1) per trial.
struct StrongWolfeLineSearch {
    /// A trial: step, value, slope.
    struct Point { var step, value, slope: Double }

    enum Outcome: Equatable {
        /// Evaluate φ and φ' at this step and call `update` again.
        case evaluate(Double)
        /// The last trial satisfies the strong Wolfe conditions (or is the largest step
        /// allowed with sufficient decrease): take it.
        case accept
        /// No further progress is possible (rounding errors or a bound).
        case fail
    }

    let value0, slope0, c1, c2, xtol: Double
    private(set) var step: Double
    private var stepMax: Double
    private var best, other: Point
    private var bracketed = false, stage1 = true
    private var low = 0.0, high: Double
    private var width, previousWidth: Double

    /// `slope0` = φ'(0) < 0; the first trial is `initial` (> 0), no trial beyond `stepMax`.
    /// 0 < c₁ < c₂ < 1; `xtol` is the relative width at which the interval is too small.
    init(value0: Double, slope0: Double, initial: Double, stepMax: Double,
         c1: Double = 1e-4, c2: Double = 0.9, xtol: Double = 1e-12) {
        self.value0 = value0; self.slope0 = slope0; self.c1 = c1; self.c2 = c2; self.xtol = xtol
        self.stepMax = stepMax
        step = Swift.min(initial, stepMax)
        best = Point(step: 0, value: value0, slope: slope0)
        other = best
        high = step + 4 * step
        width = stepMax
        previousWidth = 2 * stepMax
    }

    /// φ(step) and φ'(step) of the last trial requested; returns what to do next.
    mutating func update(value f: Double, slope g: Double) -> Outcome {
        guard f.isFinite, g.isFinite else {
            // Inadmissible: no trial at or beyond this step.
            stepMax = step
            if bracketed { high = Swift.min(high, step) }
            let next = best.step + 0.25 * (step - best.step)
            guard next - best.step > xtol * next else { return .fail }
            step = next
            return .evaluate(step)
        }
        let gtest = c1 * slope0, ftest = value0 + step * gtest
        if stage1 && f <= ftest && g >= 0 { stage1 = false }
        if bracketed && (step <= low || step >= high) { return .fail }
        if bracketed && high - low <= xtol * high { return .fail }
        if step == stepMax && f <= ftest && g <= gtest { return .accept }
        if f <= ftest && abs(g) <= c2 * (-slope0) { return .accept }
        if step == 0 { return .fail }
        let trial = Point(step: step, value: f, slope: g)
        var next: Double
        if stage1 && f <= best.value && f > ftest {
            // ψ has the same minimizers and lets the interpolation aim for sufficient decrease.
            func psi(_ p: Point) -> Point { Point(step: p.step, value: p.value - p.step * gtest, slope: p.slope - gtest) }
            func phi(_ p: Point) -> Point { Point(step: p.step, value: p.value + p.step * gtest, slope: p.slope + gtest) }
            var b = psi(best), o = psi(other)
            next = StrongWolfeLineSearch.safeguardedStep(best: &b, other: &o, trial: psi(trial), bracketed: &bracketed,
                                                         low: low, high: high)
            best = phi(b); other = phi(o)
        } else {
            next = StrongWolfeLineSearch.safeguardedStep(best: &best, other: &other, trial: trial, bracketed: &bracketed,
                                                         low: low, high: high)
        }
        if bracketed {
            // Bisect when the interval did not shrink by a third over the last two trials.
            if abs(other.step - best.step) >= 0.66 * previousWidth { next = best.step + 0.5 * (other.step - best.step) }
            previousWidth = width
            width = abs(other.step - best.step)
            low = Swift.min(best.step, other.step)
            high = Swift.max(best.step, other.step)
        } else {
            low = next + 1.1 * (next - best.step)
            high = next + 4 * (next - best.step)
        }
        next = Swift.min(Swift.max(next, 0), stepMax)
        if bracketed && (next <= low || next >= high || high - low <= xtol * high) { return .fail }
        step = next
        return .evaluate(step)
    }

    /// The next trial from the best point `best` (lowest value so far), the interval's other
    /// end `other` and the new trial `trial`, and the interval's update (Moré and Thuente's
    /// four cases: a higher value; a slope of the other sign; a smaller slope of the same
    /// sign; a larger one). Cubic steps use the values and slopes at two points, quadratic
    /// steps a value and a slope, secant steps the two slopes. When not bracketed the step is
    /// kept in [low, high].
    static func safeguardedStep(best: inout Point, other: inout Point, trial: Point, bracketed: inout Bool,
                                low: Double, high: Double) -> Double {
        let a = best, c = trial
        let opposite = c.slope * (a.slope / abs(a.slope)) < 0
        var next: Double
        if c.value > a.value {
            // Case 1: a higher value; the minimizer is between a and c.
            let cubic = cubicMinimizer(a, c)
            let quadratic = a.step + a.slope / ((a.value - c.value) / (c.step - a.step) + a.slope) / 2 * (c.step - a.step)
            next = abs(cubic - a.step) < abs(quadratic - a.step) ? cubic : cubic + (quadratic - cubic) / 2
            bracketed = true
        } else if opposite {
            // Case 2: the slopes have opposite signs; the minimizer is between a and c.
            let cubic = cubicMinimizer(a, c)
            let secant = c.step + c.slope / (c.slope - a.slope) * (a.step - c.step)
            next = abs(cubic - c.step) > abs(secant - c.step) ? cubic : secant
            bracketed = true
        } else if abs(c.slope) < abs(a.slope) {
            // Case 3: the slope shrinks; the cubic's minimizer is used only beyond c.
            let cubic = cubicBeyond(c, a) ?? (c.step > a.step ? high : low)
            let secant = c.step + c.slope / (c.slope - a.slope) * (a.step - c.step)
            if bracketed {
                next = abs(cubic - c.step) < abs(secant - c.step) ? cubic : secant
                let limit = c.step + 0.66 * (other.step - c.step)
                next = c.step > a.step ? Swift.min(limit, next) : Swift.max(limit, next)
            } else {
                next = abs(cubic - c.step) > abs(secant - c.step) ? cubic : secant
                next = Swift.min(high, Swift.max(low, next))
            }
        } else {
            // Case 4: the slope does not shrink; extrapolate to the bound, or interpolate
            // between c and the interval's other end.
            next = bracketed ? cubicMinimizer(c, other) : (c.step > a.step ? high : low)
        }
        if c.value > a.value {
            other = c
        } else {
            if opposite { other = a }
            best = c
        }
        return next
    }

    /// The minimizer of the cubic with the values and slopes of p and r (its discriminant
    /// clamped at zero), scaled so that large slopes do not overflow.
    static func cubicMinimizer(_ p: Point, _ r: Point) -> Double {
        let theta = 3 * (p.value - r.value) / (r.step - p.step) + p.slope + r.slope
        let s = Swift.max(abs(theta), abs(p.slope), abs(r.slope))
        var gamma = s * Swift.max(0, (theta / s) * (theta / s) - (p.slope / s) * (r.slope / s)).squareRoot()
        if r.step < p.step { gamma = -gamma }
        let num = (gamma - p.slope) + theta, den = ((gamma - p.slope) + gamma) + r.slope
        return p.step + num / den * (r.step - p.step)
    }

    /// The cubic's minimizer through c (towards a and beyond c), if the cubic has one there
    /// or grows without bound in the direction of the step; nil otherwise.
    static func cubicBeyond(_ c: Point, _ a: Point) -> Double? {
        let theta = 3 * (a.value - c.value) / (c.step - a.step) + a.slope + c.slope
        let s = Swift.max(abs(theta), abs(a.slope), abs(c.slope))
        var gamma = s * Swift.max(0, (theta / s) * (theta / s) - (a.slope / s) * (c.slope / s)).squareRoot()
        if c.step > a.step { gamma = -gamma }
        let num = (gamma - c.slope) + theta, den = (gamma + (a.slope - c.slope)) + gamma
        let r = num / den
        return r < 0 && gamma != 0 ? c.step + r * (a.step - c.step) : nil
    }
}

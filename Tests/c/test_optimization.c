/* C test of the optimizers: mfkit_lbfgs_minimize on a caller's losses (every stop reason, the
 * tolerances, scale-invariant blocks, errors) and mfkit_banded_optimize (stop reasons, the
 * report, the reductions, errors). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"

static mfkit_array mat(double *data, int64_t r, int64_t c) {
    mfkit_array a; memset(&a, 0, sizeof a);
    a.data = data; a.dtype = MFKIT_FLOAT64; a.ndim = 2; a.shape[0] = r; a.shape[1] = c;
    a.strides[0] = 8 * c; a.strides[1] = 8;
    return a;
}

/* f(x) = sum_i (i + 1) (x_i - i)^2, minimized at x_i = i. */
static double quadratic(void *user, const double *x, double *grad, int64_t n) {
    (void)user;
    double f = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - (double)i;
        f += (double)(i + 1) * d * d;
        if (grad) grad[i] = 2.0 * (double)(i + 1) * d;
    }
    return f;
}

/* Rosenbrock's function in 2 unknowns, minimized at (1, 1). */
static double rosenbrock(void *user, const double *x, double *grad, int64_t n) {
    (void)user; (void)n;
    double a = x[0], b = x[1];
    if (grad) { grad[0] = -2 * (1 - a) - 400 * a * (b - a * a); grad[1] = 200 * (b - a * a); }
    return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a);
}

/* The quadratic with a NaN gradient. */
static double nan_gradient(void *user, const double *x, double *grad, int64_t n) {
    double f = quadratic(user, x, grad, n);
    if (grad) grad[0] = NAN;
    return f;
}

/* The quadratic with the gradient's sign flipped: no step along -grad decreases it. */
static double wrong_gradient(void *user, const double *x, double *grad, int64_t n) {
    double f = quadratic(user, x, grad, n);
    if (grad) for (int64_t i = 0; i < n; i++) grad[i] = -grad[i];
    return f;
}

/* Two blocks of 3: sum over blocks of the Rayleigh quotient x'Dx / x'x with D = diag(1, 2, 3);
 * invariant to scaling a block, minimized (value 2) by blocks along the first axis. */
static double rayleigh(void *user, const double *x, double *grad, int64_t n) {
    (void)user; (void)n;
    double f = 0;
    for (int blk = 0; blk < 2; blk++) {
        const double *v = x + 3 * blk;
        double num = 0, den = 0;
        for (int i = 0; i < 3; i++) { num += (i + 1) * v[i] * v[i]; den += v[i] * v[i]; }
        f += num / den;
        if (grad) for (int i = 0; i < 3; i++) grad[3 * blk + i] = 2 * v[i] * ((i + 1) - num / den) / den;
    }
    return f;
}

static int stop_after_two(void *user, int64_t step, double loss, double grad_norm) {
    int *calls = (int *)user;
    (*calls)++;
    (void)loss; (void)grad_norm;
    return step >= 1;
}

static int count_calls(void *user, int64_t step, double loss, double grad_norm) {
    (void)step; (void)loss; (void)grad_norm;
    (*(int *)user)++;
    return 0;
}

int main(void) {
    int64_t steps = -1, evals = -1;
    double loss = -1, gnorm = -1;
    mfkit_stop_reason stop = -1;

    /* the quadratic, x of shape (2, 3) written in place: converged by the gradient tolerance */
    double x[6] = {0};
    mfkit_array xa = mat(x, 2, 3);
    CHECK(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, 100, 5, 1e-10, 0, 0, &steps, &evals, &loss, &gnorm, &stop)
          == MFKIT_OK, "lbfgs: %s", mfkit_last_error());
    for (int i = 0; i < 6; i++) CHECK(fabs(x[i] - i) < 1e-10, "lbfgs x[%d] = %g", i, x[i]);
    CHECK(stop == MFKIT_STOP_GRADIENT_TOLERANCE && steps > 0 && evals >= steps && loss < 1e-18 && gnorm < 1e-9,
          "quadratic: stop %d steps %lld evaluations %lld loss %g grad norm %g", stop, (long long)steps,
          (long long)evals, loss, gnorm);

    /* Rosenbrock: converged to (1, 1); with few steps, steps exhausted (not converged) */
    double r[2] = {-1.2, 1.0};
    mfkit_array ra = mat(r, 1, 2);
    CHECK(mfkit_lbfgs_minimize(&ra, rosenbrock, NULL, NULL, 500, 10, 1e-9, 0, 0, &steps, NULL, &loss, NULL, &stop)
          == MFKIT_OK, "rosenbrock: %s", mfkit_last_error());
    CHECK(stop == MFKIT_STOP_GRADIENT_TOLERANCE && fabs(r[0] - 1) < 1e-8 && fabs(r[1] - 1) < 1e-8,
          "rosenbrock: stop %d at (%g, %g) after %lld steps", stop, r[0], r[1], (long long)steps);
    r[0] = -1.2; r[1] = 1.0;
    CHECK(mfkit_lbfgs_minimize(&ra, rosenbrock, NULL, NULL, 3, 10, 1e-9, 0, 0, &steps, NULL, NULL, NULL, &stop)
          == MFKIT_OK && stop == MFKIT_STOP_MAX_STEPS && steps == 3, "3 steps: stop %d steps %lld", stop, (long long)steps);
    /* the loss tolerance: stops at the first step whose relative decrease is at most ftol */
    r[0] = -1.2; r[1] = 1.0;
    CHECK(mfkit_lbfgs_minimize(&ra, rosenbrock, NULL, NULL, 500, 10, 0, 1e-3, 0, &steps, NULL, &loss, NULL, &stop)
          == MFKIT_OK && stop == MFKIT_STOP_LOSS_TOLERANCE && steps < 500,
          "ftol: stop %d steps %lld loss %g", stop, (long long)steps, loss);

    /* the callback stops the run after two steps */
    int calls = 0;
    for (int i = 0; i < 6; i++) x[i] = 0;
    CHECK(mfkit_lbfgs_minimize(&xa, quadratic, stop_after_two, &calls, 100, 5, 0, 0, 0, &steps, NULL, NULL, NULL, &stop)
          == MFKIT_OK && stop == MFKIT_STOP_CALLBACK && calls == 2 && steps == 2,
          "callback: stop %d calls %d steps %lld", stop, calls, (long long)steps);

    /* a NaN gradient at the start: reported, x unchanged */
    for (int i = 0; i < 6; i++) x[i] = 0.5;
    CHECK(mfkit_lbfgs_minimize(&xa, nan_gradient, NULL, NULL, 100, 5, 0, 0, 0, &steps, NULL, NULL, NULL, &stop)
          == MFKIT_OK && stop == MFKIT_STOP_NON_FINITE && steps == 0, "NaN gradient: stop %d steps %lld", stop,
          (long long)steps);
    for (int i = 0; i < 6; i++) CHECK(x[i] == 0.5, "NaN gradient moved x[%d] to %g", i, x[i]);

    /* a gradient that does not match the loss: a stall, not convergence */
    CHECK(mfkit_lbfgs_minimize(&xa, wrong_gradient, NULL, NULL, 100, 5, 0, 0, 0, &steps, NULL, NULL, NULL, &stop)
          == MFKIT_OK && stop == MFKIT_STOP_LINE_SEARCH && steps == 0, "wrong gradient: stop %d steps %lld", stop,
          (long long)steps);
    for (int i = 0; i < 6; i++) CHECK(x[i] == 0.5, "wrong gradient moved x[%d] to %g", i, x[i]);

    /* scale-invariant blocks: kept at unit norm, minimized */
    double v[6] = {3, 2, 1, -1, 5, 2};
    mfkit_array va = mat(v, 2, 3);
    CHECK(mfkit_lbfgs_minimize(&va, rayleigh, NULL, NULL, 200, 5, 1e-6, 0, 3, &steps, NULL, &loss, NULL, &stop)
          == MFKIT_OK && stop == MFKIT_STOP_GRADIENT_TOLERANCE && fabs(loss - 2) < 1e-12,
          "rayleigh: stop %d loss %.17g", stop, loss);
    for (int blk = 0; blk < 2; blk++) {
        double nrm = sqrt(v[3 * blk] * v[3 * blk] + v[3 * blk + 1] * v[3 * blk + 1] + v[3 * blk + 2] * v[3 * blk + 2]);
        CHECK(fabs(nrm - 1) < 1e-12 && fabs(fabs(v[3 * blk]) - 1) < 1e-6, "block %d: norm %g, first %g", blk, nrm, v[3 * blk]);
    }

    /* a memory far beyond the step count is clamped (it used to abort allocating memory x N) */
    for (int i = 0; i < 6; i++) x[i] = 0;
    CHECK(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, 100, INT64_MAX, 1e-10, 0, 0, NULL, NULL, NULL, NULL, NULL)
          == MFKIT_OK, "lbfgs huge memory: %s", mfkit_last_error());
    for (int i = 0; i < 6; i++) CHECK(fabs(x[i] - i) < 1e-8, "lbfgs huge memory x[%d] = %g", i, x[i]);

    /* errors: the outputs stay untouched */
    steps = -7; stop = -7;
    for (int i = 0; i < 6; i++) x[i] = 0.25;
    EXPECT_STATUS(mfkit_lbfgs_minimize(&xa, NULL, NULL, NULL, 100, 5, 0, 0, 0, &steps, NULL, NULL, NULL, &stop),
                  MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, 100, 0, 0, 0, 0, &steps, NULL, NULL, NULL, &stop),
                  MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, -1, 5, 0, 0, 0, &steps, NULL, NULL, NULL, &stop),
                  MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, 100, 5, -1, 0, 0, &steps, NULL, NULL, NULL, &stop),
                  MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mfkit_last_error(), "gtol and ftol must be non-negative") != NULL, "message: %s", mfkit_last_error());
    EXPECT_STATUS(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, 100, 5, 0, NAN, 0, &steps, NULL, NULL, NULL, &stop),
                  MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, 100, 5, 0, 0, -3, &steps, NULL, NULL, NULL, &stop),
                  MFKIT_ERR_INVALID_ARGUMENT);
    double one = 5.0;
    mfkit_array x_bcast = {&one, MFKIT_FLOAT64, 2, {2, 3}, {0, 0}};
    EXPECT_STATUS(mfkit_lbfgs_minimize(&x_bcast, quadratic, NULL, NULL, 10, 5, 0, 0, 0, &steps, NULL, NULL, NULL, &stop),
                  MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mfkit_last_error(), "overlaps itself") != NULL, "message: %s", mfkit_last_error());
    CHECK(steps == -7 && stop == -7 && one == 5.0, "outputs written on failure");
    for (int i = 0; i < 6; i++) CHECK(x[i] == 0.25, "x[%d] written on failure", i);

    /* mfkit_banded_optimize: a stopping callback, the report, the loss decreases */
    mfkit_banded *opt = NULL, *def = NULL;
    double l0 = 0, l1 = 0;
    calls = 0;
    CHECK(mfkit_banded_optimize(40, 4, NULL, NULL, 50, MFKIT_REDUCTION_MEAN, NULL, 0, 0, stop_after_two, &calls, &opt,
                                &steps, &evals, &loss, &gnorm, &stop) == MFKIT_OK, "optimize: %s", mfkit_last_error());
    CHECK(calls == 2 && steps == 2 && stop == MFKIT_STOP_CALLBACK && evals >= 2 && gnorm > 0,
          "optimize: calls %d steps %lld stop %d evaluations %lld", calls, (long long)steps, stop, (long long)evals);
    mfkit_banded_default(40, 4, &def);
    mfkit_banded_loss(def, NULL, MFKIT_REDUCTION_MEAN, NULL, &l0, NULL);
    mfkit_banded_loss(opt, NULL, MFKIT_REDUCTION_MEAN, NULL, &l1, NULL);
    CHECK(l1 < l0 && fabs(l1 - loss) <= 1e-12 * l1, "optimize: loss %g (reported %g) vs start %g", l1, loss, l0);
    mfkit_banded_free(opt);
    /* max and last run through their surrogates; the callback sees every step, the report the true loss */
    mfkit_reduction reds[2] = {MFKIT_REDUCTION_MAX, MFKIT_REDUCTION_LAST};
    for (int k = 0; k < 2; k++) {
        calls = 0;
        opt = NULL;
        CHECK(mfkit_banded_optimize(40, 4, NULL, NULL, 30, reds[k], NULL, 0, 0, count_calls, &calls, &opt, &steps,
                                    NULL, &loss, NULL, &stop) == MFKIT_OK, "optimize %d: %s", reds[k], mfkit_last_error());
        mfkit_banded_loss(def, NULL, reds[k], NULL, &l0, NULL);
        mfkit_banded_loss(opt, NULL, reds[k], NULL, &l1, NULL);
        CHECK(calls == steps && steps <= 30 && l1 < l0 && fabs(l1 - loss) <= 1e-12 * l1,
              "optimize %d: calls %d steps %lld stop %d loss %g (reported %g) vs start %g", reds[k], calls,
              (long long)steps, stop, l1, loss, l0);
        mfkit_banded_free(opt);
    }
    /* tolerances end the run early */
    opt = NULL;
    CHECK(mfkit_banded_optimize(40, 4, NULL, NULL, 1000, MFKIT_REDUCTION_MEAN, NULL, 0, 1e-6, NULL, NULL, &opt, &steps,
                                NULL, NULL, NULL, &stop) == MFKIT_OK && stop == MFKIT_STOP_LOSS_TOLERANCE && steps < 1000,
          "ftol: stop %d steps %lld", stop, (long long)steps);
    mfkit_banded_free(opt);
    /* errors: nothing written */
    mfkit_banded *bad = NULL;
    steps = -7;
    EXPECT_STATUS(mfkit_banded_optimize(12, 13, NULL, NULL, 5, MFKIT_REDUCTION_MEAN, NULL, 0, 0, NULL, NULL, &bad, &steps,
                                        NULL, NULL, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_banded_optimize(12, 3, NULL, NULL, 5, MFKIT_REDUCTION_MEAN, NULL, -1e-3, 0, NULL, NULL, &bad, &steps,
                                        NULL, NULL, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_banded_optimize(12, 3, NULL, NULL, 5, MFKIT_REDUCTION_MEAN, NULL, 0, 0, NULL, NULL, NULL, &steps,
                                        NULL, NULL, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_banded_optimize(12, 3, def, NULL, 5, MFKIT_REDUCTION_MEAN, NULL, 0, 0, NULL, NULL, &bad, &steps,
                                        NULL, NULL, NULL, NULL), MFKIT_ERR_SHAPE);
    CHECK(bad == NULL && steps == -7, "outputs written on failure");

    mfkit_banded_free(def);
    if (failures) { printf("%d failure(s)\n", failures); return 1; }
    printf("test_optimization: all checks passed\n");
    return 0;
}

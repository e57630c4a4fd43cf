/* C test of the Toeplitz ABI: padding and materialization against the definition, solves and
 * inverse coefficients against T(c) x = y, products, the per-query error from both sides
 * (strategy and noising coefficients), the gradient against central differences, the streaming
 * inverse (float32 in place) against the solve, min-sep sensitivity against brute force, the
 * optimizer with a stopping callback, the amplified helper, and the error paths. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"

static mfkit_array vec(double *data, int64_t n) {
    mfkit_array a; memset(&a, 0, sizeof a);
    a.data = data; a.dtype = MFKIT_FLOAT64; a.ndim = 1; a.shape[0] = n; a.strides[0] = 8;
    return a;
}
static mfkit_array mat(void *data, mfkit_dtype dtype, int64_t r, int64_t c) {
    mfkit_array a; memset(&a, 0, sizeof a);
    int64_t size = dtype == MFKIT_FLOAT32 ? 4 : 8;
    a.data = data; a.dtype = dtype; a.ndim = 2; a.shape[0] = r; a.shape[1] = c;
    a.strides[0] = size * c; a.strides[1] = size;
    return a;
}

#define N 40
#define B 5

static int stop_after_three(void *user, int64_t step, double loss, double grad_norm) {
    int *calls = (int *)user;
    (*calls)++;
    (void)loss; (void)grad_norm;
    return step >= 2;
}

static double loss_at(const double *coef, int64_t n) {
    double c[B], loss = NAN;
    memcpy(c, coef, sizeof c);
    mfkit_array ca = vec(c, B);
    mfkit_toeplitz_loss(&ca, NULL, &n, NULL, MFKIT_REDUCTION_MEAN, NULL, 1, &loss, NULL);
    return loss;
}

int main(void) {
    double coef[B] = {1.0, 0.6, 0.45, 0.2, 0.1};
    mfkit_array c = vec(coef, B);
    int64_t n = N;

    /* materialize: T[i][j] = coef[i - j] */
    static double T[N * N];
    mfkit_array tm = mat(T, MFKIT_FLOAT64, N, N);
    EXPECT_STATUS(mfkit_toeplitz_materialize(&c, &n, &tm), MFKIT_OK);
    double err = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            err = fmax(err, fabs(T[i * N + j] - ((i >= j && i - j < B) ? coef[i - j] : 0.0)));
    CHECK(err == 0, "materialize error %g", err);

    /* pad: n = 3 cuts, n = NULL keeps len */
    double pad[B];
    int64_t three = 3;
    mfkit_array p3 = vec(pad, 3), p5 = vec(pad, B);
    EXPECT_STATUS(mfkit_toeplitz_pad_coefs(&c, &three, &p3), MFKIT_OK);
    EXPECT(pad[0] == 1.0 && pad[2] == 0.45);
    EXPECT_STATUS(mfkit_toeplitz_pad_coefs(&c, NULL, &p5), MFKIT_OK);
    EXPECT(pad[4] == 0.1);

    /* inverse coefficients: T(c) T(inv) = I, so T(c) inv = e_0 */
    double inv[N], y[N];
    mfkit_array iv = vec(inv, N);
    EXPECT_STATUS(mfkit_toeplitz_inverse_coef(&c, &n, &iv), MFKIT_OK);
    err = 0;
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j <= i; j++) s += T[i * N + j] * inv[j];
        err = fmax(err, fabs(s - (i == 0)));
    }
    CHECK(err < 1e-13, "inverse_coef residual %g", err);

    /* solve (in place): T(c) x = y */
    double x[N];
    for (int i = 0; i < N; i++) y[i] = x[i] = sin(0.3 * i) + 1;
    mfkit_array xv = vec(x, N);
    EXPECT_STATUS(mfkit_toeplitz_solve_banded(&c, &xv, &xv), MFKIT_OK);
    err = 0;
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j <= i; j++) s += T[i * N + j] * x[j];
        err = fmax(err, fabs(s - y[i]));
    }
    CHECK(err < 1e-12, "solve residual %g", err);

    /* product: T(c) T(inv) has coefficients e_0; without n lengths must agree */
    double prod[N];
    mfkit_array pv = vec(prod, N), iv5 = vec(inv, B);
    EXPECT_STATUS(mfkit_toeplitz_multiply(&c, &iv, &n, 0, &pv), MFKIT_OK);
    EXPECT(fabs(prod[0] - 1) < 1e-15 && fabs(prod[N - 1]) < 1e-13);
    EXPECT_STATUS(mfkit_toeplitz_multiply(&c, &iv, NULL, 0, &p5), MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mfkit_last_error(), "mfkit_toeplitz_multiply: If n is not specified") != NULL, "message %s",
          mfkit_last_error());
    EXPECT_STATUS(mfkit_toeplitz_multiply(&c, &iv5, NULL, 0, &p5), MFKIT_OK);   /* 5 + 5 - 1 cut to 5 */

    /* per-query error: strategy and noising sides agree, and equal the cumulative squares of
     * the row sums of T(c)^{-1} */
    double e1[N], e2[N];
    mfkit_array ev1 = vec(e1, N), ev2 = vec(e2, N);
    EXPECT_STATUS(mfkit_toeplitz_per_query_error(&c, NULL, &n, NULL, &ev1), MFKIT_OK);
    EXPECT_STATUS(mfkit_toeplitz_per_query_error(NULL, &iv, &n, NULL, &ev2), MFKIT_OK);
    double s = 0, beta = 0;
    err = 0;
    for (int t = 0; t < N; t++) {
        beta += inv[t];
        s += beta * beta;
        err = fmax(err, fabs(e1[t] - s) / s + fabs(e2[t] - s) / s);
    }
    CHECK(err < 1e-12, "per_query_error %g", err);
    EXPECT_STATUS(mfkit_toeplitz_per_query_error(&c, &iv, &n, NULL, &ev1), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_toeplitz_per_query_error(&c, NULL, &n, NULL, &p5), MFKIT_ERR_SHAPE);

    /* loss and gradient against central differences */
    double loss = 0, grad[B];
    mfkit_array gv = vec(grad, B);
    EXPECT_STATUS(mfkit_toeplitz_loss(&c, NULL, &n, NULL, MFKIT_REDUCTION_MEAN, NULL, 1, &loss, &gv), MFKIT_OK);
    double sens = 0, mean = 0;
    for (int r = 0; r < B; r++) sens += coef[r] * coef[r];
    for (int t = 0; t < N; t++) mean += e1[t] / N;
    CHECK(fabs(loss - sens * mean) < 1e-12 * loss, "loss %g vs %g", loss, sens * mean);
    for (int r = 0; r < B; r++) {
        double up[B], down[B];
        memcpy(up, coef, sizeof up); memcpy(down, coef, sizeof down);
        up[r] += 1e-6; down[r] -= 1e-6;
        double fd = (loss_at(up, N) - loss_at(down, N)) / 2e-6;
        CHECK(fabs(fd - grad[r]) < 1e-6 * fmax(1, fabs(grad[r])), "grad[%d] %g vs %g", r, grad[r], fd);
    }
    EXPECT_STATUS(mfkit_toeplitz_loss(NULL, &iv, &n, NULL, MFKIT_REDUCTION_MEAN, NULL, 1, &loss, NULL),
                  MFKIT_ERR_INVALID_ARGUMENT);   /* the sensitivity factor needs a strategy */
    EXPECT_STATUS(mfkit_toeplitz_loss(&c, NULL, &n, NULL, MFKIT_REDUCTION_WEIGHTS, NULL, 1, &loss, NULL),
                  MFKIT_ERR_INVALID_ARGUMENT);

    /* streaming inverse, float32 in place, 3 columns: equals the solve */
    float z[N * 3];
    for (int t = 0; t < N; t++) for (int k = 0; k < 3; k++) z[t * 3 + k] = (float)y[t];
    mfkit_streaming_matrix *cinv = NULL;
    EXPECT_STATUS(mfkit_toeplitz_inverse(&c, NULL, &cinv), MFKIT_OK);
    mfkit_array zv = mat(z, MFKIT_FLOAT32, N, 3);
    EXPECT_STATUS(mfkit_sm_multiply_array(cinv, &zv, &zv), MFKIT_OK);
    err = 0;
    for (int t = 0; t < N; t++) err = fmax(err, fabs(z[t * 3 + 2] - x[t]));
    CHECK(err < 1e-4, "streaming inverse error %g", err);
    mfkit_sm_free(cinv);
    int64_t zero = 0;
    EXPECT_STATUS(mfkit_toeplitz_inverse(&c, &zero, &cinv), MFKIT_ERR_INVALID_ARGUMENT);
    double bad[2] = {0.0, 1.0};
    mfkit_array bv = vec(bad, 2);
    EXPECT_STATUS(mfkit_toeplitz_inverse(&bv, NULL, &cinv), MFKIT_ERR_NUMERICAL);

    /* min-sep sensitivity against brute force; non-increasing required */
    for (int64_t sep = 1; sep <= 7; sep++) {
        int64_t k = 3;
        double got = 0, want = 0;
        EXPECT_STATUS(mfkit_toeplitz_minsep_sensitivity_squared(&c, sep, &k, &n, 0, &got), MFKIT_OK);
        for (int i = 0; i < N; i++) {
            double v = 0;
            for (int m = 0; m < k; m++) if (i - m * sep >= 0 && i - m * sep < B) v += coef[i - m * sep];
            want += v * v;
        }
        CHECK(fabs(got - want) < 1e-13 * want, "minsep %d: %g vs %g", (int)sep, got, want);
    }
    double rising[2] = {1.0, 2.0};
    mfkit_array rv = vec(rising, 2);
    double out = 7;
    EXPECT_STATUS(mfkit_toeplitz_minsep_sensitivity_squared(&rv, 1, NULL, NULL, 0, &out), MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mfkit_last_error(), "coef must be non-increasing") != NULL && out == 7, "%s", mfkit_last_error());
    EXPECT_STATUS(mfkit_toeplitz_minsep_sensitivity_squared(&c, 0, NULL, NULL, 0, &out), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_toeplitz_sensitivity_squared(&c, NULL, &out), MFKIT_OK);
    EXPECT(fabs(out - sens) < 1e-15);

    /* closed forms */
    double f[4], d[4];
    mfkit_array fv = vec(f, 4), dv = vec(d, 4);
    EXPECT_STATUS(mfkit_toeplitz_optimal_max_error_strategy_coefs(&fv), MFKIT_OK);
    EXPECT_STATUS(mfkit_toeplitz_optimal_max_error_noising_coefs(&dv), MFKIT_OK);
    EXPECT(f[3] == 0.3125 && d[1] == -0.5 && d[3] == -0.0625);

    /* optimize: the loss falls, the callback stops after three steps, unit norm, the report */
    double opt[B];
    mfkit_array ov = vec(opt, B);
    int calls = 0;
    int64_t big = 200, steps = -1, evals = -1;
    double rloss = -1, gnorm = -1;
    mfkit_stop_reason stop = -1;
    EXPECT_STATUS(mfkit_toeplitz_optimize(big, B, NULL, 50, MFKIT_REDUCTION_MEAN, NULL, 0, 0, stop_after_three, &calls,
                                          &ov, &steps, &evals, &rloss, &gnorm, &stop), MFKIT_OK);
    EXPECT(calls == 3 && stop == MFKIT_STOP_CALLBACK && steps == 3 && evals >= 3 && gnorm > 0);
    double norm = 0;
    for (int r = 0; r < B; r++) norm += opt[r] * opt[r];
    EXPECT(fabs(norm - 1) < 1e-14);
    double before = 0, after = 0;
    EXPECT_STATUS(mfkit_toeplitz_loss(&fv, NULL, &big, NULL, MFKIT_REDUCTION_MEAN, NULL, 1, &before, NULL), MFKIT_OK);
    EXPECT_STATUS(mfkit_toeplitz_loss(&ov, NULL, &big, NULL, MFKIT_REDUCTION_MEAN, NULL, 1, &after, NULL), MFKIT_OK);
    CHECK(after < before, "optimize: loss %g, start %g", after, before);
    CHECK(fabs(rloss - after) < 1e-12 * after, "optimize: reported loss %g, loss of the result %g", rloss, after);
    /* every stop reason: steps exhausted, the two tolerances, a stall (no tolerance: every step
     * until no step decreases the loss, which is not convergence); the report pointers may be NULL */
    EXPECT_STATUS(mfkit_toeplitz_optimize(big, B, NULL, 2, MFKIT_REDUCTION_MEAN, NULL, 0, 0, NULL, NULL, &ov, &steps,
                                          NULL, NULL, NULL, &stop), MFKIT_OK);
    EXPECT(stop == MFKIT_STOP_MAX_STEPS && steps == 2);
    EXPECT_STATUS(mfkit_toeplitz_optimize(big, B, NULL, 500, MFKIT_REDUCTION_MEAN, NULL, 1e-6, 0, NULL, NULL, &ov, &steps,
                                          NULL, NULL, &gnorm, &stop), MFKIT_OK);
    int64_t by_gradient = steps;
    CHECK(stop == MFKIT_STOP_GRADIENT_TOLERANCE && steps < 500, "gtol: stop %d after %lld steps", stop, (long long)steps);
    EXPECT_STATUS(mfkit_toeplitz_optimize(big, B, NULL, 500, MFKIT_REDUCTION_MEAN, NULL, 0, 1e-3, NULL, NULL, &ov, &steps,
                                          NULL, NULL, NULL, &stop), MFKIT_OK);
    CHECK(stop == MFKIT_STOP_LOSS_TOLERANCE && steps < by_gradient, "ftol: stop %d after %lld steps", stop, (long long)steps);
    EXPECT_STATUS(mfkit_toeplitz_optimize(big, B, NULL, 1000, MFKIT_REDUCTION_MEAN, NULL, 0, 0, NULL, NULL, &ov, &steps,
                                          NULL, NULL, &gnorm, &stop), MFKIT_OK);
    CHECK(stop == MFKIT_STOP_LINE_SEARCH && steps < 1000 && gnorm < 1e-4, "stall: stop %d after %lld steps, |g| %g",
          stop, (long long)steps, gnorm);
    EXPECT_STATUS(mfkit_toeplitz_optimize(big, 3, &c, 5, MFKIT_REDUCTION_MEAN, NULL, 0, 0, NULL, NULL, &p3, NULL, NULL,
                                          NULL, NULL, NULL), MFKIT_ERR_SHAPE);
    /* negative tolerances are refused, out untouched */
    opt[0] = 7;
    EXPECT_STATUS(mfkit_toeplitz_optimize(big, B, NULL, 5, MFKIT_REDUCTION_MEAN, NULL, -1, 0, NULL, NULL, &ov, NULL, NULL,
                                          NULL, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mfkit_last_error(), "gtol and ftol must be non-negative") != NULL && opt[0] == 7, "%s", mfkit_last_error());

    /* amplified BandMF: more bands, less amplification, more noise */
    double nm1 = 0, nm4 = 0;
    EXPECT_STATUS(mfkit_toeplitz_amplified_noise_multiplier(64, 160, 20, 1, 2.0, 1e-6, &nm1), MFKIT_OK);
    EXPECT_STATUS(mfkit_toeplitz_amplified_noise_multiplier(64, 160, 20, 4, 2.0, 1e-6, &nm4), MFKIT_OK);
    CHECK(nm1 > 0 && nm4 > nm1, "noise multipliers %g %g", nm1, nm4);
    double chosen[8];
    mfkit_array chv = vec(chosen, 8);
    int64_t bands = 0;
    double stddev = 0;
    calls = 0;
    EXPECT_STATUS(mfkit_toeplitz_optimize_for_amplifications(64, 160, 20, 2.0, 1e-6, 20, MFKIT_REDUCTION_MEAN, 0, 0,
                                                             stop_after_three, &calls, &chv, &bands, &stddev, &steps,
                                                             &evals, &rloss, &gnorm, &stop), MFKIT_OK);
    CHECK(bands >= 1 && bands <= 8 && stddev > 0, "bands %d stddev %g", (int)bands, stddev);
    /* the callback stops each candidate's run after three steps (one band has nothing to optimize) */
    CHECK(calls > 3 && (bands == 1 ? stop == MFKIT_STOP_GRADIENT_TOLERANCE && steps == 0
                                   : stop == MFKIT_STOP_CALLBACK && steps == 3),
          "amplified: %d calls, chosen bands %d stopped by %d after %lld steps", calls, (int)bands, stop, (long long)steps);
    EXPECT_STATUS(mfkit_toeplitz_optimize_for_amplifications(64, 160, 20, 2.0, 1e-6, 20, MFKIT_REDUCTION_MEAN, 0, 0,
                                                             NULL, NULL, &p3, &bands, &stddev, NULL, NULL, NULL, NULL,
                                                             NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_toeplitz_amplified_noise_multiplier(64, 160, 200, 1, 2.0, 1e-6, &nm1), MFKIT_ERR_INVALID_ARGUMENT);

    /* null pointers */
    EXPECT_STATUS(mfkit_toeplitz_sensitivity_squared(NULL, NULL, &out), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_toeplitz_sensitivity_squared(&c, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_toeplitz_loss(&c, NULL, NULL, NULL, MFKIT_REDUCTION_MEAN, NULL, 0, NULL, NULL),
                  MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_toeplitz_inverse(&c, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);

    if (failures == 0) printf("test_toeplitz: all checks passed\n");
    return failures != 0;
}

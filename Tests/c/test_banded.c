/* C test of the banded-strategy ABI: construction, materialize vs the params layout, the
 * inverse against C (C * C^{-1} z = z), per-query error against streaming A C^{-1}, the gradient
 * against central differences, optimize with a stopping callback, sensitivity, and errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"


static mfkit_array vec(double *data, int64_t n) {
    mfkit_array a; memset(&a, 0, sizeof a);
    a.data = data; a.dtype = MFKIT_FLOAT64; a.ndim = 1; a.shape[0] = n; a.strides[0] = 8;
    return a;
}
static mfkit_array mat(double *data, int64_t r, int64_t c) {
    mfkit_array a; memset(&a, 0, sizeof a);
    a.data = data; a.dtype = MFKIT_FLOAT64; a.ndim = 2; a.shape[0] = r; a.shape[1] = c;
    a.strides[0] = 8 * c; a.strides[1] = 8;
    return a;
}

#define N 12
#define B 3

static int stop_after_two(void *user, int64_t step, double loss, double grad_norm) {
    int *calls = (int *)user;
    (*calls)++;
    (void)loss; (void)grad_norm;
    return step >= 1;
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

static double loss_of(double *params, mfkit_streaming_matrix *a) {
    mfkit_banded *s = NULL; double loss = NAN;
    mfkit_array p = mat(params, N, B);
    if (mfkit_banded_create(&p, &s) != MFKIT_OK) return NAN;
    mfkit_banded_loss(s, a, MFKIT_REDUCTION_MEAN, NULL, &loss, NULL);
    mfkit_banded_free(s);
    return loss;
}

int main(void) {
    double params[N * B];
    for (int j = 0; j < N; j++)
        for (int r = 0; r < B; r++)
            params[j * B + r] = (j + r < N) ? 1.0 + 0.1 * ((j * 7 + r * 3) % 5) - 0.05 * r : 0.0;
    mfkit_array p = mat(params, N, B);
    mfkit_banded *s = NULL;
    CHECK(mfkit_banded_create(&p, &s) == MFKIT_OK, "create: %s", mfkit_last_error());
    int64_t n = 0, b = 0;
    CHECK(mfkit_banded_shape(s, &n, &b) == MFKIT_OK && n == N && b == B, "shape");

    /* materialize: C[j + r, j] = params[j, r] / ||params[j, valid]|| */
    double C[N * N];
    mfkit_array cm = mat(C, N, N);
    CHECK(mfkit_banded_materialize(s, &cm) == MFKIT_OK, "materialize: %s", mfkit_last_error());
    double maxerr = 0;
    for (int j = 0; j < N; j++) {
        double norm = 0;
        for (int r = 0; r < B && j + r < N; r++) norm += params[j * B + r] * params[j * B + r];
        norm = sqrt(norm);
        for (int i = 0; i < N; i++) {
            double expect = (i >= j && i - j < B) ? params[j * B + (i - j)] / norm : 0.0;
            maxerr = fmax(maxerr, fabs(C[i * N + j] - expect));
        }
    }
    CHECK(maxerr < 1e-15, "materialize error %g", maxerr);

    /* inverse: C (C^{-1} z) = z */
    mfkit_streaming_matrix *inv = NULL;
    CHECK(mfkit_banded_inverse(s, &inv) == MFKIT_OK, "inverse: %s", mfkit_last_error());
    double z[N], w[N];
    for (int i = 0; i < N; i++) z[i] = sin(1.0 + i);
    mfkit_array za = vec(z, N), wa = vec(w, N);
    CHECK(mfkit_sm_multiply_array(inv, &za, &wa) == MFKIT_OK, "multiply_array: %s", mfkit_last_error());
    maxerr = 0;
    for (int i = 0; i < N; i++) {
        double acc = 0;
        for (int j = 0; j <= i; j++) acc += C[i * N + j] * w[j];
        maxerr = fmax(maxerr, fabs(acc - z[i]));
    }
    CHECK(maxerr < 1e-12, "C C^{-1} z - z = %g", maxerr);

    /* per-query error vs the streaming oracle row_norms_squared(prefix_sum C^{-1}) */
    mfkit_streaming_matrix *ps = NULL, *prod = NULL;
    mfkit_sm_prefix_sum(&ps);
    mfkit_sm_multiply(ps, inv, &prod);
    double e[N], oracle[N];
    mfkit_array ea = vec(e, N), oa = vec(oracle, N);
    CHECK(mfkit_banded_per_query_error(s, NULL, &ea) == MFKIT_OK, "per_query_error: %s", mfkit_last_error());
    CHECK(mfkit_sm_row_norms_squared(prod, &oa) == MFKIT_OK, "row_norms_squared");
    maxerr = 0;
    for (int i = 0; i < N; i++) maxerr = fmax(maxerr, fabs(e[i] - oracle[i]) / oracle[i]);
    CHECK(maxerr < 1e-13, "per_query_error vs oracle %g", maxerr);

    /* gradient vs central differences */
    double loss = 0, grad[N * B];
    mfkit_array ga = mat(grad, N, B);
    CHECK(mfkit_banded_loss(s, ps, MFKIT_REDUCTION_MEAN, NULL, &loss, &ga) == MFKIT_OK, "loss: %s", mfkit_last_error());
    maxerr = 0;
    double gmax = 0;
    for (int k = 0; k < N * B; k++) {
        if ((k / B) + (k % B) >= N) { CHECK(grad[k] == 0, "masked gradient %d nonzero", k); continue; }
        double saved = params[k], h = 1e-6;
        params[k] = saved + h; double fp = loss_of(params, ps);
        params[k] = saved - h; double fm = loss_of(params, ps);
        params[k] = saved;
        maxerr = fmax(maxerr, fabs((fp - fm) / (2 * h) - grad[k]));
        gmax = fmax(gmax, fabs(grad[k]));
    }
    CHECK(maxerr < 1e-7 * gmax, "gradient vs finite differences: %g (max %g)", maxerr, gmax);

    /* optimize: the callback stops after two steps; the loss does not increase */
    int calls = 0;
    mfkit_banded *opt = NULL, *def = NULL;
    CHECK(mfkit_banded_optimize(N, B, NULL, NULL, 50, MFKIT_REDUCTION_MEAN, NULL, stop_after_two, &calls, &opt) == MFKIT_OK,
          "optimize: %s", mfkit_last_error());
    CHECK(calls == 2, "callback called %d times", calls);
    double l0 = 0, l1 = 0;
    mfkit_banded_default(N, B, &def);
    mfkit_banded_loss(def, NULL, MFKIT_REDUCTION_MEAN, NULL, &l0, NULL);
    mfkit_banded_loss(opt, NULL, MFKIT_REDUCTION_MEAN, NULL, &l1, NULL);
    CHECK(l1 < l0, "optimize did not decrease the loss: %g >= %g", l1, l0);

    /* the L-BFGS minimizer on a caller's loss, x of shape (2, 3) written in place */
    double x[6] = {0};
    mfkit_array xa = mat(x, 2, 3);
    int64_t steps = -1; double fmin = -1;
    CHECK(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, 100, 5, &steps, &fmin) == MFKIT_OK,
          "lbfgs: %s", mfkit_last_error());
    for (int i = 0; i < 6; i++) CHECK(fabs(x[i] - i) < 1e-8, "lbfgs x[%d] = %g", i, x[i]);
    CHECK(steps > 0 && fmin < 1e-12, "lbfgs steps %lld loss %g", (long long)steps, fmin);
    CHECK(mfkit_lbfgs_minimize(&xa, NULL, NULL, NULL, 100, 5, NULL, NULL) == MFKIT_ERR_INVALID_ARGUMENT,
          "NULL objective accepted");
    CHECK(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, 100, 0, NULL, NULL) == MFKIT_ERR_INVALID_ARGUMENT,
          "memory 0 accepted");
    /* a memory far beyond the step count is clamped (it used to abort allocating memory x N) */
    for (int i = 0; i < 6; i++) x[i] = 0;
    CHECK(mfkit_lbfgs_minimize(&xa, quadratic, NULL, NULL, 100, INT64_MAX, &steps, &fmin) == MFKIT_OK,
          "lbfgs huge memory: %s", mfkit_last_error());
    for (int i = 0; i < 6; i++) CHECK(fabs(x[i] - i) < 1e-8, "lbfgs huge memory x[%d] = %g", i, x[i]);
    /* an array updated in place must not overlap itself (a zero stride used to be accepted) */
    double one = 5.0;
    mfkit_array x_bcast = {&one, MFKIT_FLOAT64, 2, {2, 3}, {0, 0}};
    CHECK(mfkit_lbfgs_minimize(&x_bcast, quadratic, NULL, NULL, 10, 5, NULL, NULL) == MFKIT_ERR_INVALID_ARGUMENT
          && one == 5.0, "self-overlapping x accepted");
    CHECK(strstr(mfkit_last_error(), "overlaps itself") != NULL, "message: %s", mfkit_last_error());
    /* huge bands: reported before the default coefficients are built (used to abort or crash) */
    mfkit_banded *huge = NULL;
    CHECK(mfkit_banded_default((int64_t)1 << 32, (int64_t)1 << 32, &huge) == MFKIT_ERR_OUT_OF_MEMORY && huge == NULL,
          "2^32 x 2^32 strategy: %s", mfkit_last_error());
    CHECK(strstr(mfkit_last_error(), "too large") != NULL, "message: %s", mfkit_last_error());
    CHECK(mfkit_banded_default((int64_t)1 << 62, (int64_t)1 << 62, &huge) == MFKIT_ERR_OUT_OF_MEMORY && huge == NULL,
          "2^62 x 2^62 strategy: %s", mfkit_last_error());

    /* sensitivity */
    int64_t sens = 0;
    CHECK(mfkit_banded_minsep_sensitivity_squared(def, 4, NULL, NULL, 0, &sens) == MFKIT_OK && sens == 3, "minsep sens %lld", (long long)sens);
    CHECK(mfkit_banded_minsep_sensitivity_squared(def, 2, NULL, NULL, 0, &sens) == MFKIT_ERR_INVALID_ARGUMENT, "min_sep < bands accepted");
    CHECK(strstr(mfkit_last_error(), "must be greater than or equal to bands=3") != NULL, "message: %s", mfkit_last_error());

    /* errors: zero diagonal, bad shapes, unsupported workload, freed handle, bad reduction */
    params[0] = 0;
    mfkit_banded *bad = NULL;
    CHECK(mfkit_banded_create(&p, &bad) == MFKIT_ERR_NUMERICAL && bad == NULL, "zero diagonal accepted");
    CHECK(strstr(mfkit_last_error(), "singular") != NULL, "message: %s", mfkit_last_error());
    double coefs[3] = {1, 2, 3};
    mfkit_array ca = vec(coefs, 3);
    CHECK(mfkit_banded_from_banded_toeplitz(2, &ca, &bad) == MFKIT_ERR_INVALID_ARGUMENT, "len(coefs) > n accepted");
    CHECK(strstr(mfkit_last_error(), "len(coefs) must be in the range [1, n], got 3") != NULL, "message: %s", mfkit_last_error());
    mfkit_array short_out = vec(e, N - 1);
    CHECK(mfkit_banded_per_query_error(s, NULL, &short_out) == MFKIT_ERR_SHAPE, "short out accepted");
    CHECK(mfkit_banded_per_query_error(s, inv, &ea) == MFKIT_ERR_INVALID_ARGUMENT, "banded-inverse workload accepted");
    CHECK(strstr(mfkit_last_error(), "BandedInverseStage") != NULL, "message: %s", mfkit_last_error());
    CHECK(mfkit_banded_loss(s, NULL, 9, NULL, &loss, NULL) == MFKIT_ERR_INVALID_ARGUMENT, "bad reduction accepted");
    CHECK(mfkit_banded_loss(s, NULL, MFKIT_REDUCTION_WEIGHTS, NULL, &loss, NULL) == MFKIT_ERR_INVALID_ARGUMENT, "NULL weights accepted");
    mfkit_banded_free(opt);
    CHECK(mfkit_banded_per_query_error(opt, NULL, &ea) == MFKIT_ERR_INVALID_ARGUMENT, "freed handle accepted");
    CHECK(mfkit_banded_optimize(N, N + 1, NULL, NULL, 5, 0, NULL, NULL, NULL, &bad) == MFKIT_ERR_INVALID_ARGUMENT, "bands > n accepted");

    mfkit_banded_free(def);
    mfkit_sm_free(prod); mfkit_sm_free(ps); mfkit_sm_free(inv);
    mfkit_banded_free(s);
    if (failures) { printf("%d failure(s)\n", failures); return 1; }
    printf("test_banded: all checks passed\n");
    return 0;
}

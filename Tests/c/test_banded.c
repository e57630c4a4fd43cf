/* C test of the banded-strategy ABI: construction, materialize vs the params layout, the
 * inverse against C (C * C^{-1} z = z), per-query error against streaming A C^{-1}, the gradient
 * against central differences, near-singular and extremely scaled strategies, sensitivity, and
 * errors. (Optimization: test_optimization.c.) */
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

    mfkit_banded *def = NULL;
    CHECK(mfkit_banded_default(N, B, &def) == MFKIT_OK, "default: %s", mfkit_last_error());

    /* near-singular strategies: params [[1, 1], [d, 1], [1, 0]] have the last error
     * (sqrt(2) - x1)^2 + x1^2 + 1 with x1 = d / (sqrt(1 + d^2) + 1), close to 3, although C^{-1}
     * has entries of size 1/d (A C^{-1} is small only by cancellation); accurate to about
     * 1e-16 / d, as streaming the rows of A C^{-1} */
    double tiny_diag[] = {1e-4, 1e-8, 1e-10};
    for (int k = 0; k < 3; k++) {
        double d = tiny_diag[k], x1 = d / (sqrt(1 + d * d) + 1), exact = (sqrt(2) - x1) * (sqrt(2) - x1) + x1 * x1 + 1;
        double sp[6] = {1, 1, d, 1, 1, 0}, e3[3];
        mfkit_array spa = mat(sp, 3, 2), e3a = vec(e3, 3);
        mfkit_banded *ns = NULL;
        CHECK(mfkit_banded_create(&spa, &ns) == MFKIT_OK, "create near-singular: %s", mfkit_last_error());
        CHECK(mfkit_banded_per_query_error(ns, NULL, &e3a) == MFKIT_OK, "near-singular %g: %s", tiny_diag[k], mfkit_last_error());
        CHECK(fabs(e3[2] - exact) < 1e-13 / d * exact && fabs(e3[0] - 2) < 1e-12,
              "near-singular %g: last error %.17g, exact %.17g", d, e3[2], exact);
        mfkit_banded_free(ns);
    }
    /* beyond all precision: refused, never a wrong value */
    {
        double sp[6] = {1, 1, 1e-14, 1, 1, 0}, e3[3] = {-1, -1, -1};
        mfkit_array spa = mat(sp, 3, 2), e3a = vec(e3, 3);
        mfkit_banded *ns = NULL;
        mfkit_banded_create(&spa, &ns);
        CHECK(mfkit_banded_per_query_error(ns, NULL, &e3a) == MFKIT_ERR_NUMERICAL && e3[2] == -1,
              "1e-14 diagonal not refused (e = %g)", e3[2]);
        CHECK(strstr(mfkit_last_error(), "too close to singular") != NULL, "message: %s", mfkit_last_error());
        mfkit_banded_free(ns);
    }
    /* scale: params times 1e-200 or 1e200 are the same strategy (norms are scaled) */
    double scales[] = {1e-200, 1e200};
    for (int k = 0; k < 2; k++) {
        double sp[N * B], es[N], cs[N * N], cref[N * N];
        for (int i = 0; i < N * B; i++) sp[i] = params[i] * scales[k];
        mfkit_array spa = mat(sp, N, B), esa = vec(es, N), csa = mat(cs, N, N), crefa = mat(cref, N, N);
        mfkit_banded *ss = NULL;
        CHECK(mfkit_banded_create(&spa, &ss) == MFKIT_OK, "create scaled: %s", mfkit_last_error());
        CHECK(mfkit_banded_per_query_error(ss, NULL, &esa) == MFKIT_OK, "scaled error: %s", mfkit_last_error());
        double worst = 0;
        for (int i = 0; i < N; i++) worst = fmax(worst, fabs(es[i] - e[i]) / e[i]);
        CHECK(worst < 1e-13, "scale %g: per_query_error off by %g", scales[k], worst);
        mfkit_banded_materialize(ss, &csa);
        mfkit_banded_materialize(s, &crefa);
        worst = 0;
        for (int i = 0; i < N * N; i++) worst = fmax(worst, fabs(cs[i] - cref[i]));
        CHECK(worst < 1e-15, "scale %g: materialize off by %g", scales[k], worst);
        mfkit_banded_free(ss);
    }
    /* a banded Toeplitz strategy with tiny coefficients is the same strategy */
    {
        double tc[3] = {1e-170, 0.5e-170, 0.25e-170}, uc[3] = {1, 0.5, 0.25}, pt[12], pu[12];
        mfkit_array tca = vec(tc, 3), uca = vec(uc, 3), pta = mat(pt, 4, 3), pua = mat(pu, 4, 3);
        mfkit_banded *t1 = NULL, *t2 = NULL;
        CHECK(mfkit_banded_from_banded_toeplitz(4, &tca, &t1) == MFKIT_OK, "tiny coefs: %s", mfkit_last_error());
        CHECK(mfkit_banded_from_banded_toeplitz(4, &uca, &t2) == MFKIT_OK, "coefs: %s", mfkit_last_error());
        mfkit_banded_params(t1, &pta);
        mfkit_banded_params(t2, &pua);
        for (int i = 0; i < 12; i++) CHECK(fabs(pt[i] - pu[i]) < 1e-15, "tiny coefs params[%d] %g vs %g", i, pt[i], pu[i]);
        mfkit_banded_free(t1); mfkit_banded_free(t2);
    }

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
    mfkit_banded *freed = NULL;
    mfkit_banded_default(N, B, &freed);
    mfkit_banded_free(freed);
    CHECK(mfkit_banded_per_query_error(freed, NULL, &ea) == MFKIT_ERR_INVALID_ARGUMENT, "freed handle accepted");

    mfkit_banded_free(def);
    mfkit_sm_free(prod); mfkit_sm_free(ps); mfkit_sm_free(inv);
    mfkit_banded_free(s);
    if (failures) { printf("%d failure(s)\n", failures); return 1; }
    printf("test_banded: all checks passed\n");
    return 0;
}

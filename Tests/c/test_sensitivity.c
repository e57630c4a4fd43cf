/* The sensitivity functions (mfkit_sens_*) through the C header: values against plain C
 * oracles, strided views, and every kind of error (status, message, output untouched). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"



static int close_to(double a, double b) { return fabs(a - b) <= 1e-12 * fmax(1.0, fabs(b)); }

static mfkit_array matrix(double *data, int64_t rows, int64_t cols) {
    mfkit_array a = {data, MFKIT_FLOAT64, 2, {rows, cols}, {cols * (int64_t)sizeof(double), sizeof(double)}};
    return a;
}

/* Expects `status` to equal `want` with `fragment` in the message. */
static void expect_error(mfkit_status status, mfkit_status want, const char *fragment, const char *what) {
    CHECK(status == want, "%s: status %d, expected %d", what, status, want);
    CHECK(strstr(mfkit_last_error(), fragment) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
          mfkit_last_error(), fragment);
}

#define N 12

int main(void) {
    /* C: a lower-triangular matrix with pseudo-random entries; X = C^T C by plain loops. */
    double c[N * N], x[N * N], g[N * N], ct[N * N];
    unsigned state = 12345;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            state = state * 1103515245u + 12345u;
            c[i * N + j] = j <= i ? ((double)(state >> 8) / (1 << 24)) * 2.0 - 1.0 : 0.0;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int r = 0; r < N; r++) s += c[r * N + i] * c[r * N + j];
            x[i * N + j] = s;
            ct[j * N + i] = c[i * N + j]; /* C stored column-major */
        }
    mfkit_array C = matrix(c, N, N), X = matrix(x, N, N), G = matrix(g, N, N);
    /* The same C read through a column-major descriptor. */
    mfkit_array CF = {ct, MFKIT_FLOAT64, 2, {N, N}, {sizeof(double), N * sizeof(double)}};
    double out = -1, out2 = -1;
    int64_t k = 0;

    /* Gram matrix. */
    CHECK(mfkit_sens_gram(&C, &G) == MFKIT_OK, "gram: %s", mfkit_last_error());
    for (int i = 0; i < N * N; i++) CHECK(close_to(g[i], x[i]), "gram entry %d: %g vs %g", i, g[i], x[i]);

    /* Gram into float32, and in place over C's own memory (C is packed first). */
    float g32[N * N];
    mfkit_array G32 = {g32, MFKIT_FLOAT32, 2, {N, N}, {N * sizeof(float), sizeof(float)}};
    CHECK(mfkit_sens_gram(&CF, &G32) == MFKIT_OK, "gram float32: %s", mfkit_last_error());
    for (int i = 0; i < N * N; i++) CHECK(fabs(g32[i] - x[i]) <= 1e-5 * fmax(1.0, fabs(x[i])), "gram float32 entry %d", i);
    double alias[N * N];
    memcpy(alias, c, sizeof(alias));
    mfkit_array A = matrix(alias, N, N);
    CHECK(mfkit_sens_gram(&A, &A) == MFKIT_OK, "gram in place: %s", mfkit_last_error());
    for (int i = 0; i < N * N; i++) CHECK(close_to(alias[i], x[i]), "gram in place entry %d", i);

    /* Single participation: the largest column norm. */
    double best = 0;
    for (int j = 0; j < N; j++) best = fmax(best, x[j * N + j]);
    CHECK(mfkit_sens_single_participation(&CF, &out) == MFKIT_OK, "%s", mfkit_last_error());
    CHECK(close_to(out, sqrt(best)), "single participation %g vs %g", out, sqrt(best));

    /* min_sep = 1, no cap: the upper bound is sqrt(sum |X|). */
    double total = 0;
    for (int i = 0; i < N * N; i++) total += fabs(x[i]);
    CHECK(mfkit_sens_min_sep_upper_bound(&C, 1, NULL, &out) == MFKIT_OK, "%s", mfkit_last_error());
    CHECK(close_to(out, sqrt(total)), "upper bound %g vs %g", out, sqrt(total));
    CHECK(mfkit_sens_min_sep_upper_bound_for_x(&X, 1, NULL, &out2) == MFKIT_OK, "%s", mfkit_last_error());
    CHECK(close_to(out2, out), "upper bound for X %g vs %g", out2, out);
    CHECK(mfkit_sens_min_sep_upper_bound(&CF, 3, NULL, &out) == MFKIT_OK, "%s", mfkit_last_error());
    CHECK(mfkit_sens_min_sep_upper_bound_for_x(&X, 3, NULL, &out2) == MFKIT_OK, "%s", mfkit_last_error());
    CHECK(close_to(out, out2), "upper bound from C %g vs from X %g", out, out2);

    /* Fixed epochs: with one epoch, the largest column norm; with N epochs, sqrt(sum |X|). */
    CHECK(mfkit_sens_fixed_epoch(&C, 1, &out) == MFKIT_OK && close_to(out, sqrt(best)), "fixed epoch 1: %g", out);
    CHECK(mfkit_sens_fixed_epoch_for_x(&X, N, &out) == MFKIT_OK && close_to(out, sqrt(total)), "fixed epoch N: %g", out);
    CHECK(mfkit_sens_fixed_epoch(&CF, 3, &out) == MFKIT_OK, "%s", mfkit_last_error());
    CHECK(mfkit_sens_fixed_epoch_for_x(&X, 3, &out2) == MFKIT_OK && close_to(out, out2), "fixed epoch 3: %g vs %g", out, out2);

    /* Banded: a diagonal C (jax_privacy's case): two participations give sqrt(9 + 4). */
    double d[25] = {0};
    double diag[5] = {0, 3, 0, 1, 2};
    for (int i = 0; i < 5; i++) d[i * 5 + i] = diag[i];
    mfkit_array D = matrix(d, 5, 5);
    CHECK(mfkit_sens_banded(&D, 2, NULL, &out) == MFKIT_OK && out == sqrt(13.0), "banded: %g", out);
    int64_t one = 1;
    CHECK(mfkit_sens_banded(&D, 2, &one, &out) == MFKIT_OK && out == 3.0, "banded, cap 1: %g", out);
    for (int i = 0; i < 5; i++) d[i * 5 + i] = diag[i] * diag[i]; /* now X = C^T C */
    CHECK(mfkit_sens_banded_for_x(&D, 2, NULL, &out) == MFKIT_OK && out == sqrt(13.0), "banded for X: %g", out);

    /* Participation patterns. */
    double v[5] = {1.0, 0.5, 0.5, 0.5, 0.1};
    mfkit_array V = {v, MFKIT_FLOAT64, 1, {5}, {sizeof(double)}};
    CHECK(mfkit_sens_max_participation_for_linear_fn(&V, 1, NULL, &out) == MFKIT_OK && close_to(out, 2.6), "linear fn %g", out);
    int64_t two = 2;
    CHECK(mfkit_sens_max_participation_for_linear_fn(&V, 2, &two, &out) == MFKIT_OK && close_to(out, 1.5), "linear fn capped %g", out);
    CHECK(mfkit_sens_minsep_true_max_participations(5, 2, NULL, &k) == MFKIT_OK && k == 3, "true max %lld", (long long)k);
    CHECK(mfkit_sens_minsep_true_max_participations(5, 2, &two, &k) == MFKIT_OK && k == 2, "true max capped %lld", (long long)k);

    /* Errors: status, message, and the output left as it was. */
    out = -1;
    expect_error(mfkit_sens_banded(&C, 2, NULL, &out), MFKIT_ERR_INVALID_ARGUMENT, "must be orthogonal", "not orthogonal");
    expect_error(mfkit_sens_banded_for_x(&X, 0, NULL, &out), MFKIT_ERR_INVALID_ARGUMENT,
                 "min_sep must be in the range [1, 12], found 0.", "min_sep range");
    expect_error(mfkit_sens_fixed_epoch(&C, 0, &out), MFKIT_ERR_INVALID_ARGUMENT, "epochs=0 must be positive.", "epochs 0");
    expect_error(mfkit_sens_fixed_epoch_for_x(&X, 5, &out), MFKIT_ERR_INVALID_ARGUMENT, "epochs=5 must divide n=12.", "epochs 5");
    expect_error(mfkit_sens_min_sep_upper_bound(&C, 0, NULL, &out), MFKIT_ERR_INVALID_ARGUMENT, "min_sep must be >= 1", "min_sep 0");
    CHECK(out == -1, "out written on failure: %g", out);

    double upper[4] = {1, 2, 0, 1};
    mfkit_array U = matrix(upper, 2, 2);
    expect_error(mfkit_sens_single_participation(&U, &out), MFKIT_ERR_INVALID_ARGUMENT,
                 "Matrix C should be lower-triangular", "upper-triangular C");
    expect_error(mfkit_sens_min_sep_upper_bound_for_x(&U, 1, NULL, &out), MFKIT_ERR_INVALID_ARGUMENT,
                 "Matrix X should be symmetric", "non-symmetric X");
    mfkit_array R = matrix(x, 3, 4);
    expect_error(mfkit_sens_banded_for_x(&R, 1, NULL, &out), MFKIT_ERR_SHAPE, "Matrix X should be square", "non-square X");
    double bad[4] = {1, 0, NAN, 1};
    mfkit_array B = matrix(bad, 2, 2);
    expect_error(mfkit_sens_fixed_epoch(&B, 1, &out), MFKIT_ERR_INVALID_ARGUMENT, "Matrix C is not finite", "NaN in C");
    mfkit_array Z = {c, MFKIT_COMPLEX128, 2, {2, 2}, {32, 16}};
    expect_error(mfkit_sens_single_participation(&Z, &out), MFKIT_ERR_DTYPE, "float32 or float64", "complex C");
    mfkit_array L = {c, MFKIT_FLOAT64, 1, {4}, {8}};
    expect_error(mfkit_sens_banded(&L, 1, NULL, &out), MFKIT_ERR_SHAPE, "unexpected shape (4,)", "1-D C");
    mfkit_array S = {c, MFKIT_FLOAT64, 2, {2, 2}, {12, 8}};
    expect_error(mfkit_sens_single_participation(&S, &out), MFKIT_ERR_INVALID_ARGUMENT, "not a multiple", "odd stride");
    expect_error(mfkit_sens_single_participation(NULL, &out), MFKIT_ERR_INVALID_ARGUMENT, "C is a null pointer", "null C");
    expect_error(mfkit_sens_single_participation(&C, NULL), MFKIT_ERR_INVALID_ARGUMENT, "out is a null pointer", "null out");
    expect_error(mfkit_sens_minsep_true_max_participations(-1, 1, NULL, &k), MFKIT_ERR_INVALID_ARGUMENT, "n must be >= 0", "n < 0");
    double inf_values[2] = {1, INFINITY};
    mfkit_array I = {inf_values, MFKIT_FLOAT64, 1, {2}, {8}};
    expect_error(mfkit_sens_max_participation_for_linear_fn(&I, 1, NULL, &out), MFKIT_ERR_INVALID_ARGUMENT, "x must be finite", "inf in x");
    double small[4];
    mfkit_array Gs = matrix(small, 2, 2);
    expect_error(mfkit_sens_gram(&C, &Gs), MFKIT_ERR_SHAPE, "out must have shape (12, 12)", "gram out shape");
    CHECK(out == -1, "out written on failure: %g", out);

    if (failures) printf("%d failure(s)\n", failures);
    else printf("sensitivity: all checks passed\n");
    return failures != 0;
}

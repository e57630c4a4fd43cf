/* Dense strategies (mfkit_dense_*) through the C header: jax_privacy's closed-form cases, the
 * mask, a round trip through strategy_from_x, an optimization with its callback and tolerance
 * stop (its sensitivity through mfkit_sens_*), and errors (status, message, out untouched). */
#include <math.h>
#include <string.h>

#include "check.h"

static mfkit_array matrix(double *data, int64_t rows, int64_t cols) {
    mfkit_array a = {data, MFKIT_FLOAT64, 2, {rows, cols}, {cols * (int64_t)sizeof(double), sizeof(double)}};
    return a;
}

static mfkit_array vector(double *data, int64_t n) {
    mfkit_array a = {data, MFKIT_FLOAT64, 1, {n}, {sizeof(double)}};
    return a;
}

static int close_to(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(1.0, fabs(b)); }

typedef struct { int calls; double first_loss, last_loss, last_grad; } progress;

static int on_step(void *user, int64_t step, double loss, const double *grad, const double *x, int64_t n) {
    progress *p = user;
    if (step == 0) p->first_loss = loss;
    p->last_loss = loss;
    double g = 0;
    for (int64_t i = 0; i < n * n; i++) g = fmax(g, fabs(grad[i]));
    p->last_grad = g;
    p->calls++;
    (void)x;
    return 0;
}

#define N 16

int main(void) {
    /* jax_privacy's 2 x 2 prefix-sum case: C = [[1, 0], [0.5, 1]] gives errors [1, 1.25]; the
     * tree-aggregation noising matrix gives [2/3, 2/3]. */
    double c2[4] = {1, 0, 0.5, 1}, e[3] = {7, 7, 7};
    mfkit_array ca = matrix(c2, 2, 2), ea = vector(e, 2);
    EXPECT_STATUS(mfkit_dense_per_query_error(&ca, NULL, NULL, 0, &ea), MFKIT_OK);
    CHECK(close_to(e[0], 1, 1e-14) && close_to(e[1], 1.25, 1e-14), "errors %g %g", e[0], e[1]);
    double tree[6] = {2.0 / 3, -1.0 / 3, 1.0 / 3, -1.0 / 3, 2.0 / 3, 1.0 / 3};
    mfkit_array ta = matrix(tree, 2, 3);
    EXPECT_STATUS(mfkit_dense_per_query_error(NULL, &ta, NULL, 0, &ea), MFKIT_OK);
    CHECK(close_to(e[0], 2.0 / 3, 1e-14) && close_to(e[1], 2.0 / 3, 1e-14), "errors %g %g", e[0], e[1]);

    /* The mask for n = 4, epochs = 2: zeros at (0, 2), (1, 3) and their mirrors. */
    double mask[16];
    mfkit_array ma = matrix(mask, 4, 4);
    EXPECT_STATUS(mfkit_dense_orthogonal_mask(4, 2, &ma), MFKIT_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            CHECK(mask[i * 4 + j] == ((i != j && (i - j) % 2 == 0) ? 0 : 1), "mask[%d][%d] = %g", i, j, mask[i * 4 + j]);

    /* strategy_from_x of X = C^T C gives C back (C lower-triangular, positive diagonal). */
    double c[N * N], x[N * N], back[N * N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) c[i * N + j] = j < i ? 0.1 * ((i * 7 + j * 3) % 5 - 2) : (i == j ? 1.0 + 0.05 * i : 0.0);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int r = 0; r < N; r++) s += c[r * N + i] * c[r * N + j];
            x[i * N + j] = s;
        }
    mfkit_array xa = matrix(x, N, N), ba = matrix(back, N, N);
    EXPECT_STATUS(mfkit_dense_strategy_from_x(&xa, &ba), MFKIT_OK);
    for (int i = 0; i < N * N; i++) CHECK(close_to(back[i], c[i], 1e-12), "C[%d] = %g, expected %g", i, back[i], c[i]);

    /* Optimization for 2 epochs with the callback and jax_privacy's tolerance stop. */
    double strategy[N * N], tol = 1e-3, loss = 0;
    int64_t steps = 0;
    progress p = {0, 0, 0, 0};
    mfkit_array sa = matrix(strategy, N, N);
    EXPECT_STATUS(mfkit_dense_optimize(N, 2, NULL, 0, NULL, 10000, MFKIT_REDUCTION_MEAN, NULL, &tol, on_step, &p, &steps,
                                       &loss, &sa), MFKIT_OK);
    CHECK(steps == p.calls && steps > 1 && steps < 10000, "steps %lld, calls %d", (long long)steps, p.calls);
    CHECK(p.last_grad <= tol && p.last_loss < p.first_loss && loss <= p.last_loss, "grad %g, losses %g %g %g",
          p.last_grad, p.first_loss, p.last_loss, loss);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) CHECK(strategy[i * N + j] == 0, "C[%d][%d] above the diagonal", i, j);
    double sens = 0;
    EXPECT_STATUS(mfkit_sens_fixed_epoch(&sa, 2, &sens), MFKIT_OK);
    CHECK(close_to(sens, 1, 1e-9), "fixed-epoch sensitivity %g", sens);

    /* The loss and gradient at X = I with prefix sums: e_j = j + 1, so the mean is (N + 1) / 2;
     * the gradient is -A^T A / N, entry (i, j) = -(N - max(i, j)) / N. */
    double eye[N * N], grad[N * N], l = 0;
    for (int i = 0; i < N * N; i++) eye[i] = i % (N + 1) == 0;
    mfkit_array ia = matrix(eye, N, N), ga = matrix(grad, N, N);
    EXPECT_STATUS(mfkit_dense_loss(&ia, NULL, MFKIT_REDUCTION_MEAN, NULL, &l, &ga), MFKIT_OK);
    CHECK(close_to(l, (N + 1) / 2.0, 1e-14), "loss %g", l);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            CHECK(close_to(grad[i * N + j], -(N - (i > j ? i : j)) / (double)N, 1e-14), "grad[%d][%d] = %g", i, j, grad[i * N + j]);
    EXPECT_STATUS(mfkit_dense_loss(&ia, NULL, MFKIT_REDUCTION_LAST, NULL, &l, NULL), MFKIT_OK);
    CHECK(close_to(l, N, 1e-14), "last loss %g", l);

    /* Errors: a clear status and message, outputs untouched. */
    e[0] = e[1] = 7;
    EXPECT_STATUS(mfkit_dense_per_query_error(NULL, NULL, NULL, 0, &ea), MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mfkit_last_error(), "mfkit_dense_per_query_error: Specify exactly one of") != NULL, "%s", mfkit_last_error());
    double singular[4] = {1, 0, 1, 0};
    mfkit_array sg = matrix(singular, 2, 2);
    EXPECT_STATUS(mfkit_dense_per_query_error(&sg, NULL, NULL, 0, &ea), MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mfkit_last_error(), "Matrix B is not finite") != NULL, "%s", mfkit_last_error());
    CHECK(e[0] == 7 && e[1] == 7, "out written on failure");
    EXPECT_STATUS(mfkit_dense_optimize(10, 3, NULL, 0, NULL, 5, MFKIT_REDUCTION_MEAN, NULL, NULL, NULL, NULL, NULL, NULL, &sa),
                  MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(strstr(mfkit_last_error(), "epochs=3 must divide n=10") != NULL, "%s", mfkit_last_error());
    int64_t zero_bands = 0;
    EXPECT_STATUS(mfkit_dense_optimize(N, 1, &zero_bands, 0, NULL, 5, MFKIT_REDUCTION_MEAN, NULL, NULL, NULL, NULL, NULL,
                                       NULL, &sa), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_dense_optimize(N, 1, NULL, 0, NULL, 5, MFKIT_REDUCTION_MEAN, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                  MFKIT_ERR_INVALID_ARGUMENT);
    double bad[4] = {1, 2, 2, 1};
    mfkit_array bx = matrix(bad, 2, 2), bo = matrix(c2, 2, 2);
    EXPECT_STATUS(mfkit_dense_strategy_from_x(&bx, &bo), MFKIT_ERR_NUMERICAL);
    double l0 = -1;
    EXPECT_STATUS(mfkit_dense_loss(&bx, NULL, MFKIT_REDUCTION_MEAN, NULL, &l0, NULL), MFKIT_ERR_NUMERICAL);
    CHECK(l0 == -1 && strstr(mfkit_last_error(), "not positive definite") != NULL, "%s", mfkit_last_error());
    EXPECT_STATUS(mfkit_dense_loss(&bx, NULL, MFKIT_REDUCTION_MEAN, NULL, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(c2[0] == 1 && c2[1] == 0 && c2[2] == 0.5 && c2[3] == 1, "out written on failure");
    EXPECT_STATUS(mfkit_dense_orthogonal_mask(4, 3, &ma), MFKIT_ERR_INVALID_ARGUMENT);
    return failures != 0;
}

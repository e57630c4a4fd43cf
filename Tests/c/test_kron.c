/* Kronecker sums through the C ABI: results against direct loops, round trips, and every
 * error status with its message (outputs untouched on failure). Returns non-zero on failure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"



static mfkit_array vec64(double *p, int64_t n, int64_t stride) {
    mfkit_array a = {p, MFKIT_FLOAT64, 1, {n}, {stride * (int64_t)sizeof(double)}};
    return a;
}

static mfkit_array mat64(double *p, int64_t rows, int64_t cols) {
    mfkit_array a = {p, MFKIT_FLOAT64, 2, {rows, cols}, {cols * (int64_t)sizeof(double), (int64_t)sizeof(double)}};
    return a;
}

/* Expects `status` (the text of a call, `call`) to be `want`, with a message that starts with
 * the called C function's name: "mfkit_kron_sum: ...". */
static void expect_status(mfkit_status status, mfkit_status want, const char *call, int line) {
    size_t name = strcspn(call, "(");
    if (status != want) {
        fprintf(stderr, "FAIL line %d: status %d, expected %d (%s)\n", line, status, want, mfkit_last_error());
        failures++;
    } else if (want != MFKIT_OK && (strncmp(mfkit_last_error(), call, name) != 0 || mfkit_last_error()[name] != ':')) {
        fprintf(stderr, "FAIL line %d: message '%s' does not name %.*s\n", line, mfkit_last_error(), (int)name, call);
        failures++;
    }
}
#define EXPECT_CODE(status, want, function) expect_status((status), (want), #status, __LINE__)

static int all_equal(const double *p, int n, double v) {
    for (int i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

int main(void) {
    /* kronsum_diag of (a, b, c), lengths 2, 3, 4; b read backwards through a negative stride */
    double a[2] = {0.5, -1.0}, b_store[3] = {3.0, 2.0, 1.0}, c[4] = {0.1, 0.2, 0.3, 0.4};
    mfkit_array vecs[3] = {vec64(a, 2, 1), vec64(b_store + 2, 3, -1), vec64(c, 4, 1)};
    double b[3] = {1.0, 2.0, 3.0};
    double w[24];
    mfkit_array wout = vec64(w, 24, 1);
    EXPECT_CODE(mfkit_kron_sum_diag(vecs, 3, &wout), MFKIT_OK, "kronsum_diag");
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                CHECK(fabs(w[(i * 3 + j) * 4 + k] - (a[i] + b[j] + c[k])) < 1e-15, "kronsum_diag at %d %d %d", i, j, k);

    /* diagonal projection: the round trip gives the same Kronecker sum */
    double pa[2], pb[3], pc[4];
    mfkit_array outs[3] = {vec64(pa, 2, 1), vec64(pb, 3, 1), vec64(pc, 4, 1)};
    EXPECT_CODE(mfkit_kron_ks_project_diag(&wout, outs, 3), MFKIT_OK, "ks_project_diag");
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                CHECK(fabs(pa[i] + pb[j] + pc[k] - w[(i * 3 + j) * 4 + k]) < 1e-14, "round trip at %d %d %d", i, j, k);
    CHECK(fabs((pa[0] + pa[1]) / 2 - (pb[0] + pb[1] + pb[2]) / 3) < 1e-14, "equal trace shares");

    /* factorwise average of the diagonal, axis 1: mean over axes 0 and 2 */
    int64_t dims[3] = {2, 3, 4};
    double avg[3];
    mfkit_array avg_out = vec64(avg, 3, 1);
    EXPECT_CODE(mfkit_kron_factorwise_average_diag(&wout, dims, 3, 1, &avg_out), MFKIT_OK, "factorwise_average_diag");
    for (int j = 0; j < 3; j++) CHECK(fabs(avg[j] - (b[j] + (0.5 - 1.0) / 2 + 0.25)) < 1e-14, "average %d", j);

    /* dense Kronecker sum of A (2x2) and B (3x3), then back */
    double A[4] = {1, 2, 3, 4}, B[9] = {5, 6, 7, 8, 9, 10, 11, 12, 13}, M[36];
    mfkit_array mats[2] = {mat64(A, 2, 2), mat64(B, 3, 3)};
    mfkit_array mout = mat64(M, 6, 6);
    EXPECT_CODE(mfkit_kron_sum(mats, 2, &mout), MFKIT_OK, "kronsum");
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            int i1 = i / 3, i2 = i % 3, j1 = j / 3, j2 = j % 3;
            double want = (i2 == j2 ? A[i1 * 2 + j1] : 0) + (i1 == j1 ? B[i2 * 3 + j2] : 0);
            CHECK(M[i * 6 + j] == want, "kronsum at %d %d: %g vs %g", i, j, M[i * 6 + j], want);
        }
    double FA[4], FB[9], M2[36];
    mfkit_array fouts[2] = {mat64(FA, 2, 2), mat64(FB, 3, 3)};
    EXPECT_CODE(mfkit_kron_ks_project(&mout, fouts, 2), MFKIT_OK, "ks_project");
    mfkit_array m2 = mat64(M2, 6, 6);
    EXPECT_CODE(mfkit_kron_sum(fouts, 2, &m2), MFKIT_OK, "kronsum");
    for (int i = 0; i < 36; i++) CHECK(fabs(M2[i] - M[i]) < 1e-13, "dense round trip at %d", i);
    double blk[4];
    mfkit_array blk_out = mat64(blk, 2, 2);
    int64_t dims2[2] = {2, 3};
    EXPECT_CODE(mfkit_kron_factorwise_average(&mout, dims2, 2, 0, &blk_out), MFKIT_OK, "factorwise_average");
    for (int i = 0; i < 4; i++) CHECK(fabs(blk[i] - (A[i] + (i % 3 == 0 ? 9.0 : 0.0))) < 1e-13, "block average %d", i);

    /* matvec against the dense matrix */
    double x[6] = {1, -2, 3, 0.5, 0, 2}, y[6];
    mfkit_array xa = vec64(x, 6, 1), ya = vec64(y, 6, 1);
    EXPECT_CODE(mfkit_kron_sum_matvec(mats, 2, &xa, &ya), MFKIT_OK, "kronsum_matvec");
    for (int i = 0; i < 6; i++) {
        double s = 0;
        for (int j = 0; j < 6; j++) s += M[i * 6 + j] * x[j];
        CHECK(fabs(y[i] - s) < 1e-13, "matvec row %d", i);
    }

    /* fused passes: log-determinant and the projection of the reciprocal */
    double pos[3][4] = {{1.5, 2.5, 0, 0}, {0.3, 0.7, 1.1, 0}, {2.0, 3.0, 4.0, 5.0}};
    mfkit_array pv[3] = {vec64(pos[0], 2, 1), vec64(pos[1], 3, 1), vec64(pos[2], 4, 1)};
    double logdet = 0, pw[24];
    mfkit_array pwa = vec64(pw, 24, 1);
    EXPECT_CODE(mfkit_kron_sum_diag(pv, 3, &pwa), MFKIT_OK, "kronsum_diag");
    double want = 0;
    for (int i = 0; i < 24; i++) want += log(pw[i]);
    EXPECT_CODE(mfkit_kron_sum_diag_reduce(pv, 3, MFKIT_KRON_LOG, &logdet), MFKIT_OK, "kronsum_diag_reduce");
    CHECK(fabs(logdet - want) < 1e-13 * fabs(want), "log-determinant %.17g vs %.17g", logdet, want);
    double ra[2], rb[3], rc[4], qa[2], qb[3], qc[4];
    mfkit_array rout[3] = {vec64(ra, 2, 1), vec64(rb, 3, 1), vec64(rc, 4, 1)};
    mfkit_array qout[3] = {vec64(qa, 2, 1), vec64(qb, 3, 1), vec64(qc, 4, 1)};
    EXPECT_CODE(mfkit_kron_ks_project_diag_map(pv, 3, MFKIT_KRON_RECIPROCAL, rout, 3), MFKIT_OK, "ks_project_diag_map");
    for (int i = 0; i < 24; i++) pw[i] = 1 / pw[i];
    EXPECT_CODE(mfkit_kron_ks_project_diag(&pwa, qout, 3), MFKIT_OK, "ks_project_diag");
    for (int i = 0; i < 2; i++) CHECK(fabs(ra[i] - qa[i]) < 1e-14, "fused a %d", i);
    for (int i = 0; i < 3; i++) CHECK(fabs(rb[i] - qb[i]) < 1e-14, "fused b %d", i);
    for (int i = 0; i < 4; i++) CHECK(fabs(rc[i] - qc[i]) < 1e-14, "fused c %d", i);

    /* errors: statuses, messages, untouched outputs */
    double sentinel[24];
    for (int i = 0; i < 24; i++) sentinel[i] = 7.0;
    mfkit_array sent = vec64(sentinel, 24, 1);
    EXPECT_CODE(mfkit_kron_sum_diag(vecs, 0, &sent), MFKIT_ERR_INVALID_ARGUMENT, "kronsum_diag");
    EXPECT_CODE(mfkit_kron_sum_diag(NULL, 3, &sent), MFKIT_ERR_INVALID_ARGUMENT, "kronsum_diag");
    EXPECT_CODE(mfkit_kron_sum_diag(vecs, 3, NULL), MFKIT_ERR_INVALID_ARGUMENT, "kronsum_diag");
    mfkit_array short_out = vec64(sentinel, 23, 1);
    EXPECT_CODE(mfkit_kron_sum_diag(vecs, 3, &short_out), MFKIT_ERR_SHAPE, "kronsum_diag");
    mfkit_array f32 = sent;
    f32.dtype = MFKIT_FLOAT32;
    EXPECT_CODE(mfkit_kron_sum_diag(vecs, 3, &f32), MFKIT_ERR_DTYPE, "kronsum_diag");
    mfkit_array overlap = vec64(a, 24, 0);
    EXPECT_CODE(mfkit_kron_sum_diag(vecs, 3, &overlap), MFKIT_ERR_INVALID_ARGUMENT, "kronsum_diag");
    CHECK(strstr(mfkit_last_error(), "overlaps") != NULL, "overlap message: %s", mfkit_last_error());
    mfkit_array odd = sent;
    odd.strides[0] = 3;  /* not a multiple of the item size */
    EXPECT_CODE(mfkit_kron_sum_diag(vecs, 3, &odd), MFKIT_ERR_INVALID_ARGUMENT, "kronsum_diag");
    mfkit_array bad_outs[3] = {vec64(sentinel, 2, 1), vec64(sentinel + 2, 3, 1), vec64(sentinel + 5, 5, 1)};
    EXPECT_CODE(mfkit_kron_ks_project_diag(&wout, bad_outs, 3), MFKIT_ERR_SHAPE, "ks_project_diag");
    CHECK(strstr(mfkit_last_error(), "multiply") != NULL, "dims message: %s", mfkit_last_error());
    mfkit_array shared_outs[2] = {vec64(sentinel, 4, 1), vec64(sentinel + 3, 6, 1)};
    EXPECT_CODE(mfkit_kron_ks_project_diag(&wout, shared_outs, 2), MFKIT_ERR_INVALID_ARGUMENT, "ks_project_diag");
    int64_t bad_dims[2] = {5, 5};
    mfkit_array sent_avg = vec64(sentinel, 5, 1);
    EXPECT_CODE(mfkit_kron_factorwise_average_diag(&wout, bad_dims, 2, 0, &sent_avg), MFKIT_ERR_SHAPE, "factorwise_average_diag");
    EXPECT_CODE(mfkit_kron_factorwise_average_diag(&wout, dims, 3, 3, &avg_out), MFKIT_ERR_INVALID_ARGUMENT, "factorwise_average_diag");
    EXPECT_CODE(mfkit_kron_factorwise_average_diag(&wout, NULL, 3, 0, &avg_out), MFKIT_ERR_INVALID_ARGUMENT, "factorwise_average_diag");
    mfkit_array rect[2] = {mat64(A, 2, 2), mat64(B, 3, 2)};
    mfkit_array sent_mat = mat64(sentinel, 4, 6);
    EXPECT_CODE(mfkit_kron_sum(rect, 2, &sent_mat), MFKIT_ERR_SHAPE, "kronsum");
    CHECK(strstr(mfkit_last_error(), "square") != NULL, "square message: %s", mfkit_last_error());
    EXPECT_CODE(mfkit_kron_sum_diag_reduce(pv, 3, 9, &logdet), MFKIT_ERR_INVALID_ARGUMENT, "kronsum_diag_reduce");
    EXPECT_CODE(mfkit_kron_sum_diag_reduce(pv, 3, MFKIT_KRON_LOG, NULL), MFKIT_ERR_INVALID_ARGUMENT, "kronsum_diag_reduce");
    EXPECT_CODE(mfkit_kron_sum_matvec(mats, 2, &xa, &xa), MFKIT_ERR_INVALID_ARGUMENT, "kronsum_matvec");
    mfkit_array unknown = sent;
    unknown.dtype = 42;
    EXPECT_CODE(mfkit_kron_ks_project_diag_map(pv, 3, MFKIT_KRON_LOG, &unknown, 1), MFKIT_ERR_DTYPE, "ks_project_diag_map");
    CHECK(all_equal(sentinel, 24, 7.0), "an output was written on error");

    if (failures) fprintf(stderr, "%d failure(s)\n", failures);
    else printf("test_kron: all checks passed\n");
    return failures != 0;
}

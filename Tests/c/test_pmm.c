/* Parametric matrix models through the C ABI: a low-rank model against a direct evaluation of
 * M(x) = M_0 + sum_i x_i M_i + s * i * sum_{i>j} [M_i, M_j], the full-rank model from the same
 * matrices, the accessors, and the error paths (statuses, messages, untouched outputs). */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#define Q 3 /* matrices: bias + 2 features */
#define R 2
#define N 5
#define P 2
#define S 7 /* samples */


static double rnd(unsigned *state) {
    *state = *state * 1103515245u + 12345u;
    return ((*state >> 8) & 0xffff) / 32768.0 - 1.0;
}

int main(void) {
    unsigned seed = 42;
    double lambdas[Q][R];
    double complex us[Q][R][N];
    double x[S][P];
    for (int i = 0; i < Q; i++)
        for (int k = 0; k < R; k++) {
            lambdas[i][k] = rnd(&seed);
            for (int a = 0; a < N; a++) us[i][k][a] = rnd(&seed) + I * rnd(&seed);
        }
    for (int s = 0; s < S; s++)
        for (int i = 0; i < P; i++) x[s][i] = rnd(&seed);
    const double smoothing = 0.4;

    /* oracle: full matrices, commutator double sum, affine map */
    double complex ms[Q][N][N], c[N][N], expected[S][N][N];
    memset(ms, 0, sizeof ms);
    memset(c, 0, sizeof c);
    for (int i = 0; i < Q; i++)
        for (int k = 0; k < R; k++)
            for (int a = 0; a < N; a++)
                for (int b = 0; b < N; b++) ms[i][a][b] += lambdas[i][k] * us[i][k][a] * conj(us[i][k][b]);
    for (int i = 0; i < Q; i++)
        for (int j = 0; j < i; j++)
            for (int a = 0; a < N; a++)
                for (int b = 0; b < N; b++)
                    for (int l = 0; l < N; l++) c[a][b] += ms[i][a][l] * ms[j][l][b] - ms[j][a][l] * ms[i][l][b];
    for (int s = 0; s < S; s++)
        for (int a = 0; a < N; a++)
            for (int b = 0; b < N; b++) {
                double complex v = ms[0][a][b] + smoothing * I * c[a][b];
                for (int i = 0; i < P; i++) v += x[s][i] * ms[i + 1][a][b];
                expected[s][a][b] = v;
            }

    int64_t lshape[2] = {Q, R}, ushape[3] = {Q, R, N}, xshape[2] = {S, P}, oshape[3] = {S, N, N};
    int64_t mshape[3] = {Q, N, N}, cshape[2] = {N, N};
    mfkit_array la = view(lambdas, MFKIT_FLOAT64, 2, lshape, 8);
    mfkit_array ua = view(us, MFKIT_COMPLEX128, 3, ushape, 16);
    mfkit_array xa = view(x, MFKIT_FLOAT64, 2, xshape, 8);

    mfkit_pmm *model = NULL;
    CHECK(mfkit_pmm_low_rank_create(&la, &ua, smoothing, 1, MFKIT_COMPLEX128, &model) == MFKIT_OK, "create");
    int64_t p = 0, n = 0;
    mfkit_dtype dt = 0;
    CHECK(mfkit_pmm_info(model, &p, &n, &dt) == MFKIT_OK && p == P && n == N && dt == MFKIT_COMPLEX128, "info");

    double complex out[S][N][N];
    mfkit_array oa = view(out, MFKIT_COMPLEX128, 3, oshape, 16);
    CHECK(mfkit_pmm_forward(model, &xa, &oa) == MFKIT_OK, "forward");
    double err = 0;
    for (int s = 0; s < S; s++)
        for (int a = 0; a < N; a++)
            for (int b = 0; b < N; b++) {
                err = fmax(err, cabs(out[s][a][b] - expected[s][a][b]));
                CHECK(out[s][a][b] == conj(out[s][b][a]), "not exactly Hermitian at %d %d %d", s, a, b);
            }
    CHECK(err < 1e-12, "forward error %g", err);

    /* accessors: full matrices and C */
    double complex got_ms[Q][N][N], got_c[N][N];
    mfkit_array gm = view(got_ms, MFKIT_COMPLEX128, 3, mshape, 16), gc = view(got_c, MFKIT_COMPLEX128, 2, cshape, 16);
    CHECK(mfkit_pmm_matrices(model, &gm) == MFKIT_OK, "matrices");
    CHECK(mfkit_pmm_smoothing_matrix(model, &gc) == MFKIT_OK, "smoothing matrix");
    err = 0;
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) {
            err = fmax(err, cabs(got_c[a][b] - I * c[a][b]));
            for (int i = 0; i < Q; i++) err = fmax(err, cabs(got_ms[i][a][b] - ms[i][a][b]));
        }
    CHECK(err < 1e-12, "accessor error %g", err);

    /* full-rank model from the same matrices, complex64, flattened output */
    mfkit_array ma = view(ms, MFKIT_COMPLEX128, 3, mshape, 16);
    mfkit_pmm *full = NULL;
    CHECK(mfkit_pmm_affine_create(&ma, smoothing, 1, MFKIT_COMPLEX64, &full) == MFKIT_OK, "affine create");
    float complex out32[S][N * N];
    int64_t fshape[2] = {S, N * N};
    mfkit_array fa = view(out32, MFKIT_COMPLEX64, 2, fshape, 8);
    CHECK(mfkit_pmm_forward(full, &xa, &fa) == MFKIT_OK, "forward full");
    err = 0;
    for (int s = 0; s < S; s++)
        for (int e = 0; e < N * N; e++) err = fmax(err, cabs(out32[s][e] - expected[s][e / N][e % N]));
    CHECK(err < 1e-4, "full-rank error %g", err);

    /* error paths: statuses, messages, untouched output */
    for (int s = 0; s < S; s++)
        for (int a = 0; a < N; a++)
            for (int b = 0; b < N; b++) out[s][a][b] = 7;
    int64_t bad_x_shape[2] = {S, P + 1};
    mfkit_array bx = view(x, MFKIT_FLOAT64, 2, bad_x_shape, 8);
    CHECK(mfkit_pmm_forward(model, &bx, &oa) == MFKIT_ERR_SHAPE, "wrong feature count");
    CHECK(strstr(mfkit_last_error(), "features per sample") != NULL, "message: %s", mfkit_last_error());
    mfkit_array o32 = view(out, MFKIT_COMPLEX64, 3, oshape, 8);
    CHECK(mfkit_pmm_forward(model, &xa, &o32) == MFKIT_ERR_DTYPE, "wrong output dtype");
    mfkit_array xc = view(x, MFKIT_COMPLEX64, 2, xshape, 8);
    CHECK(mfkit_pmm_forward(model, &xc, &oa) == MFKIT_ERR_DTYPE, "complex features");
    int64_t bad_o_shape[3] = {S, N, N - 1};
    mfkit_array bo = view(out, MFKIT_COMPLEX128, 3, bad_o_shape, 16);
    CHECK(mfkit_pmm_forward(model, &xa, &bo) == MFKIT_ERR_SHAPE, "wrong output shape");
    /* features stored inside the output buffer: refused before anything is written */
    mfkit_array xin = view(out, MFKIT_FLOAT64, 2, xshape, 8);
    CHECK(mfkit_pmm_forward(model, &xin, &oa) == MFKIT_ERR_INVALID_ARGUMENT, "overlap");
    CHECK(strstr(mfkit_last_error(), "overlaps") != NULL, "message: %s", mfkit_last_error());
    mfkit_array misaligned = oa;
    misaligned.strides[2] = 12;
    CHECK(mfkit_pmm_forward(model, &xa, &misaligned) == MFKIT_ERR_INVALID_ARGUMENT, "stride not a multiple of the item");
    CHECK(mfkit_pmm_forward(model, NULL, &oa) == MFKIT_ERR_INVALID_ARGUMENT, "null x");
    CHECK(mfkit_pmm_forward(NULL, &xa, &oa) == MFKIT_ERR_INVALID_ARGUMENT, "null model");
    CHECK(strstr(mfkit_last_error(), "null handle") != NULL, "message: %s", mfkit_last_error());
    int untouched = 1;
    for (int s = 0; s < S; s++)
        for (int a = 0; a < N; a++)
            for (int b = 0; b < N; b++) untouched &= out[s][a][b] == 7;
    CHECK(untouched, "output written on failure");

    mfkit_pmm *none = NULL;
    CHECK(mfkit_pmm_low_rank_create(&la, &ua, NAN, 1, MFKIT_COMPLEX128, &none) == MFKIT_ERR_INVALID_ARGUMENT && !none,
          "NaN smoothing");
    CHECK(mfkit_pmm_low_rank_create(&la, &ua, 0, 1, MFKIT_FLOAT64, &none) == MFKIT_ERR_DTYPE && !none, "real dtype");
    CHECK(mfkit_pmm_low_rank_create(&ua, &la, 0, 1, MFKIT_COMPLEX64, &none) != MFKIT_OK && !none, "swapped arrays");
    int64_t lshape_bad[2] = {Q, R + 1};
    mfkit_array lb = view(lambdas, MFKIT_FLOAT64, 2, lshape_bad, 8);
    CHECK(mfkit_pmm_low_rank_create(&lb, &ua, 0, 1, MFKIT_COMPLEX64, &none) == MFKIT_ERR_SHAPE && !none, "lambdas shape");
    CHECK(strstr(mfkit_last_error(), "lambdas must have shape") != NULL, "message: %s", mfkit_last_error());
    CHECK(mfkit_pmm_low_rank_create(&la, &ua, 0, 1, MFKIT_COMPLEX64, NULL) == MFKIT_ERR_INVALID_ARGUMENT, "null out");
    mfkit_array ms_rect = view(ms, MFKIT_COMPLEX128, 3, (int64_t[]){Q, N, N - 1}, 16);
    CHECK(mfkit_pmm_affine_create(&ms_rect, 0, 1, MFKIT_COMPLEX64, &none) == MFKIT_ERR_SHAPE && !none, "rectangular Ms");

    CHECK(mfkit_pmm_free(model) == MFKIT_OK, "free");
    CHECK(mfkit_pmm_forward(model, &xa, &oa) == MFKIT_ERR_INVALID_ARGUMENT, "freed handle");
    CHECK(strstr(mfkit_last_error(), "not a live handle") != NULL, "message: %s", mfkit_last_error());
    CHECK(mfkit_pmm_free(full) == MFKIT_OK && mfkit_pmm_free(NULL) == MFKIT_OK, "free full / NULL");

    if (failures) fprintf(stderr, "%d failure(s)\n", failures);
    else printf("test_pmm: ok\n");
    return failures != 0;
}

/* PMM eigen through the C ABI: batched eigenpairs of known matrices (eigen-equation residual,
 * selection), the fused model eigensolve against eigh of the forward pass, the gradient pieces
 * on a case solvable by hand, transition sums, and the error paths (statuses, untouched outputs). */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

int main(void) {
    /* batch of 3: c * [[2, i], [-i, 2]] has eigenvalues c, 3c with eigenvectors (1, -i)/√2, (1, i)/√2 */
    double complex a[3][2][2];
    for (int b = 0; b < 3; b++) {
        double c = b + 1;
        a[b][0][0] = 2 * c; a[b][0][1] = c * I; a[b][1][0] = -c * I; a[b][1][1] = 2 * c;
    }
    double values[3][2];
    double complex vectors[3][2][2];
    int64_t sa[3] = {3, 2, 2}, sv[2] = {3, 2};
    mfkit_array av = view(a, MFKIT_COMPLEX128, 3, sa, 16);
    mfkit_array vv = view(values, MFKIT_FLOAT64, 2, sv, 8);
    mfkit_array wv = view(vectors, MFKIT_COMPLEX128, 3, sa, 16);
    EXPECT_STATUS(mfkit_pmm_eigh(&av, 2, MFKIT_PMM_SA, &vv, &wv), MFKIT_OK);
    for (int b = 0; b < 3; b++) {
        double c = b + 1;
        CHECK(fabs(values[b][0] - c) < 1e-14 && fabs(values[b][1] - 3 * c) < 1e-14, "values %g %g", values[b][0], values[b][1]);
        for (int col = 0; col < 2; col++) {
            for (int i = 0; i < 2; i++) {
                double complex r = a[b][i][0] * vectors[b][0][col] + a[b][i][1] * vectors[b][1][col]
                                   - values[b][col] * vectors[b][i][col];
                CHECK(cabs(r) < 1e-13, "residual %g", cabs(r));
            }
            CHECK(cimag(vectors[b][0][col]) == 0 && creal(vectors[b][0][col]) > 0, "first component real > 0");
        }
    }
    /* LA with one column: the largest */
    double top[3][1];
    int64_t st[2] = {3, 1};
    mfkit_array tv = view(top, MFKIT_FLOAT64, 2, st, 8);
    EXPECT_STATUS(mfkit_pmm_eigh(&av, 1, MFKIT_PMM_LA, &tv, NULL), MFKIT_OK);
    EXPECT(fabs(top[2][0] - 9) < 1e-13);

    /* errors leave outputs untouched */
    double keep[3][2];
    for (int b = 0; b < 3; b++) keep[b][0] = keep[b][1] = 7;
    mfkit_array kv = view(keep, MFKIT_FLOAT64, 2, sv, 8);
    EXPECT_STATUS(mfkit_pmm_eigh(&av, 3, MFKIT_PMM_SA, &kv, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_pmm_eigh(&av, 1, 42, &kv, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_pmm_eigh(&av, 1, MFKIT_PMM_SA, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_pmm_eigh(&av, 1, MFKIT_PMM_SA, &kv, &av), MFKIT_ERR_INVALID_ARGUMENT); /* overlaps a */
    EXPECT_STATUS(mfkit_pmm_eigh(NULL, 1, MFKIT_PMM_SA, &kv, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(mfkit_last_error(), "mfkit_pmm_eigh") != NULL);
    for (int b = 0; b < 3; b++) EXPECT(keep[b][0] == 7 && keep[b][1] == 7);

    /* the model path: M(x) = M_0 + x M_1 with M_0 = [[2, i], [-i, 2]], M_1 = diag(1, -1) */
    double complex ms[2][2][2] = {{{2, I}, {-I, 2}}, {{1, 0}, {0, -1}}};
    int64_t sm[3] = {2, 2, 2};
    mfkit_array msv = view(ms, MFKIT_COMPLEX128, 3, sm, 16);
    mfkit_pmm *model = NULL;
    EXPECT_STATUS(mfkit_pmm_affine_create(&msv, 0.0, 1, MFKIT_COMPLEX128, &model), MFKIT_OK);
    double x[4] = {-1, 0, 0.5, 2};
    int64_t sx[2] = {4, 1}, sm1[2] = {4, 1}, sw[3] = {4, 2, 1};
    mfkit_array xv = view(x, MFKIT_FLOAT64, 2, sx, 8);
    double low[4][1];
    double complex lowv[4][2][1];
    mfkit_array lv = view(low, MFKIT_FLOAT64, 2, sm1, 8), lw = view(lowv, MFKIT_COMPLEX128, 3, sw, 16);
    EXPECT_STATUS(mfkit_pmm_model_eigh(model, &xv, 1, MFKIT_PMM_SA, &lv, &lw), MFKIT_OK);
    for (int s = 0; s < 4; s++) {   /* eigenvalues of [[2+x, i], [-i, 2-x]]: 2 ± sqrt(1 + x²) */
        CHECK(fabs(low[s][0] - (2 - sqrt(1 + x[s] * x[s]))) < 1e-13, "model eigenvalue %g", low[s][0]);
    }
    /* L = sum_s lambda_min(x_s): dL/dM_0 = sum_s v v^H, dL/dM_1 = sum_s x_s v v^H (jax grads conj) */
    double weights[4][1] = {{1}, {1}, {1}, {1}};
    int64_t sws[2] = {4, 1};
    mfkit_array wts = view(weights, MFKIT_FLOAT64, 2, sws, 8);
    double complex sums[2][2][2], grad[2][2][2];
    mfkit_array sumv = view(sums, MFKIT_COMPLEX128, 3, sm, 16), gv = view(grad, MFKIT_COMPLEX128, 3, sm, 16);
    EXPECT_STATUS(mfkit_pmm_feature_sum(&xv, &lw, &wts, &sumv), MFKIT_OK);
    EXPECT_STATUS(mfkit_pmm_parameter_gradient(model, &sumv, &gv, 1), MFKIT_OK);
    double complex e0[2][2] = {{0}}, e1[2][2] = {{0}};
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                double complex p = lowv[s][i][0] * conj(lowv[s][j][0]);
                e0[i][j] += p;
                e1[i][j] += x[s] * p;
            }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            CHECK(cabs(grad[0][i][j] - conj(e0[i][j])) < 1e-13, "grad M_0 [%d][%d]", i, j);
            CHECK(cabs(grad[1][i][j] - conj(e1[i][j])) < 1e-13, "grad M_1 [%d][%d]", i, j);
        }
    mfkit_array two[2] = {gv, gv};
    EXPECT_STATUS(mfkit_pmm_parameter_gradient(model, &sumv, two, 2), MFKIT_ERR_INVALID_ARGUMENT);
    mfkit_pmm_free(model);

    /* transition sums: V = I (values 0, 1), D = diag(1, 0), k = 1: z = |D_00|^2 - ||D||^2 / 2 = 0.5 */
    double vals1[1][2] = {{0, 1}};
    double complex eye[1][2][2] = {{{1, 0}, {0, 1}}};
    double complex ds[1][1][2][2] = {{{{1, 0}, {0, 0}}}};
    double z[1][1] = {{-1}};
    int64_t s12[2] = {1, 2}, s122[3] = {1, 2, 2}, s1122[4] = {1, 1, 2, 2}, s11[2] = {1, 1};
    mfkit_array v1 = view(vals1, MFKIT_FLOAT64, 2, s12, 8), e1v = view(eye, MFKIT_COMPLEX128, 3, s122, 16);
    mfkit_array dv = view(ds, MFKIT_COMPLEX128, 4, s1122, 16), zv = view(z, MFKIT_FLOAT64, 2, s11, 8);
    EXPECT_STATUS(mfkit_pmm_transition_sums(&v1, &e1v, 1, &dv, 1, &zv, NULL, NULL, NULL), MFKIT_OK);
    CHECK(fabs(z[0][0] - 0.5) < 1e-14, "transition sum %g", z[0][0]);
    EXPECT_STATUS(mfkit_pmm_transition_sums(&v1, &e1v, 1, &dv, 0, &zv, NULL, NULL, NULL), MFKIT_OK);
    CHECK(fabs(z[0][0] - 1.0) < 1e-14, "uncentered %g", z[0][0]);
    EXPECT_STATUS(mfkit_pmm_transition_sums(&v1, &e1v, 3, &dv, 0, &zv, NULL, NULL, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_pmm_transition_sums(&v1, &e1v, 1, &dv, 0, NULL, NULL, &e1v, NULL), MFKIT_ERR_INVALID_ARGUMENT);
    CHECK(fabs(z[0][0] - 1.0) < 1e-14, "untouched %g", z[0][0]);

    printf("test_pmm_eigen: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}

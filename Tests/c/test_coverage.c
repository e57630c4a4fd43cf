/* C ABI tests for the functions no other C test calls: mfkit_sm_identity,
 * mfkit_sm_scale_rows_and_columns and mfkit_banded_params. Results against closed forms,
 * and their error paths (status code, message, outputs left untouched). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"


static mfkit_array vec64(double *data, int64_t n) {
    mfkit_array a = {data, MFKIT_FLOAT64, 1, {n}, {sizeof(double)}};
    return a;
}

static mfkit_array mat64(double *data, int64_t rows, int64_t cols) {
    mfkit_array a = {data, MFKIT_FLOAT64, 2, {rows, cols}, {cols * (int64_t)sizeof(double), sizeof(double)}};
    return a;
}

/* The identity: materializes to I, has no stages, and a stream passes slices through. */
static void identity(void) {
    mfkit_streaming_matrix *id = NULL;
    EXPECT_STATUS(mfkit_sm_identity(&id), MFKIT_OK);
    int64_t stages = -1;
    EXPECT_STATUS(mfkit_sm_num_stages(id, &stages), MFKIT_OK);
    EXPECT(stages == 0);
    double dense[9];
    mfkit_array d = mat64(dense, 3, 3);
    EXPECT_STATUS(mfkit_sm_materialize(id, &d), MFKIT_OK);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) EXPECT(dense[i * 3 + j] == (i == j ? 1.0 : 0.0));

    mfkit_stream *s = NULL;
    int64_t shape[1] = {3};
    EXPECT_STATUS(mfkit_stream_create(id, MFKIT_FLOAT64, shape, 1, &s), MFKIT_OK);
    double x[3] = {1.5, -2.0, 4.0}, y[3] = {0, 0, 0};
    mfkit_array xa = vec64(x, 3), ya = vec64(y, 3);
    for (int t = 0; t < 2; t++) {
        EXPECT_STATUS(mfkit_stream_next(s, &xa, &ya), MFKIT_OK);
        EXPECT(memcmp(x, y, sizeof x) == 0);
    }
    mfkit_stream_free(s);

    EXPECT_STATUS(mfkit_sm_identity(NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strlen(mfkit_last_error()) > 0);
    mfkit_sm_free(id);
}

/* diag(r) P diag(c) for the prefix sum P: entry (i, j) = r_i c_j for j <= i, with both
 * schedules repeating their last entry. */
static void scale_rows_and_columns(void) {
    mfkit_streaming_matrix *p = NULL, *scaled = NULL, *same = NULL;
    EXPECT_STATUS(mfkit_sm_prefix_sum(&p), MFKIT_OK);
    double r[2] = {2.0, 3.0}, c[2] = {1.0, 0.5};
    mfkit_array ra = vec64(r, 2), ca = vec64(c, 2);
    EXPECT_STATUS(mfkit_sm_scale_rows_and_columns(p, &ra, &ca, &scaled), MFKIT_OK);
    double dense[16];
    mfkit_array d = mat64(dense, 4, 4);
    EXPECT_STATUS(mfkit_sm_materialize(scaled, &d), MFKIT_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double expected = j <= i ? r[i < 1 ? i : 1] * c[j < 1 ? j : 1] : 0.0;
            EXPECT(fabs(dense[i * 4 + j] - expected) < 1e-15);
        }

    /* Both scales NULL: the matrix itself. */
    EXPECT_STATUS(mfkit_sm_scale_rows_and_columns(p, NULL, NULL, &same), MFKIT_OK);
    EXPECT_STATUS(mfkit_sm_materialize(same, &d), MFKIT_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) EXPECT(dense[i * 4 + j] == (j <= i ? 1.0 : 0.0));

    /* A non-finite scale, an empty scale and a null handle are refused; out is untouched. */
    mfkit_streaming_matrix *untouched = (mfkit_streaming_matrix *)&failures;
    double bad[1] = {NAN};
    mfkit_array bada = vec64(bad, 1), empty = vec64(r, 0);
    EXPECT(mfkit_sm_scale_rows_and_columns(p, &bada, NULL, &untouched) != MFKIT_OK);
    EXPECT(strlen(mfkit_last_error()) > 0);
    EXPECT(mfkit_sm_scale_rows_and_columns(p, NULL, &empty, &untouched) != MFKIT_OK);
    EXPECT_STATUS(mfkit_sm_scale_rows_and_columns(NULL, &ra, &ca, &untouched), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(untouched == (mfkit_streaming_matrix *)&failures);

    mfkit_sm_free(same);
    mfkit_sm_free(scaled);
    mfkit_sm_free(p);
}

/* params come back as given at construction, in float64 or float32, into any strides. */
static void banded_params(void) {
    double params[6] = {1.0, 0.5, 2.0, -0.25, 3.0, 0.0}; /* n = 3, b = 2 */
    mfkit_array pa = mat64(params, 3, 2);
    mfkit_banded *strategy = NULL;
    EXPECT_STATUS(mfkit_banded_create(&pa, &strategy), MFKIT_OK);

    double back[6];
    mfkit_array ba = mat64(back, 3, 2);
    EXPECT_STATUS(mfkit_banded_params(strategy, &ba), MFKIT_OK);
    EXPECT(memcmp(back, params, sizeof params) == 0);

    float fortran[6]; /* column-major float32 */
    mfkit_array fa = {fortran, MFKIT_FLOAT32, 2, {3, 2}, {sizeof(float), 3 * sizeof(float)}};
    EXPECT_STATUS(mfkit_banded_params(strategy, &fa), MFKIT_OK);
    for (int j = 0; j < 3; j++)
        for (int r = 0; r < 2; r++) EXPECT(fortran[r * 3 + j] == (float)params[j * 2 + r]);

    /* Wrong shape, wrong dtype, null handle: refused, out untouched. */
    double guard[6] = {7, 7, 7, 7, 7, 7};
    mfkit_array wrong = mat64(guard, 2, 3);
    EXPECT_STATUS(mfkit_banded_params(strategy, &wrong), MFKIT_ERR_SHAPE);
    EXPECT(strlen(mfkit_last_error()) > 0);
    mfkit_array complex_out = mat64(guard, 3, 1);
    complex_out.dtype = MFKIT_COMPLEX128;
    complex_out.shape[1] = 2;
    complex_out.strides[0] = 2 * 16;
    complex_out.strides[1] = 16;
    double roomy[12] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    complex_out.data = roomy;
    EXPECT_STATUS(mfkit_banded_params(strategy, &complex_out), MFKIT_ERR_DTYPE);
    EXPECT_STATUS(mfkit_banded_params(NULL, &ba), MFKIT_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 6; i++) EXPECT(guard[i] == 7);
    for (int i = 0; i < 12; i++) EXPECT(roomy[i] == 7);

    mfkit_banded_free(strategy);
}

int main(void) {
    identity();
    scale_rows_and_columns();
    banded_params();
    if (failures) fprintf(stderr, "test_coverage: %d failure(s)\n", failures);
    else printf("test_coverage: ok\n");
    return failures != 0;
}

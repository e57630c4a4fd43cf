/* C ABI tests for streaming matrices: results against closed forms, in-place and strided
 * arrays, and every error path (status code, message, outputs left untouched). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "check.h"


static mfkit_array vec64(double *data, int64_t n) {
    mfkit_array a = {data, MFKIT_FLOAT64, 1, {n}, {sizeof(double)}};
    return a;
}

/* A failure on another thread leaves this thread's message alone. */
static void *fail_on_other_thread(void *arg) {
    (void)arg;
    mfkit_sm_prefix_sum(NULL);
    return strstr(mfkit_last_error(), "out is a null pointer") ? (void *)1 : NULL;
}

static int thread_local_errors(void) {
    mfkit_sm_scale(NULL, 1.0, NULL); /* this thread: "matrix"/"A" message */
    char mine[256];
    snprintf(mine, sizeof mine, "%s", mfkit_last_error());
    pthread_t th;
    void *ok = NULL;
    if (pthread_create(&th, NULL, fail_on_other_thread, NULL) != 0) return 0;
    pthread_join(th, &ok);
    return ok != NULL && strcmp(mine, mfkit_last_error()) == 0 && strstr(mine, "null handle") != NULL;
}

int main(void) {
    EXPECT(thread_local_errors());
    EXPECT(strcmp(mfkit_version(), MFKIT_VERSION_STRING) == 0);
    EXPECT(mfkit_num_threads() >= 1);

    mfkit_streaming_matrix *p = NULL, *m = NULL, *a = NULL, *d = NULL;
    EXPECT_STATUS(mfkit_sm_prefix_sum(&p), MFKIT_OK);
    double lr[2] = {1.0, 0.5};
    mfkit_array lra = vec64(lr, 2);
    EXPECT_STATUS(mfkit_sm_momentum_sgd(0.5, &lra, &m), MFKIT_OK);
    EXPECT_STATUS(mfkit_sm_multiply(p, m, &a), MFKIT_OK);
    int64_t stages = 0;
    EXPECT_STATUS(mfkit_sm_num_stages(a, &stages), MFKIT_OK);
    EXPECT(stages == 2);

    /* materialize: momentum with mu = 0.5, lr = (1, .5, .5): M[1,0] = 1 + .5*.5 = 1.25 */
    double dense[9];
    mfkit_array out = {dense, MFKIT_FLOAT64, 2, {3, 3}, {3 * sizeof(double), sizeof(double)}};
    EXPECT_STATUS(mfkit_sm_materialize(m, &out), MFKIT_OK);
    EXPECT(fabs(dense[3] - 1.25) < 1e-15 && dense[1] == 0.0 && fabs(dense[4] - 0.5) < 1e-15);

    /* multiply_array in place on a column of a row-major (5 x 2) float32 array */
    float x[10] = {1, 9, 1, 9, 1, 9, 1, 9, 1, 9};
    mfkit_array col = {x, MFKIT_FLOAT32, 1, {5}, {2 * sizeof(float)}};
    EXPECT_STATUS(mfkit_sm_multiply_array(p, &col, &col), MFKIT_OK);
    for (int i = 0; i < 5; i++) EXPECT(x[2 * i] == (float)(i + 1) && x[2 * i + 1] == 9.0f);

    /* stream: prefix sums of ones */
    mfkit_stream *s = NULL;
    int64_t shape[2] = {2, 3};
    EXPECT_STATUS(mfkit_stream_create(p, MFKIT_FLOAT64, shape, 2, &s), MFKIT_OK);
    double slice[6] = {1, 1, 1, 1, 1, 1}, res[6];
    mfkit_array xs = {slice, MFKIT_FLOAT64, 2, {2, 3}, {24, 8}};
    mfkit_array rs = {res, MFKIT_FLOAT64, 2, {2, 3}, {24, 8}};
    EXPECT_STATUS(mfkit_stream_next(s, &xs, &rs), MFKIT_OK);
    EXPECT_STATUS(mfkit_stream_next(s, &xs, &rs), MFKIT_OK);
    EXPECT(res[5] == 2.0);
    int64_t step = -1;
    EXPECT_STATUS(mfkit_stream_step(s, &step), MFKIT_OK);
    EXPECT(step == 2);
    EXPECT_STATUS(mfkit_stream_reset(s), MFKIT_OK);
    EXPECT_STATUS(mfkit_stream_step(s, &step), MFKIT_OK);
    EXPECT(step == 0);

    /* ---- errors: a status, a message, nothing written */
    double bad_lr[1] = {0.0};
    mfkit_array bad = vec64(bad_lr, 1);
    mfkit_streaming_matrix *untouched = (mfkit_streaming_matrix *)0x1;
    EXPECT_STATUS(mfkit_sm_momentum_sgd(0.9, &bad, &untouched), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(untouched == (mfkit_streaming_matrix *)0x1);
    EXPECT(strstr(mfkit_last_error(), "Learning rates must be positive") != NULL);
    EXPECT_STATUS(mfkit_sm_momentum_sgd(NAN, NULL, &d), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_sm_prefix_sum(NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_sm_diagonal(NULL, &d), MFKIT_ERR_INVALID_ARGUMENT);
    mfkit_array nodata = {NULL, MFKIT_FLOAT64, 1, {3}, {8}};
    EXPECT_STATUS(mfkit_sm_diagonal(&nodata, &d), MFKIT_ERR_INVALID_ARGUMENT);
    mfkit_array baddtype = {lr, 99, 1, {2}, {8}};
    EXPECT_STATUS(mfkit_sm_diagonal(&baddtype, &d), MFKIT_ERR_DTYPE);
    mfkit_array badndim = {lr, MFKIT_FLOAT64, 9, {2}, {8}};
    EXPECT_STATUS(mfkit_sm_diagonal(&badndim, &d), MFKIT_ERR_SHAPE);
    EXPECT_STATUS(mfkit_sm_scale(p, INFINITY, &d), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_sm_multiply(p, NULL, &d), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_sm_multiply(p, (mfkit_streaming_matrix *)s, &d), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(mfkit_last_error(), "another kind") != NULL);

    double keep[6] = {7, 7, 7, 7, 7, 7};
    mfkit_array wrong = {keep, MFKIT_FLOAT64, 2, {3, 2}, {16, 8}};
    EXPECT_STATUS(mfkit_stream_next(s, &xs, &wrong), MFKIT_ERR_SHAPE);
    for (int i = 0; i < 6; i++) EXPECT(keep[i] == 7.0);
    float xf[6] = {0};
    mfkit_array xs32 = {xf, MFKIT_FLOAT32, 2, {2, 3}, {12, 4}};
    EXPECT_STATUS(mfkit_stream_next(s, &xs32, &xs32), MFKIT_ERR_DTYPE);
    mfkit_array odd = {slice, MFKIT_FLOAT64, 2, {2, 3}, {24, 5}};
    EXPECT_STATUS(mfkit_stream_next(s, &odd, &rs), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_stream_step(s, &step), MFKIT_OK);
    EXPECT(step == 0); /* failed calls do not advance */

    mfkit_array notsquare = {dense, MFKIT_FLOAT64, 2, {3, 2}, {16, 8}};
    EXPECT_STATUS(mfkit_sm_materialize(p, &notsquare), MFKIT_ERR_SHAPE);
    mfkit_array zero = {dense, MFKIT_FLOAT64, 2, {0, 0}, {8, 8}};
    EXPECT_STATUS(mfkit_sm_materialize(p, &zero), MFKIT_ERR_INVALID_ARGUMENT);

    /* overlapping but different views are refused */
    double buf[6] = {1, 2, 3, 4, 5, 6};
    mfkit_array head = {buf, MFKIT_FLOAT64, 1, {5}, {8}};
    mfkit_array tail = {buf + 1, MFKIT_FLOAT64, 1, {5}, {8}};
    EXPECT_STATUS(mfkit_sm_multiply_array(p, &head, &tail), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(buf[5] == 6.0);

    /* freed handles are detected, NULL frees are no-ops */
    EXPECT_STATUS(mfkit_stream_free(s), MFKIT_OK);
    EXPECT_STATUS(mfkit_stream_step(s, &step), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(mfkit_last_error(), "not a live handle") != NULL);
    EXPECT_STATUS(mfkit_stream_free(s), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mfkit_sm_free(NULL), MFKIT_OK);
    EXPECT_STATUS(mfkit_sm_free(a), MFKIT_OK);
    EXPECT_STATUS(mfkit_sm_materialize(a, &out), MFKIT_ERR_INVALID_ARGUMENT);
    mfkit_sm_free(m);
    mfkit_sm_free(p);

    /* a freed handle stays dead even when new objects are made after it (handles are
       tokens, never reused; an address-keyed registry revived it when the address was reused) */
    {
        mfkit_streaming_matrix *gone = NULL, *fresh[8] = {NULL};
        int64_t stages = -1;
        EXPECT_STATUS(mfkit_sm_prefix_sum(&gone), MFKIT_OK);
        EXPECT_STATUS(mfkit_sm_free(gone), MFKIT_OK);
        for (int i = 0; i < 8; i++) {
            EXPECT_STATUS(mfkit_sm_prefix_sum(&fresh[i]), MFKIT_OK);
            EXPECT(fresh[i] != gone);
        }
        EXPECT_STATUS(mfkit_sm_num_stages(gone, &stages), MFKIT_ERR_INVALID_ARGUMENT);
        EXPECT(stages == -1);
        EXPECT_STATUS(mfkit_sm_free(gone), MFKIT_ERR_INVALID_ARGUMENT);
        for (int i = 0; i < 8; i++) {
            EXPECT_STATUS(mfkit_sm_num_stages(fresh[i], &stages), MFKIT_OK);
            EXPECT_STATUS(mfkit_sm_free(fresh[i]), MFKIT_OK);
        }
    }

    /* a slice shape whose size overflows (2^32 * 2^32 * 4 wrapped to 0) is refused */
    {
        mfkit_streaming_matrix *mom = NULL;
        mfkit_stream *big = NULL;
        EXPECT_STATUS(mfkit_sm_momentum_sgd(0.5, NULL, &mom), MFKIT_OK);
        int64_t wrap[3] = {(int64_t)1 << 32, (int64_t)1 << 32, 4};
        EXPECT_STATUS(mfkit_stream_create(mom, MFKIT_FLOAT64, wrap, 3, &big), MFKIT_ERR_SHAPE);
        EXPECT(big == NULL);
        EXPECT(strstr(mfkit_last_error(), "too large") != NULL);
        int64_t huge[1] = {(int64_t)1 << 50};
        EXPECT_STATUS(mfkit_stream_create(mom, MFKIT_FLOAT64, huge, 1, &big), MFKIT_ERR_OUT_OF_MEMORY);
        EXPECT(big == NULL);
        mfkit_sm_free(mom);
    }

    printf("streaming C tests: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures != 0;
}

/* C ABI tests of the library functions: the version from the header's macros, the thread
 * setting (and that one thread gives the same result as two), and the two error texts. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check.h"

int main(void) {
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", MFKIT_VERSION_MAJOR, MFKIT_VERSION_MINOR, MFKIT_VERSION_PATCH);
    EXPECT(strcmp(mfkit_version(), version) == 0);
    EXPECT(strcmp(mfkit_version(), MFKIT_VERSION_STRING) == 0);

    /* Error texts: "function: message" and the message alone. */
    EXPECT_STATUS(mfkit_sm_prefix_sum(NULL), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strcmp(mfkit_last_error(), "mfkit_sm_prefix_sum: out is a null pointer") == 0);
    EXPECT(strcmp(mfkit_last_error_message(), "out is a null pointer") == 0);

    /* Threads: settable at run time, 1 to 64. */
    int32_t start = mfkit_num_threads();
    EXPECT(start >= 1 && start <= 64);
    EXPECT_STATUS(mfkit_set_num_threads(0), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(strstr(mfkit_last_error(), "mfkit_set_num_threads: the number of threads must be in 1...64") != NULL);
    EXPECT_STATUS(mfkit_set_num_threads(65), MFKIT_ERR_INVALID_ARGUMENT);
    EXPECT(mfkit_num_threads() == start);

    /* The same Kronecker log-determinant and streaming product with one and two threads. */
    enum { D = 300 };
    static double a[D], b[D], c[D];
    for (int i = 0; i < D; i++) { a[i] = 1.0 + i / 300.0; b[i] = 2.0 - i / 400.0; c[i] = 0.5 + i / 900.0; }
    mfkit_array vecs[3] = {{a, MFKIT_FLOAT64, 1, {D}, {8}}, {b, MFKIT_FLOAT64, 1, {D}, {8}}, {c, MFKIT_FLOAT64, 1, {D}, {8}}};
    enum { N = 64, M = 50000 };
    static float x1[N * M], x2[N * M];
    for (int i = 0; i < N * M; i++) x1[i] = x2[i] = (float)sin(0.001 * i);
    mfkit_array xa1 = {x1, MFKIT_FLOAT32, 2, {N, M}, {M * 4, 4}}, xa2 = {x2, MFKIT_FLOAT32, 2, {N, M}, {M * 4, 4}};
    mfkit_streaming_matrix *p = NULL;
    EXPECT_STATUS(mfkit_sm_prefix_sum(&p), MFKIT_OK);
    double logdet[2];
    for (int k = 0; k < 2; k++) {
        EXPECT_STATUS(mfkit_set_num_threads(k + 1), MFKIT_OK);
        EXPECT(mfkit_num_threads() == k + 1);
        EXPECT_STATUS(mfkit_kron_sum_diag_reduce(vecs, 3, MFKIT_KRON_LOG, &logdet[k]), MFKIT_OK);
        EXPECT_STATUS(mfkit_sm_multiply_array(p, k == 0 ? &xa1 : &xa2, k == 0 ? &xa1 : &xa2), MFKIT_OK);
    }
    EXPECT(fabs(logdet[0] - logdet[1]) <= 1e-12 * fabs(logdet[0]));
    EXPECT(memcmp(x1, x2, sizeof x1) == 0);
    EXPECT_STATUS(mfkit_set_num_threads(start), MFKIT_OK);
    EXPECT_STATUS(mfkit_sm_free(p), MFKIT_OK);
    return failures != 0;
}

/* Builds A = prefix_sum @ momentum_sgd_matrix(0.9), streams a few gradient slices through it
 * in place, and prints them. Build (from the repository root, after swift build -c release):
 *   cc -Iinclude examples/c/stream_demo.c -L.build/release -lmfkit -Wl,-rpath,$PWD/.build/release
 */
#include <stdio.h>
#include "mfkit.h"

#define CHECK(call)                                                            \
    do {                                                                       \
        if ((call) != MFKIT_OK) {                                              \
            fprintf(stderr, "%s failed: %s\n", #call, mfkit_last_error());     \
            return 1;                                                          \
        }                                                                      \
    } while (0)

int main(void) {
    mfkit_streaming_matrix *prefix = NULL, *momentum = NULL, *a = NULL;
    CHECK(mfkit_sm_prefix_sum(&prefix));
    CHECK(mfkit_sm_momentum_sgd(0.9, NULL, &momentum));
    CHECK(mfkit_sm_multiply(prefix, momentum, &a));

    enum { DIM = 4 };
    int64_t shape[1] = {DIM};
    mfkit_stream *stream = NULL;
    CHECK(mfkit_stream_create(a, MFKIT_FLOAT32, shape, 1, &stream));

    printf("MFKit %s: streaming prefix_sum @ momentum_sgd_matrix(0.9)\n", mfkit_version());
    for (int t = 0; t < 4; t++) {
        float grad[DIM];
        for (int i = 0; i < DIM; i++) grad[i] = (float)(i + 1);
        mfkit_array g = {grad, MFKIT_FLOAT32, 1, {DIM}, {sizeof(float)}};
        CHECK(mfkit_stream_next(stream, &g, &g)); /* in place */
        printf("step %d:", t);
        for (int i = 0; i < DIM; i++) printf(" %9.4f", grad[i]);
        printf("\n");
    }

    mfkit_stream_free(stream);
    mfkit_sm_free(a);
    mfkit_sm_free(momentum);
    mfkit_sm_free(prefix);
    return 0;
}

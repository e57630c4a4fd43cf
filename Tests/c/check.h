/* Checks shared by the C tests: each failed check prints where and why (with the calling
 * thread's last MFKit error) and counts; a test's main returns `failures != 0`. */
#ifndef MFKIT_TEST_CHECK_H
#define MFKIT_TEST_CHECK_H

#include <stdio.h>
#include <string.h>
#include "mfkit.h"

/* A C-order descriptor of `data`: ndim dimensions of `shape`, items of `item` bytes. */
static inline mfkit_array view(void *data, mfkit_dtype dtype, int ndim, const int64_t *shape, int64_t item) {
    mfkit_array a;
    memset(&a, 0, sizeof a);
    a.data = data;
    a.dtype = dtype;
    a.ndim = ndim;
    int64_t step = item;
    for (int k = ndim - 1; k >= 0; k--) {
        a.shape[k] = shape[k];
        a.strides[k] = step;
        step *= shape[k];
    }
    return a;
}

static int failures = 0;

/* CHECK(condition, printf-style message...) */
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, " (last error: %s)\n", mfkit_last_error());    \
            failures++;                                                    \
        }                                                                  \
    } while (0)

/* EXPECT(condition): CHECK with the condition's text as the message. */
#define EXPECT(cond) CHECK(cond, "expected %s", #cond)

/* EXPECT_STATUS(call, status): the call returns exactly that status. */
#define EXPECT_STATUS(call, code)                                          \
    do {                                                                   \
        mfkit_status s_ = (call);                                          \
        CHECK(s_ == (code), "%s returned %d, expected %d", #call, s_, code); \
    } while (0)

#endif

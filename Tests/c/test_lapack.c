/* The BLAS/LAPACK MFKit loads at run time (mfkit_lapack_library): found from MFKIT_OPENBLAS
 * (Tests/run-all.sh points it at NumPy's OpenBLAS) or the system, and, in a child process run
 * with MFKIT_OPENBLAS naming a missing file, a clear MFKIT_ERR_UNAVAILABLE from the functions
 * that need it (the dense strategies) while the rest of MFKit keeps working. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* In the child: nothing loads, the message says why and how to fix it, other calls work. */
static int without_lapack(void) {
    const char *path = "untouched";
    int32_t bits = -1;
    EXPECT_STATUS(mfkit_lapack_library(&path, &bits), MFKIT_ERR_UNAVAILABLE);
    CHECK(strstr(mfkit_last_error(), "mfkit_lapack_library: BLAS/LAPACK not available") != NULL &&
              strstr(mfkit_last_error(), "MFKIT_OPENBLAS") != NULL,
          "unclear message \"%s\"", mfkit_last_error());
    CHECK(strcmp(path, "untouched") == 0 && bits == -1, "outputs written on failure");
    EXPECT_STATUS(mfkit_lapack_library(NULL, NULL), MFKIT_ERR_UNAVAILABLE);   /* stays unavailable */

    /* Dense functions need LAPACK: the same status and message, out untouched. */
    double c[4] = {5, 5, 5, 5};
    mfkit_array ca = {c, MFKIT_FLOAT64, 2, {2, 2}, {2 * sizeof(double), sizeof(double)}};
    EXPECT_STATUS(mfkit_dense_optimize(2, 1, NULL, 0, NULL, 10, MFKIT_REDUCTION_MEAN, NULL, NULL, NULL, NULL, NULL, NULL, &ca),
                  MFKIT_ERR_UNAVAILABLE);
    CHECK(strstr(mfkit_last_error(), "mfkit_dense_optimize: BLAS/LAPACK not available") != NULL, "%s", mfkit_last_error());
    EXPECT_STATUS(mfkit_dense_strategy_from_x(&ca, &ca), MFKIT_ERR_UNAVAILABLE);
    CHECK(c[0] == 5 && c[1] == 5 && c[2] == 5 && c[3] == 5, "out written on failure");
    EXPECT_STATUS(mfkit_dense_orthogonal_mask(2, 1, &ca), MFKIT_OK);   /* no LAPACK needed */

    mfkit_streaming_matrix *p = NULL;
    double m[9];
    mfkit_array out = {m, MFKIT_FLOAT64, 2, {3, 3}, {3 * sizeof(double), sizeof(double)}};
    EXPECT_STATUS(mfkit_sm_prefix_sum(&p), MFKIT_OK);
    EXPECT_STATUS(mfkit_sm_materialize(p, &out), MFKIT_OK);
    EXPECT(m[3] == 1 && m[4] == 1 && m[5] == 0);
    mfkit_sm_free(p);
    return failures != 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--without-lapack") == 0) return without_lapack();

    const char *path = NULL;
    int32_t bits = 0;
    EXPECT_STATUS(mfkit_lapack_library(&path, &bits), MFKIT_OK);
    CHECK(path != NULL && strlen(path) > 0 && (bits == 32 || bits == 64), "path %s, bits %d", path ? path : "NULL", bits);
    EXPECT_STATUS(mfkit_lapack_library(NULL, NULL), MFKIT_OK);

    pid_t child = fork();
    if (child == 0) {
        setenv("MFKIT_OPENBLAS", "/nonexistent/libopenblas.so", 1);
        execl("/proc/self/exe", argv[0], "--without-lapack", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the run without LAPACK failed (status %d)", status);
    return failures != 0;
}

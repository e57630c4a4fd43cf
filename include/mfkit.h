/*
 * mfkit.h — the C ABI of MFKit (libmfkit.so): structured matrices for differentially private
 * training, Kronecker sums and parametric matrix models.
 *
 * This header is the one declaration of the ABI. The Swift library is compiled against it
 * (every exported function implements the declaration here, checked by the compiler), the
 * Python package reads its functions, codes and version from it, and the C tests include it.
 *
 * Conventions
 * - Every function returns an mfkit_status; MFKIT_OK is 0. On failure,
 *   mfkit_last_error() returns "function: message" for the calling thread (valid until that
 *   thread's next failure) and every output is left untouched.
 * - Arrays are passed as mfkit_array descriptors: data pointer, dtype, ndim, shape and strides
 *   in BYTES (NumPy's convention; negative and zero strides are allowed for inputs). The
 *   caller owns the memory; MFKit never keeps a pointer to it after a call returns. Outputs
 *   are caller-provided descriptors written in place; their elements must be distinct (no
 *   zero or interleaved strides) and must not overlap an input unless a function says so.
 * - Optional arguments are pointers, NULL meaning "absent" (a NULL learning-rate array, a NULL
 *   participation cap, a NULL workload). A list of arrays or numbers is passed as a pointer
 *   followed by its count.
 * - Objects are opaque handles made by constructor functions: on success the new handle is
 *   written to `*out` and belongs to the caller, who releases it with the matching
 *   mfkit_*_free (which accepts NULL and returns MFKIT_OK); on failure `*out` is not written.
 *   Handles are independent: freeing one never invalidates another made from it. A NULL,
 *   freed or foreign handle is reported as MFKIT_ERR_INVALID_ARGUMENT, never dereferenced;
 *   so is a NULL pointer where an output is required. Matrix, strategy and model handles are
 *   immutable and may be shared between threads; a stream belongs to one thread at a time.
 * - Costs are given per function: time for the work and memory beyond the caller's arrays.
 *   Symbols: s stages of a streaming matrix, m elements of one slice, n steps, b bands.
 * - Large work is spread over mfkit_num_threads() threads (see mfkit_set_num_threads).
 */
#ifndef MFKIT_H
#define MFKIT_H

#include <stddef.h>
#include <stdint.h>

/* The library version (the one source of MFKit's version: the library, this header and the
 * Python package all derive it from these three numbers). */
#define MFKIT_VERSION_MAJOR 0
#define MFKIT_VERSION_MINOR 2
#define MFKIT_VERSION_PATCH 0

#define MFKIT_STRINGIFY_(x) #x
#define MFKIT_STRINGIFY(x) MFKIT_STRINGIFY_(x)
/* "major.minor.patch", the string mfkit_version() returns. */
#define MFKIT_VERSION_STRING                                                                     \
    MFKIT_STRINGIFY(MFKIT_VERSION_MAJOR) "." MFKIT_STRINGIFY(MFKIT_VERSION_MINOR) "."            \
    MFKIT_STRINGIFY(MFKIT_VERSION_PATCH)

/* Marks every exported function (ELF default visibility). */
#define MFKIT_API __attribute__((visibility("default")))

#ifdef __cplusplus
#define MFKIT_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
extern "C" {
#else
#define MFKIT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ---------------------------------------------------------------- status, arrays, version */

typedef int32_t mfkit_status;
enum {
    MFKIT_OK = 0,
    MFKIT_ERR_INVALID_ARGUMENT = 1, /* a value outside its domain, a null or freed handle  */
    MFKIT_ERR_SHAPE = 2,            /* array shapes that do not fit together               */
    MFKIT_ERR_DTYPE = 3,            /* an element type the operation does not take         */
    MFKIT_ERR_NUMERICAL = 4,        /* a numerical failure (singular, non-finite)          */
    MFKIT_ERR_CANCELLED = 5,        /* a callback stopped the work                         */
    MFKIT_ERR_OUT_OF_MEMORY = 6,    /* a result or work space larger than memory           */
    MFKIT_ERR_INTERNAL = 7,         /* a bug in MFKit; please report it                    */
    MFKIT_ERR_UNAVAILABLE = 8       /* no BLAS/LAPACK could be loaded (see mfkit_lapack_library) */
};

typedef int32_t mfkit_dtype;
enum {
    MFKIT_FLOAT32 = 1,
    MFKIT_FLOAT64 = 2,
    MFKIT_COMPLEX64 = 3,  /* interleaved (re, im) float32 */
    MFKIT_COMPLEX128 = 4  /* interleaved (re, im) float64 */
};

#define MFKIT_MAX_NDIM 8

/* A strided view of caller-owned memory (144 bytes). Element (i0, i1, ...) lives at
 * (char *)data + i0 * strides[0] + i1 * strides[1] + ...; strides are in bytes and must be
 * multiples of the element size. Only the first ndim entries of shape and strides are read. */
typedef struct mfkit_array {
    void *data;
    mfkit_dtype dtype;
    int32_t ndim;
    int64_t shape[MFKIT_MAX_NDIM];
    int64_t strides[MFKIT_MAX_NDIM];
} mfkit_array;

MFKIT_STATIC_ASSERT(sizeof(void *) == 8, "MFKit needs a 64-bit platform");
MFKIT_STATIC_ASSERT(sizeof(mfkit_array) == 144, "mfkit_array is 144 bytes");
MFKIT_STATIC_ASSERT(offsetof(mfkit_array, dtype) == 8, "mfkit_array.dtype at byte 8");
MFKIT_STATIC_ASSERT(offsetof(mfkit_array, ndim) == 12, "mfkit_array.ndim at byte 12");
MFKIT_STATIC_ASSERT(offsetof(mfkit_array, shape) == 16, "mfkit_array.shape at byte 16");
MFKIT_STATIC_ASSERT(offsetof(mfkit_array, strides) == 80, "mfkit_array.strides at byte 80");
MFKIT_STATIC_ASSERT(sizeof(mfkit_status) == 4 && sizeof(mfkit_dtype) == 4, "codes are 32-bit");

/* The library version, MFKIT_VERSION_STRING of the header it was built with (static
 * storage). A program should check it against its own MFKIT_VERSION_STRING. */
MFKIT_API const char *mfkit_version(void);

/* The calling thread's last failure as "function: message" ("" if none; a success does not
 * clear it), in thread-local storage owned by MFKit: never NULL, valid until the same
 * thread's next failing call, so copy it before calling MFKit again. */
MFKIT_API const char *mfkit_last_error(void);
/* The same failure's message alone, without the function name (for wrappers that name the
 * failing call in their own terms). Same lifetime as mfkit_last_error(). */
MFKIT_API const char *mfkit_last_error_message(void);

/* Worker threads used for large work. Starts as MFKIT_NUM_THREADS (1 to 64) if set in the
 * environment, else the online cores (at most 64). O(1). */
MFKIT_API int32_t mfkit_num_threads(void);
/* Sets the number of worker threads for every later call (1 to 64; other values are
 * MFKIT_ERR_INVALID_ARGUMENT). Calls already running keep their split. Results do not depend
 * on the thread count beyond floating-point reassociation of reductions. O(1). */
MFKIT_API mfkit_status mfkit_set_num_threads(int32_t n);

/* ---------------------------------------------------------------- BLAS/LAPACK (mfkit_lapack_*)
 *
 * Dense linear algebra (Cholesky factorizations, triangular solves, products, eigensolvers)
 * runs on an OpenBLAS found at run time: libmfkit.so has no link-time dependency on it. It is
 * looked up once, at the first call that needs it:
 *   1. MFKIT_OPENBLAS=/path/to/lib.so when set (nothing else is tried if it fails);
 *   2. a BLAS already loaded in the process (from Python: the OpenBLAS NumPy's wheels bundle);
 *   3. libscipy_openblas*.so or libopenblas*.so* in the directory of libmfkit.so (e.g. the
 *      library of the scipy-openblas32 wheel);
 *   4. the system's libopenblas.so.0, libopenblas64_.so.0, libflexiblas.so.3, liblapack.so.3.
 * Plain (dpotrf_), 64_-suffixed (ILP64) and scipy_-prefixed symbol names are recognized.
 * Without a library, the functions that need one return MFKIT_ERR_UNAVAILABLE with a message
 * saying where MFKit looked; every other function works.
 * Threads: OpenBLAS has one process-wide thread count. During an MFKit call MFKit sets it to
 * mfkit_num_threads() for large single factorizations and products, and to 1 around its own
 * parallel loops that call LAPACK per item, so the cores are never oversubscribed; OpenBLAS's
 * previous count is restored when the call returns (NumPy sharing the library keeps its own).
 */
/* The BLAS/LAPACK in use: its path into *path (static storage owned by MFKit; may be NULL) and
 * its integer width, 32 or 64, into *integer_bits (may be NULL). Loads it on the first call;
 * MFKIT_ERR_UNAVAILABLE when there is none (nothing written). O(1) after the first call. */
MFKIT_API mfkit_status mfkit_lapack_library(const char **path, int32_t *integer_bits);

/* ---------------------------------------------------------------- streaming matrices
 *
 * A streaming matrix A is a lower-triangular linear map x -> A x computed one row-slice at a
 * time: step t takes x[t] (an array of any shape) and gives (A x)[t] from x[t] and state kept
 * from earlier steps. A is infinite; any n rows of it may be used. Semantics follow
 * jax_privacy.matrix_factorization.streaming_matrix. Parameter arrays (diag, learning rates,
 * scales) are 1-D float32 or float64 and are copied at construction.
 */
typedef struct mfkit_streaming_matrix mfkit_streaming_matrix;

/* The identity (no stages): (A x)[t] = x[t]. Writes a new handle to *out. */
MFKIT_API mfkit_status mfkit_sm_identity(mfkit_streaming_matrix **out);
/* The lower-triangular matrix of ones: (A x)[t] = x[0] + ... + x[t]. One state buffer. */
MFKIT_API mfkit_status mfkit_sm_prefix_sum(mfkit_streaming_matrix **out);
/* diag(d) with d_t = diag[min(t, len - 1)]; diag is 1-D float32 or float64, len >= 1, entries
 * finite (zero allowed). Copied; O(len). */
MFKIT_API mfkit_status mfkit_sm_diagonal(const mfkit_array *diag, mfkit_streaming_matrix **out);
/* Momentum SGD: m_t = momentum m_{t-1} + x_t, y_t = y_{t-1} + lr_t m_t, lr_t =
 * learning_rates[min(t, len - 1)]; learning_rates NULL means all ones. Learning rates must be
 * positive and finite. Two state buffers. */
MFKIT_API mfkit_status mfkit_sm_momentum_sgd(double momentum, const mfkit_array *learning_rates,
                                   mfkit_streaming_matrix **out);
/* out = A B (B is applied first). A and B stay valid and independent of out. */
MFKIT_API mfkit_status mfkit_sm_multiply(const mfkit_streaming_matrix *a, const mfkit_streaming_matrix *b,
                               mfkit_streaming_matrix **out);
/* out = A * scalar (A diag([scalar])); scalar must be finite. */
MFKIT_API mfkit_status mfkit_sm_scale(const mfkit_streaming_matrix *a, double scalar, mfkit_streaming_matrix **out);
/* out = diag(row_scale) A diag(col_scale); either scale may be NULL (no scaling). Scales are
 * 1-D float32 or float64 with at least one entry, finite (zero allowed), repeating their last
 * entry past their end; copied. A stays valid. */
MFKIT_API mfkit_status mfkit_sm_scale_rows_and_columns(const mfkit_streaming_matrix *a, const mfkit_array *row_scale,
                                             const mfkit_array *col_scale, mfkit_streaming_matrix **out);
/* Releases a matrix handle (NULL is a no-op). Streams made from it stay valid. */
MFKIT_API mfkit_status mfkit_sm_free(mfkit_streaming_matrix *a);
/* The number of stages (factors) s of A's pipeline, into *out (identity: 0). O(1). */
MFKIT_API mfkit_status mfkit_sm_num_stages(const mfkit_streaming_matrix *a, int64_t *out);

/* Writes the leading n x n block of A into out, shape (n, n), float32 or float64, n >= 1.
 * Time O(n^2 s) for s stages; memory O(s) per thread beyond out. */
MFKIT_API mfkit_status mfkit_sm_materialize(const mfkit_streaming_matrix *a, const mfkit_array *out);
/* Writes ||A[t, :n]||^2 for t < n into out, shape (n,), float32 or float64 (accumulated in
 * float64). Time O(n^2 s); memory O(n) per thread. */
MFKIT_API mfkit_status mfkit_sm_row_norms_squared(const mfkit_streaming_matrix *a, const mfkit_array *out);
/* out = A x for x of shape (n, ...): out[t] = (A x)[t]. x and out have one shape and one dtype
 * (float32 or float64); out may be x itself (in place), any other overlap is refused.
 * Time O(n m s) for m elements per slice; each element of x and out crosses memory once. */
MFKIT_API mfkit_status mfkit_sm_multiply_array(const mfkit_streaming_matrix *a, const mfkit_array *x,
                                     const mfkit_array *out);

/* A step-by-step multiplication: the state of x -> A x for slices of one shape and dtype. */
typedef struct mfkit_stream mfkit_stream;

/* A stream of A for slices of shape shape[0..ndim) (0 <= ndim <= 8; shape is copied; NULL
 * when ndim is 0) and dtype (float32 or float64), at step 0; writes a new handle to *out (free
 * with mfkit_stream_free).
 * The stream keeps its own reference to A, which may be freed first. Holds one buffer of the
 * slice's size per state-keeping stage of A (prefix sum 1, momentum 2, banded inverse b - 1,
 * BLT or BLT inverse d). */
MFKIT_API mfkit_status mfkit_stream_create(const mfkit_streaming_matrix *a, mfkit_dtype dtype,
                                           const int64_t *shape, int32_t ndim, mfkit_stream **out);
/* out = (A x)[t] for the slice x = x[t], then t += 1. x must have the stream's shape and dtype;
 * out may be x itself. Time O(m s), over the cores for large slices. */
MFKIT_API mfkit_status mfkit_stream_next(mfkit_stream *stream, const mfkit_array *x, const mfkit_array *out);
/* The index t of the next step, into *out. O(1). */
MFKIT_API mfkit_status mfkit_stream_step(const mfkit_stream *stream, int64_t *out);
/* Back to step 0 with zero state. O(m s). */
MFKIT_API mfkit_status mfkit_stream_reset(mfkit_stream *stream);
/* Releases a stream and its buffers (NULL is a no-op). */
MFKIT_API mfkit_status mfkit_stream_free(mfkit_stream *stream);

/* ---------------------------------------------------------------- banded strategies (mfkit_banded_*) */
/*
 * DP-BandMF strategies. A column-normalized banded strategy C (n x n, lower-triangular, b bands)
 * is parameterized by an n x b matrix params: C_raw[j + r, j] = params[j, r] for j + r < n, and
 * C = C_raw with every column divided by its norm c_j. Entries with j + r >= n (the lower-right
 * triangle) are ignored everywhere. Names and semantics follow
 * jax_privacy.matrix_factorization.banded. Strategy handles are immutable and may be shared
 * between threads. Parameter arrays are 2-D (or 1-D for coefs/weights) float32 or float64 with
 * any strides, copied at construction; computations run in float64.
 */
typedef struct mfkit_banded mfkit_banded;

/* How per-query errors e_t become a loss: mean, max (subgradient at the first arg-max),
 * last (e_{n-1}), or weights . e with caller-given weights (length n). */
typedef int32_t mfkit_reduction;
enum {
    MFKIT_REDUCTION_MEAN = 0,
    MFKIT_REDUCTION_MAX = 1,
    MFKIT_REDUCTION_LAST = 2,
    MFKIT_REDUCTION_WEIGHTS = 3
};

/* Called by the optimizers (mfkit_banded_optimize, mfkit_lbfgs_minimize, mfkit_toeplitz_optimize,
 * mfkit_toeplitz_optimize_for_amplifications, mfkit_blt_optimize_loss, mfkit_blt_optimize) after
 * every accepted step with the step index (from 0; it restarts with each run of an optimizer
 * that runs several), the loss and the gradient's norm; a nonzero return stops the
 * optimization (the result so far is returned with MFKIT_OK and MFKIT_STOP_CALLBACK). */
typedef int (*mfkit_optimize_callback)(void *user, int64_t step, double loss, double grad_norm);

/* Why an optimizer stopped (written to its *stop). Only the two tolerances mean convergence;
 * a stall is not convergence. Every optimizer reports, where its pointers are not NULL, the
 * steps taken, the loss evaluations (each with its gradient), the final loss, its gradient's
 * 2-norm and this reason (the out-parameters steps, evaluations, loss, grad_norm, stop); a
 * problem without unknowns (e.g. 0 buffers) is one evaluation, 0 steps and
 * MFKIT_STOP_GRADIENT_TOLERANCE (its empty gradient is 0). */
typedef int32_t mfkit_stop_reason;
enum {
    MFKIT_STOP_MAX_STEPS = 0,          /* max_steps steps were taken                              */
    MFKIT_STOP_GRADIENT_TOLERANCE = 1, /* converged: max_i |grad_i| <= gtol                       */
    MFKIT_STOP_LOSS_TOLERANCE = 2,     /* converged: (f_prev - f) / max(|f_prev|, |f|, 1) <= ftol */
    MFKIT_STOP_CALLBACK = 3,           /* the callback returned nonzero                           */
    MFKIT_STOP_LINE_SEARCH = 4,        /* stalled: no step along the L-BFGS or steepest-descent
                                          direction decreases the loss (at machine precision)     */
    MFKIT_STOP_NON_FINITE = 5          /* the loss or gradient at the start is not finite; no
                                          step was taken                                          */
};

/* A strategy from params, shape (n, b), 1 <= b <= n; values finite and params[j, 0] != 0
 * (else MFKIT_ERR_NUMERICAL: C would be singular). params is copied; writes a new handle to
 * *out (free with mfkit_banded_free). Time and memory O(n b). */
MFKIT_API mfkit_status mfkit_banded_create(const mfkit_array *params, mfkit_banded **out);
/* The banded Toeplitz strategy with coefficients coefs (1-D, 1 <= len <= n, coefs[0] != 0),
 * b = len, columns normalized to unit norm, lower-right triangle zero. Writes a new handle to
 * *out. Time and memory O(n b). */
MFKIT_API mfkit_status mfkit_banded_from_banded_toeplitz(int64_t n, const mfkit_array *coefs, mfkit_banded **out);
/* The default strategy: Toeplitz with the coefficients of Fichtenberger et al. (2023),
 * f_0 = 1, f_k = f_{k-1} (2k - 1) / (2k), truncated to bands (1 <= bands <= n). Writes a new
 * handle to *out. Time and memory O(n b). */
MFKIT_API mfkit_status mfkit_banded_default(int64_t n, int64_t bands, mfkit_banded **out);
/* Releases a strategy (NULL is a no-op). Inverses made from it stay valid. */
MFKIT_API mfkit_status mfkit_banded_free(mfkit_banded *strategy);
/* n and b, into *n and *bands (neither may be NULL). O(1). */
MFKIT_API mfkit_status mfkit_banded_shape(const mfkit_banded *strategy, int64_t *n, int64_t *bands);
/* Copies params (as given at construction, lower-right triangle included) into out, shape
 * (n, b), float32 or float64, any strides. O(n b). */
MFKIT_API mfkit_status mfkit_banded_params(const mfkit_banded *strategy, const mfkit_array *out);
/* Writes the dense C into out, shape (n, n), float32 or float64, any strides. Time O(n^2). */
MFKIT_API mfkit_status mfkit_banded_materialize(const mfkit_banded *strategy, const mfkit_array *out);
/* C^{-1} as a streaming matrix, written as a new handle to *out (use mfkit_sm_multiply_array or
 * a stream; free with mfkit_sm_free; it does not need the strategy handle). O(n b) to make. A step costs O(m b) for m elements per slice and keeps b - 1 slices of
 * state (a ring indexed by t mod (b - 1)); slices keep their dtype. Past row n it is the
 * identity: (C^{-1} z)[t] = z[t] for t >= n. */
MFKIT_API mfkit_status mfkit_banded_inverse(const mfkit_banded *strategy, mfkit_streaming_matrix **out);
/* Squared sensitivity under min_sep participation: min(k, ceil(n / min_sep)) with k =
 * *max_participations (NULL: no cap; k must be positive) and n = *n (NULL: the strategy's n;
 * n must be positive). Unless skip_checks: min_sep < bands and n > the strategy's n are
 * refused (MFKIT_ERR_INVALID_ARGUMENT). Writes *out. Time O(1). */
MFKIT_API mfkit_status mfkit_banded_minsep_sensitivity_squared(const mfkit_banded *strategy, int64_t min_sep,
                                                               const int64_t *max_participations,
                                                               const int64_t *n, int32_t skip_checks,
                                                               int64_t *out);
/* Per-query squared errors e_t = ||(A C^{-1})[t, :n]||^2 into out, shape (n,), float32 or
 * float64. a is the workload (NULL: prefix sum), built from prefix sums, momentum, diagonals
 * and the identity (anything else, e.g. a banded inverse, is MFKIT_ERR_INVALID_ARGUMENT).
 * Covariance recursion on C's unit columns (so the scale of params does not matter): time
 * O(n (b - 1 + q)^2) for a workload state of q numbers (prefix sum 1, momentum 2), memory
 * O((b + q)^2). It keeps an estimate of its own rounding error; where that passes 1e-9 (C
 * close to singular: a column's diagonal small next to its other entries, so that A C^{-1} is
 * small only by cancellation) the errors are recomputed by a square-root recursion (about 4x
 * the time, memory O((b + q)^2)), as accurate as streaming the rows of A C^{-1}; where even
 * that estimate passes 1e-6, MFKIT_ERR_NUMERICAL (no wrong value is returned). */
MFKIT_API mfkit_status mfkit_banded_per_query_error(const mfkit_banded *strategy, const mfkit_streaming_matrix *a,
                                          const mfkit_array *out);
/* The loss (a reduction of the per-query errors, see MFKIT_REDUCTION_*; weights is read only
 * for MFKIT_REDUCTION_WEIGHTS) into *loss and, if grad is not NULL, its gradient with respect
 * to params into grad, shape (n, b), float32 or float64 (zero on the lower-right triangle,
 * orthogonal to every row of params: the loss does not depend on a column's scale).
 * Without grad: as mfkit_banded_per_query_error. With grad, an adjoint recursion with
 * checkpoints: time about 5 n (b - 1 + q)^2 (the checkpoint recomputation runs on a second
 * core); memory O(n b + sqrt(n) (b + q)^2); MFKIT_ERR_NUMERICAL where the loss's estimated
 * relative rounding error passes 1e-6 (C too close to singular for a trustworthy gradient).
 * weights (length n, finite) may be float32 or float64. */
MFKIT_API mfkit_status mfkit_banded_loss(const mfkit_banded *strategy, const mfkit_streaming_matrix *a, mfkit_reduction reduction,
                               const mfkit_array *weights, double *loss, const mfkit_array *grad);
/* Optimizes a strategy for workload a (NULL: prefix sum) by L-BFGS (see mfkit_lbfgs_minimize;
 * memory 10, every column of the strategy kept at unit norm, float64) from initial (NULL:
 * mfkit_banded_default(n, bands); else its shape must be (n, bands)), for at most max_steps
 * steps, minimizing the reduction of the per-query errors (weights as for mfkit_banded_loss),
 * 1 <= bands <= n, max_steps >= 0. gtol, ftol >= 0 are the convergence tolerances of
 * mfkit_lbfgs_minimize (0: run until max_steps or a stall). Points where the loss cannot be
 * evaluated accurately (C too close to singular) are avoided by the line search; a start
 * where it cannot is MFKIT_ERR_NUMERICAL. callback (may be NULL) runs after every step with
 * `user`; a nonzero return stops early. Writes the best strategy found to *out (a new handle;
 * initial stays valid) and, where not NULL, the steps taken, the loss evaluations (each with
 * its gradient), the final loss, its gradient's norm and why the run stopped
 * (MFKIT_STOP_*). Time per step: usually one loss-and-gradient evaluation
 * (O(n (b + q)^2)) plus O(10 n b); memory O(sqrt(n) (b + q)^2 + 26 n b) doubles (fewer
 * L-BFGS pairs when 10 would pass 1 GB). */
MFKIT_API mfkit_status mfkit_banded_optimize(int64_t n, int64_t bands, const mfkit_banded *initial,
                                   const mfkit_streaming_matrix *a, int64_t max_steps, mfkit_reduction reduction,
                                   const mfkit_array *weights, double gtol, double ftol,
                                   mfkit_optimize_callback callback, void *user, mfkit_banded **out,
                                   int64_t *steps, int64_t *evaluations, double *loss, double *grad_norm,
                                   mfkit_stop_reason *stop);


/* ---------------------------------------------------------------- Toeplitz strategies (mfkit_toeplitz_*) */
/*
 * Lower-triangular Toeplitz matrices T(c) given by their leading coefficients c:
 * T(c)[i, j] = c[i - j] for 0 <= i - j < len(c), zero elsewhere. A banded Toeplitz strategy
 * C = T(c) has b = len(c) bands. Names and semantics follow
 * jax_privacy.matrix_factorization.toeplitz. Coefficient arrays are 1-D float32 or float64,
 * any strides, finite, with at least one entry; they are copied and computed with in float64.
 * A size is optional (const int64_t *n, NULL for None): the matrix is n' x n' with
 * n' = *n (>= 1) or len(c), and only c[:n'] is used (jax_privacy's _reconcile). Outputs are
 * 1-D (or n' x n') float32 or float64 arrays of exactly the documented length, any strides.
 * A strategy's c[0] must be nonzero (else MFKIT_ERR_NUMERICAL: T(c) is singular).
 */

/* pad_coefs_to_n: c[:n'] followed by zeros, into out of shape (n',). O(n'). */
MFKIT_API mfkit_status mfkit_toeplitz_pad_coefs(const mfkit_array *coef, const int64_t *n, const mfkit_array *out);
/* materialize_lower_triangular: T(c) into out of shape (n', n'). Time O(n'^2). */
MFKIT_API mfkit_status mfkit_toeplitz_materialize(const mfkit_array *coef, const int64_t *n, const mfkit_array *out);
/* solve_banded: out = T(c)^{-1} rhs for rhs of shape (n, ...) (float32 or float64; out of the
 * same shape and dtype, may be rhs itself). A 1-D rhs is solved in float64; a larger one streams
 * in its own dtype. Time O(n b m) for m elements per row; memory O(b) (1-D) or the streaming
 * work space. */
MFKIT_API mfkit_status mfkit_toeplitz_solve_banded(const mfkit_array *coef, const mfkit_array *rhs, const mfkit_array *out);
/* multiply: the coefficients of T(lhs) T(rhs) (n' = *n or len(lhs); both cut to n'), the
 * convolution truncated to min(n', l + r - 1) entries for the cut lengths l and r, into out of
 * that length. Without n, lhs and rhs must have the same length unless skip_checks. Time
 * O(n' min(l, r)). */
MFKIT_API mfkit_status mfkit_toeplitz_multiply(const mfkit_array *lhs, const mfkit_array *rhs, const int64_t *n,
                                               int32_t skip_checks, const mfkit_array *out);
/* inverse_coef: the n' coefficients of T(c)^{-1} into out of shape (n',). Time O(n' b). */
MFKIT_API mfkit_status mfkit_toeplitz_inverse_coef(const mfkit_array *coef, const int64_t *n, const mfkit_array *out);
/* optimal_max_error_strategy_coefs(len(out)): f_0 = 1, f_k = f_{k-1} (2k - 1) / (2k), the square
 * root of the prefix-sum matrix (Fichtenberger et al. 2023), into out (len >= 1). O(len). */
MFKIT_API mfkit_status mfkit_toeplitz_optimal_max_error_strategy_coefs(const mfkit_array *out);
/* optimal_max_error_noising_coefs(len(out)): the coefficients of T(f)^{-1}, f_k - f_{k-1}. O(len). */
MFKIT_API mfkit_status mfkit_toeplitz_optimal_max_error_noising_coefs(const mfkit_array *out);
/* sensitivity_squared: ||c[:n']||^2 into *out. O(b). */
MFKIT_API mfkit_status mfkit_toeplitz_sensitivity_squared(const mfkit_array *coef, const int64_t *n, double *out);
/* minsep_sensitivity_squared: the squared sensitivity of T(c) (n' steps) under participations at
 * least min_sep >= 1 apart, at most k = min(*max_participations, ceil(n' / min_sep)) of them
 * (NULL: no cap; else >= 1). Unless skip_checks, c must be non-negative and non-increasing
 * (MFKIT_ERR_INVALID_ARGUMENT otherwise, with jax_privacy's messages). Into *out. Time and
 * memory O(b), whatever n' and k. */
MFKIT_API mfkit_status mfkit_toeplitz_minsep_sensitivity_squared(const mfkit_array *coef, int64_t min_sep,
                                                                 const int64_t *max_participations, const int64_t *n,
                                                                 int32_t skip_checks, double *out);
/* per_query_error: e_t = sum_{s <= t} beta_s^2 for the first column beta of B = T(a) C^{-1},
 * into out. Exactly one of strategy_coef (C = T(c)) and noising_coef (C^{-1} = T(v)) is given
 * (the other NULL); workload_coef a (NULL: all ones, the prefix sums). Lengths as jax_privacy's:
 * with strategy_coef n' (a cut or padded to n'); with noising_coef len(v[:n']) without a
 * workload, else min(n', len(a[:n']) + len(v[:n']) - 1). Strategy: a blocked banded solve that
 * stops at the end of its transient T when a is constant there and T(c)^{-1} is stable (every
 * root of c outside the unit circle): beta is then its limit a / c(1), to rounding noise of the
 * recursion's own size. Time O(T b + n') (T <= n'), or O(n' min(len(a), len(v))) for noising
 * coefficients; memory O(n'). */
MFKIT_API mfkit_status mfkit_toeplitz_per_query_error(const mfkit_array *strategy_coef, const mfkit_array *noising_coef,
                                                      const int64_t *n, const mfkit_array *workload_coef,
                                                      const mfkit_array *out);
/* The reduction of those per-query errors (MFKIT_REDUCTION_*; max equals last, as the errors
 * never decrease; weights, read only for MFKIT_REDUCTION_WEIGHTS, has one finite entry per error)
 * into *loss, times ||c[:n']||^2 when times_sensitivity (strategy_coef only: jax_privacy's loss,
 * invariant to the scale of c). If grad is not NULL, the gradient with respect to the given
 * coefficients into grad (1-D, their length; zero past n'): for a strategy, gamma = T(c)^{-1}
 * beta on a second core and the correlation -sum_s 2 W_s beta_s gamma_{s-r} over the cores
 * (no backward pass: lower-triangular Toeplitz matrices commute). With converged tails (see
 * mfkit_toeplitz_per_query_error) the tail sums are closed forms: time O(T b + n'), at most
 * O(n' b); memory 2 n' doubles. */
MFKIT_API mfkit_status mfkit_toeplitz_loss(const mfkit_array *strategy_coef, const mfkit_array *noising_coef,
                                           const int64_t *n, const mfkit_array *workload_coef, mfkit_reduction reduction,
                                           const mfkit_array *weights, int32_t times_sensitivity, double *loss,
                                           const mfkit_array *grad);
/* inverse_as_streaming_matrix: C^{-1} for C = T(c) as a streaming matrix (a new handle in *out;
 * free with mfkit_sm_free). With column_normalize_for_n (NULL: none; else n >= 1), c is cut to
 * n and C is T(c)'s n x n block with every column divided by its norm: row t of C^{-1} is
 * scaled by ||c[:n - t]|| (by |c_0| past row n). A step costs (b - 1) multiply-adds per
 * element and keeps b - 1 slices of state (a ring); slices keep their dtype. O(b) to make. */
MFKIT_API mfkit_status mfkit_toeplitz_inverse(const mfkit_array *coef, const int64_t *column_normalize_for_n,
                                              mfkit_streaming_matrix **out);
/* optimize_banded_toeplitz: minimizes the loss (times_sensitivity, prefix sums; reduction and
 * weights as for mfkit_toeplitz_loss, weights of length n) over b = bands >= 1 coefficients by
 * L-BFGS (float64) for at most max_steps >= 0 steps from strategy_coef (NULL:
 * optimal_max_error_strategy_coefs(bands); else of length bands, coef[0] != 0), writing the
 * result with unit norm into out (shape (bands,)). The loss is invariant to the scale of c, so
 * L-BFGS runs on c / c[0] (b - 1 unknowns; none when min(n, bands) = 1); the result keeps the
 * sign of the start's c[0]. gtol, ftol >= 0 are the convergence tolerances of
 * mfkit_lbfgs_minimize on those unknowns (0: run until max_steps or a stall). callback (may be
 * NULL) runs after every step with `user`; a nonzero return stops early. Where not NULL,
 * steps, evaluations, loss, grad_norm and stop receive the run's report (MFKIT_STOP_*).
 * Time per step: one or two loss-and-gradient evaluations, O(T b + n) each (see
 * mfkit_toeplitz_loss); memory 2 n + O(b) doubles. */
MFKIT_API mfkit_status mfkit_toeplitz_optimize(int64_t n, int64_t bands, const mfkit_array *strategy_coef,
                                               int64_t max_steps, mfkit_reduction reduction, const mfkit_array *weights,
                                               double gtol, double ftol, mfkit_optimize_callback callback, void *user,
                                               const mfkit_array *out, int64_t *steps, int64_t *evaluations,
                                               double *loss, double *grad_norm, mfkit_stop_reason *stop);
/* The total noise multiplier of amplified BandMF with `bands` bands (jax_privacy's
 * _AmplifiedBandMFHelper.total_noise_multiplier): the sigma at which k = ceil(n / bands)
 * compositions of the Gaussian mechanism Poisson-subsampled at q = batch_size /
 * floor(dataset_size / bands) are (epsilon, delta)-DP under RDP accounting (dp_accounting's
 * default orders), calibrated in [0.01, floor(100 sqrt(batch_size))] to 1e-6, into *out.
 * 1 <= batch_size <= dataset_size, epsilon >= 0, 0 <= delta <= 1. Time: about 40 RDP curves. */
MFKIT_API mfkit_status mfkit_toeplitz_amplified_noise_multiplier(int64_t n, int64_t dataset_size, int64_t batch_size,
                                                                 int64_t bands, double epsilon, double delta,
                                                                 double *out);
/* optimize_coefs_for_amplifications: for every b among the divisors of dataset_size up to
 * max_bands = dataset_size / expected_batch_size, optimizes b coefficients
 * (mfkit_toeplitz_optimize with max_steps, reduction, gtol, ftol and callback, whose step
 * restarts from 0 with each b) and picks the one with the least amplified loss
 * sqrt(loss) * sigma(b) / expected_batch_size; writes its b to *bands, its coefficients
 * (unit norm) to out[:b] (out 1-D with at least max_bands entries; the rest zeroed), the
 * noise's standard deviation sigma(b) to *stddev and, where not NULL, the chosen run's report
 * to steps, evaluations, loss, grad_norm and stop. Time: one optimization and calibration per
 * divisor. */
MFKIT_API mfkit_status mfkit_toeplitz_optimize_for_amplifications(int64_t n, int64_t dataset_size,
                                                                  int64_t expected_batch_size, double epsilon,
                                                                  double delta, int64_t max_steps,
                                                                  mfkit_reduction reduction, double gtol, double ftol,
                                                                  mfkit_optimize_callback callback, void *user,
                                                                  const mfkit_array *out, int64_t *bands,
                                                                  double *stddev, int64_t *steps, int64_t *evaluations,
                                                                  double *loss, double *grad_norm,
                                                                  mfkit_stop_reason *stop);



/* ---------------------------------------------------------------- buffered Toeplitz strategies (mfkit_blt_*) */
/*
 * Buffered linear Toeplitz (BLT) matrices: the lower-triangular Toeplitz C with coefficients
 * c_0 = 1, c_m = sum_j output_scale[j] * buf_decay[j]^(m-1), applied with one buffer of state
 * per j. Names and semantics follow jax_privacy.matrix_factorization.buffered_toeplitz. A BLT
 * is passed as two 1-D arrays of one length d >= 0, buf_decay (theta) and output_scale
 * (omega), float32 or float64, any strides; they are read (copied) before any output is
 * written, so an output may be one of them. Computations run in float64. Gradients
 * (grad_buf_decay, grad_output_scale: (d,) outputs, either may be NULL) are those of the
 * computed value with respect to the parameters in their given order.
 */
/* How a loss reduces the per-query errors of the noising matrix: their mean or their max. */
typedef int32_t mfkit_blt_error;
enum {
    MFKIT_BLT_ERROR_MEAN = 0,
    MFKIT_BLT_ERROR_MAX = 1
};

/* The same BLT with buf_decay in decreasing order (ties in reverse given order, NaN last) into
 * out_buf_decay and out_output_scale, each (d,). Checks that the lengths match. O(d log d). */
MFKIT_API mfkit_status mfkit_blt_canonicalize(const mfkit_array *buf_decay, const mfkit_array *output_scale,
                                              const mfkit_array *out_buf_decay, const mfkit_array *out_output_scale);
/* The first n Toeplitz coefficients c_0 ... c_{n-1} into out, shape (n,) with n >= 1. Time O(n d). */
MFKIT_API mfkit_status mfkit_blt_toeplitz_coefs(const mfkit_array *buf_decay, const mfkit_array *output_scale,
                                                const mfkit_array *out);
/* The leading n x n block of C into out, shape (n, n), n >= 1. Time O(n^2 + n d). */
MFKIT_API mfkit_status mfkit_blt_materialize(const mfkit_array *buf_decay, const mfkit_array *output_scale,
                                             const mfkit_array *out);
/* C^{-1} as a BLT, canonical order, into out_buf_decay and out_output_scale (d,): the roots of
 * the secular equation 1 + sum_j omega_j / (lambda - theta_j) = 0 and 1 / f'(root). Unless
 * skip_checks, buf_decay values closer than 1e-9 are MFKIT_ERR_INVALID_ARGUMENT; an inverse
 * that is not a real BLT (complex roots, for output scales of mixed signs) is
 * MFKIT_ERR_NUMERICAL. Time O(d^2 * 64) for output scales of one sign. */
MFKIT_API mfkit_status mfkit_blt_inverse(const mfkit_array *buf_decay, const mfkit_array *output_scale, int32_t skip_checks,
                                         const mfkit_array *out_buf_decay, const mfkit_array *out_output_scale);
/* sum_j omega_j / theta_j (the Pillutla score) into *out. O(d). */
MFKIT_API mfkit_status mfkit_blt_pillutla_score(const mfkit_array *buf_decay, const mfkit_array *output_scale, double *out);
/* min over i != j of |buf_decay[i] - buf_decay[j]| into *out (+inf when d < 2). O(d^2). */
MFKIT_API mfkit_status mfkit_blt_min_buf_decay_gap(const mfkit_array *buf_decay, double *out);
/* The output scales of the pair (C, C^{-1}) with decays theta and theta_hat (1-D, one length d):
 * omega_i = prod_l (theta_i - theta_hat_l) / prod_{j != i} (theta_i - theta_j) into
 * out_output_scale, and the same with theta and theta_hat swapped into out_inverse_output_scale,
 * in the given order. O(d^2). */
MFKIT_API mfkit_status mfkit_blt_pair_from_theta_pair(const mfkit_array *theta, const mfkit_array *theta_hat,
                                                      const mfkit_array *out_output_scale,
                                                      const mfkit_array *out_inverse_output_scale);
/* The BLT of a rational approximation of 1/sqrt(1 - x) with num_buffers >= 1 buffers
 * (from_rational_approx_to_sqrt_x), max_pillutla_score NULL for none, into out_buf_decay and
 * out_output_scale, (num_buffers,). O(d^2). */
MFKIT_API mfkit_status mfkit_blt_from_rational_approx(int64_t num_buffers, double max_buf_decay,
                                                      const double *max_pillutla_score, double buf_decay_scale,
                                                      int64_t buf_decay_shift, const mfkit_array *out_buf_decay,
                                                      const mfkit_array *out_output_scale);
/* C (inverse = 0) or C^{-1} (inverse != 0) as a new streaming matrix handle (free with
 * mfkit_sm_free): one stage with d slices of state; a step costs O(m d) for m elements per
 * slice and keeps the slice's dtype; d = 0 is the identity. O(d) to make. */
MFKIT_API mfkit_status mfkit_blt_streaming_matrix(const mfkit_array *buf_decay, const mfkit_array *output_scale,
                                                  int32_t inverse, mfkit_streaming_matrix **out);
/* out = a * (1 + r + ... + r^(num-1)) elementwise for a and r of out's shape (num an integer
 * >= 0, or +inf for a / (1 - r)); grad_r (may be NULL) receives the derivative with respect to
 * r. Exact to a few ulps for every r (also r = 1). Time O(log num) per element. */
MFKIT_API mfkit_status mfkit_blt_geometric_sum(const mfkit_array *a, const mfkit_array *r, double num,
                                               const mfkit_array *out, const mfkit_array *grad_r);
/* sensitivity^2 of the strategy C for n steps (an integer >= 1, or +inf), the squared norm of
 * its first column, into *out; +inf when some buf_decay > 1. Time O(d^2 log n). */
MFKIT_API mfkit_status mfkit_blt_sensitivity_squared(const mfkit_array *buf_decay, const mfkit_array *output_scale,
                                                     double n, double *out, const mfkit_array *grad_buf_decay,
                                                     const mfkit_array *grad_output_scale);
/* The squared error of the last of n steps (n an integer >= 0), the largest, for this BLT as the
 * noising matrix C^{-1} on the prefix-sum workload: sum_{t<n} b_t^2 with b_t the prefix sums of
 * its coefficients, into *out (max_error; iteration_error(i) is n = i + 1). Accurate to a few
 * ulps times the conditioning of the sum (also for buf_decay at or near 1 and any n). Time
 * O(d^2 log n). */
MFKIT_API mfkit_status mfkit_blt_max_error(const mfkit_array *buf_decay, const mfkit_array *output_scale, double n,
                                           double *out, const mfkit_array *grad_buf_decay,
                                           const mfkit_array *grad_output_scale);
/* lim max_error / n = (1 + sum_j omega_j / (1 - theta_j))^2 (the sum in double-double) into
 * *out. O(d). */
MFKIT_API mfkit_status mfkit_blt_limit_max_error(const mfkit_array *buf_decay, const mfkit_array *output_scale,
                                                 double *out, const mfkit_array *grad_buf_decay,
                                                 const mfkit_array *grad_output_scale);
/* max_error(C^{-1}, n) * sensitivity^2(C, n) for the strategy C (n an integer >= 1) into *out;
 * +inf unless every output_scale > 0. Time O(d^2 log n). */
MFKIT_API mfkit_status mfkit_blt_max_loss(const mfkit_array *buf_decay, const mfkit_array *output_scale, double n,
                                          double *out, const mfkit_array *grad_buf_decay,
                                          const mfkit_array *grad_output_scale);
/* lim max_loss / n = sensitivity^2(C, inf) / (1 + sum_j omega_j / (1 - theta_j))^2 into *out;
 * +inf unless every output_scale > 0 and buf_decay < 1. O(d^2). */
MFKIT_API mfkit_status mfkit_blt_limit_max_loss(const mfkit_array *buf_decay, const mfkit_array *output_scale,
                                                double *out, const mfkit_array *grad_buf_decay,
                                                const mfkit_array *grad_output_scale);
/*
 * Losses (jax_privacy's LossFn). A loss is given by: n >= 1 steps; min_sep >= 1;
 * max_participations (NULL: none); error (MFKIT_BLT_ERROR_*); closed_form (nonzero: max error
 * and single-participation sensitivity; zero: the min-sep loss, 'mean' or 'max' error with
 * k participations; both in closed form, O(d^2 log n) per evaluation). The penalized loss adds penalty_strength times
 * the penalties (in the order buf_decay<1, buf_decay>0, inv_buf_decay<1, inv_buf_decay>0,
 * inv_output_scale<0, output_scale>0, pillutla_score, second_coef, theta_gap) weighted by
 * penalty_multipliers ((9,) float64; NULL: all ones; a zero multiplier drops a penalty even if
 * it is NaN), with max_second_coef and min_theta_gap as in jax_privacy (defaults 1, 1e-12).
 */
/* The unpenalized loss error(C^{-1}) * sensitivity^2(C) of the strategy C into *out (C^{-1} from
 * mfkit_blt_inverse; +inf when it is not a real BLT). Unless skip_checks, for several
 * participations C's first n coefficients must be nonnegative and non-increasing, else
 * MFKIT_ERR_NUMERICAL. */
MFKIT_API mfkit_status mfkit_blt_loss(int64_t n, int64_t min_sep, const int64_t *max_participations,
                                      mfkit_blt_error error, int32_t closed_form, const mfkit_array *buf_decay,
                                      const mfkit_array *output_scale, int32_t skip_checks, double *out);
/* The loss's error of the noising BLT (mean or max of its per-query errors), into *out. */
MFKIT_API mfkit_status mfkit_blt_loss_error(int64_t n, int64_t min_sep, const int64_t *max_participations,
                                            mfkit_blt_error error, int32_t closed_form, const mfkit_array *buf_decay,
                                            const mfkit_array *output_scale, double *out);
/* The loss's sensitivity^2 of the strategy BLT (closed form, or min-sep from the first n
 * coefficients), into *out. */
MFKIT_API mfkit_status mfkit_blt_loss_sensitivity(int64_t n, int64_t min_sep, const int64_t *max_participations,
                                                  mfkit_blt_error error, int32_t closed_form,
                                                  const mfkit_array *buf_decay, const mfkit_array *output_scale,
                                                  double *out);
/* The penalties of the pair (C, C^{-1}) (C^{-1} given by inv_buf_decay / inv_output_scale, of
 * C's length) into out, shape (9,) (theta_gap is 0 when d < 2). O(d^2). */
MFKIT_API mfkit_status mfkit_blt_penalties(const mfkit_array *buf_decay, const mfkit_array *output_scale,
                                           const mfkit_array *inv_buf_decay, const mfkit_array *inv_output_scale,
                                           double max_second_coef, double min_theta_gap, const mfkit_array *out);
/* The penalized loss of the pair (C, C^{-1}) into *out (normalized by k + (1 + ln n / pi)^2
 * when normalize != 0). */
MFKIT_API mfkit_status mfkit_blt_penalized_loss(int64_t n, int64_t min_sep, const int64_t *max_participations,
                                                mfkit_blt_error error, int32_t closed_form, double penalty_strength,
                                                const mfkit_array *penalty_multipliers, double max_second_coef,
                                                double min_theta_gap, const mfkit_array *buf_decay,
                                                const mfkit_array *output_scale, const mfkit_array *inv_buf_decay,
                                                const mfkit_array *inv_output_scale, int32_t normalize, double *out);
/* Minimizes the penalized loss over BLTs with num_buffers >= 0 buffers (optimize_loss): L-BFGS
 * (memory 15) over the decays of (C, C^{-1}) from init (init_buf_decay / init_output_scale of
 * length num_buffers; NULL: the rational-approximation start get_init_blt), at most max_steps
 * >= 0 steps; gtol, ftol >= 0 the tolerances of mfkit_lbfgs_minimize on those 2 d unknowns
 * (0: off); callback (may be NULL) after every step, nonzero stops. Writes the canonical
 * strategy into out_buf_decay / out_output_scale (num_buffers,), its loss (no penalties) into
 * *loss and, where not NULL, the run's report to steps, evaluations, objective, grad_norm and
 * stop; objective (as the callback's loss) is the function minimized, the penalized loss
 * normalized by k + (1 + ln n / pi)^2 (mfkit_blt_penalized_loss with normalize). 0 buffers: no
 * unknowns. MFKIT_ERR_NUMERICAL if the result's loss is not finite or, for several
 * participations, its coefficients are negative or increasing. Time per step O(d^2 log n). */
MFKIT_API mfkit_status mfkit_blt_optimize_loss(int64_t n, int64_t min_sep, const int64_t *max_participations,
                                               mfkit_blt_error error, int32_t closed_form, double penalty_strength,
                                               const mfkit_array *penalty_multipliers, double max_second_coef,
                                               double min_theta_gap, int64_t num_buffers,
                                               const mfkit_array *init_buf_decay, const mfkit_array *init_output_scale,
                                               int64_t max_steps, double gtol, double ftol,
                                               mfkit_optimize_callback callback, void *user,
                                               const mfkit_array *out_buf_decay, const mfkit_array *out_output_scale,
                                               double *loss, int64_t *steps, int64_t *evaluations, double *objective,
                                               double *grad_norm, mfkit_stop_reason *stop);
/* The best BLT over numbers of buffers (optimize): from min_buffers, one more buffer at a time
 * while the loss improves by the factor rtol, up to max_buffers (<= 15); the closed-form loss
 * for single-participation max error, the min-sep loss otherwise; every run as
 * mfkit_blt_optimize_loss with max_steps, gtol, ftol and callback (whose step restarts from 0
 * with each run). Writes the d chosen buffers into the first d entries of out_buf_decay /
 * out_output_scale (1-D, length >= max_buffers), d into *num_buffers and, where not NULL, the
 * chosen run's report to steps, evaluations, objective, grad_norm and stop (as
 * mfkit_blt_optimize_loss). Time: one mfkit_blt_optimize_loss per number of buffers tried. */
MFKIT_API mfkit_status mfkit_blt_optimize(int64_t n, int64_t min_sep, const int64_t *max_participations,
                                          mfkit_blt_error error, int64_t min_buffers, int64_t max_buffers, double rtol,
                                          int64_t max_steps, double gtol, double ftol,
                                          mfkit_optimize_callback callback, void *user,
                                          const mfkit_array *out_buf_decay, const mfkit_array *out_output_scale,
                                          int64_t *num_buffers, int64_t *steps, int64_t *evaluations,
                                          double *objective, double *grad_norm, mfkit_stop_reason *stop);

/* ---------------------------------------------------------------- optimization (mfkit_lbfgs_*) */

/* The L-BFGS minimizer behind mfkit_banded_optimize (a general minimizer), for a caller's own
 * differentiable loss (Python: mfkit.optimization.optimize). objective(user, x, grad, n)
 * returns the loss at x (n contiguous doubles) and, when grad is not NULL, writes the gradient
 * into grad (this minimizer always asks for it); a non-finite return marks x as inadmissible
 * (the line search backs off). x (float64, any shape and strides, not empty) holds the start
 * and receives the result (only on success; the result so far when the callback stops the
 * run). Each step: the two-loop recursion over the last `memory` (>= 1) pairs, then a line
 * search for the strong Wolfe conditions (More-Thuente, c1 = 1e-4, c2 = 0.9, at most 20
 * evaluations). Stops after max_steps (>= 0) steps, or when max_i |grad_i| <= gtol, or when a
 * step's relative decrease (f_prev - f) / max(|f_prev|, |f|, 1) <= ftol (ftol = 0: off), or
 * when the callback returns nonzero, or when no step decreases the loss any more (a stall,
 * not convergence); gtol, ftol >= 0. invariant_block = B > 0 declares that the loss does
 * not change when any block of B consecutive entries of x is multiplied by a positive number
 * (the last block may be shorter): every block is then kept at unit norm after each step,
 * with the stored pairs carried into the rescaled coordinates (x is returned so rescaled);
 * 0 declares nothing. callback (may be NULL) runs after every accepted step; user is passed
 * to both functions. Where not NULL: *steps, *evaluations, *loss, *grad_norm (2-norm) and
 * *stop (MFKIT_STOP_*) receive the steps taken, the objective calls, the final loss and
 * gradient norm, and why the run ended; a non-finite loss or gradient at the start is
 * MFKIT_OK with MFKIT_STOP_NON_FINITE (x unchanged but for the rescaling). Time per step:
 * usually one objective call, plus O(memory n); memory (2 memory + 6) n doubles. */
typedef double (*mfkit_objective)(void *user, const double *x, double *grad, int64_t n);
MFKIT_API mfkit_status mfkit_lbfgs_minimize(const mfkit_array *x, mfkit_objective objective,
                                            mfkit_optimize_callback callback, void *user, int64_t max_steps,
                                            int64_t memory, double gtol, double ftol, int64_t invariant_block,
                                            int64_t *steps, int64_t *evaluations, double *loss, double *grad_norm,
                                            mfkit_stop_reason *stop);

/* ---------------------------------------------------------------- sensitivity of dense strategies (mfkit_sens_*) */
/*
 * Sensitivity of a dense encoder C (r x n, any strides, float32 or float64; square C must be
 * lower-triangular up to 1e-8) or of its Gram matrix X = C^T C (n x n, finite, symmetric up to
 * NumPy's allclose), under multiple participations. Names, semantics, checks and messages
 * follow jax_privacy.matrix_factorization.sensitivity. Everything is computed in float64;
 * results go to *out, which is written only on success. A participation pattern is a set of
 * steps i_1 < i_2 < ... with i_{m+1} - i_m >= min_sep (min_sep = 1: adjacent steps allowed),
 * at most max_participations of them: max_participations is a pointer, NULL meaning "as many
 * as n and min_sep allow" (None in Python); a cap <= 0 allows only the empty pattern. Below, k
 * is the number of participations min(cap, ceil(n / min_sep)).
 * Inputs are read in place; only the C variants pack C's columns (n r doubles). Each function
 * taking C has a _for_x twin taking X = C^T C instead (same result, checks on X).
 */
/* ceil(n / min_sep), capped at *max_participations when given. n >= 0, min_sep >= 1. O(1). */
MFKIT_API mfkit_status mfkit_sens_minsep_true_max_participations(int64_t n, int64_t min_sep,
                                                       const int64_t *max_participations, int64_t *out);
/* max over patterns of sum_{i in pattern} x[i] (>= 0: the empty pattern counts); x is 1-D,
 * finite. Time O(n k) dynamic program, O(n) when the cap does not bind; for min_sep = 1
 * O(n) (k <= 64) or O(n log n); memory O(n). */
MFKIT_API mfkit_status mfkit_sens_max_participation_for_linear_fn(const mfkit_array *x, int64_t min_sep,
                                                        const int64_t *max_participations, double *out);
/* max_j ||C[:, j]||_2 (n >= 1). Time O(r n) over the cores; memory O(n). */
MFKIT_API mfkit_status mfkit_sens_single_participation(const mfkit_array *c, double *out);
/* Upper bound on the (min_sep, max_participations) sensitivity valid for any X: per row the
 * best pattern of |X[i, :]|, then the best pattern of those row values, square root (at least
 * the exact value; equal for diagonal X, often for min_sep-banded X). min_sep >= 1. Time O(n^2 k) at most (O(n^2) without a binding cap,
 * O(n^2) to O(n^2 log n) for min_sep = 1) over the cores; memory O(n) per core. The C variant forms
 * X = C^T C first: O(n^3 / 6) for a lower-triangular C, O(n^2 + n r) memory. */
MFKIT_API mfkit_status mfkit_sens_min_sep_upper_bound(const mfkit_array *c, int64_t min_sep,
                                            const int64_t *max_participations, double *out);
MFKIT_API mfkit_status mfkit_sens_min_sep_upper_bound_for_x(const mfkit_array *x, int64_t min_sep,
                                                  const int64_t *max_participations, double *out);
/* Exact sensitivity when columns i, j of C with |i - j| >= min_sep are orthogonal (X exactly
 * zero off the min_sep band, else MFKIT_ERR_INVALID_ARGUMENT "... must be orthogonal.");
 * 1 <= min_sep <= n. Time O(n^2) + O(n k) for X; for C, O(r n) plus a dot product only for
 * far-apart columns whose supports overlap (none for C with at most min_sep bands). */
MFKIT_API mfkit_status mfkit_sens_banded(const mfkit_array *c, int64_t min_sep, const int64_t *max_participations,
                               double *out);
MFKIT_API mfkit_status mfkit_sens_banded_for_x(const mfkit_array *x, int64_t min_sep, const int64_t *max_participations,
                                     double *out);
/* Sensitivity under (epochs, n / epochs)-fixed-epoch participation: sqrt(max_j sum_{a,c} |X[j +
 * a b, j + c b]|) with b = n / epochs. epochs > 0 must divide n >= 1. Time O(n^2) (checks)
 * + O(n epochs) for X; for C only the needed column dot products, O(n epochs r) at most. */
MFKIT_API mfkit_status mfkit_sens_fixed_epoch(const mfkit_array *c, int64_t epochs, double *out);
MFKIT_API mfkit_status mfkit_sens_fixed_epoch_for_x(const mfkit_array *x, int64_t epochs, double *out);
/* X = C^T C into out (n x n, float32 or float64, any strides; may be C's own memory, which is
 * packed first). C must be finite. Exactly symmetric. Time O(r n^2 / 2) (n^3 / 6 for a
 * lower-triangular C, O(n b^2) for a banded one) over the cores; memory n r doubles (+ n^2
 * when out is not C-ordered float64). No Python counterpart. */
MFKIT_API mfkit_status mfkit_sens_gram(const mfkit_array *c, const mfkit_array *out);


/* ---------------------------------------------------------------- dense strategies (mfkit_dense_*) */
/*
 * Dense (explicitly represented) strategies, following jax_privacy.matrix_factorization.dense:
 * A is the workload (k x n; NULL: prefix sums, the n x n lower-triangular ones), C the strategy
 * (n x n, lower-triangular), C^-1 a noising matrix (n x m), B = A C^-1 the decoder and X = C^T C.
 * Matrices are float32 or float64 with any strides; the work runs in float64 on the BLAS/LAPACK
 * (see "BLAS/LAPACK": MFKIT_ERR_UNAVAILABLE without one). The sensitivity of a result is given
 * by the mfkit_sens_* functions.
 */
/* Called by mfkit_dense_optimize after every step with the step index (from 0), the loss and
 * the projected gradient grad at the point the step started from, and the parameters x = X
 * after the step (grad and x: n x n, row-major, valid during the call only); a nonzero return
 * stops the optimization (the result so far is returned with MFKIT_OK). */
typedef int (*mfkit_dense_callback)(void *user, int64_t step, double loss, const double *grad, const double *x,
                                    int64_t n);

/* Expected per-query squared errors e_i = ||B[i, :]||^2 into out (length k, float32 or float64).
 * Exactly one of strategy_matrix (square C: B = A C^-1) and noising_matrix (C^-1, n x m:
 * B = A C^-1) is given; workload_matrix A is k x n (NULL: prefix sums). Unless skip_checks,
 * jax_privacy's checks run in its order: A finite, square, lower-triangular; B finite and, when
 * square, lower-triangular; C finite and lower-triangular (NumPy allclose tolerances). A
 * singular C gives a non-finite B. Time: n^3/3 + O(n^2) for C with prefix sums (triangular
 * inverse), n^2 k for C with a general A (triangular solve), 2n^3/3 + 2 n^2 k for a C that is
 * not exactly lower-triangular (LU); O(n m) or 2 k n m for C^-1. Memory n^2 + k m doubles. */
MFKIT_API mfkit_status mfkit_dense_per_query_error(const mfkit_array *strategy_matrix, const mfkit_array *noising_matrix,
                                                   const mfkit_array *workload_matrix, int32_t skip_checks,
                                                   const mfkit_array *out);
/* The fixed-epoch orthogonality mask (get_orthogonal_mask) into out ((n, n), float32 or
 * float64): 0 where i != j and i = j (mod n / epochs), 1 elsewhere. n >= 0; epochs >= 1 must
 * divide n. Time O(n^2); memory n^2 doubles. */
MFKIT_API mfkit_status mfkit_dense_orthogonal_mask(int64_t n, int64_t epochs, const mfkit_array *out);
/* The lower-triangular C with C^T C = X into out ((n, n), float32 or float64; may be x itself)
 * for X (n x n, finite) symmetric positive definite (its symmetric part is used): with J the
 * reversal, J X J = R R^T and C = J R^T J. MFKIT_ERR_NUMERICAL when X is not positive definite.
 * Time n^3/3; memory n^2 doubles. */
MFKIT_API mfkit_status mfkit_dense_strategy_from_x(const mfkit_array *x, const mfkit_array *out);
/* The loss L(X) = sum_j w_j (A X^-1 A^T)_jj of the Gram matrix x (n x n, finite, symmetric positive
 * definite; its lower triangle is read) for workload a (NULL: prefix sums; else k x n) into
 * *loss, with reduction and weights as for mfkit_banded_loss (mean: sum_j e_j / n), and, when
 * grad is not NULL ((n, n), float32 or float64, not overlapping x), its unprojected gradient
 * -Z diag(w) Z^T with Z = X^-1 A^T. MFKIT_ERR_NUMERICAL when X is not positive definite.
 * Time 2n^3 flops for prefix sums (n^3/3 + 3 n^2 k for a general a; 2n^3/3 without grad);
 * memory 2 n^2 (+ 3 n k) doubles. */
MFKIT_API mfkit_status mfkit_dense_loss(const mfkit_array *x, const mfkit_array *a, mfkit_reduction reduction,
                                        const mfkit_array *weights, double *loss, const mfkit_array *grad);
/* The optimal strategy for workload a (NULL: prefix sums; else k x n, finite) under
 * participation constraints, written into out ((n, n), float32 or float64) as
 * strategy_from_x of the optimized X. X starts at I / epochs; the loss is the reduction of the
 * per-query errors (reduction and weights as for mfkit_banded_loss, weights of length k; mean:
 * sum_j e_j / n); the gradient is projected as jax_privacy does: the diagonal keeps zero sum
 * over each user's steps {j, j + b, ...} (b = n / epochs; all zero with equal_norm), entries
 * i != j with i = j (mod b) and, when bands is not NULL, |i - j| >= *bands stay 0. The optimizer
 * is jax_privacy's (L-BFGS with one pair, backtracking line search from min(1.5 t_prev, 1) by
 * 0.8, at most 129 trials). The run stops after max_steps, when callback returns nonzero, or
 * when pg_tol is not NULL and max |projected gradient| <= *pg_tol (jax_privacy's default
 * callback: 1e-3). n >= 1; epochs >= 1 dividing n; *bands >= 1; max_steps >= 0. *steps and
 * *loss (may be NULL) receive the steps taken and the loss of the result. Time per step, over
 * mfkit_num_threads() cores: 2n^3 flops with prefix sums (n^3/3 + 3 n^2 k with a general A)
 * plus 2n^3/3 (n^3/3 + n^2 k) per extra line-search trial; memory 7 n^2 doubles (+ 3 n k). */
MFKIT_API mfkit_status mfkit_dense_optimize(int64_t n, int64_t epochs, const int64_t *bands, int32_t equal_norm,
                                            const mfkit_array *a, int64_t max_steps, mfkit_reduction reduction,
                                            const mfkit_array *weights, const double *pg_tol,
                                            mfkit_dense_callback callback, void *user, int64_t *steps, double *loss,
                                            const mfkit_array *out);


/* ---------------------------------------------------------------- Kronecker sums (mfkit_kron_*) */
/*
 * A_1 ⊕ ... ⊕ A_K = Σ_k I ⊗ A_k ⊗ I for K >= 1 square factors of sizes d_1..d_K, N = Π d_k;
 * the first factor is the outermost axis (flat index Σ_k i_k d_{k+1}...d_K, as np.kron).
 * Lists of K arrays are passed as a pointer to K consecutive mfkit_array descriptors followed
 * by K (1 <= K <= 64).
 * Every array of one call has the same dtype (float32 or float64); sums are accumulated in
 * float64 and rounded once into the output. Inputs and outputs may have any strides; an output
 * that overlaps an input or another output is refused (MFKIT_ERR_INVALID_ARGUMENT); on any
 * error nothing is written. Large work runs on every core. KS projections use the convention
 * A_k = factorwise average - (K-1)/K tr(M)/N I (every factor gets mean diagonal tr(M)/(K N)).
 */

/* Elementwise functions of the fused passes (IEEE semantics: log(0) = -inf, 1/0 = inf). */
typedef int32_t mfkit_kron_function;
enum {
    MFKIT_KRON_IDENTITY = 0,
    MFKIT_KRON_RECIPROCAL = 1,
    MFKIT_KRON_LOG = 2,
    MFKIT_KRON_EXP = 3,
    MFKIT_KRON_SQUARE = 4,
    MFKIT_KRON_SQRT = 5
};

/* out (N x N) = mats[0] ⊕ ... ⊕ mats[k-1] (each d_i x d_i). Time O(N^2 + N Σ d_i); no work
 * space. A Fortran-ordered out is written column-contiguously; outputs of 16 MB and more with
 * contiguous rows are written with non-temporal stores. N <= 2^28. */
MFKIT_API mfkit_status mfkit_kron_sum(const mfkit_array *mats, int32_t k, const mfkit_array *out);
/* out (length N) = diagonal of diag(vecs[0]) ⊕ ... ⊕ diag(vecs[k-1]): out[i] = Σ_j vecs[j][i_j].
 * Time O(N), one write of out; work space O(L) doubles, L = the folded trailing axes
 * (L <= max(d_last, 32768)). Outputs of 16 MB and more are written with non-temporal stores. */
MFKIT_API mfkit_status mfkit_kron_sum_diag(const mfkit_array *vecs, int32_t k, const mfkit_array *out);
/* out (d_axis x d_axis) = the average of the diagonal blocks of axis `axis` (0-based) of the
 * N x N mat for factor sizes dims[0..k): out[i][j] = mean over the other axes' multi-index l
 * of mat[(l, i), (l, j)]. Time O(N d_axis); work space O(d_axis^2) doubles per thread. */
MFKIT_API mfkit_status mfkit_kron_factorwise_average(const mfkit_array *mat, const int64_t *dims, int32_t k,
                                                     int32_t axis, const mfkit_array *out);
/* out (length d_axis) = the mean of the N-vector vec over every axis but `axis`.
 * Time O(N), one pass. */
MFKIT_API mfkit_status mfkit_kron_factorwise_average_diag(const mfkit_array *vec, const int64_t *dims, int32_t k,
                                                          int32_t axis, const mfkit_array *out);
/* The Frobenius-nearest Kronecker sum to the N x N mat: writes the k factors into outs[0..k)
 * (square, sizes d_i taken from their shapes, Π d_i = N). Time O(N Σ d_i); work space
 * O(Σ d_i^2) doubles. */
MFKIT_API mfkit_status mfkit_kron_ks_project(const mfkit_array *mat, const mfkit_array *outs, int32_t k);
/* The diagonal KS projection of the N-vector vec into outs[0..k) (1-D, lengths d_i from their
 * shapes): outs[i][a] = mean of vec over the other axes - (K-1)/K mean(vec). One pass over
 * vec; time O(N); work space O(L + Σ d_i) doubles per thread. */
MFKIT_API mfkit_status mfkit_kron_ks_project_diag(const mfkit_array *vec, const mfkit_array *outs, int32_t k);
/* out = (mats[0] ⊕ ... ⊕ mats[k-1]) x for x of shape (N,) or (N, m); out has x's shape and must
 * not overlap x or the factors. Time O(N m Σ d_i); work space 2 N m doubles. */
MFKIT_API mfkit_status mfkit_kron_sum_matvec(const mfkit_array *mats, int32_t k, const mfkit_array *x,
                                             const mfkit_array *out);
/* *result = Σ_i f(w_i) for w = kronsum_diag(vecs[0..k)), without holding w (f = LOG gives the
 * log-determinant). Accumulated in float64 with compensated chunk totals. Time O(N)
 * evaluations of f; memory O(L + Σ d_i) doubles, independent of N. */
MFKIT_API mfkit_status mfkit_kron_sum_diag_reduce(const mfkit_array *vecs, int32_t k, mfkit_kron_function f,
                                                  double *result);
/* outs[0..j) = ks_project_diag(f(kronsum_diag(vecs[0..k)))) for the axis lengths of outs (1-D,
 * Π lengths = N; usually the lengths of vecs), in one pass without holding the N-vector.
 * outs have the vecs' dtype. Time O(N) evaluations of f; memory O(L + Σ d_i) doubles per thread. */
MFKIT_API mfkit_status mfkit_kron_ks_project_diag_map(const mfkit_array *vecs, int32_t k, mfkit_kron_function f,
                                                      const mfkit_array *outs, int32_t j);


/* ---------------------------------------------------------------- parametric matrix models (mfkit_pmm_*) */

/* An affine Hermitian matrix model (parametric matrix model), prepared once per parameter set:
 *
 *     M(x) = M_0 + x_1 M_1 + ... + x_p M_p + s C,   C = i sum_{i>j} [M_i, M_j]
 *
 * for real features x (p of them), Hermitian n x n matrices M_i and smoothing s (0: none).
 * With bias_term = 0 there is no M_0: the q = p given matrices are M_1 ... M_p (and C is
 * taken over them). Semantics follow parametricmatrixmodels' LowRankAffineHermitianMatrix and
 * AffineHermitianMatrix. Creation computes the full matrices (exactly Hermitian), C (one
 * product per matrix with cumulative sums) and the kernel operands in the precision
 * `dtype` (MFKIT_COMPLEX64 or MFKIT_COMPLEX128); parameter arrays are read, never kept.
 * A model handle is immutable and may be shared between threads.
 */
typedef struct mfkit_pmm mfkit_pmm;

/* Low rank: M_i = sum_k lambdas[i, k] us[i, k, :] us[i, k, :]^H. lambdas (q, r) float32 or
 * float64; us (q, r, n) complex64 or complex128; any strides; finite values; q n^2 <= 2^28.
 * C comes from the factors (M_i S = U_i (Lambda_i (U_i^H S))). Time O(q r n^2), with or
 * without smoothing; memory O(q n^2) held by the handle. */
MFKIT_API mfkit_status mfkit_pmm_low_rank_create(const mfkit_array *lambdas, const mfkit_array *us, double smoothing,
                                       int32_t bias_term, mfkit_dtype dtype, mfkit_pmm **out);
/* Full rank: M_i given by the upper triangles of ms (q, n, n), complex64 or complex128: entries
 * above the diagonal as given, the real part of the diagonal, the lower triangle mirrored
 * (conjugated); q n^2 <= 2^28. Time O(q n^2 + q n^3 if smoothing != 0, the n^3 products
 * over the cores); memory O(q n^2). */
MFKIT_API mfkit_status mfkit_pmm_affine_create(const mfkit_array *ms, double smoothing, int32_t bias_term,
                                     mfkit_dtype dtype, mfkit_pmm **out);
/* Releases a model handle (NULL is a no-op). */
MFKIT_API mfkit_status mfkit_pmm_free(mfkit_pmm *model);
/* The number of features p (q - 1 with the bias term, q without), the matrix size n and the
 * dtype of the model; any output pointer may be NULL. O(1). No Python counterpart. */
MFKIT_API mfkit_status mfkit_pmm_info(const mfkit_pmm *model, int64_t *num_features, int64_t *matrix_size,
                            mfkit_dtype *dtype);
/* Writes the full Hermitian matrices (q, n, n) (M_0 ... M_p, or M_1 ... M_p without the bias
 * term) into out, complex64 or complex128 (converted from the model's dtype), any strides.
 * O(q n^2). No Python counterpart. */
MFKIT_API mfkit_status mfkit_pmm_matrices(const mfkit_pmm *model, const mfkit_array *out);
/* Writes C (n, n), without the factor s, into out (complex64 or complex128, any strides);
 * zeros when s = 0. O(n^2). No Python counterpart. */
MFKIT_API mfkit_status mfkit_pmm_smoothing_matrix(const mfkit_pmm *model, const mfkit_array *out);
/* The forward pass: out[k] = M(x[k]) for x (N, p) float32 or float64 and out (N, n, n) or
 * (N, n*n) of the model's dtype, any strides, not overlapping x. As x is real, this is the
 * real GEMM [1 x] (N x (p+1)) times [M_0 + sC; M_1; ...; M_p] ((p+1) x 2n^2), blocked four
 * samples at a time, lower triangle computed and mirrored (when rows are whole 128-bit
 * registers), split over the cores. Each M(x[k]) is exactly Hermitian. A failure leaves out
 * untouched.
 * Time O(N p n^2); memory O(p n^2) in the handle, plus O(n^2) per thread for a strided out. */
MFKIT_API mfkit_status mfkit_pmm_forward(const mfkit_pmm *model, const mfkit_array *x, const mfkit_array *out);

/* ---------------------------------------------------------------- PMM eigen (mfkit_pmm_eigh, gradients) */

/* Which eigenpairs are selected (parametricmatrixmodels' `which`): smallest (S), largest (L),
 * both ends (E) or middle (I) of the spectrum sorted by the eigenvalue (A) or its magnitude
 * (M, a stable sort). With s the sorted indices and h = n / 2: S keeps s[:k], L s[-k:] (the
 * largest last), E s[:k/2] then s[-(k - k/2):], I s[h - k/2 : h] then s[h : h + k - k/2]. */
typedef int32_t mfkit_pmm_which;
enum {
    MFKIT_PMM_SA = 0,
    MFKIT_PMM_LA = 1,
    MFKIT_PMM_SM = 2,
    MFKIT_PMM_LM = 3,
    MFKIT_PMM_EA = 4,
    MFKIT_PMM_EM = 5,
    MFKIT_PMM_IA = 6,
    MFKIT_PMM_IM = 7
};

/* Batched Hermitian eigenproblems: for every matrix of a (N, n, n) complex64/complex128, any
 * strides, symmetrised (A + A^H)/2 first, the eigenvalues into values (N, m) (float32 for
 * complex64, float64 for complex128) and the eigenvectors into vectors (N, n, m) (a's dtype),
 * column c of matrix s being the eigenpair of values[s, c]. Columns 0..num_eig-1 are the
 * selected pairs (`which`), in the selection's order; columns num_eig..m-1 (m > num_eig) the
 * unselected ones in ascending order (m = n: the whole eigensystem). 1 <= num_eig <= m <= n.
 * Either output may be NULL (not both); they must not overlap a or each other. The first
 * component of every eigenvector is real and >= 0.
 * Method (n <= 64): many matrices at once, one per SIMD lane: Householder tridiagonalization,
 * bisection or implicit QL for the eigenvalues, inverse iteration for the m selected vectors
 * only, back-transformation; blocks of matrices over the threads. Time O(N ((16/3) n^3 + 4 m n^2))
 * real operations (4 or 8 matrices per instruction); work space O(n^2) per matrix of a block per
 * thread. Larger n: LAPACK's heevd per matrix (the matrices over the threads, OpenBLAS on one
 * thread each), about 9 n^3 per matrix, O(n^2) per thread; a matrix it cannot solve gives NaN. */
MFKIT_API mfkit_status mfkit_pmm_eigh(const mfkit_array *a, int64_t num_eig, mfkit_pmm_which which,
                                      const mfkit_array *values, const mfkit_array *vectors);
/* mfkit_pmm_eigh of M(x[s]) for every sample of x (N, p) float32/float64, without holding the N
 * matrices (each is formed in per-thread scratch and decomposed at once); values (N, m) and
 * vectors (N, n, m) in the model's precision. Time O(N (p n^2 + (16/3) n^3 + 4 m n^2)); work space
 * O(n^2) per matrix of a block per thread. */
MFKIT_API mfkit_status mfkit_pmm_model_eigh(const mfkit_pmm *model, const mfkit_array *x, int64_t num_eig,
                                            mfkit_pmm_which which, const mfkit_array *values,
                                            const mfkit_array *vectors);
/* Matrix sensitivities summed over the samples: out[0] = sum_s G_s and out[1+i] = sum_s x[s, i] G_s,
 * G_s = V_s W_s V_s^H, for x (N, p) float32/float64, vectors (N, n, m) complex, weights (N, m)
 * real (W_s diagonal: dL/d(eigenvalue), Hellmann-Feynman) or (N, m, m) complex (W_s Hermitian,
 * upper triangle read), out (p+1, n, n) complex64/complex128. A loss L of the eigenpairs of the
 * M(x[s]) has dL = sum_s Re tr(G_s dM(x[s])). Sums in float64. Time O(N (m n^2 + p n^2)), with a
 * full W O(N m^2 n) more, over the threads; memory (p+1) n^2 doubles per thread. */
MFKIT_API mfkit_status mfkit_pmm_feature_sum(const mfkit_array *x, const mfkit_array *vectors,
                                             const mfkit_array *weights, const mfkit_array *out);
/* The gradient with respect to the parameters the model was built from, from sums (p+1, n, n) of
 * mfkit_pmm_feature_sum (the smoothing matrix's derivative included), in jax.grad's convention
 * for complex parameters (dL/dRe - i dL/dIm): a full-rank model writes outs[0] = grad_Ms (q, n, n);
 * a low-rank one outs[0] = grad_lambdas (q, r) real and outs[1] = grad_us (q, r, n) complex
 * (count = 1 or 2). Outputs of any precision. Time O(q n^3) with smoothing, else O(q r n^2). */
MFKIT_API mfkit_status mfkit_pmm_parameter_gradient(const mfkit_pmm *model, const mfkit_array *sums,
                                                    const mfkit_array *outs, int32_t count);
/* TransitionAmplitudeSum on whole eigensystems (values (N, n), vectors (N, n, n), the num_eig
 * selected pairs first, as mfkit_pmm_eigh with m = n writes them) and observables ds
 * (o, l, n, n) complex (their Hermitian parts used): out[s, c] = sum_l [sum_{i,j<k}
 * |v_i^H D_cl v_j|^2 - 1/2 ||D_cl||_2^2 if centered] (NULL: not written). With cotangent (N, o)
 * (dL/dout; NULL: no gradient): weights (N, n, n) complex, W_s of mfkit_pmm_feature_sum for the
 * derivative through M(x[s]) (only pairs of a selected and an unselected eigenvector, 0 where
 * their eigenvalues are closer than 1e-12 of the spectrum's scale), and ds_sensitivity
 * (o, l, n, n) complex, E_cl with dL = sum Re tr(E_cl dD_cl); either may be NULL. Time
 * O(N o l n^3) over the threads; memory O(o l n^2) per thread. */
MFKIT_API mfkit_status mfkit_pmm_transition_sums(const mfkit_array *values, const mfkit_array *vectors,
                                                 int64_t num_eig, const mfkit_array *ds, int32_t centered,
                                                 const mfkit_array *out, const mfkit_array *cotangent,
                                                 const mfkit_array *weights, const mfkit_array *ds_sensitivity);




#ifdef __cplusplus
}
#endif

#endif /* MFKIT_H */

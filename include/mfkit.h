/*
 * mfkit.h — the C ABI of MFKit (libmfkit.so): structured matrices for differentially private
 * training, Kronecker sums and parametric matrix models.
 *
 * Conventions
 * - Every function returns an mfkit_status; MFKIT_OK is 0. On failure,
 *   mfkit_last_error() returns a message for the calling thread (valid until that thread's
 *   next failure) and every output is left untouched.
 * - Arrays are passed as mfkit_array descriptors: data pointer, dtype, ndim, shape and strides
 *   in BYTES (NumPy's convention; negative and zero strides are allowed). The caller owns the
 *   memory; MFKit never keeps a pointer to it after a call returns. Outputs are caller-provided
 *   descriptors written in place.
 * - Objects are opaque handles made by constructor functions (written to `*out`) and released
 *   by their mfkit_*_free, which accepts NULL. A freed or foreign handle is reported as
 *   MFKIT_ERR_INVALID_ARGUMENT, never dereferenced. Matrix handles are immutable and may be
 *   shared between threads; a stream belongs to one thread at a time.
 * - Large work is spread over the machine's cores (MFKIT_NUM_THREADS overrides the count).
 */
#ifndef MFKIT_H
#define MFKIT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
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
    MFKIT_ERR_OUT_OF_MEMORY = 6,
    MFKIT_ERR_INTERNAL = 7
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

/* The library version, e.g. "0.1.0" (static storage). */
const char *mfkit_version(void);

/* The calling thread's last failure message ("" if none). Never NULL. */
const char *mfkit_last_error(void);

/* Worker threads used for large work. */
int32_t mfkit_num_threads(void);

/* ---------------------------------------------------------------- streaming matrices
 *
 * A streaming matrix A is a lower-triangular linear map x -> A x computed one row-slice at a
 * time: step t takes x[t] (an array of any shape) and gives (A x)[t] from x[t] and state kept
 * from earlier steps. A is infinite; any n rows of it may be used. Semantics follow
 * jax_privacy.matrix_factorization.streaming_matrix. Parameter arrays (diag, learning rates,
 * scales) are 1-D float32 or float64 and are copied at construction.
 */
typedef struct mfkit_streaming_matrix mfkit_streaming_matrix;

mfkit_status mfkit_sm_identity(mfkit_streaming_matrix **out);
/* The lower-triangular matrix of ones: (A x)[t] = x[0] + ... + x[t]. One state buffer. */
mfkit_status mfkit_sm_prefix_sum(mfkit_streaming_matrix **out);
/* diag(d) with d_t = diag[min(t, len - 1)]; entries must be finite; len >= 1. */
mfkit_status mfkit_sm_diagonal(const mfkit_array *diag, mfkit_streaming_matrix **out);
/* Momentum SGD: m_t = momentum m_{t-1} + x_t, y_t = y_{t-1} + lr_t m_t, lr_t =
 * learning_rates[min(t, len - 1)]; learning_rates NULL means all ones. Learning rates must be
 * positive and finite. Two state buffers. */
mfkit_status mfkit_sm_momentum_sgd(double momentum, const mfkit_array *learning_rates,
                                   mfkit_streaming_matrix **out);
/* out = A B (B is applied first). A and B stay valid and independent of out. */
mfkit_status mfkit_sm_multiply(const mfkit_streaming_matrix *a, const mfkit_streaming_matrix *b,
                               mfkit_streaming_matrix **out);
/* out = A * scalar (A diag([scalar])); scalar must be finite. */
mfkit_status mfkit_sm_scale(const mfkit_streaming_matrix *a, double scalar, mfkit_streaming_matrix **out);
/* out = diag(row_scale) A diag(col_scale); either scale may be NULL (no scaling). */
mfkit_status mfkit_sm_scale_rows_and_columns(const mfkit_streaming_matrix *a, const mfkit_array *row_scale,
                                             const mfkit_array *col_scale, mfkit_streaming_matrix **out);
/* Releases a matrix handle (NULL is a no-op). Streams made from it stay valid. */
mfkit_status mfkit_sm_free(mfkit_streaming_matrix *a);
/* The number of stages (factors) of A's pipeline, into *out. */
mfkit_status mfkit_sm_num_stages(const mfkit_streaming_matrix *a, int64_t *out);

/* Writes the leading n x n block of A into out, shape (n, n), float32 or float64, n >= 1.
 * Time O(n^2 s) for s stages; memory O(s) per thread beyond out. */
mfkit_status mfkit_sm_materialize(const mfkit_streaming_matrix *a, const mfkit_array *out);
/* Writes ||A[t, :n]||^2 for t < n into out, shape (n,), float32 or float64 (accumulated in
 * float64). Time O(n^2 s); memory O(n) per thread. */
mfkit_status mfkit_sm_row_norms_squared(const mfkit_streaming_matrix *a, const mfkit_array *out);
/* out = A x for x of shape (n, ...): out[t] = (A x)[t]. x and out have one shape and one dtype
 * (float32 or float64); out may be x itself (in place), any other overlap is refused.
 * Time O(n m s) for m elements per slice; each element of x and out crosses memory once. */
mfkit_status mfkit_sm_multiply_array(const mfkit_streaming_matrix *a, const mfkit_array *x,
                                     const mfkit_array *out);

/* A step-by-step multiplication: the state of x -> A x for slices of one shape and dtype. */
typedef struct mfkit_stream mfkit_stream;

/* A stream of A for slices of shape shape[0..ndim) and dtype (float32 or float64), at step 0.
 * Holds s buffers of the slice's size (s = state-keeping stages of A). */
mfkit_status mfkit_stream_create(const mfkit_streaming_matrix *a, mfkit_dtype dtype, int32_t ndim,
                                 const int64_t *shape, mfkit_stream **out);
/* out = (A x)[t] for the slice x = x[t], then t += 1. x must have the stream's shape and dtype;
 * out may be x itself. Time O(m s), over the cores for large slices. */
mfkit_status mfkit_stream_next(mfkit_stream *stream, const mfkit_array *x, const mfkit_array *out);
/* The index of the next step, into *out. */
mfkit_status mfkit_stream_step(const mfkit_stream *stream, int64_t *out);
/* Back to step 0 with zero state. */
mfkit_status mfkit_stream_reset(mfkit_stream *stream);
mfkit_status mfkit_stream_free(mfkit_stream *stream);

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
enum {
    MFKIT_REDUCTION_MEAN = 0,
    MFKIT_REDUCTION_MAX = 1,
    MFKIT_REDUCTION_LAST = 2,
    MFKIT_REDUCTION_WEIGHTS = 3
};

/* Called by mfkit_banded_optimize after every step with the step index (from 0), the loss and
 * the gradient's norm; a nonzero return stops the optimization (the result so far is returned
 * with MFKIT_OK). */
typedef int (*mfkit_optimize_callback)(void *user, int64_t step, double loss, double grad_norm);

/* A strategy from params, shape (n, b), 1 <= b <= n; values finite and params[j, 0] != 0
 * (else MFKIT_ERR_NUMERICAL: C would be singular). Time and memory O(n b). */
mfkit_status mfkit_banded_create(const mfkit_array *params, mfkit_banded **out);
/* The banded Toeplitz strategy with coefficients coefs (1-D, 1 <= len <= n, coefs[0] != 0),
 * normalized to unit norm, lower-right triangle zero. */
mfkit_status mfkit_banded_from_banded_toeplitz(int64_t n, const mfkit_array *coefs, mfkit_banded **out);
/* The default strategy: Toeplitz with the coefficients of Fichtenberger et al. (2023),
 * f_0 = 1, f_k = f_{k-1} (2k - 1) / (2k), truncated to bands (1 <= bands <= n). */
mfkit_status mfkit_banded_default(int64_t n, int64_t bands, mfkit_banded **out);
/* Releases a strategy (NULL is a no-op). Inverses made from it stay valid. */
mfkit_status mfkit_banded_free(mfkit_banded *strategy);
/* n and b, into *n and *bands. */
mfkit_status mfkit_banded_shape(const mfkit_banded *strategy, int64_t *n, int64_t *bands);
/* Copies params (as given at construction) into out, shape (n, b), float32 or float64. */
mfkit_status mfkit_banded_params(const mfkit_banded *strategy, const mfkit_array *out);
/* Writes the dense C into out, shape (n, n), float32 or float64. Time O(n^2). */
mfkit_status mfkit_banded_materialize(const mfkit_banded *strategy, const mfkit_array *out);
/* C^{-1} as a streaming matrix (use mfkit_sm_multiply_array or a stream; free with
 * mfkit_sm_free). A step costs O(m b) for m elements per slice and keeps b - 1 slices of
 * state (a ring indexed by t mod (b - 1)); slices keep their dtype. Past row n it is the
 * identity: (C^{-1} z)[t] = z[t] for t >= n. */
mfkit_status mfkit_banded_inverse(const mfkit_banded *strategy, mfkit_streaming_matrix **out);
/* Squared sensitivity under min_sep participation: min(k, ceil(n / min_sep)), k =
 * max_participations (negative: no limit, 0 is refused), n = 0 for the strategy's n.
 * Unless skip_checks: min_sep < bands and n > the strategy's n are refused
 * (MFKIT_ERR_INVALID_ARGUMENT). Writes *out. Time O(1). */
mfkit_status mfkit_banded_minsep_sensitivity_squared(const mfkit_banded *strategy, int64_t min_sep,
                                                     int64_t max_participations, int64_t n,
                                                     int32_t skip_checks, int64_t *out);
/* Per-query squared errors e_t = ||(A C^{-1})[t, :n]||^2 into out, shape (n,), float32 or
 * float64. a is the workload (NULL: prefix sum), built from prefix sums, momentum, diagonals
 * and the identity (anything else, e.g. a banded inverse, is MFKIT_ERR_INVALID_ARGUMENT).
 * Covariance recursion: time O(n (b - 1 + q)^2) for a workload state of q numbers (prefix sum
 * 1, momentum 2), memory O((b + q)^2). */
mfkit_status mfkit_banded_per_query_error(const mfkit_banded *strategy, const mfkit_streaming_matrix *a,
                                          const mfkit_array *out);
/* The loss (a reduction of the per-query errors, see MFKIT_REDUCTION_*; weights is read only
 * for MFKIT_REDUCTION_WEIGHTS) into *loss and, if grad is not NULL, its gradient with respect
 * to params into grad, shape (n, b), float32 or float64 (zero on the lower-right triangle).
 * Adjoint recursion with checkpoints: time about 5 n (b + q)^2 (the
 * checkpoint recomputation runs on a second core), memory O(sqrt(n) (b + q)^2). */
mfkit_status mfkit_banded_loss(const mfkit_banded *strategy, const mfkit_streaming_matrix *a, int32_t reduction,
                               const mfkit_array *weights, double *loss, const mfkit_array *grad);
/* Optimizes a strategy for workload a (NULL: prefix sum) by L-BFGS (memory 10, backtracking
 * line search, float64) from initial (NULL: mfkit_banded_default(n, bands); else its shape must
 * be (n, bands)), for at most max_steps steps, minimizing the reduction of the per-query
 * errors. callback (may be NULL) runs after every step; a nonzero return stops early. Writes
 * the best strategy found to *out (a new handle). Time per step: one or two loss evaluations
 * (O(n (b + q)^2) each) plus O(10 n b); memory O(sqrt(n) b^2 + 25 n b) doubles. */
mfkit_status mfkit_banded_optimize(int64_t n, int64_t bands, const mfkit_banded *initial,
                                   const mfkit_streaming_matrix *a, int64_t max_steps, int32_t reduction,
                                   const mfkit_array *weights, mfkit_optimize_callback callback, void *user,
                                   mfkit_banded **out);


/* The L-BFGS minimizer behind mfkit_banded_optimize, for a caller's own differentiable loss
 * (Python: mfkit.optimization.optimize). objective(user, x, grad, n) returns the loss at x (n
 * contiguous doubles) and, when grad is not NULL, writes the gradient into grad; a non-finite
 * return marks x as inadmissible (the line search backs off). x (float64, any shape and
 * strides) holds the start and receives the result (only on success; the result so far when
 * the callback stops the run). memory >= 1 pairs; callback may be NULL. *steps and *loss (may
 * be NULL) receive the steps taken and the final loss. MFKIT_ERR_NUMERICAL if the loss at the
 * start is not finite. Memory (2 memory + 5) n doubles. */
typedef double (*mfkit_objective)(void *user, const double *x, double *grad, int64_t n);
mfkit_status mfkit_banded_lbfgs_minimize(const mfkit_array *x, mfkit_objective objective,
                                         mfkit_optimize_callback callback, void *user, int64_t max_steps,
                                         int64_t memory, int64_t *steps, double *loss);

/* ---------------------------------------------------------------- sensitivity of dense strategies (mfkit_sens_*) */


/* ---------------------------------------------------------------- Kronecker sums (mfkit_kron_*) */


/* ---------------------------------------------------------------- parametric matrix models (mfkit_pmm_*) */


#ifdef __cplusplus
}
#endif

#endif /* MFKIT_H */

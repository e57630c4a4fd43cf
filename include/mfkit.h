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


/* ---------------------------------------------------------------- sensitivity of dense strategies (mfkit_sens_*) */


/* ---------------------------------------------------------------- Kronecker sums (mfkit_kron_*) */


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
mfkit_status mfkit_pmm_low_rank_create(const mfkit_array *lambdas, const mfkit_array *us, double smoothing,
                                       int32_t bias_term, mfkit_dtype dtype, mfkit_pmm **out);
/* Full rank: M_i given by the upper triangles of ms (q, n, n), complex64 or complex128: entries
 * above the diagonal as given, the real part of the diagonal, the lower triangle mirrored
 * (conjugated); q n^2 <= 2^28. Time O(q n^2 + q n^3 if smoothing != 0, the n^3 products
 * over the cores); memory O(q n^2). */
mfkit_status mfkit_pmm_affine_create(const mfkit_array *ms, double smoothing, int32_t bias_term,
                                     mfkit_dtype dtype, mfkit_pmm **out);
/* Releases a model handle (NULL is a no-op). */
mfkit_status mfkit_pmm_free(mfkit_pmm *model);
/* The number of features p, the matrix size n and the dtype of the model; any output pointer
 * may be NULL. */
mfkit_status mfkit_pmm_info(const mfkit_pmm *model, int64_t *num_features, int64_t *matrix_size,
                            mfkit_dtype *dtype);
/* Writes the full matrices M_0 ... M_{q-1} (q, n, n) into out (complex64 or complex128). */
mfkit_status mfkit_pmm_matrices(const mfkit_pmm *model, const mfkit_array *out);
/* Writes C (n, n) into out (complex64 or complex128); zeros when s = 0. */
mfkit_status mfkit_pmm_smoothing_matrix(const mfkit_pmm *model, const mfkit_array *out);
/* The forward pass: out[k] = M(x[k]) for x (N, p) float32 or float64 and out (N, n, n) or
 * (N, n*n) of the model's dtype, any strides, not overlapping x. As x is real, this is the
 * real GEMM [1 x] (N x (p+1)) times [M_0 + sC; M_1; ...; M_p] ((p+1) x 2n^2), blocked four
 * samples at a time, lower triangle computed and mirrored (when rows are whole 128-bit
 * registers), split over the cores. Each M(x[k]) is exactly Hermitian. A failure leaves out
 * untouched.
 * Time O(N p n^2); memory O(p n^2) in the handle, plus O(n^2) per thread for a strided out. */
mfkit_status mfkit_pmm_forward(const mfkit_pmm *model, const mfkit_array *x, const mfkit_array *out);



#ifdef __cplusplus
}
#endif

#endif /* MFKIT_H */

"""Kronecker sums of many factors and their Frobenius-nearest projections (KS decomposition).

Notation: K factors A_1 ... A_K, square of sizes d_1 ... d_K, N = d_1 d_2 ... d_K, and

    A_1 ⊕ ... ⊕ A_K = Σ_k I ⊗ ... ⊗ A_k ⊗ ... ⊗ I        (A ⊕ B = kron(A, I) + kron(I, B)).

The first factor is the outermost axis: entry (i_1, ..., i_K) of an N-vector is at flat index
Σ_k i_k d_{k+1} ... d_K, as in `np.kron` and `x.reshape(d_1, ..., d_K)`.

    >>> import numpy as np
    >>> from mfkit import kron
    >>> w = kron.kronsum_diag(np.array([0., 10.]), np.array([1., 2., 3.]))
    >>> w
    array([ 1.,  2.,  3., 11., 12., 13.])
    >>> [a.tolist() for a in kron.ks_project_diag(w, [2, 3])]
    [[-1.5, 8.5], [2.5, 3.5, 4.5]]

Projections. `ks_project(M, dims)` returns the factors A_k of the Kronecker sum nearest to M in
the Frobenius norm, A_k = A(·,·|k) - (K-1)/K · tr(M)/N · I, where A(·,·|k) =
`factorwise_average(M, dims, k)` is the average of the d_k x d_k diagonal blocks of axis k.
The factors are unique only up to trace shifts (adding c I to one factor and -c I to another
leaves the sum unchanged); this convention gives every factor the same mean diagonal
tr(M)/(K N). Projecting `kronsum(A_1, ..., A_K)` gives factors whose Kronecker sum is
`kronsum(A_1, ..., A_K)` again. The diagonal versions work on the N-vector of diagonals.

Output layout: the projections return a list of K arrays (d_k x d_k, or length d_k). `out=`
takes a list or tuple of K arrays, written in place and returned; their shapes give the dims.

Fused passes: `kronsum_diag_reduce(vecs, f)` = Σ f(kronsum_diag(*vecs)) and
`ks_project_diag_map(vecs, dims, f)` = ks_project_diag(f(kronsum_diag(*vecs)), dims), with f one
of "identity", "reciprocal", "log", "exp", "square", "sqrt", computed without holding the
N-vector (memory independent of N). With the eigenvalues of the factors as `vecs`,
`kronsum_diag_reduce(evals, "log")` is log det(⊕ A_k), and
`ks_project_diag_map(evals, None, "reciprocal")` is the diagonal KS projection of the inverse's
eigenvalues, the inner loop of GmGM / TeraLasso. (GmGM's `project_inv_kron_sum` scales axis
k's sums by 1/d_k where the KS projection uses d_k/N, so its factor k is this one times
N/d_k^2.) IEEE semantics as in NumPy: log(0) = -inf, log(-1) = nan, 1/0 = inf.

Numbers: float32 and float64; every result keeps the inputs' dtype (all inputs share one).
Sums are accumulated in float64 (per-row totals combined with Neumaier compensation) and
rounded once into the result, so float32 results are correctly rounded sums up to float64
accumulation error. Inputs of any strides (negative, Fortran order, every other element) are
read in place without a copy. `out` must not overlap an input or another output. Errors
(ValueError / TypeError) leave `out` untouched. Large work runs on every core.

Costs (N = Π d_k; L the folded trailing-axis length, L <= max(d_K, 32768)):
  kronsum                       O(N^2 + N Σ d_k) time, no extra memory
  kronsum_diag                  O(N) time, O(L) memory
  factorwise_average            O(N d_k) time, O(d_k^2) memory per thread
  factorwise_average_diag       O(N) time (one pass)
  ks_project                    O(N Σ d_k) time, O(Σ d_k^2) memory
  ks_project_diag               O(N) time, one pass over the input, O(L + Σ d_k) memory/thread
  kronsum_matvec                O(N m Σ d_k) time, 2 N m float64 work space
  kronsum_diag_reduce,
  ks_project_diag_map           O(N) evaluations of f, O(L + Σ d_k) memory per thread
"""
import ctypes
import operator

import numpy as np

from . import _ffi

__all__ = [
    "FUNCTIONS",
    "kronsum",
    "kronsum_diag",
    "factorwise_average",
    "factorwise_average_diag",
    "ks_project",
    "ks_project_diag",
    "kronsum_matvec",
    "kronsum_diag_reduce",
    "ks_project_diag_map",
]

#: Elementwise functions of the fused passes and their C codes (mfkit_kron_function).
FUNCTIONS = {name: _ffi.CONSTANTS[f"MFKIT_KRON_{name.upper()}"]
             for name in ("identity", "reciprocal", "log", "exp", "square", "sqrt")}

_REAL = (np.dtype(np.float32), np.dtype(np.float64))


# ---------------------------------------------------------------- helpers
def _arrays(values, name, function):
    """A list of the factor arrays (each must already be a NumPy array)."""
    if isinstance(values, np.ndarray) and values.ndim <= 1:
        raise TypeError(f"{function}: {name} must be a list or tuple of arrays, got a single array")
    try:
        items = list(values)
    except TypeError:
        raise TypeError(f"{function}: {name} must be a list or tuple of arrays, "
                        f"got {type(values).__name__}") from None
    if not items:
        raise ValueError(f"{function}: needs at least one factor (K >= 1), got none")
    for i, a in enumerate(items):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{function}: {name}[{i}] must be a NumPy array, got {type(a).__name__}")
    return items


def _descriptors(arrays, name, writable=False):
    """A C array of descriptors for `arrays` (kept alive by the caller)."""
    descs = (_ffi.Array * len(arrays))()
    for i, a in enumerate(arrays):
        descs[i] = _ffi.describe(a, f"{name}[{i}]", writable)
    return descs


def _dtype(arrays):
    """The dtype of the result: the first input's, if real (the library checks the rest)."""
    d = arrays[0].dtype
    return d if d in _REAL else np.dtype(np.float64)


def _sizes(arrays, ndim):
    """The factor sizes when every array has `ndim` dimensions (and is square for 2), else None."""
    sizes = []
    for a in arrays:
        if a.ndim != ndim or (ndim == 2 and a.shape[0] != a.shape[1]):
            return None
        sizes.append(a.shape[0])
    return sizes


def _prod(sizes):
    n = 1
    for d in sizes:
        n *= d
    return n


def _dims(dims, function):
    """dims as a tuple of Python ints (the library checks that they are positive)."""
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    try:
        items = list(dims)
    except TypeError:
        raise TypeError(f"{function}: dims must be a sequence of integers, got {type(dims).__name__}") from None
    out = []
    for d in items:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{function}: dims must hold integers, got {d!r}")
        out.append(int(d))
    if not out:
        raise ValueError(f"{function}: dims needs at least one factor (K >= 1), got none")
    if any(d < 1 for d in out):
        raise ValueError(f"{function}: every entry of dims must be >= 1, got {out}")
    return out


def _require_size(dims, array, matrix, name, function):
    """Checks that `array` is N x N (matrix) or length N for N = prod(dims), before any output
    is allocated from dims (a huge entry of dims would otherwise ask NumPy for a huge array)."""
    n = _prod(dims)
    expect = (n, n) if matrix else (n,)
    regular = array.ndim == len(expect) and (not matrix or array.shape[0] == array.shape[1])
    # A well-formed input of the wrong size, or outputs bigger than any valid ones (each d_k is
    # at most N): refused here. Other malformed inputs get the library's message.
    too_big = any((d * d if matrix else d) > max(array.size, 1) for d in dims)
    if (regular and array.shape != expect) or too_big:
        what = f"has length {array.shape[0]}" if regular and not matrix else f"has shape {array.shape}"
        raise ValueError(f"{function}: {name} {what} but dims {dims} multiply to {n}")


def _c_dims(dims):
    return (ctypes.c_int64 * len(dims))(*dims)


def _axis(k, count, function):
    try:
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"{function}: k must be an integer, got {type(k).__name__}") from None
    if not -count <= k < count:
        raise ValueError(f"{function}: k = {k} is out of range for {count} factors")
    return k % count


def _function(f, function):
    if not isinstance(f, str):
        raise TypeError(f"{function}: f must be a function name (one of {', '.join(FUNCTIONS)}), got {type(f).__name__}")
    code = FUNCTIONS.get(f)
    if code is None:
        raise ValueError(f"{function}: unknown function {f!r}; choose one of {', '.join(FUNCTIONS)}")
    return code


def _outs(out, count, function):
    """`out` as a list of arrays (a list or tuple of K arrays)."""
    if not isinstance(out, (list, tuple)):
        raise TypeError(f"{function}: out must be a list or tuple of {count} arrays, got {type(out).__name__}")
    if count is not None and len(out) != count:
        raise ValueError(f"{function}: out has {len(out)} arrays but dims has {count} factors")
    for i, o in enumerate(out):
        if not isinstance(o, np.ndarray):
            raise TypeError(f"{function}: out[{i}] must be a NumPy array, got {type(o).__name__}")
    return list(out)


# ---------------------------------------------------------------- Kronecker sums
def kronsum(*mats, out=None):
    """The dense N x N Kronecker sum A_1 ⊕ ... ⊕ A_K of square factors (same dtype).

    Time O(N^2 + N Σ d_k) (the zeros are written once), memory: the result only.
    Fortran-ordered `out` is written column-contiguously (the transpose trick).
    """
    mats = _arrays(mats, "mats", "kronsum")
    if out is None:
        sizes = _sizes(mats, 2)
        n = _prod(sizes) if sizes is not None else 0
        out = np.empty((n, n), dtype=_dtype(mats))
    _ffi.call("mfkit_kron_sum", _descriptors(mats, "mats"), len(mats), _ffi.describe(out, "out", writable=True),
              function="kronsum")
    return out


def kronsum_diag(*vecs, out=None):
    """The diagonal of diag(v_1) ⊕ ... ⊕ diag(v_K): out[i] = Σ_k v_k[i_k], length N.

    Time O(N) (one write of out, rows over both cores), memory O(L) <= 256 KB beyond out.
    """
    vecs = _arrays(vecs, "vecs", "kronsum_diag")
    if out is None:
        sizes = _sizes(vecs, 1)
        out = np.empty(_prod(sizes) if sizes is not None else 0, dtype=_dtype(vecs))
    _ffi.call("mfkit_kron_sum_diag", _descriptors(vecs, "vecs"), len(vecs), _ffi.describe(out, "out", writable=True),
              function="kronsum_diag")
    return out


def kronsum_matvec(mats, x, out=None):
    """(A_1 ⊕ ... ⊕ A_K) x without forming the N x N matrix; x of shape (N,) or (N, m).

    Time O(N m Σ d_k); memory 2 N m float64 work space (x is read once).
    """
    mats = _arrays(mats, "mats", "kronsum_matvec")
    if not isinstance(x, np.ndarray):
        raise TypeError(f"kronsum_matvec: x must be a NumPy array, got {type(x).__name__}")
    if out is None:
        out = np.empty(x.shape, dtype=_dtype(mats))
    _ffi.call("mfkit_kron_sum_matvec", _descriptors(mats, "mats"), len(mats), _ffi.describe(x, "x"),
              _ffi.describe(out, "out", writable=True), function="kronsum_matvec")
    return out


# ---------------------------------------------------------------- projections
def factorwise_average(mat, dims, k, out=None):
    """A(·,·|k): the average of the d_k x d_k diagonal blocks of axis k of the N x N matrix
    `mat` (out[i, j] = mean over the other axes' indices l of mat[(l, i), (l, j)]).

    Time O(N d_k), memory O(d_k^2) per thread.
    """
    dims = _dims(dims, "factorwise_average")
    k = _axis(k, len(dims), "factorwise_average")
    if not isinstance(mat, np.ndarray):
        raise TypeError(f"factorwise_average: mat must be a NumPy array, got {type(mat).__name__}")
    _require_size(dims, mat, True, "mat", "factorwise_average")
    if out is None:
        out = np.empty((dims[k], dims[k]), dtype=_dtype([mat]))
    _ffi.call("mfkit_kron_factorwise_average", _ffi.describe(mat, "mat"), _c_dims(dims), len(dims), k,
              _ffi.describe(out, "out", writable=True), function="factorwise_average")
    return out


def factorwise_average_diag(vec, dims, k, out=None):
    """The mean of the N-vector `vec` over every axis but k (length d_k). Time O(N), one pass."""
    dims = _dims(dims, "factorwise_average_diag")
    k = _axis(k, len(dims), "factorwise_average_diag")
    if not isinstance(vec, np.ndarray):
        raise TypeError(f"factorwise_average_diag: vec must be a NumPy array, got {type(vec).__name__}")
    _require_size(dims, vec, False, "vec", "factorwise_average_diag")
    if out is None:
        out = np.empty(dims[k], dtype=_dtype([vec]))
    _ffi.call("mfkit_kron_factorwise_average_diag", _ffi.describe(vec, "vec"), _c_dims(dims), len(dims), k,
              _ffi.describe(out, "out", writable=True), function="factorwise_average_diag")
    return out


def _projection_outs(dims, out, function, matrix, dtype, source=None):
    if out is None:
        if dims is None:
            raise ValueError(f"{function}: give dims or out")
        dims = _dims(dims, function)
        if source is not None:
            _require_size(dims, source, matrix, "mat" if matrix else "vec", function)
        return [np.empty((d, d) if matrix else d, dtype=dtype) for d in dims]
    out = _outs(out, None if dims is None else len(_dims(dims, function)), function)
    if dims is not None:
        expect = [((d, d) if matrix else (d,)) for d in _dims(dims, function)]
        got = [o.shape for o in out]
        if got != expect:
            raise ValueError(f"{function}: out has shapes {got} but dims {list(dims)} ask for {expect}")
    return out


def ks_project(mat, dims, out=None):
    """The Frobenius-nearest Kronecker sum to the N x N matrix `mat`: a list of K factors
    A_k = factorwise_average(mat, dims, k) - (K-1)/K tr(mat)/N I (d_k x d_k), such that
    kronsum(*A) is the orthogonal projection of mat onto Kronecker sums. `out`: a list or tuple
    of K square arrays written in place (dims may then be None).

    Time O(N Σ d_k), memory O(Σ d_k^2).
    """
    if not isinstance(mat, np.ndarray):
        raise TypeError(f"ks_project: mat must be a NumPy array, got {type(mat).__name__}")
    out = _projection_outs(dims, out, "ks_project", True, _dtype([mat]), mat)
    _ffi.call("mfkit_kron_ks_project", _ffi.describe(mat, "mat"), _descriptors(out, "out", True), len(out),
              function="ks_project")
    return out


def ks_project_diag(vec, dims, out=None):
    """The diagonal KS projection of the N-vector `vec`: a list of K vectors
    A_k = (mean of vec over every axis but k) - (K-1)/K mean(vec), so that
    kronsum_diag(*A) is the nearest diagonal Kronecker sum. `out`: a list or tuple of K 1-D
    arrays written in place (dims may then be None).

    One pass over vec (all K factors at once), over both cores. Time O(N),
    memory O(L + Σ d_k) per thread.
    """
    if not isinstance(vec, np.ndarray):
        raise TypeError(f"ks_project_diag: vec must be a NumPy array, got {type(vec).__name__}")
    out = _projection_outs(dims, out, "ks_project_diag", False, _dtype([vec]), vec)
    _ffi.call("mfkit_kron_ks_project_diag", _ffi.describe(vec, "vec"), _descriptors(out, "out", True), len(out),
              function="ks_project_diag")
    return out


# ---------------------------------------------------------------- fused passes
def kronsum_diag_reduce(vecs, f):
    """Σ_i f(w_i) for w = kronsum_diag(*vecs), as a Python float, without holding w.

    f = "log" gives log det(diag(v_1) ⊕ ... ⊕ diag(v_K)). Accumulated in float64 with
    compensated chunk totals. Time O(N) evaluations of f, memory independent of N.
    """
    code = _function(f, "kronsum_diag_reduce")
    vecs = _arrays(vecs, "vecs", "kronsum_diag_reduce")
    result = ctypes.c_double()
    _ffi.call("mfkit_kron_sum_diag_reduce", _descriptors(vecs, "vecs"), len(vecs), code, ctypes.byref(result),
              function="kronsum_diag_reduce")
    return result.value


def ks_project_diag_map(vecs, dims, f, out=None):
    """ks_project_diag(f(kronsum_diag(*vecs)), dims) in one pass, without holding the
    N-vector: a list of K vectors (dtype of vecs). dims=None projects onto the vectors'
    own lengths; any other factorization of N works too. `out`: a list or tuple of 1-D arrays
    written in place.

    Time O(N) evaluations of f, memory O(L + Σ d_k) per thread, independent of N.
    """
    code = _function(f, "ks_project_diag_map")
    vecs = _arrays(vecs, "vecs", "ks_project_diag_map")
    if dims is None and out is None:
        dims = [v.shape[0] if v.ndim == 1 else 1 for v in vecs]
    out = _projection_outs(dims, out, "ks_project_diag_map", False, _dtype(vecs))
    _ffi.call("mfkit_kron_ks_project_diag_map", _descriptors(vecs, "vecs"), len(vecs), code,
              _descriptors(out, "out", True), len(out), function="ks_project_diag_map")
    return out

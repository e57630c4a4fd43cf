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
accumulation error. Inputs of any strides (negative, Fortran order, every other element), torch
CPU tensors and JAX CPU arrays are read in place without a copy; integer arrays are refused
(there is no result dtype to keep). Outputs may be NumPy arrays or torch CPU tensors. `out` must not overlap an input or another output. Errors
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
from __future__ import annotations

import ctypes
import itertools
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _args, _ffi

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

MAX_FACTORS = 64  # the library takes K <= 64 factors

#: Elementwise functions of the fused passes and their C codes (mfkit_kron_function).
FUNCTIONS = {name: _ffi.CONSTANTS[f"MFKIT_KRON_{name.upper()}"]
             for name in ("identity", "reciprocal", "log", "exp", "square", "sqrt")}


# ---------------------------------------------------------------- helpers
def _input(value: Any, name: str, function: str) -> np.ndarray:
    """A float32 / float64 input read in place (integer arrays refused: results keep the
    inputs' dtype)."""
    return _args.array(value, name, function, integers=False)


def _arrays(values: Any, name: str, function: str) -> List[np.ndarray]:
    """The factor arrays of a list or tuple."""
    if isinstance(values, np.ndarray) and values.ndim <= 1:
        raise TypeError(f"{function}: {name} must be a list or tuple of arrays, got a single array")
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{function}: {name} must be a list or tuple of arrays, got {type(values).__name__}")
    items = _at_most(values, name, function)
    if not items:
        raise ValueError(f"{function}: needs at least one factor (K >= 1), got none")
    return [_input(a, f"{name}[{i}]", function) for i, a in enumerate(items)]


def _at_most(values: Any, name: str, function: str) -> list:
    """The items of `values`, refusing more than 64 factors without reading them all (a
    broadcast array of 2^40 entries is not walked)."""
    items = list(itertools.islice(iter(values), MAX_FACTORS + 1))
    if len(items) > MAX_FACTORS:
        raise ValueError(f"{function}: {name} has more than {MAX_FACTORS} factors (K <= {MAX_FACTORS})")
    return items


def _descriptors(arrays: Sequence[np.ndarray], name: str, writable: bool = False) -> Any:
    """A C array of descriptors for `arrays` (kept alive by the caller)."""
    descs = (_ffi.Array * len(arrays))()
    for i, a in enumerate(arrays):
        descs[i] = _ffi.describe(a, f"{name}[{i}]", writable)
    return descs


def _dtype(arrays: Sequence[np.ndarray]) -> np.dtype:
    """The dtype of the result: the first input's (the library checks the rest)."""
    return arrays[0].dtype


def _sizes(arrays: Sequence[np.ndarray], ndim: int) -> Optional[List[int]]:
    """The factor sizes when every array has `ndim` dimensions (and is square for 2), else None."""
    sizes = []
    for a in arrays:
        if a.ndim != ndim or (ndim == 2 and a.shape[0] != a.shape[1]):
            return None
        sizes.append(a.shape[0])
    return sizes


def _prod(sizes: Sequence[int]) -> int:
    n = 1
    for d in sizes:
        n *= d
    return n


def _dims(dims: Any, function: str) -> List[int]:
    """dims as a list of positive Python ints (sizes beyond int64 are caught by _require_size
    or by the outputs' shapes before they reach ctypes)."""
    if isinstance(dims, (int, np.integer)) and not isinstance(dims, (bool, np.bool_)):
        dims = (dims,)
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        raise TypeError(f"{function}: dims must be a sequence of integers, got {type(dims).__name__}")
    out = []
    for d in _at_most(dims, "dims", function):
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{function}: dims must hold integers, got {d!r}")
        out.append(int(d))
    if not out:
        raise ValueError(f"{function}: dims needs at least one factor (K >= 1), got none")
    if any(d < 1 for d in out):
        raise ValueError(f"{function}: every entry of dims must be >= 1, got {out}")
    return out


def _require_size(dims: List[int], array: np.ndarray, matrix: bool, name: str, function: str) -> None:
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


def _c_dims(dims: List[int]) -> Any:
    return (ctypes.c_int64 * len(dims))(*dims)


def _axis(k: Any, count: int, function: str) -> int:
    k = _args.integer(k, "k", function)
    if not -count <= k < count:
        raise ValueError(f"{function}: k = {k} is out of range for {count} factors")
    return k % count


def _function(f: Any, function: str) -> int:
    if not isinstance(f, str):
        raise TypeError(f"{function}: f must be a function name (one of {', '.join(FUNCTIONS)}), got {type(f).__name__}")
    code = FUNCTIONS.get(f)
    if code is None:
        raise ValueError(f"{function}: unknown function {f!r}; choose one of {', '.join(FUNCTIONS)}")
    return code


def _out(out: Any, shape: Optional[Tuple[int, ...]], dtype: np.dtype, function: str) -> Tuple[Any, np.ndarray]:
    """(what to return, the array written): a new array of `shape` and `dtype`, or `out`."""
    if out is None:
        result = np.empty(shape, dtype=dtype)
        return result, result
    return out, _args.output(out, "out", function)


def _outs(out: Any, count: Optional[int], function: str) -> List[np.ndarray]:
    """The writable arrays of `out` (a list or tuple of K arrays)."""
    if not isinstance(out, (list, tuple)):
        raise TypeError(f"{function}: out must be a list or tuple of {count or 'K'} arrays, got {type(out).__name__}")
    if count is not None and len(out) != count:
        raise ValueError(f"{function}: out has {len(out)} arrays but dims has {count} factors")
    return [_args.output(o, f"out[{i}]", function) for i, o in enumerate(out)]


def _projection_outs(dims: Any, out: Any, function: str, matrix: bool, dtype: np.dtype,
                     source: Optional[np.ndarray] = None) -> Tuple[List[Any], List[np.ndarray]]:
    """(the list to return, the arrays written) for the K outputs of a projection."""
    if out is None:
        if dims is None:
            raise ValueError(f"{function}: give dims or out")
        dims = _dims(dims, function)
        if source is not None:
            _require_size(dims, source, matrix, "mat" if matrix else "vec", function)
        arrays = [np.empty((d, d) if matrix else d, dtype=dtype) for d in dims]
        return arrays, arrays
    views = _outs(out, None if dims is None else len(_dims(dims, function)), function)
    if dims is not None:
        expect = [((d, d) if matrix else (d,)) for d in _dims(dims, function)]
        got = [o.shape for o in views]
        if got != expect:
            raise ValueError(f"{function}: out has shapes {got} but dims {list(dims)} ask for {expect}")
    return list(out), views


# ---------------------------------------------------------------- Kronecker sums
def kronsum(*mats: Any, out: Any = None) -> Any:
    """The dense N x N Kronecker sum A_1 ⊕ ... ⊕ A_K of square factors (same dtype).

    Fortran-ordered `out` is written column-contiguously (the transpose trick).

    Cost: time O(N^2 + N Σ d_k) (the zeros are written once), memory: the result only.

    Parameters
    ----------
    *mats : square float32 or float64 arrays
        The K >= 1 factors, one dtype, any strides.
    out : array, optional
        N x N of the factors' dtype, written in place and returned.

    Returns
    -------
    numpy.ndarray
        The Kronecker sum (or `out`).

    Raises
    ------
    ValueError
        No factor; a factor not square or empty; out of the wrong shape, read-only or
        overlapping a factor.
    TypeError
        A factor is not a float32 / float64 array, or dtypes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import kron
    >>> kron.kronsum(np.eye(2), 2 * np.eye(1))
    array([[3., 0.],
           [0., 3.]])
    """
    mats = _arrays(mats, "mats", "kronsum")
    sizes = _sizes(mats, 2)
    n = _prod(sizes) if sizes is not None else 0
    result, view = _out(out, (n, n), _dtype(mats), "kronsum")
    _ffi.call("mfkit_kron_sum", _descriptors(mats, "mats"), len(mats), _ffi.describe(view, "out", writable=True),
              function="kronsum")
    return result


def kronsum_diag(*vecs: Any, out: Any = None) -> Any:
    """The diagonal of diag(v_1) ⊕ ... ⊕ diag(v_K): out[i] = Σ_k v_k[i_k], length N.

    Cost: time O(N) (one write of out, rows over both cores), memory O(L) <= 256 KB beyond out.

    Parameters
    ----------
    *vecs : 1-D float32 or float64 arrays
        The K >= 1 diagonals, one dtype.
    out : array, optional
        Length N, the vectors' dtype, written in place and returned.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        No vector; a vector not one-dimensional; out of the wrong shape or overlapping.
    TypeError
        A vector is not a float32 / float64 array, or dtypes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import kron
    >>> kron.kronsum_diag(np.array([0.0, 10.0]), np.array([1.0, 2.0]))
    array([ 1.,  2., 11., 12.])
    """
    vecs = _arrays(vecs, "vecs", "kronsum_diag")
    sizes = _sizes(vecs, 1)
    result, view = _out(out, (_prod(sizes) if sizes is not None else 0,), _dtype(vecs), "kronsum_diag")
    _ffi.call("mfkit_kron_sum_diag", _descriptors(vecs, "vecs"), len(vecs), _ffi.describe(view, "out", writable=True),
              function="kronsum_diag")
    return result


def kronsum_matvec(mats: Sequence[Any], x: Any, out: Any = None) -> Any:
    """(A_1 ⊕ ... ⊕ A_K) x without forming the N x N matrix; x of shape (N,) or (N, m).

    Cost: time O(N m Σ d_k); memory 2 N m float64 work space (x is read once).

    Parameters
    ----------
    mats : list or tuple of square float32 / float64 arrays
        The K >= 1 factors.
    x : array
        Shape (N,) or (N, m), the factors' dtype.
    out : array, optional
        x's shape, written in place (must not overlap x or the factors).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        x of the wrong number of rows or dimensions; out overlapping; no factor.
    TypeError
        mats is not a list of arrays; dtypes differ.
    MemoryError
        The work space cannot be allocated.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import kron
    >>> kron.kronsum_matvec([np.eye(2), np.ones((1, 1))], np.array([1.0, 2.0]))
    array([2., 4.])
    """
    mats = _arrays(mats, "mats", "kronsum_matvec")
    x = _input(x, "x", "kronsum_matvec")
    result, view = _out(out, x.shape, _dtype(mats), "kronsum_matvec")
    _ffi.call("mfkit_kron_sum_matvec", _descriptors(mats, "mats"), len(mats), _ffi.describe(x, "x"),
              _ffi.describe(view, "out", writable=True), function="kronsum_matvec")
    return result


# ---------------------------------------------------------------- projections
def factorwise_average(mat: Any, dims: Any, k: int, out: Any = None) -> Any:
    """A(·,·|k): the average of the d_k x d_k diagonal blocks of axis k of the N x N matrix
    `mat` (out[i, j] = mean over the other axes' indices l of mat[(l, i), (l, j)]).

    Cost: time O(N d_k), memory O(d_k^2) per thread.

    Parameters
    ----------
    mat : 2-D float32 or float64 array (N, N)
    dims : sequence of int
        The factor sizes d_1 ... d_K (positive, multiplying to N).
    k : int
        The axis (negative counts from the end).
    out : array, optional
        d_k x d_k, mat's dtype, written in place and returned.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        dims not multiplying to N or not positive; k out of range; out of the wrong shape.
    TypeError
        mat not a float32 / float64 array; dims or k not integers.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import kron
    >>> kron.factorwise_average(np.diag([1.0, 2.0, 3.0, 4.0]), [2, 2], 0)
    array([[1.5, 0. ],
           [0. , 3.5]])
    """
    function = "factorwise_average"
    dims = _dims(dims, function)
    k = _axis(k, len(dims), function)
    mat = _input(mat, "mat", function)
    _require_size(dims, mat, True, "mat", function)
    result, view = _out(out, (dims[k], dims[k]), _dtype([mat]), function)
    _ffi.call("mfkit_kron_factorwise_average", _ffi.describe(mat, "mat"), _c_dims(dims), len(dims), k,
              _ffi.describe(view, "out", writable=True), function=function)
    return result


def factorwise_average_diag(vec: Any, dims: Any, k: int, out: Any = None) -> Any:
    """The mean of the N-vector `vec` over every axis but k (length d_k).

    Cost: time O(N), one pass.

    Parameters
    ----------
    vec : 1-D float32 or float64 array (N,)
    dims : sequence of int
        The factor sizes (positive, multiplying to N).
    k : int
        The axis (negative counts from the end).
    out : array, optional
        Length d_k, vec's dtype, written in place and returned.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        dims not multiplying to N; k out of range; out of the wrong shape.
    TypeError
        vec not a float32 / float64 array; dims or k not integers.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import kron
    >>> kron.factorwise_average_diag(np.arange(6.0), [2, 3], 1)
    array([1.5, 2.5, 3.5])
    """
    function = "factorwise_average_diag"
    dims = _dims(dims, function)
    k = _axis(k, len(dims), function)
    vec = _input(vec, "vec", function)
    _require_size(dims, vec, False, "vec", function)
    result, view = _out(out, (dims[k],), _dtype([vec]), function)
    _ffi.call("mfkit_kron_factorwise_average_diag", _ffi.describe(vec, "vec"), _c_dims(dims), len(dims), k,
              _ffi.describe(view, "out", writable=True), function=function)
    return result


def ks_project(mat: Any, dims: Any, out: Any = None) -> List[Any]:
    """The Frobenius-nearest Kronecker sum to the N x N matrix `mat`: K factors
    A_k = factorwise_average(mat, dims, k) - (K-1)/K tr(mat)/N I (d_k x d_k), such that
    kronsum(*A) is the orthogonal projection of mat onto Kronecker sums.

    Cost: time O(N Σ d_k), memory O(Σ d_k^2).

    Parameters
    ----------
    mat : 2-D float32 or float64 array (N, N)
    dims : sequence of int or None
        The factor sizes (None when `out` gives them).
    out : list or tuple of K square arrays, optional
        Written in place and returned.

    Returns
    -------
    list of numpy.ndarray

    Raises
    ------
    ValueError
        Neither dims nor out; dims not multiplying to N; out of the wrong shapes or overlapping.
    TypeError
        mat not a float32 / float64 array; out not a list or tuple of arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import kron
    >>> [a.tolist() for a in kron.ks_project(kron.kronsum(np.eye(2), 3 * np.eye(2)), [2, 2])]
    [[[2.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [0.0, 2.0]]]
    """
    mat = _input(mat, "mat", "ks_project")
    result, views = _projection_outs(dims, out, "ks_project", True, _dtype([mat]), mat)
    _ffi.call("mfkit_kron_ks_project", _ffi.describe(mat, "mat"), _descriptors(views, "out", True), len(views),
              function="ks_project")
    return result


def ks_project_diag(vec: Any, dims: Any, out: Any = None) -> List[Any]:
    """The diagonal KS projection of the N-vector `vec`: K vectors
    A_k = (mean of vec over every axis but k) - (K-1)/K mean(vec), so that
    kronsum_diag(*A) is the nearest diagonal Kronecker sum.

    Cost: one pass over vec (all K factors at once), over both cores; time O(N), memory
    O(L + Σ d_k) per thread.

    Parameters
    ----------
    vec : 1-D float32 or float64 array (N,)
    dims : sequence of int or None
        The factor sizes (None when `out` gives them).
    out : list or tuple of K 1-D arrays, optional
        Written in place and returned.

    Returns
    -------
    list of numpy.ndarray

    Raises
    ------
    ValueError
        Neither dims nor out; dims not multiplying to N; out of the wrong shapes or overlapping.
    TypeError
        vec not a float32 / float64 array; out not a list or tuple of arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import kron
    >>> [a.tolist() for a in kron.ks_project_diag(np.array([1.0, 2.0, 11.0, 12.0]), [2, 2])]
    [[-1.75, 8.25], [2.75, 3.75]]
    """
    vec = _input(vec, "vec", "ks_project_diag")
    result, views = _projection_outs(dims, out, "ks_project_diag", False, _dtype([vec]), vec)
    _ffi.call("mfkit_kron_ks_project_diag", _ffi.describe(vec, "vec"), _descriptors(views, "out", True), len(views),
              function="ks_project_diag")
    return result


# ---------------------------------------------------------------- fused passes
def kronsum_diag_reduce(vecs: Sequence[Any], f: str) -> float:
    """Σ_i f(w_i) for w = kronsum_diag(*vecs), as a Python float, without holding w.

    f = "log" gives log det(diag(v_1) ⊕ ... ⊕ diag(v_K)). Accumulated in float64 with
    compensated chunk totals.

    Cost: time O(N) evaluations of f, memory independent of N (the vectors are copied).

    Parameters
    ----------
    vecs : list or tuple of 1-D float32 / float64 arrays
        The K >= 1 diagonals (eigenvalues of the factors).
    f : str
        One of "identity", "reciprocal", "log", "exp", "square", "sqrt".

    Returns
    -------
    float

    Raises
    ------
    ValueError
        No vector; an unknown function; a vector not one-dimensional.
    TypeError
        f is not a name; a vector is not a float32 / float64 array.
    MemoryError
        A vector (e.g. a broadcast view of huge length) cannot be copied.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import kron
    >>> kron.kronsum_diag_reduce([np.array([1.0, 2.0]), np.array([0.0, 1.0])], "identity")
    8.0
    """
    code = _function(f, "kronsum_diag_reduce")
    vecs = _arrays(vecs, "vecs", "kronsum_diag_reduce")
    result = ctypes.c_double()
    _ffi.call("mfkit_kron_sum_diag_reduce", _descriptors(vecs, "vecs"), len(vecs), code, ctypes.byref(result),
              function="kronsum_diag_reduce")
    return result.value


def ks_project_diag_map(vecs: Sequence[Any], dims: Any, f: str, out: Any = None) -> List[Any]:
    """ks_project_diag(f(kronsum_diag(*vecs)), dims) in one pass, without holding the
    N-vector: K vectors of the dtype of vecs. dims=None projects onto the vectors' own
    lengths; any other factorization of N works too.

    Cost: time O(N) evaluations of f, memory O(L + Σ d_k) per thread, independent of N.

    Parameters
    ----------
    vecs : list or tuple of 1-D float32 / float64 arrays
    dims : sequence of int or None
        The factor sizes of the projection (None: the vectors' lengths, or out's).
    f : str
        One of "identity", "reciprocal", "log", "exp", "square", "sqrt".
    out : list or tuple of 1-D arrays, optional
        Written in place and returned.

    Returns
    -------
    list of numpy.ndarray

    Raises
    ------
    ValueError
        No vector; an unknown function; dims not multiplying to N; out of the wrong shapes.
    TypeError
        f is not a name; a vector is not a float32 / float64 array; out not a list of arrays.
    MemoryError
        A vector cannot be copied.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import kron
    >>> [a.tolist() for a in kron.ks_project_diag_map([np.array([1.0, 2.0]), np.array([0.0, 0.0])], None, "square")]
    [[-0.25, 2.75], [1.25, 1.25]]
    """
    code = _function(f, "ks_project_diag_map")
    vecs = _arrays(vecs, "vecs", "ks_project_diag_map")
    if dims is None and out is None:
        dims = [v.shape[0] if v.ndim == 1 else 1 for v in vecs]
    result, views = _projection_outs(dims, out, "ks_project_diag_map", False, _dtype(vecs))
    _ffi.call("mfkit_kron_ks_project_diag_map", _descriptors(vecs, "vecs"), len(vecs), code,
              _descriptors(views, "out", True), len(views), function="ks_project_diag_map")
    return result

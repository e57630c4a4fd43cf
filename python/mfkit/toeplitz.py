"""Banded Toeplitz strategies: lower-triangular Toeplitz matrices T(c) given by their leading
coefficients c, for the matrix mechanism at any number of steps n.

Names, arguments, defaults and numbers follow `jax_privacy.matrix_factorization.toeplitz`
(2.0.0), with NumPy arrays::

    >>> import numpy as np
    >>> from mfkit import toeplitz
    >>> coef = toeplitz.optimize_banded_toeplitz(n=4096, bands=16)    # unit norm
    >>> err = toeplitz.per_query_error(strategy_coef=coef, n=4096)     # float64, (4096,)
    >>> noise = toeplitz.inverse_as_streaming_matrix(coef)             # C^{-1} z, step by step

T(c)[i, j] = c[i - j] for 0 <= i - j < len(c). A size `n` is optional everywhere: the matrix is
n x n with n defaulting to len(c), and only c[:n] is used (jax_privacy's `_reconcile`). b below
is len(c); costs are stated per function, all O(n b) or less.

Differences on purpose (the README's list has them too):

- Arrays are NumPy arrays; `pad_coefs_to_n`, `materialize_lower_triangular`, `multiply`,
  `inverse_coef` and `solve_banded` keep the input's dtype (float32 stays float32; jax_privacy
  returns float64 under x64) and take `out=`; errors and losses are float64 and Python floats.
- Coefficients must be finite and 1-D with at least one entry; a strategy's c[0] must be
  nonzero (T(c) is singular otherwise; jax_privacy returns inf or NaN). `n` must be positive
  when given (n=0 is None, as jax_privacy's `n or len(coef)`); `max_participations` must be
  positive. `per_query_error` always checks that exactly one of strategy_coef and noising_coef
  is given, and `multiply` its lengths unless skip_checks, as jax_privacy does without
  skip_checks.
- `per_query_error` of a strategy is one blocked banded solve (jax_privacy: a scan of n steps).
  Under a workload that is constant from some step on (the prefix sums: from the start) and a
  stable T(c)^{-1} (every root of c outside the unit circle), the decoder reaches its limit
  a / c(1) after a transient T; the solve stops once the last 2 (b + 32) values agree with the
  limit to 64 ulp of the largest value (the recursion's own rounding noise) and the rest is
  the limit: O(T b + n) time, T about 10^5 for an optimized b = 256, whatever n.
  `minsep_sensitivity_squared` is O(b) whatever n (jax_privacy: O(n)).
- Gradients are explicit functions, `loss_and_gradient` and `per_query_error_and_gradient`:
  gamma = T(c)^{-1} beta (on a second core) and one correlation instead of automatic
  differentiation, the converged tails summed in closed form: O(T b + n) time, 2 n doubles of
  memory (jax_privacy differentiates its scan, keeping n b numbers).
- `inverse_as_streaming_matrix` keeps the noise's dtype, works in place and keeps b - 1 slices
  of state as a ring (jax_privacy promotes float32 noise to float64 and rolls its state).
- `optimize_banded_toeplitz` runs MFKit's L-BFGS (memory 10, strong Wolfe line search) on
  c / c[0] (the loss does not depend on the scale of c); it takes `reduction_fn` as 'mean',
  'max', 'last', np.mean, np.max, `lambda v: v[-1]` (recognized) or per-query weights, and,
  keyword-only as `mfkit.banded.optimize`: `callback` (CallbackArgs), `progress`, the
  tolerances `gtol` / `ftol` (default 0: every step, as jax_privacy) and `return_info` (the
  stop reason; see `mfkit.optimization`); Ctrl-C returns the best coefficients so far. It
  reaches jax_privacy's loss or lower.
- `optimize_coefs_for_amplifications` calibrates the noise with MFKit's own RDP accountant (the
  Poisson-subsampled Gaussian with dp_accounting's default orders; no dp_accounting import);
  the candidates are optimized one after the other (no thread pool), with the same keywords
  (`return_info` gives the chosen candidate's report). `_AmplifiedBandMFHelper` takes no
  `make_fresh_accountant`.
"""
import ctypes
import dataclasses
import math
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _args, _ffi
from .banded import _reduction
from .optimization import CallbackArgs, OptimizeInfo, Run
from .streaming_matrix import StreamingMatrix, _frozen

__all__ = [
    "CallbackArgs",
    "pad_coefs_to_n",
    "materialize_lower_triangular",
    "solve_banded",
    "multiply",
    "inverse_coef",
    "optimal_max_error_strategy_coefs",
    "optimal_max_error_noising_coefs",
    "sensitivity_squared",
    "minsep_sensitivity_squared",
    "per_query_error",
    "per_query_error_and_gradient",
    "loss",
    "loss_and_gradient",
    "inverse_as_streaming_matrix",
    "optimize_banded_toeplitz",
    "optimize_coefs_for_amplifications",
]

ArrayLike = Union[np.ndarray, Sequence[float]]


def _coef(values: Any, name: str, function: str) -> np.ndarray:
    """A 1-D real coefficient array: float32 and float64 arrays of any strides as given (no
    copy), integer arrays and lists as float64."""
    a = _args.array(values, name, function, sequences=True)
    if a.ndim != 1:
        raise ValueError(f"{function}: {name} must be one-dimensional, got shape {a.shape}")
    return a


def _optional_coef(values: Any, name: str, function: str) -> Optional[np.ndarray]:
    return None if values is None else _coef(values, name, function)


def _size(n: Any, function: str, name: str = "n") -> Optional[int]:
    """n as an int, None for None or 0 (jax_privacy's `n or len(coef)`); negative: ValueError."""
    if n is None:
        return None
    n = _args.integer(n, name, function)
    if n < 0:
        raise ValueError(f"{function}: {name} must be positive, got {n}")
    return n or None


def _opt(value: Optional[int]) -> Any:
    """A `const int64_t *` for an optional size."""
    return None if value is None else ctypes.byref(ctypes.c_int64(value))


def _desc(a: Optional[np.ndarray], name: str) -> Any:
    return None if a is None else _ffi.describe(a, name)


def _out(out: Any, shape: Tuple[int, ...], dtype: Any, function: str) -> Tuple[Any, np.ndarray]:
    """(what to return, the array written): a new array, or `out` checked against the shape."""
    if out is None:
        result = np.empty(shape, dtype=dtype)
        return result, result
    return out, _args.output(out, "out", function, shape=shape, shape_from="the arguments")


def _reduction_code(reduction_fn: Any, count: int, function: str) -> Tuple[int, Optional[np.ndarray]]:
    """`mfkit.banded`'s decoding of reduction_fn, with NumPy's and JAX's mean and max named
    at once (no probe vectors of the errors' length are drawn for them)."""
    name = getattr(reduction_fn, "__name__", None)
    module = (getattr(reduction_fn, "__module__", None) or "").split(".")[0]
    if callable(reduction_fn) and name in ("mean", "max", "amax") and module in ("numpy", "jax"):
        reduction_fn = "max" if name == "amax" else name
    return _reduction(reduction_fn, count, function)


def _reconcile(coef: Any, n: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """jax_privacy's `_reconcile`: (coef[:n], n) with n defaulting to len(coef)."""
    coef = _coef(coef, "coef", "_reconcile")
    n = n or len(coef)
    return coef[:n], n


def _l2_norm_squared(x: Any) -> float:
    """||x||^2 (jax_privacy's helper of the same name)."""
    return sensitivity_squared(x)


def pad_coefs_to_n(coef: ArrayLike, n: Optional[int] = None, *, out: Any = None) -> Any:
    """The n coefficients of T(coef): coef[:n] followed by zeros.

    Cost: O(n).

    Parameters
    ----------
    coef : array_like, 1-D
        Leading coefficients of a lower-triangular Toeplitz matrix.
    n : int, optional
        Its size (default len(coef)).
    out : array, optional
        Written in place and returned, shape (n,), float32 or float64, any strides.

    Returns
    -------
    numpy.ndarray
        Shape (n,), coef's dtype (float32 or float64), or `out`.

    Raises
    ------
    ValueError
        An empty or non-finite coef, a negative n, an out of another shape.
    TypeError
        coef is not an array of real numbers; n is not an integer.

    Examples
    --------
    >>> pad_coefs_to_n([1.0, 0.5], 4)
    array([1. , 0.5, 0. , 0. ])
    """
    function = "pad_coefs_to_n"
    coef, size = _coef(coef, "coef", function), _size(n, function)
    result, view = _out(out, (size or len(coef),), coef.dtype, function)
    _ffi.call("mfkit_toeplitz_pad_coefs", _ffi.describe(coef, "coef"), _opt(size),
              _ffi.describe(view, "out", writable=True), function=function)
    return result


def materialize_lower_triangular(coef: ArrayLike, n: Optional[int] = None, *, out: Any = None) -> Any:
    """The n x n lower-triangular Toeplitz matrix T(coef), T[i, j] = coef[i - j].

    Cost: O(n^2) time (the zeros are written too), no work space.

    Parameters
    ----------
    coef : array_like, 1-D
        Its leading coefficients; only coef[:n] is used.
    n : int, optional
        Its size (default len(coef)).
    out : array, optional
        Written in place and returned, shape (n, n), any strides.

    Returns
    -------
    numpy.ndarray
        Shape (n, n), coef's dtype, or `out`.

    Raises
    ------
    ValueError
        An empty or non-finite coef, a negative n, an out of another shape.
    TypeError
        coef is not an array of real numbers; n is not an integer.

    Examples
    --------
    >>> materialize_lower_triangular([2.0, 1.0], n=3)
    array([[2., 0., 0.],
           [1., 2., 0.],
           [0., 1., 2.]])
    """
    function = "materialize_lower_triangular"
    coef, size = _coef(coef, "coef", function), _size(n, function)
    m = size or len(coef)
    result, view = _out(out, (m, m), coef.dtype, function)
    _ffi.call("mfkit_toeplitz_materialize", _ffi.describe(coef, "coef"), _opt(size),
              _ffi.describe(view, "out", writable=True), function=function)
    return result


def solve_banded(coef: ArrayLike, rhs: ArrayLike, *, out: Any = None) -> Any:
    """Solves T(coef) x = rhs for x (forward substitution with the banded Toeplitz matrix).

    Cost: O(n b m) for n rows of m elements (b = len(coef)): a vector is solved in float64 in
    blocks of 32 steps, a larger rhs streams through the inverse in its own dtype.

    Parameters
    ----------
    coef : array_like, 1-D
        Leading coefficients, coef[0] != 0; only the first len(rhs) matter.
    rhs : array_like, shape (n, ...)
        Right-hand side(s), one row per step.
    out : array, optional
        Written in place and returned (rhs's shape and dtype); may be rhs itself.

    Returns
    -------
    numpy.ndarray
        x, rhs's shape and dtype (float32 or float64), or `out`.

    Raises
    ------
    ValueError
        coef[0] == 0, a non-finite coef, an out of another shape or overlapping rhs.
    TypeError
        Arguments that are not arrays of real numbers.

    Examples
    --------
    >>> solve_banded([1.0, 0.5], np.ones(4))
    array([1.   , 0.5  , 0.75 , 0.625])
    """
    function = "solve_banded"
    coef, rhs = _coef(coef, "coef", function), _args.array(rhs, "rhs", function, sequences=True)
    result, view = _out(out, rhs.shape, rhs.dtype, function)
    _ffi.call("mfkit_toeplitz_solve_banded", _ffi.describe(coef, "coef"), _ffi.describe(rhs, "rhs"),
              _ffi.describe(view, "out", writable=True), function=function)
    return result


def multiply(lhs_coef: ArrayLike, rhs_coef: ArrayLike, n: Optional[int] = None, skip_checks: bool = False, *,
             out: Any = None) -> Any:
    """The coefficients of the product T(lhs_coef) T(rhs_coef) of two n x n lower-triangular
    Toeplitz matrices: their convolution, truncated.

    Cost: O(n min(l, r)) for the lengths l and r of the coefficients cut to n.

    Parameters
    ----------
    lhs_coef, rhs_coef : array_like, 1-D
        Leading coefficients of L and R.
    n : int, optional
        The matrices' size (default len(lhs_coef)); both are cut to n. Without n the two must
        have the same length (unless skip_checks).
    skip_checks : bool
        Skip that length check.
    out : array, optional
        Written in place and returned, shape (min(n, l + r - 1),).

    Returns
    -------
    numpy.ndarray
        The leading min(n, l + r - 1) coefficients of L R (as jax_privacy's
        `convolve(...)[:n]`), in the inputs' common dtype, or `out`.

    Raises
    ------
    ValueError
        "If n is not specified, then lhs_coef and rhs_coef must have the same length, ...".
    TypeError
        Arguments that are not arrays of real numbers.

    Examples
    --------
    >>> multiply([1.0, 2.0, 3.0, 4.0], [5.0, 6.0], n=3)
    array([ 5., 16., 27.])
    """
    function = "multiply"
    lhs, rhs = _coef(lhs_coef, "lhs_coef", function), _coef(rhs_coef, "rhs_coef", function)
    size = _size(n, function)
    m = size or len(lhs)
    count = max(0, min(m, min(len(lhs), m) + min(len(rhs), m) - 1))
    result, view = _out(out, (count,), np.result_type(lhs, rhs), function)
    _ffi.call("mfkit_toeplitz_multiply", _ffi.describe(lhs, "lhs_coef"), _ffi.describe(rhs, "rhs_coef"), _opt(size),
              int(bool(skip_checks)), _ffi.describe(view, "out", writable=True), function=function)
    return result


def inverse_coef(coef: ArrayLike, n: Optional[int] = None, *, out: Any = None) -> Any:
    """The n leading coefficients of T(coef)^{-1}, again lower-triangular Toeplitz.

    Cost: O(n b) time (a blocked banded solve of e_0; the impulse response has no converged
    tail), O(n) memory.

    Parameters
    ----------
    coef : array_like, 1-D
        Leading coefficients, coef[0] != 0.
    n : int, optional
        The size (default len(coef)).
    out : array, optional
        Written in place and returned, shape (n,).

    Returns
    -------
    numpy.ndarray
        Shape (n,), coef's dtype, or `out`.

    Raises
    ------
    ValueError
        coef[0] == 0, a non-finite coef.
    TypeError
        coef is not an array of real numbers.

    Examples
    --------
    >>> inverse_coef([1.0, -0.5], 4)
    array([1.   , 0.5  , 0.25 , 0.125])
    """
    function = "inverse_coef"
    coef, size = _coef(coef, "coef", function), _size(n, function)
    result, view = _out(out, (size or len(coef),), coef.dtype, function)
    _ffi.call("mfkit_toeplitz_inverse_coef", _ffi.describe(coef, "coef"), _opt(size),
              _ffi.describe(view, "out", writable=True), function=function)
    return result


def optimal_max_error_strategy_coefs(n: int) -> np.ndarray:
    """The coefficients of the optimal Toeplitz strategy for max error (Fichtenberger,
    Henzinger and Upadhyay 2023; optimal per Dvijotham et al. 2024): f_0 = 1,
    f_k = f_{k-1} (2k - 1) / (2k), so that T(f) T(f) is the prefix-sum matrix.

    Cost: O(n).

    Parameters
    ----------
    n : int
        The number of coefficients (>= 1).

    Returns
    -------
    numpy.ndarray
        float64, shape (n,).

    Raises
    ------
    ValueError
        n < 1.
    TypeError
        n is not an integer.

    Examples
    --------
    >>> optimal_max_error_strategy_coefs(4)
    array([1.    , 0.5   , 0.375 , 0.3125])
    """
    out = np.empty(_args.positive_int(n, "n", "optimal_max_error_strategy_coefs"))
    _ffi.call("mfkit_toeplitz_optimal_max_error_strategy_coefs", _ffi.describe(out, "out", writable=True),
              function="optimal_max_error_strategy_coefs")
    return out


def optimal_max_error_noising_coefs(n: int) -> np.ndarray:
    """The coefficients of T(f)^{-1} for f = `optimal_max_error_strategy_coefs(n)`: the first
    differences f_k - f_{k-1} (the factorization is symmetric, C = B, so C^{-1} = A^{-1} C).

    Cost: O(n).

    Parameters
    ----------
    n : int
        The number of coefficients (>= 1).

    Returns
    -------
    numpy.ndarray
        float64, shape (n,).

    Raises
    ------
    ValueError
        n < 1.
    TypeError
        n is not an integer.

    Examples
    --------
    >>> optimal_max_error_noising_coefs(4)
    array([ 1.    , -0.5   , -0.125 , -0.0625])
    """
    out = np.empty(_args.positive_int(n, "n", "optimal_max_error_noising_coefs"))
    _ffi.call("mfkit_toeplitz_optimal_max_error_noising_coefs", _ffi.describe(out, "out", writable=True),
              function="optimal_max_error_noising_coefs")
    return out


def sensitivity_squared(coef: ArrayLike, n: Optional[int] = None) -> float:
    """The squared sensitivity of T(coef) under single participation: ||coef[:n]||^2, the
    squared norm of its first (largest) column.

    Cost: O(b).

    Parameters
    ----------
    coef : array_like, 1-D
        Leading coefficients.
    n : int, optional
        The size (default len(coef)).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        An empty or non-finite coef, a negative n.
    TypeError
        coef is not an array of real numbers.

    Examples
    --------
    >>> sensitivity_squared([1.0, 2.0, 2.0], n=2)
    5.0
    """
    function = "sensitivity_squared"
    coef, size = _coef(coef, "coef", function), _size(n, function)
    out = ctypes.c_double()
    _ffi.call("mfkit_toeplitz_sensitivity_squared", _ffi.describe(coef, "coef"), _opt(size), ctypes.byref(out),
              function=function)
    return out.value


def minsep_sensitivity_squared(strategy_coef: ArrayLike, min_sep: int, max_participations: Optional[int] = None,
                               n: Optional[int] = None, skip_checks: bool = False) -> float:
    """The squared sensitivity of T(strategy_coef) when a user participates at least min_sep
    steps apart (min_sep = 1: every step allowed), at most max_participations times.

    For non-negative, non-increasing coefficients the worst pattern participates every min_sep
    steps from the first (Theorem 2 of arXiv:2405.13763).

    Cost: O(b) time and memory, whatever n and the number of participations (residue-class
    sums; jax_privacy: O(n)).

    Parameters
    ----------
    strategy_coef : array_like, 1-D
        Leading coefficients; non-negative and non-increasing (checked unless skip_checks).
    min_sep : int
        The minimum separation between two participations (>= 1).
    max_participations : int, optional
        The cap k (default ceil(n / min_sep)); positive.
    n : int, optional
        The number of steps (default len(strategy_coef)).
    skip_checks : bool
        Skip the checks on the coefficients.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        "coef must be non-negative, ...", "coef must be non-increasing, ...", "min_sep must be
        positive", a non-positive max_participations.
    TypeError
        Arguments of the wrong type.

    Examples
    --------
    >>> minsep_sensitivity_squared([1.0, 0.5], min_sep=1, max_participations=2, n=3)  # 1 + 1.5^2 + 0.5^2
    3.5
    """
    function = "minsep_sensitivity_squared"
    coef = _coef(strategy_coef, "strategy_coef", function)
    min_sep = _args.integer(min_sep, "min_sep", function)
    k = _args.optional_int(max_participations, "max_participations", function, minimum=1, condition="positive")
    out = ctypes.c_double()
    _ffi.call("mfkit_toeplitz_minsep_sensitivity_squared", _ffi.describe(coef, "strategy_coef"), min_sep, _opt(k),
              _opt(_size(n, function)), int(bool(skip_checks)), ctypes.byref(out), function=function)
    return out.value


def _error_count(strategy: Optional[np.ndarray], noising: Optional[np.ndarray], n: Optional[int],
                 workload: Optional[np.ndarray]) -> int:
    """The number of per-query errors (0 when not exactly one mechanism is given: the library
    then refuses the call)."""
    if (strategy is None) == (noising is None):
        return 0
    coef = strategy if strategy is not None else noising
    size = n or len(coef)
    if strategy is not None:
        return size
    length = min(len(noising), size)
    if workload is None:
        return length
    return min(size, min(len(workload), size) + length - 1)


def per_query_error(*, strategy_coef: Optional[ArrayLike] = None, noising_coef: Optional[ArrayLike] = None,
                    n: Optional[int] = None, workload_coef: Optional[ArrayLike] = None,
                    skip_checks: bool = False, out: Any = None) -> Any:
    """Expected squared error of every query of the Toeplitz mechanism: e_t = ||B[t, :]||^2 for
    B = A C^{-1} with A = T(workload_coef) (default: the prefix sums).

    Give exactly one of strategy_coef (C = T(c)) and noising_coef (C^{-1} = T(v)). The errors
    never decrease, so the max error is the last one.

    Cost: strategy: one blocked banded solve to the end of the decoder's transient T (see the
    module's notes), O(T b + n); noising: O(n min(len(a), len(v))); memory O(n).

    Parameters
    ----------
    strategy_coef : array_like, 1-D, optional
        The strategy's coefficients (c[0] != 0).
    noising_coef : array_like, 1-D, optional
        The noising matrix's coefficients.
    n : int, optional
        The size (default the given coefficients' length).
    workload_coef : array_like, 1-D, optional
        The workload's coefficients (default all ones); extra entries past n are ignored.
    skip_checks : bool
        Accepted for compatibility (the checks are cheap and always run).
    out : array, optional
        Written in place and returned (float32 or float64, the errors' length).

    Returns
    -------
    numpy.ndarray
        float64: n errors for a strategy; for a noising matrix len(v) without a workload, else
        min(n, len(a) + len(v) - 1) (jax_privacy's lengths); or `out`.

    Raises
    ------
    ValueError
        "Specify exactly one of strategy_coef or noising_coef.", strategy_coef[0] == 0.
    TypeError
        Arguments of the wrong type.

    Examples
    --------
    >>> per_query_error(strategy_coef=[1.0, 0.5], n=3)
    array([1.    , 1.25  , 1.8125])
    """
    function = "per_query_error"
    s = _optional_coef(strategy_coef, "strategy_coef", function)
    v = _optional_coef(noising_coef, "noising_coef", function)
    a = _optional_coef(workload_coef, "workload_coef", function)
    size = _size(n, function)
    result, view = _out(out, (_error_count(s, v, size, a),), np.float64, function)
    _ffi.call("mfkit_toeplitz_per_query_error", _desc(s, "strategy_coef"), _desc(v, "noising_coef"), _opt(size),
              _desc(a, "workload_coef"), _ffi.describe(view, "out", writable=True), function=function)
    return result


def _loss(function: str, strategy: Any, noising: Any, n: Any, workload: Any, reduction_fn: Any,
          times_sensitivity: bool, gradient: bool) -> Tuple[float, Optional[np.ndarray]]:
    s = _optional_coef(strategy, "strategy_coef", function)
    v = _optional_coef(noising, "noising_coef", function)
    a = _optional_coef(workload, "workload_coef", function)
    size = _size(n, function)
    code, weights = _reduction_code(reduction_fn, max(1, _error_count(s, v, size, a)), function)
    value = ctypes.c_double()
    given = s if s is not None else v
    grad = np.empty(len(given)) if gradient and given is not None else None
    _ffi.call("mfkit_toeplitz_loss", _desc(s, "strategy_coef"), _desc(v, "noising_coef"), _opt(size),
              _desc(a, "workload_coef"), code, None if weights is None else ctypes.byref(_ffi.describe(weights, "weights")),
              int(times_sensitivity), ctypes.byref(value), None if grad is None else _ffi.describe(grad, "grad", writable=True),
              function=function)
    return value.value, grad


def loss(strategy_coef: ArrayLike, n: Optional[int] = None, reduction_fn: Any = np.mean) -> float:
    """Error of T(strategy_coef) on the prefix-sum workload under single participation:
    reduction_fn(per-query errors) times the squared sensitivity ||c||^2 (invariant to the
    scale of c; arXiv:2405.15913).

    Cost: O(T b + n) (one banded solve to the end of its transient T); another callable adds
    O(n).

    Parameters
    ----------
    strategy_coef : array_like, 1-D
        The strategy's coefficients (c[0] != 0).
    n : int, optional
        The size (default len(strategy_coef)).
    reduction_fn : callable, str or array_like
        np.mean (default), np.max (the last error: the errors never decrease), 'mean', 'max',
        'last', per-query weights, or any callable of the errors.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        strategy_coef[0] == 0, weights of another length.
    TypeError
        Arguments of the wrong type.

    Examples
    --------
    >>> loss([1.0, 0.5], n=3)      # mean([1, 1.25, 1.8125]) * 1.25
    1.6927083333333335
    """
    try:
        return _loss("loss", strategy_coef, None, n, None, reduction_fn, True, False)[0]
    except ValueError as exc:
        if not callable(reduction_fn) or "not recognized" not in str(exc):
            raise
    errors = per_query_error(strategy_coef=strategy_coef, n=n)
    return float(np.asarray(reduction_fn(errors))) * sensitivity_squared(strategy_coef, n)


def loss_and_gradient(strategy_coef: ArrayLike, n: Optional[int] = None,
                      reduction_fn: Any = np.mean) -> Tuple[float, np.ndarray]:
    """`loss` and its gradient with respect to strategy_coef.

    Cost: O(T b + n): the solve, gamma = T(c)^{-1} beta on a second core and a correlation
    over the cores, the converged tails in closed form; memory 2 n doubles.

    Parameters
    ----------
    strategy_coef : array_like, 1-D
        The strategy's coefficients (c[0] != 0).
    n : int, optional
        The size (default len(strategy_coef)).
    reduction_fn : callable, str or array_like
        'mean', 'max', 'last' (np.mean, np.max, `lambda v: v[-1]` are recognized) or weights.

    Returns
    -------
    tuple of (float, numpy.ndarray)
        The loss and its gradient (float64, len(strategy_coef); zero past n). The gradient is
        orthogonal to strategy_coef (the loss does not depend on its scale).

    Raises
    ------
    ValueError
        An unrecognized reduction_fn, strategy_coef[0] == 0.
    TypeError
        Arguments of the wrong type.

    Examples
    --------
    >>> value, grad = loss_and_gradient([1.0, 0.5], n=3)
    >>> round(float(grad @ [1.0, 0.5]), 12)
    0.0
    """
    value, grad = _loss("loss_and_gradient", strategy_coef, None, n, None, reduction_fn, True, True)
    return value, grad


def per_query_error_and_gradient(*, strategy_coef: Optional[ArrayLike] = None, noising_coef: Optional[ArrayLike] = None,
                                 n: Optional[int] = None, workload_coef: Optional[ArrayLike] = None,
                                 reduction_fn: Any = np.mean) -> Tuple[float, np.ndarray]:
    """reduction_fn(`per_query_error(...)`) and its gradient with respect to the coefficients
    given (strategy_coef or noising_coef), without the sensitivity factor.

    Cost: strategy: O(T b + n) (two solves and a correlation); noising: O(n) for the prefix
    sums, O(n len(v)) with a workload; memory 2 n doubles.

    Parameters
    ----------
    strategy_coef, noising_coef, n, workload_coef
        As for `per_query_error`.
    reduction_fn : callable, str or array_like
        'mean', 'max', 'last' (np.mean, np.max, `lambda v: v[-1]` are recognized) or one weight
        per query error.

    Returns
    -------
    tuple of (float, numpy.ndarray)
        The reduced error and its gradient (float64, the given coefficients' length).

    Raises
    ------
    ValueError
        As `per_query_error`; an unrecognized reduction_fn.
    TypeError
        Arguments of the wrong type.

    Examples
    --------
    >>> value, grad = per_query_error_and_gradient(noising_coef=[1.0, -0.5], reduction_fn="last")
    >>> value, grad
    (1.25, array([3., 1.]))
    """
    value, grad = _loss("per_query_error_and_gradient", strategy_coef, noising_coef, n, workload_coef, reduction_fn,
                        False, True)
    return value, grad


def inverse_as_streaming_matrix(coef: ArrayLike, column_normalize_for_n: Optional[int] = None) -> StreamingMatrix:
    """C^{-1} for the banded Toeplitz strategy C = T(coef), as a StreamingMatrix (Algorithm 9 of
    arXiv:2306.08153), for correlated noise: `multiply_array(Cinv, z, out=z)` or
    `Cinv.stream(shape)` one training step at a time.

    Cost: O(b) to make; a step costs (b - 1) multiply-adds per element and keeps b - 1 slices
    of state (a ring); `multiply_array` cuts slices into pieces whose state fits the L1 cache.

    Parameters
    ----------
    coef : array_like, 1-D
        The strategy's coefficients (coef[0] != 0); b = len(coef) bands.
    column_normalize_for_n : int, optional
        If given, C is T(coef)'s n x n block with every column scaled to norm 1 (coef is cut to
        n and should have norm 1, so that the sensitivity does not change; not checked, as in
        jax_privacy). Past step n the rows are scaled by |coef[0]|.

    Returns
    -------
    StreamingMatrix
        Slices keep their dtype (float32 stays float32) and may be updated in place; it pickles
        and copies to an equal matrix.

    Raises
    ------
    ValueError
        coef[0] == 0, a non-finite coef, column_normalize_for_n < 1.
    TypeError
        Arguments of the wrong type.

    Examples
    --------
    >>> Cinv = inverse_as_streaming_matrix([1.0, 0.5])
    >>> Cinv.materialize(3)
    array([[ 1.  ,  0.  ,  0.  ],
           [-0.5 ,  1.  ,  0.  ],
           [ 0.25, -0.5 ,  1.  ]])
    """
    function = "inverse_as_streaming_matrix"
    coef = _coef(coef, "coef", function)
    normalize = None if column_normalize_for_n is None else _args.positive_int(
        column_normalize_for_n, "column_normalize_for_n", function)
    handle = _ffi.new_handle("mfkit_toeplitz_inverse", _ffi.describe(coef, "coef"), _opt(normalize), function=function)
    return StreamingMatrix._new(handle, ("toeplitz_inverse", _frozen(coef), normalize))


def optimize_banded_toeplitz(n: int, bands: int, strategy_coef: Optional[ArrayLike] = None,
                             max_optimizer_steps: int = 250, reduction_fn: Any = np.mean, *,
                             callback: Optional[Callable[[CallbackArgs], Any]] = None,
                             progress: Union[bool, int] = False, gtol: float = 0.0, ftol: float = 0.0,
                             return_info: bool = False) -> Union[np.ndarray, Tuple[np.ndarray, OptimizeInfo]]:
    """Optimizes a banded Toeplitz strategy for the prefix-sum workload: minimizes `loss` over
    `bands` coefficients by L-BFGS.

    The strategy can be used with single participation and with (fixed-epoch or min-sep)
    multiple participations separated by at least `bands` steps (arXiv:2306.08153); for other
    patterns compute the sensitivity with `minsep_sensitivity_squared`.

    The loss does not depend on the scale of the coefficients, so L-BFGS runs on
    c[1:] / c[0] (bands - 1 unknowns; none when min(n, bands) = 1, and the report is then one
    evaluation, converged). Ctrl-C stops the run and returns the best coefficients so far (with
    a warning).

    Cost: per step one or two loss-and-gradient evaluations, O(T b + n) each; memory 2 n
    doubles.

    Parameters
    ----------
    n : int
        The number of steps of the workload.
    bands : int
        The number of coefficients b.
    strategy_coef : array_like, 1-D, optional
        The start (length bands, coef[0] != 0; default `optimal_max_error_strategy_coefs(bands)`).
    max_optimizer_steps : int
        The maximum number of L-BFGS steps.
    reduction_fn : callable, str or array_like
        np.mean (default), np.max, 'mean', 'max', 'last', `lambda v: v[-1]` or n weights.
    callback : callable, optional
        Called with `CallbackArgs(step, loss, grad_norm)` after every step; a true return stops.
    progress : bool or int, default False
        True shows a tqdm bar with the loss (`tqdm.auto`: a widget in a notebook); without
        tqdm, printed lines every few steps; an int, a line every that many steps.
    gtol, ftol : float, default 0
        Converged when the largest entry of the gradient with respect to c[1:] / c[0] is at
        most `gtol`, or when a step's relative decrease of the loss is at most `ftol`. With
        both 0, as jax_privacy, every step is taken unless the run stalls.
    return_info : bool, default False
        Also return an `optimization.OptimizeInfo` (stop reason, steps, evaluations, loss,
        gradient norm).

    Returns
    -------
    numpy.ndarray
        float64, shape (bands,), with unit norm (the sign of the start's first coefficient).
    optimization.OptimizeInfo
        Only with ``return_info=True``.

    Raises
    ------
    ValueError
        "strategy_coef.shape=(k,) != bands=b", an unrecognized reduction_fn, a negative
        tolerance. Exceptions raised by the callback propagate.
    TypeError
        Arguments of the wrong type.

    Warns
    -----
    RuntimeWarning
        When no step could be taken (a non-finite loss at the start, or a stall there), and
        on Ctrl-C.

    Examples
    --------
    >>> coef, info = optimize_banded_toeplitz(64, bands=4, max_optimizer_steps=200, gtol=1e-6, return_info=True)
    >>> coef.shape, round(float(np.linalg.norm(coef)), 12), info.stop, info.converged
    ((4,), 1.0, 'gradient_tolerance', True)
    """
    function = "optimize_banded_toeplitz"
    n = _args.positive_int(n, "n", function)
    bands = _args.positive_int(bands, "bands", function)
    steps = _args.steps_int(max_optimizer_steps, function)
    start = _optional_coef(strategy_coef, "strategy_coef", function)
    if start is not None and start.shape != (bands,):
        raise ValueError(f"{function}: strategy_coef.shape={start.shape} != bands={bands}")
    run = Run(function, callback, progress, steps, gtol, ftol)
    code, weights = _reduction_code(reduction_fn, n, function)
    out = np.empty(bands)
    with run:
        _ffi.call("mfkit_toeplitz_optimize", n, bands, _desc(start, "strategy_coef"), steps, code,
                  None if weights is None else ctypes.byref(_ffi.describe(weights, "weights")),
                  run.gtol, run.ftol, run.c_callback, None, _ffi.describe(out, "out", writable=True),
                  *run.report.pointers(), function=function)
    info = run.finish("the best coefficients so far")
    return (out, info) if return_info else out


def _factors(n: int) -> list:
    """The divisors of n, ascending."""
    small = [i for i in range(1, math.isqrt(n) + 1) if n % i == 0]
    return sorted(set(small + [n // i for i in small]))


@dataclasses.dataclass(frozen=True)
class _AmplifiedBandMFHelper:
    """Amplified BandMF with banded Toeplitz strategies (jax_privacy's helper of the same name):
    b bands cut the data set into b subsets used in turn, so a user takes part at most
    ceil(n / b) times, b steps apart, each time Poisson-subsampled at
    batch_size / (dataset_size // b)."""

    n: int
    dataset_size: int
    batch_size: int
    epsilon: float
    delta: float
    reduction_fn: Any = np.max

    @property
    def max_bands(self) -> int:
        """The largest number of bands b possible while achieving b-min-sep."""
        return self.dataset_size // self.batch_size

    def sensitivity(self, coef: ArrayLike) -> float:
        """The sensitivity of T(coef): ||coef[:n]||."""
        return math.sqrt(sensitivity_squared(coef, n=self.n))

    def total_noise_multiplier(self, bands: int) -> float:
        """The noise multiplier reaching (epsilon, delta) with `bands` bands, by RDP accounting.
        Cost: about 40 evaluations of the RDP curve (milliseconds)."""
        function = "total_noise_multiplier"
        out = ctypes.c_double()
        _ffi.call("mfkit_toeplitz_amplified_noise_multiplier", _args.positive_int(self.n, "n", function),
                  _args.positive_int(self.dataset_size, "dataset_size", function),
                  _args.positive_int(self.batch_size, "batch_size", function),
                  _args.positive_int(bands, "bands", function), _args.real(self.epsilon, "epsilon", function),
                  _args.real(self.delta, "delta", function), ctypes.byref(out), function=function)
        return out.value

    def required_stddev(self, coef: ArrayLike) -> float:
        """The standard deviation of the uncorrelated noise z that reaches the privacy target."""
        return self.total_noise_multiplier(bands=len(coef)) * self.sensitivity(coef)

    def amplified_bandmf_loss(self, coef: ArrayLike) -> float:
        """The error of the estimate of the *average* prefix sum: sqrt(loss) sigma / batch."""
        error_times_sens = math.sqrt(loss(coef, n=self.n, reduction_fn=self.reduction_fn))
        return error_times_sens * self.total_noise_multiplier(bands=len(coef)) / self.batch_size

    def compute_loss_for_bands(self, bands_list: Optional[Sequence[int]] = None, max_workers: Optional[int] = None,
                               **optimizer_kwargs: Any) -> list:
        """[{'bands', 'coef', 'loss'}] for each number of bands (default: the divisors of
        dataset_size up to max_bands), each optimized by `optimize_banded_toeplitz`.
        `max_workers` is accepted and ignored (MFKit's kernels use the cores themselves)."""
        assert 1 <= self.batch_size <= self.dataset_size
        if bands_list is None:
            bands_list = [b for b in _factors(self.dataset_size) if b <= self.max_bands]
        if max(bands_list) > self.max_bands:
            raise ValueError(f"bands_list={bands_list} contains a value that exceeds max_bands={self.max_bands}")
        results = []
        for b in bands_list:
            coef = optimize_banded_toeplitz(n=self.n, bands=b, reduction_fn=self.reduction_fn, **optimizer_kwargs)
            results.append({"bands": b, "coef": coef, "loss": self.amplified_bandmf_loss(coef)})
        return results

    def optimize_bands(self, **optimizer_kwargs: Any) -> dict:
        """The result of `compute_loss_for_bands` with the least loss (the first on ties)."""
        results = self.compute_loss_for_bands(**optimizer_kwargs)
        return results[int(np.argmin([r["loss"] for r in results]))]


def optimize_coefs_for_amplifications(n: int, *, dataset_size: int, expected_batch_size: int, epsilon: float,
                                      delta: float, max_optimizer_steps: int = 250, reduction_fn: Any = np.mean,
                                      callback: Optional[Callable[[CallbackArgs], Any]] = None,
                                      progress: Union[bool, int] = False, gtol: float = 0.0, ftol: float = 0.0,
                                      return_info: bool = False
                                      ) -> Union[Tuple[np.ndarray, float], Tuple[np.ndarray, float, OptimizeInfo]]:
    """Chooses the number of bands (and its coefficients) with the least error subject to an
    (epsilon, delta) target under amplification by block-cyclic Poisson sampling (Theorem 4 and
    Algorithm 2 of arXiv:2306.08153): fewer bands amplify more, more bands correlate more.

    Only numbers of bands dividing dataset_size, up to dataset_size // expected_batch_size, are
    tried; each is optimized by `optimize_banded_toeplitz` (with the tolerances and the
    callback, whose step restarts from 0 with each candidate), and its noise calibrated by RDP
    accounting of the Poisson-subsampled Gaussian (dp_accounting's default orders).

    Cost: one optimization (O(T b + n) per step) and one noise calibration (milliseconds) per
    candidate; the result needs max_bands doubles.

    Parameters
    ----------
    n : int
        The number of steps.
    dataset_size : int
        The number of examples.
    expected_batch_size : int
        The expected batch size (1 <= expected_batch_size <= dataset_size).
    epsilon, delta : float
        The (epsilon, delta)-DP target.
    max_optimizer_steps : int
        L-BFGS steps per candidate.
    reduction_fn : callable or str
        np.mean (default), np.max, 'mean', 'max' or 'last'.
    callback : callable, optional
        Called with `CallbackArgs(step, loss, grad_norm)` after every step of every
        candidate's run; a true return stops that run.
    progress : bool or int, default False
        As for `optimize_banded_toeplitz`, anew for each candidate ("... (run r)").
    gtol, ftol : float, default 0
        Each run's tolerances, as for `optimize_banded_toeplitz`.
    return_info : bool, default False
        Also return the chosen candidate's `optimization.OptimizeInfo`.

    Returns
    -------
    tuple of (numpy.ndarray, float) or (numpy.ndarray, float, OptimizeInfo)
        The coefficients (unit norm; their length is the chosen number of bands), the
        standard deviation of the uncorrelated noise z that reaches the target, and with
        ``return_info=True`` the chosen run's report.

    Raises
    ------
    ValueError
        Sizes out of range, a target that no noise multiplier in [0.01, 100 sqrt(batch)] meets,
        a negative tolerance. Exceptions raised by the callback propagate.
    TypeError
        Arguments of the wrong type.

    Examples
    --------
    >>> coef, stddev = optimize_coefs_for_amplifications(
    ...     64, dataset_size=160, expected_batch_size=20, epsilon=2.0, delta=1e-6, max_optimizer_steps=20)
    >>> len(coef) in (1, 2, 4, 5, 8), stddev > 0
    (True, True)
    """
    function = "optimize_coefs_for_amplifications"
    n = _args.positive_int(n, "n", function)
    dataset_size = _args.positive_int(dataset_size, "dataset_size", function)
    batch = _args.positive_int(expected_batch_size, "expected_batch_size", function)
    epsilon, delta = _args.real(epsilon, "epsilon", function), _args.real(delta, "delta", function)
    steps = _args.steps_int(max_optimizer_steps, function)
    code, weights = _reduction_code(reduction_fn, n, function)
    if weights is not None:
        raise ValueError(f"{function}: reduction_fn must be 'mean', 'max' or 'last'")
    run = Run(function, callback, progress, steps, gtol, ftol, runs=True)
    out = np.empty(max(1, dataset_size // batch))
    bands, stddev = ctypes.c_int64(), ctypes.c_double()
    with run:
        _ffi.call("mfkit_toeplitz_optimize_for_amplifications", n, dataset_size, batch, epsilon, delta, steps, code,
                  run.gtol, run.ftol, run.c_callback, None, _ffi.describe(out, "out", writable=True),
                  ctypes.byref(bands), ctypes.byref(stddev), *run.report.pointers(), function=function)
    info = run.finish("the best coefficients of the runs so far")
    coef = out[:bands.value].copy()
    return (coef, stddev.value, info) if return_info else (coef, stddev.value)

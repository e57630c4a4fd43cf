"""Dense (explicitly represented) strategies: the per-query error of a general matrix mechanism,
the fixed-epoch orthogonality mask, the strategy of a Gram matrix, and the optimal strategy.

Names, arguments, defaults and numbers follow `jax_privacy.matrix_factorization.dense`:

    >>> import numpy as np
    >>> from mfkit import dense, sensitivity
    >>> C = dense.optimize(64)                          # single participation, prefix sums
    >>> round(float(dense.per_query_error(strategy_matrix=C).mean()), 4)
    4.4094
    >>> round(sensitivity.single_participation_sensitivity(C), 12)
    1.0

Notation as in jax_privacy: A the workload (k x n; default prefix sums, `np.tri(n)`), C the
strategy (n x n, lower-triangular), C^-1 a noising matrix (n x m), B = A C^-1, X = C^T C. The
work is done by libmfkit.so in float64 on OpenBLAS (the copy NumPy loaded; see the README's
"BLAS/LAPACK"); without a BLAS/LAPACK these functions raise `mfkit.Unavailable`.

`optimize` runs jax_privacy's optimizer (optax's L-BFGS with one pair and its backtracking line
search, on the projected gradient) and so reaches jax_privacy's strategies; the sensitivity of
a result comes from `mfkit.sensitivity` (e.g. `fixed_epoch_sensitivity(C, epochs)`).

Differences on purpose:
- `reduction_fn` is recognized, not differentiated: np.mean (the default, jax_privacy's
  jnp.mean), np.max (a subgradient at the first arg-max), `lambda v: v[-1]`, their names
  'mean', 'max', 'last', or a vector of per-query weights (loss = weights @ errors);
- the callback receives `CallbackArgs(step, loss, grad, params, state=None)` with copies of the
  projected gradient and of X; `callback=None` runs every step; Ctrl-C returns the strategy so
  far (with a warning);
- `strategy_from_X` raises ValueError for an X that is not positive definite (jax_privacy
  returns NaN), `get_orthogonal_mask` and `optimize` require epochs to divide n;
- results keep the input dtype (float32 stays float32) and accept `out=`.
"""
from __future__ import annotations

import ctypes
import dataclasses
import warnings
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _args, _ffi
from .banded import _reduction
from .optimization import interruptible
from .sensitivity import _call, _real

__all__ = ["per_query_error", "get_orthogonal_mask", "strategy_from_X", "loss_and_gradient", "pg_tol_termination_fn",
           "CallbackArgs", "optimize"]


@dataclasses.dataclass
class CallbackArgs:
    """What `optimize` passes to its callback after every step (jax_privacy's fields).

    Attributes
    ----------
    step : int
        The step index, from 0.
    loss : float
        The loss at the point the step started from.
    grad : numpy.ndarray
        The projected gradient there (n x n, a copy).
    params : numpy.ndarray
        X after the step (n x n, a copy).
    state : None
        jax_privacy's optimizer state; MFKit has none to show.

    Examples
    --------
    >>> import numpy as np
    >>> info = CallbackArgs(step=0, loss=2.0, grad=np.zeros((2, 2)), params=np.eye(2))
    >>> info.step, info.state
    (0, None)
    """

    step: int
    loss: float
    grad: Optional[np.ndarray]
    params: np.ndarray
    state: Any = None


def _result(out: Any, shape: Tuple[int, ...], dtype: Any, function: str, shape_from: str) -> np.ndarray:
    """`out` checked as a writable float32/float64 array of `shape`, or a new array of `dtype`."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    return _args.output(out, "out", function, shape=shape, shape_from=shape_from)


def per_query_error(*, strategy_matrix: Optional[npt.ArrayLike] = None, noising_matrix: Optional[npt.ArrayLike] = None,
                    workload_matrix: Optional[npt.ArrayLike] = None, skip_checks: bool = False,
                    out: Optional[np.ndarray] = None) -> np.ndarray:
    """Expected per-query squared error of a general matrix mechanism: the squared row norms of
    the decoder B = A C^-1.

    Exactly one of `strategy_matrix` and `noising_matrix` is given.

    Parameters
    ----------
    strategy_matrix : array_like, optional
        The square strategy C (n x n).
    noising_matrix : array_like, optional
        The noising matrix C^-1 (n x m, possibly not square).
    workload_matrix : array_like, optional
        The workload A (n x n, or k x n with `skip_checks`); default prefix sums (`np.tri(n)`).
    skip_checks : bool
        Skip the value checks (finite, square, lower-triangular A, B and C).
    out : numpy.ndarray, optional
        Written in place (length k, float32 or float64).

    Returns
    -------
    numpy.ndarray
        e (length k), float32 when every matrix given is float32, else float64.

    Raises
    ------
    ValueError
        Neither or both matrices given; a failed check ("Matrix B is not finite" for a
        singular C, ...), with jax_privacy's wording.
    mfkit.Unavailable
        No BLAS/LAPACK could be loaded.

    Cost: n^3/3 flops for C with prefix sums (a triangular inverse), n^2 k for C with a general
    A, 2n^3/3 + 2n^2 k for a C that is not exactly lower-triangular (LU); O(n m) or 2 k n m for
    C^-1; memory n^2 + k m doubles.

    Examples
    --------
    >>> import numpy as np
    >>> per_query_error(strategy_matrix=np.array([[1, 0], [0.5, 1]]))
    array([1.  , 1.25])
    """
    function = "per_query_error"
    if (strategy_matrix is None) == (noising_matrix is None):
        raise ValueError("Specify exactly one of strategy_matrix or noising_matrix.")
    name = "strategy_matrix" if strategy_matrix is not None else "noising_matrix"
    M = _real(strategy_matrix if strategy_matrix is not None else noising_matrix, name, function)
    A = None if workload_matrix is None else _real(workload_matrix, "workload_matrix", function)
    if M.ndim == 2 and (A is None or A.ndim == 2):
        k = M.shape[1] if A is None and strategy_matrix is not None else (M.shape[0] if A is None else A.shape[0])
    else:
        k = 0
    dtype = np.result_type(*(x.dtype for x in (M, A) if x is not None))
    result = _result(out, (k,), dtype, function, "the workload's rows")
    describe = {"strategy_matrix": None, "noising_matrix": None}
    describe[name] = ctypes.byref(_ffi.describe(M, name))
    matrices = {name: M, "C": M} if strategy_matrix is not None else {name: M}
    if A is not None:
        matrices["A"] = A
    _call(function, "mfkit_dense_per_query_error", matrices, describe["strategy_matrix"], describe["noising_matrix"],
          None if A is None else ctypes.byref(_ffi.describe(A, "workload_matrix")), int(bool(skip_checks)),
          _ffi.describe(result, "out", writable=True))
    return result


def get_orthogonal_mask(n: int, epochs: int = 1, *, out: Optional[np.ndarray] = None) -> np.ndarray:
    """The mask of the orthogonality constraints of (epochs, b)-fixed-epoch-order participation
    (b = n / epochs): M[i, j] = 0 when i != j and i = j (mod b), 1 elsewhere.

    Parameters
    ----------
    n : int
        The size of the mask (>= 0).
    epochs : int
        The number of epochs (>= 1, dividing n).
    out : numpy.ndarray, optional
        Written in place ((n, n), float32 or float64).

    Returns
    -------
    numpy.ndarray
        The 0/1 mask, float64 (n x n).

    Raises
    ------
    ValueError
        n < 0, epochs < 1 or not dividing n.

    Cost: O(n^2) time and n^2 doubles of memory.

    Examples
    --------
    >>> get_orthogonal_mask(4, 2)
    array([[1., 1., 0., 1.],
           [1., 1., 1., 0.],
           [0., 1., 1., 1.],
           [1., 0., 1., 1.]])
    """
    function = "get_orthogonal_mask"
    n, epochs = _args.integer(n, "n", function), _args.integer(epochs, "epochs", function)
    if n < 0:
        raise ValueError(f"{function}: n must be non-negative, got {n}")
    if n * n > 2**56:
        raise ValueError(f"{function}: n={n} is too large (an n x n mask would have {n * n} entries)")
    result = _result(out, (n, n), np.float64, function, f"n={n}")
    _ffi.call("mfkit_dense_orthogonal_mask", n, epochs, _ffi.describe(result, "out", writable=True), function=function)
    return result


def strategy_from_X(X: npt.ArrayLike, *, out: Optional[np.ndarray] = None) -> np.ndarray:
    """The lower-triangular strategy C with C^T C = X.

    With J the reversal of rows and columns, J X J = R R^T (Cholesky) and C = J R^T J; the
    symmetric part of X is used, as `jnp.linalg.cholesky` does.

    Parameters
    ----------
    X : array_like
        A symmetric positive definite n x n matrix.
    out : numpy.ndarray, optional
        Written in place ((n, n), float32 or float64; may be X itself).

    Returns
    -------
    numpy.ndarray
        C (n x n, lower-triangular), X's dtype (float32 or float64).

    Raises
    ------
    ValueError
        X not square, not finite or not positive definite.

    Cost: n^3/3 flops; memory n^2 doubles.

    Examples
    --------
    >>> import numpy as np
    >>> C = strategy_from_X(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> bool(np.allclose(C.T @ C, [[2, 1], [1, 2]])), float(C[0, 1])
    (True, 0.0)
    """
    function = "strategy_from_X"
    X = _real(X, "X", function)
    result = _result(out, X.shape if X.ndim == 2 else (0, 0), X.dtype, function, "X")
    _call(function, "mfkit_dense_strategy_from_x", {"X": X}, _ffi.describe(X, "X"),
          _ffi.describe(result, "out", writable=True))
    return result


def _reduction_code(reduction_fn: Any, queries: int, function: str) -> Tuple[int, Optional[np.ndarray]]:
    """(code, weights or None) of a reduction; np.mean without probing."""
    if reduction_fn is np.mean:
        return _ffi.CONSTANTS["MFKIT_REDUCTION_MEAN"], None
    return _reduction(reduction_fn, queries, function)


def loss_and_gradient(X: npt.ArrayLike, A: Optional[npt.ArrayLike] = None,
                      reduction_fn: Union[str, Callable[[np.ndarray], Any], npt.ArrayLike] = np.mean
                      ) -> Tuple[float, np.ndarray]:
    """The loss `optimize` minimizes at the Gram matrix X and its (unprojected) gradient.

    L(X) = reduction_fn of the per-query errors e_j = (A X^-1 A^T)_jj (np.mean: sum(e) / n) and
    dL/dX = -Z diag(w) Z^T with Z = X^-1 A^T; for the mean, jax_privacy's
    `_mean_loss_and_gradient(X, A)` (also available under that name).

    Parameters
    ----------
    X : array_like
        Symmetric positive definite n x n (its lower triangle is read).
    A : array_like, optional
        The workload (k x n); default prefix sums.
    reduction_fn : callable, str or array_like
        As for `optimize`.

    Returns
    -------
    (float, numpy.ndarray)
        The loss and the gradient (n x n, float64, exactly symmetric).

    Raises
    ------
    ValueError
        X not square, not finite or not positive definite; A of the wrong shape.

    Cost: 2n^3 flops for prefix sums (n^3/3 + 3 n^2 k for a general A); memory 3 n^2 (+ 3 n k)
    doubles.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grad = loss_and_gradient(np.eye(3))
    >>> loss, np.round(grad[0], 12).tolist()      # mean of [1, 2, 3]; -(X^-1 A^T A X^-1)[0] / 3
    (2.0, [-1.0, -0.666666666667, -0.333333333333])
    """
    function = "loss_and_gradient"
    X = _real(X, "X", function)
    A = None if A is None else _real(A, "A", function)
    queries = A.shape[0] if A is not None and A.ndim == 2 else (X.shape[0] if X.ndim == 2 else 0)
    code, weights = _reduction_code(reduction_fn, queries, function)
    grad = np.empty(X.shape if X.ndim == 2 and X.shape[0] == X.shape[1] else (0, 0), dtype=np.float64)
    loss = ctypes.c_double()
    _call(function, "mfkit_dense_loss", {"X": X} if A is None else {"X": X, "A": A}, _ffi.describe(X, "X"),
          None if A is None else ctypes.byref(_ffi.describe(A, "A")), code,
          None if weights is None else ctypes.byref(_ffi.describe(weights, "weights")), ctypes.byref(loss),
          _ffi.describe(grad, "grad", writable=True))
    return loss.value, grad


def _mean_loss_and_gradient(X: npt.ArrayLike, A: npt.ArrayLike) -> Tuple[float, np.ndarray]:
    """jax_privacy's name for the mean-error loss and gradient: `loss_and_gradient(X, A)`."""
    return loss_and_gradient(X, A)


def pg_tol_termination_fn(step_info: CallbackArgs) -> bool:
    """jax_privacy's default callback of `optimize`: True (stop) once the projected gradient
    is near zero, max |grad| <= 1e-3.

    Parameters
    ----------
    step_info : CallbackArgs
        What `optimize` passed.

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        step_info has no projected gradient `grad`.

    Cost: O(n^2).

    Examples
    --------
    >>> import numpy as np
    >>> pg_tol_termination_fn(CallbackArgs(0, 1.0, np.full((2, 2), 1e-4), np.eye(2)))
    True
    """
    grad = getattr(step_info, "grad", None)
    if grad is None:
        raise TypeError(f"pg_tol_termination_fn: step_info must be a CallbackArgs with a gradient, got {type(step_info).__name__}")
    return bool(np.abs(np.asarray(grad)).max() <= 1e-3)


_PG_TOL = 1e-3


def optimize(n: int, *, epochs: int = 1, bands: Optional[int] = None, equal_norm: bool = False,
             A: Optional[npt.ArrayLike] = None, max_optimizer_steps: int = 10000,
             reduction_fn: Union[str, Callable[[np.ndarray], Any], npt.ArrayLike] = np.mean,
             callback: Optional[Callable[[CallbackArgs], Any]] = pg_tol_termination_fn) -> np.ndarray:
    """The strategy C minimizing the reduction of the per-query errors for workload A under
    participation constraints, with jax_privacy's optimizer and numbers.

    X = C^T C starts at I / epochs and is optimized on the projected gradient: the diagonal of
    the gradient keeps zero sum over each user's steps {j, j + b, ...} (b = n / epochs; all zero
    with `equal_norm`), so those sums of X stay 1; X[i, j] stays 0 for i != j with i = j (mod b)
    and, with `bands`, for |i - j| >= bands. Uses: single participation (defaults);
    fixed-epoch order (epochs=k); min-separation (bands=min_sep, equal_norm=True).

    Parameters
    ----------
    n : int
        The number of steps (>= 1).
    epochs : int
        Epochs of (epochs, n / epochs)-fixed-epoch order (>= 1, dividing n).
    bands : int, optional
        Keep X banded: X[i, j] = 0 for |i - j| >= bands (>= 1).
    equal_norm : bool
        Keep every column norm of C at 1 / sqrt(epochs) (the diagonal of X fixed).
    A : array_like, optional
        The workload (k x n, finite); default prefix sums.
    max_optimizer_steps : int
        The most L-BFGS steps (>= 0).
    reduction_fn : callable, str or array_like
        np.mean (default; the loss is sum(errors) / n), np.max, `lambda v: v[-1]` (recognized
        by their values), 'mean', 'max', 'last', or per-query weights (length k).
    callback : callable, optional
        Called with `CallbackArgs` after every step; a true return stops. The default stops
        once max |projected gradient| <= 1e-3 (checked in the library, without copies);
        None runs every step.

    Returns
    -------
    numpy.ndarray
        C (n x n, float64, lower-triangular).

    Raises
    ------
    ValueError, TypeError
        Bad arguments (n, epochs, bands, A, reduction_fn).
    mfkit.Unavailable
        No BLAS/LAPACK could be loaded.

    Cost: per step, over `mfkit.num_threads()` cores, 2n^3 flops for prefix sums (Cholesky,
    triangular inverse, X^-1, one rank-n update; n^3/3 + 3 n^2 k for a general A), plus 2n^3/3
    (n^3/3 + n^2 k) per line-search trial after the first; O(n^2) more. Memory 7 n^2 doubles
    (+ 3 n k); 940 MB at n = 4096.

    Examples
    --------
    >>> C = optimize(16, epochs=4, max_optimizer_steps=50)
    >>> from mfkit import sensitivity
    >>> round(sensitivity.fixed_epoch_sensitivity(C, 4), 9)
    1.0
    """
    function = "optimize"
    n = _args.positive_int(n, "n", function)
    epochs = _args.positive_int(epochs, "epochs", function)
    bands_p = None if bands is None else ctypes.byref(ctypes.c_int64(_args.positive_int(bands, "bands", function)))
    max_optimizer_steps = _args.steps_int(max_optimizer_steps, function)
    A = None if A is None else _real(A, "A", function)
    queries = A.shape[0] if A is not None and A.ndim == 2 else n
    code, weights = _reduction_code(reduction_fn, queries, function)
    result = np.empty((n, n), dtype=np.float64)
    state = {"error": None, "interrupted": False}
    native_tolerance = callback is pg_tol_termination_fn   # checked in the library, no copies
    user_callback = None if native_tolerance else callback

    def on_step(_user, step, loss, grad, x, size):
        try:
            if state["interrupted"]:
                return 1
            if user_callback is not None and user_callback(CallbackArgs(
                    int(step), float(loss), np.ctypeslib.as_array(grad, (size, size)).copy(),
                    np.ctypeslib.as_array(x, (size, size)).copy())):
                return 1
            return 0
        except KeyboardInterrupt:
            state["interrupted"] = True
        except BaseException as exc:  # noqa: BLE001 - re-raised after the library returns
            state["error"] = exc
        return 1

    c_callback = _ffi.CALLBACKS["mfkit_dense_callback"](on_step)
    wdesc = None if weights is None else ctypes.byref(_ffi.describe(weights, "weights"))
    with interruptible(state):
        _ffi.call("mfkit_dense_optimize", n, epochs, bands_p, int(bool(equal_norm)),
                  None if A is None else ctypes.byref(_ffi.describe(A, "A")), max_optimizer_steps, code, wdesc,
                  ctypes.byref(ctypes.c_double(_PG_TOL)) if native_tolerance else None, c_callback, None, None, None,
                  _ffi.describe(result, "out", writable=True), function=function)
    if state["error"] is not None:
        raise state["error"]
    if state["interrupted"]:
        warnings.warn("optimize: interrupted; returning the strategy so far", RuntimeWarning, stacklevel=2)
    return result

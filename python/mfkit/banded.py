"""Banded matrix-factorization strategies (DP-BandMF): the strategy C, its streaming inverse
for correlated noise, its error under a workload, and its optimization.

Names, arguments and defaults follow `jax_privacy.matrix_factorization.banded`:

    >>> from mfkit import banded
    >>> C = banded.optimize(64, bands=4, max_optimizer_steps=20)  # L-BFGS from the default strategy
    >>> bool(banded.per_query_error(C).mean() < banded.per_query_error(banded.ColumnNormalizedBanded.default(64, 4)).mean())
    True
    >>> noise = C.inverse_as_streaming_matrix()                  # C^{-1} z, one training step at a time

Parameter layout (n x b `params`): C_raw[j + r, j] = params[j, r] for j + r < n, and
C = C_raw with every column divided by its norm.

Differences on purpose:
- entries of params outside the matrix (j + r >= n, the lower-right triangle) are ignored
  everywhere (jax_privacy's materialize ignores them, its streaming inverse counts them in the
  column norm); the two agree when that triangle is zero, as for every strategy made by
  `default`, `from_banded_toeplitz` and `optimize`;
- past row n the inverse continues as the identity ((C^{-1} z)[t] = z[t] for t >= n, what
  jax_privacy's index clipping gives for a zero triangle and a positive params[n-1, 0]);
- the inverse keeps the noise's dtype (float32 stays float32) and works in place;
- `per_query_error` costs O(n b^2) (a covariance recursion) instead of O(n^2 b), for workloads
  built from prefix_sum, momentum_sgd_matrix, diagonal and identity; other workloads raise
  ValueError;
- strategies pickle and copy (each copy owns its library handle) and compare equal when their
  params are equal;
- `optimize` runs MFKit's L-BFGS (memory 10, strong Wolfe line search) in float64 with the
  columns of C kept at unit norm; for 'max' it minimizes a log-sum-exp of the errors with a
  decreasing temperature, for 'last' (or weights with zeros) the loss plus a vanishing
  barrier -sum log C[j, j]^2 (such losses are least at singular strategies, which plain
  descent approaches only slowly); tolerances `gtol`/`ftol` (default 0: every step, as
  jax_privacy) and `return_info=True` (the stop reason) are added; it accepts
  `reduction_fn` = 'mean', 'max', 'last', np.mean, np.max, `lambda v: v[-1]`, or a vector of
  per-query weights; `callback` receives `CallbackArgs(step, loss, grad_norm)`; `progress=True`
  shows a tqdm bar with the loss (printed lines without tqdm); Ctrl-C stops it and returns the
  best strategy so far;
- `per_query_error` and `loss_and_gradient` raise ValueError for a strategy too close to
  singular to evaluate accurately (jax_privacy returns its value whatever its accuracy).
"""
from __future__ import annotations

import ctypes
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _args, _ffi, optimization
from ._handle import HandleOwner
from .optimization import CallbackArgs
from .streaming_matrix import StreamingMatrix

__all__ = [
    "ColumnNormalizedBanded",
    "CallbackArgs",
    "minsep_sensitivity_squared",
    "per_query_error",
    "loss_and_gradient",
    "optimize",
]

_REDUCTIONS = {name: _ffi.CONSTANTS[f"MFKIT_REDUCTION_{name.upper()}"] for name in ("mean", "max", "last")}


class ColumnNormalizedBanded(HandleOwner):
    """A column-normalized banded lower-triangular n x n strategy, parameterized by an n x b
    array `params` (a read-only float64 copy). Immutable; may be shared between threads.

    Cost: time and memory O(n b) to make.

    Parameters
    ----------
    params : 2-D real array or nested list, shape (n, bands)
        1 <= bands <= n, finite values, nonzero diagonal params[:, 0] (else C is singular);
        float32, float64, integer or bool, any strides (copied by the library, not before).

    Raises
    ------
    ValueError
        params is not two-dimensional, has more bands than rows, is not finite, has a zero
        in params[:, 0], or holds numbers beyond float range.
    TypeError
        params is not real numbers.
    MemoryError
        n x bands is too large to hold.

    Examples
    --------
    >>> import copy
    >>> from mfkit.banded import ColumnNormalizedBanded
    >>> C = ColumnNormalizedBanded([[1, 1], [1, 0]])
    >>> C.materialize()
    array([[0.70710678, 0.        ],
           [0.70710678, 1.        ]])
    >>> copy.deepcopy(C) == C
    True
    """

    __slots__ = ("params",)
    _FREE = "mfkit_banded_free"

    def __init__(self, params: npt.ArrayLike) -> None:
        function = "ColumnNormalizedBanded"
        view = _args.array(params, "params", function, scalars=True, sequences=True)
        if view.ndim != 2:
            raise ValueError(f"{function}: params must be two-dimensional (n, bands), got shape {view.shape}")
        self._adopt(_ffi.new_handle("mfkit_banded_create", _ffi.describe(view, "params"), function=function))
        self._read_params()

    def _read_params(self) -> None:
        n, b = ctypes.c_int64(), ctypes.c_int64()
        _ffi.call("mfkit_banded_shape", self._handle, ctypes.byref(n), ctypes.byref(b), function="shape")
        params = np.empty((n.value, b.value), dtype=np.float64)
        _ffi.call("mfkit_banded_params", self._handle, _ffi.describe(params, "params", writable=True),
                  function="params")
        params.setflags(write=False)
        self.params = params

    @classmethod
    def _from_handle(cls, handle: ctypes.c_void_p) -> "ColumnNormalizedBanded":
        self = cls.__new__(cls)
        self._adopt(handle)  # owned from here on
        self._read_params()
        return self

    def __reduce__(self):
        return (ColumnNormalizedBanded, (self.params,))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ColumnNormalizedBanded):
            return NotImplemented
        return other is self or (self.params.shape == other.params.shape
                                 and bool(np.array_equal(self.params, other.params)))

    def __hash__(self) -> int:
        return hash(("ColumnNormalizedBanded", self.params.shape))

    @property
    def n(self) -> int:
        """The number of steps (rows of params)."""
        return self.params.shape[0]

    @property
    def bands(self) -> int:
        """The number of bands (columns of params)."""
        return self.params.shape[1]

    def __repr__(self) -> str:
        return f"<mfkit ColumnNormalizedBanded n={self.n} bands={self.bands}>"

    @classmethod
    def from_banded_toeplitz(cls, n: int, coefs: npt.ArrayLike) -> "ColumnNormalizedBanded":
        """The banded Toeplitz strategy with coefficients `coefs`, normalized to unit norm; the
        lower-right triangle of params is zero.

        Cost: time and memory O(n b).

        Parameters
        ----------
        n : int
            The number of steps (positive).
        coefs : real array or list
            b = coefs.size coefficients, 1 <= b <= n, coefs[0] != 0.

        Returns
        -------
        ColumnNormalizedBanded

        Raises
        ------
        ValueError
            n not positive; len(coefs) not in [1, n]; coefs not finite or coefs[0] == 0.
        TypeError
            n is not an integer; coefs are not real numbers.
        MemoryError
            n x b is too large.

        Examples
        --------
        >>> from mfkit.banded import ColumnNormalizedBanded
        >>> ColumnNormalizedBanded.from_banded_toeplitz(3, [3, 4]).params
        array([[0.6, 0.8],
               [0.6, 0.8],
               [0.6, 0. ]])
        """
        function = "from_banded_toeplitz"
        n = _args.positive_int(n, "n", function)
        coefs = _args.array(coefs, "coefs", function, scalars=True, sequences=True)
        if coefs.ndim != 1:
            if not 1 <= coefs.size <= n:  # before reshape(-1), which may copy
                raise ValueError(f"len(coefs) must be in the range [1, n], got {coefs.size}")
            coefs = coefs.reshape(-1)
        return cls._from_handle(_ffi.new_handle("mfkit_banded_from_banded_toeplitz", n, _ffi.describe(coefs, "coefs"),
                                                function=function))

    @classmethod
    def default(cls, n: int, bands: int) -> "ColumnNormalizedBanded":
        """The Toeplitz strategy of Fichtenberger et al. (2023, Algorithm 1), f_0 = 1,
        f_k = f_{k-1} (2k - 1) / (2k), truncated to `bands` coefficients and column-normalized.
        A good start for `optimize`.

        Cost: time and memory O(n b).

        Parameters
        ----------
        n : int
            The number of steps (positive).
        bands : int
            1 <= bands <= n.

        Returns
        -------
        ColumnNormalizedBanded

        Raises
        ------
        ValueError
            n or bands not positive, bands > n, or either beyond 64 bits.
        TypeError
            n or bands is not an integer.
        MemoryError
            n x bands is too large.

        Examples
        --------
        >>> from mfkit.banded import ColumnNormalizedBanded
        >>> ColumnNormalizedBanded.default(2, 2).params.round(4)
        array([[0.8944, 0.4472],
               [0.8944, 0.    ]])
        """
        n = _args.positive_int(n, "n", "default")
        bands = _args.positive_int(bands, "bands", "default")
        return cls._from_handle(_ffi.new_handle("mfkit_banded_default", n, bands, function="default"))

    def materialize(self, dtype: npt.DTypeLike = None, out: Any = None) -> Any:
        """The dense n x n matrix C.

        Cost: time and memory O(n^2).

        Parameters
        ----------
        dtype : float32 or float64, optional
            The result's dtype (default float64, or out's dtype).
        out : array, optional
            A writable (n, n) float32 or float64 array (NumPy or torch CPU tensor), any
            strides, written in place and returned.

        Returns
        -------
        numpy.ndarray
            C (or `out`).

        Raises
        ------
        ValueError
            out's shape is not (n, n); out is read-only or overlaps itself.
        TypeError
            dtype or out's dtype is not float32 / float64, or they differ.

        Examples
        --------
        >>> from mfkit.banded import ColumnNormalizedBanded
        >>> ColumnNormalizedBanded([[2.0], [1.0]]).materialize(dtype="float32")
        array([[1., 0.],
               [0., 1.]], dtype=float32)
        """
        function = "materialize"
        dtype = None if dtype is None else _args.real_dtype(dtype, function)
        if out is None:
            result = view = np.empty((self.n, self.n), dtype=dtype or np.float64)
        else:
            result, view = out, _args.output(out, "out", function, shape=(self.n, self.n),
                                             shape_from=f"the strategy's n={self.n}", dtype=dtype)
        _ffi.call("mfkit_banded_materialize", self._handle, _ffi.describe(view, "out", writable=True),
                  function=function)
        return result

    def inverse_as_streaming_matrix(self) -> StreamingMatrix:
        """C^{-1} as a StreamingMatrix, for correlated noise: `multiply_array(Cinv, z, out=z)`
        (in place, any float32/float64 array of shape (steps, ...)) or `Cinv.stream(shape)`
        one training step at a time. Past row n it is the identity.

        Cost: O(n b) to make; a step costs O(m b) for m elements per slice and keeps b - 1
        slices of state.

        Returns
        -------
        StreamingMatrix

        Raises
        ------
        MemoryError
            Never in practice (the inverse shares the strategy's parameters).

        Examples
        --------
        >>> import numpy as np
        >>> from mfkit.banded import ColumnNormalizedBanded
        >>> C = ColumnNormalizedBanded.default(4, 2)
        >>> z = np.arange(4.0)
        >>> np.allclose(C.materialize() @ (C.inverse_as_streaming_matrix() @ z), z)
        True
        """
        handle = _ffi.new_handle("mfkit_banded_inverse", self._handle, function="inverse_as_streaming_matrix")
        return StreamingMatrix._new(handle, ("banded_inverse", self.params))


def _strategy(C: Any, function: str) -> ColumnNormalizedBanded:
    if not isinstance(C, ColumnNormalizedBanded):
        raise TypeError(f"{function}: C must be a ColumnNormalizedBanded, got {type(C).__name__}")
    return C


def _workload(A: Any, function: str) -> Optional[ctypes.c_void_p]:
    if A is None:
        return None
    if not isinstance(A, StreamingMatrix):
        raise TypeError(f"{function}: A must be a StreamingMatrix or None, got {type(A).__name__}")
    return A._handle


def _int_pointer(value: Any, name: str, function: str) -> Any:
    """NULL for None, else a pointer to the positive int64 `value`."""
    return None if value is None else ctypes.byref(ctypes.c_int64(_args.positive_int(value, name, function)))


def minsep_sensitivity_squared(strategy: ColumnNormalizedBanded, min_sep: int,
                               max_participations: Optional[int] = None, n: Optional[int] = None,
                               skip_checks: bool = False) -> int:
    """Squared sensitivity of `strategy` under min_sep participation (min_sep >= bands):
    min(max_participations, ceil(n / min_sep)).

    Cost: O(1).

    Parameters
    ----------
    strategy : ColumnNormalizedBanded
    min_sep : int
        The minimum separation between two participations (positive).
    max_participations : int, optional
        The cap on participations (positive); None: as many as n and min_sep allow.
    n : int, optional
        The number of steps (positive; default strategy.n).
    skip_checks : bool
        Skip the checks min_sep >= bands and n <= strategy.n.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        min_sep < bands or n > strategy.n (unless skip_checks); an integer not positive or
        beyond 64 bits.
    TypeError
        strategy is not a ColumnNormalizedBanded; an integer argument is not an integer.

    Examples
    --------
    >>> from mfkit import banded
    >>> C = banded.ColumnNormalizedBanded.default(32, 4)
    >>> banded.minsep_sensitivity_squared(C, 4), banded.minsep_sensitivity_squared(C, 4, 6)
    (8, 6)
    """
    function = "minsep_sensitivity_squared"
    strategy = _strategy(strategy, function)
    min_sep = _args.positive_int(min_sep, "min_sep", function)
    k = _int_pointer(max_participations, "max_participations", function)
    rounds = _int_pointer(n, "n", function)
    out = ctypes.c_int64()
    _ffi.call("mfkit_banded_minsep_sensitivity_squared", strategy._handle, min_sep, k, rounds,
              int(bool(skip_checks)), ctypes.byref(out), function=function)
    return out.value


def per_query_error(C: ColumnNormalizedBanded, A: Optional[StreamingMatrix] = None, scan_fn: Any = None) -> np.ndarray:
    """Expected squared error of every query, e_t = ||(A C^{-1})[t, :n]||^2.

    Cost: time O(n (b + q)^2) for a workload state of q numbers (prefix sum 1, momentum 2);
    memory O((b + q)^2); about 5x the time for a C close to singular (see Notes).

    Parameters
    ----------
    C : ColumnNormalizedBanded
    A : StreamingMatrix, optional
        The workload (default prefix_sum()), built from prefix_sum, momentum_sgd_matrix,
        diagonal, identity (products, scalings).
    scan_fn : any
        Accepted for compatibility with jax_privacy and ignored (no scan, no memory limit to
        work around).

    Returns
    -------
    numpy.ndarray
        float64, shape (n,).

    Raises
    ------
    ValueError
        A holds a stage the error model does not know (e.g. a banded inverse); C is too close
        to singular for an accurate result (the message gives its smallest diagonal entry and
        the estimated error).
    TypeError
        C is not a ColumnNormalizedBanded; A is not a StreamingMatrix.
    MemoryError
        The workload's per-step maps are too large.

    Notes
    -----
    A covariance recursion on C's unit columns (so the scale of the params does not matter),
    against O(n^2 b) for streaming n unit vectors. Where C is close to singular (a column's
    diagonal small next to its other entries) A C^{-1} is small only by cancellation, which
    the covariances cannot carry; the recursion estimates its own rounding error, and where
    that passes 1e-10 the errors are recomputed by a square-root recursion, as accurate as
    streaming the rows of A C^{-1}: about 1e-16 times the largest entries of C^{-1}. Beyond
    1e-4 it raises instead of returning a wrong value.

    Examples
    --------
    >>> from mfkit import banded
    >>> banded.per_query_error(banded.ColumnNormalizedBanded([[1.0], [1.0]]))
    array([1., 2.])
    >>> C = banded.ColumnNormalizedBanded([[1.0, 1.0], [1e-8, 1.0], [1.0, 0.0]])   # nearly singular
    >>> [round(float(x), 6) for x in banded.per_query_error(C)[[0, 2]]]             # exact: 2 and 3
    [2.0, 3.0]
    """
    C = _strategy(C, "per_query_error")
    out = np.empty(C.n, dtype=np.float64)
    _ffi.call("mfkit_banded_per_query_error", C._handle, _workload(A, "per_query_error"),
              _ffi.describe(out, "out", writable=True), function="per_query_error")
    return out


def _reduction(reduction_fn: Any, n: int, function: str) -> Tuple[int, Optional[np.ndarray]]:
    """(code, weights array or None) for a reduction given as a name, a callable or weights."""
    if isinstance(reduction_fn, str):
        if reduction_fn not in _REDUCTIONS:
            raise ValueError(f"{function}: reduction_fn must be 'mean', 'max', 'last', a callable or weights, got {reduction_fn!r}")
        return _REDUCTIONS[reduction_fn], None
    if callable(reduction_fn):
        # Recognize the reduction by what it does to two probe vectors.
        # The last entry is the smallest in the first probe, so max, mean and last differ.
        rng = np.random.default_rng(0)
        probes = [rng.standard_normal(n) for _ in range(2)]
        probes[0][-1] = probes[0].min() - 1.0
        try:
            values = [float(np.asarray(reduction_fn(p))) for p in probes]
        except Exception as exc:  # noqa: BLE001 - the user's function failed on a vector
            raise ValueError(f"{function}: reduction_fn failed on a vector of length {n}: {exc}") from None
        for name, ref in (("mean", np.mean), ("max", np.max), ("last", lambda v: v[-1])):
            if all(np.isclose(v, ref(p), rtol=1e-12, atol=1e-12) for v, p in zip(values, probes)):
                return _REDUCTIONS[name], None
        raise ValueError(f"{function}: reduction_fn is not recognized as mean, max or last; "
                         "pass 'mean', 'max', 'last' or a vector of per-query weights")
    weights = _args.array(reduction_fn, "reduction_fn", function, scalars=True, sequences=True)
    if weights.shape != (n,):
        raise ValueError(f"{function}: weights must have shape ({n},), got {weights.shape}")
    return _ffi.CONSTANTS["MFKIT_REDUCTION_WEIGHTS"], weights


def loss_and_gradient(C: ColumnNormalizedBanded, A: Optional[StreamingMatrix] = None,
                      reduction_fn: Union[str, Callable[[np.ndarray], Any], npt.ArrayLike] = "mean"
                      ) -> Tuple[float, np.ndarray]:
    """(loss, gradient): loss = reduction_fn(per_query_error(C, A)) and its gradient with
    respect to C.params.

    Cost: adjoint recursion, time about 5 n (b + q)^2 (the checkpoint recomputation on a
    second core), memory O(n b + sqrt(n) (b + q)^2).

    Parameters
    ----------
    C : ColumnNormalizedBanded
    A : StreamingMatrix, optional
        The workload (default prefix_sum()), as for per_query_error.
    reduction_fn : 'mean', 'max', 'last', a callable recognized as one of them, or weights
        'max' gives a subgradient at the first arg-max; a vector of n per-query weights gives
        loss = weights @ errors.

    Returns
    -------
    tuple of (float, numpy.ndarray)
        The loss (computed as per_query_error's values are) and its float64 (n, b) gradient:
        zero on the lower-right triangle and orthogonal to every row of params (the loss does
        not depend on the scale of a column of C).

    Raises
    ------
    ValueError
        An unknown reduction; weights of another length or not finite; an unsupported
        workload; a strategy too close to singular for a trustworthy gradient (estimated
        relative rounding error above 1e-6; the message gives its smallest diagonal entry).
    TypeError
        C or A of the wrong type; weights not real numbers.
    MemoryError
        The error model's work space is too large.

    Examples
    --------
    >>> from mfkit import banded
    >>> C = banded.ColumnNormalizedBanded.default(8, 2)
    >>> loss, grad = banded.loss_and_gradient(C)
    >>> grad.shape, bool(np.allclose(np.sum(grad * C.params, axis=1), 0))
    ((8, 2), True)
    """
    C = _strategy(C, "loss_and_gradient")
    code, weights = _reduction(reduction_fn, C.n, "loss_and_gradient")
    loss = ctypes.c_double()
    grad = np.empty((C.n, C.bands), dtype=np.float64)
    wdesc = None if weights is None else ctypes.byref(_ffi.describe(weights, "weights"))
    _ffi.call("mfkit_banded_loss", C._handle, _workload(A, "loss_and_gradient"), code, wdesc,
              ctypes.byref(loss), _ffi.describe(grad, "grad", writable=True), function="loss_and_gradient")
    return loss.value, grad


def optimize(n: int, *, bands: int, C: Optional[ColumnNormalizedBanded] = None, A: Optional[StreamingMatrix] = None,
             max_optimizer_steps: int = 100,
             reduction_fn: Union[str, Callable[[np.ndarray], Any], npt.ArrayLike] = "mean",
             scan_fn: Any = None, callback: Optional[Callable[[CallbackArgs], Any]] = None,
             progress: Union[bool, int] = False, gtol: float = 0.0, ftol: float = 0.0,
             return_info: bool = False
             ) -> Union[ColumnNormalizedBanded, Tuple[ColumnNormalizedBanded, optimization.OptimizeInfo]]:
    """Optimizes a banded strategy for workload A by L-BFGS from C, minimizing reduction_fn of
    the per-query error, and returns the best strategy found.

    Ctrl-C stops the run and returns the best strategy so far (with a warning). Runs in float64.

    Cost: per step usually one loss-and-gradient evaluation, O(n (b + q)^2), plus O(10 n b)
    for L-BFGS; memory O(sqrt(n) b^2 + 26 n b) doubles (the L-BFGS memory shrinks to stay
    under about 1 GB).

    Parameters
    ----------
    n : int
        The number of steps (positive).
    bands : int
        1 <= bands <= n.
    C : ColumnNormalizedBanded, optional
        The start (default `ColumnNormalizedBanded.default(n, bands)`); shape (n, bands).
    A : StreamingMatrix, optional
        The workload (default prefix_sum()).
    max_optimizer_steps : int
        At most this many steps (>= 0).
    reduction_fn : 'mean', 'max', 'last', np.mean, np.max, `lambda v: v[-1]`, or weights
        A vector of n per-query weights gives loss = weights @ errors.
    scan_fn : any
        Accepted for compatibility with jax_privacy and ignored.
    callback : callable, optional
        callback(CallbackArgs(step, loss, grad_norm)) after every step, with the loss itself;
        a true return stops.
    progress : bool or int
        True shows a tqdm bar with the loss (`tqdm.auto`: a widget in a notebook); without
        tqdm, printed lines every few steps; an int, a line every that many steps.
    gtol, ftol : float, default 0
        Converged when the largest gradient entry is at most `gtol`, or when a step's relative
        decrease of the loss is at most `ftol`. With both 0, as jax_privacy, every step is
        taken unless the run stalls (no step decreases the loss any more).
    return_info : bool, default False
        Also return an `optimization.OptimizeInfo` (stop reason, steps, evaluations, loss,
        gradient norm).

    Returns
    -------
    ColumnNormalizedBanded
        The strategy reached (the lowest loss found), with unit columns and a zero lower-right
        triangle of params.
    optimization.OptimizeInfo
        Only with ``return_info=True``.

    Raises
    ------
    ValueError
        n, bands, max_optimizer_steps or a tolerance out of range; C of another shape; an
        unknown reduction; a start whose loss cannot be computed accurately (C too close to
        singular). Exceptions raised by the callback propagate.
    TypeError
        An argument of the wrong type.
    MemoryError
        n x bands or the error model's work space is too large.

    Warns
    -----
    RuntimeWarning
        When no step could be taken, and on Ctrl-C.

    Notes
    -----
    The loss does not depend on the scale of a column of C, so its gradient is orthogonal to
    every row of params and plain steps would make the rows grow; every row is kept at unit
    norm after each step (L-BFGS's curvature pairs carried into the new coordinates) and the
    initial inverse Hessian is scaled per row. 'max' is minimized through a log-sum-exp of the
    errors with a decreasing temperature; 'last' (and weights with zeros) through the loss
    plus a vanishing barrier -mu sum_j log C[j, j]^2 (see the README). Points whose loss cannot
    be computed accurately (C close to singular) are inadmissible to the line search.

    Examples
    --------
    >>> from mfkit import banded
    >>> C, info = banded.optimize(64, bands=4, max_optimizer_steps=20, return_info=True)
    >>> C.params.shape, info.stop, info.steps
    ((64, 4), 'max_steps', 20)
    >>> bool(banded.per_query_error(C).mean() < banded.per_query_error(banded.ColumnNormalizedBanded.default(64, 4)).mean())
    True
    """
    n = _args.positive_int(n, "n", "optimize")
    bands = _args.positive_int(bands, "bands", "optimize")
    max_optimizer_steps = _args.steps_int(max_optimizer_steps, "optimize")
    run = optimization.Run("optimize", callback, progress, max_optimizer_steps, gtol, ftol)
    init = None if C is None else _strategy(C, "optimize")._handle
    code, weights = _reduction(reduction_fn, n, "optimize")
    wdesc = None if weights is None else ctypes.byref(_ffi.describe(weights, "weights"))
    handle = ctypes.c_void_p()
    with run:
        _ffi.call("mfkit_banded_optimize", n, bands, init, _workload(A, "optimize"), int(max_optimizer_steps),
                  code, wdesc, run.gtol, run.ftol, run.c_callback, None, ctypes.byref(handle), *run.report.pointers(),
                  function="optimize")
    result = ColumnNormalizedBanded._from_handle(handle)   # owns the handle, also if finish raises
    info = run.finish("the best strategy so far")
    return (result, info) if return_info else result

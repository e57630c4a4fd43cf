"""Banded matrix-factorization strategies (DP-BandMF): the strategy C, its streaming inverse
for correlated noise, its error under a workload, and its optimization.

Names, arguments and defaults follow `jax_privacy.matrix_factorization.banded`:

    >>> from mfkit import banded
    >>> C = banded.optimize(1024, bands=16)             # L-BFGS from the default strategy
    >>> float(banded.per_query_error(C).mean())          # mean squared error, prefix-sum workload
    >>> noise = C.inverse_as_streaming_matrix()          # C^{-1} z, one training step at a time

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
- `optimize` runs MFKit's L-BFGS (memory 10, strong Wolfe line search) in float64 with the
  columns of C kept at unit norm; for 'max' it minimizes a log-sum-exp of the errors with a
  decreasing temperature, for 'last' (or weights with zeros) the loss plus a vanishing
  barrier -sum log C[j, j]^2 (such losses are least at singular strategies, which plain
  descent approaches only slowly); tolerances `gtol`/`ftol` (default 0: every step, as
  jax_privacy) and `return_info=True` (the stop reason) are added; it accepts
  `reduction_fn` = 'mean', 'max', 'last', np.mean, np.max, `lambda v: v[-1]`, or a vector of
  per-query weights; `callback` receives `CallbackArgs(step, loss, grad_norm)`;
  `progress=True` prints the loss as it goes; Ctrl-C stops it and returns the best strategy
  so far;
- `per_query_error` and `loss_and_gradient` raise ValueError for a strategy too close to
  singular to evaluate accurately (jax_privacy returns whatever the rounding gives).
"""
import ctypes
import warnings

import numpy as np

from . import _ffi
from . import optimization
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


class ColumnNormalizedBanded:
    """A column-normalized banded lower-triangular n x n strategy, parameterized by an n x b
    array `params` (float64 copy, read-only). Immutable.

    `ColumnNormalizedBanded(params)` validates: 1 <= b <= n, finite values, nonzero diagonal
    params[:, 0] (else C is singular). Memory O(n b).
    """

    __slots__ = ("_handle", "params")

    def __init__(self, params):
        params = np.array(_ffi.params_array(params, "ColumnNormalizedBanded: params"), dtype=np.float64, copy=True)
        if params.ndim != 2:
            raise ValueError(f"ColumnNormalizedBanded: params must be two-dimensional (n, bands), got shape {params.shape}")
        handle = _ffi.new_handle("mfkit_banded_create", _ffi.describe(params, "params"),
                                  function="ColumnNormalizedBanded")
        self._init(handle, params)

    def _init(self, handle, params):
        params.setflags(write=False)
        self._handle = handle
        self.params = params

    @classmethod
    def _from_handle(cls, handle):
        n, b = ctypes.c_int64(), ctypes.c_int64()
        self = cls.__new__(cls)
        self._handle = handle            # owned from here on (freed by __del__)
        _ffi.call("mfkit_banded_shape", handle, ctypes.byref(n), ctypes.byref(b), function="shape")
        params = np.empty((n.value, b.value), dtype=np.float64)
        _ffi.call("mfkit_banded_params", handle, _ffi.describe(params, "params", writable=True), function="params")
        self._init(handle, params)
        return self

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and _ffi is not None and _ffi.lib is not None:
            _ffi.lib.mfkit_banded_free(handle)

    @property
    def n(self):
        return self.params.shape[0]

    @property
    def bands(self):
        return self.params.shape[1]

    def __repr__(self):
        return f"<mfkit ColumnNormalizedBanded n={self.n} bands={self.bands}>"

    @classmethod
    def from_banded_toeplitz(cls, n, coefs):
        """The banded Toeplitz strategy with coefficients `coefs` (1 <= len(coefs) <= n),
        normalized to unit norm; the lower-right triangle of params is zero. Time O(n b)."""
        n = _ffi.positive_int(n, "n", "from_banded_toeplitz")
        coefs = _ffi.params_array(coefs, "coefs").reshape(-1)
        return cls._from_handle(_ffi.new_handle("mfkit_banded_from_banded_toeplitz", n, _ffi.describe(coefs, "coefs"),
                                                    function="from_banded_toeplitz"))

    @classmethod
    def default(cls, n, bands):
        """The Toeplitz strategy of Fichtenberger et al. (2023, Algorithm 1), f_0 = 1,
        f_k = f_{k-1} (2k - 1) / (2k), truncated to `bands` coefficients and column-normalized.
        A good start for `optimize`. Time O(n b)."""
        n = _ffi.positive_int(n, "n", "default")
        bands = _ffi.positive_int(bands, "bands", "default")
        return cls._from_handle(_ffi.new_handle("mfkit_banded_default", n, bands, function="default"))

    def materialize(self, dtype=np.float64, out=None):
        """The dense n x n matrix C. Time and memory O(n^2)."""
        if out is None:
            out = np.empty((self.n, self.n), dtype=_ffi.real_dtype(dtype, "materialize"))
        _ffi.call("mfkit_banded_materialize", self._handle, _ffi.describe(out, "out", writable=True),
                  function="materialize")
        return out

    def inverse_as_streaming_matrix(self):
        """C^{-1} as a StreamingMatrix, for correlated noise: `multiply_array(Cinv, z, out=z)`
        (in place, any float32/float64 array of shape (steps, ...)) or `Cinv.stream(shape)`
        one training step at a time. A step costs O(m b) for m elements per slice and keeps
        b - 1 slices of state. Past row n it is the identity."""
        return StreamingMatrix(_ffi.new_handle("mfkit_banded_inverse", self._handle, function="inverse_as_streaming_matrix"))


def _strategy(C, function):
    if not isinstance(C, ColumnNormalizedBanded):
        raise TypeError(f"{function}: C must be a ColumnNormalizedBanded, got {type(C).__name__}")
    return C


def _workload(A, function):
    if A is None:
        return None
    if not isinstance(A, StreamingMatrix):
        raise TypeError(f"{function}: A must be a StreamingMatrix or None, got {type(A).__name__}")
    return A._handle


def minsep_sensitivity_squared(strategy, min_sep, max_participations=None, n=None, skip_checks=False):
    """Squared sensitivity of `strategy` under min_sep participation (min_sep >= bands):
    min(max_participations, ceil(n / min_sep)). `n` defaults to strategy.n. Raises ValueError
    (unless skip_checks) when min_sep < bands or n > strategy.n. Time O(1)."""
    strategy = _strategy(strategy, "minsep_sensitivity_squared")
    min_sep = _ffi.positive_int(min_sep, "min_sep", "minsep_sensitivity_squared")
    k = None if max_participations is None else ctypes.byref(ctypes.c_int64(_ffi.positive_int(
        max_participations, "max_participations", "minsep_sensitivity_squared")))
    rounds = None if n is None else ctypes.byref(ctypes.c_int64(_ffi.positive_int(n, "n", "minsep_sensitivity_squared")))
    out = ctypes.c_int64()
    _ffi.call("mfkit_banded_minsep_sensitivity_squared", strategy._handle, min_sep, k, rounds,
              int(bool(skip_checks)), ctypes.byref(out), function="minsep_sensitivity_squared")
    return out.value


def per_query_error(C, A=None, scan_fn=None):
    """Expected squared error of every query, e_t = ||(A C^{-1})[t, :n]||^2.

    Parameters
    ----------
    C : ColumnNormalizedBanded
        The strategy.
    A : StreamingMatrix, optional
        The workload (default prefix_sum()), built from prefix_sum, momentum_sgd_matrix,
        diagonal and identity (products, scalings).
    scan_fn : optional
        Accepted for compatibility with jax_privacy and ignored (no scan, no memory limit to
        work around).

    Returns
    -------
    numpy.ndarray
        float64 of shape (n,).

    Raises
    ------
    TypeError
        When C is not a ColumnNormalizedBanded or A not a StreamingMatrix.
    ValueError
        For a workload of another kind, or a strategy too close to singular for an accurate
        result (the message gives its smallest diagonal entry and the estimated error).

    Notes
    -----
    A covariance recursion on C's unit columns (so the scale of the params does not matter):
    time O(n (b + q)^2) for a workload state of q numbers (prefix sum 1, momentum 2), memory
    O((b + q)^2), against O(n^2 b) for streaming n unit vectors. Where C is close to singular
    (a column's diagonal small next to its other entries) A C^{-1} is small only by
    cancellation, which the covariances cannot carry; the recursion estimates its own rounding
    error, and where that passes 1e-10 the errors are recomputed by a square-root recursion
    (about 4x the time), as accurate as streaming the rows of A C^{-1}: about 1e-16 times the
    largest entries of C^{-1}. Beyond 1e-4 it raises instead of returning a wrong value.

    Examples
    --------
    >>> C = ColumnNormalizedBanded([[1.0, 1.0], [1e-8, 1.0], [1.0, 0.0]])   # nearly singular
    >>> [round(float(x), 6) for x in per_query_error(C)[[0, 2]]]             # exact: 2 and 3
    [2.0, 3.0]
    """
    C = _strategy(C, "per_query_error")
    out = np.empty(C.n, dtype=np.float64)
    _ffi.call("mfkit_banded_per_query_error", C._handle, _workload(A, "per_query_error"),
              _ffi.describe(out, "out", writable=True), function="per_query_error")
    return out


def _reduction(reduction_fn, n, function):
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
    weights = np.ascontiguousarray(_ffi.params_array(reduction_fn, "reduction_fn"))
    if weights.shape != (n,):
        raise ValueError(f"{function}: weights must have shape ({n},), got {weights.shape}")
    return _ffi.CONSTANTS["MFKIT_REDUCTION_WEIGHTS"], weights


def loss_and_gradient(C, A=None, reduction_fn="mean"):
    """The loss reduction_fn(per_query_error(C, A)) and its gradient with respect to C.params.

    Parameters
    ----------
    C : ColumnNormalizedBanded
        The strategy.
    A : StreamingMatrix, optional
        The workload (default prefix_sum()), as for per_query_error.
    reduction_fn : str, callable or array_like, default 'mean'
        'mean', 'max' (a subgradient at the first arg-max), 'last' (np.mean, np.max and
        ``lambda v: v[-1]`` are recognized), or a vector of n per-query weights.

    Returns
    -------
    loss : float
    gradient : numpy.ndarray
        float64 of shape (n, bands), zero on the lower-right triangle and orthogonal to every
        row of params (the loss does not depend on the scale of a column of C).

    Raises
    ------
    ValueError
        For a reduction that is not recognized, weights of the wrong shape, or a strategy too
        close to singular for a trustworthy gradient (estimated relative rounding error above
        1e-6; the message gives its smallest diagonal entry).

    Notes
    -----
    The adjoint of the covariance recursion with sqrt(n) checkpoints: time about
    5 n (b + q)^2 (the checkpoint recomputation on a second core), memory
    O(n b + sqrt(n) (b + q)^2). The loss is computed as per_query_error's values are.

    Examples
    --------
    >>> C = ColumnNormalizedBanded.default(16, 3)
    >>> loss, grad = loss_and_gradient(C)
    >>> bool(np.allclose(np.sum(grad * C.params, axis=1), 0))
    True
    """
    C = _strategy(C, "loss_and_gradient")
    code, weights = _reduction(reduction_fn, C.n, "loss_and_gradient")
    loss = ctypes.c_double()
    grad = np.empty((C.n, C.bands), dtype=np.float64)
    wdesc = None if weights is None else ctypes.byref(_ffi.describe(weights, "weights"))
    _ffi.call("mfkit_banded_loss", C._handle, _workload(A, "loss_and_gradient"), code, wdesc,
              ctypes.byref(loss), _ffi.describe(grad, "grad", writable=True), function="loss_and_gradient")
    return loss.value, grad


def optimize(n, *, bands, C=None, A=None, max_optimizer_steps=100, reduction_fn="mean",
             scan_fn=None, callback=None, progress=False, gtol=0.0, ftol=0.0, return_info=False):
    """Optimizes a banded strategy for workload A by L-BFGS and returns the strategy reached.

    Parameters
    ----------
    n : int
        The number of steps (rows of C).
    bands : int
        The number of bands, 1 <= bands <= n.
    C : ColumnNormalizedBanded, optional
        The start (default `ColumnNormalizedBanded.default(n, bands)`), of shape (n, bands).
    A : StreamingMatrix, optional
        The workload (default prefix_sum()), built from prefix_sum, momentum_sgd_matrix,
        diagonal and identity.
    max_optimizer_steps : int, default 100
        The most steps taken.
    reduction_fn : str, callable or array_like, default 'mean'
        'mean', 'max', 'last' (np.mean, np.max and ``lambda v: v[-1]`` are recognized), or a
        vector of n per-query weights (loss = weights @ errors).
    scan_fn : optional
        Accepted for compatibility with jax_privacy and ignored.
    callback : callable, optional
        ``callback(CallbackArgs(step, loss, grad_norm))`` after every step; a true return stops.
    progress : bool or int, default False
        True prints the loss every few steps (an int: every that many steps).
    gtol, ftol : float, default 0
        Converged when the largest gradient entry is at most `gtol`, or when a step's relative
        decrease of the loss is at most `ftol`. With both 0, as jax_privacy, every step is
        taken unless the run stalls (no step decreases the loss any more).
    return_info : bool, default False
        Also return an `optimization.OptimizeInfo` (stop reason, steps, evaluations, loss,
        gradient norm).

    Returns
    -------
    C : ColumnNormalizedBanded
        The strategy reached (the best one found: every accepted step decreases the loss),
        with unit columns and a zero lower-right triangle of params.
    info : optimization.OptimizeInfo
        Only with ``return_info=True``.

    Raises
    ------
    ValueError
        For bad sizes, reductions, tolerances or workloads, and for a start whose loss cannot
        be computed accurately (C too close to singular). Exceptions raised by the callback
        propagate.

    Warns
    -----
    RuntimeWarning
        When no step could be taken, and on Ctrl-C (the best strategy so far is returned).

    Notes
    -----
    The loss does not depend on the scale of a column of C, so its gradient is orthogonal to
    every row of params and plain steps would make the rows grow and the steps shrink; every
    row is rescaled to unit norm after each step, with L-BFGS's curvature pairs carried into
    the new coordinates. Points whose loss cannot be computed accurately (C close to singular)
    are inadmissible to the line search. Cost per step: usually one loss-and-gradient
    evaluation, O(n (b + q)^2), plus O(10 n b) for L-BFGS; memory O(sqrt(n) b^2 + 26 n b)
    doubles (the L-BFGS memory shrinks to stay under about 1 GB). Runs in float64.

    Examples
    --------
    >>> C, info = optimize(64, bands=4, max_optimizer_steps=20, return_info=True)
    >>> bool(per_query_error(C).mean() < per_query_error(ColumnNormalizedBanded.default(64, 4)).mean())
    True
    >>> info.stop, info.steps
    ('max_steps', 20)
    """
    n = _ffi.positive_int(n, "n", "optimize")
    bands = _ffi.positive_int(bands, "bands", "optimize")
    max_optimizer_steps = _ffi.steps_int(max_optimizer_steps, "optimize")
    gtol, ftol = optimization.tolerance(gtol, "gtol", "optimize"), optimization.tolerance(ftol, "ftol", "optimize")
    init = None if C is None else _strategy(C, "optimize")._handle
    code, weights = _reduction(reduction_fn, n, "optimize")
    every = 0
    if progress:
        every = int(progress) if not isinstance(progress, bool) else max(1, max_optimizer_steps // 20)

    def show(step, loss, grad_norm):
        if every and (step % every == 0 or step == max_optimizer_steps - 1):
            print(f"optimize: step {step + 1}/{max_optimizer_steps}  loss {loss:.8g}  grad norm {grad_norm:.3g}",
                  flush=True)

    state = {"interrupted": False, "error": None}
    c_callback = optimization.step_callback(callback, state, show if every else None)
    wdesc = None if weights is None else ctypes.byref(_ffi.describe(weights, "weights"))
    handle = ctypes.c_void_p()
    report = optimization.Report()
    with optimization.interruptible(state):
        _ffi.call("mfkit_banded_optimize", n, bands, init, _workload(A, "optimize"), int(max_optimizer_steps),
                  code, wdesc, gtol, ftol, c_callback, None, ctypes.byref(handle), *report.pointers(),
                  function="optimize")
    if state["error"] is not None:
        if handle.value:
            _ffi.lib.mfkit_banded_free(handle)
        raise state["error"]
    result = ColumnNormalizedBanded._from_handle(handle)
    info = report.info(max_steps=max_optimizer_steps, gtol=gtol, ftol=ftol, interrupted=state["interrupted"])
    if state["interrupted"]:
        warnings.warn("optimize: interrupted; returning the best strategy so far", RuntimeWarning, stacklevel=2)
    else:
        optimization.warn_unless_progress(info, "optimize")
    return (result, info) if return_info else result

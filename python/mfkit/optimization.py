"""Strategy optimization: L-BFGS in float64 for a differentiable loss (names follow
`jax_privacy.matrix_factorization.optimization`).

>>> import numpy as np
>>> from mfkit import optimization
>>> def loss_fn(x):                     # returns (loss, gradient): MFKit has no autodiff
...     return float(x @ x), 2 * x
>>> x, info = optimization.optimize(loss_fn, np.ones(3), return_info=True)
>>> bool(np.allclose(x, 0)), info.stop, info.converged
(True, 'gradient_tolerance', True)

The minimizer is MFKit's L-BFGS (Swift), the one behind every MFKit optimizer
(`mfkit.banded.optimize`, `mfkit.toeplitz.optimize_banded_toeplitz` and
`optimize_coefs_for_amplifications`, `mfkit.buffered_toeplitz.optimize_loss` and `optimize`),
which all share this module's surface (`callback`, `progress`, `gtol`, `ftol`, `return_info`,
`OptimizeInfo`; in Python through `Run`): the two-loop
recursion over the last `memory` pairs, then a line search for the strong Wolfe conditions
(Moré–Thuente, c1 = 1e-4, c2 = 0.9). Every run reports why it stopped (`OptimizeInfo.stop`,
one of `STOP_REASONS`); only the two tolerances mean convergence, a stall does not. A run that
ends without taking a step because the loss or gradient is not finite, or because no step
decreases the loss, warns (RuntimeWarning) instead of returning the start silently.

Differences on purpose (from jax_privacy's `optimize`):

- `loss_fn` must return (loss, gradient) (there is no automatic differentiation), so `grad`
  defaults to True; a loss returning only a value, or `grad=False`, is a ValueError saying so;
- `params` is one real array (any shape), not a pytree; complex params are a TypeError;
  float32 params come back as float32, anything else as float64;
- the optimizer is fixed (no `optimizer` argument): L-BFGS with `memory` pairs (jax_privacy's
  default keeps 1) and a strong Wolfe line search instead of optax's backtracking;
- tolerances `gtol` (largest gradient entry) and `ftol` (relative decrease of a step) end the
  run early; their default 0 keeps jax_privacy's behaviour of running every step (a run also
  ends when it can no longer decrease the loss at all);
- `invariant_block_size` declares a loss invariant to scaling blocks of the parameters, which
  are then kept at unit norm (as `banded.optimize` does for the columns of a strategy);
- the callback receives `CallbackArgs(step, loss, grad_norm)`; `progress=True` shows a tqdm
  bar with the loss (printed lines without tqdm); Ctrl-C stops the run and returns the best
  parameters so far (with a warning).

Cost per step: usually one loss evaluation (with its gradient) plus O(memory · size)
arithmetic; memory (2 memory + 6) · size doubles.
"""
import contextlib
import ctypes
import signal
import threading
import warnings
from collections import namedtuple
from typing import Any, Callable, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _args, _ffi
from ._progress import Progress

__all__ = ["CallbackArgs", "OptimizeInfo", "STOP_REASONS", "optimize"]

#: What a callback receives after every optimization step (also unpacks as a tuple).
CallbackArgs = namedtuple("CallbackArgs", ["step", "loss", "grad_norm"])

#: The stop reasons, by their MFKIT_STOP_* code in include/mfkit.h: 'max_steps',
#: 'gradient_tolerance', 'loss_tolerance', 'callback', 'line_search' (stalled: no step decreases
#: the loss any more; not convergence), 'non_finite' (loss or gradient not finite at the start).
STOP_REASONS = {code: name[len("MFKIT_STOP_"):].lower()
                for name, code in _ffi.CONSTANTS.items() if name.startswith("MFKIT_STOP_")}


class OptimizeInfo(NamedTuple):
    """How an optimization ended (`optimize(..., return_info=True)`)."""

    #: Why the run stopped: one of STOP_REASONS' values.
    stop: str
    #: True only when a tolerance (gtol or ftol) was met.
    converged: bool
    #: Steps taken (accepted updates).
    steps: int
    #: Loss evaluations, each with its gradient.
    evaluations: int
    #: Final loss and the 2-norm of its gradient.
    loss: float
    grad_norm: float
    #: The reason in words.
    message: str


class Report:
    """The out-parameters of an optimizer's C call (steps, evaluations, loss, grad_norm, stop):
    pass `*report.pointers()` last, then read `report.info(...)`."""

    def __init__(self) -> None:
        self.steps, self.evaluations = ctypes.c_int64(), ctypes.c_int64()
        self.loss, self.grad_norm = ctypes.c_double(), ctypes.c_double()
        self.stop = ctypes.c_int32(-1)

    def pointers(self) -> tuple:
        return tuple(ctypes.byref(v) for v in (self.steps, self.evaluations, self.loss, self.grad_norm, self.stop))

    def info(self, *, max_steps: int, gtol: float, ftol: float, interrupted: bool = False) -> OptimizeInfo:
        stop = STOP_REASONS[self.stop.value]
        steps, loss, grad_norm = self.steps.value, self.loss.value, self.grad_norm.value
        message = {
            "max_steps": f"took the maximum of {max_steps} steps (not converged by gtol={gtol}, ftol={ftol})",
            "gradient_tolerance": f"converged: the largest gradient entry is at most gtol={gtol}",
            "loss_tolerance": f"converged: the last step's relative decrease of the loss is at most ftol={ftol}",
            "callback": "interrupted (Ctrl-C)" if interrupted else "stopped by the callback",
            "line_search": "stalled: no step along the L-BFGS or the steepest-descent direction decreases the loss "
                           "(at machine precision, or because the gradient does not match the loss); not converged",
            "non_finite": f"the loss or its gradient at the start is not finite (loss {loss}, gradient norm "
                          f"{grad_norm}); no step was taken",
        }[stop]
        return OptimizeInfo(stop, stop in ("gradient_tolerance", "loss_tolerance"), steps, self.evaluations.value,
                            loss, grad_norm, f"{message} after {steps} steps, loss {loss:.10g}")


def warn_unless_progress(info: OptimizeInfo, function: str, stacklevel: int = 3) -> None:
    """A RuntimeWarning when a run returns its start because it could not move: the loss or
    gradient is not finite there, or no step decreases the loss."""
    if info.stop == "non_finite" or (info.stop == "line_search" and info.steps == 0):
        warnings.warn(f"{function}: returning the start: {info.message}", RuntimeWarning, stacklevel=stacklevel)


def tolerance(value: float, name: str, function: str) -> float:
    """A tolerance as a float >= 0 (TypeError / ValueError otherwise)."""
    value = _args.real(value, name, function)
    if not value >= 0:
        raise ValueError(f"{function}: {name} must be non-negative, got {value}")
    return value


@contextlib.contextmanager
def interruptible(state):
    """While active, Ctrl-C sets state["interrupted"] instead of raising KeyboardInterrupt (so
    the signal cannot land inside a ctypes callback, where it would be lost); the library is
    then stopped by the next callback. Only in the main thread and only over Python's default
    SIGINT handler; otherwise KeyboardInterrupt is caught inside the callbacks."""
    def handler(signum, frame):
        state["interrupted"] = True

    installed = False
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, handler)
        installed = True
    try:
        yield state
    finally:
        if installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def progress_setting(progress: Any, function: str) -> Union[bool, int]:
    """The optimizers' `progress` argument: a bool, or an integer >= 0 (TypeError / ValueError
    otherwise)."""
    if isinstance(progress, (bool, np.bool_)):
        return bool(progress)
    return _args.integer(progress, "progress", function, minimum=0, condition="a bool or an integer >= 0")


class Run:
    """One optimizer call into the library with MFKit's optimizer surface: the callback (given
    `CallbackArgs`) and the progress display after every step, Ctrl-C stopping the run, the
    tolerances checked, and the report read into an `OptimizeInfo`::

        run = Run("optimize", callback, progress, max_steps, gtol, ftol)
        with run:
            _ffi.call(symbol, ..., run.gtol, run.ftol, run.c_callback, None, <outputs>, *run.report.pointers())
        info = run.finish("the best strategy so far")

    `runs=True` is for optimizers that run several times in one call (the step restarts from 0
    with each run): the progress display starts anew, as "<function> (run r)", with each run.
    An exception raised by the callback stops the run and is raised by the `with` block (when
    the library fails too) or by `finish`. Cost: O(1) per step besides the callback.
    """

    def __init__(self, function: str, callback: Optional[Callable[[CallbackArgs], Any]], progress: Any,
                 max_steps: int, gtol: float, ftol: float, *, runs: bool = False) -> None:
        if callback is not None and not callable(callback):
            raise TypeError(f"{function}: callback must be callable or None, got {type(callback).__name__}")
        self.function, self.max_steps = function, max_steps
        self.gtol, self.ftol = tolerance(gtol, "gtol", function), tolerance(ftol, "ftol", function)
        self.bar = Progress(progress_setting(progress, function), max_steps, f"{function} (run 1)" if runs else function)
        self.state = {"interrupted": False, "error": None}
        self._run, self._last = 1, -1
        self.c_callback = step_callback(callback, self.state, self._update_runs if runs else self.bar.update)
        self.report = Report()
        self._interrupt = interruptible(self.state)

    def _update_runs(self, step: int, loss: float, grad_norm: float) -> None:
        if step <= self._last:   # a new run
            self._run += 1
            self.bar.restart(f"{self.function} (run {self._run})")
        self._last = step
        self.bar.update(step, loss, grad_norm)

    def __enter__(self) -> "Run":
        self._interrupt.__enter__()
        return self

    def __exit__(self, *exc: Any) -> bool:
        self.bar.close()
        self._interrupt.__exit__(*exc)
        if exc[0] is not None and self.state["error"] is not None:
            raise self.state["error"]
        return False

    def finish(self, what: str, depth: int = 1) -> OptimizeInfo:
        """The run's OptimizeInfo, after raising the callback's exception if there was one; warns
        (RuntimeWarning, at the caller `depth` MFKit frames above) on Ctrl-C ("interrupted;
        returning <what>") and when the run could not move (`warn_unless_progress`)."""
        if self.state["error"] is not None:
            raise self.state["error"]
        info = self.report.info(max_steps=self.max_steps, gtol=self.gtol, ftol=self.ftol,
                                interrupted=self.state["interrupted"])
        if self.state["interrupted"]:
            warnings.warn(f"{self.function}: interrupted; returning {what}", RuntimeWarning, stacklevel=2 + depth)
        else:
            warn_unless_progress(info, self.function, stacklevel=3 + depth)
        return info


def step_callback(callback: Optional[Callable[[CallbackArgs], Any]], state: dict,
                  progress: Optional[Callable[[int, float, float], None]] = None):
    """The C step callback (an OPTIMIZE_CALLBACK) running `progress(step, loss, grad_norm)` and
    `callback(CallbackArgs(...))`; it stops the run when the callback returns true, on Ctrl-C
    (state["interrupted"]) and on an exception (kept in state["error"] and re-raised by the
    caller after the library returns)."""
    def on_step(_user, step, loss, grad_norm):
        try:
            if state["interrupted"] or state["error"] is not None:
                return 1
            if progress is not None:
                progress(int(step), float(loss), float(grad_norm))
            if callback is not None and callback(CallbackArgs(int(step), float(loss), float(grad_norm))):
                return 1
            return 0
        except KeyboardInterrupt:
            state["interrupted"] = True
        except BaseException as exc:  # noqa: BLE001 - re-raised once the library returns
            state["error"] = exc
        return 1
    return _ffi.OPTIMIZE_CALLBACK(on_step)


_NEEDS_GRADIENT = ("a gradient is required: MFKit has no automatic differentiation, so loss_fn must return "
                   "(loss, gradient) (jax_privacy's grad=True form)")


def optimize(loss_fn: Callable[[np.ndarray], Tuple[float, np.ndarray]], params: Any, *,
             max_optimizer_steps: int = 250, grad: bool = True,
             callback: Optional[Callable[[CallbackArgs], Any]] = None, memory: int = 10,
             gtol: float = 0.0, ftol: float = 0.0, invariant_block_size: Optional[int] = None,
             progress: Union[bool, int] = False,
             return_info: bool = False) -> Union[np.ndarray, Tuple[np.ndarray, OptimizeInfo]]:
    """Minimizes `loss_fn` from `params` by L-BFGS in float64.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(x) -> (loss, gradient)`` with the gradient of x's shape. A non-finite loss
        marks x as inadmissible (the line search backs off).
    params : array_like
        The start: a real array of any shape (not modified).
    max_optimizer_steps : int, default 250
        The most steps taken.
    grad : bool, default True
        Must be True: loss_fn returns its gradient (MFKit has no automatic differentiation).
    callback : callable, optional
        ``callback(CallbackArgs(step, loss, grad_norm))`` after every step; a true return stops.
    memory : int, default 10
        The number of curvature pairs kept.
    gtol, ftol : float, default 0
        Converged when the largest gradient entry is at most `gtol`, or when a step's relative
        decrease ``(f_prev - f) / max(|f_prev|, |f|, 1)`` is at most `ftol` (0: off). With both
        0, as jax_privacy, the run takes every step unless it stalls.
    invariant_block_size : int, optional
        B: the loss does not change when any block of B consecutive entries of the flattened
        params is multiplied by a positive number. Every block is then rescaled to unit norm
        after each step (the curvature pairs with it), which keeps the steps from shrinking;
        the result has unit blocks.
    progress : bool or int, default False
        True shows a tqdm bar with the loss (`tqdm.auto`: a widget in a notebook); without
        tqdm, printed lines every few steps; an int, a line every that many steps.
    return_info : bool, default False
        Also return an `OptimizeInfo` (stop reason, steps, evaluations, loss, gradient norm).

    Returns
    -------
    x : numpy.ndarray
        The parameters reached, of params' shape (float32 for float32 params, else float64).
    info : OptimizeInfo
        Only with ``return_info=True``.

    Raises
    ------
    ValueError
        For ``grad=False``, a loss_fn returning only a value, a gradient of the wrong shape,
        empty params, or bad settings. Exceptions raised by loss_fn or callback propagate.
    TypeError
        For complex or non-numeric params.
    MemoryError
        When the L-BFGS work space cannot be allocated.

    Warns
    -----
    RuntimeWarning
        When the start is returned because the loss or gradient is not finite there or no step
        decreases the loss, and on Ctrl-C (the best parameters so far are returned).

    Notes
    -----
    Cost: per step usually one loss_fn call, plus O(memory · params.size) arithmetic; memory
    (2 memory + 6) · params.size doubles.

    Examples
    --------
    >>> import numpy as np
    >>> def rosenbrock(x):
    ...     a, b = x
    ...     value = (1 - a) ** 2 + 100 * (b - a * a) ** 2
    ...     return value, np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
    >>> x = optimize(rosenbrock, np.array([-1.2, 1.0]), max_optimizer_steps=200)
    >>> np.round(x, 6).tolist()
    [1.0, 1.0]
    """
    if not grad:
        raise ValueError(f"optimize: grad=False: {_NEEDS_GRADIENT}, and grad=True")
    if not callable(loss_fn):
        raise TypeError(f"optimize: loss_fn must be callable, got {type(loss_fn).__name__}")
    start = _args.array(params, "params", "optimize", scalars=True, sequences=True)
    x = np.array(start, dtype=np.float64, copy=True)
    if x.size == 0:
        raise ValueError("optimize: params must not be empty")
    max_optimizer_steps = _args.steps_int(max_optimizer_steps, "optimize")
    memory = _args.positive_int(memory, "memory", "optimize")
    block = 0 if invariant_block_size is None else _args.positive_int(invariant_block_size, "invariant_block_size",
                                                                      "optimize")
    run = Run("optimize", callback, progress, max_optimizer_steps, gtol, ftol)
    shape = x.shape
    state = run.state

    def objective(_user, xp, gp, n):
        if state["error"] is not None or state["interrupted"]:
            return float("nan")
        try:
            point = np.ctypeslib.as_array(xp, (n,)).copy().reshape(shape)
            out = loss_fn(point)
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise ValueError(f"optimize: {_NEEDS_GRADIENT}; it returned {type(out).__name__} {_short(out)}")
            value, gradient = out
            value = float(value)
            if gp:
                g = np.asarray(gradient, dtype=np.float64)
                if g.shape != shape:
                    raise ValueError(f"optimize: loss_fn returned a gradient of shape {g.shape}, expected {shape}")
                np.ctypeslib.as_array(gp, (n,))[:] = g.reshape(-1)
            return value
        except KeyboardInterrupt:
            state["interrupted"] = True
        except BaseException as exc:  # noqa: BLE001 - re-raised once the library returns
            state["error"] = exc
        return float("nan")

    c_objective = _ffi.OBJECTIVE(objective)
    with run:
        _ffi.call("mfkit_lbfgs_minimize", _ffi.describe(x, "params", writable=True), c_objective,
                  run.c_callback, None, int(max_optimizer_steps), memory, run.gtol, run.ftol, block,
                  *run.report.pointers(), function="optimize")
    info = run.finish("the best parameters so far")
    if start.dtype == np.float32:
        x = x.astype(np.float32)
    return (x, info) if return_info else x


def _short(value: Any) -> str:
    """A short repr for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

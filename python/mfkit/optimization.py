"""Strategy optimization: L-BFGS in float64 for a differentiable loss (names follow
`jax_privacy.matrix_factorization.optimization`).

    >>> from mfkit import optimization
    >>> def loss_fn(x):                     # returns (loss, gradient): MFKit has no autodiff
    ...     return float(x @ x), 2 * x
    >>> optimization.optimize(loss_fn, np.ones(3), grad=True)

The minimizer is MFKit's (Swift) L-BFGS with a backtracking Armijo line search, the one behind
`mfkit.banded.optimize`: memory `memory` pairs (jax_privacy's default optimizer keeps 1), steps
start at 1 and are halved on failure. Differences on purpose: `loss_fn` must return
(loss, gradient) as NumPy values (`grad=True`; there is no automatic differentiation); `params`
is one float array (any shape), not a pytree; the callback receives `CallbackArgs(step, loss,
grad_norm)`; Ctrl-C stops the run and returns the best parameters so far (with a warning).
Cost per step: one or two loss evaluations plus O(memory · size) arithmetic; memory
(2 memory + 5) · size doubles.
"""
import contextlib
import ctypes
import signal
import threading
import warnings
from collections import namedtuple

import numpy as np

from . import _ffi

__all__ = ["CallbackArgs", "optimize"]

#: What a callback receives after every optimization step (also unpacks as a tuple).
CallbackArgs = namedtuple("CallbackArgs", ["step", "loss", "grad_norm"])


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


def optimize(loss_fn, params, *, max_optimizer_steps=250, grad=True, callback=None, memory=10):
    """Minimizes `loss_fn` from `params` by L-BFGS in float64 and returns the parameters reached
    (float64, the shape of `params`; the original array is not modified).

    - loss_fn(x) -> (loss, gradient) with gradient of x's shape (`grad=True` is required).
    - callback(CallbackArgs(step, loss, grad_norm)) after every step; a true return stops.
    - Exceptions raised by loss_fn or callback propagate; Ctrl-C returns the best so far.
    """
    if not grad:
        raise ValueError("optimize: MFKit has no automatic differentiation; loss_fn must return "
                         "(loss, gradient) and grad=True")
    if not callable(loss_fn):
        raise TypeError(f"optimize: loss_fn must be callable, got {type(loss_fn).__name__}")
    x = np.array(params, dtype=np.float64, copy=True)
    if x.size == 0:
        raise ValueError("optimize: params must not be empty")
    max_optimizer_steps = _ffi.steps_int(max_optimizer_steps, "optimize")
    memory = _ffi.positive_int(memory, "memory", "optimize")
    shape = x.shape
    state = {"error": None, "interrupted": False}

    def objective(_user, xp, gp, n):
        if state["error"] is not None or state["interrupted"]:
            return float("nan")
        try:
            point = np.ctypeslib.as_array(xp, (n,)).copy().reshape(shape)
            value, gradient = loss_fn(point)
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

    def on_step(_user, step, loss, grad_norm):
        try:
            if callback is not None and callback(CallbackArgs(int(step), float(loss), float(grad_norm))):
                return 1
            return 1 if state["interrupted"] or state["error"] is not None else 0
        except KeyboardInterrupt:
            state["interrupted"] = True
        except BaseException as exc:  # noqa: BLE001
            state["error"] = exc
        return 1

    c_objective, c_step = _ffi.OBJECTIVE(objective), _ffi.OPTIMIZE_CALLBACK(on_step)
    steps, loss = ctypes.c_int64(), ctypes.c_double()
    try:
        with interruptible(state):
            _ffi.call("mfkit_lbfgs_minimize", _ffi.describe(x, "params", writable=True), c_objective,
                      c_step, None, int(max_optimizer_steps), memory, ctypes.byref(steps), ctypes.byref(loss),
                      function="optimize")
    except ValueError:
        if state["error"] is None and not state["interrupted"]:
            raise
    if state["error"] is not None:
        raise state["error"]
    if state["interrupted"]:
        warnings.warn("optimize: interrupted; returning the best parameters so far", RuntimeWarning, stacklevel=2)
    return x

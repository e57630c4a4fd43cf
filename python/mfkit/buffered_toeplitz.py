"""Buffered linear Toeplitz (BLT) strategies: the strategy C, its inverse and streams for
correlated noise, closed-form errors and sensitivities, and their optimization.

Names, arguments and defaults follow `jax_privacy.matrix_factorization.buffered_toeplitz`:

    >>> import numpy as np
    >>> from mfkit import buffered_toeplitz as bt
    >>> blt = bt.optimize(n=10_000, min_buffers=3, max_buffers=3)       # closed-form max loss
    >>> blt.buf_decay.shape
    (3,)
    >>> bool(np.sqrt(bt.max_loss(blt, 10_000)) < 1.05 * (1 + np.log(10_000) / np.pi))   # near optimal
    True
    >>> noise = blt.inverse_as_streaming_matrix()     # C^{-1} z with 3 buffers of state

A BLT with decays theta = `buf_decay` and scales omega = `output_scale` is the lower-triangular
Toeplitz C with coefficients c_0 = 1, c_m = sum_j omega_j theta_j^(m-1). The computations run
in MFKit's Swift core (include/mfkit.h, mfkit_blt_*), in float64.

Formulas used where (the closed forms stay accurate where jax_privacy's become fragile):
- `inverse`: the roots of the secular equation 1 + sum_j omega_j / (lambda - theta_j) = 0 by
  bisection to the last bit around the nearer pole (a few ulps, also for roots next to a pole)
  and omega_hat = 1 / f'(root), a sum of terms of one sign; jax_privacy's eigendecomposition
  loses up to 6 digits (e.g. `from_rational_approx_to_sqrt_x(6)`). Mixed-sign scales: the
  roots of the polynomial by Aberth-Ehrlich iteration.
- `sensitivity_squared`, `max_error`, `iteration_error`, `geometric_sum`: sums of products of
  geometric sequences and their partial sums by doubling (O(log n) steps, each adding or
  multiplying nonnegative numbers, x^m as exp(m log x)): a few ulps for every buf_decay,
  including 1 and within 1e-16 of 1, and every n a float holds. `max_error` writes buffers
  with n (1 - theta) >= 1 as a_j (1 - theta^t), a_j = omega_j / (1 - theta_j), so that for a
  noising BLT the error is a sum of terms of one sign around the tiny limit value
  1 + sum_j a_j (summed in double-double). jax_privacy switches to quadratic Taylor series near
  theta = 1 (accurate to 1e-5 to 1e-9) and computes 3 n^3 in int64, which overflows for
  n >= 1.46e6 (0.75% off at n = 1e7).
- `limit_max_error`: (1 + sum_j omega_j / (1 - theta_j))^2 with the sum in double-double
  (jax_privacy expands the square and cancels: 2.5e-3 relative error, or 0 for a true 6e-24);
  `limit_max_loss`: sensitivity_squared(blt, inf) / c(1)^2 with c(1) = 1 + sum_j omega_j /
  (1 - theta_j) of the strategy (the noising BLT's limit value is exactly 1 / c(1)), so
  nothing cancels.
- `LossFn.build_min_sep`: 'max' error by the closed form (it is the last per-query error);
  'mean' error (1/n) sum_t (n - t) b_t^2 by the same doubling sums weighted by n - t; the min-sep
  sensitivity sum_t v_t^2, v_t = sum_{i<k} c_{t - i min_sep}, split by t mod min_sep into
  geometric sums in theta_j theta_l and sums of partial sums in theta^min_sep: O(d^2 log n)
  each, with analytic gradients (jax_privacy materializes n coefficients of C and C^{-1}).

Differences on purpose:
- `BufferedToeplitz` is an immutable NumPy class (read-only float64 arrays by default, or
  float32 with `build(..., dtype=np.float32)`; picklable, ==, hashable), not a chex dataclass
  or pytree; there is no x64 flag, so float64 always works;
- gradients come from `grad(f)` / `value_and_grad(f)` for the closed forms
  (`sensitivity_squared`, `max_error`, `iteration_error`, `limit_max_error`, `max_loss`,
  `limit_max_loss`): analytic, returned as a `BufferedToeplitz` of gradients, as `jax.grad`
  returns for the pytree; n and i are numbers, not traced arrays;
- `iteration_error` / `max_error` take an integer-valued n (or i) >= 0, `sensitivity_squared`
  n >= 1 or inf (jax_privacy evaluates its formulas at any float);
- `inverse` leaves a zero output_scale (or a repeated buf_decay, with skip_checks) as a root
  with zero scale instead of failing, and raises RuntimeError, as jax_privacy's check does,
  when the inverse has complex buf_decay;
- `optimize_loss` searches over the decay pair (the default `Parameterization.buf_decay_pair()`)
  for either parameterization: `strategy_blt()` names the same penalized loss of the same pair
  (C, C^{-1}), so it gets the same search; it runs MFKit's L-BFGS (memory 15, jax_privacy's; strong Wolfe line search) from the same start,
  600 steps by default; the `optimizer` keyword is accepted and ignored; `callback` receives
  `CallbackArgs(step, loss, grad_norm)` and stops the run by returning a true value; as in
  `mfkit.banded.optimize`, `optimize_loss` and `optimize` also take `progress`, the
  tolerances `gtol` / `ftol` (default 0: every step, as jax_privacy) and `return_info` (the
  stop reason, see `mfkit.optimization`; for `optimize`, the chosen run's), and Ctrl-C
  returns the best BLT so far;
- `LossFn.error_for_inv` and `LossFn.sensitivity_squared` are callables as in jax_privacy, but
  the loss the optimizer minimizes is evaluated in the core from the loss's description;
- streams (`as_streaming_matrix`, `inverse_as_streaming_matrix`) keep the noise's dtype
  (float32 stays float32) and work in place.
"""
import contextlib
import ctypes
import dataclasses
import warnings
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np

from . import _args, _ffi
from .optimization import CallbackArgs, OptimizeInfo, Run
from .streaming_matrix import StreamingMatrix

__all__ = [
    "BufferedToeplitz", "LossFn", "Parameterization", "CallbackArgs",
    "geometric_sum", "sensitivity_squared", "iteration_error", "max_error", "limit_max_error",
    "max_loss", "limit_max_loss", "min_buf_decay_gap", "blt_pair_from_theta_pair",
    "get_init_blt", "optimize_loss", "optimize", "grad", "value_and_grad",
]

_F64 = np.dtype(np.float64)
_PENALTY_NAMES = ["buf_decay<1", "buf_decay>0", "inv_buf_decay<1", "inv_buf_decay>0", "inv_output_scale<0",
                  "output_scale>0", "pillutla_score", "second_coef", "theta_gap"]
# jax_privacy's dictionary order of the penalties.
_PENALTY_ORDER = ["buf_decay>0", "buf_decay<1", "output_scale>0", "inv_buf_decay>0", "inv_buf_decay<1",
                  "inv_output_scale<0", "theta_gap", "second_coef", "pillutla_score"]


def _vector(values, name, function="BufferedToeplitz", dtype=None):
    """A read-only copy of `values` (array, number or list of real numbers) as float32 or
    float64 (integers become float64; `dtype` converts)."""
    array = np.array(_args.array(values, name, function, scalars=True, sequences=True), dtype=dtype, copy=True)
    array.setflags(write=False)
    return array


def _d(array):
    """A float64 1-D view or copy of a parameter vector, for the C calls."""
    return np.ascontiguousarray(np.asarray(array, dtype=np.float64).reshape(-1))


def _steps(n, name, function):
    """n as a float for the C calls (the library checks that it is a whole number, or inf)."""
    return _args.real(n, name, function)


class BufferedToeplitz:
    """A lower-triangular Toeplitz C parameterized as a BLT (immutable).

    If buf_decay = [d1, d2] and output_scale = [s1, s2], for n = 5 this is::

        1   0  0  0  0             t0 = 1
        t1  1  0  0  0             t1 = s1       + s2
        t2 t1  1  0  0    where    t2 = s1*d1**1 + s2*d2**1
        t3 t2 t1  1  0             t3 = s1*d1**2 + s2*d2**2
        t4 t3 t2 t1  1             t4 = s1*d1**3 + s2*d2**3

    `BufferedToeplitz.build` is the recommended constructor (it converts and canonicalizes);
    `BufferedToeplitz(buf_decay, output_scale)` stores the arrays as given (read-only copies).
    Memory O(d) for d buffers.

    Examples
    --------
    >>> blt = BufferedToeplitz.build(buf_decay=[0.5, 0.9], output_scale=[0.6, 0.1])
    >>> blt.buf_decay
    array([0.9, 0.5])
    >>> blt.toeplitz_coefs(3)
    array([1.  , 0.7 , 0.39])
    """

    __slots__ = ("buf_decay", "output_scale")

    def __init__(self, buf_decay, output_scale):
        object.__setattr__(self, "buf_decay", _vector(buf_decay, "buf_decay"))
        object.__setattr__(self, "output_scale", _vector(output_scale, "output_scale"))

    def __setattr__(self, name, value):
        raise AttributeError("BufferedToeplitz is immutable; use build() to make a new one")

    def __reduce__(self):
        return (BufferedToeplitz, (np.array(self.buf_decay), np.array(self.output_scale)))

    def __eq__(self, other):
        if not isinstance(other, BufferedToeplitz):
            return NotImplemented
        return (self.buf_decay.dtype == other.buf_decay.dtype and self.output_scale.dtype == other.output_scale.dtype
                and np.array_equal(self.buf_decay, other.buf_decay)
                and np.array_equal(self.output_scale, other.output_scale))

    def __hash__(self):
        return hash((self.buf_decay.dtype.str, self.buf_decay.tobytes(), self.output_scale.dtype.str,
                     self.output_scale.tobytes()))

    def __repr__(self):
        return f"BufferedToeplitz(buf_decay={self.buf_decay!r}, output_scale={self.output_scale!r})"

    def __str__(self):
        coefs = ", ".join([f"{c:.5f}" for c in self.toeplitz_coefs(10)] + ["..."])
        return ("BufferedToeplitz.build(\n"
                f"    buf_decay={self.buf_decay.tolist()},\n"
                f"    output_scale={self.output_scale.tolist()},\n"
                f"    dtype=np.{self.dtype})\n"
                f"Initial Toeplitz coefs=[{coefs}])")

    @property
    def dtype(self):
        """The parameters' dtype (float64 unless built as float32)."""
        return self.buf_decay.dtype

    @property
    def _num_buffers(self):
        return self.buf_decay.shape[0]

    def validate(self) -> None:
        """Checks that buf_decay and output_scale are 0-D or 1-D of one shape and dtype.

        Returns
        -------
        None

        Raises
        ------
        ValueError
            On any mismatch (jax_privacy's messages).

        Cost: O(1).

        Examples
        --------
        >>> BufferedToeplitz([0.9], [0.1]).validate()
        """
        if not (self.buf_decay.ndim <= 1 and self.output_scale.ndim <= 1):
            raise ValueError("buf_decay and output_scale must be OD or 1D, but :"
                             f"buf_decay.shape = {self.buf_decay.shape} and "
                             f"output_scale.shape = {self.output_scale.shape}")
        if self.buf_decay.shape != self.output_scale.shape:
            raise ValueError("buf_decay and output_scale must have the same length, but "
                             f"buf_decay.shape = {self.buf_decay.shape} != output_scale.shape = {self.output_scale.shape}")
        if self.buf_decay.dtype != self.output_scale.dtype:
            raise ValueError("buf_decay and output_scale must have the same dtype, but "
                             f"buf_decay.dtype = {self.buf_decay.dtype} != output_scale.dtype = {self.output_scale.dtype}")

    @classmethod
    def build(cls, buf_decay: Any, output_scale: Any, dtype: Any = np.float64) -> "BufferedToeplitz":
        """Converts the parameters to `dtype` (float64 or float32) and canonicalizes.

        Parameters
        ----------
        buf_decay, output_scale : array_like
            The decays theta and scales omega, one length d (d = 0 is the identity).
        dtype : float64 (default) or float32
            The parameters' dtype (computations run in float64 either way).

        Returns
        -------
        BufferedToeplitz
            With buf_decay in decreasing order.

        Raises
        ------
        ValueError
            Shapes that do not match or are not 1-D.

        Cost: O(d log d).

        Examples
        --------
        >>> BufferedToeplitz.build([0.1, 0.9], [1.0, 2.0]).output_scale
        array([2., 1.])
        """
        dtype = _args.real_dtype(dtype, "build")
        return cls(_vector(buf_decay, "buf_decay", "build", dtype),
                   _vector(output_scale, "output_scale", "build", dtype)).canonicalize()

    def canonicalize(self) -> "BufferedToeplitz":
        """This BLT with buf_decay in decreasing order (validated first).

        Returns
        -------
        BufferedToeplitz

        Raises
        ------
        ValueError
            Parameters of different lengths or dtypes, or not 1-D (`validate`).

        Cost: O(d log d).

        Examples
        --------
        >>> BufferedToeplitz([0.1, 0.5], [1.0, 2.0]).canonicalize().buf_decay
        array([0.5, 0.1])
        """
        self.validate()
        bd, os_ = _d(self.buf_decay), _d(self.output_scale)
        out_bd, out_os = np.empty_like(bd), np.empty_like(os_)
        _ffi.call("mfkit_blt_canonicalize", _ffi.describe(bd, "buf_decay"), _ffi.describe(os_, "output_scale"),
                  _ffi.describe(out_bd, "out_buf_decay", writable=True),
                  _ffi.describe(out_os, "out_output_scale", writable=True), function="canonicalize")
        shape = self.buf_decay.shape
        return BufferedToeplitz(out_bd.astype(self.dtype).reshape(shape), out_os.astype(self.dtype).reshape(shape))

    def _args(self):
        self.validate()
        bd, os_ = _d(self.buf_decay), _d(self.output_scale)
        return (bd, os_), (_ffi.describe(bd, "buf_decay"), _ffi.describe(os_, "output_scale"))

    def toeplitz_coefs(self, n: int) -> np.ndarray:
        """The first n Toeplitz coefficients [1, sum(omega), sum(omega theta), ...].

        Parameters
        ----------
        n : int
            Number of coefficients, n >= 1.

        Returns
        -------
        numpy.ndarray
            Shape (n,), the BLT's dtype.

        Raises
        ------
        ValueError
            n < 1.

        Cost: O(n d).

        Examples
        --------
        >>> BufferedToeplitz.build([0.5], [1.0]).toeplitz_coefs(4)
        array([1.  , 1.  , 0.5 , 0.25])
        """
        n = _args.positive_int(n, "n", "toeplitz_coefs")
        keep, args = self._args()
        out = np.empty(n, dtype=np.float64)
        _ffi.call("mfkit_blt_toeplitz_coefs", *args, _ffi.describe(out, "out", writable=True), function="toeplitz_coefs")
        return out.astype(self.dtype, copy=False)

    def materialize(self, n: int) -> np.ndarray:
        """The leading n x n block of C.

        Parameters
        ----------
        n : int
            n >= 1.

        Returns
        -------
        numpy.ndarray
            Shape (n, n), the BLT's dtype.

        Raises
        ------
        ValueError
            n < 1.

        Cost: O(n^2 + n d) time and memory.

        Examples
        --------
        >>> BufferedToeplitz.build([0.0], [-1.0]).materialize(3)
        array([[ 1.,  0.,  0.],
               [-1.,  1.,  0.],
               [ 0., -1.,  1.]])
        """
        n = _args.positive_int(n, "n", "materialize")
        keep, args = self._args()
        out = np.empty((n, n), dtype=self.dtype)
        _ffi.call("mfkit_blt_materialize", *args, _ffi.describe(out, "out", writable=True), function="materialize")
        return out

    def inverse(self, skip_checks: bool = False) -> "BufferedToeplitz":
        """C^{-1} as a BLT (canonical order, this BLT's dtype).

        Parameters
        ----------
        skip_checks : bool
            Skip the check that buf_decay values are at least 1e-9 apart.

        Returns
        -------
        BufferedToeplitz

        Raises
        ------
        ValueError
            buf_decay values closer than 1e-9 (unless skip_checks).
        RuntimeError
            The inverse is not a real BLT (complex buf_decay; output scales of mixed signs).

        Cost: O(d^2 * 64).

        Examples
        --------
        >>> inv = BufferedToeplitz.build([0.9], [0.1]).inverse()
        >>> inv.buf_decay, inv.output_scale
        (array([0.8]), array([-0.1]))
        """
        keep, args = self._args()
        d = keep[0].shape[0]
        out_bd, out_os = np.empty(d), np.empty(d)
        try:
            _ffi.call("mfkit_blt_inverse", *args, int(bool(skip_checks)),
                      _ffi.describe(out_bd, "out_buf_decay", writable=True),
                      _ffi.describe(out_os, "out_output_scale", writable=True), function="inverse")
        except ValueError as exc:
            if "Error computing inverse parameters" in str(exc):
                raise RuntimeError(str(exc)) from None
            raise
        return BufferedToeplitz(out_bd.astype(self.dtype), out_os.astype(self.dtype))

    def pillutla_score(self) -> float:
        """sum(output_scale / buf_decay), the Pillutla score (arXiv:2504.21413, Theorem 1).

        Returns
        -------
        float

        Raises
        ------
        ValueError
            Parameters of different lengths or dtypes, or not 1-D (`validate`).

        Cost: O(d).

        Examples
        --------
        >>> BufferedToeplitz.build([0.5], [0.25]).pillutla_score()
        0.5
        """
        keep, args = self._args()
        out = ctypes.c_double()
        _ffi.call("mfkit_blt_pillutla_score", *args, ctypes.byref(out), function="pillutla_score")
        return out.value

    def _stream(self, inverse, function):
        (bd, os_), args = self._args()
        handle = _ffi.new_handle("mfkit_blt_streaming_matrix", *args, int(inverse), function=function)
        bd.setflags(write=False)
        os_.setflags(write=False)
        return StreamingMatrix._new(handle, ("blt", bd, os_, bool(inverse)))

    def as_streaming_matrix(self) -> StreamingMatrix:
        """C as a streaming matrix: d slices of state, O(m d) per step for m elements per slice,
        in place, the slice's dtype kept.

        Returns
        -------
        StreamingMatrix

        Raises
        ------
        ValueError
            Parameters of different lengths or dtypes, or not 1-D (`validate`).

        Cost: O(d) to make.

        Examples
        --------
        >>> BufferedToeplitz.build([0.5], [1.0]).as_streaming_matrix().materialize(3)
        array([[1. , 0. , 0. ],
               [1. , 1. , 0. ],
               [0.5, 1. , 1. ]])
        """
        return self._stream(False, "as_streaming_matrix")

    def inverse_as_streaming_matrix(self) -> StreamingMatrix:
        """C^{-1} as a streaming matrix (x_t = y_t - sum_j omega_j s_j; s_j <- theta_j s_j + x_t):
        d slices of state, O(m d) per step, in place, float32 noise stays float32.

        Returns
        -------
        StreamingMatrix

        Raises
        ------
        ValueError
            Parameters of different lengths or dtypes, or not 1-D (`validate`).

        Cost: O(d) to make.

        Examples
        --------
        >>> import numpy as np
        >>> from mfkit import streaming_matrix as sm
        >>> z = np.ones((4, 8), dtype=np.float32)
        >>> inv = BufferedToeplitz.build([0.5], [1.0]).inverse_as_streaming_matrix()
        >>> sm.multiply_array(inv, z, out=z).dtype
        dtype('float32')
        """
        return self._stream(True, "inverse_as_streaming_matrix")


def _blt(value, function, name="blt"):
    if not isinstance(value, BufferedToeplitz):
        raise TypeError(f"{function}: {name} must be a BufferedToeplitz, got {type(value).__name__}")
    return value


def _closed(symbol, function, blt, *numbers, gradient=False):
    """Calls a closed form (value, and the gradient as a BufferedToeplitz when asked)."""
    keep, args = _blt(blt, function)._args()
    out = ctypes.c_double()
    grads = (np.empty_like(keep[0]), np.empty_like(keep[1])) if gradient else None
    gargs = [_ffi.describe(g, "grad", writable=True) for g in grads] if gradient else [None, None]
    _ffi.call(symbol, *args, *numbers, ctypes.byref(out), *gargs, function=function)
    if not gradient:
        return out.value
    return out.value, BufferedToeplitz(grads[0].reshape(blt.buf_decay.shape), grads[1].reshape(blt.output_scale.shape))


def sensitivity_squared(blt: BufferedToeplitz, n: float, _gradient: bool = False) -> Any:
    """sensitivity**2 of the BLT strategy C for n steps: its largest squared column norm
    (Lemma 5.3 of arXiv:2404.16706).

    Parameters
    ----------
    blt : BufferedToeplitz
        The strategy C.
    n : int or float
        Steps, an integer >= 1, or np.inf for the limit.

    Returns
    -------
    float
        +inf if some buf_decay > 1.

    Raises
    ------
    ValueError
        n not an integer >= 1 nor inf.

    Cost: O(d^2 log n).

    Examples
    --------
    >>> round(sensitivity_squared(BufferedToeplitz.build([0.5], [1.0]), np.inf), 12)
    2.333333333333
    """
    return _closed("mfkit_blt_sensitivity_squared", "sensitivity_squared", blt,
                   _steps(n, "n", "sensitivity_squared"), gradient=_gradient)


def iteration_error(inv_blt: BufferedToeplitz, i: int, _gradient: bool = False) -> Any:
    """The squared error of iteration i (0-indexed) for the noising BLT C^{-1} on the prefix-sum
    workload under unit-variance noise, which is also the max error of i + 1 iterations
    (Lemma 5.4 of arXiv:2404.16706).

    Parameters
    ----------
    inv_blt : BufferedToeplitz
        The noising matrix C^{-1}.
    i : int
        The iteration, an integer >= -1 (-1 gives 0).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        i not an integer >= -1.

    Cost: O(d^2 log i).

    Examples
    --------
    >>> iteration_error(BufferedToeplitz.build([], []), 9)
    10.0
    """
    return _closed("mfkit_blt_max_error", "iteration_error", inv_blt, _steps(i, "i", "iteration_error") + 1,
                   gradient=_gradient)


def max_error(inv_blt: BufferedToeplitz, n: float, _gradient: bool = False) -> Any:
    """The max squared error over iterations 0 ... n - 1 (that of the last) for the noising BLT.

    Parameters
    ----------
    inv_blt : BufferedToeplitz
        The noising matrix C^{-1}.
    n : int
        Iterations, an integer >= 0 (any size a float holds).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        n not an integer >= 0.

    Cost: O(d^2 log n).

    Examples
    --------
    >>> max_error(BufferedToeplitz.build([1.0], [1.0]), 3)   # b_t = 1, 2, 3
    14.0
    """
    return _closed("mfkit_blt_max_error", "max_error", inv_blt, _steps(n, "n", "max_error"), gradient=_gradient)


def limit_max_error(inv_blt: BufferedToeplitz, _gradient: bool = False) -> Any:
    """lim_{n -> inf} max_error(inv_blt, n) / n = (1 + sum_j omega_j / (1 - theta_j))^2.

    Parameters
    ----------
    inv_blt : BufferedToeplitz
        The noising matrix C^{-1}.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        inv_blt is not a BufferedToeplitz.

    Cost: O(d).

    Examples
    --------
    >>> limit_max_error(BufferedToeplitz.build([0.5], [-0.25]))
    0.25
    """
    return _closed("mfkit_blt_limit_max_error", "limit_max_error", inv_blt, gradient=_gradient)


def max_loss(blt: BufferedToeplitz, n: float, _gradient: bool = False) -> Any:
    """max_error(blt.inverse(), n) * sensitivity_squared(blt, n) for the strategy C.

    Parameters
    ----------
    blt : BufferedToeplitz
        The strategy C.
    n : int
        Iterations, an integer >= 1.

    Returns
    -------
    float
        +inf unless every output_scale > 0.

    Raises
    ------
    ValueError
        n not an integer >= 1.

    Cost: O(d^2 log n).

    Examples
    --------
    >>> max_loss(BufferedToeplitz.build([0.5], [-1.0]), 10)
    inf
    """
    return _closed("mfkit_blt_max_loss", "max_loss", blt, _steps(n, "n", "max_loss"), gradient=_gradient)


def limit_max_loss(blt: BufferedToeplitz, _gradient: bool = False) -> Any:
    """lim_{n -> inf} max_loss(blt, n) / n = sensitivity_squared(blt, inf) / c(1)^2 with
    c(1) = 1 + sum_j omega_j / (1 - theta_j).

    Parameters
    ----------
    blt : BufferedToeplitz
        The strategy C.

    Returns
    -------
    float
        +inf unless every output_scale > 0 and buf_decay < 1.

    Raises
    ------
    TypeError
        blt is not a BufferedToeplitz.

    Cost: O(d^2).

    Examples
    --------
    >>> round(limit_max_loss(BufferedToeplitz.build([0.5], [0.5])), 6)
    0.333333
    """
    return _closed("mfkit_blt_limit_max_loss", "limit_max_loss", blt, gradient=_gradient)


def value_and_grad(fn: Callable) -> Callable:
    """`jax.value_and_grad` for the closed forms: `value_and_grad(max_loss)(blt, n)` returns
    (value, gradient), the gradient a `BufferedToeplitz` holding d value / d buf_decay and
    d value / d output_scale (in the BLT's given order); for `geometric_sum(a, r, num)` the
    gradient is (d / da, d / dr) (jax's argnums=(0, 1)). Analytic; about the cost of the value.

    Parameters
    ----------
    fn : callable
        One of sensitivity_squared, iteration_error, max_error, limit_max_error, max_loss,
        limit_max_loss, geometric_sum.

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        Another function.

    Cost: about that of the value.

    Examples
    --------
    >>> v, g = value_and_grad(max_error)(BufferedToeplitz.build([0.5], [1.0]), 2)
    >>> v, float(g.output_scale[0])
    (5.0, 4.0)
    """
    supported = (sensitivity_squared, iteration_error, max_error, limit_max_error, max_loss, limit_max_loss,
                 geometric_sum)
    if fn not in supported:
        raise ValueError(f"value_and_grad: no analytic gradient for {getattr(fn, '__name__', fn)}; "
                         "supported: " + ", ".join(sorted(f.__name__ for f in supported)))
    return lambda *args: fn(*args, _gradient=True)


def grad(fn: Callable) -> Callable:
    """`jax.grad` for the closed forms: the gradient part of `value_and_grad(fn)`.

    Parameters
    ----------
    fn : callable
        As for `value_and_grad`.

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        A function without an analytic gradient.

    Cost: as `value_and_grad`.

    Examples
    --------
    >>> g = grad(sensitivity_squared)(BufferedToeplitz.build([0.5], [1.0]), 2)
    >>> float(g.output_scale[0])
    2.0
    """
    vg = value_and_grad(fn)
    return lambda *args: vg(*args)[1]


def geometric_sum(a: Any, r: Any, num: float = np.inf, _gradient: bool = False) -> Any:
    """a + a r + ... + a r^(num - 1), or the limit a / (1 - r) for num = inf; elementwise for
    arrays a and r (broadcast). Exact to a few ulps for every r (also r = 1).

    Parameters
    ----------
    a, r : array_like
        Scale and ratio.
    num : int or float
        Number of terms, an integer >= 0, or np.inf.

    Returns
    -------
    float or numpy.ndarray
        A float for scalar a and r, else a float64 array of the broadcast shape.

    Raises
    ------
    ValueError
        num not an integer >= 0 nor inf.

    Cost: O(log num) per element.

    Examples
    --------
    >>> round(geometric_sum(1.3, 0.9, 3), 12)
    3.523
    >>> geometric_sum(1.0, 1.0, 100000)
    100000.0
    """
    function = "geometric_sum"
    num = _steps(num, "num", function)
    a = np.asarray(_args.array(a, "a", function, scalars=True, sequences=True), dtype=np.float64)
    r = np.asarray(_args.array(r, "r", function, scalars=True, sequences=True), dtype=np.float64)
    try:
        a, r = np.broadcast_arrays(a, r)
    except ValueError as exc:
        raise ValueError(f"{function}: a and r do not broadcast: {exc}") from None
    out, grad_r = np.empty(a.shape, dtype=np.float64), np.empty(a.shape, dtype=np.float64)
    _ffi.call("mfkit_blt_geometric_sum", _ffi.describe(a, "a"), _ffi.describe(r, "r"), num,
              _ffi.describe(out, "out", writable=True),
              _ffi.describe(grad_r, "grad_r", writable=True) if _gradient else None, function="geometric_sum")
    scalar = (lambda x: float(x)) if out.ndim == 0 else (lambda x: x)
    if not _gradient:
        return scalar(out)
    ones = np.ones(a.shape)
    grad_a = np.empty(a.shape)   # the sum for a = 1
    _ffi.call("mfkit_blt_geometric_sum", _ffi.describe(ones, "a"), _ffi.describe(r, "r"), num,
              _ffi.describe(grad_a, "out", writable=True), None, function="geometric_sum")
    return scalar(out), (scalar(grad_a), scalar(grad_r))


def min_buf_decay_gap(buf_decay: Any) -> float:
    """min over i != j of |buf_decay[i] - buf_decay[j]| (inf for fewer than two entries).

    Parameters
    ----------
    buf_decay : array_like

    Returns
    -------
    float

    Raises
    ------
    ValueError
        buf_decay not 1-D.

    Cost: O(d^2).

    Examples
    --------
    >>> min_buf_decay_gap([0.9, 0.5, 0.45])
    0.04999999999999999
    """
    bd = _d(_args.array(buf_decay, "buf_decay", "min_buf_decay_gap", scalars=True, sequences=True))
    out = ctypes.c_double()
    _ffi.call("mfkit_blt_min_buf_decay_gap", _ffi.describe(bd, "buf_decay"), ctypes.byref(out),
              function="min_buf_decay_gap")
    return out.value


def blt_pair_from_theta_pair(theta: Any, theta_hat: Any) -> Tuple["BufferedToeplitz", "BufferedToeplitz"]:
    """The BLTs (C, C^{-1}) with C.buf_decay = theta and C^{-1}.buf_decay = theta_hat (Lemma 5.2 of
    arXiv:2404.16706; Theorem 2 of arXiv:2504.21413).

    Parameters
    ----------
    theta, theta_hat : array_like
        Distinct decays of one length d.

    Returns
    -------
    (BufferedToeplitz, BufferedToeplitz)
        Both canonicalized.

    Raises
    ------
    ValueError
        Lengths that differ.

    Cost: O(d^2).

    Examples
    --------
    >>> c, inv = blt_pair_from_theta_pair([0.9], [0.8])
    >>> float(c.output_scale[0]), float(inv.output_scale[0])
    (0.09999999999999998, -0.09999999999999998)
    """
    function = "blt_pair_from_theta_pair"
    t = _d(_args.array(theta, "theta", function, scalars=True, sequences=True))
    th = _d(_args.array(theta_hat, "theta_hat", function, scalars=True, sequences=True))
    w, wh = np.empty_like(t), np.empty_like(th)
    _ffi.call("mfkit_blt_pair_from_theta_pair", _ffi.describe(t, "theta"), _ffi.describe(th, "theta_hat"),
              _ffi.describe(w, "out_output_scale", writable=True),
              _ffi.describe(wh, "out_inverse_output_scale", writable=True), function="blt_pair_from_theta_pair")
    return BufferedToeplitz.build(t, w), BufferedToeplitz.build(th, wh)


def _rational(num_buffers, max_buf_decay=1.0, max_pillutla_score=None, buf_decay_scale=1.6, buf_decay_shift=-1):
    if isinstance(num_buffers, (int, np.integer)) and not isinstance(num_buffers, (bool, np.bool_)) and num_buffers < 1:
        raise ValueError("num_buffers must be >= 1.")
    function = "from_rational_approx_to_sqrt_x"
    num_buffers = _args.integer(num_buffers, "num_buffers", function, minimum=1, maximum=1024)
    score = None if max_pillutla_score is None else \
        ctypes.byref(ctypes.c_double(_args.real(max_pillutla_score, "max_pillutla_score", function)))
    max_buf_decay = _args.real(max_buf_decay, "max_buf_decay", function)
    buf_decay_scale = _args.real(buf_decay_scale, "buf_decay_scale", function)
    buf_decay_shift = _args.integer(buf_decay_shift, "buf_decay_shift", function)
    out_bd, out_os = np.empty(num_buffers), np.empty(num_buffers)
    _ffi.call("mfkit_blt_from_rational_approx", num_buffers, max_buf_decay, score, buf_decay_scale,
              buf_decay_shift, _ffi.describe(out_bd, "out_buf_decay", writable=True),
              _ffi.describe(out_os, "out_output_scale", writable=True), function="from_rational_approx_to_sqrt_x")
    return BufferedToeplitz(out_bd, out_os)


def _from_rational_approx_to_sqrt_x(cls, num_buffers: int, *, max_buf_decay: float = 1.0,
                                    max_pillutla_score: Optional[float] = None, buf_decay_scale: float = 1.6,
                                    buf_decay_shift: int = -1) -> BufferedToeplitz:
    """A BLT from a rational approximation of 1/sqrt(1 - x) (the "RA-BLT" of
    arXiv:2404.16706v2, Proposition 4.5): the noising BLT of the approximation of sqrt(1 - x),
    inverted; then buf_decay scaled so that its largest entry is at most max_buf_decay, and
    output_scale so that the Pillutla score is at most max_pillutla_score when given.

    Parameters
    ----------
    num_buffers : int
        d >= 1.
    max_buf_decay : float
    max_pillutla_score : float or None
    buf_decay_scale : float
        Larger values spread the decays further (1.6).
    buf_decay_shift : int
        Shifts the decays toward 1 when negative (-1).

    Returns
    -------
    BufferedToeplitz

    Raises
    ------
    ValueError
        num_buffers < 1.

    Cost: O(d^2).

    Examples
    --------
    >>> BufferedToeplitz.from_rational_approx_to_sqrt_x(2).buf_decay.shape
    (2,)
    """
    return _rational(num_buffers, max_buf_decay, max_pillutla_score, buf_decay_scale, buf_decay_shift)


BufferedToeplitz.from_rational_approx_to_sqrt_x = classmethod(_from_rational_approx_to_sqrt_x)


def _assert_blt_valid_for_minsep(blt: BufferedToeplitz, n: int = 10000):
    """Raises RuntimeError unless the first n coefficients of blt are nonnegative and
    non-increasing (what the min-sep sensitivity assumes)."""
    coef = blt.toeplitz_coefs(n).astype(np.float64)
    if np.any(coef < 0) or (len(coef) > 1 and np.max(np.diff(coef)) > 0):
        raise RuntimeError(f"Error computing sensitivity for BLT\n{blt}")


@dataclasses.dataclass(frozen=True)
class LossFn:
    """The loss optimized for a setting: error(C^{-1}) * sensitivity**2(C) plus penalties.

    Build one with `build_closed_form_single_participation(n)` or `build_min_sep(n, error,
    min_sep, max_participations)`; both evaluate in closed form, O(d^2 log n). `error_for_inv(inv_blt)` and
    `sensitivity_squared(blt)` are callables as in jax_privacy; `max_participations` is the
    effective k.

    Examples
    --------
    >>> loss = LossFn.build_min_sep(1000, error="mean", min_sep=100, max_participations=5)
    >>> blt = get_init_blt(3)
    >>> bool(abs(loss.loss(blt) - loss.error_for_inv(blt.inverse()) * loss.sensitivity_squared(blt)) < 1e-9)
    True
    """

    error_for_inv: Callable[[BufferedToeplitz], float]
    sensitivity_squared: Callable[[BufferedToeplitz], float]
    n: int
    min_sep: int
    max_participations: int
    penalty_strength: float = 1e-8
    penalty_multipliers: dict = dataclasses.field(default_factory=dict)
    max_second_coef: float = 1.0
    min_theta_gap: float = 1e-12
    _error: str = dataclasses.field(default="max", repr=False)
    _closed_form: bool = dataclasses.field(default=True, repr=False)
    _cap: Optional[int] = dataclasses.field(default=1, repr=False)

    @classmethod
    def build_closed_form_single_participation(cls, n: int, **kwargs: Any) -> "LossFn":
        """Max error x single-participation sensitivity by the closed forms.

        Parameters
        ----------
        n : int
            Iterations, n >= 1.
        **kwargs
            penalty_strength, penalty_multipliers, max_second_coef, min_theta_gap.

        Returns
        -------
        LossFn

        Raises
        ------
        ValueError
            n < 1.

        Cost: O(1).

        Examples
        --------
        >>> LossFn.build_closed_form_single_participation(100).max_participations
        1
        """
        n = _args.positive_int(n, "n", "build_closed_form_single_participation")
        return cls(error_for_inv=lambda inv: max_error(inv, n), sensitivity_squared=lambda b: sensitivity_squared(b, n),
                   n=n, min_sep=1, max_participations=1, _error="max", _closed_form=True, _cap=1, **kwargs)

    @classmethod
    def build_min_sep(cls, n: int, error: str = "max", min_sep: int = 1, max_participations: Optional[int] = None,
                      **kwargs: Any) -> "LossFn":
        """Mean or max error x min-sep sensitivity for up to max_participations participations
        at least min_sep apart.

        Parameters
        ----------
        n : int
        error : {'max', 'mean'}
        min_sep : int
        max_participations : int or None
        **kwargs
            As for `build_closed_form_single_participation`.

        Returns
        -------
        LossFn

        Raises
        ------
        ValueError
            Unknown error, n < 1 or min_sep < 1.

        Cost: O(1).

        Examples
        --------
        >>> LossFn.build_min_sep(100, min_sep=10).max_participations
        10
        """
        if not isinstance(error, str):
            raise TypeError(f"build_min_sep: error must be 'max' or 'mean', got {type(error).__name__}")
        if error not in ("max", "mean"):
            raise ValueError(f"Unknown error={error}")
        n = _args.positive_int(n, "n", "build_min_sep")
        min_sep = _args.positive_int(min_sep, "min_sep", "build_min_sep")
        max_participations = _args.optional_int(max_participations, "max_participations", "build_min_sep")
        k = -(-n // min_sep) if max_participations is None else min(max_participations, -(-n // min_sep))
        loss = cls(error_for_inv=None, sensitivity_squared=None, n=n, min_sep=min_sep, max_participations=k,
                   _error=error, _closed_form=False, _cap=max_participations, **kwargs)
        object.__setattr__(loss, "error_for_inv", lambda inv_blt: loss._part("mfkit_blt_loss_error", inv_blt))
        object.__setattr__(loss, "sensitivity_squared", lambda blt: loss._part("mfkit_blt_loss_sensitivity", blt))
        return loss

    def _part(self, symbol, blt):
        """The loss's error of a noising BLT or sensitivity**2 of a strategy."""
        keep, args = _blt(blt, "LossFn")._args()
        out = ctypes.c_double()
        _ffi.call(symbol, *self._spec(), *args, ctypes.byref(out), function="LossFn")
        return out.value

    def _spec(self):
        cap = None if self._cap is None else ctypes.byref(ctypes.c_int64(int(self._cap)))
        code = _ffi.CONSTANTS["MFKIT_BLT_ERROR_MEAN" if self._error == "mean" else "MFKIT_BLT_ERROR_MAX"]
        return [int(self.n), int(self.min_sep), cap, code, int(self._closed_form)]

    def _settings(self, function):
        """(penalty_strength, max_second_coef, min_theta_gap) as floats."""
        return (_args.real(self.penalty_strength, "penalty_strength", function),
                _args.real(self.max_second_coef, "max_second_coef", function),
                _args.real(self.min_theta_gap, "min_theta_gap", function))

    def _multipliers(self, num_buffers):
        if not isinstance(self.penalty_multipliers, dict):
            raise TypeError(f"LossFn: penalty_multipliers must be a dict, got {type(self.penalty_multipliers).__name__}")
        multipliers = dict(self.penalty_multipliers)
        values = np.ones(9)
        for name in _PENALTY_ORDER:
            if name == "theta_gap" and num_buffers <= 1:
                continue
            if name in multipliers:
                values[_PENALTY_NAMES.index(name)] = _args.real(multipliers.pop(name), f"penalty_multipliers[{name!r}]",
                                                                "LossFn")
        if multipliers:
            raise ValueError(f"Unrecognized penalty multipliers: {multipliers.keys()}")
        return values

    def compute_penalties(self, blt: BufferedToeplitz, inv_blt: BufferedToeplitz) -> dict:
        """The log-barrier penalties of the pair (C, C^{-1}) that keep optimization in the class
        of arXiv:2504.21413, Theorem 1 (NaN or inf outside it).

        Parameters
        ----------
        blt, inv_blt : BufferedToeplitz
            C and C^{-1}, one length d.

        Returns
        -------
        dict
            name -> value (theta_gap only for d > 1), in jax_privacy's order.

        Raises
        ------
        TypeError
            blt or inv_blt is not a BufferedToeplitz.
        ValueError
            Their lengths differ.

        Cost: O(d^2).

        Examples
        --------
        >>> loss = LossFn.build_closed_form_single_participation(10)
        >>> blt = get_init_blt(2)
        >>> sorted(loss.compute_penalties(blt, blt.inverse()))[:2]
        ['buf_decay<1', 'buf_decay>0']
        """
        (c, ca), (i, ia) = _blt(blt, "compute_penalties")._args(), _blt(inv_blt, "compute_penalties", "inv_blt")._args()
        out = np.empty(9)
        with np.errstate(all="ignore"):
            _, second, gap = self._settings("compute_penalties")
            _ffi.call("mfkit_blt_penalties", *ca, *ia, second, gap,
                      _ffi.describe(out, "out", writable=True), function="compute_penalties")
        d = c[0].shape[0]
        return {name: float(out[_PENALTY_NAMES.index(name)]) for name in _PENALTY_ORDER
                if name != "theta_gap" or d > 1}

    def penalized_loss(self, blt: BufferedToeplitz, inv_blt: BufferedToeplitz,
                       normalize_by_approx_optimal_loss: bool = True) -> float:
        """error(inv_blt) * sensitivity**2(blt) (divided by k + (1 + ln n / pi)^2 when
        normalizing) plus penalty_strength times the weighted penalties.

        Parameters
        ----------
        blt, inv_blt : BufferedToeplitz
        normalize_by_approx_optimal_loss : bool

        Returns
        -------
        float

        Raises
        ------
        ValueError
            Unrecognized penalty multipliers.

        Cost: O(d^2 log n).

        Examples
        --------
        >>> loss = LossFn.build_closed_form_single_participation(10)
        >>> blt = get_init_blt(2)
        >>> loss.penalized_loss(blt, blt.inverse()) > 0
        True
        """
        (c, ca), (i, ia) = _blt(blt, "penalized_loss")._args(), _blt(inv_blt, "penalized_loss", "inv_blt")._args()
        mult = self._multipliers(c[0].shape[0])
        out = ctypes.c_double()
        strength, second, gap = self._settings("penalized_loss")
        _ffi.call("mfkit_blt_penalized_loss", *self._spec(), strength,
                  _ffi.describe(mult, "penalty_multipliers"), second, gap,
                  *ca, *ia, int(bool(normalize_by_approx_optimal_loss)), ctypes.byref(out), function="penalized_loss")
        return out.value

    def loss(self, blt: BufferedToeplitz, skip_checks: bool = False) -> float:
        """error(blt.inverse()) * sensitivity**2(blt), without penalties (+inf, with a warning,
        when the inverse is not a real BLT).

        Parameters
        ----------
        blt : BufferedToeplitz
        skip_checks : bool
            Skip the inverse's gap check and, for several participations, the check that the
            coefficients are nonnegative and non-increasing.

        Returns
        -------
        float

        Raises
        ------
        RuntimeError
            For several participations, coefficients that are negative or increasing.

        Cost: as `penalized_loss`.

        Examples
        --------
        >>> LossFn.build_closed_form_single_participation(10).loss(BufferedToeplitz.build([], []))
        10.0
        """
        keep, args = _blt(blt, "loss")._args()
        try:
            blt.inverse(skip_checks=skip_checks)
        except RuntimeError as exc:
            warnings.warn(f"During loss computation, error computing inverse for BLT\n{blt}\nReturning inf. "
                          f"Exception:\n{exc}", RuntimeWarning, stacklevel=2)
            return float("inf")
        out = ctypes.c_double()
        try:
            _ffi.call("mfkit_blt_loss", *self._spec(), *args, int(bool(skip_checks)), ctypes.byref(out), function="loss")
        except ValueError as exc:
            if "Error computing sensitivity" in str(exc):
                raise RuntimeError(f"Error computing sensitivity for BLT\n{blt}") from exc
            raise
        return out.value


@dataclasses.dataclass(frozen=True)
class Parameterization:
    """How parameters map to the pair (C, C^{-1}): `buf_decay_pair()` (jax_privacy's default)
    or `strategy_blt()`. `optimize_loss` searches over the decay pair for both (the penalized
    loss of the pair is the same function either way).

    Examples
    --------
    >>> Parameterization.buf_decay_pair().name
    'buf_decay_pair'
    """

    name: str

    @classmethod
    def strategy_blt(cls) -> "Parameterization":
        """The strategy BLT itself as the parameters; C^{-1} is its inverse.

        Returns
        -------
        Parameterization

        Raises
        ------
        None

        Cost: O(1).

        Examples
        --------
        >>> Parameterization.strategy_blt().name
        'strategy_blt'
        """
        return cls("strategy_blt")

    @classmethod
    def buf_decay_pair(cls) -> "Parameterization":
        """The decays (theta, theta_hat) of C and C^{-1}; the scales follow from
        `blt_pair_from_theta_pair`.

        Returns
        -------
        Parameterization

        Raises
        ------
        None

        Cost: O(1).

        Examples
        --------
        >>> Parameterization.buf_decay_pair() == Parameterization.buf_decay_pair()
        True
        """
        return cls("buf_decay_pair")

    def params_from_blt(self, blt: BufferedToeplitz) -> Any:
        """The parameters of `blt` in this parameterization: the pair (blt.buf_decay,
        blt.inverse().buf_decay) for `buf_decay_pair()`, blt itself for `strategy_blt()`.

        Parameters
        ----------
        blt : BufferedToeplitz

        Returns
        -------
        (numpy.ndarray, numpy.ndarray) or BufferedToeplitz

        Raises
        ------
        TypeError
            blt is not a BufferedToeplitz.
        ValueError
            buf_decay_pair: blt's inverse does not exist (see `BufferedToeplitz.inverse`).

        Cost: O(d^2 * 64) for buf_decay_pair (one inverse), O(1) for strategy_blt.

        Examples
        --------
        >>> blt = BufferedToeplitz.build([0.9, 0.5], [0.2, 0.1])
        >>> p = Parameterization.buf_decay_pair()
        >>> strategy, inverse = p.blt_and_inverse_from_params(p.params_from_blt(blt))
        >>> bool(np.allclose(strategy.output_scale, blt.output_scale, rtol=1e-10))
        True
        """
        _blt(blt, "params_from_blt", "blt")
        if self.name == "strategy_blt":
            return blt
        return (blt.buf_decay.copy(), blt.inverse().buf_decay.copy())

    def blt_and_inverse_from_params(self, params: Any) -> Tuple[BufferedToeplitz, BufferedToeplitz]:
        """The pair (C, C^{-1}) that `params` stand for: `blt_pair_from_theta_pair(*params)` for
        `buf_decay_pair()`, (params, params.inverse(skip_checks=True)) for `strategy_blt()`.

        Parameters
        ----------
        params : (array_like, array_like) or BufferedToeplitz
            As `params_from_blt` returns them.

        Returns
        -------
        (BufferedToeplitz, BufferedToeplitz)

        Raises
        ------
        TypeError, ValueError
            params not of this parameterization's form, or decays with no valid pair.

        Cost: O(d^2) for buf_decay_pair, O(d^2 * 64) for strategy_blt (one inverse).

        Examples
        --------
        >>> p = Parameterization.strategy_blt()
        >>> blt, inv = p.blt_and_inverse_from_params(BufferedToeplitz.build([0.9], [0.2]))
        >>> inv.buf_decay.round(6).tolist()
        [0.7]
        """
        if self.name == "strategy_blt":
            _blt(params, "blt_and_inverse_from_params", "params")
            return params, params.inverse(skip_checks=True)
        if isinstance(params, BufferedToeplitz) or not isinstance(params, (tuple, list)) or len(params) != 2:
            raise TypeError("blt_and_inverse_from_params: buf_decay_pair params must be a pair "
                            f"(theta, theta_hat) of decay arrays, got {type(params).__name__}")
        return blt_pair_from_theta_pair(params[0], params[1])

    def get_loss_fn(self, loss_fn: "LossFn") -> Callable[[Any], float]:
        """The penalized loss as a function of this parameterization's params:
        params -> loss_fn.penalized_loss(*self.blt_and_inverse_from_params(params)).

        Parameters
        ----------
        loss_fn : LossFn

        Returns
        -------
        callable

        Raises
        ------
        TypeError
            loss_fn is not a LossFn.

        Cost: that of `blt_and_inverse_from_params` and `LossFn.penalized_loss` per call.

        Examples
        --------
        >>> p = Parameterization.buf_decay_pair()
        >>> f = p.get_loss_fn(LossFn.build_closed_form_single_participation(100))
        >>> bool(f(p.params_from_blt(get_init_blt(2))) > 0)
        True
        """
        if not isinstance(loss_fn, LossFn):
            raise TypeError(f"get_loss_fn: loss_fn must be a LossFn, got {type(loss_fn).__name__}")
        return lambda params: loss_fn.penalized_loss(*self.blt_and_inverse_from_params(params))


def get_init_blt(num_buffers: int = 3, init_blt: Optional[BufferedToeplitz] = None) -> BufferedToeplitz:
    """The start of optimization: init_blt if given, else the identity for 0 buffers or
    `from_rational_approx_to_sqrt_x(num_buffers, max_buf_decay=1 - 1e-6,
    max_pillutla_score=1 - 1e-6)`.

    Parameters
    ----------
    num_buffers : int
        d >= 0.
    init_blt : BufferedToeplitz or None

    Returns
    -------
    BufferedToeplitz

    Raises
    ------
    ValueError
        init_blt with another number of buffers.

    Cost: O(d^2).

    Examples
    --------
    >>> get_init_blt(3).buf_decay.shape
    (3,)
    """
    num_buffers = _args.integer(num_buffers, "num_buffers", "get_init_blt", minimum=0, maximum=1024)
    if init_blt is not None:
        _blt(init_blt, "get_init_blt", "init_blt")
    if init_blt is None:
        if num_buffers == 0:
            init_blt = BufferedToeplitz.build(buf_decay=[], output_scale=[])
        else:
            init_blt = BufferedToeplitz.from_rational_approx_to_sqrt_x(
                num_buffers=num_buffers, max_buf_decay=1 - 1e-6, max_pillutla_score=1 - 1e-6)
    if len(init_blt.buf_decay) != num_buffers:
        raise ValueError(f"num_buffers={num_buffers} does not match len(init_blt.buf_decay)={len(init_blt.buf_decay)}")
    return init_blt


@contextlib.contextmanager
def _invalid_blt_is_runtime_error():
    """The library's refusal of an optimized BLT (a non-finite loss, coefficients unfit for
    several participations) as RuntimeError, as jax_privacy raises it."""
    try:
        yield
    except ValueError as exc:
        if "non-finite loss" in str(exc) or "Error computing sensitivity" in str(exc):
            raise RuntimeError(str(exc)) from None
        raise


def optimize_loss(loss_fn: LossFn, num_buffers: int = 1, init_blt: Optional[BufferedToeplitz] = None,
                  parameterization: Optional["Parameterization"] = None, *, max_optimizer_steps: int = 600,
                  callback: Optional[Callable[[CallbackArgs], Any]] = None, progress: Union[bool, int] = False,
                  gtol: float = 0.0, ftol: float = 0.0, return_info: bool = False,
                  **kwargs: Any) -> Union[Tuple[BufferedToeplitz, float], Tuple[BufferedToeplitz, float, OptimizeInfo]]:
    """Minimizes loss_fn's penalized loss over BLTs with num_buffers buffers.

    L-BFGS (memory 15, strong Wolfe line search) over the buf_decay pair (theta, theta_hat) of
    the strategy and its inverse (2 d unknowns); the objective it minimizes, which the callback,
    the progress display and the report see, is ``loss_fn.penalized_loss(blt, inv_blt)``
    (normalized by k + (1 + ln n / pi)^2; the returned loss is the plain ``loss_fn.loss``).
    Ctrl-C stops the run and returns the best BLT so far (with a warning).

    Parameters
    ----------
    loss_fn : LossFn
    num_buffers : int
        d >= 0 (0: the identity and its loss; nothing to optimize, the report is one
        evaluation, converged).
    init_blt : BufferedToeplitz or None
        The start (default `get_init_blt(num_buffers)`).
    parameterization : Parameterization or None
        `Parameterization.buf_decay_pair()` (the default) or `strategy_blt()`: both minimize the
        same penalized loss of the pair (C, C^{-1}), and MFKit searches over the decay pair
        (theta, theta_hat) for both, from the same start.
    max_optimizer_steps : int, default 600
        The most L-BFGS steps.
    callback : callable, optional
        ``callback(CallbackArgs(step, loss, grad_norm))`` after every step; a true return stops.
    progress : bool or int, default False
        True shows a tqdm bar with the objective (`tqdm.auto`: a widget in a notebook);
        without tqdm, printed lines every few steps; an int, a line every that many steps.
    gtol, ftol : float, default 0
        Converged when the largest entry of the objective's gradient (with respect to the
        buf_decay pair) is at most `gtol`, or when a step's relative decrease of the objective
        is at most `ftol`. With both 0, as jax_privacy, every step is taken unless the run stalls.
    return_info : bool, default False
        Also return an `optimization.OptimizeInfo` (stop reason, steps, evaluations, objective,
        its gradient's norm).
    **kwargs
        optimizer (accepted and ignored).

    Returns
    -------
    (BufferedToeplitz, float) or (BufferedToeplitz, float, OptimizeInfo)
        The canonical strategy, its loss without penalties, and with ``return_info=True`` the
        run's report.

    Raises
    ------
    RuntimeError
        The result has a non-finite loss or, for several participations, coefficients that are
        negative or increasing.
    ValueError, TypeError
        Bad arguments (a negative tolerance, a callback that is not callable, ...). Exceptions
        raised by the callback propagate.

    Warns
    -----
    RuntimeWarning
        When no step could be taken, on Ctrl-C, and when some output_scale is near zero.

    Cost: up to max_optimizer_steps L-BFGS steps of 1-2 penalized-loss evaluations each,
    O(d^2 log n).

    Examples
    --------
    >>> blt, loss, info = optimize_loss(LossFn.build_closed_form_single_participation(100), num_buffers=2,
    ...                                 ftol=1e-12, return_info=True)
    >>> loss < max_loss(get_init_blt(2), 100), info.steps > 0
    (True, True)
    """
    function = "optimize_loss"
    if parameterization is not None and not isinstance(parameterization, Parameterization):
        raise TypeError(f"{function}: parameterization must be a Parameterization or None, "
                        f"got {type(parameterization).__name__}")
    steps = _args.steps_int(max_optimizer_steps, function)
    kwargs.pop("optimizer", None)
    if kwargs:
        raise TypeError(f"{function}: unexpected keyword arguments {sorted(kwargs)}")
    if not isinstance(loss_fn, LossFn):
        raise TypeError(f"{function}: loss_fn must be a LossFn, got {type(loss_fn).__name__}")
    num_buffers = _args.integer(num_buffers, "num_buffers", function, minimum=0, maximum=1024)
    run = Run(function, callback, progress, steps, gtol, ftol)
    strength, second, gap = loss_fn._settings(function)
    init = get_init_blt(num_buffers, init_blt) if num_buffers else None
    starts = (None, None) if init is None else (_ffi.describe(_d(init.buf_decay), "init_buf_decay"),
                                               _ffi.describe(_d(init.output_scale), "init_output_scale"))
    out_bd, out_os = np.empty(num_buffers), np.empty(num_buffers)
    mult = loss_fn._multipliers(num_buffers)
    loss = ctypes.c_double()
    with run, _invalid_blt_is_runtime_error():
        _ffi.call("mfkit_blt_optimize_loss", *loss_fn._spec(), strength, _ffi.describe(mult, "penalty_multipliers"),
                  second, gap, num_buffers, *starts, steps, run.gtol, run.ftol, run.c_callback, None,
                  _ffi.describe(out_bd, "out_buf_decay", writable=True),
                  _ffi.describe(out_os, "out_output_scale", writable=True), ctypes.byref(loss),
                  *run.report.pointers(), function=function)
    info = run.finish("the best BLT so far")
    blt = BufferedToeplitz(out_bd, out_os)
    if np.any(np.abs(blt.output_scale) < 1e-8):
        warnings.warn("BLT has near-zero output_scale parameters, which means some buffers are ignored. Consider "
                      f"re-optimizing with a smaller number of buffers.\n{blt}", RuntimeWarning, stacklevel=2)
    return (blt, loss.value, info) if return_info else (blt, loss.value)


def _optimize_increasing_nbuf(opt_blt_and_loss_fn: Callable, min_buffers: int = 0, max_buffers: int = 10,
                              rtol: float = 1.02):
    """Optimizes with increasing num_buffers until the improvement is < rtol (a RuntimeError
    counts as an infinite loss); returns the last accepted result's first element."""
    prev_blt, prev_loss = opt_blt_and_loss_fn(min_buffers)
    for nbuf in range(min_buffers + 1, max_buffers + 1):
        try:
            blt, loss = opt_blt_and_loss_fn(nbuf)
        except NotImplementedError:
            raise
        except RuntimeError as err:
            warnings.warn(f"Optimization failed for {nbuf} buffers with:\n{err}", RuntimeWarning, stacklevel=2)
            blt, loss = None, float("inf")
        if rtol * loss < prev_loss:
            prev_blt, prev_loss = blt, loss
        else:
            return prev_blt
    return prev_blt


def optimize(*, n: int, min_sep: int = 1, max_participations: Optional[int] = 1, error: str = "max",
             min_buffers: int = 0, max_buffers: int = 10, rtol: float = 1.01, max_optimizer_steps: int = 600,
             callback: Optional[Callable[[CallbackArgs], Any]] = None, progress: Union[bool, int] = False,
             gtol: float = 0.0, ftol: float = 0.0, return_info: bool = False,
             **kwargs: Any) -> Union[BufferedToeplitz, Tuple[BufferedToeplitz, OptimizeInfo]]:
    """A good BLT with a number of buffers chosen by the loss: optimizes with min_buffers, then
    one more buffer at a time while the loss improves by the factor rtol, up to max_buffers.

    Single-participation max error uses the closed-form loss, everything else the min-sep loss;
    both are closed forms, so the time hardly depends on n. Every run is `optimize_loss`'s
    (with the same max_optimizer_steps, tolerances and callback; the callback's step restarts
    from 0 with each run); a run that fails counts as an infinite loss.

    Parameters
    ----------
    n : int
        Iterations.
    min_sep : int
        Minimum separation of participations.
    max_participations : int or None
        Maximum participations (None: as many as n and min_sep allow).
    error : {'max', 'mean'}
    min_buffers, max_buffers : int
        Range of buffer counts (max_buffers <= 15).
    rtol : float
        Relative improvement needed to add a buffer.
    max_optimizer_steps : int, default 600
        L-BFGS steps per buffer count.
    callback : callable, optional
        ``callback(CallbackArgs(step, loss, grad_norm))`` after every step of every run; a true
        return stops the current run.
    progress : bool or int, default False
        As for `optimize_loss`, anew for each run ("optimize (run r)").
    gtol, ftol : float, default 0
        Each run's tolerances, as for `optimize_loss`.
    return_info : bool, default False
        Also return the chosen run's `optimization.OptimizeInfo`.
    **kwargs
        optimizer (accepted and ignored).

    Returns
    -------
    BufferedToeplitz or (BufferedToeplitz, OptimizeInfo)

    Raises
    ------
    ValueError
        max_buffers > 15, unknown error, bad n or min_sep, a negative tolerance.
    RuntimeError
        The first run (min_buffers) produced an invalid BLT.

    Warns
    -----
    RuntimeWarning
        When the chosen run could not take a step, and on Ctrl-C.

    Cost: (buffer counts tried) x max_optimizer_steps x 1-2 evaluations of O(d^2 log n).

    Examples
    --------
    >>> optimize(n=1000, min_buffers=2, max_buffers=2).buf_decay.shape
    (2,)
    >>> blt, info = optimize(n=10**6, min_sep=1000, max_participations=10, error="mean", ftol=1e-10,
    ...                      return_info=True)
    >>> info.converged, len(blt.buf_decay) >= 1
    (True, True)
    """
    function = "optimize"
    if not isinstance(error, str):
        raise TypeError(f"optimize: error must be 'max' or 'mean', got {type(error).__name__}")
    if error not in ("max", "mean"):
        raise ValueError(f"Unknown error={error}")
    n = _args.positive_int(n, "n", function)
    min_sep = _args.positive_int(min_sep, "min_sep", function)
    max_participations = _args.optional_int(max_participations, "max_participations", function)
    min_buffers = _args.integer(min_buffers, "min_buffers", function)
    max_buffers = _args.integer(max_buffers, "max_buffers", function)
    rtol = _args.real(rtol, "rtol", function)
    steps = _args.steps_int(max_optimizer_steps, function)
    kwargs.pop("optimizer", None)
    if kwargs:
        raise TypeError(f"optimize: unexpected keyword arguments {sorted(kwargs)}")
    run = Run(function, callback, progress, steps, gtol, ftol, runs=True)
    size = min(max(max_buffers, 0), 15)   # larger max_buffers are refused by the library
    out_bd, out_os = np.empty(size), np.empty(size)
    count = ctypes.c_int64()
    cap = None if max_participations is None else ctypes.byref(ctypes.c_int64(int(max_participations)))
    code = _ffi.CONSTANTS["MFKIT_BLT_ERROR_MEAN" if error == "mean" else "MFKIT_BLT_ERROR_MAX"]
    with run, _invalid_blt_is_runtime_error():
        _ffi.call("mfkit_blt_optimize", n, min_sep, cap, code, min_buffers, max_buffers, rtol, steps, run.gtol,
                  run.ftol, run.c_callback, None, _ffi.describe(out_bd, "out_buf_decay", writable=True),
                  _ffi.describe(out_os, "out_output_scale", writable=True), ctypes.byref(count),
                  *run.report.pointers(), function=function)
    info = run.finish("the best BLT of the runs so far")
    d = count.value
    blt = BufferedToeplitz(out_bd[:d], out_os[:d])
    return (blt, info) if return_info else blt

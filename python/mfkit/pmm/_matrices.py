"""The affine Hermitian matrix modules: M(x) = M_0 + x_1 M_1 + ... + x_p M_p + s C."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _args, _ffi
from ._common import (Handle, ModuleBase, check_keys, finite_real, flag, frozen, make_rng,
                      positive_int_or_none, real_features)

__all__ = ["LowRankAffineHermitianMatrix", "AffineHermitianMatrix"]


class _AffineHermitianBase(ModuleBase):
    """The life cycle shared by the two modules (parametricmatrixmodels' BaseModule). The
    prepared library model is a `Handle` made from one parameter snapshot: a call keeps the
    Handle it started with, so `set_params` from another thread never fails a call in flight
    (each call uses the old or the new parameters)."""

    _HYPERPARAMETERS: Tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self._handle: Optional[_Prepared] = None

    @property
    def _num_matrices(self):
        params = self.get_params()
        return None if params[-1] is None else params[-1].shape[0]

    @property
    def dtype(self):
        """The complex dtype of the parameters and of the output (None before compile)."""
        if not self.is_ready():
            return None
        return np.result_type(np.complex64, *self.get_params())

    # -- life cycle ----------------------------------------------------------------------
    def _features_from_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 1:
            ndim = len(input_shape) if isinstance(input_shape, (tuple, list)) else "non-tuple"
            raise ValueError(f"Input shape must be 1D, got {ndim}D shape: {input_shape}")
        features = input_shape[0]
        if isinstance(features, (bool, np.bool_)) or not isinstance(features, (int, np.integer)) or features < 0:
            raise ValueError(f"Input shape must hold a non-negative number of features, got {input_shape}")
        q = int(features) + 1 if self.bias_term else int(features)
        if q < 1:
            raise ValueError("A module without a bias term needs at least one feature")
        return int(features), q

    def compile(self, rng, input_shape):
        """Prepares the module for inputs of shape (num_features,).

        When the parameters exist, only checks that they fit `input_shape`; otherwise draws
        random complex64 parameters of magnitude `init_magnitude` from `rng` (an integer seed
        or a numpy.random.Generator). Time O(q r n) or O(q n^2) for the draw.
        """
        features, q = self._features_from_shape(input_shape)
        if self.is_ready():
            if self._num_matrices != q:
                expected = self._num_matrices - (1 if self.bias_term else 0)
                raise ValueError(f"Input shape {tuple(input_shape)} does not match the expected "
                                 f"number of features {expected}")
            return
        self._check_sizes_for_init()
        n = int(self.matrix_size)
        if q * n * n > 1 << 28:  # the library's limit, checked before drawing q n^2 numbers
            raise MemoryError(f"{q} matrices of size {n} x {n} are too large for MFKit's PMM kernels "
                              "(at most 2^28 entries)")
        self._init_params(make_rng(rng), q)

    def get_output_shape(self, input_shape):
        """(matrix_size, matrix_size), or (matrix_size**2,) with flatten=True."""
        self._features_from_shape(input_shape)
        n = self.matrix_size
        return (n * n,) if self.flatten else (n, n)

    def get_hyperparameters(self):
        return {key: getattr(self, key) for key in self._HYPERPARAMETERS}

    def set_hyperparameters(self, hyperparameters: Dict[str, Any]) -> None:
        """Sets hyperparameters from a dict; refused once the module has parameters."""
        check_keys(hyperparameters, self._HYPERPARAMETERS, (), type(self).__name__)
        if self._has_params():
            raise ValueError("Cannot set hyperparameters after the module has parameters")
        values = self.get_hyperparameters()
        values.update(hyperparameters)
        self._apply_hyperparameters(values)

    def _apply_hyperparameters(self, h):
        self.matrix_size = positive_int_or_none(h["matrix_size"], "matrix_size")
        self.smoothing = finite_real(h["smoothing"], "smoothing", allow_none=True)
        self.init_magnitude = finite_real(h["init_magnitude"], "init_magnitude", positive=True)
        self.bias_term = flag(h["bias_term"], "bias_term")
        self.flatten = flag(h["flatten"], "flatten")

    # -- forward pass --------------------------------------------------------------------
    def __call__(self, input_NF, training=False, state=(), rng=None, out=None):
        """The forward pass: (M(x) for every row x of input_NF, state).

        input_NF: (num_samples, num_features), float32 or float64, any strides (not copied).
        out: optional preallocated result of shape (num_samples, n, n) (or (num_samples, n*n)
        with flatten=True; either shape is accepted) and the parameters' complex dtype,
        written in place. `training` and `rng` are accepted for the BaseModule interface and
        unused. Time O(N p n^2) over both cores (after an O(q n^3) preparation the first time
        parameters are used).
        """
        if not self.is_ready():
            raise ValueError("Module is not ready, call compile() first")
        input_NF = real_features(input_NF)
        handle = self._prepared()
        if out is not None:
            out = _args.output(out, "out", "__call__", dtypes=_args.REAL + _args.COMPLEX)   # the library names the dtype it needs
        else:
            out = np.empty((input_NF.shape[0],) + self.get_output_shape((input_NF.shape[1],)), dtype=handle.dtype)
        _ffi.call("mfkit_pmm_forward", handle.value, _ffi.describe(input_NF, "input_NF"),
                  _ffi.describe(out, "out", writable=True), function="__call__")
        return out, state

    def _prepared(self) -> "_Prepared":
        """The library model of the current parameters (made on first use after a change)."""
        with self._lock:
            if self._handle is None:
                self._handle = _Prepared(Handle(self._create_handle()), self.dtype, self.get_params())
            return self._handle

    def _gradient(self, sums: np.ndarray) -> Tuple[np.ndarray, ...]:
        """The parameter gradient (jax.grad's convention) from feature sums (p+1, n, n)."""
        return self._prepared().gradient(sums)

    def _params_changed(self) -> None:
        # under the caller's lock: later calls prepare the new parameters; calls in flight keep
        # the Handle they hold
        self._handle = None

    # -- parameters and precision --------------------------------------------------------
    def get_num_trainable_floats(self):
        """Real numbers trained (None before compile): complex entries count twice."""
        if not self.is_ready():
            return None
        return self._count_floats()


class _Prepared:
    """A Handle with the parameters it was made from and their complex dtype."""

    __slots__ = ("handle", "dtype", "params")

    def __init__(self, handle: Handle, dtype: np.dtype, params: Tuple[np.ndarray, ...]):
        self.handle, self.dtype, self.params = handle, dtype, params

    @property
    def value(self) -> Any:
        return self.handle.value

    def gradient(self, sums: np.ndarray) -> Tuple[np.ndarray, ...]:
        """jax.grad's entries for the parameters from the feature sums (p+1, n, n) of
        mfkit_pmm_feature_sum (mfkit_pmm_parameter_gradient). O(q n^3) with smoothing."""
        outs = [np.empty(p.shape, p.dtype) for p in self.params]
        descs = (_ffi.Array * len(outs))()
        for i, o in enumerate(outs):
            descs[i] = _ffi.describe(o, f"grads[{i}]", True)
        _ffi.call("mfkit_pmm_parameter_gradient", self.value, _ffi.describe(sums, "sums"), descs, len(outs),
                  function="value_and_grad")
        return tuple(outs)


def _check_array(value, name, complex_, ndim):
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name} must be a numpy array")
    if complex_ and value.dtype not in (np.complex64, np.complex128):
        raise TypeError(f"{name} must be complex64 or complex128, got {value.dtype}")
    if not complex_ and value.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64 (real), got {value.dtype}")
    if value.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}D array, got shape {value.shape}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} must be finite (found NaN or infinity)")


class LowRankAffineHermitianMatrix(_AffineHermitianBase):
    """M(x) = M_0 + x_1 M_1 + ... + x_p M_p + s C with low-rank Hermitian
    M_i = sum_k lambdas[i, k] u_{ik} u_{ik}^H (parametricmatrixmodels' module of this name).

    Parameters
    ----------
    matrix_size : int, n. rank : int, r (1 <= r <= n).
    smoothing : float or None, s (None or 0.0: no smoothing).
    lambdas : optional real array (q, r); us : optional complex array (q, r, n); q = p + 1
        with the bias term, p without. Given together, or drawn at compile().
    init_magnitude : float, scale of the random parameters (default 1e-2).
    bias_term : bool, include M_0 (default True). flatten : bool, output (N, n*n) instead of
        (N, n, n) (default False).

    get_params() returns (lambdas, us); get_num_trainable_floats() counts lambdas once and us
    twice (real and imaginary parts). Preparation: O(q r n^2), smoothing included.
    """

    _HYPERPARAMETERS = ("matrix_size", "rank", "smoothing", "init_magnitude", "flatten", "bias_term")

    def __init__(self, matrix_size=None, rank=None, smoothing=None, lambdas=None, us=None,
                 init_magnitude=1e-2, bias_term=True, flatten=False):
        super().__init__()
        self.lambdas = None
        self.us = None
        matrix_size = positive_int_or_none(matrix_size, "matrix_size")
        rank = positive_int_or_none(rank, "rank")
        if (lambdas is None) != (us is None):
            raise ValueError("lambdas and us must be given together (or neither, to draw them at compile())")
        if us is not None:
            _check_array(lambdas, "lambdas", False, 2)
            _check_array(us, "us", True, 3)
            matrix_size = matrix_size or us.shape[2]
            rank = rank or us.shape[1]
        self._apply_hyperparameters({"matrix_size": matrix_size, "rank": rank, "smoothing": smoothing,
                                     "init_magnitude": init_magnitude, "flatten": flatten,
                                     "bias_term": bias_term})
        if us is not None:
            self.set_params((lambdas, us))

    def _apply_hyperparameters(self, h):
        super()._apply_hyperparameters(h)
        self.rank = positive_int_or_none(h["rank"], "rank")
        if self.rank is not None and self.matrix_size is not None and self.rank > self.matrix_size:
            raise ValueError("rank cannot be larger than matrix_size")

    def name(self):
        """The module's name, e.g. 'LowRankAffineHermitianMatrix(8x8, rank=2, smoothing=0.0,)'."""
        return ("LowRankAffineHermitianMatrix("
                f"{self.matrix_size}x{self.matrix_size},"
                f" rank={self.rank},"
                f" smoothing={self.smoothing},"
                f"{'' if self.bias_term else ' no bias,'}"
                f"{' FLATTENED' if self.flatten else ''})")

    def is_ready(self):
        return self.us is not None and self.lambdas is not None

    def _has_params(self):
        return self.us is not None or self.lambdas is not None

    def _count_floats(self):
        return int(self.lambdas.size + 2 * self.us.size)

    def _check_sizes_for_init(self):
        if self.matrix_size is None or self.rank is None:
            raise ValueError("matrix_size and rank must be set before compile() can draw parameters")

    def _init_params(self, gen, q):
        r, n, mag = self.rank, self.matrix_size, self.init_magnitude
        lambdas = (mag * gen.standard_normal((q, r))).astype(np.float32)
        us = (mag * (gen.standard_normal((q, r, n)) + 1j * gen.standard_normal((q, r, n)))).astype(np.complex64)
        self.set_params((lambdas, us))

    def get_params(self):
        """(lambdas, us): read-only arrays (use set_params to change them)."""
        return (self.lambdas, self.us)

    def set_params(self, params):
        """Sets (lambdas, us), shape-checked: lambdas (q, rank) real, us (q, rank, matrix_size)
        complex, q fixed once parameters exist. The arrays are copied (read-only)."""
        if not isinstance(params, tuple) or not all(isinstance(p, np.ndarray) for p in params):
            raise ValueError("params must be a tuple of numpy arrays")
        if len(params) != 2:
            raise ValueError(f"Expected 2 parameter arrays, got {len(params)}")
        lambdas, us = params
        _check_array(lambdas, "lambdas", False, 2)
        _check_array(us, "us", True, 3)
        n = self.matrix_size if self.matrix_size is not None else us.shape[2]
        r = self.rank if self.rank is not None else us.shape[1]
        q = us.shape[0] if self.us is None else self.us.shape[0]
        plus = "+1" if self.bias_term else ""
        if us.shape != (q, r, n):
            raise ValueError(f"us must be a 3D array of shape (input_size{plus}, rank, matrix_size) "
                             f"[{(q, r, n)}], got {us.shape}")
        if lambdas.shape != (q, r):
            raise ValueError(f"lambdas must be a 2D array of shape (input_size{plus}, rank) "
                             f"[{(q, r)}], got {lambdas.shape}")
        if q < 1:
            raise ValueError("us must hold at least one matrix")
        if r > n:
            raise ValueError("rank cannot be larger than matrix_size")
        self.matrix_size, self.rank = int(n), int(r)
        lambdas, us = frozen(lambdas), frozen(us)
        with self._lock:
            self.lambdas, self.us = lambdas, us
            self._params_changed()

    def _create_handle(self):
        dtype = _ffi.DTYPE_CODES[np.dtype(self.dtype)]
        return _ffi.new_handle("mfkit_pmm_low_rank_create", _ffi.describe(self.lambdas, "lambdas"),
                               _ffi.describe(self.us, "us"), float(self.smoothing), int(self.bias_term), dtype,
                               function="LowRankAffineHermitianMatrix")


class AffineHermitianMatrix(_AffineHermitianBase):
    """M(x) = M_0 + x_1 M_1 + ... + x_p M_p + s C with full-rank Hermitian M_i
    (parametricmatrixmodels' module of this name).

    Parameters
    ----------
    matrix_size : int, n. smoothing : float or None, s (None or 0.0: no smoothing).
    Ms : optional complex array (q, n, n) of Hermitian matrices (checked with np.allclose, as
        in the original); q = p + 1 with the bias term, p without. Drawn at compile() when
        not given. MFKit uses their upper triangles (real diagonal, conjugate mirror).
    init_magnitude : float (default 1e-2). bias_term : bool (default True).
    flatten : bool, output (N, n*n) instead of (N, n, n) (default False).

    get_params() returns (Ms,); get_num_trainable_floats() is Ms.size (n^2 real numbers per
    Hermitian matrix). Preparation: O(q n^2 + q n^3 with smoothing).
    """

    _HYPERPARAMETERS = ("matrix_size", "smoothing", "init_magnitude", "flatten", "bias_term")

    def __init__(self, matrix_size=None, smoothing=None, Ms=None, init_magnitude=1e-2,
                 bias_term=True, flatten=False):
        super().__init__()
        self.Ms = None
        matrix_size = positive_int_or_none(matrix_size, "matrix_size")
        if Ms is not None:
            _check_array(Ms, "Ms", True, 3)
            matrix_size = matrix_size or Ms.shape[1]
        self._apply_hyperparameters({"matrix_size": matrix_size, "smoothing": smoothing,
                                     "init_magnitude": init_magnitude, "flatten": flatten,
                                     "bias_term": bias_term})
        if Ms is not None:
            self.set_params((Ms,))

    def name(self):
        """The module's name, e.g. 'AffineHermitianMatrix(8x8, smoothing=0.0)'."""
        return (f"AffineHermitianMatrix({self.matrix_size}x{self.matrix_size},"
                f" smoothing={self.smoothing}"
                f"{'' if self.bias_term else ', no bias'}"
                f"{', FLATTENED' if self.flatten else ''})")

    def is_ready(self):
        return self.Ms is not None

    def _has_params(self):
        return self.Ms is not None

    def _count_floats(self):
        return int(self.Ms.size)

    def _check_sizes_for_init(self):
        if self.matrix_size is None:
            raise ValueError("matrix_size must be set before compile() can draw parameters")

    def _init_params(self, gen, q):
        n, mag = self.matrix_size, self.init_magnitude
        ms = (mag * (gen.standard_normal((q, n, n)) + 1j * gen.standard_normal((q, n, n)))).astype(np.complex64)
        self.set_params(((ms + ms.conj().transpose(0, 2, 1)) / 2,))

    def get_params(self):
        """(Ms,): a read-only array (use set_params to change it)."""
        return (self.Ms,)

    def set_params(self, params):
        """Sets (Ms,), shape-checked: (q, matrix_size, matrix_size) complex and Hermitian
        (np.allclose), q fixed once parameters exist. The array is copied (read-only)."""
        if not isinstance(params, tuple) or not all(isinstance(p, np.ndarray) for p in params):
            raise ValueError("params must be a tuple of numpy arrays")
        if len(params) != 1:
            raise ValueError(f"Expected 1 parameter arrays, got {len(params)}")
        (ms,) = params
        _check_array(ms, "Ms", True, 3)
        n = self.matrix_size if self.matrix_size is not None else ms.shape[1]
        q = ms.shape[0] if self.Ms is None else self.Ms.shape[0]
        plus = "+1" if self.bias_term else ""
        if ms.shape != (q, n, n):
            raise ValueError(f"Ms must be a 3D array of shape (input_size{plus}, matrix_size, matrix_size) "
                             f"[{(q, n, n)}], got {ms.shape}")
        if q < 1:
            raise ValueError("Ms must hold at least one matrix")
        if not np.allclose(ms, ms.conj().transpose(0, 2, 1)):
            raise ValueError("Ms must be Hermitian matrices")
        self.matrix_size = int(n)
        ms = frozen(ms)
        with self._lock:
            self.Ms = ms
            self._params_changed()

    def _create_handle(self):
        dtype = _ffi.DTYPE_CODES[np.dtype(self.dtype)]
        return _ffi.new_handle("mfkit_pmm_affine_create", _ffi.describe(self.Ms, "Ms"),
                               float(self.smoothing), int(self.bias_term), dtype,
                               function="AffineHermitianMatrix")

"""Parametric matrix models: affine Hermitian matrix modules.

For N samples of p real features, each module maps a sample x to the Hermitian n x n matrix

    M(x) = M_0 + x_1 M_1 + ... + x_p M_p + s C,    C = i sum_{i>j} [M_i, M_j]

(commutator [A, B] = AB - BA; s = smoothing, 0 disables it; without a bias term there is no
M_0). Names, constructor arguments, defaults and the module life cycle follow
parametricmatrixmodels' `BaseModule`, `LowRankAffineHermitianMatrix` and
`AffineHermitianMatrix`:

    >>> import numpy as np, mfkit
    >>> m = mfkit.pmm.LowRankAffineHermitianMatrix(matrix_size=4, rank=2, smoothing=0.1)
    >>> m.compile(0, (3,))                      # random complex64 parameters, 3 features
    >>> out, state = m(np.ones((5, 3), np.float32))
    >>> out.shape, out.dtype
    ((5, 4, 4), dtype('complex64'))

- `LowRankAffineHermitianMatrix`: M_i = sum_k lambdas[i, k] u_{ik} u_{ik}^H with lambdas real
  (q, rank) and us complex (q, rank, matrix_size), q = p + 1 (p without the bias).
- `AffineHermitianMatrix`: full-rank Hermitian M_i given as Ms (q, n, n); MFKit reads their
  upper triangles (the real part of the diagonal, the lower triangle is the conjugate mirror).

Costs. The first call after parameters change prepares them once in the library: the full
matrices and C with cumulative sums (low rank: O(q r n^2), C from the factors as
M_i S = U_i (Lambda_i (U_i^H S)); full rank: O(q n^3), one n x n product per matrix). A call is then the real GEMM [1 x] (N x (p+1)) times [M_0 + sC; M_1; ...; M_p]
((p+1) x 2n^2) over both cores: time O(N p n^2), memory the output (N n^2 complex values).

Differences on purpose:
- Features must be a real NumPy array (float32 or float64; any strides; not copied). The
  output's precision is that of the parameters (complex64 or complex128). `__call__` takes
  an optional preallocated `out=` written in place.
- `compile(rng, ...)` takes an integer seed or a `numpy.random.Generator` (no JAX key); the
  random parameters are complex64 (lambdas float32) of magnitude `init_magnitude`, drawn
  from NumPy's generator, so their values differ from the original's for the same seed.
- Parameters are stored as read-only copies (`get_params` returns read-only arrays): change
  them with `set_params`, which keeps the prepared parameter set consistent.
- `set_precision(64)` needs no JAX_ENABLE_X64 flag.
- `lambdas` and `us` are given together or not at all; `rank` is read from the arrays'
  rank axis when not given.
- `name()` is a method, as in the parametricmatrixmodels release whose constructor
  (lambdas, us, flatten) these modules follow; later releases made it a property.
- C = i sum_{i>j} [M_i, M_j], the sign of parametricmatrixmodels' current smoothing matrix.
"""
import numbers
import re
import threading

import numpy as np

from . import _ffi

__all__ = ["LowRankAffineHermitianMatrix", "AffineHermitianMatrix"]

_PRECISION_32 = (np.float32, np.complex64, "float32", "complex64", "single", "f32", "c64", 32)
_PRECISION_64 = (np.float64, np.complex128, "float64", "complex128", "double", "f64", "c128", 64)
_PRECISION_ERROR = (
    "Invalid precision. Valid options are:\n"
    "[for 32-bit precision] np.float32, np.complex64, 'float32', 'complex64', 'single', 'f32', 'c64', 32;\n"
    "[for 64-bit precision] np.float64, np.complex128, 'float64', 'complex128', 'double', 'f64', 'c128', 64."
)


def _precision_bits(prec):
    """32 or 64 for every alias of parametricmatrixmodels' set_precision; ValueError otherwise."""
    if isinstance(prec, np.dtype):
        prec = prec.type
    if isinstance(prec, (bool, np.bool_)):
        raise ValueError(_PRECISION_ERROR)
    for bits, names in ((32, _PRECISION_32), (64, _PRECISION_64)):
        for name in names:
            if type(prec) is type(name) and prec == name or prec is name:
                return bits
            if isinstance(prec, np.integer) and isinstance(name, int) and int(prec) == name:
                return bits
    raise ValueError(_PRECISION_ERROR)


def _version_tuple(text, what):
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?.*", str(text))
    if not match:
        raise ValueError(f"{what} {text!r} is not a version string")
    return int(match.group(1)), int(match.group(2))


def _positive_int_or_none(value, name):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer")
    return int(value)


def _finite_real(value, name, allow_none=False, positive=False):
    if value is None and allow_none:
        return 0.0
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name} must be a {'positive ' if positive else ''}finite number, got {value}")
    return value


def _frozen(array):
    """A read-only C-contiguous copy (the module's own parameter storage)."""
    copy = np.array(array, order="C", copy=True)
    copy.flags.writeable = False
    return copy


def _make_rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be an integer seed or a numpy.random.Generator, got {type(rng).__name__}")


class _AffineHermitianBase:
    """The life cycle shared by the two modules (parametricmatrixmodels' BaseModule)."""

    _HYPERPARAMETERS = ()

    def __init__(self):
        self._handle = None
        self._lock = threading.Lock()  # one prepared parameter set even under concurrent calls

    def __del__(self):
        self._release()

    def _release(self):
        # A call already running in another thread keeps its model alive in the library until it
        # returns; one that starts after the release fails with a ValueError (never a crash).
        handle = getattr(self, "_handle", None)
        self._handle = None
        if handle is not None and _ffi is not None and _ffi.lib is not None:
            _ffi.lib.mfkit_pmm_free(handle)

    # -- identity ------------------------------------------------------------------------
    def __repr__(self):
        count = self.get_num_trainable_floats()
        if not self.is_ready():
            return f"{self.name()} (uninitialized)"
        return f"{self.name()} (trainable floats: {count:,})"

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
        self._init_params(_make_rng(rng), q)

    def get_output_shape(self, input_shape):
        """(matrix_size, matrix_size), or (matrix_size**2,) with flatten=True."""
        self._features_from_shape(input_shape)
        n = self.matrix_size
        return (n * n,) if self.flatten else (n, n)

    def get_state(self):
        """The modules keep no state: ()."""
        return ()

    def set_state(self, state):
        """Accepts only an empty state (the modules keep none)."""
        if not isinstance(state, (tuple, list, dict)) or len(state) != 0:
            raise ValueError(f"{type(self).__name__} keeps no state; expected (), got {state!r}")

    def get_hyperparameters(self):
        return {key: getattr(self, key) for key in self._HYPERPARAMETERS}

    def set_hyperparameters(self, hyperparameters):
        """Sets hyperparameters from a dict; refused once the module has parameters."""
        if not isinstance(hyperparameters, dict):
            raise TypeError("Hyperparameters must be provided as a dictionary.")
        if self._has_params():
            raise ValueError("Cannot set hyperparameters after the module has parameters")
        unknown = sorted(set(hyperparameters) - set(self._HYPERPARAMETERS))
        if unknown:
            raise ValueError(f"Unknown hyperparameters for {type(self).__name__}: {unknown}; "
                             f"expected keys among {list(self._HYPERPARAMETERS)}")
        values = self.get_hyperparameters()
        values.update(hyperparameters)
        self._apply_hyperparameters(values)

    def _apply_hyperparameters(self, h):
        self.matrix_size = _positive_int_or_none(h["matrix_size"], "matrix_size")
        self.smoothing = _finite_real(h["smoothing"], "smoothing", allow_none=True)
        self.init_magnitude = _finite_real(h["init_magnitude"], "init_magnitude", positive=True)
        for flag in ("bias_term", "flatten"):
            if not isinstance(h[flag], (bool, np.bool_)):
                raise ValueError(f"{flag} must be a boolean, got {h[flag]!r}")
            setattr(self, flag, bool(h[flag]))

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
        if not isinstance(input_NF, np.ndarray):
            raise TypeError(f"input_NF must be a NumPy array, got {type(input_NF).__name__}")
        if input_NF.dtype not in (np.float32, np.float64):
            raise TypeError(f"input_NF must be float32 or float64 (real features), got {input_NF.dtype}; "
                            "convert it with input_NF.astype(np.float64)")
        if input_NF.ndim != 2:
            raise ValueError(f"input_NF must be 2-dimensional (num_samples, num_features), got shape {input_NF.shape}")
        handle = self._prepared()
        if out is None:
            out = np.empty((input_NF.shape[0],) + self.get_output_shape((input_NF.shape[1],)), dtype=self.dtype)
        _ffi.call("mfkit_pmm_forward", handle, _ffi.describe(input_NF, "input_NF"),
                  _ffi.describe(out, "out", writable=True), function="__call__")
        return out, state

    def _prepared(self):
        with self._lock:
            if self._handle is None:
                self._handle = self._create_handle()
            return self._handle

    def _params_changed(self):
        self._release()

    # -- parameters and precision --------------------------------------------------------
    def get_num_trainable_floats(self):
        """Real numbers trained (None before compile): complex entries count twice."""
        if not self.is_ready():
            return None
        return self._count_floats()

    def set_precision(self, prec):
        """Converts the parameters to 32-bit (lambdas float32, complex64) or 64-bit precision.

        Accepts np.float32, np.complex64, "float32", "complex64", "single", "f32", "c64", 32
        and their 64-bit twins (np.float64, np.complex128, "float64", "complex128", "double",
        "f64", "c128", 64). The output of later calls has the matching complex dtype.
        """
        if not self.is_ready():
            raise RuntimeError("Module is not ready. Call compile() first.")
        bits = _precision_bits(prec)
        converted = tuple(
            p.astype((np.complex64 if bits == 32 else np.complex128) if np.iscomplexobj(p)
                     else (np.float32 if bits == 32 else np.float64))
            for p in self.get_params())
        self.set_params(converted)

    def astype(self, dtype):
        """set_precision(dtype), returning the module."""
        self.set_precision(dtype)
        return self

    # -- serialization -------------------------------------------------------------------
    def serialize(self):
        """A dict of NumPy arrays and plain values: 'name', 'hyperparameters', 'params'
        {'p0': ..., 'p1': ...}, 'state' {} and 'package_version' (parametricmatrixmodels'
        layout). Copies the parameters (O(size))."""
        params = self.get_params() if self.is_ready() else ()
        return {
            "name": self.name(),
            "hyperparameters": dict(self.get_hyperparameters()),
            "params": {f"p{i}": np.array(p, copy=True) for i, p in enumerate(params)},
            "state": {f"s{i}": np.array(s, copy=True) for i, s in enumerate(self.get_state())},
            "package_version": _ffi.VERSION,
        }

    def deserialize(self, data):
        """Restores a module from `serialize()`'s dict (exactly: same hyperparameters, the same
        parameter arrays and dtypes). Refuses a dict of another module, of a package version
        with another major.minor, or one with missing keys; like the original, it sets the
        hyperparameters first and so is refused on a module that already has parameters."""
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict made by serialize(), got {type(data).__name__}")
        missing = [k for k in ("name", "hyperparameters", "params", "package_version") if k not in data]
        if missing:
            raise ValueError(f"Serialized data lacks the keys {missing}")
        name = str(data["name"])
        cls = type(self).__name__
        if not name.startswith(cls + "("):
            raise ValueError(f"Serialized data is of module {name!r}, not of a {cls}")
        theirs = _version_tuple(data["package_version"], "package_version")
        ours = _version_tuple(_ffi.VERSION, "mfkit version")
        if theirs != ours:
            raise ValueError(f"Serialized data was written by mfkit {data['package_version']}, which is not "
                             f"compatible with mfkit {_ffi.VERSION} (major.minor versions differ)")
        self.set_hyperparameters(data["hyperparameters"])
        params_dict = data["params"]
        if not isinstance(params_dict, dict):
            raise ValueError("Serialized 'params' must be a dict {'p0': ..., 'p1': ...}")
        if params_dict:
            keys = [f"p{i}" for i in range(len(params_dict))]
            if sorted(params_dict) != sorted(keys):
                raise ValueError(f"Serialized 'params' must have the keys {keys}, got {sorted(params_dict)}")
            self.set_params(tuple(params_dict[k] for k in keys))
        state_dict = data.get("state", {})
        if isinstance(state_dict, dict):
            keys = [f"s{i}" for i in range(len(state_dict))]
            if sorted(state_dict) != sorted(keys):
                raise ValueError(f"Serialized 'state' must have the keys {keys}, got {sorted(map(str, state_dict))}")
            state_dict = tuple(state_dict[k] for k in keys)
        self.set_state(state_dict)


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
        matrix_size = _positive_int_or_none(matrix_size, "matrix_size")
        rank = _positive_int_or_none(rank, "rank")
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
        self.rank = _positive_int_or_none(h["rank"], "rank")
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
        self.lambdas, self.us = _frozen(lambdas), _frozen(us)
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
        matrix_size = _positive_int_or_none(matrix_size, "matrix_size")
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
        self.Ms = _frozen(ms)
        self._params_changed()

    def _create_handle(self):
        dtype = _ffi.DTYPE_CODES[np.dtype(self.dtype)]
        return _ffi.new_handle("mfkit_pmm_affine_create", _ffi.describe(self.Ms, "Ms"),
                               float(self.smoothing), int(self.bias_term), dtype,
                               function="AffineHermitianMatrix")

"""Streaming matrices: lower-triangular linear maps x -> A x computed one row-slice at a time.

Names, arguments and semantics follow `jax_privacy.matrix_factorization.streaming_matrix`:

    >>> from mfkit import streaming_matrix as sm
    >>> A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)
    >>> A.materialize(3)
    array([[1.  , 0.  , 0.  ],
           [2.9 , 1.  , 0.  ],
           [5.61, 2.9 , 1.  ]])

Differences on purpose: results keep the input's dtype (float32 or float64) and may be
written in place (`out=`, which may be the input itself); arrays of any strides are read
without a copy; `Stream` is a mutable, in-place replacement for the functional
`init_multiply` / `multiply_next` pair (which is kept too).

Costs, for s stages (factors) and m elements per slice: a step is O(m s) time;
a stream keeps O(m) memory per state-keeping stage (prefix_sum: 1, momentum: 2).
"""
import ctypes
import numbers

import numpy as np

from . import _ffi

__all__ = [
    "StreamingMatrix",
    "Stream",
    "identity",
    "prefix_sum",
    "diagonal",
    "momentum_sgd_matrix",
    "multiply_streaming_matrices",
    "scale_rows_and_columns",
    "multiply_array",
]


class StreamingMatrix:
    """An (infinite) lower-triangular matrix A, applied one row-slice at a time.

    Immutable; may be shared between threads. Build one with the module's constructors and
    combine with `@` (product), `*` (scalar) and `scale_rows_and_columns`.
    """

    __slots__ = ("_handle",)

    def __init__(self, handle):
        if not isinstance(handle, ctypes.c_void_p) or not handle.value:
            raise TypeError("StreamingMatrix is made by the constructors of mfkit.streaming_matrix "
                            "(prefix_sum(), momentum_sgd_matrix(), ...)")
        self._handle = handle

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and _ffi is not None and _ffi.lib is not None:
            _ffi.lib.mfkit_sm_free(handle)

    @property
    def num_stages(self):
        """Number of factors in A's pipeline (identity: 0)."""
        out = ctypes.c_int64()
        _ffi.call("mfkit_sm_num_stages", self._handle, ctypes.byref(out), function="num_stages")
        return out.value

    def __repr__(self):
        return f"<mfkit StreamingMatrix with {self.num_stages} stage(s)>"

    # -- dense views --------------------------------------------------------------------
    def materialize(self, n, dtype=np.float64, out=None):
        """The leading n x n block of A. Time O(n^2 s), memory O(n^2) for the result."""
        if out is None:
            n = _ffi.positive_int(n, "n", "materialize")
            out = np.empty((n, n), dtype=_ffi.real_dtype(dtype, "materialize"))
        _ffi.call("mfkit_sm_materialize", self._handle, _ffi.describe(out, "out", writable=True), function="materialize")
        return out

    def row_norms_squared(self, n, dtype=np.float64, out=None):
        """||A[t, :n]||^2 for t < n: the per-query errors of a decoder A = workload @ C^{-1}.
        Time O(n^2 s), memory O(n)."""
        if out is None:
            n = _ffi.positive_int(n, "n", "row_norms_squared")
            out = np.empty(n, dtype=_ffi.real_dtype(dtype, "row_norms_squared"))
        _ffi.call("mfkit_sm_row_norms_squared", self._handle, _ffi.describe(out, "out", writable=True),
                  function="row_norms_squared")
        return out

    # -- algebra ------------------------------------------------------------------------
    def __matmul__(self, other):
        if isinstance(other, StreamingMatrix):
            return multiply_streaming_matrices(self, other)
        if isinstance(other, np.ndarray):
            return multiply_array(self, other)
        return NotImplemented

    def __mul__(self, scalar):
        """A * scalar (A @ diagonal([scalar]))."""
        if isinstance(scalar, numbers.Real) and not isinstance(scalar, bool):
            return StreamingMatrix(_ffi.new_handle("mfkit_sm_scale", self._handle, float(scalar), function="scale"))
        return NotImplemented

    __rmul__ = __mul__

    def scale_rows_and_columns(self, row_scale=None, col_scale=None):
        """diag(row_scale) @ A @ diag(col_scale); schedules repeat their last entry."""
        return scale_rows_and_columns(self, row_scale, col_scale)

    # -- streaming ----------------------------------------------------------------------
    def stream(self, shape, dtype=np.float32):
        """A `Stream` computing (A x)[0], (A x)[1], ... for slices of `shape` and `dtype`."""
        return Stream(self, shape, dtype)

    def init_multiply(self, value):
        """jax_privacy's functional API: a fresh state for slices shaped like `value`."""
        value = np.asarray(value)
        return Stream(self, value.shape, value.dtype)

    def multiply_next(self, value, state):
        """jax_privacy's functional API: returns ((A x)[t], state). `state` is a `Stream` and
        is advanced in place (the returned state is the same object)."""
        if not isinstance(state, Stream) or state.matrix is not self:
            raise ValueError("multiply_next: state must come from this matrix's init_multiply")
        return state.next(value), state


class Stream:
    """The state of x -> A x for slices of one shape and dtype, fed one slice per call.

    `next(x)` returns (A x)[t] and advances t; `next(x, out=x)` works in place. Memory: one
    slice per state-keeping stage. Belongs to one thread at a time.
    """

    __slots__ = ("_handle", "matrix", "shape", "dtype")

    def __init__(self, matrix, shape, dtype=np.float32):
        if not isinstance(matrix, StreamingMatrix):
            raise TypeError(f"Stream: matrix must be a StreamingMatrix, got {type(matrix).__name__}")
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        try:
            shape = tuple(shape)
        except TypeError:
            raise TypeError(f"Stream: shape must be a tuple of integers, got {type(shape).__name__}") from None
        for d in shape:
            if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
                raise TypeError(f"Stream: shape must hold integers, got {shape}")
            if not -_ffi.INT64_MAX - 1 <= d <= _ffi.INT64_MAX:  # ctypes would silently wrap it
                raise ValueError(f"Stream: shape length {d} does not fit in 64 bits")
        shape = tuple(int(d) for d in shape)
        dtype = _ffi.real_dtype(dtype, "Stream")
        dims = (ctypes.c_int64 * max(1, len(shape)))(*shape)
        self._handle = _ffi.new_handle(
            "mfkit_stream_create", matrix._handle, _ffi.DTYPE_CODES[dtype], dims, len(shape), function="Stream"
        )
        self.matrix = matrix
        self.shape = shape
        self.dtype = dtype

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and _ffi is not None and _ffi.lib is not None:
            _ffi.lib.mfkit_stream_free(handle)

    @property
    def step(self):
        """The index t of the next slice."""
        out = ctypes.c_int64()
        _ffi.call("mfkit_stream_step", self._handle, ctypes.byref(out), function="step")
        return out.value

    def reset(self):
        """Back to step 0 with zero state."""
        _ffi.call("mfkit_stream_reset", self._handle, function="reset")

    def next(self, x, out=None):
        """(A x)[t] for the slice x = x[t]; written into `out` (which may be `x`) if given."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"stream_next: x must be a NumPy array, got {type(x).__name__}")
        if out is None:
            out = np.empty_like(x)
        _ffi.call("mfkit_stream_next", self._handle, _ffi.describe(x, "x"),
                  _ffi.describe(out, "out", writable=True), function="stream_next")
        return out

    def __repr__(self):
        return f"<mfkit Stream shape={self.shape} dtype={self.dtype} step={self.step}>"


def identity():
    """The identity matrix."""
    return StreamingMatrix(_ffi.new_handle("mfkit_sm_identity", function="identity"))


def prefix_sum():
    """The lower-triangular matrix of ones: (A x)[t] = x[0] + ... + x[t]."""
    return StreamingMatrix(_ffi.new_handle("mfkit_sm_prefix_sum", function="prefix_sum"))


def diagonal(diag):
    """diag(d) with d_t = diag[min(t, len(diag) - 1)]: past its end the last entry repeats."""
    d = _ffi.params_array(diag, "diag")
    return StreamingMatrix(_ffi.new_handle("mfkit_sm_diagonal", _ffi.describe(d, "diag"), function="diagonal"))


def momentum_sgd_matrix(momentum=0, learning_rates=None):
    """Momentum SGD: m_t = momentum m_{t-1} + x_t, y_t = y_{t-1} + lr_t m_t, where
    lr_t = learning_rates[min(t, len - 1)] (ones when None). Learning rates must be positive."""
    if not isinstance(momentum, numbers.Real) or isinstance(momentum, bool):
        raise TypeError(f"momentum_sgd_matrix: momentum must be a real number, got {type(momentum).__name__}")
    lr = None
    if learning_rates is not None:
        lr_array = _ffi.params_array(learning_rates, "learning_rates")
        lr = ctypes.byref(_ffi.describe(lr_array, "learning_rates"))
    return StreamingMatrix(_ffi.new_handle("mfkit_sm_momentum_sgd", float(momentum), lr, function="momentum_sgd_matrix"))


def multiply_streaming_matrices(A, B):
    """The product A @ B (B applied first)."""
    for name, m in (("A", A), ("B", B)):
        if not isinstance(m, StreamingMatrix):
            raise TypeError(f"multiply_streaming_matrices: {name} must be a StreamingMatrix, got {type(m).__name__}")
    return StreamingMatrix(_ffi.new_handle("mfkit_sm_multiply", A._handle, B._handle, function="multiply_streaming_matrices"))


def scale_rows_and_columns(matrix, row_scale=None, col_scale=None):
    """diag(row_scale) @ matrix @ diag(col_scale); None leaves that side unscaled."""
    if not isinstance(matrix, StreamingMatrix):
        raise TypeError(f"scale_rows_and_columns: matrix must be a StreamingMatrix, got {type(matrix).__name__}")
    keep = []

    def ref(values, name):
        if values is None:
            return None
        array = _ffi.params_array(values, name)
        desc = _ffi.describe(array, name)
        keep.append((array, desc))
        return ctypes.byref(desc)

    r, c = ref(row_scale, "row_scale"), ref(col_scale, "col_scale")
    return StreamingMatrix(_ffi.new_handle("mfkit_sm_scale_rows_and_columns", matrix._handle, r, c,
                                           function="scale_rows_and_columns"))


def multiply_array(A, x, out=None):
    """A @ x for x of shape (n, ...) (float32 or float64, any strides): out[t] = (A x)[t].

    `out` may be `x` itself (in place); the result keeps x's dtype. Time O(n m s); x and out
    each cross memory once; large arrays use all cores.
    """
    if not isinstance(A, StreamingMatrix):
        raise TypeError(f"multiply_array: A must be a StreamingMatrix, got {type(A).__name__}")
    if not isinstance(x, np.ndarray):
        raise TypeError(f"multiply_array: x must be a NumPy array, got {type(x).__name__}")
    if out is None:
        out = np.empty_like(x)
    _ffi.call("mfkit_sm_multiply_array", A._handle, _ffi.describe(x, "x"), _ffi.describe(out, "out", writable=True),
              function="multiply_array")
    return out

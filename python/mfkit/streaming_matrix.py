"""Streaming matrices: lower-triangular linear maps x -> A x computed one row-slice at a time.

Names, arguments and semantics follow `jax_privacy.matrix_factorization.streaming_matrix`:

    >>> from mfkit import streaming_matrix as sm
    >>> A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)
    >>> A.materialize(3)
    array([[1.  , 0.  , 0.  ],
           [2.9 , 1.  , 0.  ],
           [5.61, 2.9 , 1.  ]])

Differences on purpose: results keep the input's dtype (float32 or float64; integer and bool
arrays are read as float64) and may be written in place (`out=`, which may be the input
itself); arrays of any strides, torch CPU tensors and JAX CPU arrays are read without a copy;
`Stream` is a mutable, in-place replacement for the functional `init_multiply` /
`multiply_next` pair (which is kept too). Matrices pickle and copy (each copy owns its own
library handle) and compare equal when they have the same stages with the same parameters.

Costs, for s stages (factors) and m elements per slice: a step is O(m s) time;
a stream keeps O(m) memory per state-keeping stage (prefix_sum: 1, momentum: 2).
"""
from __future__ import annotations

import ctypes
from typing import Any, Iterator, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

from . import _args, _ffi
from ._handle import HandleOwner

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

# A matrix remembers how it was built, so that it can be built again (pickle, copy): a recipe
# is a tuple, ("identity",), ("prefix_sum",), ("diagonal", d), ("momentum_sgd_matrix", mu, lr),
# ("banded_inverse", params), ("toeplitz_inverse", coef, column_normalize_for_n or None) or
# ("product", A, B) for A @ B (B applied first). Arrays in a
# recipe are read-only float64 copies; products share their operands' recipes (a DAG).


def _frozen(values: Optional[np.ndarray]) -> Optional[np.ndarray]:
    if values is None:
        return None
    copy = np.array(values, dtype=np.float64, copy=True)
    copy.setflags(write=False)
    return copy


def _leaves(recipe: tuple) -> Iterator[tuple]:
    """The factors of a recipe in the order they are applied (identity factors skipped),
    walked without recursion."""
    stack = [recipe]
    while stack:
        node = stack.pop()
        if node[0] == "product":
            stack.append(node[1])  # A, applied after B
            stack.append(node[2])
        elif node[0] != "identity":
            yield node


def _same_factor(a: tuple, b: tuple) -> bool:
    if a[0] != b[0] or len(a) != len(b):
        return False
    for x, y in zip(a[1:], b[1:]):
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if x is None or y is None or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def _table(recipe: tuple) -> List[tuple]:
    """The recipe as a list in dependency order: a product refers to earlier entries by index
    (no recursion when pickling deep products; shared operands are stored once)."""
    index, table, stack = {}, [], [(recipe, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in index:
            continue
        if node[0] == "product":
            if not ready:
                stack += [(node, True), (node[2], False), (node[1], False)]
                continue
            entry = ("product", index[id(node[1])], index[id(node[2])])
        else:
            entry = node
        index[id(node)] = len(table)
        table.append(entry)
    return table


def _factor_handle(entry: tuple, built: List[Tuple[tuple, ctypes.c_void_p]]) -> ctypes.c_void_p:
    kind, function = entry[0], "StreamingMatrix"
    if kind == "identity":
        return _ffi.new_handle("mfkit_sm_identity", function=function)
    if kind == "prefix_sum":
        return _ffi.new_handle("mfkit_sm_prefix_sum", function=function)
    if kind == "diagonal":
        return _ffi.new_handle("mfkit_sm_diagonal", _ffi.describe(entry[1], "diag"), function=function)
    if kind == "momentum_sgd_matrix":
        lr = None if entry[2] is None else ctypes.byref(_ffi.describe(entry[2], "learning_rates"))
        return _ffi.new_handle("mfkit_sm_momentum_sgd", float(entry[1]), lr, function=function)
    if kind == "banded_inverse":
        strategy = _ffi.new_handle("mfkit_banded_create", _ffi.describe(entry[1], "params"), function=function)
        try:
            return _ffi.new_handle("mfkit_banded_inverse", strategy, function=function)
        finally:
            _ffi.lib.mfkit_banded_free(strategy)
    if kind == "toeplitz_inverse":
        n = None if entry[2] is None else ctypes.byref(ctypes.c_int64(entry[2]))
        return _ffi.new_handle("mfkit_toeplitz_inverse", _ffi.describe(entry[1], "coef"), n, function=function)
    if kind == "blt":   # ("blt", buf_decay, output_scale, inverse): a BLT's C or C^{-1}
        return _ffi.new_handle("mfkit_blt_streaming_matrix", _ffi.describe(entry[1], "buf_decay"),
                               _ffi.describe(entry[2], "output_scale"), int(entry[3]), function=function)
    if kind == "product":
        return _ffi.new_handle("mfkit_sm_multiply", built[entry[1]][1], built[entry[2]][1], function=function)
    raise ValueError(f"StreamingMatrix: unknown factor {kind!r} in a pickled matrix")


def _rebuild(table: List[tuple]) -> "StreamingMatrix":
    """The matrix described by `_table(recipe)` (unpickling, copies)."""
    built: List[Tuple[tuple, ctypes.c_void_p]] = []
    try:
        for entry in table:
            recipe = ("product", built[entry[1]][0], built[entry[2]][0]) if entry[0] == "product" else entry
            built.append((recipe, _factor_handle(entry, built)))
        recipe, handle = built.pop()
    finally:
        for _, h in built:
            _ffi.lib.mfkit_sm_free(h)
    return StreamingMatrix._new(handle, recipe)


class StreamingMatrix(HandleOwner):
    """An (infinite) lower-triangular matrix A, applied one row-slice at a time.

    Immutable; may be shared between threads. Build one with the module's constructors and
    combine with `@` (product), `*` (scalar) and `scale_rows_and_columns`. Two matrices are
    equal when they apply the same stages with the same parameters; a matrix pickles and
    copies to an equal one with its own library handle (rebuilt from how it was made).

    Examples
    --------
    >>> import pickle
    >>> from mfkit import streaming_matrix as sm
    >>> A = sm.prefix_sum() @ sm.diagonal([1.0, 0.5])
    >>> A.num_stages
    2
    >>> pickle.loads(pickle.dumps(A)) == A
    True
    """

    __slots__ = ("_recipe",)
    _FREE = "mfkit_sm_free"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("StreamingMatrix is made by the constructors of mfkit.streaming_matrix "
                        "(prefix_sum(), momentum_sgd_matrix(), ...)")

    @classmethod
    def _new(cls, handle: ctypes.c_void_p, recipe: tuple) -> "StreamingMatrix":
        self = cls.__new__(cls)
        self._adopt(handle)
        self._recipe = recipe
        return self

    def __reduce__(self):
        return (_rebuild, (_table(self._recipe),))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StreamingMatrix):
            return NotImplemented
        if other is self:
            return True
        if self.num_stages != other.num_stages:
            return False
        return all(_same_factor(a, b) for a, b in zip(_leaves(self._recipe), _leaves(other._recipe)))

    def __hash__(self) -> int:
        return hash(("StreamingMatrix", self.num_stages))

    @property
    def num_stages(self) -> int:
        """Number of factors in A's pipeline (identity: 0). Cost: O(1)."""
        out = ctypes.c_int64()
        _ffi.call("mfkit_sm_num_stages", self._handle, ctypes.byref(out), function="num_stages")
        return out.value

    def __repr__(self) -> str:
        return f"<mfkit StreamingMatrix with {self.num_stages} stage(s)>"

    # -- dense views --------------------------------------------------------------------
    def _dense_out(self, n: Any, dtype: Any, out: Any, shape: Any, function: str) -> Tuple[Any, np.ndarray]:
        """(what to return, the array written) for materialize / row_norms_squared."""
        if out is None:
            n = _args.positive_int(n, "n", function)
            dtype = np.float64 if dtype is None else _args.real_dtype(dtype, function)
            result = np.empty(shape(n), dtype=dtype)
            return result, result
        if n is not None:
            n = _args.positive_int(n, "n", function)
        view = _args.output(out, "out", function, shape=None if n is None else shape(n), shape_from=f"n={n}",
                            dtype=None if dtype is None else _args.real_dtype(dtype, function))
        return out, view

    def materialize(self, n: Optional[int], dtype: npt.DTypeLike = None, out: Any = None) -> Any:
        """The leading n x n block of A.

        Cost: time O(n^2 s), memory O(n^2) for the result.

        Parameters
        ----------
        n : int
            The number of rows and columns (positive); may be None when `out` is given.
        dtype : float32 or float64, optional
            The result's dtype (default float64, or out's dtype).
        out : array, optional
            A writable (n, n) float32 or float64 array (NumPy or torch CPU tensor) written in
            place and returned; any strides.

        Returns
        -------
        numpy.ndarray
            A[:n, :n] (or `out`).

        Raises
        ------
        ValueError
            n is not positive or does not fit in 64 bits; out's shape is not (n, n); out is
            read-only or overlaps itself.
        TypeError
            n is not an integer; dtype or out's dtype is not float32 / float64, or they differ.

        Examples
        --------
        >>> from mfkit import streaming_matrix as sm
        >>> sm.prefix_sum().materialize(2, dtype="float32")
        array([[1., 0.],
               [1., 1.]], dtype=float32)
        """
        result, view = self._dense_out(n, dtype, out, lambda k: (k, k), "materialize")
        _ffi.call("mfkit_sm_materialize", self._handle, _ffi.describe(view, "out", writable=True),
                  function="materialize")
        return result

    def row_norms_squared(self, n: Optional[int], dtype: npt.DTypeLike = None, out: Any = None) -> Any:
        """||A[t, :n]||^2 for t < n: the per-query errors of a decoder A = workload @ C^{-1}.

        Cost: time O(n^2 s), memory O(n); accumulated in float64.

        Parameters
        ----------
        n : int
            The number of rows (positive); may be None when `out` is given.
        dtype : float32 or float64, optional
            The result's dtype (default float64, or out's dtype).
        out : array, optional
            A writable (n,) float32 or float64 array written in place and returned.

        Returns
        -------
        numpy.ndarray
            The n squared row norms (or `out`).

        Raises
        ------
        ValueError
            n is not positive; out's shape is not (n,); out is read-only.
        TypeError
            n is not an integer; dtype or out's dtype is not float32 / float64, or they differ.

        Examples
        --------
        >>> from mfkit import streaming_matrix as sm
        >>> sm.prefix_sum().row_norms_squared(4)
        array([1., 2., 3., 4.])
        """
        result, view = self._dense_out(n, dtype, out, lambda k: (k,), "row_norms_squared")
        _ffi.call("mfkit_sm_row_norms_squared", self._handle, _ffi.describe(view, "out", writable=True),
                  function="row_norms_squared")
        return result

    # -- algebra ------------------------------------------------------------------------
    def __matmul__(self, other: Any) -> Any:
        """A @ B (a StreamingMatrix) or A @ x (an array: `multiply_array(A, x)`)."""
        if isinstance(other, StreamingMatrix):
            return multiply_streaming_matrices(self, other)
        if isinstance(other, np.ndarray) or any(hasattr(other, a) for a in
                                                ("__array_interface__", "__dlpack__", "__array__")):
            return multiply_array(self, other)
        return NotImplemented

    def __mul__(self, scalar: Any) -> "StreamingMatrix":
        """A * scalar (A @ diagonal([scalar])); the scalar must be finite."""
        try:
            value = _args.real(scalar, "scalar", "scale")
        except TypeError:
            return NotImplemented
        handle = _ffi.new_handle("mfkit_sm_scale", self._handle, value, function="scale")
        return StreamingMatrix._new(handle, ("product", self._recipe, ("diagonal", _frozen([value]))))

    __rmul__ = __mul__

    def scale_rows_and_columns(self, row_scale: Optional[npt.ArrayLike] = None,
                               col_scale: Optional[npt.ArrayLike] = None) -> "StreamingMatrix":
        """diag(row_scale) @ A @ diag(col_scale); see the module function of this name.

        Cost: O(len(row_scale) + len(col_scale) + s).

        Parameters
        ----------
        row_scale, col_scale : 1-D real arrays, optional
            Row and column multipliers (the last entry repeats); None leaves that side alone.

        Returns
        -------
        StreamingMatrix

        Raises
        ------
        ValueError, TypeError
            As for `scale_rows_and_columns`.

        Examples
        --------
        >>> from mfkit import streaming_matrix as sm
        >>> sm.identity().scale_rows_and_columns([2.0], [3.0]).materialize(2)
        array([[6., 0.],
               [0., 6.]])
        """
        return scale_rows_and_columns(self, row_scale, col_scale)

    # -- streaming ----------------------------------------------------------------------
    def stream(self, shape: Any, dtype: npt.DTypeLike = np.float32) -> "Stream":
        """A `Stream` computing (A x)[0], (A x)[1], ... for slices of `shape` and `dtype`.

        Cost: O(m) memory per state-keeping stage, allocated lazily.

        Parameters
        ----------
        shape : int or tuple of int
            The shape of one slice x[t].
        dtype : float32 or float64
            The slices' dtype (default float32).

        Returns
        -------
        Stream

        Raises
        ------
        ValueError
            A negative length, or a slice too large to hold.
        TypeError
            shape does not hold integers; dtype is not float32 / float64.
        MemoryError
            The stream's state cannot be allocated.

        Examples
        --------
        >>> import numpy as np
        >>> from mfkit import streaming_matrix as sm
        >>> s = sm.prefix_sum().stream(2, np.float64)
        >>> s.next(np.ones(2)), s.next(np.ones(2))
        (array([1., 1.]), array([2., 2.]))
        """
        return Stream(self, shape, dtype)

    def init_multiply(self, value: Any) -> "Stream":
        """jax_privacy's functional API: a fresh state for slices shaped like `value`.

        Cost: as `stream`.

        Parameters
        ----------
        value : array, scalar, or an object with `shape` and `dtype` (jax.ShapeDtypeStruct)
            A slice (or its abstract description); integer slices are computed in float64.

        Returns
        -------
        Stream
            The state, to be passed to `multiply_next`.

        Raises
        ------
        TypeError
            value is neither an array nor a number nor an abstract array; bad dtype.
        ValueError, MemoryError
            As for `stream`.

        Examples
        --------
        >>> import numpy as np
        >>> from mfkit import streaming_matrix as sm
        >>> A = sm.prefix_sum()
        >>> x = np.arange(1, 5).astype(float)
        >>> state = A.init_multiply(x[0])
        >>> [float(A.multiply_next(x[i], state)[0]) for i in range(len(x))]
        [1.0, 3.0, 6.0, 10.0]
        """
        if hasattr(value, "shape") and hasattr(value, "dtype") and not _is_array(value):
            dtype = np.dtype(value.dtype)
            return Stream(self, value.shape, np.float64 if dtype.kind in "biu" else dtype)
        value = _args.array(value, "value", "init_multiply", scalars=True)
        return Stream(self, value.shape, value.dtype)

    def multiply_next(self, value: Any, state: "Stream") -> Tuple[np.ndarray, "Stream"]:
        """jax_privacy's functional API: returns ((A x)[t], state) for the slice x[t] = value.

        `state` is a `Stream` and is advanced in place (the returned state is the same
        object). Cost: O(m s).

        Parameters
        ----------
        value : array or scalar
            The slice x[t] (shape and dtype of the state's slices).
        state : Stream
            From this matrix's `init_multiply`.

        Returns
        -------
        tuple of (numpy.ndarray, Stream)

        Raises
        ------
        ValueError
            state comes from another matrix; value's shape differs from the state's.
        TypeError
            value is not an array or a number, or has another dtype than the state's.

        Examples
        --------
        >>> from mfkit import streaming_matrix as sm
        >>> A = sm.prefix_sum()
        >>> state = A.init_multiply(0.0)
        >>> y, state = A.multiply_next(2.0, state)
        >>> float(y), state.step
        (2.0, 1)
        """
        if not isinstance(state, Stream) or state.matrix is not self:
            raise ValueError("multiply_next: state must come from this matrix's init_multiply")
        return state.next(value), state


def _is_array(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic)) or any(
        hasattr(value, a) for a in ("__array_interface__", "__dlpack__", "__array__"))


class Stream(HandleOwner):
    """The state of x -> A x for slices of one shape and dtype, fed one slice per call.

    `next(x)` returns (A x)[t] and advances t; `next(x, out=x)` works in place. Memory: one
    slice per state-keeping stage. Belongs to one thread at a time.

    A stream at step 0 pickles and copies (to a fresh stream of an equal matrix, equal to it);
    past step 0 its state lives in the library, which has no way to read it, so pickling or
    copying it raises TypeError.

    Parameters
    ----------
    matrix : StreamingMatrix
    shape : int or tuple of int
        The shape of one slice.
    dtype : float32 or float64
        The slices' dtype (default float32).

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import streaming_matrix as sm
    >>> s = sm.Stream(sm.prefix_sum(), (3,), np.float64)
    >>> s.next(np.arange(3.0))
    array([0., 1., 2.])
    >>> s.step
    1
    """

    __slots__ = ("matrix", "shape", "dtype")
    _FREE = "mfkit_stream_free"

    def __init__(self, matrix: StreamingMatrix, shape: Any, dtype: npt.DTypeLike = np.float32) -> None:
        if not isinstance(matrix, StreamingMatrix):
            raise TypeError(f"Stream: matrix must be a StreamingMatrix, got {type(matrix).__name__}")
        shape = _args.shape(shape, "shape", "Stream")
        dtype = _args.real_dtype(dtype, "Stream")
        dims = (ctypes.c_int64 * max(1, len(shape)))(*shape)
        self._adopt(_ffi.new_handle("mfkit_stream_create", matrix._handle, _ffi.DTYPE_CODES[dtype], dims,
                                    len(shape), function="Stream"))
        self.matrix = matrix
        self.shape = shape
        self.dtype = dtype

    def __reduce__(self):
        if self.step != 0:
            raise TypeError(f"cannot pickle or copy a Stream at step {self.step}: its state lives in the "
                            "library and cannot be read; copy it before its first next() or after reset()")
        return (Stream, (self.matrix, self.shape, self.dtype))

    def __eq__(self, other: object) -> bool:
        """The same stream, or two streams at step 0 (zero state) of equal matrices, shapes and
        dtypes."""
        if not isinstance(other, Stream):
            return NotImplemented
        return other is self or (self.shape == other.shape and self.dtype == other.dtype
                                 and self.step == 0 and other.step == 0 and self.matrix == other.matrix)

    def __hash__(self) -> int:
        return hash(("Stream", self.shape, self.dtype))

    @property
    def step(self) -> int:
        """The index t of the next slice. Cost: O(1)."""
        out = ctypes.c_int64()
        _ffi.call("mfkit_stream_step", self._handle, ctypes.byref(out), function="step")
        return out.value

    def reset(self) -> None:
        """Back to step 0 with zero state.

        Cost: O(m s).

        Returns
        -------
        None

        Raises
        ------
        ValueError
            Never for a live stream.

        Examples
        --------
        >>> import numpy as np
        >>> from mfkit import streaming_matrix as sm
        >>> s = sm.prefix_sum().stream((), np.float64)
        >>> _ = s.next(1.0); s.reset(); s.step
        0
        """
        _ffi.call("mfkit_stream_reset", self._handle, function="reset")

    def next(self, x: Any, out: Any = None) -> Any:
        """(A x)[t] for the slice x = x[t], then t += 1.

        Cost: O(m s), over the cores for large slices.

        Parameters
        ----------
        x : array or scalar
            The slice: the stream's shape and dtype (integer slices of a float64 stream are
            converted), any strides, NumPy / torch CPU / JAX CPU.
        out : array, optional
            Written in place and returned (may be `x` itself).

        Returns
        -------
        numpy.ndarray
            The result slice (or `out`).

        Raises
        ------
        ValueError
            x or out has another shape; out is read-only, overlaps itself or x partly.
        TypeError
            x or out is not an array of the stream's dtype.

        Examples
        --------
        >>> import numpy as np
        >>> from mfkit import streaming_matrix as sm
        >>> s = sm.prefix_sum().stream(2, np.float64)
        >>> x = np.ones(2)
        >>> s.next(x, out=x) is x, s.next(x)
        (True, array([2., 2.]))
        """
        x = _args.array(x, "x", "stream_next", scalars=True)
        if out is None:
            result = view = np.empty_like(x)
        else:
            result, view = out, _args.output(out, "out", "stream_next")
        _ffi.call("mfkit_stream_next", self._handle, _ffi.describe(x, "x"),
                  _ffi.describe(view, "out", writable=True), function="stream_next")
        return result

    def __repr__(self) -> str:
        return f"<mfkit Stream shape={self.shape} dtype={self.dtype} step={self.step}>"


def identity() -> StreamingMatrix:
    """The identity matrix (no stages).

    Cost: O(1).

    Returns
    -------
    StreamingMatrix

    Raises
    ------
    MemoryError
        Never in practice.

    Examples
    --------
    >>> from mfkit import streaming_matrix as sm
    >>> sm.identity().materialize(2)
    array([[1., 0.],
           [0., 1.]])
    """
    return StreamingMatrix._new(_ffi.new_handle("mfkit_sm_identity", function="identity"), ("identity",))


def prefix_sum() -> StreamingMatrix:
    """The lower-triangular matrix of ones: (A x)[t] = x[0] + ... + x[t].

    Cost: O(1); one state buffer per stream.

    Returns
    -------
    StreamingMatrix

    Raises
    ------
    MemoryError
        Never in practice.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import streaming_matrix as sm
    >>> sm.prefix_sum() @ np.arange(4)
    array([0., 1., 3., 6.])
    """
    return StreamingMatrix._new(_ffi.new_handle("mfkit_sm_prefix_sum", function="prefix_sum"), ("prefix_sum",))


def diagonal(diag: npt.ArrayLike) -> StreamingMatrix:
    """diag(d) with d_t = diag[min(t, len(diag) - 1)]: past its end the last entry repeats.

    Cost: O(len(diag)) (copied).

    Parameters
    ----------
    diag : 1-D real array or list
        Finite entries (zero allowed), at least one; integer arrays are read as float64.

    Returns
    -------
    StreamingMatrix

    Raises
    ------
    ValueError
        diag is empty, not one-dimensional, not finite, or holds numbers beyond float range.
    TypeError
        diag is not real numbers.
    MemoryError
        diag (e.g. a broadcast view of huge length) cannot be copied.

    Examples
    --------
    >>> from mfkit import streaming_matrix as sm
    >>> sm.diagonal([2, 3]).materialize(3)
    array([[2., 0., 0.],
           [0., 3., 0.],
           [0., 0., 3.]])
    """
    d = _args.array(diag, "diag", "diagonal", scalars=True, sequences=True)
    handle = _ffi.new_handle("mfkit_sm_diagonal", _ffi.describe(d, "diag"), function="diagonal")
    return StreamingMatrix._new(handle, ("diagonal", _frozen(d)))


def momentum_sgd_matrix(momentum: float = 0, learning_rates: Optional[npt.ArrayLike] = None) -> StreamingMatrix:
    """Momentum SGD: m_t = momentum m_{t-1} + x_t, y_t = y_{t-1} + lr_t m_t, where
    lr_t = learning_rates[min(t, len - 1)] (ones when None).

    Cost: O(len(learning_rates)); two state buffers per stream.

    Parameters
    ----------
    momentum : float
        Finite.
    learning_rates : 1-D real array or list, optional
        Positive and finite.

    Returns
    -------
    StreamingMatrix

    Raises
    ------
    ValueError
        momentum not finite (or beyond float range); a learning rate not positive or not finite.
    TypeError
        momentum is not a real number; learning_rates are not real numbers.
    MemoryError
        learning_rates cannot be copied.

    Examples
    --------
    >>> from mfkit import streaming_matrix as sm
    >>> sm.momentum_sgd_matrix(0.5).materialize(3)
    array([[1.  , 0.  , 0.  ],
           [1.5 , 1.  , 0.  ],
           [1.75, 1.5 , 1.  ]])
    """
    function = "momentum_sgd_matrix"
    mu = _args.real(momentum, "momentum", function)
    lr_array = None if learning_rates is None else _args.array(
        learning_rates, "learning_rates", function, scalars=True, sequences=True)
    lr = None if lr_array is None else ctypes.byref(_ffi.describe(lr_array, "learning_rates"))
    handle = _ffi.new_handle("mfkit_sm_momentum_sgd", mu, lr, function=function)
    return StreamingMatrix._new(handle, ("momentum_sgd_matrix", mu, _frozen(lr_array)))


def multiply_streaming_matrices(A: StreamingMatrix, B: StreamingMatrix) -> StreamingMatrix:
    """The product A @ B (B applied first).

    Cost: time and memory O(s_A + s_B).

    Parameters
    ----------
    A, B : StreamingMatrix

    Returns
    -------
    StreamingMatrix

    Raises
    ------
    TypeError
        A or B is not a StreamingMatrix.
    MemoryError
        The product would have more than 2^24 stages (e.g. `A = A @ A` repeated).

    Examples
    --------
    >>> from mfkit import streaming_matrix as sm
    >>> sm.multiply_streaming_matrices(sm.prefix_sum(), sm.prefix_sum()).materialize(3)
    array([[1., 0., 0.],
           [2., 1., 0.],
           [3., 2., 1.]])
    """
    for name, m in (("A", A), ("B", B)):
        if not isinstance(m, StreamingMatrix):
            raise TypeError(f"multiply_streaming_matrices: {name} must be a StreamingMatrix, got {type(m).__name__}")
    handle = _ffi.new_handle("mfkit_sm_multiply", A._handle, B._handle, function="multiply_streaming_matrices")
    return StreamingMatrix._new(handle, ("product", A._recipe, B._recipe))


def scale_rows_and_columns(matrix: StreamingMatrix, row_scale: Optional[npt.ArrayLike] = None,
                           col_scale: Optional[npt.ArrayLike] = None) -> StreamingMatrix:
    """diag(row_scale) @ matrix @ diag(col_scale); None leaves that side unscaled.

    Cost: O(len(row_scale) + len(col_scale) + s) (the scales are copied).

    Parameters
    ----------
    matrix : StreamingMatrix
    row_scale, col_scale : 1-D real arrays or lists, optional
        Finite, at least one entry each; past their end the last entry repeats.

    Returns
    -------
    StreamingMatrix

    Raises
    ------
    ValueError
        A scale is empty, not one-dimensional or not finite.
    TypeError
        matrix is not a StreamingMatrix; a scale is not real numbers.
    MemoryError
        A scale cannot be copied.

    Examples
    --------
    >>> from mfkit import streaming_matrix as sm
    >>> sm.scale_rows_and_columns(sm.prefix_sum(), [1, 2]).materialize(2)
    array([[1., 0.],
           [2., 2.]])
    """
    function = "scale_rows_and_columns"
    if not isinstance(matrix, StreamingMatrix):
        raise TypeError(f"{function}: matrix must be a StreamingMatrix, got {type(matrix).__name__}")
    scales = [None if v is None else _args.array(v, name, function, scalars=True, sequences=True)
              for v, name in ((row_scale, "row_scale"), (col_scale, "col_scale"))]
    descs = [None if s is None else _ffi.describe(s, name) for s, name in zip(scales, ("row_scale", "col_scale"))]
    handle = _ffi.new_handle("mfkit_sm_scale_rows_and_columns", matrix._handle,
                             *[None if d is None else ctypes.byref(d) for d in descs], function=function)
    recipe = matrix._recipe
    if scales[0] is not None:
        recipe = ("product", ("diagonal", _frozen(scales[0])), recipe)
    if scales[1] is not None:
        recipe = ("product", recipe, ("diagonal", _frozen(scales[1])))
    return StreamingMatrix._new(handle, recipe)


def multiply_array(A: StreamingMatrix, x: Any, out: Any = None) -> Any:
    """A @ x for x of shape (n, ...): out[t] = (A x)[t].

    Cost: time O(n m s); x and out each cross memory once; large arrays use all cores.

    Parameters
    ----------
    A : StreamingMatrix
    x : array
        Shape (n, ...), float32 or float64 of any strides (NumPy, torch CPU, JAX CPU), read
        in place; integer and bool arrays are read as float64.
    out : array, optional
        x's shape and dtype, written in place and returned; may be `x` itself (in place).

    Returns
    -------
    numpy.ndarray
        A @ x with x's dtype (or `out`).

    Raises
    ------
    ValueError
        x has no dimension; out's shape differs; out is read-only, overlaps itself or x partly.
    TypeError
        A is not a StreamingMatrix; x is not an array; out's dtype differs from x's.
    MemoryError
        The work space for A's stages cannot be allocated.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import streaming_matrix as sm
    >>> sm.multiply_array(sm.prefix_sum(), np.arange(1, 5))
    array([ 1.,  3.,  6., 10.])
    """
    function = "multiply_array"
    if not isinstance(A, StreamingMatrix):
        raise TypeError(f"{function}: A must be a StreamingMatrix, got {type(A).__name__}")
    x = _args.array(x, "x", function)
    if out is None:
        result = view = np.empty_like(x)
    else:
        result, view = out, _args.output(out, "out", function)
    _ffi.call("mfkit_sm_multiply_array", A._handle, _ffi.describe(x, "x"), _ffi.describe(view, "out", writable=True),
              function=function)
    return result

"""The argument coercers shared by every mfkit module.

Each turns one Python argument into what the library takes, or raises TypeError (a wrong kind
of value) or ValueError (a value out of range) whose message starts with the Python function,
names the argument and lists exactly what is accepted.

Arrays. An input array is a NumPy array or any object NumPy reads in place: one with
`__array_interface__`, a DLPack producer (`__dlpack__`: a torch CPU tensor, a JAX CPU array),
or, last, one with `__array__`. float32 and float64 arrays of any strides are used as they are
(never copied); integer and bool arrays are converted to float64 (a broadcast axis stays a
broadcast axis, so `np.broadcast_to(1, (2**40,))` costs nothing); other dtypes are refused.
An output (`out=`) must be writable in place: a NumPy array, or an object exposing its memory
through `__array_interface__` or DLPack (a torch CPU tensor; a read-only JAX buffer is refused).

Numbers. Integers are Python or NumPy integers (never bool, never float) within int64; reals
are Python or NumPy real numbers or 0-d real arrays within float range (`10**400` is a
ValueError, not an OverflowError). Cost: O(ndim) per argument, except the float64 conversion
of an integer array (O(size) of its non-broadcast part).
"""
from __future__ import annotations

import itertools
import numbers
import operator
from typing import Any, Optional, Sequence, Tuple

import numpy as np

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
REAL = (np.dtype(np.float32), np.dtype(np.float64))
COMPLEX = (np.dtype(np.complex64), np.dtype(np.complex128))

#: How the accepted array objects are described in messages.
ARRAY_OBJECTS = ("a NumPy array or an object NumPy reads in place (__array_interface__, __dlpack__ "
                 "or __array__: a torch CPU tensor, a JAX CPU array)")
OUTPUT_OBJECTS = ("a writable NumPy array or an object NumPy writes in place (__array_interface__ or "
                  "__dlpack__: a torch CPU tensor)")


def _names(dtypes: Sequence[np.dtype]) -> str:
    names = [str(d) for d in dtypes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _view(value: Any, name: str, function: str, output: bool) -> Optional[np.ndarray]:
    """`value` as an ndarray sharing its memory, or None when it is no array object. An
    output is never read through `__array__` (which may return a copy)."""
    if isinstance(value, np.ndarray):
        return value
    try:
        if hasattr(value, "__array_interface__"):
            return np.asarray(value)
        if hasattr(value, "__dlpack__"):
            try:
                return np.from_dlpack(value)
            except (BufferError, RuntimeError, TypeError, ValueError):
                if output or not hasattr(value, "__array__"):
                    raise
        if not output and hasattr(value, "__array__"):
            return np.asarray(value)
    except (BufferError, RuntimeError, TypeError, ValueError) as exc:
        raise TypeError(f"{function}: {name} ({type(value).__name__}) cannot be read in place: {exc}; "
                        f"MFKit takes {OUTPUT_OBJECTS if output else ARRAY_OBJECTS}") from None
    return None


def as_float64(a: np.ndarray) -> np.ndarray:
    """An integer or bool array as float64, keeping zero-stride (broadcast) axes broadcast:
    only the distinct elements are converted. Read-only when `a` has broadcast axes."""
    broadcast = tuple(slice(0, 1) if s == 0 and n > 1 else slice(None) for n, s in zip(a.shape, a.strides))
    if all(b == slice(None) for b in broadcast):
        return a.astype(np.float64)
    return np.broadcast_to(a[broadcast].astype(np.float64), a.shape)


def _convert(a: np.ndarray, name: str, function: str, dtypes: Sequence[np.dtype], integers: bool) -> np.ndarray:
    if a.dtype in dtypes:
        return a
    if a.dtype.kind in "biu" and integers:
        return as_float64(a)
    if a.dtype.kind == "c" and not any(d.kind == "c" for d in dtypes):
        raise TypeError(f"{function}: {name} must be real (an array of real numbers), got dtype {a.dtype}")
    raise TypeError(f"{function}: {name} has dtype {a.dtype}; MFKit takes {_names(dtypes)} arrays"
                    + (" (integer and bool arrays are converted to float64)" if integers else ""))


def array(value: Any, name: str, function: str, *, dtypes: Sequence[np.dtype] = REAL,
          scalars: bool = False, sequences: bool = False, integers: bool = True) -> np.ndarray:
    """An input array of one of `dtypes` (float32 or float64 by default), without a copy when
    it already has one; integer and bool arrays as float64 (refused when not `integers`).
    `scalars`: a Python or NumPy number is a 0-d array. `sequences`: lists and tuples of
    numbers are accepted (converted). An input not aligned to its element type (as pickles
    and Dask transfers can deliver) is copied into aligned memory: the kernels need aligned
    elements."""
    if type(value) is np.ndarray and value.dtype in dtypes and value.flags.aligned:   # the common case, first
        return value
    if isinstance(value, (numbers.Number, np.bool_)):
        if not scalars:
            raise TypeError(f"{function}: {name} must be {ARRAY_OBJECTS}, got the scalar {value!r}")
        if isinstance(value, numbers.Integral) and not isinstance(value, np.generic):
            try:  # a Python int of any size: float64, or beyond float range
                value = float(value)
            except OverflowError:
                raise ValueError(f"{function}: {name} is beyond float range (about 1.8e308)") from None
        a = np.asarray(value)
    else:
        a = _view(value, name, function, output=False)
        if a is None:
            if not sequences or not isinstance(value, (list, tuple)):
                raise TypeError(f"{function}: {name} must be {ARRAY_OBJECTS}{', a list of numbers' if sequences else ''}, "
                                f"got {type(value).__name__}")
            try:
                a = np.asarray(value)
                if a.dtype == object:  # Python ints beyond int64 (or non-numbers)
                    a = a.astype(np.float64)
            except OverflowError:
                raise ValueError(f"{function}: {name} holds a number beyond float range") from None
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{function}: {name} must be a (nested) list of real numbers: {exc}") from None
    if not a.dtype.isnative and a.dtype.kind in "fc" and a.dtype.newbyteorder("=") in dtypes:
        raise TypeError(f"{function}: {name} is not in the machine's byte order; "
                        f"use {name}.astype({name}.dtype.newbyteorder('='))")
    a = _convert(a, name, function, dtypes, integers)
    return a if a.flags.aligned else a.copy()


def output(out: Any, name: str, function: str, *, shape: Optional[Tuple[int, ...]] = None,
           shape_from: str = "", dtype: Optional[np.dtype] = None,
           dtypes: Sequence[np.dtype] = REAL) -> np.ndarray:
    """A writable output array of one of `dtypes` sharing `out`'s memory. When the caller
    also gave the shape (through the argument described by `shape_from`, e.g. "n=5") or the
    dtype, `out` must agree with them."""
    a = _view(out, name, function, output=True)
    if a is None:
        raise TypeError(f"{function}: {name} must be {OUTPUT_OBJECTS}, got {type(out).__name__}")
    if a.dtype not in dtypes:
        raise TypeError(f"{function}: {name} has dtype {a.dtype}; MFKit writes {_names(dtypes)} arrays "
                        "in the machine's byte order")
    if not a.flags.writeable:
        raise ValueError(f"{function}: {name} is read-only; pass a writable array")
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{function}: {name} has shape {a.shape}, but {shape_from} asks for shape {tuple(shape)}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{function}: {name} has dtype {a.dtype}, but dtype={np.dtype(dtype)} was given")
    return a


def integer(value: Any, name: str, function: str, *, minimum: Optional[int] = None,
            maximum: int = INT64_MAX, condition: str = "") -> int:
    """`value` as a Python int in [minimum, maximum] (at most int64). bool and floats are
    refused (TypeError); out-of-range values are a ValueError (ctypes would wrap them)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{function}: {name} must be an integer (Python int or NumPy integer), "
                        f"got {type(value).__name__}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{function}: {name} must be {condition or f'>= {minimum}'}, got {value}")
    if value > maximum or value < INT64_MIN:
        raise ValueError(f"{function}: {name}={value} does not fit in 64 bits")
    return value


def positive_int(value: Any, name: str, function: str) -> int:
    """A positive integer within int64."""
    return integer(value, name, function, minimum=1, condition="positive")


def steps_int(value: Any, function: str) -> int:
    """max_optimizer_steps: an integer in [0, 2^63 - 1]."""
    return integer(value, "max_optimizer_steps", function, minimum=0, condition="non-negative")


def optional_int(value: Any, name: str, function: str, **limits: Any) -> Optional[int]:
    """None, or `integer(value, ...)`."""
    return None if value is None else integer(value, name, function, **limits)


def real(value: Any, name: str, function: str) -> float:
    """`value` as a Python float: a Python or NumPy real number or a 0-d real array (bool
    refused). Non-finite values pass (the library names the ones it refuses); numbers beyond
    float range are a ValueError."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{function}: {name} must be a real number, got bool")
    if not isinstance(value, (numbers.Real, np.integer, np.floating)):
        a = _view(value, name, function, output=False) if not isinstance(value, (str, bytes)) else None
        if a is None or a.ndim != 0 or a.dtype.kind not in "iuf":
            raise TypeError(f"{function}: {name} must be a real number (Python or NumPy int or float, "
                            f"or a 0-d real array), got {type(value).__name__}")
        value = a[()]
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{function}: {name} is beyond float range (about 1.8e308)") from None


def real_dtype(dtype: Any, function: str, name: str = "dtype") -> np.dtype:
    """float32 or float64, given as anything np.dtype understands."""
    try:
        d = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{function}: {name} must be float32 or float64, got {dtype!r}") from None
    if d not in REAL:
        raise TypeError(f"{function}: {name} must be float32 or float64, got {d}")
    return d


def shape(value: Any, name: str, function: str) -> Tuple[int, ...]:
    """A shape: an integer or a sequence of integers within int64 (their signs are the
    library's to check)."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (value,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{function}: {name} must be a tuple of integers, got {type(value).__name__}")
    items = tuple(itertools.islice(iter(value), 65))  # never walks a huge iterable
    if len(items) > 64:
        raise ValueError(f"{function}: {name} has more than 64 dimensions")
    for d in items:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (numbers.Integral, np.integer)):
            raise TypeError(f"{function}: {name} must hold integers, got {items!r}")
        if not INT64_MIN <= d <= INT64_MAX:  # ctypes would silently wrap it
            raise ValueError(f"{function}: {name} length {d} does not fit in 64 bits")
    return tuple(int(d) for d in items)

"""The one bridge to libmfkit.so.

Everything the Python side knows of the C ABI is read from the header, include/mfkit.h, the
one declaration of the ABI: every function's name, argument types and return type, the
`mfkit_array` layout, the callback types, every code (status, dtype, reduction, elementwise
function) and the version. Adding a function to the header makes it callable here
(`call("mfkit_...", ...)`) with no other change; a library that lacks a declared function, or
reports another version, is refused at import.

The library is looked up at $MFKIT_LIBRARY, then next to this file (placed there by
`pip install -e python`), then in the repository's .build/release; the header next to this
file (a copy made by the build) or in the repository's include/.
"""
import ctypes
import os
import re
from pathlib import Path

import numpy as np

from . import _args

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent.parent


def _find(what, candidates, hint):
    for path in candidates:
        if path is not None and path.exists():
            return path
    raise ImportError(f"{what} not found (looked at: " + ", ".join(str(p) for p in candidates if p) + f"). {hint}")


_LIBRARY_PATH = _find(
    "libmfkit.so",
    [Path(os.environ["MFKIT_LIBRARY"]) if os.environ.get("MFKIT_LIBRARY") else None,
     _HERE / "libmfkit.so", _ROOT / ".build" / "release" / "libmfkit.so"],
    "Run `pip install -e python` from the repository root, or set MFKIT_LIBRARY.")
HEADER_PATH = _find("mfkit.h", [_ROOT / "include" / "mfkit.h", _HERE / "mfkit.h"],
                    "Run `pip install -e python` from the repository root.")


# ---------------------------------------------------------------- reading the header
def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


_SOURCE = _strip_comments(HEADER_PATH.read_text(encoding="utf-8"))

#: Integer macros (#define NAME 123) and enum constants of the header, by name.
CONSTANTS = {m[0]: int(m[1]) for m in re.findall(r"^\s*#define\s+(MFKIT_\w+)\s+(-?\d+)\s*$", _SOURCE, flags=re.M)}
for _block in re.findall(r"\benum\s*\{(.*?)\}", _SOURCE, flags=re.S):
    for _name, _value in re.findall(r"(MFKIT_\w+)\s*=\s*(-?\d+)", _block):
        CONSTANTS[_name] = int(_value)
globals().update(CONSTANTS)  # MFKIT_OK, MFKIT_FLOAT32, ... as module attributes

_SCALARS = {
    "void": None, "int": ctypes.c_int, "int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64,
    "double": ctypes.c_double, "float": ctypes.c_float, "size_t": ctypes.c_size_t,
}
for _alias, _base in re.findall(r"\btypedef\s+(\w+)\s+(mfkit_\w+)\s*;", _SOURCE):
    _SCALARS[_base] = _SCALARS[_alias]
#: Opaque object types (typedef struct mfkit_x mfkit_x;): handles.
OPAQUE = set(re.findall(r"\btypedef\s+struct\s+(mfkit_\w+)\s+\1\s*;", _SOURCE))
#: Callback types (typedef ret (*name)(params);) as ctypes CFUNCTYPEs, filled below.
CALLBACKS = {}


class Array(ctypes.Structure):
    """`mfkit_array`, its fields read from the header."""


def _ctype(declaration):
    """The ctypes type of a C type such as `const mfkit_array *` or `int64_t`."""
    text = declaration.replace("const", " ").strip()
    stars = text.count("*")
    base = text.replace("*", " ").split()[0]
    if base == "mfkit_array":
        t = Array
    elif base in OPAQUE:
        t, stars = ctypes.c_void_p, stars - 1       # a handle is a void *
    elif base in CALLBACKS:
        t = CALLBACKS[base]
    elif base == "char" and stars >= 1:
        t, stars = ctypes.c_char_p, stars - 1        # a C string (or a pointer to one)
    elif base == "void" and stars >= 1:
        t, stars = ctypes.c_void_p, stars - 1
    elif base in _SCALARS:
        t = _SCALARS[base]
    else:
        raise ImportError(f"mfkit.h: unknown C type {declaration!r}")
    for _ in range(stars):
        t = ctypes.POINTER(t)
    return t


def _parameters(text):
    """[(name, C type)] of a parameter list."""
    text = text.strip()
    if text in ("", "void"):
        return []
    out = []
    for part in text.split(","):
        m = re.match(r"(.*?)(\w+)\s*$", part.strip(), flags=re.S)
        if not m:
            raise ImportError(f"mfkit.h: cannot read the parameter {part!r}")
        out.append((m.group(2), " ".join(m.group(1).split())))
    return out


_struct = re.search(r"typedef\s+struct\s+mfkit_array\s*\{(.*?)\}\s*mfkit_array\s*;", _SOURCE, flags=re.S)
_fields = []
for _decl in filter(None, (d.strip() for d in _struct.group(1).split(";"))):
    _m = re.match(r"(.*?)(\w+)\s*(?:\[(\w+)\])?$", _decl, flags=re.S)
    _t = _ctype(_m.group(1))
    if _m.group(3):
        _t = _t * (CONSTANTS[_m.group(3)] if _m.group(3) in CONSTANTS else int(_m.group(3)))
    _fields.append((_m.group(2), _t))
Array._fields_ = _fields
MAX_NDIM = CONSTANTS["MFKIT_MAX_NDIM"]

for _ret, _name, _params in re.findall(r"\btypedef\s+([\w\s\*]+?)\s*\(\s*\*\s*(mfkit_\w+)\s*\)\s*\(([^)]*)\)\s*;", _SOURCE):
    CALLBACKS[_name] = ctypes.CFUNCTYPE(_ctype(_ret), *[_ctype(t) for _, t in _parameters(_params)])

#: Every exported function: name -> (return C type, [(parameter name, C type)]).
FUNCTIONS = {}
for _ret, _name, _params in re.findall(r"\bMFKIT_API\s+([\w\s\*]+?)\s*\b(mfkit_\w+)\s*\(([^)]*)\)\s*;", _SOURCE):
    FUNCTIONS[_name] = (" ".join(_ret.split()), _parameters(_params))
if not FUNCTIONS:
    raise ImportError(f"no MFKIT_API declarations found in {HEADER_PATH}")

OPTIMIZE_CALLBACK = CALLBACKS["mfkit_optimize_callback"]
OBJECTIVE = CALLBACKS["mfkit_objective"]

# ---------------------------------------------------------------- loading the library
lib = ctypes.CDLL(str(_LIBRARY_PATH))  # CDLL releases the GIL during every call
for _name, (_ret, _params) in FUNCTIONS.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError:
        raise ImportError(f"{_LIBRARY_PATH} lacks {_name}, declared in {HEADER_PATH}; "
                          "rebuild with `pip install -e python`") from None
    _fn.argtypes = [_ctype(t) for _, t in _params]
    _fn.restype = _ctype(_ret)

VERSION = "{MFKIT_VERSION_MAJOR}.{MFKIT_VERSION_MINOR}.{MFKIT_VERSION_PATCH}".format(**CONSTANTS)
LIBRARY_VERSION = lib.mfkit_version().decode()
if LIBRARY_VERSION != VERSION:
    raise ImportError(f"{_LIBRARY_PATH} is version {LIBRARY_VERSION} but {HEADER_PATH} declares {VERSION}; "
                      "rebuild with `pip install -e python`")

Handle = ctypes.c_void_p
HandleP = ctypes.POINTER(ctypes.c_void_p)


# ---------------------------------------------------------------- errors
class Cancelled(RuntimeError):
    """A callback stopped the work (MFKIT_ERR_CANCELLED)."""


class Unavailable(RuntimeError):
    """No BLAS/LAPACK could be loaded for a function that needs one (MFKIT_ERR_UNAVAILABLE)."""


#: status code -> exception type
ERRORS = {
    CONSTANTS["MFKIT_ERR_INVALID_ARGUMENT"]: ValueError,
    CONSTANTS["MFKIT_ERR_SHAPE"]: ValueError,
    CONSTANTS["MFKIT_ERR_DTYPE"]: TypeError,
    CONSTANTS["MFKIT_ERR_NUMERICAL"]: ValueError,
    CONSTANTS["MFKIT_ERR_CANCELLED"]: Cancelled,
    CONSTANTS["MFKIT_ERR_OUT_OF_MEMORY"]: MemoryError,
    CONSTANTS["MFKIT_ERR_INTERNAL"]: RuntimeError,
    CONSTANTS["MFKIT_ERR_UNAVAILABLE"]: Unavailable,
}


def call(name, *args, function=None):
    """Calls lib.<name>(*args); on a failed status raises the mapped exception with the
    library's message, prefixed with `function` (the Python name of the call) when given."""
    status = getattr(lib, name)(*args)
    if status != CONSTANTS["MFKIT_OK"]:
        message = lib.mfkit_last_error_message().decode(errors="replace")
        raise ERRORS.get(status, RuntimeError)(f"{function}: {message}" if function else message)


def new_handle(name, *args, function=None):
    """Calls a constructor `name(*args, &out)` and returns the new handle."""
    handle = ctypes.c_void_p()
    call(name, *args, ctypes.byref(handle), function=function)
    return handle


def num_threads() -> int:
    """The number of worker threads MFKit splits large work over.

    Starts as $MFKIT_NUM_THREADS (1 to 64) when set, else the online cores (at most 64).
    Cost: O(1).

    Returns
    -------
    int

    Raises
    ------
    RuntimeError
        Never in practice.

    Examples
    --------
    >>> import mfkit
    >>> 1 <= mfkit.num_threads() <= 64
    True
    """
    return int(lib.mfkit_num_threads())


def set_num_threads(n: int) -> None:
    """Sets the number of worker threads for every later call (calls already running keep
    their split). Results do not depend on it beyond the rounding of reductions.

    Cost: O(1).

    Parameters
    ----------
    n : int
        1 to 64.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        n outside 1...64.
    TypeError
        n is not an integer.

    Examples
    --------
    >>> import mfkit
    >>> before = mfkit.num_threads()
    >>> mfkit.set_num_threads(1); mfkit.num_threads()
    1
    >>> mfkit.set_num_threads(before)
    """
    n = _args.integer(n, "n", "set_num_threads")
    call("mfkit_set_num_threads", int(np.clip(n, -1, 2**31 - 1)), function="set_num_threads")


def lapack_library() -> dict:
    """The BLAS/LAPACK MFKit's dense functions use, loaded on the first call.

    From Python it is the OpenBLAS NumPy loaded, unless $MFKIT_OPENBLAS names another (see the
    README's "BLAS/LAPACK"). Cost: O(1) after the first call.

    Returns
    -------
    dict
        {"path": the library's file, "integer_bits": 32 or 64}.

    Raises
    ------
    mfkit.Unavailable
        No BLAS/LAPACK could be loaded; the message says where MFKit looked.

    Examples
    --------
    >>> import mfkit
    >>> mfkit.lapack_library()["integer_bits"] in (32, 64)
    True
    """
    path, bits = ctypes.c_char_p(), ctypes.c_int32()
    call("mfkit_lapack_library", ctypes.byref(path), ctypes.byref(bits), function="lapack_library")
    return {"path": path.value.decode(errors="replace"), "integer_bits": bits.value}


# ---------------------------------------------------------------- arrays and arguments
DTYPE_CODES = {
    np.dtype(np.float32): CONSTANTS["MFKIT_FLOAT32"],
    np.dtype(np.float64): CONSTANTS["MFKIT_FLOAT64"],
    np.dtype(np.complex64): CONSTANTS["MFKIT_COMPLEX64"],
    np.dtype(np.complex128): CONSTANTS["MFKIT_COMPLEX128"],
}


def describe(array, name="array", writable=False):
    """An `mfkit_array` describing `array` in place (no copy). The caller keeps `array` alive
    for as long as the descriptor is used."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(array).__name__}")
    if not array.dtype.isnative:
        raise TypeError(f"{name} is not in the machine's byte order; use {name}.astype({name}.dtype.newbyteorder('='))")
    code = DTYPE_CODES.get(array.dtype)
    if code is None:
        raise TypeError(
            f"{name} has dtype {array.dtype}; MFKit takes float32, float64, complex64 or complex128"
        )
    if array.ndim > MAX_NDIM:
        raise ValueError(f"{name} has {array.ndim} dimensions; MFKit takes at most {MAX_NDIM}")
    if not array.flags.aligned:
        raise ValueError(f"{name} is not aligned to its element type")
    if writable and not array.flags.writeable:
        raise ValueError(f"{name} is read-only")
    d = Array()
    d.data = array.ctypes.data if array.size else None
    d.dtype = code
    d.ndim = array.ndim
    for i in range(array.ndim):
        d.shape[i] = array.shape[i]
        d.strides[i] = array.strides[i]
    return d


# The argument coercers live in _args; these names are kept for the modules that call them here.
positive_int, steps_int, real_dtype = _args.positive_int, _args.steps_int, _args.real_dtype

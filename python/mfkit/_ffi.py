"""The one bridge to libmfkit.so: finds and loads the library, declares every C signature
once, turns NumPy arrays into `mfkit_array` descriptors without copying, and turns a failed
status into a Python exception carrying the library's message.

The library is looked up at $MFKIT_LIBRARY, then next to this file (placed there by
`pip install -e python`), then in the repository's .build/release.
"""
import ctypes
import os
from ctypes import POINTER, c_char_p, c_double, c_int32, c_int64, c_void_p
from pathlib import Path

import numpy as np

MAX_NDIM = 8
_HERE = Path(__file__).resolve().parent


def _find_library():
    env = os.environ.get("MFKIT_LIBRARY")
    candidates = [Path(env)] if env else []
    candidates += [_HERE / "libmfkit.so", _HERE.parent.parent / ".build" / "release" / "libmfkit.so"]
    for path in candidates:
        if path.exists():
            return str(path)
    raise ImportError(
        "libmfkit.so not found (looked at: " + ", ".join(map(str, candidates)) + "). "
        "Run `pip install -e python` from the repository root, or set MFKIT_LIBRARY."
    )


lib = ctypes.CDLL(_find_library())  # CDLL releases the GIL during every call


class Array(ctypes.Structure):
    """`mfkit_array`: data, dtype code, ndim, shape, strides in bytes."""

    _fields_ = [
        ("data", c_void_p),
        ("dtype", c_int32),
        ("ndim", c_int32),
        ("shape", c_int64 * MAX_NDIM),
        ("strides", c_int64 * MAX_NDIM),
    ]


ArrayP = POINTER(Array)
Handle = c_void_p
HandleP = POINTER(c_void_p)

# name -> argument types; every function returns mfkit_status (int32).
_SIGNATURES = {
    "mfkit_sm_identity": [HandleP],
    "mfkit_sm_prefix_sum": [HandleP],
    "mfkit_sm_diagonal": [ArrayP, HandleP],
    "mfkit_sm_momentum_sgd": [c_double, ArrayP, HandleP],
    "mfkit_sm_multiply": [Handle, Handle, HandleP],
    "mfkit_sm_scale": [Handle, c_double, HandleP],
    "mfkit_sm_scale_rows_and_columns": [Handle, ArrayP, ArrayP, HandleP],
    "mfkit_sm_free": [Handle],
    "mfkit_sm_num_stages": [Handle, POINTER(c_int64)],
    "mfkit_sm_materialize": [Handle, ArrayP],
    "mfkit_sm_row_norms_squared": [Handle, ArrayP],
    "mfkit_sm_multiply_array": [Handle, ArrayP, ArrayP],
    "mfkit_stream_create": [Handle, c_int32, c_int32, POINTER(c_int64), HandleP],
    "mfkit_stream_next": [Handle, ArrayP, ArrayP],
    "mfkit_stream_step": [Handle, POINTER(c_int64)],
    "mfkit_stream_reset": [Handle],
    "mfkit_stream_free": [Handle],
}

# Banded strategies (mfkit_banded_*).
OPTIMIZE_CALLBACK = ctypes.CFUNCTYPE(c_int32, c_void_p, c_int64, c_double, c_double)
OBJECTIVE = ctypes.CFUNCTYPE(c_double, c_void_p, POINTER(c_double), POINTER(c_double), c_int64)
_SIGNATURES.update({
    "mfkit_banded_create": [ArrayP, HandleP],
    "mfkit_banded_from_banded_toeplitz": [c_int64, ArrayP, HandleP],
    "mfkit_banded_default": [c_int64, c_int64, HandleP],
    "mfkit_banded_free": [Handle],
    "mfkit_banded_shape": [Handle, POINTER(c_int64), POINTER(c_int64)],
    "mfkit_banded_params": [Handle, ArrayP],
    "mfkit_banded_materialize": [Handle, ArrayP],
    "mfkit_banded_inverse": [Handle, HandleP],
    "mfkit_banded_minsep_sensitivity_squared": [Handle, c_int64, c_int64, c_int64, c_int32, POINTER(c_int64)],
    "mfkit_banded_per_query_error": [Handle, Handle, ArrayP],
    "mfkit_banded_loss": [Handle, Handle, c_int32, ArrayP, POINTER(c_double), ArrayP],
    "mfkit_banded_optimize": [c_int64, c_int64, Handle, Handle, c_int64, c_int32, ArrayP,
                              OPTIMIZE_CALLBACK, c_void_p, HandleP],
    "mfkit_banded_lbfgs_minimize": [ArrayP, OBJECTIVE, OPTIMIZE_CALLBACK, c_void_p, c_int64, c_int64,
                                    POINTER(c_int64), POINTER(c_double)],
})

# Sensitivity of dense strategies (mfkit_sens_*).
_Int64P = POINTER(c_int64)
_DoubleP = POINTER(c_double)
_SIGNATURES.update({
    "mfkit_sens_minsep_true_max_participations": [c_int64, c_int64, _Int64P, _Int64P],
    "mfkit_sens_max_participation_for_linear_fn": [ArrayP, c_int64, _Int64P, _DoubleP],
    "mfkit_sens_single_participation": [ArrayP, _DoubleP],
    "mfkit_sens_min_sep_upper_bound": [ArrayP, c_int64, _Int64P, _DoubleP],
    "mfkit_sens_min_sep_upper_bound_for_x": [ArrayP, c_int64, _Int64P, _DoubleP],
    "mfkit_sens_banded": [ArrayP, c_int64, _Int64P, _DoubleP],
    "mfkit_sens_banded_for_x": [ArrayP, c_int64, _Int64P, _DoubleP],
    "mfkit_sens_fixed_epoch": [ArrayP, c_int64, _DoubleP],
    "mfkit_sens_fixed_epoch_for_x": [ArrayP, c_int64, _DoubleP],
    "mfkit_sens_gram": [ArrayP, ArrayP],
})

# Kronecker sums (mfkit_kron_*).
_SIGNATURES.update({
    "mfkit_kron_sum": [c_int32, ArrayP, ArrayP],
    "mfkit_kron_sum_diag": [c_int32, ArrayP, ArrayP],
    "mfkit_kron_factorwise_average": [ArrayP, c_int32, POINTER(c_int64), c_int32, ArrayP],
    "mfkit_kron_factorwise_average_diag": [ArrayP, c_int32, POINTER(c_int64), c_int32, ArrayP],
    "mfkit_kron_ks_project": [ArrayP, c_int32, ArrayP],
    "mfkit_kron_ks_project_diag": [ArrayP, c_int32, ArrayP],
    "mfkit_kron_sum_matvec": [c_int32, ArrayP, ArrayP, ArrayP],
    "mfkit_kron_sum_diag_reduce": [c_int32, ArrayP, c_int32, POINTER(c_double)],
    "mfkit_kron_ks_project_diag_map": [c_int32, ArrayP, c_int32, c_int32, ArrayP],
})

# Parametric matrix models (mfkit_pmm_*).
_SIGNATURES.update({
    "mfkit_pmm_low_rank_create": [ArrayP, ArrayP, c_double, c_int32, c_int32, HandleP],
    "mfkit_pmm_affine_create": [ArrayP, c_double, c_int32, c_int32, HandleP],
    "mfkit_pmm_free": [Handle],
    "mfkit_pmm_info": [Handle, POINTER(c_int64), POINTER(c_int64), POINTER(c_int32)],
    "mfkit_pmm_matrices": [Handle, ArrayP],
    "mfkit_pmm_smoothing_matrix": [Handle, ArrayP],
    "mfkit_pmm_forward": [Handle, ArrayP, ArrayP],
})

for _name, _args in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.argtypes = _args
    _fn.restype = c_int32

lib.mfkit_version.argtypes = []
lib.mfkit_version.restype = c_char_p
lib.mfkit_last_error.argtypes = []
lib.mfkit_last_error.restype = c_char_p
lib.mfkit_num_threads.argtypes = []
lib.mfkit_num_threads.restype = c_int32

LIBRARY_VERSION = lib.mfkit_version().decode()
_PACKAGE_VERSION = "0.1.0"
if LIBRARY_VERSION != _PACKAGE_VERSION:
    raise ImportError(
        f"libmfkit.so is version {LIBRARY_VERSION} but the mfkit package is {_PACKAGE_VERSION}; "
        "rebuild with `pip install -e python`"
    )


class Cancelled(RuntimeError):
    """A callback stopped the work (MFKIT_ERR_CANCELLED)."""


# status -> exception type
_ERRORS = {
    1: ValueError,   # invalid argument
    2: ValueError,   # shape
    3: TypeError,    # dtype
    4: ValueError,   # numerical failure
    5: Cancelled,
    6: MemoryError,
    7: RuntimeError,  # internal
}


def call(name, *args):
    """Calls lib.<name>(*args) and raises the mapped exception on a failed status."""
    status = getattr(lib, name)(*args)
    if status != 0:
        message = lib.mfkit_last_error().decode(errors="replace")
        raise _ERRORS.get(status, RuntimeError)(message)


DTYPE_CODES = {
    np.dtype(np.float32): 1,
    np.dtype(np.float64): 2,
    np.dtype(np.complex64): 3,
    np.dtype(np.complex128): 4,
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


def params_array(values, name):
    """A float64 parameter array (constructors copy their parameters, so a conversion is
    harmless here)."""
    if np.iscomplexobj(values):  # NumPy would drop the imaginary part with only a warning
        raise TypeError(f"{name} must be real, got dtype {np.asarray(values).dtype}")
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    return array


def positive_int(value, name, function):
    """`value` as an int; raises ValueError unless it is a positive integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{function}: {name} must be an integer, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{function}: {name} must be positive, got {value}")
    if value > INT64_MAX:  # ctypes would silently wrap it
        raise ValueError(f"{function}: {name}={value} does not fit in 64 bits")
    return int(value)


INT64_MAX = 2**63 - 1


def steps_int(value, function):
    """max_optimizer_steps as an int in [0, 2^63 - 1] (TypeError / ValueError otherwise)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{function}: max_optimizer_steps must be an integer")
    if value < 0:
        raise ValueError(f"{function}: max_optimizer_steps must be non-negative, got {value}")
    if value > INT64_MAX:
        raise ValueError(f"{function}: max_optimizer_steps={value} does not fit in 64 bits")
    return int(value)


def real_dtype(dtype, function):
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{function}: dtype must be float32 or float64, got {dtype}")
    return dtype


def new_handle(name, *args):
    """Calls a constructor `name(*args, &out)` and returns the handle."""
    handle = c_void_p()
    call(name, *args, ctypes.byref(handle))
    return handle

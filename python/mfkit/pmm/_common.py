"""Argument checks, precision aliases, handles and the module life cycle shared by the PMM modules."""
from __future__ import annotations

import threading
import weakref
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _args, _ffi

_PRECISION_32 = (np.float32, np.complex64, "float32", "complex64", "single", "f32", "c64", 32)
_PRECISION_64 = (np.float64, np.complex128, "float64", "complex128", "double", "f64", "c128", 64)
_PRECISION_ERROR = (
    "Invalid precision. Valid options are:\n"
    "[for 32-bit precision] np.float32, np.complex64, 'float32', 'complex64', 'single', 'f32', 'c64', 32;\n"
    "[for 64-bit precision] np.float64, np.complex128, 'float64', 'complex128', 'double', 'f64', 'c128', 64."
)

WHICH = ("sa", "la", "sm", "lm", "ea", "em", "ia", "im")


def precision_bits(prec: Any) -> int:
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


def with_precision(p: np.ndarray, bits: int) -> np.ndarray:
    """p converted to the complex or real dtype of `bits` bits."""
    if np.iscomplexobj(p):
        return p.astype(np.complex64 if bits == 32 else np.complex128)
    return p.astype(np.float32 if bits == 32 else np.float64)


# The release raises ValueError for every bad hyperparameter; these keep that, with the shared
# coercers (mfkit._args) doing the reading.

def positive_int_or_none(value: Any, name: str) -> Optional[int]:
    if value is None:
        return None
    try:
        return _args.integer(value, name, name, minimum=1)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive integer") from None


def finite_real(value: Any, name: str, allow_none: bool = False, positive: bool = False) -> float:
    """A finite float (None gives 0.0 with allow_none). Python integers beyond float range are a
    ValueError, not an OverflowError."""
    if value is None and allow_none:
        return 0.0
    try:
        value = _args.real(value, name, name)
    except TypeError:
        raise ValueError(f"{name} must be a real number, got {type(value).__name__}") from None
    except ValueError:
        raise ValueError(f"{name} must be a finite number, got an integer beyond the float range") from None
    if not np.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name} must be a {'positive ' if positive else ''}finite number, got {value}")
    return value


def flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a boolean, got {value!r}")
    return bool(value)


def which_code(which: Any) -> int:
    """The MFKIT_PMM_* code of a `which` string (case-insensitive)."""
    if not isinstance(which, str) or which.lower() not in WHICH:
        raise ValueError("which must be one of: 'SA', 'LA', 'SM', 'LM', 'EA', 'EM', 'IA', 'IM'. "
                         f"Got: {which}")
    return _ffi.CONSTANTS["MFKIT_PMM_" + which.upper()]


def shape_tuple(value: Any, name: str = "input_shape") -> Tuple[int, ...]:
    """A shape given as a tuple or list of at most 8 non-negative integers (ValueError otherwise)."""
    if (not isinstance(value, (tuple, list)) or len(value) > 8
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and 0 <= v < 2**31
                       for v in value)):
        raise ValueError(f"{name} must be a tuple of non-negative integers, got a {type(value).__name__}")
    return tuple(int(v) for v in value)


def frozen(array: Any) -> np.ndarray:
    """A read-only C-contiguous copy (a module's own parameter storage)."""
    copy = np.array(np.asarray(array), order="C", copy=True)
    copy.flags.writeable = False
    return copy


def make_rng(rng: Any) -> np.random.Generator:
    """A numpy Generator from an integer seed, a Generator, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be an integer seed or a numpy.random.Generator, got {type(rng).__name__}")


def real_features(input_NF: Any, name: str = "input_NF", function: str = "__call__") -> np.ndarray:
    """Real features (N, p): float32/float64 of any strides read in place (NumPy arrays, torch
    CPU tensors, JAX CPU arrays), integer arrays as float64; complex arrays refused."""
    input_NF = _args.array(input_NF, name, function, dtypes=_args.REAL + _args.COMPLEX)
    if input_NF.dtype.kind == "c":
        raise TypeError(f"{function}: {name} must be real features (float32 or float64), got {input_NF.dtype}")
    if input_NF.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (num_samples, num_features), got shape {input_NF.shape}")
    return input_NF


class Handle:
    """A library model handle, freed (weakref.finalize) when the last user drops it: a call
    holds the Handle it started with, so replacing a module's parameters never frees a model
    an in-flight call is using."""

    __slots__ = ("value", "_finalizer", "__weakref__")

    def __init__(self, value: Any):
        self.value = value
        self._finalizer = weakref.finalize(self, _ffi.lib.mfkit_pmm_free, value)


class ModuleBase:
    """The life cycle shared by MFKit's PMM modules (parametricmatrixmodels' BaseModule):
    equality, pickling and copying by (hyperparameters, parameters), serialize/deserialize
    in the release's layout, precision changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    # -- identity ------------------------------------------------------------------------
    def __repr__(self) -> str:
        count = self.get_num_trainable_floats()
        if not self.is_ready():
            return f"{self.name()} (uninitialized)"
        if not count:
            return f"{self.name()}"
        return f"{self.name()} (trainable floats: {count:,})"

    def _plain_hyperparameters(self) -> Dict[str, Any]:
        return {k: v for k, v in self.get_hyperparameters().items() if k != "modules"}

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        if self._plain_hyperparameters() != other._plain_hyperparameters():
            return False
        mine, theirs = self._params_or_empty(), other._params_or_empty()
        return len(mine) == len(theirs) and all(
            (a is None and b is None) or (a is not None and b is not None and a.dtype == b.dtype
                                         and np.array_equal(a, b))
            for a, b in zip(mine, theirs))

    __hash__ = None  # type: ignore[assignment]

    def _params_or_empty(self) -> Tuple[Any, ...]:
        return tuple(self.get_params()) if self.is_ready() else ()

    def __getstate__(self) -> Dict[str, Any]:
        return {"hyperparameters": self._plain_hyperparameters(),
                "params": tuple(np.array(p) for p in self._params_or_empty())}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        fresh = type(self)()
        self.__dict__.update(fresh.__dict__)
        self._restore(state["hyperparameters"], state["params"])

    def _restore(self, hyperparameters: Dict[str, Any], params: Tuple[Any, ...]) -> None:
        self.set_hyperparameters(hyperparameters)
        if params:
            self.set_params(tuple(params))

    def __copy__(self):
        new = type(self).__new__(type(self))
        new.__setstate__(self.__getstate__())
        return new

    def __deepcopy__(self, memo: Dict[int, Any]):
        return self.__copy__()

    # -- precision -----------------------------------------------------------------------
    def set_precision(self, prec: Any) -> None:
        """Converts the parameters to 32-bit (float32 / complex64) or 64-bit precision.

        Accepts np.float32, np.complex64, "float32", "complex64", "single", "f32", "c64", 32 and
        their 64-bit twins; RuntimeError before compile. No JAX_ENABLE_X64 flag is needed.
        """
        if not self.is_ready():
            raise RuntimeError("Module is not ready. Call compile() first.")
        bits = precision_bits(prec)
        params = self.get_params()
        if params:
            self.set_params(tuple(with_precision(np.asarray(p), bits) for p in params))

    def astype(self, dtype: Any):
        """set_precision(dtype), returning the module."""
        self.set_precision(dtype)
        return self

    def get_state(self) -> Tuple[()]:
        """The modules keep no state: ()."""
        return ()

    def set_state(self, state: Any) -> None:
        """Accepts only an empty state (the modules keep none)."""
        if not isinstance(state, (tuple, list, dict)) or len(state) != 0:
            raise ValueError(f"{type(self).__name__} keeps no state; expected (), got {state!r}")

    # -- serialization -------------------------------------------------------------------
    def serialize(self) -> Dict[str, Any]:
        """{'name', 'hyperparameters', 'params': {'p0': ...}, 'state': {}, 'package_version'}:
        parametricmatrixmodels' layout (package_version is MFKit's version). O(parameters)."""
        params = self.get_params() if self.is_ready() else ()
        return {
            "name": self.name(),
            "hyperparameters": dict(self.get_hyperparameters()),
            "params": {f"p{i}": np.array(p, copy=True) for i, p in enumerate(params)},
            "state": {f"s{i}": np.array(s, copy=True) for i, s in enumerate(self.get_state())},
            "package_version": _ffi.VERSION,
        }

    def deserialize(self, data: Dict[str, Any]) -> None:
        """Restores a module from a `serialize()` dict written by MFKit or by
        parametricmatrixmodels (whose package_version is that package's version: versions are
        not compared). The layout must match this module: its name, hyperparameter keys and
        parameter arrays; otherwise ValueError naming the mismatch. As in the original, the
        hyperparameters are set first (refused once the module has parameters)."""
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict made by serialize(), got {type(data).__name__}")
        missing = [k for k in ("name", "hyperparameters", "params", "package_version") if k not in data]
        if missing:
            raise ValueError(f"Serialized data lacks the keys {missing}")
        name = str(data["name"])
        cls = type(self).__name__
        if not (name.startswith(cls + "(") or name.startswith(cls + " ") or name == cls):
            raise ValueError(f"Serialized data is of module {name.splitlines()[0]!r}, not of a {cls}")
        if not isinstance(data["package_version"], (str, np.str_)):
            raise ValueError(f"Serialized package_version must be a version string, got {data['package_version']!r}")
        hyperparameters = data["hyperparameters"]
        if not isinstance(hyperparameters, dict):
            raise ValueError("Serialized 'hyperparameters' must be a dict")
        params_dict = data["params"]
        if not isinstance(params_dict, dict):
            raise ValueError("Serialized 'params' must be a dict {'p0': ..., 'p1': ...}")
        keys = [f"p{i}" for i in range(len(params_dict))]
        if sorted(map(str, params_dict)) != sorted(keys):
            raise ValueError(f"Serialized 'params' must have the keys {keys}, got {sorted(map(str, params_dict))}")
        self.set_hyperparameters(hyperparameters)
        if params_dict:
            self.set_params(tuple(np.asarray(params_dict[k]) for k in keys))
        state_dict = data.get("state", {})
        if isinstance(state_dict, dict):
            skeys = [f"s{i}" for i in range(len(state_dict))]
            if sorted(map(str, state_dict)) != sorted(skeys):
                raise ValueError(f"Serialized 'state' must have the keys {skeys}, got {sorted(map(str, state_dict))}")
            state_dict = tuple(state_dict[k] for k in skeys)
        self.set_state(state_dict)


def check_keys(hyperparameters: Dict[str, Any], allowed: Tuple[str, ...], required: Tuple[str, ...], cls: str) -> None:
    """Unknown or missing hyperparameter keys are a ValueError naming them."""
    if not isinstance(hyperparameters, dict):
        raise TypeError("Hyperparameters must be provided as a dictionary.")
    unknown = sorted(set(hyperparameters) - set(allowed))
    if unknown:
        raise ValueError(f"Unknown hyperparameters for {cls}: {unknown}; expected keys among {list(allowed)}")
    missing = sorted(set(required) - set(hyperparameters))
    if missing:
        raise ValueError(f"Hyperparameters for {cls} lack the keys {missing}")

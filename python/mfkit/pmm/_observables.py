"""The observable parts of the observable PMMs: TransitionAmplitudeSum, its low-rank form, Bias."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _ffi
from ._common import ModuleBase, check_keys, finite_real, flag, frozen, make_rng, positive_int_or_none, shape_tuple
from ._matrices import LowRankAffineHermitianMatrix

__all__ = ["TransitionAmplitudeSum", "LowRankTransitionAmplitudeSum", "Bias"]


def _eigenvector_rows(input_shape: Any) -> int:
    shape = shape_tuple(input_shape)
    if len(shape) != 2 or shape[0] < 1:
        raise ValueError(f"Input shape must be 2D (matrix_size, num_eig), got {shape}")
    return shape[0]


def _hermitian_parts(ds: np.ndarray) -> bool:
    return bool(np.allclose(ds, ds.conj().swapaxes(-1, -2)))


class _TransitionBase(ModuleBase):
    """z_c = sum_l [sum_{i,j<k} |v_i^H D_cl v_j|^2 - 1/2 ||D_cl||_2^2 (centered)] on the selected
    eigenvectors (N, n, k); D_cl the Hermitian parts of the observables."""

    def _matrices(self) -> np.ndarray:
        """The observables D (output_size, num_observables, n, n) as the forward uses them."""
        raise NotImplementedError

    def get_output_shape(self, input_shape: Tuple[int, ...]) -> Tuple[int]:
        shape_tuple(input_shape)
        return (self.output_size,)

    def __call__(self, input_NF: np.ndarray, training: bool = False, state: Any = (), rng: Any = None):
        """(z (N, output_size), state) for selected eigenvectors input_NF (N, n, k). O(N o l n^3)."""
        if not self.is_ready():
            raise ValueError("Module is not ready, call compile() first")
        v = np.asarray(input_NF)
        if v.ndim != 3 or v.dtype not in (np.complex64, np.complex128):
            raise ValueError(f"input_NF must be complex eigenvectors (N, n, k), got {v.dtype} {v.shape}")
        N, n, k = v.shape
        full = np.zeros((N, n, n), v.dtype)
        full[:, :, :k] = v
        values = np.zeros((N, n), np.float64)
        out = np.empty((N, self.output_size), np.float32 if v.dtype == np.complex64 else np.float64)
        transition_sums(values, full, k, self._matrices(), self.centered, out=out)
        return out, state


def transition_sums(values: np.ndarray, vectors: np.ndarray, k: int, ds: np.ndarray, centered: bool,
                    out: Optional[np.ndarray] = None, cotangent: Optional[np.ndarray] = None,
                    weights: Optional[np.ndarray] = None, ds_sensitivity: Optional[np.ndarray] = None) -> None:
    """mfkit_pmm_transition_sums (see include/mfkit.h)."""
    d = lambda a, name, w=False: None if a is None else _ffi.describe(a, name, w)  # noqa: E731
    _ffi.call("mfkit_pmm_transition_sums", d(values, "values"), d(vectors, "vectors"), int(k), d(ds, "Ds"),
              int(bool(centered)), d(out, "out", True), d(cotangent, "cotangent"), d(weights, "weights", True),
              d(ds_sensitivity, "ds_sensitivity", True), function="TransitionAmplitudeSum")


class TransitionAmplitudeSum(_TransitionBase):
    """parametricmatrixmodels' TransitionAmplitudeSum: Ds (output_size, num_observables, n, n)
    Hermitian (checked with np.allclose; the forward uses (D + D^H)/2). Part of the observable
    PMMs."""

    _KEYS = ("num_observables", "output_size", "init_magnitude", "centered")

    def __init__(self, num_observables: Optional[int] = None, output_size: Optional[int] = None,
                 Ds: Optional[np.ndarray] = None, init_magnitude: float = 1e-2, centered: bool = True) -> None:
        super().__init__()
        self.Ds: Optional[np.ndarray] = None
        self.num_observables = positive_int_or_none(num_observables, "num_observables")
        self.output_size = positive_int_or_none(output_size, "output_size")
        self.init_magnitude = finite_real(init_magnitude, "init_magnitude", positive=True)
        self.centered = flag(centered, "centered")
        if Ds is not None:
            self.set_params((Ds,))

    def name(self) -> str:
        return (f"TransitionAmplitudeSum(output_size={self.output_size},"
                f" num_observables={self.num_observables}, centered={self.centered})")

    def is_ready(self) -> bool:
        return self.Ds is not None

    def get_num_trainable_floats(self) -> Optional[int]:
        return None if self.Ds is None else int(self.Ds.size)

    def compile(self, rng: Any, input_shape: Tuple[int, ...]) -> None:
        """Draws Ds (complex64, magnitude init_magnitude, Hermitian) for inputs (n, k)."""
        if self.num_observables is None or self.output_size is None:
            raise ValueError("num_observables and output_size must be set before compiling the module")
        n = _eigenvector_rows(input_shape)
        if self.is_ready():
            if self.Ds.shape[2] != n:
                raise ValueError(f"Input shape {input_shape} does not match the observables {self.Ds.shape}")
            return
        gen = make_rng(rng)
        shape = (self.output_size, self.num_observables, n, n)
        d = self.init_magnitude * (gen.standard_normal(shape) + 1j * gen.standard_normal(shape))
        self.set_params((((d + d.conj().swapaxes(-1, -2)) / 2).astype(np.complex64),))

    def get_hyperparameters(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self._KEYS}

    def set_hyperparameters(self, hyperparameters: Dict[str, Any]) -> None:
        check_keys(hyperparameters, self._KEYS, (), "TransitionAmplitudeSum")
        if self.Ds is not None:
            raise ValueError("Cannot set hyperparameters after the module has parameters")
        for key, value in hyperparameters.items():
            setattr(self, key, value)

    def get_params(self) -> Tuple[Optional[np.ndarray]]:
        return (self.Ds,)

    def set_params(self, params: Tuple[np.ndarray, ...]) -> None:
        """Sets (Ds,): (output_size, num_observables, n, n) complex, Hermitian."""
        if not isinstance(params, (tuple, list)) or len(params) != 1 or not isinstance(params[0], np.ndarray):
            raise ValueError("Expected 1 parameter array (Ds,)")
        ds = params[0]
        if ds.ndim != 4 or ds.shape[2] != ds.shape[3] or ds.dtype not in (np.complex64, np.complex128):
            raise ValueError(f"Ds must be a complex 4D array (output_size, num_observables, n, n), got {ds.dtype} {ds.shape}")
        o = self.output_size or ds.shape[0]
        l = self.num_observables or ds.shape[1]
        if ds.shape[:2] != (o, l):
            raise ValueError(f"Ds must have shape ({o}, {l}, n, n), got {ds.shape}")
        if not np.all(np.isfinite(ds)):
            raise ValueError("Ds must be finite (found NaN or infinity)")
        if not _hermitian_parts(ds):
            raise ValueError("Ds must be Hermitian matrices")
        self.output_size, self.num_observables = int(o), int(l)
        self.Ds = frozen(ds)

    def _matrices(self) -> np.ndarray:
        return self.Ds

    def _gradient(self, sensitivity: np.ndarray) -> Tuple[np.ndarray]:
        """jax.grad's entry for Ds from the sensitivities E (dL = sum Re tr(E dD)): conj(E)."""
        return (np.conj(sensitivity).astype(self.Ds.dtype),)


class LowRankTransitionAmplitudeSum(_TransitionBase):
    """parametricmatrixmodels' LowRankTransitionAmplitudeSum: D_cl = sum_h lambdas[c, l, h]
    us[c, l, h] us[c, l, h]^H, lambdas (output_size, num_observables, rank) real, us
    (output_size, num_observables, rank, n) complex."""

    _KEYS = ("rank", "num_observables", "output_size", "init_magnitude", "centered")

    def __init__(self, rank: Optional[int] = None, num_observables: Optional[int] = None,
                 output_size: Optional[int] = None, lambdas: Optional[np.ndarray] = None,
                 us: Optional[np.ndarray] = None, init_magnitude: float = 1e-2, centered: bool = True) -> None:
        super().__init__()
        self.lambdas: Optional[np.ndarray] = None
        self.us: Optional[np.ndarray] = None
        self.rank = positive_int_or_none(rank, "rank")
        self.num_observables = positive_int_or_none(num_observables, "num_observables")
        self.output_size = positive_int_or_none(output_size, "output_size")
        self.init_magnitude = finite_real(init_magnitude, "init_magnitude", positive=True)
        self.centered = flag(centered, "centered")
        if (lambdas is None) != (us is None):
            raise ValueError("lambdas and us must be given together")
        if us is not None:
            self.set_params((lambdas, us))

    def name(self) -> str:
        return (f"LowRankTransitionAmplitudeSum(output_size={self.output_size}, rank={self.rank},"
                f" num_observables={self.num_observables}, centered={self.centered})")

    def is_ready(self) -> bool:
        return self.us is not None and self.lambdas is not None

    def get_num_trainable_floats(self) -> Optional[int]:
        return None if self.us is None else int(self.lambdas.size + 2 * self.us.size)

    def compile(self, rng: Any, input_shape: Tuple[int, ...]) -> None:
        """Draws lambdas (float32) and us (complex64) of magnitude init_magnitude for inputs (n, k)."""
        if self.num_observables is None or self.output_size is None or self.rank is None:
            raise ValueError("rank, num_observables and output_size must be set before compiling the module")
        n = _eigenvector_rows(input_shape)
        if self.is_ready():
            if self.us.shape[3] != n:
                raise ValueError(f"Input shape {input_shape} does not match the observables {self.us.shape}")
            return
        gen = make_rng(rng)
        o, l, h = self.output_size, self.num_observables, self.rank
        lam = (self.init_magnitude * gen.standard_normal((o, l, h))).astype(np.float32)
        u = self.init_magnitude * (gen.standard_normal((o, l, h, n)) + 1j * gen.standard_normal((o, l, h, n)))
        self.set_params((lam, u.astype(np.complex64)))

    def get_hyperparameters(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self._KEYS}

    def set_hyperparameters(self, hyperparameters: Dict[str, Any]) -> None:
        check_keys(hyperparameters, self._KEYS, (), "LowRankTransitionAmplitudeSum")
        if self.us is not None:
            raise ValueError("Cannot set hyperparameters after the module has parameters")
        for key, value in hyperparameters.items():
            setattr(self, key, value)

    def get_params(self) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        return (self.lambdas, self.us)

    def set_params(self, params: Tuple[np.ndarray, ...]) -> None:
        """Sets (lambdas (o, l, h) real, us (o, l, h, n) complex)."""
        if not isinstance(params, (tuple, list)) or len(params) != 2 or not all(isinstance(p, np.ndarray) for p in params):
            raise ValueError("Expected 2 parameter arrays (lambdas, us)")
        lam, u = params
        if u.ndim != 4 or u.dtype not in (np.complex64, np.complex128):
            raise ValueError(f"us must be a complex 4D array (output_size, num_observables, rank, n), got {u.dtype} {u.shape}")
        if lam.dtype not in (np.float32, np.float64) or lam.shape != u.shape[:3]:
            raise ValueError(f"lambdas must be a real array of shape {u.shape[:3]}, got {lam.dtype} {lam.shape}")
        expected = (self.output_size or u.shape[0], self.num_observables or u.shape[1], self.rank or u.shape[2])
        if u.shape[:3] != expected:
            raise ValueError(f"us must have shape {expected + (u.shape[3],)}, got {u.shape}")
        if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(u))):
            raise ValueError("lambdas and us must be finite (found NaN or infinity)")
        self.output_size, self.num_observables, self.rank = (int(x) for x in u.shape[:3])
        self.lambdas, self.us = frozen(lam), frozen(u)
        o, l, h, n = u.shape
        self._factors = LowRankAffineHermitianMatrix(matrix_size=n, rank=h, smoothing=None,
                                                     lambdas=self.lambdas.reshape(o * l, h),
                                                     us=self.us.reshape(o * l, h, n))

    def _matrices(self) -> np.ndarray:
        o, l, h, n = self.us.shape
        d = np.empty((o * l, n, n), self.us.dtype)
        _ffi.call("mfkit_pmm_matrices", self._factors._prepared().value, _ffi.describe(d, "Ds", True),
                  function="LowRankTransitionAmplitudeSum")
        return d.reshape(o, l, n, n)

    def _gradient(self, sensitivity: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """jax.grad's entries for (lambdas, us) from the sensitivities E (o, l, n, n)."""
        o, l, h, n = self.us.shape
        g_lambdas, g_us = self._factors._gradient(sensitivity.reshape(o * l, n, n))
        return g_lambdas.reshape(o, l, h), g_us.reshape(o, l, h, n)


class Bias(ModuleBase):
    """parametricmatrixmodels' Bias (real, not scalar, trainable): out = input + b."""

    _KEYS = ("init_magnitude", "real", "scalar", "trainable")

    def __init__(self, bias: Optional[np.ndarray] = None, init_magnitude: float = 1e-2, real: bool = True,
                 scalar: bool = False, trainable: bool = True) -> None:
        super().__init__()
        if not real or scalar or not trainable:
            raise ValueError("MFKit's Bias is real, not scalar and trainable (the observable PMMs' kind)")
        self.real, self.scalar, self.trainable = True, False, True
        self.init_magnitude = finite_real(init_magnitude, "init_magnitude", positive=True)
        self.bias: Optional[np.ndarray] = None
        if bias is not None:
            self.set_params((bias,))

    def name(self) -> str:
        return f"Bias(real={self.real})"

    def is_ready(self) -> bool:
        return self.bias is not None

    def get_num_trainable_floats(self) -> Optional[int]:
        return None if self.bias is None else int(self.bias.size)

    def compile(self, rng: Any, input_shape: Tuple[int, ...]) -> None:
        """Draws b (float32, magnitude init_magnitude) of the input's shape."""
        shape = shape_tuple(input_shape)
        if self.is_ready():
            if self.bias.shape != shape:
                raise ValueError(f"Bias shape {self.bias.shape} does not match input shape {shape}")
            return
        b = self.init_magnitude * make_rng(rng).standard_normal(shape)
        self.set_params((b.astype(np.float32),))

    def get_output_shape(self, input_shape: Tuple[int, ...]) -> Tuple[int, ...]:
        return shape_tuple(input_shape)

    def get_hyperparameters(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self._KEYS}

    def set_hyperparameters(self, hyperparameters: Dict[str, Any]) -> None:
        check_keys(hyperparameters, self._KEYS, (), "Bias")
        if hyperparameters.get("real", True) is not True or hyperparameters.get("scalar", False) is not False:
            raise ValueError("MFKit's Bias is real and not scalar")
        if "init_magnitude" in hyperparameters:
            self.init_magnitude = finite_real(hyperparameters["init_magnitude"], "init_magnitude", positive=True)

    def get_params(self) -> Tuple[Optional[np.ndarray]]:
        return (self.bias,)

    def set_params(self, params: Tuple[np.ndarray, ...]) -> None:
        """Sets (b,): a real array."""
        if not isinstance(params, (tuple, list)) or len(params) != 1 or not isinstance(params[0], np.ndarray):
            raise ValueError("params must be a tuple of one numpy array")
        if params[0].dtype not in (np.float32, np.float64):
            raise ValueError("Parameter array 0 must be real-valued for a real module")
        if not np.all(np.isfinite(params[0])):
            raise ValueError("b must be finite (found NaN or infinity)")
        self.bias = frozen(params[0])

    def __call__(self, input_NF: np.ndarray, training: bool = False, state: Any = (), rng: Any = None):
        """(input_NF + b, state) for a real array input_NF (N,) + b.shape."""
        if not self.is_ready():
            raise ValueError("Module is not ready, call compile() first")
        if not isinstance(input_NF, np.ndarray) or input_NF.dtype.kind not in "fiu" or \
                input_NF.shape[1:] != self.bias.shape:
            raise TypeError(f"input_NF must be a real array of shape (N,) + {self.bias.shape}")
        return input_NF + self.bias, state

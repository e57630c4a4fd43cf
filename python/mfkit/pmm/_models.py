"""The eigenvalue and observable PMMs, with analytic value-and-gradient."""
from __future__ import annotations

import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _ffi
from . import _losses
from ._common import ModuleBase, check_keys, make_rng, real_features, shape_tuple, which_code
from ._eigen import Eigenvalues, Eigenvectors, _num_eig
from ._matrices import AffineHermitianMatrix, LowRankAffineHermitianMatrix
from ._observables import Bias, LowRankTransitionAmplitudeSum, TransitionAmplitudeSum, transition_sums

__all__ = ["AffineEigenvaluePMM", "LowRankAffineEigenvaluePMM", "AffineObservablePMM",
           "LowRankAffineObservablePMM", "AEPMM", "LRAEPMM", "AOPMM", "LRAOPMM"]

_MULTI_KEYS = ("modules", "parameter_counts", "state_counts", "input_shape", "output_shape")


class _PMM(ModuleBase):
    """A matrix module followed by an eigen module (and, for observables, transition sums and a
    bias): parametricmatrixmodels' MultiModule life cycle over `self.modules`."""

    _KEYS: Tuple[str, ...] = ()

    def __init__(self, **hyperparameters: Any) -> None:
        super().__init__()
        for key in self._KEYS:
            setattr(self, key, hyperparameters[key])
        self._params = {k: v for k, v in hyperparameters.items() if k not in self._KEYS}
        self.input_shape: Optional[Tuple[int, ...]] = None
        self.output_shape: Optional[Tuple[int, ...]] = None
        self.parameter_counts: Optional[list] = None
        self.state_counts: Optional[list] = None
        self._validate()
        self.modules = self._build(**self._params)

    def _validate(self) -> None:
        self.num_eig = _num_eig(self.num_eig, allow_none=isinstance(self, _ObservablePMM))
        which_code(self.which)
        if self.smoothing not in (None, 0.0) and "m" in self.which.lower():
            warnings.warn("Using smoothing with magnitude 'which' options may lead to unexpected behavior, as "
                          "the smoothing only guarantees that eigenvalues near each other algebraically are "
                          "smoothed, not across the spectrum.", UserWarning, stacklevel=3)
        if self.matrix_size is not None and self.num_eig is not None and self.num_eig > self.matrix_size:
            raise ValueError(f"num_eig ({self.num_eig}) cannot exceed matrix_size ({self.matrix_size})")

    # -- MultiModule life cycle ----------------------------------------------------------
    def __getitem__(self, index: int) -> Any:
        return self.modules[index]

    def name(self) -> str:
        width = len(str(len(self.modules) - 1))
        text = f"{type(self).__name__} as MultiModule("
        shape = self.input_shape
        for i, module in enumerate(self.modules):
            shape = module.get_output_shape(shape) if shape else None
            text += f"\n  ({i:>{width}}): {module}" + (f" -> {shape}" if shape else "")
        return text + "\n)"

    def is_ready(self) -> bool:
        return all(m.is_ready() for m in self.modules)

    def get_num_trainable_floats(self) -> Optional[int]:
        counts = [m.get_num_trainable_floats() for m in self.modules]
        return None if any(c is None for c in counts) else int(sum(counts))

    def compile(self, rng: Any, input_shape: Tuple[int, ...]) -> None:
        """Prepares the module for inputs of shape (num_features,): draws the parameters that were
        not given (complex64 / float32 of magnitude init_magnitude) from `rng` (an int seed or a
        numpy Generator) and records the shapes. Existing parameters are kept."""
        if self.num_eig is None:
            raise ValueError("num_eig must be set (a positive integer) before compile()")
        gen = make_rng(rng)
        shape = shape_tuple(input_shape)
        if len(shape) != 1:
            raise ValueError(f"Input shape must be 1D (num_features,), got {shape}")
        self.input_shape = shape
        for module in self.modules:
            module.compile(gen, shape)
            shape = module.get_output_shape(shape)
        self.output_shape = shape
        self.parameter_counts = [len(m.get_params()) for m in self.modules]
        self.state_counts = [0 for _ in self.modules]

    def get_output_shape(self, input_shape: Tuple[int, ...]) -> Tuple[int, ...]:
        shape = shape_tuple(input_shape)
        for module in self.modules:
            shape = module.get_output_shape(shape)
        return shape

    def get_params(self) -> Tuple[np.ndarray, ...]:
        """The children's parameters in order (the release's flat tuple)."""
        return tuple(p for m in self.modules for p in m.get_params())

    def set_params(self, params: Tuple[np.ndarray, ...]) -> None:
        """Sets the flat tuple of get_params() (each array copied, checked by its module)."""
        counts = [len(m.get_params()) for m in self.modules]
        if not isinstance(params, (tuple, list)) or len(params) != sum(counts):
            got = len(params) if isinstance(params, (tuple, list)) else type(params).__name__
            raise ValueError(f"Expected {sum(counts)} parameters, but got {got}.")
        start = 0
        for module, count in zip(self.modules, counts):
            if count:
                module.set_params(tuple(params[start:start + count]))
            start += count
        self._shape_children()

    def _shape_children(self) -> None:
        # the eigen module only records shapes: known once the matrix size and input are
        n = self.modules[0].matrix_size
        if self.input_shape is not None and n is not None:
            self.modules[1].compile(None, (n, n))

    def get_hyperparameters(self) -> Dict[str, Any]:
        own = {k: getattr(self, k) for k in self._KEYS}
        return {**own, "modules": self.modules, "parameter_counts": self.parameter_counts,
                "state_counts": self.state_counts, "input_shape": self.input_shape,
                "output_shape": self.output_shape}

    def set_hyperparameters(self, hyperparameters: Dict[str, Any]) -> None:
        """Sets the release's hyperparameters (the PMM's own keys are required; `modules` is
        ignored, the children are rebuilt from the others, without parameters)."""
        check_keys(hyperparameters, self._KEYS + _MULTI_KEYS, self._KEYS, type(self).__name__)
        for key in self._KEYS:
            setattr(self, key, hyperparameters[key])
        self._validate()
        shape = hyperparameters.get("input_shape")
        self.input_shape = None if shape is None else shape_tuple(shape)
        shape = hyperparameters.get("output_shape")
        self.output_shape = None if shape is None else shape_tuple(shape, "output_shape")
        self.parameter_counts = hyperparameters.get("parameter_counts")
        self.state_counts = hyperparameters.get("state_counts")
        self.modules = self._build()
        self._shape_children()

    def _restore(self, hyperparameters: Dict[str, Any], params: Tuple[Any, ...]) -> None:
        self.set_hyperparameters(hyperparameters)
        if params:
            self.set_params(tuple(params))

    def _plain_hyperparameters(self) -> Dict[str, Any]:
        h = super()._plain_hyperparameters()
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in h.items()}

    # -- forward and gradient ------------------------------------------------------------
    def _features(self, input_NF: Any) -> np.ndarray:
        if not self.is_ready():
            raise ValueError("Module is not ready, call compile() first")
        x = real_features(input_NF)
        p = self.modules[0]._num_matrices - (1 if self.modules[0].bias_term else 0)
        if x.shape[1] != p:
            raise ValueError(f"input_NF has {x.shape[1]} features per sample, but the module takes {p}")
        return x

    def _eigh(self, prepared: Any, x: np.ndarray, m: int, vectors: bool):
        n, k = self.modules[0].matrix_size, self.num_eig
        real = np.float32 if prepared.dtype == np.complex64 else np.float64
        w = np.empty((x.shape[0], m), real)
        v = np.empty((x.shape[0], n, m), prepared.dtype) if vectors else None
        if x.shape[0]:
            _ffi.call("mfkit_pmm_model_eigh", prepared.value, _ffi.describe(x, "input_NF"), k,
                      which_code(self.which), _ffi.describe(w, "values", True),
                      None if v is None else _ffi.describe(v, "vectors", True), function=type(self).__name__)
        return w, v

    def value_and_grad(self, X: np.ndarray, Y: Optional[np.ndarray] = None, loss_fn: Any = "mse",
                       Y_unc: Optional[np.ndarray] = None) -> Tuple[float, Tuple[np.ndarray, ...]]:
        """The loss of the module's output and its analytic gradient.

        Parameters
        ----------
        X : ndarray (N, p) float32/float64, the features.
        Y : ndarray, the targets, shaped like the output (N, ...).
        loss_fn : str or callable, one of the release's losses ('mse' (default), 'mae',
            'mse_unc', 'mae_unc', 'mre', 'mre_unc', 'mrd', 'mrd_unc', '*_unsupervised'), or
            `f(X, Y, Y_pred) -> (loss, dloss/dY_pred)`.
        Y_unc : ndarray, optional, the targets' uncertainties for the '*_unc' losses.

        Returns
        -------
        (loss, grads) : a float and a tuple shaped and typed like get_params(), complex entries
            in jax.grad's convention (dL/dRe - i dL/dIm), real ones dL/dp.

        Cost: one fused forward and eigensolve (eigenvectors of the selected columns only for the
        eigenvalue PMMs, all of them for the observable PMMs), then one product over the samples,
        O(N (p + k) n^2), and the parameter chain rule, O(q n^3) with smoothing.
        """
        x = self._features(X)
        return self._value_and_grad(x, Y, loss_fn, Y_unc)


class _EigenvaluePMM(_PMM):
    """out = the selected eigenvalues of M(x) (N, num_eig)."""

    def get_output_shape(self, input_shape: Tuple[int, ...]) -> Tuple[int, ...]:
        shape_tuple(input_shape)
        return (self.num_eig,)

    def __call__(self, input_NF: np.ndarray, training: bool = False, state: Any = (), rng: Any = None):
        """(eigenvalues (N, num_eig), state): M(x) formed and decomposed sample by sample in the
        library (never held for the whole batch). Time O(N (p n^2 + (16/3) n^3)). `rng` may be
        None (the release needs a key)."""
        x = self._features(input_NF)
        w, _ = self._eigh(self.modules[0]._prepared(), x, self.num_eig, False)
        return w, state

    def _value_and_grad(self, x, Y, loss_fn, Y_unc):
        prepared = self.modules[0]._prepared()
        w, v = self._eigh(prepared, x, self.num_eig, True)
        loss, cot = _losses.evaluate(loss_fn, x, Y, Y_unc, w)
        return loss, prepared.gradient(_feature_sum(x, v, cot, prepared.dtype))


def _feature_sum(x: np.ndarray, vectors: np.ndarray, weights: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """mfkit_pmm_feature_sum: [sum_s G_s, sum_s x_si G_s], G_s = V_s W_s V_s^H."""
    n = vectors.shape[1]
    sums = np.zeros((x.shape[1] + 1, n, n), dtype)
    if x.shape[0]:
        _ffi.call("mfkit_pmm_feature_sum", _ffi.describe(x, "X"), _ffi.describe(vectors, "vectors"),
                  _ffi.describe(weights, "weights"), _ffi.describe(sums, "sums", True), function="value_and_grad")
    return sums


class AffineEigenvaluePMM(_EigenvaluePMM):
    """AffineHermitianMatrix -> Eigenvalues: the selected eigenvalues of
    M(x) = M_0 + sum_i x_i M_i + s C (parametricmatrixmodels' AffineEigenvaluePMM).

    Parameters
    ----------
    matrix_size : int, n. num_eig : int, k (default 1). which : str (default 'SA').
    smoothing : float or None (None stays None in the hyperparameters). Ms : optional complex
        (q, n, n) Hermitian. init_magnitude : float (default 0.01). bias_term : bool (default True).

    Output (N, k) real of the parameters' precision; params (Ms,); get_num_trainable_floats() = Ms.size.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import pmm
    >>> m = pmm.AffineEigenvaluePMM(matrix_size=4, num_eig=2)
    >>> m.compile(0, (3,))
    >>> out, _ = m(np.ones((5, 3)))
    >>> out.shape, out.dtype
    ((5, 2), dtype('float32'))
    >>> loss, (g,) = m.value_and_grad(np.ones((5, 3)), np.zeros((5, 2)))
    >>> g.shape, g.dtype
    ((4, 4, 4), dtype('complex64'))
    """

    _KEYS = ("matrix_size", "num_eig", "which", "smoothing", "init_magnitude", "bias_term")

    def __init__(self, matrix_size: Optional[int] = None, num_eig: int = 1, which: str = "SA",
                 smoothing: Optional[float] = None, Ms: Optional[np.ndarray] = None,
                 init_magnitude: float = 0.01, bias_term: bool = True) -> None:
        super().__init__(matrix_size=matrix_size, num_eig=num_eig, which=which, smoothing=smoothing, Ms=Ms,
                         init_magnitude=init_magnitude, bias_term=bias_term)

    def _build(self, Ms: Optional[np.ndarray] = None):
        return (AffineHermitianMatrix(matrix_size=self.matrix_size, smoothing=self.smoothing, Ms=Ms,
                                      init_magnitude=self.init_magnitude, bias_term=self.bias_term, flatten=False),
                Eigenvalues(num_eig=self.num_eig, which=self.which))


class LowRankAffineEigenvaluePMM(_EigenvaluePMM):
    """LowRankAffineHermitianMatrix -> Eigenvalues (parametricmatrixmodels' LowRankAffineEigenvaluePMM):
    M_i = sum_r lambdas[i, r] us[i, r] us[i, r]^H. params (lambdas (q, rank) real, us (q, rank, n)
    complex); trainable floats lambdas.size + 2 us.size. Other arguments as AffineEigenvaluePMM.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import pmm
    >>> m = pmm.LowRankAffineEigenvaluePMM(matrix_size=4, rank=2, num_eig=1)
    >>> m.compile(1, (2,))
    >>> [p.shape for p in m.get_params()]
    [(3, 2), (3, 2, 4)]
    """

    _KEYS = ("matrix_size", "rank", "num_eig", "which", "smoothing", "init_magnitude", "bias_term")

    def __init__(self, matrix_size: Optional[int] = None, rank: Optional[int] = None, num_eig: int = 1,
                 which: str = "SA", smoothing: Optional[float] = None, lambdas: Optional[np.ndarray] = None,
                 us: Optional[np.ndarray] = None, init_magnitude: float = 0.01, bias_term: bool = True) -> None:
        super().__init__(matrix_size=matrix_size, rank=rank, num_eig=num_eig, which=which, smoothing=smoothing,
                         lambdas=lambdas, us=us, init_magnitude=init_magnitude, bias_term=bias_term)

    def _build(self, lambdas: Optional[np.ndarray] = None, us: Optional[np.ndarray] = None):
        return (LowRankAffineHermitianMatrix(matrix_size=self.matrix_size, rank=self.rank, smoothing=self.smoothing,
                                             lambdas=lambdas, us=us, init_magnitude=self.init_magnitude,
                                             bias_term=self.bias_term, flatten=False),
                Eigenvalues(num_eig=self.num_eig, which=self.which))


class _ObservablePMM(_PMM):
    """out = transition sums of the selected eigenvectors of M(x) (+ b): (N, output_size)."""

    def _validate(self) -> None:
        if self.which is None:
            self.which = "LM" if self.smoothing in (None, 0.0) else "SA"
        super()._validate()

    def _observables(self):
        return self.modules[2]

    def _forward(self, x: np.ndarray, prepared: Any, cotangent_fn=None):
        n, k = self.modules[0].matrix_size, self.num_eig
        w, v = self._eigh(prepared, x, n, True)
        obs = self._observables()
        ds = obs._matrices()
        real = np.float32 if prepared.dtype == np.complex64 else np.float64
        out = np.empty((x.shape[0], obs.output_size), real)
        if x.shape[0]:
            transition_sums(w, v, k, ds, obs.centered, out=out)
        if self.bias_term:
            out += self.modules[3].bias.astype(real)
        return out, w, v, ds

    def __call__(self, input_NF: np.ndarray, training: bool = False, state: Any = (), rng: Any = None):
        """(observables (N, output_size), state). Time O(N (p n^2 + n^3 + o l n^3))."""
        x = self._features(input_NF)
        out, *_ = self._forward(x, self.modules[0]._prepared())
        return out, state

    def _value_and_grad(self, x, Y, loss_fn, Y_unc):
        prepared = self.modules[0]._prepared()
        out, w, v, ds = self._forward(x, prepared)
        loss, cot = _losses.evaluate(loss_fn, x, Y, Y_unc, out)
        obs = self._observables()
        N, n = v.shape[:2]
        weights = np.zeros((N, n, n), prepared.dtype)
        sens = np.zeros(ds.shape, ds.dtype)
        if N:
            transition_sums(w, v, self.num_eig, ds, obs.centered, cotangent=cot, weights=weights, ds_sensitivity=sens)
        grads = prepared.gradient(_feature_sum(x, v, weights, prepared.dtype)) + obs._gradient(sens)
        if self.bias_term:
            b = self.modules[3].bias
            grads += (cot.sum(axis=0).astype(b.dtype),)
        return loss, grads


class AffineObservablePMM(_ObservablePMM):
    """AffineHermitianMatrix -> Eigenvectors -> TransitionAmplitudeSum -> Bias
    (parametricmatrixmodels' AffineObservablePMM):
    z_c = sum_l [sum_{i,j<k} |v_i^H D_cl v_j|^2 - 1/2 ||D_cl||_2^2 (centered)] + b_c.

    Parameters
    ----------
    matrix_size, num_eig (required in practice), which (None: 'LM' without smoothing, 'SA' with),
    smoothing, affine_bias_matrix (M_0, default True), num_secondaries (l, default 1),
    output_size (o), centered (default True), bias_term (b, default True), Ms, Ds, b,
    init_magnitude (0.01): the release's arguments and defaults.

    params (Ms (q, n, n), Ds (o, l, n, n), [b (o,)]). The output depends on the projector on the
    selected eigenvectors only, so it is phase-free.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import pmm
    >>> m = pmm.AffineObservablePMM(matrix_size=4, num_eig=2, output_size=3)
    >>> m.compile(0, (2,))
    >>> m(np.ones((5, 2)))[0].shape
    (5, 3)
    """

    _KEYS = ("matrix_size", "num_eig", "which", "smoothing", "init_magnitude", "affine_bias_matrix",
             "num_secondaries", "output_size", "centered", "bias_term")

    def __init__(self, matrix_size: Optional[int] = None, num_eig: Optional[int] = None, which: Optional[str] = None,
                 smoothing: Optional[float] = None, affine_bias_matrix: bool = True, num_secondaries: int = 1,
                 output_size: Optional[int] = None, centered: bool = True, bias_term: bool = True,
                 Ms: Optional[np.ndarray] = None, Ds: Optional[np.ndarray] = None, b: Optional[np.ndarray] = None,
                 init_magnitude: float = 0.01) -> None:
        super().__init__(matrix_size=matrix_size, num_eig=num_eig, which=which, smoothing=smoothing,
                         affine_bias_matrix=affine_bias_matrix, num_secondaries=num_secondaries,
                         output_size=output_size, centered=centered, bias_term=bias_term, Ms=Ms, Ds=Ds, b=b,
                         init_magnitude=init_magnitude)

    def _build(self, Ms: Optional[np.ndarray] = None, Ds: Optional[np.ndarray] = None, b: Optional[np.ndarray] = None):
        modules = (AffineHermitianMatrix(matrix_size=self.matrix_size, smoothing=self.smoothing, Ms=Ms,
                                         init_magnitude=self.init_magnitude, bias_term=self.affine_bias_matrix,
                                         flatten=False),
                   Eigenvectors(num_eig=self.num_eig, which=self.which),
                   TransitionAmplitudeSum(num_observables=self.num_secondaries, output_size=self.output_size,
                                          Ds=Ds, init_magnitude=self.init_magnitude, centered=self.centered))
        if self.bias_term:
            modules += (Bias(bias=b, init_magnitude=self.init_magnitude),)
        return modules


class LowRankAffineObservablePMM(_ObservablePMM):
    """LowRankAffineHermitianMatrix -> Eigenvectors -> LowRankTransitionAmplitudeSum -> Bias
    (parametricmatrixmodels' LowRankAffineObservablePMM): D_cl = sum_h lambdaDs[c, l, h]
    uDs[c, l, h] uDs[c, l, h]^H; otherwise as AffineObservablePMM.

    params (lambdaMs (q, primary_rank), uMs (q, primary_rank, n), lambdaDs (o, l, secondary_rank),
    uDs (o, l, secondary_rank, n), [b (o,)]).

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import pmm
    >>> m = pmm.LowRankAffineObservablePMM(matrix_size=4, primary_rank=2, num_eig=1, secondary_rank=2, output_size=2)
    >>> m.compile(0, (3,))
    >>> len(m.get_params())
    5
    """

    _KEYS = ("matrix_size", "primary_rank", "num_eig", "which", "smoothing", "init_magnitude",
             "affine_bias_matrix", "num_secondaries", "secondary_rank", "output_size", "centered", "bias_term")

    def __init__(self, matrix_size: Optional[int] = None, primary_rank: Optional[int] = None,
                 num_eig: Optional[int] = None, which: Optional[str] = None, smoothing: Optional[float] = None,
                 affine_bias_matrix: bool = True, num_secondaries: int = 1, secondary_rank: Optional[int] = None,
                 output_size: Optional[int] = None, centered: bool = True, bias_term: bool = True,
                 lambdaMs: Optional[np.ndarray] = None, uMs: Optional[np.ndarray] = None,
                 lambdaDs: Optional[np.ndarray] = None, uDs: Optional[np.ndarray] = None,
                 b: Optional[np.ndarray] = None, init_magnitude: float = 0.01) -> None:
        super().__init__(matrix_size=matrix_size, primary_rank=primary_rank, num_eig=num_eig, which=which,
                         smoothing=smoothing, affine_bias_matrix=affine_bias_matrix, num_secondaries=num_secondaries,
                         secondary_rank=secondary_rank, output_size=output_size, centered=centered,
                         bias_term=bias_term, lambdaMs=lambdaMs, uMs=uMs, lambdaDs=lambdaDs, uDs=uDs, b=b,
                         init_magnitude=init_magnitude)

    def _build(self, lambdaMs=None, uMs=None, lambdaDs=None, uDs=None, b=None):
        modules = (LowRankAffineHermitianMatrix(matrix_size=self.matrix_size, rank=self.primary_rank,
                                                smoothing=self.smoothing, lambdas=lambdaMs, us=uMs,
                                                init_magnitude=self.init_magnitude,
                                                bias_term=self.affine_bias_matrix, flatten=False),
                   Eigenvectors(num_eig=self.num_eig, which=self.which),
                   LowRankTransitionAmplitudeSum(rank=self.secondary_rank, num_observables=self.num_secondaries,
                                                 output_size=self.output_size, lambdas=lambdaDs, us=uDs,
                                                 init_magnitude=self.init_magnitude, centered=self.centered))
        if self.bias_term:
            modules += (Bias(bias=b, init_magnitude=self.init_magnitude),)
        return modules


AEPMM = AffineEigenvaluePMM
LRAEPMM = LowRankAffineEigenvaluePMM
AOPMM = AffineObservablePMM
LRAOPMM = LowRankAffineObservablePMM

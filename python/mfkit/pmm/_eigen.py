"""The eigen modules: Eigenvalues, Eigenvectors, Eigensystem of a batch of Hermitian matrices."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _args, _ffi
from ._common import ModuleBase, check_keys, which_code

__all__ = ["Eigenvalues", "Eigenvectors", "Eigensystem", "eigh"]


def eigh(a: np.ndarray, num_eig: int, which: str = "SA", *, num_columns: Optional[int] = None,
         values: bool = True, vectors: bool = True) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """Selected eigenpairs of a batch of Hermitian matrices (MFKit's batched eigensolver).

    Parameters
    ----------
    a : ndarray (N, n, n), complex64 or complex128 (any strides; float arrays are converted to
        complex128, float32 to complex64). Only the Hermitian part (A + A^H)/2 is used.
    num_eig : int, k, 1 <= k <= n.
    which : str, the selection ('SA', 'LA', 'SM', 'LM', 'EA', 'EM', 'IA', 'IM'; any case).
    num_columns : int, optional, m >= k columns: the k selected pairs first, then unselected
        ones in ascending order (m = n: the whole eigensystem). Default k.
    values, vectors : bool, which outputs to compute.

    Returns
    -------
    (values (N, m) real of a's precision or None, vectors (N, n, m) of a's dtype or None).
    Column c of `vectors` belongs to values[:, c]; its first component is real and >= 0.

    Raises
    ------
    ValueError, TypeError : bad shapes, dtypes or arguments.

    Cost: for n <= 64, O(N ((16/3) n^3 + 4 m n^2)) real operations, 4 (complex128) or 8
    (complex64) matrices per SIMD instruction, over mfkit.num_threads() threads; larger matrices
    go to LAPACK's heevd one at a time (about 9 n^3 each), the batch over the threads.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import pmm
    >>> a = np.array([[[2, 1j], [-1j, 2]]])
    >>> w, v = pmm.eigh(a, 2)
    >>> w
    array([[1., 3.]])
    """
    a = _complex_batch(a, "a")
    N, n, _ = a.shape
    m = num_eig if num_columns is None else num_columns
    if isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, np.integer)):
        raise TypeError("eigh: num_columns must be an integer")
    if isinstance(num_eig, (bool, np.bool_)) or not isinstance(num_eig, (int, np.integer)):
        raise TypeError("eigh: num_eig must be an integer")
    code = which_code(which)
    if not 1 <= num_eig <= m <= n:
        raise ValueError(f"eigh: need 1 <= num_eig <= num_columns <= n = {n}, got num_eig={num_eig}, num_columns={m}")
    real = np.float32 if a.dtype == np.complex64 else np.float64
    w = np.empty((N, m), real) if values else None
    v = np.empty((N, n, m), a.dtype) if vectors else None
    if N and (values or vectors):
        _ffi.call("mfkit_pmm_eigh", _ffi.describe(a, "a"), int(num_eig), code,
                  None if w is None else _ffi.describe(w, "values", writable=True),
                  None if v is None else _ffi.describe(v, "vectors", writable=True), function="eigh")
    return w, v


def _complex_batch(a: Any, name: str) -> np.ndarray:
    a = _args.array(a, name, "__call__", dtypes=_args.COMPLEX + _args.REAL)
    if a.dtype == np.float32:
        a = a.astype(np.complex64)
    elif a.dtype.kind in "biuf":
        a = a.astype(np.complex128)
    if a.dtype not in (np.complex64, np.complex128):
        raise TypeError(f"{name} must be complex64 or complex128 (or real), got {a.dtype}")
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"{name} must be a batch of square matrices (N, n, n), got shape {a.shape}")
    return a


def _num_eig(num_eig: Any, allow_none: bool = False) -> Optional[int]:
    if num_eig is None and allow_none:
        return None
    try:
        return _args.integer(num_eig, "num_eig", "num_eig", minimum=1)
    except (TypeError, ValueError):
        raise ValueError(f"num_eig must be a positive integer, got {num_eig}") from None


class _EigenBase(ModuleBase):
    """Shared by the three eigen modules (no parameters; `which` stored lower-case)."""

    _KIND = ""
    _ALLOW_NONE = False

    def __init__(self, num_eig: Optional[int] = 1, which: str = "SA") -> None:
        super().__init__()
        self.num_eig = _num_eig(num_eig, self._ALLOW_NONE)
        which_code(which)
        self.which = which.lower()
        self.input_shape: Optional[Tuple[int, int]] = None
        self.output_shape: Optional[Tuple[int, ...]] = None

    def name(self) -> str:
        """'<Kind>(ground state)' for one 'SA' eigenvalue, else '<Kind>(num_eig=k, which=XX)'."""
        if self.num_eig == 1 and self.which == "sa":
            return f"{self._KIND}(ground state)"
        return f"{self._KIND}(num_eig={self.num_eig}, which={self.which.upper()})"

    def get_num_trainable_floats(self) -> int:
        return 0

    def get_params(self) -> Tuple[()]:
        return ()

    def set_params(self, params: Tuple[Any, ...]) -> None:
        """The eigen modules have no parameters (accepted and ignored, as in the release)."""
        return

    def _square(self, input_shape: Any) -> Tuple[int, int]:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 2 or input_shape[0] != input_shape[1]:
            raise ValueError(f"Input shape must be a square matrix, got {input_shape}")
        return (int(input_shape[0]), int(input_shape[1]))

    def compile(self, rng: Any, input_shape: Tuple[int, int]) -> None:
        """Checks that inputs are (n, n) matrices and records the shapes."""
        shape = self._square(input_shape)
        self.input_shape = shape
        self.output_shape = self.get_output_shape(shape)

    def is_ready(self) -> bool:
        return self.input_shape is not None and self.output_shape is not None

    def get_hyperparameters(self) -> Dict[str, Any]:
        return {"num_eig": self.num_eig, "which": self.which, "input_shape": self.input_shape,
                "output_shape": self.output_shape}

    def set_hyperparameters(self, hyperparameters: Dict[str, Any]) -> None:
        """Sets num_eig, which (and the recorded shapes) from a dict."""
        keys = ("num_eig", "which", "input_shape", "output_shape")
        check_keys(hyperparameters, keys, (), type(self).__name__)
        h = self.get_hyperparameters()
        h.update(hyperparameters)
        self.num_eig = _num_eig(h["num_eig"], self._ALLOW_NONE)
        which_code(h["which"])
        self.which = str(h["which"]).lower()
        self.input_shape = None if h["input_shape"] is None else tuple(h["input_shape"])
        self.output_shape = None if h["output_shape"] is None else tuple(h["output_shape"])

    def _solve(self, input_NF: Any, values: bool, vectors: bool):
        if not self.is_ready():
            raise ValueError("Module is not ready, call compile() first")
        a = _complex_batch(input_NF, "input_NF")
        k = a.shape[1] if self.num_eig is None else self.num_eig
        return eigh(a, k, self.which, values=values, vectors=vectors)


class Eigenvalues(_EigenBase):
    """The selected eigenvalues of each Hermitian matrix of a batch (parametricmatrixmodels'
    Eigenvalues): (N, n, n) -> (N, num_eig) real, of the input's precision.

    Parameters
    ----------
    num_eig : int, k (default 1); at most n (ValueError otherwise, where the release returns n
        columns).
    which : str, 'SA' (default), 'LA', 'SM', 'LM', 'EA', 'EM', 'IA' or 'IM' (any case; stored
        lower-case), the selection and order of the release (see `mfkit.pmm`).

    Cost: O(N ((16/3) n^3 + 4 k n^2)) (the batched eigensolver, eigenvalues only).

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import pmm
    >>> m = pmm.Eigenvalues(num_eig=2, which="LA")
    >>> m.compile(0, (3, 3))
    >>> out, state = m(np.diag([3.0, 1.0, 2.0])[None].astype(np.complex128))
    >>> out
    array([[2., 3.]])
    """

    _KIND = "Eigenvalues"

    def is_ready(self) -> bool:
        return True

    def compile(self, rng: Any, input_shape: Tuple[int, int]) -> None:
        """Checks that inputs are (n, n) matrices."""
        self._square(input_shape)

    def get_output_shape(self, input_shape: Tuple[int, int]) -> Tuple[int]:
        return (self.num_eig,)

    def get_hyperparameters(self) -> Dict[str, Any]:
        return {"num_eig": self.num_eig, "which": self.which}

    def set_hyperparameters(self, hyperparameters: Dict[str, Any]) -> None:
        """Sets num_eig and which from a dict."""
        check_keys(hyperparameters, ("num_eig", "which"), (), "Eigenvalues")
        h = self.get_hyperparameters()
        h.update(hyperparameters)
        self.num_eig = _num_eig(h["num_eig"])
        which_code(h["which"])
        self.which = str(h["which"]).lower()

    def __call__(self, input_NF: Any, training: bool = False, state: Any = (), rng: Any = None):
        """(eigenvalues (N, num_eig), state) for input_NF (N, n, n)."""
        w, _ = self._solve(input_NF, True, False)
        return w, state


class Eigenvectors(_EigenBase):
    """The eigenvectors of the selected eigenvalues (parametricmatrixmodels' Eigenvectors):
    (N, n, n) -> (N, n, num_eig) complex, column j the eigenvector of the j-th selected
    eigenvalue. The release does not fix the phase; MFKit returns unit vectors whose first
    component is real and >= 0 (LAPACK's heevd gives it real, of either sign). Compare
    projectors v v^H. num_eig=None selects all n (only with 'SA'-like orders, as the release).

    Cost: O(N ((16/3) n^3 + 4 k n^2)) (the batched eigensolver).

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import pmm
    >>> m = pmm.Eigenvectors(num_eig=1)
    >>> m.compile(0, (2, 2))
    >>> v, _ = m(np.array([[[2.0, 1.0], [1.0, 2.0]]]))
    >>> np.round(np.abs(v[0, :, 0]) ** 2, 6)
    array([0.5, 0.5])
    """

    _KIND = "Eigenvectors"
    _ALLOW_NONE = True

    def get_output_shape(self, input_shape: Tuple[int, int]) -> Tuple[int, int]:
        n = self._square(input_shape)[0]
        return (n, self.num_eig)

    def __call__(self, input_NF: Any, training: bool = False, state: Any = (), rng: Any = None):
        """(eigenvectors (N, n, num_eig), state) for input_NF (N, n, n)."""
        _, v = self._solve(input_NF, False, True)
        return v, state


class Eigensystem(_EigenBase):
    """Eigenvalues and eigenvectors together in the release's documented layout:
    (N, n, n) -> (N, n + 1, num_eig) complex, row 0 the selected eigenvalues, rows 1..n their
    eigenvectors (as Eigenvectors). (The release's own call raises ValueError; this is the
    layout its docstring and get_output_shape describe.)

    Cost: as Eigenvectors.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import pmm
    >>> m = pmm.Eigensystem(num_eig=2)
    >>> m.compile(0, (2, 2))
    >>> out, _ = m(np.diag([1.0, 4.0])[None])
    >>> out.shape, out[0, 0].real
    ((1, 3, 2), array([1., 4.]))
    """

    _KIND = "Eigensystem"

    def get_output_shape(self, input_shape: Tuple[int, int]) -> Tuple[int, int]:
        n = self._square(input_shape)[0]
        return (n + 1, self.num_eig)

    def __call__(self, input_NF: Any, training: bool = False, state: Any = (), rng: Any = None):
        """((N, n + 1, num_eig) complex, state) for input_NF (N, n, n)."""
        w, v = self._solve(input_NF, True, True)
        return np.concatenate([w[:, None, :].astype(v.dtype), v], axis=1), state

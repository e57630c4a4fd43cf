"""Sensitivity of dense matrix-factorization strategies under multiple participations.

Names, arguments, defaults, checks and error messages follow
`jax_privacy.matrix_factorization.sensitivity`; the work is done by libmfkit.so in float64
on arrays of any strides (float32 and float64 arrays, torch CPU tensors and JAX CPU arrays are
read in place; integer and bool arrays and nested lists are converted to float64 first).

    >>> import numpy as np
    >>> from mfkit import sensitivity
    >>> C = np.tri(4)                        # prefix sums as the strategy
    >>> sensitivity.single_participation_sensitivity(C)
    2.0
    >>> sensitivity.get_min_sep_sensitivity_upper_bound(C, min_sep=2)  # doctest: +ELLIPSIS
    3.16...

Notation as in jax_privacy: C (r x n, r rows) the encoder (strategy), X = C^T C its Gram matrix,
n steps. A participation pattern is a set of steps i_1 < i_2 < ... with
i_{m+1} - i_m >= min_sep (min_sep = 1 allows adjacent steps), at most max_participations
of them (None: as many as n and min_sep allow).

Differences on purpose: results are Python floats (ints for
minsep_true_max_participations); min_sep < 1 and non-finite x raise ValueError (jax_privacy
divides by zero or propagates NaN); X formed from C by MFKit is exactly symmetric;
`get_sensitivity_banded(C)` never forms X (it tests orthogonality only for far-apart
columns whose supports overlap) and `fixed_epoch_sensitivity(C)` forms only the entries of
X it needs.
"""
from __future__ import annotations

import ctypes
from typing import Any, Dict, Optional

import numpy as np
import numpy.typing as npt

from . import _args, _ffi

__all__ = [
    "single_participation_sensitivity",
    "minsep_true_max_participations",
    "max_participation_for_linear_fn",
    "banded_lower_triangular_mask",
    "banded_symmetric_mask",
    "get_min_sep_sensitivity_upper_bound_for_X",
    "get_min_sep_sensitivity_upper_bound",
    "get_sensitivity_banded_for_X",
    "get_sensitivity_banded",
    "fixed_epoch_sensitivity_for_X",
    "fixed_epoch_sensitivity",
]


# ---------------------------------------------------------------- arguments and checks
# The library checks every matrix (C: finite, lower-triangular up to np.allclose when square;
# X: finite, square, symmetric up to np.allclose) with jax_privacy's wording; its messages
# are completed here as jax_privacy prints them: the offending matrix follows ", found".
_DUMPED = ("is not finite", "should be lower-triangular", "should be square", "should be symmetric")


def _call(function: str, name: str, matrices: Dict[str, np.ndarray], *args: Any) -> None:
    """_ffi.call with the library's message as jax_privacy words it (no function prefix); a
    failed matrix check names the matrix the caller passed, as jax_privacy prints it."""
    try:
        _ffi.call(name, *args)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        for letter, M in matrices.items():
            if any(message == f"Matrix {letter} {what}" for what in _DUMPED):
                raise type(exc)(f"{message}, found\n{M}") from None
        raise


def _cap(max_participations: Any, function: str) -> Any:
    """A pointer to the participation cap, or None (NULL) for no cap."""
    if max_participations is None:
        return None
    return ctypes.byref(ctypes.c_int64(_args.integer(max_participations, "max_participations", function)))


def _real(M: Any, name: str, function: str) -> np.ndarray:
    """M as a float32 / float64 array: read in place for those dtypes (NumPy, torch CPU, JAX
    CPU), converted to float64 for integer and bool arrays and (nested) lists."""
    return _args.array(M, name, function, scalars=True, sequences=True)


def _scalar(name: str, function: str, matrices: Dict[str, np.ndarray], *args: Any) -> float:
    out = ctypes.c_double()
    _call(function, name, matrices, *args, ctypes.byref(out))
    return float(out.value)


# ---------------------------------------------------------------- participation patterns
def minsep_true_max_participations(n: int, min_sep: int, max_participations: Optional[int] = None) -> int:
    """The largest number of participations possible: ceil(n / min_sep), capped at
    max_participations when given (which may then be smaller than the cap).

    Cost: O(1).

    Parameters
    ----------
    n : int
        The number of rounds (>= 0).
    min_sep : int
        The minimum separation between participations (>= 1); 1 allows adjacent rounds.
    max_participations : int, optional
        A cap on the count.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        n < 0, min_sep < 1, or an integer beyond 64 bits.
    TypeError
        An argument is not an integer.

    Examples
    --------
    >>> from mfkit import sensitivity
    >>> sensitivity.minsep_true_max_participations(10, 3), sensitivity.minsep_true_max_participations(10, 3, 2)
    (4, 2)
    """
    function = "minsep_true_max_participations"
    out = ctypes.c_int64()
    _call(function, "mfkit_sens_minsep_true_max_participations", {},
          _args.integer(n, "n", function), _args.integer(min_sep, "min_sep", function),
          _cap(max_participations, function), ctypes.byref(out))
    return int(out.value)


def max_participation_for_linear_fn(x: npt.ArrayLike, min_sep: int = 1, max_participations: Optional[int] = None
                                    ) -> float:
    """max_u <x, u> over 0/1 vectors u whose ones respect min_sep and max_participations
    (the signs of x matter; the empty pattern counts, so the result is >= 0).

    Dynamic program of Choquette-Choo et al. (2023), Algorithm 3 (VecSens).

    Cost: time O(len(x) k) for the capped count k (stopping once the table stops changing),
    O(len(x)) when the cap does not bind, for min_sep = 1 O(len(x)) (k <= 64) or
    O(len(x) log len(x)); memory O(len(x)).

    Parameters
    ----------
    x : 1-D real array or list
        Finite values.
    min_sep : int
        Minimum separation between selected indices (>= 1).
    max_participations : int, optional
        The maximum number of participations.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        x not one-dimensional or not finite; min_sep < 1; an integer beyond 64 bits.
    TypeError
        x is not real numbers; min_sep or max_participations is not an integer.
    MemoryError
        x (e.g. a broadcast view of huge length) cannot be copied.

    Examples
    --------
    >>> from mfkit import sensitivity
    >>> sensitivity.max_participation_for_linear_fn([3, -1, 2, 5], min_sep=2)
    8.0
    """
    function = "max_participation_for_linear_fn"
    x = _real(x, "x", function)
    return _scalar("mfkit_sens_max_participation_for_linear_fn", function, {},
                   _ffi.describe(x, "x"), _args.integer(min_sep, "min_sep", function),
                   _cap(max_participations, function))


def _band_mask(n: Any, num_bands: Any, symmetric: bool, function: str) -> np.ndarray:
    """The n x n int32 {0, 1} matrix with ones where 0 <= i - j < num_bands (and, when
    symmetric, where 0 <= j - i < num_bands). Writes only the bands: time O(n num_bands)
    beyond the zeroed n x n result (no dense temporaries)."""
    n = _args.integer(n, "n", function)
    num_bands = _args.integer(num_bands, "num_bands", function)
    if num_bands < 1:
        raise ValueError(f"num_bands must be >= 0, found {num_bands}")
    if n < 0:
        raise ValueError(f"{function}: n must be non-negative, got {n}")
    if n * n > 2**60:
        raise ValueError(f"{function}: n={n} is too large (an n x n mask would have {n * n} entries)")
    mask = np.zeros((n, n), dtype=np.int32)
    for r in range(min(num_bands, n)):
        i = np.arange(n - r)
        mask[i + r, i] = 1
        if symmetric:
            mask[i, i + r] = 1
    return mask


def banded_lower_triangular_mask(n: int, num_bands: int) -> np.ndarray:
    """The n x n lower-triangular {0, 1} int32 matrix with num_bands bands of ones.

    Cost: time O(n num_bands) plus zeroing the result; memory: the result.

    Parameters
    ----------
    n : int
        The size (>= 0).
    num_bands : int
        The number of bands (>= 1).

    Returns
    -------
    numpy.ndarray
        int32, shape (n, n).

    Raises
    ------
    ValueError
        num_bands < 1, n < 0, n too large, or an integer beyond 64 bits.
    TypeError
        n or num_bands is not an integer.

    Examples
    --------
    >>> from mfkit import sensitivity
    >>> sensitivity.banded_lower_triangular_mask(3, 2)
    array([[1, 0, 0],
           [1, 1, 0],
           [0, 1, 1]], dtype=int32)
    """
    return _band_mask(n, num_bands, False, "banded_lower_triangular_mask")


def banded_symmetric_mask(n: int, num_bands: int) -> np.ndarray:
    """The n x n symmetric {0, 1} int32 matrix with 2 num_bands - 1 bands of ones.

    Cost: time O(n num_bands) plus zeroing the result; memory: the result.

    Parameters
    ----------
    n : int
        The size (>= 0).
    num_bands : int
        The number of bands on each side, the diagonal included (>= 1).

    Returns
    -------
    numpy.ndarray
        int32, shape (n, n).

    Raises
    ------
    ValueError
        num_bands < 1, n < 0, n too large, or an integer beyond 64 bits.
    TypeError
        n or num_bands is not an integer.

    Examples
    --------
    >>> from mfkit import sensitivity
    >>> sensitivity.banded_symmetric_mask(3, 2)
    array([[1, 1, 0],
           [1, 1, 1],
           [0, 1, 1]], dtype=int32)
    """
    return _band_mask(n, num_bands, True, "banded_symmetric_mask")


# ---------------------------------------------------------------- sensitivities
def single_participation_sensitivity(C: npt.ArrayLike) -> float:
    """max_j ||C[:, j]||_2, the sensitivity of C when a user participates once.

    Cost: time O(r n) over the cores; memory O(n).

    Parameters
    ----------
    C : 2-D real array (r, n)
        The encoder; finite, lower-triangular when square.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        C not two-dimensional, not finite, or square and not lower-triangular.
    TypeError
        C is not real numbers.
    MemoryError
        The column norms of C cannot be allocated.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import sensitivity
    >>> sensitivity.single_participation_sensitivity(np.tri(4))
    2.0
    """
    function = "single_participation_sensitivity"
    C = _real(C, "C", function)
    return _scalar("mfkit_sens_single_participation", function, {"C": C}, _ffi.describe(C, "C"))


def get_min_sep_sensitivity_upper_bound_for_X(X: npt.ArrayLike, min_sep: int = 1,
                                              max_participations: Optional[int] = None) -> float:
    """An upper bound on the min_sep sensitivity of X = C^T C, valid for any X.

    For every row of |X| the best participation pattern's sum v_i, then the best pattern's
    sum over v, square root. Never below get_sensitivity_banded_for_X; equal to it for a
    diagonal X and often for a min_sep-banded one (jax_privacy's docstring says always, but
    a row of |X| may pick two entries of its band: the tests show a case).

    Cost: time O(n^2 k) at most: O(n^2) when max_participations does not bind, O(n^2) to
    O(n^2 log n) for min_sep = 1; rows over the cores, memory O(n) per core.

    Parameters
    ----------
    X : 2-D real array (n, n)
        The Gram matrix C.T @ C (finite, square, symmetric).
    min_sep : int
        Minimum separation between participations (>= 1).
    max_participations : int, optional
        Maximum number of participations.

    Returns
    -------
    float
        The L2 sensitivity bound.

    Raises
    ------
    ValueError
        X not finite, square or symmetric; min_sep < 1; an integer beyond 64 bits.
    TypeError
        X is not real numbers; an integer argument is not an integer.
    MemoryError
        The work space cannot be allocated.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import sensitivity
    >>> sensitivity.get_min_sep_sensitivity_upper_bound_for_X(np.eye(4), min_sep=2)
    1.4142135623730951
    """
    function = "get_min_sep_sensitivity_upper_bound_for_X"
    X = _real(X, "X", function)
    return _scalar("mfkit_sens_min_sep_upper_bound_for_x", function, {"X": X}, _ffi.describe(X, "X"),
                   _args.integer(min_sep, "min_sep", function), _cap(max_participations, function))


def get_min_sep_sensitivity_upper_bound(C: npt.ArrayLike, min_sep: int = 1,
                                        max_participations: Optional[int] = None) -> float:
    """Like get_min_sep_sensitivity_upper_bound_for_X, but takes the encoder C (r x n).

    Cost: X = C^T C is formed in Swift: O(n^3 / 6) for a lower-triangular C, over the cores;
    memory n^2 + n k doubles.

    Parameters
    ----------
    C : 2-D real array (r, n)
        The encoder; finite, lower-triangular when square.
    min_sep : int
        Minimum separation between participations (>= 1).
    max_participations : int, optional
        Maximum number of participations.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        C not two-dimensional, not finite, or square and not lower-triangular; min_sep < 1.
    TypeError
        C is not real numbers; an integer argument is not an integer.
    MemoryError
        X or the work space cannot be allocated.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import sensitivity
    >>> round(sensitivity.get_min_sep_sensitivity_upper_bound(np.tri(4), min_sep=2), 6)
    3.162278
    """
    function = "get_min_sep_sensitivity_upper_bound"
    C = _real(C, "C", function)
    return _scalar("mfkit_sens_min_sep_upper_bound", function, {"C": C}, _ffi.describe(C, "C"),
                   _args.integer(min_sep, "min_sep", function), _cap(max_participations, function))


def get_sensitivity_banded_for_X(X: npt.ArrayLike, min_sep: int = 1,
                                 max_participations: Optional[int] = None) -> float:
    """The exact sensitivity of X = C^T C when X is min_sep-banded: every two columns i, j
    of C with |i - j| >= min_sep are orthogonal (checked: those entries of X must be 0).

    Cost: time O(n^2) for the checks plus O(n k) for the pattern search; memory O(n).

    Parameters
    ----------
    X : 2-D real array (n, n)
        Finite, square, symmetric, zero off the min_sep band.
    min_sep : int
        1 <= min_sep <= n.
    max_participations : int, optional
        Maximum number of participations.

    Returns
    -------
    float
        The L2 sensitivity.

    Raises
    ------
    ValueError
        X not finite, square, symmetric or min_sep-banded; min_sep out of [1, n].
    TypeError
        X is not real numbers; an integer argument is not an integer.
    MemoryError
        The work space cannot be allocated.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import sensitivity
    >>> sensitivity.get_sensitivity_banded_for_X(np.eye(4), min_sep=2)
    1.4142135623730951
    """
    function = "get_sensitivity_banded_for_X"
    X = _real(X, "X", function)
    return _scalar("mfkit_sens_banded_for_x", function, {"X": X}, _ffi.describe(X, "X"),
                   _args.integer(min_sep, "min_sep", function), _cap(max_participations, function))


def get_sensitivity_banded(C: npt.ArrayLike, min_sep: int = 1, max_participations: Optional[int] = None) -> float:
    """Like get_sensitivity_banded_for_X(), but takes the encoder C (r x n).

    X is not formed: its diagonal is C's column norms, and orthogonality is tested only for
    columns |i - j| >= min_sep whose supports overlap (none when C has at most min_sep bands).

    Cost: time O(k n + n^2) for such C; memory n k doubles.

    Parameters
    ----------
    C : 2-D real array (r, n)
        The encoder; finite, lower-triangular when square.
    min_sep : int
        1 <= min_sep <= n.
    max_participations : int, optional
        Maximum number of participations.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        C not two-dimensional, finite, lower-triangular or min_sep-banded; min_sep out of range.
    TypeError
        C is not real numbers; an integer argument is not an integer.
    MemoryError
        The work space cannot be allocated.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import sensitivity
    >>> sensitivity.get_sensitivity_banded(np.eye(4) * 2, min_sep=1)
    4.0
    """
    function = "get_sensitivity_banded"
    C = _real(C, "C", function)
    return _scalar("mfkit_sens_banded", function, {"C": C}, _ffi.describe(C, "C"),
                   _args.integer(min_sep, "min_sep", function), _cap(max_participations, function))


def fixed_epoch_sensitivity_for_X(X: npt.ArrayLike, epochs: int) -> float:
    """The sensitivity of X under (k, b)-fixed-epoch participation, k = epochs, b = n / k:
    sqrt(max_j sum_{a, c < k} |X[j + a b, j + c b]|) (Choquette-Choo et al. 2022, Eq. 5,
    with absolute values for negative entries).

    Cost: time O(n^2) (the checks) + O(n k); memory O(1).

    Parameters
    ----------
    X : 2-D real array (n, n)
        Finite, square, symmetric.
    epochs : int
        Positive and dividing n.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        X not finite, square or symmetric; epochs not positive or not dividing n.
    TypeError
        X is not real numbers; epochs is not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import sensitivity
    >>> sensitivity.fixed_epoch_sensitivity_for_X(np.eye(4), epochs=2)
    1.4142135623730951
    """
    function = "fixed_epoch_sensitivity_for_X"
    X = _real(X, "X", function)
    return _scalar("mfkit_sens_fixed_epoch_for_x", function, {"X": X}, _ffi.describe(X, "X"),
                   _args.integer(epochs, "epochs", function))


def fixed_epoch_sensitivity(C: npt.ArrayLike, epochs: int) -> float:
    """Like fixed_epoch_sensitivity_for_X(), but takes the encoder C (r x n). Only the k^2
    entries of X per pattern are formed, as column dot products.

    Cost: time O(n epochs k) at most, over the cores; memory n k doubles.

    Parameters
    ----------
    C : 2-D real array (r, n)
        The encoder; finite, lower-triangular when square.
    epochs : int
        Positive and dividing n.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        C not two-dimensional, finite or lower-triangular; epochs not positive or not
        dividing n.
    TypeError
        C is not real numbers; epochs is not an integer.
    MemoryError
        The work space cannot be allocated.

    Examples
    --------
    >>> import numpy as np
    >>> from mfkit import sensitivity
    >>> sensitivity.fixed_epoch_sensitivity(np.eye(4, dtype=int), epochs=2)
    1.4142135623730951
    """
    function = "fixed_epoch_sensitivity"
    C = _real(C, "C", function)
    return _scalar("mfkit_sens_fixed_epoch", function, {"C": C}, _ffi.describe(C, "C"),
                   _args.integer(epochs, "epochs", function))

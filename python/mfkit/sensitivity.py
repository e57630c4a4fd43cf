"""Sensitivity of dense matrix-factorization strategies under multiple participations.

Names, arguments, defaults, checks and error messages follow
`jax_privacy.matrix_factorization.sensitivity`; the work is done by libmfkit.so in float64
on NumPy arrays of any strides (float32 and float64 are read in place; other real dtypes
and array-likes are converted to float64 first).

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
import ctypes
import numbers

import numpy as np

from . import _ffi

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

_INT64 = (-(2**63), 2**63 - 1)


# ---------------------------------------------------------------- arguments and checks
# The library checks every matrix (C: finite, lower-triangular up to np.allclose when square;
# X: finite, square, symmetric up to np.allclose) with jax_privacy's wording; its messages
# are completed here as jax_privacy prints them: the offending matrix follows ", found".
_DUMPED = ("is not finite", "should be lower-triangular", "should be square", "should be symmetric")


def _call(function, name, matrices, *args):
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


def _integer(value, name, function):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{function}: {name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(f"{function}: {name}={value} does not fit in 64 bits")
    return value


def _cap(max_participations, function):
    """A pointer to the participation cap, or None (NULL) for no cap."""
    if max_participations is None:
        return None
    return ctypes.byref(ctypes.c_int64(_integer(max_participations, "max_participations", function)))


def _real(M, name, function):
    """M as a float32 / float64 ndarray: no copy for those dtypes, float64 for other reals."""
    a = np.asarray(M)
    if a.dtype in (np.float32, np.float64):
        return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    raise TypeError(f"{function}: {name} must be an array of real numbers, got dtype {a.dtype}")


def _scalar(name, function, matrices, *args):
    out = ctypes.c_double()
    _call(function, name, matrices, *args, ctypes.byref(out))
    return float(out.value)


# ---------------------------------------------------------------- participation patterns
def minsep_true_max_participations(n, min_sep, max_participations=None):
    """The largest number of participations possible: ceil(n / min_sep), capped at
    max_participations when given (which may then be smaller than the cap). O(1).

    Args:
      n: the number of rounds (>= 0).
      min_sep: the minimum separation between participations (>= 1); 1 allows adjacent
        rounds.
      max_participations: optional cap.
    """
    function = "minsep_true_max_participations"
    out = ctypes.c_int64()
    _call(function, "mfkit_sens_minsep_true_max_participations", {},
          _integer(n, "n", function), _integer(min_sep, "min_sep", function),
          _cap(max_participations, function), ctypes.byref(out))
    return int(out.value)


def max_participation_for_linear_fn(x, min_sep=1, max_participations=None):
    """max_u <x, u> over 0/1 vectors u whose ones respect min_sep and max_participations
    (the signs of x matter; the empty pattern counts, so the result is >= 0).

    Dynamic program of Choquette-Choo et al. (2023), Algorithm 3 (VecSens):
    time O(len(x) * k) for the capped count k (stopping once the table stops changing),
    O(len(x)) when the cap does not bind, for min_sep = 1 O(len(x)) (k <= 64) or
    O(len(x) log len(x)); memory
    O(len(x)).

    Args:
      x: a 1-D vector of finite values.
      min_sep: minimum separation between selected indices (>= 1).
      max_participations: optional, the maximum number of participations.

    Returns:
      The optimal value, a float.
    """
    function = "max_participation_for_linear_fn"
    x = _real(x, "x", function)
    return _scalar("mfkit_sens_max_participation_for_linear_fn", function, {},
                   _ffi.describe(x, "x"), _integer(min_sep, "min_sep", function),
                   _cap(max_participations, function))


def _band_mask(n, num_bands, symmetric, function):
    """The n x n int32 {0, 1} matrix with ones where 0 <= i - j < num_bands (and, when
    symmetric, where 0 <= j - i < num_bands). Writes only the bands: time O(n num_bands)
    beyond the zeroed n x n result (no dense temporaries)."""
    n = _integer(n, "n", function)
    num_bands = _integer(num_bands, "num_bands", function)
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


def banded_lower_triangular_mask(n, num_bands):
    """n x n lower-triangular {0, 1} int32 matrix with num_bands bands of ones.
    Time O(n num_bands) plus zeroing the result; memory: the result."""
    return _band_mask(n, num_bands, False, "banded_lower_triangular_mask")


def banded_symmetric_mask(n, num_bands):
    """n x n symmetric {0, 1} int32 matrix with 2 num_bands - 1 bands of ones.
    Time O(n num_bands) plus zeroing the result; memory: the result."""
    return _band_mask(n, num_bands, True, "banded_symmetric_mask")


# ---------------------------------------------------------------- sensitivities
def single_participation_sensitivity(C):
    """max_j ||C[:, j]||_2, the sensitivity of C when a user participates once.
    Time O(r n) over the cores; memory O(n)."""
    function = "single_participation_sensitivity"
    C = _real(C, "C", function)
    return _scalar("mfkit_sens_single_participation", function, {"C": C}, _ffi.describe(C, "C"))


def get_min_sep_sensitivity_upper_bound_for_X(X, min_sep=1, max_participations=None):
    """An upper bound on the min_sep sensitivity of X = C^T C, valid for any X.

    For every row of |X| the best participation pattern's sum v_i, then the best pattern's
    sum over v, square root. Never below get_sensitivity_banded_for_X; equal to it for a
    diagonal X and often for a min_sep-banded one (jax_privacy's docstring says always, but
    a row of |X| may pick two entries of its band: the tests show a case). Time O(n^2 k) at most: O(n^2) when max_participations does not bind,
    O(n^2) to O(n^2 log n) for min_sep = 1; rows over the cores, memory O(n) per core.

    Args:
      X: the Gram matrix C.T @ C (finite, square, symmetric).
      min_sep: minimum separation between participations (>= 1).
      max_participations: optional maximum number of participations.

    Returns:
      The L2 sensitivity bound, a float.
    """
    function = "get_min_sep_sensitivity_upper_bound_for_X"
    X = _real(X, "X", function)
    return _scalar("mfkit_sens_min_sep_upper_bound_for_x", function, {"X": X}, _ffi.describe(X, "X"),
                   _integer(min_sep, "min_sep", function), _cap(max_participations, function))


def get_min_sep_sensitivity_upper_bound(C, min_sep=1, max_participations=None):
    """Like get_min_sep_sensitivity_upper_bound_for_X, but takes the encoder C (r x n).
    X = C^T C is formed in Swift: O(n^3 / 6) for a lower-triangular C, over the cores;
    memory n^2 + n k doubles."""
    function = "get_min_sep_sensitivity_upper_bound"
    C = _real(C, "C", function)
    return _scalar("mfkit_sens_min_sep_upper_bound", function, {"C": C}, _ffi.describe(C, "C"),
                   _integer(min_sep, "min_sep", function), _cap(max_participations, function))


def get_sensitivity_banded_for_X(X, min_sep=1, max_participations=None):
    """The exact sensitivity of X = C^T C when X is min_sep-banded: every two columns i, j
    of C with |i - j| >= min_sep are orthogonal (checked: those entries of X must be 0).

    Requires 1 <= min_sep <= n. Time O(n^2) for the checks plus O(n k) for the pattern
    search; memory O(n).

    Returns:
      The L2 sensitivity, a float.
    """
    function = "get_sensitivity_banded_for_X"
    X = _real(X, "X", function)
    return _scalar("mfkit_sens_banded_for_x", function, {"X": X}, _ffi.describe(X, "X"),
                   _integer(min_sep, "min_sep", function), _cap(max_participations, function))


def get_sensitivity_banded(C, min_sep=1, max_participations=None):
    """Like get_sensitivity_banded_for_X(), but takes the encoder C (r x n).

    X is not formed: its diagonal is C's column norms, and orthogonality is tested only for
    columns |i - j| >= min_sep whose supports overlap (none when C has at most min_sep
    bands). Time O(k n + n^2) for such C; memory n k doubles."""
    function = "get_sensitivity_banded"
    C = _real(C, "C", function)
    return _scalar("mfkit_sens_banded", function, {"C": C}, _ffi.describe(C, "C"),
                   _integer(min_sep, "min_sep", function), _cap(max_participations, function))


def fixed_epoch_sensitivity_for_X(X, epochs):
    """The sensitivity of X under (k, b)-fixed-epoch participation, k = epochs, b = n / k:
    sqrt(max_j sum_{a, c < k} |X[j + a b, j + c b]|) (Choquette-Choo et al. 2022, Eq. 5,
    with absolute values for negative entries).

    epochs must be positive and divide n. Time O(n^2) (the checks) + O(n k); memory O(1).
    """
    function = "fixed_epoch_sensitivity_for_X"
    X = _real(X, "X", function)
    return _scalar("mfkit_sens_fixed_epoch_for_x", function, {"X": X}, _ffi.describe(X, "X"),
                   _integer(epochs, "epochs", function))


def fixed_epoch_sensitivity(C, epochs):
    """Like fixed_epoch_sensitivity_for_X(), but takes the encoder C (r x n). Only the
    k^2 entries of X per pattern are formed, as column dot products: time O(n * epochs * k)
    at most, over the cores; memory n k doubles."""
    function = "fixed_epoch_sensitivity"
    C = _real(C, "C", function)
    return _scalar("mfkit_sens_fixed_epoch", function, {"C": C}, _ffi.describe(C, "C"),
                   _integer(epochs, "epochs", function))

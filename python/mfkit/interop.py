"""Handing strategies between MFKit and jax_privacy (`jax_privacy.matrix_factorization`).

A banded strategy is the same n x b `params` array in both libraries (float64 in MFKit):

    C_raw[j + r, j] = params[j, r]   for j + r < n   (column j holds params[j, :] downwards),
    C = C_raw with every column divided by its Euclidean norm.

    params = [[a, b, c],        C_raw = [[a, 0, 0, 0],
              [d, e, f],                 [b, d, 0, 0],
              [g, h, 0],                 [c, e, g, 0],
              [j, 0, 0]]                 [0, f, h, j]]

Entries with j + r >= n (the lower-right triangle of params) lie outside the matrix: MFKit
ignores them everywhere, jax_privacy's materialize ignores them but its streaming inverse counts
them in the column norm; strategies made by either library's `default`, `from_banded_toeplitz`
and `optimize` keep them zero, and then both agree.

    >>> from mfkit import banded, interop
    >>> C = banded.optimize(64, bands=4, max_optimizer_steps=10)
    >>> params = interop.banded_params(C)          # the array jax_privacy's class takes
    >>> params.shape, params.dtype
    ((64, 4), dtype('float64'))
    >>> interop.from_jax_privacy(params).params.tolist() == C.params.tolist()
    True

With jax_privacy installed, `to_jax_privacy(C)` builds its `ColumnNormalizedBanded` directly.
JAX keeps float64 only with `jax.config.update("jax_enable_x64", True)` (jax_privacy's
optimizers need it); otherwise it rounds params to float32.

Cost: O(n b) (one copy of params).
"""
import importlib

import numpy as np

from .banded import ColumnNormalizedBanded

__all__ = ["banded_params", "to_jax_privacy", "from_jax_privacy"]


def banded_params(C: ColumnNormalizedBanded) -> np.ndarray:
    """The n x b params of an MFKit banded strategy, a writable float64 copy in the layout of
    the module docstring (jax_privacy's `ColumnNormalizedBanded(params=...)` takes it as is).

    Parameters
    ----------
    C : ColumnNormalizedBanded

    Returns
    -------
    numpy.ndarray, float64, shape (n, b)

    Raises
    ------
    TypeError
        C is not an MFKit ColumnNormalizedBanded.

    Cost: O(n b).

    Examples
    --------
    >>> banded_params(ColumnNormalizedBanded.from_banded_toeplitz(3, [2.0, 1.0])).round(4).tolist()
    [[0.8944, 0.4472], [0.8944, 0.4472], [0.8944, 0.0]]
    """
    if not isinstance(C, ColumnNormalizedBanded):
        raise TypeError(f"banded_params: C must be an MFKit ColumnNormalizedBanded, got {type(C).__name__}")
    return np.array(C.params, dtype=np.float64, copy=True)


def to_jax_privacy(C: ColumnNormalizedBanded):
    """jax_privacy's `matrix_factorization.banded.ColumnNormalizedBanded` with C's params.

    Parameters
    ----------
    C : ColumnNormalizedBanded

    Returns
    -------
    jax_privacy.matrix_factorization.banded.ColumnNormalizedBanded

    Raises
    ------
    TypeError
        C is not an MFKit ColumnNormalizedBanded.
    ImportError
        jax_privacy is not installed.

    Cost: O(n b) (params copied to a JAX array).

    Examples
    --------
    >>> jp = to_jax_privacy(ColumnNormalizedBanded.default(8, 2))   # doctest: +SKIP
    >>> jp.n, jp.bands                                              # doctest: +SKIP
    (8, 2)
    """
    params = banded_params(C)
    try:
        jp_banded = importlib.import_module("jax_privacy.matrix_factorization.banded")
        jnp = importlib.import_module("jax.numpy")
    except ImportError as exc:
        raise ImportError("to_jax_privacy needs jax_privacy: pip install jax-privacy") from exc
    return jp_banded.ColumnNormalizedBanded(params=jnp.asarray(params))


def from_jax_privacy(strategy) -> ColumnNormalizedBanded:
    """An MFKit `ColumnNormalizedBanded` from jax_privacy's (anything with a `params` attribute)
    or from an n x b params array (NumPy, JAX, nested lists).

    Parameters
    ----------
    strategy : jax_privacy ColumnNormalizedBanded or array_like

    Returns
    -------
    ColumnNormalizedBanded
        Its params are the given ones converted to float64 (a JAX or torch CPU array is read
        in place, as every MFKit input).

    Raises
    ------
    ValueError, TypeError
        params not a real (n, b) array with 1 <= b <= n, not finite, or with a zero diagonal.

    Cost: O(n b).

    Examples
    --------
    >>> from_jax_privacy([[1.0, 0.5], [1.0, 0.0]]).bands
    2
    """
    return ColumnNormalizedBanded(getattr(strategy, "params", strategy))

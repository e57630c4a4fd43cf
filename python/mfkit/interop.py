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

A BLT (`mfkit.buffered_toeplitz.BufferedToeplitz`) is its two length-d arrays `buf_decay`
and `output_scale` in both libraries (`to_jax_privacy` / `from_jax_privacy` take and give
either kind of strategy), and a banded Toeplitz strategy is its coefficient vector in both
(`mfkit.toeplitz` takes jax_privacy's coefficients as they are, so no conversion is needed).

    >>> from mfkit import buffered_toeplitz as bt
    >>> blt = bt.BufferedToeplitz.build([0.9, 0.5], [-0.3, -0.1])
    >>> interop.from_jax_privacy(blt) == blt       # what jax_privacy's BLT would give back
    True

Cost: O(n b) (one copy of params), O(d) for a BLT.
"""
import importlib
from typing import Any, Union

import numpy as np

from .banded import ColumnNormalizedBanded
from .buffered_toeplitz import BufferedToeplitz

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


def to_jax_privacy(C: Union[ColumnNormalizedBanded, BufferedToeplitz]) -> Any:
    """jax_privacy's strategy equal to C: its `matrix_factorization.banded.ColumnNormalizedBanded`
    with C's params, or its `matrix_factorization.buffered_toeplitz.BufferedToeplitz` with C's
    buf_decay and output_scale.

    JAX arrays are float64 when `jax_enable_x64` is on (jax_privacy's optimizers and BLT
    inverse need it) and float32 otherwise (JAX's own default; jax_privacy's BLT refuses to
    build a float64 BLT without x64).

    Parameters
    ----------
    C : ColumnNormalizedBanded or BufferedToeplitz

    Returns
    -------
    jax_privacy.matrix_factorization.banded.ColumnNormalizedBanded or
    jax_privacy.matrix_factorization.buffered_toeplitz.BufferedToeplitz

    Raises
    ------
    TypeError
        C is neither an MFKit ColumnNormalizedBanded nor an MFKit BufferedToeplitz.
    ImportError
        jax_privacy is not installed.

    Cost: O(n b) (params copied to a JAX array), O(d) for a BLT.

    Examples
    --------
    >>> jp = to_jax_privacy(ColumnNormalizedBanded.default(8, 2))   # doctest: +SKIP
    >>> jp.n, jp.bands                                              # doctest: +SKIP
    (8, 2)
    """
    if not isinstance(C, (ColumnNormalizedBanded, BufferedToeplitz)):
        raise TypeError("to_jax_privacy: C must be an MFKit ColumnNormalizedBanded or BufferedToeplitz, "
                        f"got {type(C).__name__}")
    module = "banded" if isinstance(C, ColumnNormalizedBanded) else "buffered_toeplitz"
    try:
        jp = importlib.import_module(f"jax_privacy.matrix_factorization.{module}")
        jax = importlib.import_module("jax")
        jnp = importlib.import_module("jax.numpy")
    except ImportError as exc:
        raise ImportError("to_jax_privacy needs jax_privacy: pip install jax-privacy") from exc
    if isinstance(C, ColumnNormalizedBanded):
        return jp.ColumnNormalizedBanded(params=jnp.asarray(banded_params(C)))
    dtype = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
    return jp.BufferedToeplitz.build(buf_decay=np.array(C.buf_decay), output_scale=np.array(C.output_scale),
                                     dtype=dtype)


def from_jax_privacy(strategy: Any) -> Union[ColumnNormalizedBanded, BufferedToeplitz]:
    """An MFKit strategy from jax_privacy's: a `BufferedToeplitz` from anything with
    `buf_decay` and `output_scale` attributes (jax_privacy's BLT), otherwise a
    `ColumnNormalizedBanded` from anything with a `params` attribute (jax_privacy's banded
    strategy) or from an n x b params array (NumPy, JAX, nested lists).

    Parameters
    ----------
    strategy : jax_privacy ColumnNormalizedBanded or BufferedToeplitz, or array_like

    Returns
    -------
    ColumnNormalizedBanded or BufferedToeplitz
        Its arrays are the given ones converted to float64 (a JAX or torch CPU array is read
        in place, as every MFKit input); a BLT is canonicalized (buf_decay decreasing).

    Raises
    ------
    ValueError, TypeError
        params not a real (n, b) array with 1 <= b <= n, not finite, or with a zero diagonal;
        buf_decay and output_scale not real 1-D arrays of one length.

    Cost: O(n b), O(d log d) for a BLT.

    Examples
    --------
    >>> from_jax_privacy([[1.0, 0.5], [1.0, 0.0]]).bands
    2
    """
    if hasattr(strategy, "buf_decay") and hasattr(strategy, "output_scale"):
        return BufferedToeplitz.build(np.asarray(strategy.buf_decay, dtype=np.float64),
                                      np.asarray(strategy.output_scale, dtype=np.float64))
    return ColumnNormalizedBanded(getattr(strategy, "params", strategy))

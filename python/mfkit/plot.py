"""Plots notebooks and users need again and again: per-step error curves of several strategies,
named curves (losses, convergence), and a strategy's matrix as an image. Needs matplotlib
(`pip install 'mfkit[plot]'`); `import mfkit` does not import it. Every function draws into
`ax` (a new figure when None) and returns the Axes, so a caller can restyle or save it.

    >>> import numpy as np
    >>> from mfkit import banded, plot
    >>> C = banded.ColumnNormalizedBanded.default(64, 8)
    >>> ax = plot.per_step_errors({"banded": banded.per_query_error(C),
    ...                            "independent noise": np.arange(1.0, 65.0)})
    >>> [line.get_label() for line in ax.get_lines()]
    ['banded', 'independent noise']
    >>> ax = plot.matrix(C)

Cost: O(total points) to draw the curves; `matrix` materializes an n x n strategy (O(n^2)).
"""
from typing import Any, Mapping, Optional

import numpy as np

from . import _args

__all__ = ["curves", "per_step_errors", "matrix"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("mfkit.plot needs matplotlib: pip install 'mfkit[plot]' (or pip install matplotlib)") from exc
    return plt


def _axes(ax, function):
    plt = _pyplot()
    if ax is None:
        return plt.subplots()[1]
    if not isinstance(ax, plt.Axes):
        raise TypeError(f"{function}: ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def curves(data: Mapping[str, Any], ax=None, *, xlabel: str = "step", ylabel: Optional[str] = None,
           logy: bool = False, title: Optional[str] = None, x: Any = None):
    """One labelled line per entry of `data` (name -> 1-D values), against `x` (default
    0, 1, ...), with a legend.

    Parameters
    ----------
    data : mapping of str to array_like
        Curves by name; each 1-D and real.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    xlabel, ylabel, title : str
        Labels.
    logy : bool
        Logarithmic y axis.
    x : array_like, optional
        Common x values (default: indices of each curve).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        Empty `data`, a curve that is not 1-D, or an `x` shorter than a curve.
    TypeError
        `ax` is not a matplotlib Axes.
    ImportError
        matplotlib is not installed.

    Cost: O(total points).

    Examples
    --------
    >>> ax = curves({"loss": [3.0, 2.0, 1.5]}, ylabel="loss")
    >>> ax.get_ylabel()
    'loss'
    """
    if not isinstance(data, Mapping) or not data:
        raise ValueError("curves: data must be a non-empty mapping of names to 1-D arrays")
    arrays = {}
    for name, values in data.items():
        values = _args.array(values, f"data[{name!r}]", "curves", sequences=True)
        if values.ndim != 1:
            raise ValueError(f"curves: {name!r} must be one-dimensional, got shape {values.shape}")
        arrays[str(name)] = values
    if x is not None:
        x = _args.array(x, "x", "curves", sequences=True)
        if x.ndim != 1 or x.size < max(v.size for v in arrays.values()):
            raise ValueError(f"curves: x must be one-dimensional and as long as the longest curve, got shape {x.shape}")
    ax = _axes(ax, "curves")
    for name, values in arrays.items():
        ax.plot(np.arange(values.size) if x is None else x[:values.size], values, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend()
    return ax


def per_step_errors(errors: Mapping[str, Any], ax=None, *, logy: bool = True,
                    ylabel: str = "expected squared error", title: Optional[str] = None):
    """Per-step (per-query) expected squared errors of several strategies, one line each, e.g.
    `{"banded": banded.per_query_error(C) * s**2, "DP-SGD": np.arange(1, n + 1) * s_sgd**2}`.

    Parameters
    ----------
    errors : mapping of str to array_like
        Name -> per-step errors (length n each).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    logy : bool
        Logarithmic y axis (default True: errors of different strategies differ by factors).
    ylabel, title : str
        Labels.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError, ImportError
        As `curves`.

    Cost: O(total points).

    Examples
    --------
    >>> ax = per_step_errors({"a": [1.0, 2.0], "b": [1.0, 1.5]})
    >>> len(ax.get_lines()), ax.get_yscale()
    (2, 'log')
    """
    return curves(errors, ax, xlabel="step", ylabel=ylabel, logy=logy, title=title)


def matrix(C, ax=None, *, n: Optional[int] = None, title: Optional[str] = None, cmap: str = "viridis",
           colorbar: bool = True):
    """A strategy (or any matrix) as an image: an array, a strategy with `materialize()` (e.g.
    `ColumnNormalizedBanded`) or with `materialize(n)` (e.g. a `StreamingMatrix`, `n` given).

    Parameters
    ----------
    C : array_like or object with materialize
        The matrix.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    n : int, optional
        Size for objects whose `materialize` takes n.
    title, cmap : str
        Title and colormap.
    colorbar : bool
        Draw a colorbar beside the image.

    Returns
    -------
    matplotlib.axes.Axes
        Its `images[0]` holds the drawn matrix.

    Raises
    ------
    ValueError
        The matrix is not two-dimensional or is empty.
    TypeError
        An object needing `n` without it; `ax` not a matplotlib Axes.
    ImportError
        matplotlib is not installed.

    Cost: O(n^2) to materialize and draw.

    Examples
    --------
    >>> ax = matrix(np.eye(3), title="identity")
    >>> ax.images[0].get_array().shape
    (3, 3)
    """
    if hasattr(C, "materialize"):
        dense = C.materialize() if n is None else C.materialize(n)
    else:
        dense = C
    dense = _args.array(dense, "C", "matrix", sequences=True)
    if dense.ndim != 2 or dense.size == 0:
        raise ValueError(f"matrix: C must be a non-empty two-dimensional matrix, got shape {dense.shape}")
    ax = _axes(ax, "matrix")
    image = ax.imshow(dense, cmap=cmap, interpolation="nearest")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    if title is not None:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    return ax

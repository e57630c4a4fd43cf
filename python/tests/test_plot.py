"""mfkit.plot, headless (Agg): what is drawn (lines, labels, scales, image), not pixels."""
import doctest
import sys

import numpy as np
import pytest

from conftest import optional_module
from mfkit import banded, plot
from mfkit import streaming_matrix as sm

matplotlib = optional_module("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_per_step_errors_draws_one_labelled_line_per_strategy():
    C = banded.ColumnNormalizedBanded.default(50, 5)
    errors = {"banded": banded.per_query_error(C), "DP-SGD": np.arange(1.0, 51.0), "flat": [3.0] * 50}
    ax = plot.per_step_errors(errors, title="errors")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["banded", "DP-SGD", "flat"]
    np.testing.assert_array_equal(lines[1].get_ydata(), np.arange(1.0, 51.0))
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(50))
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step" and ax.get_title() == "errors"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["banded", "DP-SGD", "flat"]


def test_curves_on_given_axes():
    fig, (a, b) = plt.subplots(1, 2)
    out = plot.curves({"loss": [3.0, 2.0, 1.0]}, ax=b, xlabel="epoch", ylabel="loss", x=[10, 20, 30])
    assert out is b and not a.get_lines()
    np.testing.assert_array_equal(b.get_lines()[0].get_xdata(), [10, 20, 30])
    assert (b.get_xlabel(), b.get_ylabel(), b.get_yscale()) == ("epoch", "loss", "linear")


def test_matrix_of_a_strategy_an_array_and_a_streaming_matrix():
    C = banded.ColumnNormalizedBanded.default(12, 3)
    ax = plot.matrix(C, title="C")
    np.testing.assert_array_equal(ax.images[0].get_array(), C.materialize())
    assert ax.get_title() == "C" and len(ax.figure.axes) == 2       # the image and its colorbar
    ax = plot.matrix(sm.prefix_sum(), n=5, colorbar=False)
    np.testing.assert_array_equal(ax.images[0].get_array(), np.tril(np.ones((5, 5))))
    assert len(ax.figure.axes) == 1
    ax = plot.matrix([[1.0, 2.0], [3.0, 4.0]])
    assert ax.images[0].get_array().shape == (2, 2)


def test_errors():
    with pytest.raises(ValueError, match="non-empty mapping"):
        plot.curves({})
    with pytest.raises(ValueError, match="one-dimensional"):
        plot.per_step_errors({"a": np.ones((2, 2))})
    with pytest.raises(ValueError, match="two-dimensional"):
        plot.matrix(np.ones(3))
    with pytest.raises(TypeError):
        plot.matrix(sm.prefix_sum())          # a streaming matrix needs n


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"mfkit\[plot\]"):
        plot.curves({"a": [1.0]})


def test_doctests():
    failures, tried = doctest.testmod(plot, verbose=False)
    assert tried > 0 and failures == 0

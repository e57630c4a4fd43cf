"""The shared progress display: a tqdm bar with the loss when tqdm is installed, printed lines
otherwise; used by every optimizer's progress=... (banded, Toeplitz, BLT, optimization)."""
import sys

import pytest

from conftest import optional_module
from mfkit import banded
from mfkit._progress import Progress


@pytest.fixture
def no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


def test_optimize_shows_a_tqdm_bar_with_the_loss(capsys):
    optional_module("tqdm")
    banded.optimize(30, bands=3, max_optimizer_steps=4, progress=True)
    captured = capsys.readouterr()
    assert "optimize" in captured.err and "loss=" in captured.err and "grad_norm=" in captured.err
    assert "optimize: step" not in captured.out


def test_bar_counts_steps_and_closes():
    optional_module("tqdm")
    with Progress(True, 5, "fit") as p:
        for step in range(3):
            p.update(step, 1.0 / (step + 1))
        assert p.bar.n == 3 and p.bar.postfix == "loss=0.33333333"
    assert p.bar.disable    # closed


def test_printed_lines_without_tqdm(no_tqdm, capsys):
    with Progress(2, 5, "fit") as p:
        assert p.bar is None
        for step in range(5):
            p.update(step, 10.0 - step, grad_norm=0.5)
    lines = capsys.readouterr().out.splitlines()
    # every 2 steps and the last: steps 1, 3, 5
    assert lines == [f"fit: step {s}/5  loss {11 - s:.8g}  grad norm 0.5" for s in (1, 3, 5)]


def test_nothing_when_off(capsys):
    with Progress(False, 5, "fit") as p:
        p.update(0, 1.0)
    assert p.bar is None
    assert capsys.readouterr() == ("", "")


def test_restart_opens_a_new_bar_and_keeps_the_old():
    optional_module("tqdm")
    with Progress(True, 4, "fit (run 1)") as p:
        p.update(0, 2.0)
        first = p.bar
        p.restart("fit (run 2)")
        p.update(0, 1.0)
        assert first.disable and p.bar is not first    # the finished bar closed, a new one counting
        assert (p.bar.n, p.bar.desc) == (1, "fit (run 2)")


def test_restart_renames_the_lines_without_tqdm(no_tqdm, capsys):
    with Progress(True, 2, "fit (run 1)") as p:
        p.update(0, 3.0)
        p.restart("fit (run 2)")
        p.update(0, 2.0)
    assert capsys.readouterr().out.splitlines() == ["fit (run 1): step 1/2  loss 3", "fit (run 2): step 1/2  loss 2"]


def test_generic_optimize_shows_progress(no_tqdm, capsys):
    from mfkit import optimization
    optimization.optimize(lambda x: (float(x @ x), 2 * x), [3.0, 4.0], max_optimizer_steps=5, progress=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines and lines[0].startswith("optimize: step 1/5  loss ")

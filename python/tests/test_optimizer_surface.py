"""The optimizer surface shared by every MFKit optimizer, for the Toeplitz and BLT ones
(`toeplitz.optimize_banded_toeplitz`, `toeplitz.optimize_coefs_for_amplifications`,
`buffered_toeplitz.optimize_loss`, `buffered_toeplitz.optimize`): every stop reason reachable
and reported, the tolerances honoured (checked against the loss's own gradient and the
callback's history), a stall never called converged, the chosen run's report for optimizers
that run several times, progress with and without tqdm, and the error paths."""
import sys

import numpy as np
import pytest

from conftest import optional_module
from mfkit import buffered_toeplitz as bt
from mfkit import toeplitz
from mfkit.optimization import CallbackArgs, OptimizeInfo

CLOSED = bt.LossFn.build_closed_form_single_participation(100)


def toeplitz_run(**kw):
    """optimize_banded_toeplitz at (n, b) = (512, 8), returning (coef, info)."""
    kw.setdefault("max_optimizer_steps", 500)
    return toeplitz.optimize_banded_toeplitz(512, 8, return_info=True, **kw)


def blt_run(**kw):
    """optimize_loss with 2 buffers (closed-form loss, n = 100), returning (blt, info)."""
    blt, _, info = bt.optimize_loss(CLOSED, num_buffers=2, return_info=True, **kw)
    return blt, info


RUNS = {"toeplitz": toeplitz_run, "blt": blt_run}


def relative_decrease(a, b):
    return (a - b) / max(abs(a), abs(b), 1.0)


def toeplitz_gradient(coef, n=512):
    """The gradient of the loss with respect to c[1:] / c[0] (what gtol bounds), from
    loss_and_gradient at the ratios."""
    _, grad = toeplitz.loss_and_gradient(coef / coef[0], n)
    return grad[1:]


def blt_gradient(blt, h=1e-7):
    """Central differences of the objective (the normalized penalized loss) over the buf_decay
    pair (theta, theta_hat) at blt."""
    x = np.concatenate([blt.buf_decay, blt.inverse().buf_decay])
    d = len(blt.buf_decay)

    def objective(x):
        c, inv = bt.blt_pair_from_theta_pair(x[:d], x[d:])
        return CLOSED.penalized_loss(c, inv)

    grad = np.empty_like(x)
    for i in range(len(x)):
        step = h * max(abs(x[i]), 1e-3)
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (objective(up) - objective(down)) / (2 * step)
    return grad


# ---------------------------------------------------------------- stop reasons and tolerances
@pytest.mark.parametrize("kind", RUNS)
def test_steps_exhausted_is_not_convergence(kind):
    seen = []
    _, info = RUNS[kind](max_optimizer_steps=4, callback=seen.append)
    assert isinstance(info, OptimizeInfo)
    assert (info.stop, info.converged, info.steps) == ("max_steps", False, 4)
    assert [a.step for a in seen] == [0, 1, 2, 3] and all(isinstance(a, CallbackArgs) for a in seen)
    assert info.loss == seen[-1].loss and info.grad_norm == pytest.approx(seen[-1].grad_norm, rel=1e-12)
    assert info.evaluations >= info.steps and "not converged" in info.message


@pytest.mark.parametrize("kind", RUNS)
def test_a_stall_is_reported_and_not_called_converged(kind):
    # without tolerances every step is taken until no step decreases the loss: here at the
    # optimum, at machine precision
    _, info = RUNS[kind]()
    assert (info.stop, info.converged) == ("line_search", False)
    assert info.steps < 500 and info.grad_norm < 1e-4
    assert "stalled" in info.message and "not converged" in info.message


def test_toeplitz_gradient_tolerance_is_honoured():
    seen = []
    coef, info = toeplitz_run(gtol=1e-6, callback=seen.append)
    assert (info.stop, info.converged) == ("gradient_tolerance", True)
    assert np.max(np.abs(toeplitz_gradient(coef))) <= 1e-6 * (1 + 1e-6)
    # not met one step earlier: the run stopped at the first point meeting it
    assert info.steps == len(seen) and seen[-2].grad_norm > 1e-6
    assert info.loss == pytest.approx(toeplitz.loss(coef, 512), rel=1e-12)


def test_blt_gradient_tolerance_is_honoured():
    blt, info = blt_run(gtol=1e-3)
    assert (info.stop, info.converged) == ("gradient_tolerance", True)
    assert np.max(np.abs(blt_gradient(blt))) <= 1e-3 * 1.01
    # the report's loss is the objective at the result
    assert info.loss == pytest.approx(CLOSED.penalized_loss(blt, blt.inverse()), rel=1e-9)


@pytest.mark.parametrize("kind, ftol", [("toeplitz", 1e-4), ("blt", 1e-7)])
def test_loss_tolerance_is_honoured(kind, ftol):
    # (the BLT start lies 1e-6 from the barrier buf_decay < 1: its first steps are short)
    seen = []
    _, info = RUNS[kind](ftol=ftol, callback=seen.append)
    assert (info.stop, info.converged) == ("loss_tolerance", True)
    assert len(seen) == info.steps > 2
    losses = [a.loss for a in seen]
    decreases = [relative_decrease(a, b) for a, b in zip(losses, losses[1:])]
    assert decreases[-1] <= ftol and all(d > ftol for d in decreases[:-1])
    _, plain = RUNS[kind]()
    assert info.steps < plain.steps


@pytest.mark.parametrize("kind", RUNS)
def test_callback_stops_the_run(kind):
    _, info = RUNS[kind](callback=lambda a: a.step == 2)
    assert (info.stop, info.converged, info.steps) == ("callback", False, 3)


def test_non_finite_start_warns_and_returns_it():
    # c[1] / c[0] = 1e300: the loss is beyond the range of a double
    with pytest.warns(RuntimeWarning, match="returning the start"):
        coef, info = toeplitz.optimize_banded_toeplitz(64, 2, strategy_coef=[1e-300, 1.0], return_info=True)
    assert (info.stop, info.steps) == ("non_finite", 0)
    np.testing.assert_array_equal(coef, [1e-300, 1.0])


def test_nothing_to_optimize_is_one_converged_evaluation():
    coef, info = toeplitz.optimize_banded_toeplitz(64, 1, strategy_coef=[-3.0], return_info=True)
    np.testing.assert_array_equal(coef, [-1.0])
    assert (info.stop, info.converged, info.steps, info.evaluations, info.grad_norm) == \
        ("gradient_tolerance", True, 0, 1, 0.0)
    assert info.loss == pytest.approx(toeplitz.loss([1.0], 64), rel=1e-12)
    blt, loss, info = bt.optimize_loss(CLOSED, num_buffers=0, return_info=True)
    assert len(blt.buf_decay) == 0 and loss == 100.0
    assert (info.stop, info.steps, info.evaluations) == ("gradient_tolerance", 0, 1)
    assert info.loss == pytest.approx(CLOSED.penalized_loss(blt, blt), rel=1e-12)


# ---------------------------------------------------------------- defaults and the several-run optimizers
def test_defaults_keep_jax_privacys_return_types():
    coef = toeplitz.optimize_banded_toeplitz(64, 4, max_optimizer_steps=30)
    same, _ = toeplitz.optimize_banded_toeplitz(64, 4, max_optimizer_steps=30, return_info=True)
    assert isinstance(coef, np.ndarray) and coef.shape == (4,)
    np.testing.assert_array_equal(coef, same)
    pair = bt.optimize_loss(CLOSED, num_buffers=2, max_optimizer_steps=30)
    assert isinstance(pair, tuple) and len(pair) == 2
    assert isinstance(bt.optimize(n=100, max_buffers=2, max_optimizer_steps=30), bt.BufferedToeplitz)
    result = toeplitz.optimize_coefs_for_amplifications(64, dataset_size=160, expected_batch_size=20, epsilon=2.0,
                                                        delta=1e-6, max_optimizer_steps=20)
    assert len(result) == 2


def test_blt_optimize_reports_the_chosen_run():
    starts = []
    blt, info = bt.optimize(n=100, min_buffers=1, max_buffers=3, ftol=1e-6, return_info=True,
                            callback=lambda a: starts.append(a.step) if a.step == 0 else None)
    d = len(blt.buf_decay)
    alone, _, single = bt.optimize_loss(CLOSED, num_buffers=d, ftol=1e-6, return_info=True)
    assert blt == alone
    assert info == single and info.stop == "loss_tolerance"
    assert len(starts) == min(3, d + 1)   # the callback's step restarts with every run tried


def test_amplifications_report_the_chosen_run():
    kwargs = dict(dataset_size=160, expected_batch_size=20, epsilon=2.0, delta=1e-6, max_optimizer_steps=200)
    coef, stddev, info = toeplitz.optimize_coefs_for_amplifications(64, gtol=1e-7, return_info=True, **kwargs)
    assert (coef, stddev) == pytest.approx(toeplitz.optimize_coefs_for_amplifications(64, gtol=1e-7, **kwargs))
    _, alone = toeplitz.optimize_banded_toeplitz(64, len(coef), max_optimizer_steps=200, gtol=1e-7, return_info=True)
    assert info == alone


# ---------------------------------------------------------------- progress
@pytest.fixture
def no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


def test_progress_bars_with_tqdm(capsys):
    optional_module("tqdm")
    toeplitz.optimize_banded_toeplitz(512, 8, max_optimizer_steps=5, progress=True)
    err = capsys.readouterr().err
    assert "optimize_banded_toeplitz" in err and "loss=" in err and "grad_norm=" in err
    bt.optimize(n=100, min_buffers=1, max_buffers=2, max_optimizer_steps=5, progress=True)
    err = capsys.readouterr().err
    assert "optimize (run 1)" in err and "optimize (run 2)" in err and "loss=" in err


def test_progress_lines_without_tqdm(no_tqdm, capsys):
    toeplitz.optimize_banded_toeplitz(512, 8, max_optimizer_steps=4, progress=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  loss")[0] for line in lines] == [f"optimize_banded_toeplitz: step {s}/4" for s in (1, 3, 4)]
    bt.optimize_loss(CLOSED, num_buffers=2, max_optimizer_steps=3, progress=True)
    assert capsys.readouterr().out.splitlines()[0].startswith("optimize_loss: step 1/3  loss ")
    bt.optimize(n=100, min_buffers=1, max_buffers=2, max_optimizer_steps=3, progress=1)
    heads = [line.split("  loss")[0] for line in capsys.readouterr().out.splitlines()]
    assert heads == [f"optimize (run {r}): step {s}/3" for r in (1, 2) for s in (1, 2, 3)]
    toeplitz.optimize_coefs_for_amplifications(64, dataset_size=160, expected_batch_size=20, epsilon=2.0, delta=1e-6,
                                               max_optimizer_steps=2, progress=1)
    out = capsys.readouterr().out
    assert "optimize_coefs_for_amplifications (run 1): step 1/2" in out and "(run 4): step 2/2" in out


def test_no_progress_by_default(capsys):
    toeplitz.optimize_banded_toeplitz(64, 4, max_optimizer_steps=3)
    bt.optimize(n=100, max_buffers=2, max_optimizer_steps=3)
    assert capsys.readouterr() == ("", "")


# ---------------------------------------------------------------- errors and interruption
OPTIMIZERS = {
    "optimize_banded_toeplitz": lambda **kw: toeplitz.optimize_banded_toeplitz(64, 4, **kw),
    "optimize_coefs_for_amplifications": lambda **kw: toeplitz.optimize_coefs_for_amplifications(
        64, dataset_size=160, expected_batch_size=20, epsilon=2.0, delta=1e-6, **kw),
    "optimize_loss": lambda **kw: bt.optimize_loss(CLOSED, num_buffers=2, **kw),
    "optimize": lambda **kw: bt.optimize(n=100, max_buffers=2, **kw),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bad_settings_are_refused(name):
    run = OPTIMIZERS[name]
    with pytest.raises(ValueError, match=f"{name}: gtol must be non-negative, got -1.0"):
        run(gtol=-1)
    with pytest.raises(ValueError, match="ftol must be non-negative, got nan"):
        run(ftol=float("nan"))
    with pytest.raises(TypeError, match="ftol"):
        run(ftol="small")
    with pytest.raises(ValueError, match="progress must be a bool or an integer >= 0"):
        run(progress=-1)
    with pytest.raises(TypeError, match="progress"):
        run(progress=0.5)
    with pytest.raises(TypeError, match=f"{name}: callback must be callable or None, got int"):
        run(callback=3)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_callback_exceptions_propagate(name):
    def boom(args):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        OPTIMIZERS[name](callback=boom)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_ctrl_c_returns_the_best_so_far(name):
    def interrupt(args):
        if args.step == 1:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match=f"{name}: interrupted; returning the best"):
        result = OPTIMIZERS[name](callback=interrupt, max_optimizer_steps=50, return_info=True)
    info = result[-1]
    assert info.stop == "callback" or info.steps == 0   # several runs: the chosen one may have had no unknowns


def test_invalid_blt_start_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="non-finite loss"):
        bt.optimize_loss(CLOSED, num_buffers=1, init_blt=bt.BufferedToeplitz([1.5], [0.1]), return_info=True)

"""mfkit.dense against jax_privacy 2.0.0's reference outputs (dense_*.npz), NumPy oracles, and
the cases of jax_privacy's own dense tests (tests/matrix_factorization/dense_test.py)."""
import doctest

import numpy as np
import pytest

import mfkit
from mfkit import dense, sensitivity

from conftest import load_reference


def mean_loss(X, A):
    """jax_privacy's _mean_loss_and_gradient value, tr(A^T A X^-1) / n, by NumPy."""
    return np.trace(A.T @ A @ np.linalg.inv(X)) / X.shape[0]


# ---------------------------------------------------------------- reference parity
def test_closed_forms_match_jax_privacy():
    ref = load_reference("dense_closed")
    C, A, Cinv, X = ref["C"], ref["A"], ref["Cinv"], ref["X"]
    cases = {
        "pqe_strategy": dense.per_query_error(strategy_matrix=C),
        "pqe_strategy_w": dense.per_query_error(strategy_matrix=C, workload_matrix=A),
        "pqe_noising": dense.per_query_error(noising_matrix=Cinv),
        "pqe_noising_w": dense.per_query_error(noising_matrix=Cinv, workload_matrix=A),
        "strategy": dense.strategy_from_X(X),
    }
    for name, value in cases.items():
        np.testing.assert_allclose(value, ref[name], rtol=1e-10, atol=1e-12, err_msg=name)
    for epochs in ref["epochs"]:
        np.testing.assert_array_equal(dense.get_orthogonal_mask(int(ref["n"]), int(epochs)), ref[f"mask_{epochs}"])


@pytest.mark.parametrize("case", [0, 1, 2])
def test_optimize_reaches_the_reference_loss(case):
    ref = load_reference(f"dense_optimized_{case}")
    n, epochs, bands = int(ref["n"]), int(ref["epochs"]), int(ref["bands"]) or None
    C = dense.optimize(n, epochs=epochs, bands=bands, equal_norm=bool(ref["equal_norm"]))
    mean_error = dense.per_query_error(strategy_matrix=C).mean()
    # Sensitivity of the result through mfkit.sensitivity, as the reference computed it.
    if epochs > 1:
        sens2 = sensitivity.fixed_epoch_sensitivity(C, epochs) ** 2
    elif bands:
        sens2 = sensitivity.get_min_sep_sensitivity_upper_bound(C, min_sep=bands) ** 2
    else:
        sens2 = sensitivity.single_participation_sensitivity(C) ** 2
    np.testing.assert_allclose(sens2, ref["sens2"], rtol=1e-9)
    assert mean_error * sens2 <= ref["loss"] * (1 + 1e-9)
    np.testing.assert_allclose(C, ref["C"], atol=1e-6)   # the same optimizer path
    assert np.allclose(C, np.tril(C), atol=0)


# ---------------------------------------------------------------- jax_privacy's test cases
def error_test_cases():
    """jax_privacy's ERROR_TEST_CASES: (A, C or None, C_inv, expected per-query error)."""
    cases = []
    for n in [1, 2, 11]:
        bd = np.linspace(1.5, 4.0 / n, num=n)
        cases.append((np.eye(n), np.diag(1 / bd), np.diag(bd), bd**2))
    cases.append((np.tri(2), np.array([[1, 0], [0.5, 1]]), np.array([[1, 0], [-0.5, 1]]), np.array([1, 1.25])))
    cases.append((np.tri(2), np.array([[1, 0], [0, 1], [1, 1]]),
                  np.array([[2 / 3, -1 / 3, 1 / 3], [-1 / 3, 2 / 3, 1 / 3]]), np.array([2 / 3, 2 / 3])))
    return cases


@pytest.mark.parametrize("skip_checks", [True, False])
@pytest.mark.parametrize("case", range(5))
def test_error(case, skip_checks):
    A, C, C_inv, expected = error_test_cases()[case]
    if C.shape[0] == C.shape[1]:
        np.testing.assert_allclose(dense.per_query_error(strategy_matrix=C, workload_matrix=A, skip_checks=skip_checks),
                                   expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dense.per_query_error(noising_matrix=C_inv, workload_matrix=A, skip_checks=skip_checks),
                               expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="exactly one of"):
        dense.per_query_error(strategy_matrix=C, noising_matrix=C_inv, workload_matrix=A, skip_checks=skip_checks)


class StoreStateCallback:
    def __init__(self):
        self.step_info = None

    def __call__(self, step_info):
        self.step_info = step_info


@pytest.mark.parametrize("epochs,bands,equal_norm,reduce_fn", [
    (1, None, False, None),            # single_epoch
    (16, None, False, None),           # full_batch
    (4, None, False, None),            # multi_epoch
    (4, 4, False, None),               # banded
    (4, None, True, None),             # equal_norm
    (16, None, False, lambda x: x.mean()),   # custom
])
def test_optimization_worked(epochs, bands, equal_norm, reduce_fn):
    A = np.tri(16)
    callback = StoreStateCallback()
    C = dense.optimize(16, epochs=epochs, bands=bands, equal_norm=equal_norm, A=A, max_optimizer_steps=250,
                       callback=callback, reduction_fn=reduce_fn or np.mean)
    X = C.T @ C
    np.testing.assert_allclose(X, X.T, atol=1e-8)
    assert np.linalg.eigvals(X).min() > 0
    assert mean_loss(X, A) <= mean_loss(np.eye(16) / epochs, A)
    assert np.abs(callback.step_info.grad).max() <= 1e-3
    assert callback.step_info.step == 249 and callback.step_info.params.shape == (16, 16)


def test_identity():
    A = np.eye(16)
    np.testing.assert_allclose(dense.optimize(16, epochs=1, max_optimizer_steps=100, A=A), A)


def test_callback_called_every_step():
    calls = []
    dense.optimize(16, epochs=1, A=np.eye(16), max_optimizer_steps=100, callback=calls.append)
    assert len(calls) == 100 and [c.step for c in calls] == list(range(100))


def test_single_band():
    n = 16
    np.testing.assert_allclose(dense.optimize(n, epochs=1, bands=1, max_optimizer_steps=100), np.eye(n))
    C = dense.optimize(n, epochs=n, bands=1, max_optimizer_steps=100)
    assert np.diag(C.T @ C).sum() == pytest.approx(1.0)
    assert np.all(C[np.abs(np.subtract.outer(np.arange(n), np.arange(n))) >= 1] == 0)


def test_colnorm():
    norms = np.linalg.norm(dense.optimize(16, epochs=4, equal_norm=True), axis=0)
    assert norms.max() == pytest.approx(norms.min())


# ---------------------------------------------------------------- more than jax_privacy's tests
def test_projected_gradient_and_loss_of_the_callback_match_finite_differences():
    """Step 0 reports the loss and the projected gradient at X = I / epochs: check them
    against NumPy's loss and its central differences along symmetric directions."""
    n, epochs = 6, 2
    A = np.tri(n) + 0.3 * np.tri(n, k=-1)
    calls = []
    dense.optimize(n, epochs=epochs, A=A, max_optimizer_steps=1, callback=calls.append)
    X0 = np.eye(n) / epochs
    assert calls[0].loss == pytest.approx(mean_loss(X0, A), rel=1e-12)
    mask = dense.get_orthogonal_mask(n, epochs)
    h = 1e-6
    for i in range(n):
        for j in range(i):
            if mask[i, j] == 0:
                assert calls[0].grad[i, j] == 0
                continue
            E = np.zeros((n, n))
            E[i, j] = E[j, i] = h
            fd = (mean_loss(X0 + E, A) - mean_loss(X0 - E, A)) / (4 * h)   # d/dX_ij of the symmetric pair
            assert calls[0].grad[i, j] == pytest.approx(fd, rel=1e-5, abs=1e-9)
    # The projected diagonal keeps each user's sum: zero sum over {j, j + n/epochs}.
    d = np.diag(calls[0].grad)
    np.testing.assert_allclose(d[: n // 2] + d[n // 2:], 0, atol=1e-15)


def test_loss_and_gradient_against_numpy(rng):
    n, k = 7, 4
    M = rng.standard_normal((n, n))
    X = M @ M.T + n * np.eye(n)
    for A in (None, np.tril(rng.standard_normal((n, n))), rng.standard_normal((k, n))):
        Ad = np.tri(n) if A is None else A
        Z = np.linalg.solve(X, Ad.T)
        for reduction, w in (("mean", np.full(Ad.shape[0], 1 / n)), (np.arange(Ad.shape[0]) - 1.0, None)):
            w = reduction if w is None else w
            loss, grad = dense.loss_and_gradient(X, A, reduction_fn=reduction)
            assert loss == pytest.approx(w @ np.einsum("jk,kj->j", Ad, Z), rel=1e-12)
            np.testing.assert_allclose(grad, -(Z * w) @ Z.T, rtol=1e-10, atol=1e-14)
    loss, grad = dense._mean_loss_and_gradient(X, np.tri(n))   # jax_privacy's name
    assert loss == pytest.approx(mean_loss(X, np.tri(n)), rel=1e-12)
    with pytest.raises(ValueError, match="Matrix X is not positive definite"):
        dense.loss_and_gradient(-np.eye(3))
    with pytest.raises(ValueError, match="A must have n = 3 columns"):
        dense.loss_and_gradient(np.eye(3), np.eye(2))


def test_general_workload_path_agrees_with_the_prefix_path():
    n = 24
    C1 = dense.optimize(n, max_optimizer_steps=40, callback=None)
    C2 = dense.optimize(n, A=np.tri(n), max_optimizer_steps=40, callback=None)
    np.testing.assert_allclose(C1, C2, atol=1e-8)


def test_reductions():
    n = 12
    mean = dense.optimize(n, max_optimizer_steps=30, callback=None)
    np.testing.assert_array_equal(dense.optimize(n, max_optimizer_steps=30, callback=None, reduction_fn="mean"), mean)
    weighted = dense.optimize(n, max_optimizer_steps=30, callback=None, reduction_fn=np.full(n, 1 / n))
    np.testing.assert_allclose(weighted, mean, atol=1e-12)
    for fn, reduce in [(np.max, np.max), (lambda v: v[-1], lambda v: v[-1])]:
        C = dense.optimize(n, max_optimizer_steps=30, callback=None, reduction_fn=fn)
        before = reduce(dense.per_query_error(strategy_matrix=np.eye(n)))
        assert reduce(dense.per_query_error(strategy_matrix=C)) < before
    with pytest.raises(ValueError, match="not recognized"):
        dense.optimize(n, reduction_fn=np.median)


def test_per_query_error_general_paths_against_numpy(rng):
    n, k = 9, 5
    C = np.tril(rng.uniform(0.5, 1.5, (n, n)))
    A = np.tril(rng.standard_normal((n, n)))
    np.testing.assert_allclose(dense.per_query_error(strategy_matrix=C, workload_matrix=A),
                               ((A @ np.linalg.inv(C)) ** 2).sum(1), rtol=1e-10)
    # A k x n workload and a C that is not triangular: allowed with skip_checks (an LU solve).
    Ak, Cf = rng.standard_normal((k, n)), C + 0.1 * np.triu(rng.standard_normal((n, n)), 1)
    np.testing.assert_allclose(dense.per_query_error(strategy_matrix=Cf, workload_matrix=Ak, skip_checks=True),
                               ((Ak @ np.linalg.inv(Cf)) ** 2).sum(1), rtol=1e-10)
    # Any strides and float32 (kept in the result), out= in place.
    C32 = np.asfortranarray(C.astype(np.float32))[::-1, ::-1][::-1, ::-1]
    out = np.zeros(n, dtype=np.float32)
    assert dense.per_query_error(strategy_matrix=C32, out=out) is out
    np.testing.assert_allclose(out, ((np.tri(n) @ np.linalg.inv(C)) ** 2).sum(1), rtol=1e-5)
    Cinv = rng.standard_normal((n, 3 * n))[:, ::2]   # n x 14, strided
    np.testing.assert_allclose(dense.per_query_error(noising_matrix=Cinv), ((np.tri(n) @ Cinv) ** 2).sum(1), rtol=1e-12)


def test_strategy_from_X_any_layout_and_in_place(rng):
    n = 7
    C = np.tril(rng.uniform(0.5, 1.5, (n, n)))
    X = C.T @ C
    np.testing.assert_allclose(dense.strategy_from_X(np.asfortranarray(X)), C, rtol=1e-10)
    np.testing.assert_allclose(dense.strategy_from_X(X.astype(np.float32)), C, rtol=1e-4)
    Y = X.copy()
    assert dense.strategy_from_X(Y, out=Y) is Y
    np.testing.assert_allclose(Y, C, rtol=1e-10)


def test_errors_are_clear_and_leave_out_untouched():
    out = np.full(3, 7.0)
    with pytest.raises(ValueError, match="Specify exactly one of strategy_matrix or noising_matrix."):
        dense.per_query_error()
    with pytest.raises(ValueError, match="Matrix strategy_matrix should be square, found"):
        dense.per_query_error(strategy_matrix=np.ones((3, 2)), out=np.zeros(2))
    with pytest.raises(ValueError, match="Matrix A should be lower-triangular, found"):
        dense.per_query_error(strategy_matrix=np.eye(3), workload_matrix=np.ones((3, 3)), out=out)
    with pytest.raises(ValueError, match="Matrix B is not finite"):
        dense.per_query_error(strategy_matrix=np.diag([1.0, 0.0, 1.0]), out=out)
    with pytest.raises(ValueError, match="Matrix B should be lower-triangular"):   # B = A C^-1 comes first
        dense.per_query_error(strategy_matrix=np.eye(3) + np.triu(np.ones((3, 3)), 1) * 1e-3, out=out)
    with pytest.raises(ValueError, match="Matrix A is not finite"):
        dense.per_query_error(noising_matrix=np.eye(3), workload_matrix=np.diag([1, np.nan, 1]), out=out)
    with pytest.raises(TypeError, match="real numbers"):
        dense.per_query_error(strategy_matrix=np.eye(3, dtype=complex))
    np.testing.assert_array_equal(out, 7.0)
    # skip_checks: a singular C gives non-finite errors, as a floating-point solve does.
    assert not np.isfinite(dense.per_query_error(strategy_matrix=np.diag([1.0, 0.0]), skip_checks=True)).all()

    C = np.full((2, 2), 5.0)
    with pytest.raises(ValueError, match="not positive definite"):
        dense.strategy_from_X(np.array([[1.0, 2.0], [2.0, 1.0]]), out=C)
    with pytest.raises(ValueError, match="Matrix X should be square"):
        dense.strategy_from_X(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Matrix X is not finite"):
        dense.strategy_from_X(np.diag([1.0, np.inf]))
    np.testing.assert_array_equal(C, 5.0)

    with pytest.raises(ValueError, match="epochs=3 must divide n=10"):
        dense.get_orthogonal_mask(10, 3)
    with pytest.raises(ValueError, match="optimize: n must be positive"):
        dense.optimize(0)
    with pytest.raises(ValueError, match="optimize: epochs=3 must divide n=10"):
        dense.optimize(10, epochs=3)
    with pytest.raises(ValueError, match="optimize: bands must be positive"):
        dense.optimize(10, bands=0)
    with pytest.raises(ValueError, match="A must have n = 4 columns"):
        dense.optimize(4, A=np.ones((4, 3)))
    with pytest.raises(ValueError, match="Matrix A is not finite"):
        dense.optimize(2, A=np.array([[1.0, 0.0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"weights must have shape \(3,\)"):
        dense.optimize(3, reduction_fn=np.ones(4))
    with pytest.raises(TypeError, match="max_optimizer_steps"):
        dense.optimize(3, max_optimizer_steps=1.5)


def test_callback_exceptions_propagate_and_a_true_return_stops():
    def boom(info):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        dense.optimize(8, callback=boom)
    calls = []
    dense.optimize(8, callback=lambda info: calls.append(info.step) or info.step == 2)
    assert calls == [0, 1, 2]


def test_default_callback_is_jax_privacys_tolerance():
    """The native tolerance stop gives the run a Python pg_tol_termination_fn gives."""
    native = dense.optimize(20)
    steps = []
    python = dense.optimize(20, callback=lambda info: steps.append(info.step) or dense.pg_tol_termination_fn(info))
    np.testing.assert_array_equal(native, python)
    assert 1 < len(steps) < 10000


def test_thread_settings_give_the_same_strategy():
    before = mfkit.num_threads()
    try:
        mfkit.set_num_threads(1)
        one = dense.optimize(950, max_optimizer_steps=2, callback=None)   # OpenBLAS threads from n ~ 900
    finally:
        mfkit.set_num_threads(before)
    np.testing.assert_allclose(dense.optimize(950, max_optimizer_steps=2, callback=None), one, atol=1e-9)


def test_docstring_examples():
    failures, _ = doctest.testmod(dense, verbose=False)
    assert failures == 0

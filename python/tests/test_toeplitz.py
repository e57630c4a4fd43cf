"""mfkit.toeplitz: parity with jax_privacy's reference outputs, the cases of jax_privacy's own
toeplitz_test.py (with dense NumPy oracles in place of jax), finite differences for the
gradients, exact integer arithmetic for the min-sep sensitivity, and the error paths."""
import doctest
import math
from fractions import Fraction

import numpy as np
import pytest

from conftest import load_reference
from mfkit import sensitivity, toeplitz
from mfkit import streaming_matrix as sm


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b))) if b.size else 0.0


def dense_errors(C, A):
    """Per-query errors ||(A C^{-1})[t, :]||^2 from dense matrices (the definition)."""
    B = A @ np.linalg.inv(C)
    return np.sum(B ** 2, axis=1)


def oracle_errors(coef, n, workload=None):
    """jax_privacy's test helper `_per_query_error`, with NumPy."""
    coef, n = toeplitz._reconcile(coef, n)
    workload = np.ones(n) if workload is None else workload
    C = toeplitz.materialize_lower_triangular(np.asarray(coef, dtype=float), n)
    A = toeplitz.materialize_lower_triangular(toeplitz.pad_coefs_to_n(np.asarray(workload, dtype=float), n), n)
    return dense_errors(C, A)


# ---------------------------------------------------------------- reference parity

def test_reference_closed_forms():
    d = load_reference("toeplitz_closed")
    n = int(d["n"])
    assert rel(toeplitz.pad_coefs_to_n(d["coef"], n), d["pad"]) == 0
    assert rel(toeplitz.pad_coefs_to_n(d["coef_long"], n), d["pad_long"]) == 0
    assert rel(toeplitz.materialize_lower_triangular(d["coef"], n), d["mat"]) == 0
    assert rel(toeplitz.materialize_lower_triangular(d["coef_long"]), d["mat_long"]) == 0
    assert rel(toeplitz.solve_banded(d["coef"], d["rhs_vec"]), d["solve_vec"]) < 1e-10
    assert rel(toeplitz.solve_banded(d["coef"], d["rhs_mat"]), d["solve_mat"]) < 1e-10
    assert rel(toeplitz.multiply(d["lhs"], d["rhs"], n), d["mult"]) < 1e-10
    assert rel(toeplitz.multiply(d["same_a"], d["same_b"]), d["mult_same"]) < 1e-10
    assert rel(toeplitz.inverse_coef(d["coef"], n), d["inv"]) < 1e-10
    assert rel(toeplitz.inverse_coef(d["coef_long"], n), d["inv_long"]) < 1e-10
    assert rel(toeplitz.sensitivity_squared(d["coef"], n), d["sens"]) < 1e-10
    assert rel(toeplitz.sensitivity_squared(d["coef_long"], n), d["sens_long"]) < 1e-10
    for min_sep, k, size, value in d["minsep"]:
        got = toeplitz.minsep_sensitivity_squared(d["coef"], int(min_sep), None if k < 0 else int(k),
                                                  None if size < 0 else int(size))
        assert got == pytest.approx(value, rel=1e-10)
    assert rel(toeplitz.per_query_error(strategy_coef=d["coef"], n=n), d["pqe_strategy"]) < 1e-10
    assert rel(toeplitz.per_query_error(strategy_coef=d["coef"]), d["pqe_strategy_none"]) < 1e-10
    assert rel(toeplitz.per_query_error(strategy_coef=d["coef"], n=n, workload_coef=d["workload"]),
               d["pqe_strategy_w"]) < 1e-10
    assert rel(toeplitz.per_query_error(noising_coef=d["noising"], n=n), d["pqe_noising"]) < 1e-10
    assert rel(toeplitz.per_query_error(noising_coef=d["noising"], n=n, workload_coef=d["workload"]),
               d["pqe_noising_w"]) < 1e-10
    assert toeplitz.loss(d["coef"], n, np.mean) == pytest.approx(float(d["loss_mean"]), rel=1e-10)
    assert toeplitz.loss(d["coef"], n, np.max) == pytest.approx(float(d["loss_max"]), rel=1e-10)
    assert rel(toeplitz.optimal_max_error_strategy_coefs(n), d["opt_strategy"]) < 1e-10
    assert rel(toeplitz.optimal_max_error_noising_coefs(n), d["opt_noising"]) < 1e-10
    assert rel(sm.multiply_array(toeplitz.inverse_as_streaming_matrix(d["coef"]), d["z"]), d["inv_z"]) < 1e-10
    inv = toeplitz.inverse_as_streaming_matrix(d["unit"], column_normalize_for_n=n)
    assert rel(sm.multiply_array(inv, d["z"]), d["inv_z_cn"]) < 1e-10


def test_reference_large_n():
    d = load_reference("toeplitz_large")
    n = int(d["n"])
    assert rel(toeplitz.per_query_error(strategy_coef=d["coef"], n=n), d["pqe"]) < 1e-10
    assert rel(toeplitz.inverse_coef(d["coef"], n), d["inv"]) < 1e-10
    assert toeplitz.loss(d["coef"], n) == pytest.approx(float(d["loss_mean"]), rel=1e-10)
    assert toeplitz.loss(d["coef"], n, np.max) == pytest.approx(float(d["loss_max"]), rel=1e-10)
    assert toeplitz.sensitivity_squared(d["coef"], n) == pytest.approx(float(d["sens"]), rel=1e-10)
    for min_sep, k, value in d["minsep"]:
        got = toeplitz.minsep_sensitivity_squared(d["coef"], int(min_sep), None if k < 0 else int(k), n)
        assert got == pytest.approx(value, rel=1e-10)
    for size, loss_mean, loss_max, last in d["big"]:
        size = int(size)
        assert toeplitz.loss(d["coef"], size) == pytest.approx(loss_mean, rel=1e-10)
        assert toeplitz.loss(d["coef"], size, np.max) == pytest.approx(loss_max, rel=1e-10)
        # the last error sums 10^6 squares: both libraries round differently in the last digits
        assert toeplitz.per_query_error(strategy_coef=d["coef"], n=size)[-1] == pytest.approx(last, rel=1e-10)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_optimizer_reaches_reference_loss(index):
    d = load_reference(f"toeplitz_optimized_{index}")
    n, b, red = int(d["n"]), int(d["bands"]), str(d["reduction"])
    fn = {"mean": np.mean, "max": np.max}[red]
    assert toeplitz.loss(toeplitz.optimal_max_error_strategy_coefs(b), n, fn) == pytest.approx(float(d["init_loss"]),
                                                                                             rel=1e-10)
    coef = toeplitz.optimize_banded_toeplitz(n, b, reduction_fn=fn)
    assert coef.shape == (b,) and np.linalg.norm(coef) == pytest.approx(1, rel=1e-14)
    assert toeplitz.loss(coef, n, fn) <= float(d["loss"]) * (1 + 1e-12)
    np.testing.assert_allclose(coef, d["coef"], atol=1e-6)   # the same optimum


def test_amplified_reference():
    d = load_reference("toeplitz_amplified")
    n, size, batch = int(d["n"]), int(d["dataset_size"]), int(d["expected_batch_size"])
    eps, delta = float(d["epsilon"]), float(d["delta"])
    helper = toeplitz._AmplifiedBandMFHelper(n, size, batch, eps, delta, np.mean)
    assert [int(b) for b in d["table"][:, 0]] == [b for b in toeplitz._factors(size) if b <= helper.max_bands]
    for bands, nm, _ in d["table"]:
        assert helper.total_noise_multiplier(int(bands)) == pytest.approx(nm, rel=1e-10)
    coef, stddev = toeplitz.optimize_coefs_for_amplifications(
        n, dataset_size=size, expected_batch_size=batch, epsilon=eps, delta=delta,
        max_optimizer_steps=int(d["max_optimizer_steps"]))
    assert helper.amplified_bandmf_loss(coef) <= d["table"][:, 2].min() * (1 + 1e-10)
    assert stddev == pytest.approx(helper.required_stddev(coef), rel=1e-14)
    if len(coef) == int(d["bands"]):
        np.testing.assert_allclose(coef, d["coef"], atol=1e-6)
        assert stddev == pytest.approx(float(d["stddev"]), rel=1e-9)


# ---------------------------------------------------------------- jax_privacy's toeplitz_test.py

NAMED_C_MATRIX_PARAMS = [
    ("n=1", [7.3], 3),
    ("n=len(coef)", [1, 0.5, 0.2], 3),
    ("n>len(coef)", [1, 0.7, 2.0], 4),
    ("neg_below_main_diag", [1, 0.0, -0.2], 5),
    ("n=25", np.linspace(1, 0.001, num=25), 25),
    ("n=None", np.linspace(0.5, 2.0, num=11), None),
]

COEFS = [[0.1], [1.0], [0.1, 0.5, 1.0], np.linspace(1.0, 0.1, num=16), [1.0, 0.0, 0.0, -0.5, 0.0, 0.3]]

WORKLOADS = ["default", "prefix_sum", "eye", "banded", "extra_entries"]


def workload_coef(name, true_n):
    return {"default": None, "prefix_sum": np.ones(true_n), "eye": np.ones(1),
            "banded": np.array([1, 0.9, 0.5, 0.1]), "extra_entries": np.linspace(0.99, 0.1, num=true_n + 5)}[name]


def test_reconcile():
    def check(result, expected):
        np.testing.assert_allclose(result[0], expected[0])
        assert result[1] == expected[1]
    check(toeplitz._reconcile([1], 1), (np.ones(1), 1))
    check(toeplitz._reconcile([1, 2], 1), (np.ones(1), 1))
    check(toeplitz._reconcile([1, 2], 2), (np.array([1, 2]), 2))
    check(toeplitz._reconcile([1, 2], 3), (np.array([1, 2]), 3))
    check(toeplitz._reconcile([1]), (np.ones(1), 1))
    check(toeplitz._reconcile([1, 2]), (np.array([1, 2]), 2))
    check(toeplitz._reconcile([1, 2, 3]), (np.array([1, 2, 3]), 3))


def test_materialize_lower_triangular():
    np.testing.assert_allclose(toeplitz.materialize_lower_triangular(np.array([1.0])), [[1]])
    np.testing.assert_allclose(toeplitz.materialize_lower_triangular(np.array([2, 1, 3])),
                               [[2, 0, 0], [1, 2, 0], [3, 1, 2]])
    np.testing.assert_allclose(toeplitz.materialize_lower_triangular(coef=[1, 2, 3], n=1), [[1]])
    np.testing.assert_allclose(toeplitz.materialize_lower_triangular(np.array([2, 1]), n=3),
                               [[2, 0, 0], [1, 2, 0], [0, 1, 2]])


@pytest.mark.parametrize("n", [1, 2, 10, 100])
def test_fhu_coefs(n):
    C = toeplitz.materialize_lower_triangular(toeplitz.optimal_max_error_strategy_coefs(n))
    np.testing.assert_allclose(np.tri(n), C @ C, atol=1e-6)
    C_inv = toeplitz.materialize_lower_triangular(toeplitz.optimal_max_error_noising_coefs(n))
    np.testing.assert_allclose(np.eye(n), C @ C_inv, atol=1e-6)


@pytest.mark.parametrize("n,bands", [(16, 16), (15, 6), (16, 1), (1, 1)])
def test_solve_toeplitz(n, bands, rng):
    coef = rng.standard_normal(bands)
    coef[0] = 1.0
    b = rng.standard_normal(n)
    C = toeplitz.materialize_lower_triangular(toeplitz.pad_coefs_to_n(coef, n))
    np.testing.assert_allclose(toeplitz.solve_banded(coef, b), np.linalg.solve(C, b), atol=1e-6)


@pytest.mark.parametrize("lhs", range(len(COEFS)))
@pytest.mark.parametrize("rhs", range(len(COEFS)))
@pytest.mark.parametrize("n", [1, 2, 7, 32])
def test_multiply(lhs, rhs, n):
    L = toeplitz.materialize_lower_triangular(COEFS[lhs], n)
    R = toeplitz.materialize_lower_triangular(COEFS[rhs], n)
    actual = toeplitz.pad_coefs_to_n(toeplitz.multiply(COEFS[lhs], COEFS[rhs], n), n)
    np.testing.assert_allclose(actual, (L @ R)[:, 0], atol=1e-6)


def test_multiply_no_n_and_checks():
    lhs, rhs = np.array([1.0, 2, 3, 4]), np.array([5.0, 6, 0, 0])
    L, R = toeplitz.materialize_lower_triangular(lhs), toeplitz.materialize_lower_triangular(rhs)
    np.testing.assert_allclose(toeplitz.multiply(lhs, rhs, n=None), (L @ R)[:, 0], atol=1e-6)
    with pytest.raises(ValueError, match="lhs_coef and rhs_coef must have the same length"):
        toeplitz.multiply(lhs, np.array([5.0, 6]), n=None)
    # skip_checks: n is len(lhs_coef), as jax_privacy's convolve(...)[:n]
    np.testing.assert_allclose(toeplitz.multiply(lhs, [5.0, 6], skip_checks=True), [5, 16, 27, 38])


@pytest.mark.parametrize("n", [1, 3, 4, 9, 32])
def test_inverse_is_column_normalized(n):
    coef = np.array([1, 0.8, 0.6, 0.4])
    coef = coef / np.linalg.norm(coef[:n])
    C_inv = toeplitz.inverse_as_streaming_matrix(coef, column_normalize_for_n=n)
    C = np.linalg.inv(C_inv.materialize(n))
    np.testing.assert_allclose(np.linalg.norm(C, axis=0), np.ones(n), atol=1e-6)


@pytest.mark.parametrize("n", [1, 3, 4, 9, 32])
def test_inverse_is_correct(n):
    coef = np.array([1, 0.8, 0.6, 0.4])
    C_inv = toeplitz.inverse_as_streaming_matrix(coef, None)
    np.testing.assert_allclose(np.linalg.inv(C_inv.materialize(n)), toeplitz.materialize_lower_triangular(coef, n),
                               atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_inverse_toeplitz_coef(n):
    coef = np.linspace(1.0, 0.0, num=n)
    C = toeplitz.materialize_lower_triangular(coef)
    np.testing.assert_allclose(C @ toeplitz.materialize_lower_triangular(toeplitz.inverse_coef(coef)), np.eye(n),
                               atol=1e-6)


@pytest.mark.parametrize("b", [1, 2, 5, 10])
def test_banded_inverse_toeplitz_coef(b):
    n = 2 * b
    coef = np.linspace(1.0, 0.0, num=b)
    C = toeplitz.materialize_lower_triangular(coef, n)
    Cinv = toeplitz.materialize_lower_triangular(toeplitz.inverse_coef(coef, n), n)
    np.testing.assert_allclose(C @ Cinv, np.eye(n), atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 11])
@pytest.mark.parametrize("coef", [[1.0], [1.0, 0.5], list(np.linspace(1.0, 0.1, num=11))])
def test_single_participation_sensitivity(n, coef):
    np.testing.assert_allclose(toeplitz.minsep_sensitivity_squared(coef, n=n, min_sep=1, max_participations=1),
                               toeplitz.sensitivity_squared(coef, n))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 11])
@pytest.mark.parametrize("k", [1, 4, 11])
def test_sensitivity_squared_identity_and_tri(n, k):
    assert toeplitz.minsep_sensitivity_squared(strategy_coef=[1.0], n=n, min_sep=1, max_participations=k) == min(n, k)
    C = np.tri(n)
    np.testing.assert_allclose(toeplitz.minsep_sensitivity_squared(np.ones(n), n=n, min_sep=1, max_participations=k),
                               np.sum(np.sum(C[:, :k], axis=1) ** 2))


@pytest.mark.parametrize("n,epochs", [(1, 1), (2, 1), (2, 2), (10, 1), (10, 5), (10, 10)])
@pytest.mark.parametrize("bands", [2, 13, 10, 11])
def test_sensitivity_squared_fixed_epoch(n, epochs, bands):
    coef = np.linspace(1.0, 0.001, num=bands)
    C = toeplitz.materialize_lower_triangular(coef, n=n)
    expected = sensitivity.fixed_epoch_sensitivity(C, epochs) ** 2
    for k in [epochs, epochs + 10, None]:
        np.testing.assert_allclose(toeplitz.minsep_sensitivity_squared(coef, min_sep=n // epochs, max_participations=k,
                                                                       n=n), expected, atol=1e-6)


@pytest.mark.parametrize("n", [1, 5, 50])
@pytest.mark.parametrize("k", [1, 2, 5, 50])
def test_sensitivity_squared_min_sep_one(n, k):
    coef = np.sqrt(np.linspace(1.0, 0.001, num=n))
    C = toeplitz.materialize_lower_triangular(coef)
    np.testing.assert_allclose(toeplitz.minsep_sensitivity_squared(coef, min_sep=1, max_participations=k),
                               np.linalg.norm(np.sum(C[:, :k], axis=1)) ** 2, rtol=1e-10)


def test_sensitivity_squared_bad_input():
    with pytest.raises(ValueError, match="coef must be non-negative"):
        toeplitz.minsep_sensitivity_squared(strategy_coef=[-1.0], min_sep=1)
    with pytest.raises(ValueError, match="coef must be non-increasing, but found increase 1.0 at index 0"):
        toeplitz.minsep_sensitivity_squared(strategy_coef=[1.0, 2.0, 1.0], min_sep=1)
    with pytest.raises(ValueError, match="min_sep must be positive"):
        toeplitz.minsep_sensitivity_squared(strategy_coef=[1.0], min_sep=0)
    # skip_checks: the same formula, an upper bound or not
    assert toeplitz.minsep_sensitivity_squared([1.0, 2.0], min_sep=1, skip_checks=True) == 1 + 9


@pytest.mark.parametrize("name", range(len(NAMED_C_MATRIX_PARAMS)))
@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("skip_checks", [True, False])
def test_per_query_error(name, workload, skip_checks):
    _, coef, n = NAMED_C_MATRIX_PARAMS[name]
    _, true_n = toeplitz._reconcile(coef, n)
    w = workload_coef(workload, true_n)
    expected = oracle_errors(coef, n, w)
    inv_coef = toeplitz.inverse_coef(coef, n)
    kwargs = {"skip_checks": skip_checks, "workload_coef": w, "n": n}
    np.testing.assert_allclose(toeplitz.per_query_error(strategy_coef=coef, **kwargs), expected, rtol=1e-7)
    np.testing.assert_allclose(toeplitz.per_query_error(noising_coef=inv_coef, **kwargs), expected, rtol=1e-7)
    err = toeplitz.per_query_error(strategy_coef=np.array(coef), n=n, workload_coef=w)
    np.testing.assert_allclose(np.max(err), err[-1])   # max error is the last iterate


@pytest.mark.parametrize("n", range(1, 9))
def test_mean_loss(n):
    coef = np.array([1.0, 0.4, 0.3, 0.1])
    expected = toeplitz._l2_norm_squared(coef[:n]) * np.mean(oracle_errors(coef, n))
    np.testing.assert_allclose(toeplitz.loss(strategy_coef=coef, n=n), expected)
    np.testing.assert_allclose(toeplitz.loss(strategy_coef=coef, n=n), toeplitz.loss(strategy_coef=2.3 * coef, n=n))


@pytest.mark.parametrize("b", [1, 5, 10, 15])
def test_toeplitz_more_bands_is_better(b):
    coef1 = toeplitz.optimize_banded_toeplitz(16, b, max_optimizer_steps=25)
    coef2 = toeplitz.optimize_banded_toeplitz(16, b + 1, max_optimizer_steps=25)
    assert toeplitz.loss(strategy_coef=coef2, n=16) <= toeplitz.loss(strategy_coef=coef1, n=16)


def test_optimize_banded_toeplitz_for_amplifications():
    coef, stddev = toeplitz.optimize_coefs_for_amplifications(n=100, dataset_size=1024, expected_batch_size=16,
                                                              epsilon=2.0, delta=1e-6)
    assert stddev > 0
    assert len(coef) <= 1024 // 16


def test_large_and_small_epsilon():
    # Large epsilon: correlated noise beats amplification, so the most bands win.
    coef, stddev = toeplitz.optimize_coefs_for_amplifications(n=100, dataset_size=1000, expected_batch_size=100,
                                                              epsilon=20.0, delta=1e-6)
    assert stddev > 0 and len(coef) == 10
    # Small epsilon: amplification wins, one band.
    coef, stddev = toeplitz.optimize_coefs_for_amplifications(n=100, dataset_size=1000, expected_batch_size=100,
                                                              epsilon=0.1, delta=1e-6)
    assert stddev > 0 and len(coef) == 1


def test_helper():
    helper = toeplitz._AmplifiedBandMFHelper(n=100, dataset_size=100, batch_size=10, epsilon=2.0, delta=1e-6)
    assert helper.max_bands == 10
    assert helper.sensitivity(coef=np.array([1.0])) == 1.0
    assert helper.sensitivity(coef=np.array([1.0, 1.0])) == pytest.approx(np.sqrt(2), rel=1e-15)


def gaussian_noise_multiplier(epsilon, delta):
    """An independent oracle: the sigma at which one Gaussian mechanism is (epsilon, delta)-DP
    under RDP with dp_accounting's default orders (RDP alpha / (2 sigma^2), Proposition 12 of
    arXiv:2004.00010), by bisection to 1e-13."""
    orders = np.array([1 + x / 10 for x in range(1, 100)] + list(range(11, 64)) + [128, 256, 512, 1024], float)

    def eps(sigma):
        r = orders / (2 * sigma ** 2)
        values = np.where(orders > 1.01, r + np.log1p(-1 / orders) - np.log(delta * orders) / (orders - 1), np.inf)
        values = np.where(delta ** 2 + np.expm1(-r) > 0, 0, values)
        return max(0.0, values.min())

    lo, hi = 0.01, 10.0
    while hi - lo > 1e-13:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if eps(mid) <= epsilon else (mid, hi)
    return hi


def test_helper_stddev_at_max_bands():
    # With bands = max_bands there is no amplification: the stddev is that of the Gaussian
    # mechanism with the b-min-sep sensitivity.
    n, bands = 100, 10
    helper = toeplitz._AmplifiedBandMFHelper(n=n, dataset_size=100, batch_size=10, epsilon=2.0, delta=1e-6)
    coef = toeplitz.optimal_max_error_strategy_coefs(bands)
    sens = np.sqrt(toeplitz.minsep_sensitivity_squared(coef, min_sep=bands, max_participations=n // bands, n=n))
    expected = gaussian_noise_multiplier(2.0, 1e-6) * sens
    np.testing.assert_allclose(helper.required_stddev(coef=coef), expected, rtol=1e-5, atol=1e-5)


def test_helper_loss_table_and_checks():
    helper = toeplitz._AmplifiedBandMFHelper(n=64, dataset_size=160, batch_size=20, epsilon=2.0, delta=1e-6,
                                             reduction_fn=np.mean)
    results = helper.compute_loss_for_bands(max_optimizer_steps=20)
    assert [r["bands"] for r in results] == [1, 2, 4, 5, 8]
    best = helper.optimize_bands(max_optimizer_steps=20)
    assert best["loss"] == min(r["loss"] for r in results)
    with pytest.raises(ValueError, match="exceeds max_bands=8"):
        helper.compute_loss_for_bands(bands_list=[16])


# ---------------------------------------------------------------- MFKit's own checks

@pytest.mark.parametrize("n,b,k,min_sep", [(1, 1, 1, 1), (7, 3, 2, 2), (30, 5, None, 4), (30, 5, 3, 7),
                                           (50, 12, None, 5), (64, 64, 2, 9), (100, 3, None, 200),
                                           (97, 40, 4, 13), (10**12, 6, 10**9, 17)])
def test_minsep_sensitivity_is_exact(n, b, k, min_sep, rng):
    """The O(b) formula against jax_privacy's O(n) cumulative sums, in exact integers (for the
    huge n, the closed form of the residue classes)."""
    coef = np.sort(rng.integers(1, 50, size=b))[::-1].astype(float)
    got = toeplitz.minsep_sensitivity_squared(coef, min_sep=min_sep, max_participations=k, n=n)
    kk = min(k if k is not None else math.inf, -(-n // min_sep))
    c = [int(v) for v in coef]

    def v(i):   # V_i = sum of the k coefficients c[i - m s], m < k, inside [0, b)
        return sum(c[i - m * min_sep] for m in range(min(kk, i // min_sep + 1)) if i - m * min_sep < b)

    if n <= 10**4:
        exact = sum(v(i) ** 2 for i in range(n))
    else:   # every i in [b, k s) has V_i = the full sum of its residue class
        ends = [sum(c[j] for j in range(r, b, min_sep)) for r in range(min(min_sep, b))]
        exact = sum(v(i) ** 2 for i in range(b))
        exact += sum(((kk * min_sep - 1 - r) // min_sep - (b - 1 - r) // min_sep) * ends[r] ** 2 for r in range(len(ends)))
        for i in range(kk * min_sep, kk * min_sep + b):
            exact += (ends[i % min_sep] - sum(c[j] for j in range(i - kk * min_sep, -1, -min_sep) if j < b)) ** 2 \
                if i % min_sep < b else 0
    assert got == float(Fraction(exact))


def test_inverse_coef_exact_on_integers():
    # T([2, 1])^{-1} has coefficients (-1)^k / 2^(k+1), exact in binary.
    np.testing.assert_array_equal(toeplitz.inverse_coef([2.0, 1.0], 60), [(-1) ** k / 2.0 ** (k + 1) for k in range(60)])
    x = toeplitz.solve_banded([1.0, -1.0], np.arange(1.0, 41.0))
    np.testing.assert_array_equal(x, np.cumsum(np.arange(1.0, 41.0)))


@pytest.mark.parametrize("reduction", ["mean", "max", "last", "weights"])
@pytest.mark.parametrize("n", [1, 9, 40, 100])
def test_loss_gradient_matches_finite_differences(reduction, n, rng):
    coef = np.array([1.0, 0.6, 0.45, 0.2, 0.15, 0.1])
    fn = rng.uniform(0.1, 1.0, size=n) if reduction == "weights" else reduction
    value, grad = toeplitz.loss_and_gradient(coef, n, fn)
    weights = {"mean": np.full(n, 1 / n), "max": np.eye(n)[-1], "last": np.eye(n)[-1]}.get(reduction, fn)
    np.testing.assert_allclose(value, weights @ oracle_errors(coef, n) * np.sum(coef[:n] ** 2), rtol=1e-12)
    h = 1e-6
    for r in range(len(coef)):
        e = np.zeros(len(coef))
        e[r] = h
        fd = (toeplitz.loss(coef + e, n, fn) - toeplitz.loss(coef - e, n, fn)) / (2 * h)
        assert grad[r] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    assert grad @ coef == pytest.approx(0, abs=1e-10 * np.abs(grad).max())   # scale invariance


@pytest.mark.parametrize("kind", ["strategy", "noising"])
@pytest.mark.parametrize("workload", [None, [1.0, 0.9, 0.5, 0.1], "long"])
def test_per_query_error_gradient_matches_finite_differences(kind, workload, rng):
    n = 17
    coef = np.array([1.0, -0.3, 0.2, 0.05]) if kind == "strategy" else np.array([1.0, -0.5, -0.1, 0.02, 0.3])
    w = np.linspace(1.0, 0.2, 25) if workload == "long" else workload
    count = len(toeplitz.per_query_error(**{f"{kind}_coef": coef}, n=n, workload_coef=w))
    weights = rng.uniform(0.1, 1.0, size=count)
    for fn, vec in (("mean", np.full(count, 1 / count)), ("last", np.eye(count)[-1]), (weights, weights)):
        value, grad = toeplitz.per_query_error_and_gradient(**{f"{kind}_coef": coef}, n=n, workload_coef=w,
                                                            reduction_fn=fn)
        errors = toeplitz.per_query_error(**{f"{kind}_coef": coef}, n=n, workload_coef=w)
        assert value == pytest.approx(vec @ errors, rel=1e-12)
        h = 1e-6
        for r in range(len(coef)):
            e = np.zeros(len(coef))
            e[r] = h
            up = vec @ toeplitz.per_query_error(**{f"{kind}_coef": coef + e}, n=n, workload_coef=w)
            down = vec @ toeplitz.per_query_error(**{f"{kind}_coef": coef - e}, n=n, workload_coef=w)
            assert grad[r] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8)


def test_gradient_is_zero_past_n_and_loss_accepts_any_callable():
    coef = np.array([1.0, 0.5, 0.25, 0.125])
    value, grad = toeplitz.loss_and_gradient(coef, 2)
    assert grad.shape == (4,) and np.all(grad[2:] == 0)
    errors = toeplitz.per_query_error(strategy_coef=coef, n=9)
    assert toeplitz.loss(coef, 9, np.median) == pytest.approx(np.median(errors) * np.sum(coef ** 2), rel=1e-15)
    assert toeplitz.loss(coef, 9, "last") == toeplitz.loss(coef, 9, np.max) == toeplitz.loss(coef, 9, lambda v: v[-1])
    with pytest.raises(ValueError, match="not recognized"):
        toeplitz.loss_and_gradient(coef, 9, np.median)


def test_large_n_matches_a_dense_oracle_in_pieces():
    # n = 1500: the per-query error, inverse coefficients and solve against dense NumPy.
    coef = toeplitz.optimal_max_error_strategy_coefs(40) * np.exp(-0.05 * np.arange(40))
    n = 1500
    C = toeplitz.materialize_lower_triangular(coef, n)
    Cinv = np.linalg.inv(C)
    np.testing.assert_allclose(toeplitz.inverse_coef(coef, n), Cinv[:, 0], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(toeplitz.per_query_error(strategy_coef=coef, n=n),
                               np.cumsum(np.cumsum(Cinv[:, 0]) ** 2), rtol=1e-10)


@pytest.mark.parametrize("name", ["fhu16", "optimized64", "oscillating", "marginal", "unstable"])
def test_converged_tail_matches_the_full_recursion(name):
    """Past its transient a stable decoder is its limit 1 / c(1); errors, losses and gradients that
    stop there agree with the full recursion (`solve_banded` of a vector never stops early)."""
    n = 60_000
    coef = {"fhu16": toeplitz.optimal_max_error_strategy_coefs(16),
            "optimized64": toeplitz.optimize_banded_toeplitz(4096, 64, max_optimizer_steps=40),
            "oscillating": np.array([1.0, 0.9, 0.6, -0.3]),
            "marginal": np.array([1.0, 1.0]),        # a root on the unit circle: never stops early
            "unstable": np.array([1.0, 1.0001])}[name]
    beta = toeplitz.solve_banded(coef, np.ones(n))
    gamma = toeplitz.solve_banded(coef, beta)
    errors = np.cumsum(beta.astype(np.longdouble) ** 2).astype(np.float64)   # no cumulative rounding
    np.testing.assert_allclose(toeplitz.per_query_error(strategy_coef=coef, n=n), errors, rtol=1e-12)
    for fn, W in (("mean", (n - np.arange(n)) / n), ("last", np.ones(n))):
        value, grad = toeplitz.loss_and_gradient(coef, n, fn)
        E, g = W @ beta ** 2, 2 * W * beta
        G = np.array([g[r:] @ gamma[:n - r] for r in range(len(coef))])
        S = coef @ coef
        assert value == pytest.approx(S * E, rel=1e-12)
        np.testing.assert_allclose(grad, 2 * coef * E - S * G, rtol=1e-9, atol=1e-12 * np.abs(S * G).max())


def test_inverse_stream_float32_in_place_and_state(rng):
    coef = np.array([1.0, 0.7, 0.4, 0.2, 0.1])
    n = 40
    inv = toeplitz.inverse_as_streaming_matrix(coef)
    assert inv.num_stages == 1
    expected = np.linalg.inv(toeplitz.materialize_lower_triangular(coef, n))
    z64 = rng.standard_normal((n, 3, 70))
    big = z64.astype(np.float32)
    out = sm.multiply_array(inv, big, out=big)
    assert out is big and big.dtype == np.float32
    np.testing.assert_allclose(big, np.tensordot(expected, z64, axes=1), rtol=1e-4, atol=1e-4)
    # streaming one slice at a time, float64, a strided view
    stream = inv.stream((70,), np.float64)
    view = z64[:, 1, :]
    steps = np.stack([stream.next(view[t]) for t in range(n)])
    np.testing.assert_allclose(steps, expected @ view, rtol=1e-12, atol=1e-12)
    # column-normalized: past n the rows are scaled by |coef[0]|
    unit = coef / np.linalg.norm(coef)
    cn = toeplitz.inverse_as_streaming_matrix(unit, column_normalize_for_n=8).materialize(12)
    C8 = np.linalg.inv(cn[:8, :8])
    np.testing.assert_allclose(np.linalg.norm(C8, axis=0), 1, rtol=1e-12)
    scale = np.sqrt(np.cumsum(toeplitz.pad_coefs_to_n(unit, 8) ** 2))[::-1]
    raw = toeplitz.inverse_as_streaming_matrix(unit).materialize(12)
    np.testing.assert_allclose(cn[8:], raw[8:] * abs(unit[0]), rtol=1e-12)
    np.testing.assert_allclose(cn[3], raw[3] * scale[3], rtol=1e-12)


def test_inverse_pickles_and_copies_to_an_equal_matrix():
    import copy
    import pickle
    inv = toeplitz.inverse_as_streaming_matrix([1.0, 0.6, 0.3], column_normalize_for_n=5)
    for other in (pickle.loads(pickle.dumps(inv)), copy.deepcopy(inv), copy.copy(inv)):
        assert other == inv and other._handle.value != inv._handle.value
        np.testing.assert_array_equal(other.materialize(7), inv.materialize(7))
    product = sm.prefix_sum() @ toeplitz.inverse_as_streaming_matrix([2.0, 1.0])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(product)).materialize(4), product.materialize(4))
    assert toeplitz.inverse_as_streaming_matrix([1.0, 0.5]) != toeplitz.inverse_as_streaming_matrix([1.0, 0.5], 3)


def test_keeps_dtypes_and_writes_out(rng):
    c32 = np.array([1.0, 0.5, 0.25], dtype=np.float32)
    assert toeplitz.pad_coefs_to_n(c32, 5).dtype == np.float32
    assert toeplitz.materialize_lower_triangular(c32).dtype == np.float32
    assert toeplitz.inverse_coef(c32, 6).dtype == np.float32
    assert toeplitz.multiply(c32, c32).dtype == np.float32
    assert toeplitz.multiply(c32, c32.astype(np.float64)).dtype == np.float64
    rhs = rng.standard_normal((9, 4)).astype(np.float32)
    x = toeplitz.solve_banded(c32, rhs, out=rhs)
    assert x is rhs and x.dtype == np.float32
    out = np.empty((12, 7))[::2, 3]     # strided output
    toeplitz.inverse_coef([2.0, 1.0], 6, out=out)
    np.testing.assert_array_equal(out, [(-1) ** k / 2.0 ** (k + 1) for k in range(6)])
    assert toeplitz.per_query_error(strategy_coef=c32, n=4).dtype == np.float64


def test_errors_leave_out_untouched():
    out = np.full(4, 7.0)
    with pytest.raises(ValueError, match=r"^inverse_coef: coef\[0\] must be nonzero"):
        toeplitz.inverse_coef([0.0, 1.0], 4, out=out)
    assert np.all(out == 7)
    with pytest.raises(ValueError, match=r"^per_query_error: Specify exactly one of strategy_coef or noising_coef\."):
        toeplitz.per_query_error(n=3)
    with pytest.raises(ValueError, match="Specify exactly one"):
        toeplitz.per_query_error(strategy_coef=[1.0], noising_coef=[1.0])
    with pytest.raises(ValueError, match="must be finite"):
        toeplitz.per_query_error(strategy_coef=[1.0, np.nan])
    with pytest.raises(ValueError, match="must have at least one entry"):
        toeplitz.sensitivity_squared([])
    with pytest.raises(ValueError, match="must be one-dimensional|must be 1-dimensional|one-dimensional"):
        toeplitz.pad_coefs_to_n(np.ones((2, 2)))
    with pytest.raises(ValueError, match="n must be positive"):
        toeplitz.pad_coefs_to_n([1.0], -3)
    with pytest.raises(TypeError):
        toeplitz.pad_coefs_to_n([1.0], 2.5)
    with pytest.raises(TypeError, match="must be real"):
        toeplitz.inverse_coef(np.array([1 + 1j]))
    with pytest.raises(ValueError, match="shape"):
        toeplitz.pad_coefs_to_n([1.0], 3, out=np.empty(2))
    with pytest.raises(ValueError, match="overlaps itself"):
        toeplitz.pad_coefs_to_n([1.0, 2.0], 3, out=np.lib.stride_tricks.as_strided(np.empty(1), (3,), (0,)))
    with pytest.raises(ValueError, match=r"strategy_coef.shape=\(3,\) != bands=4"):
        toeplitz.optimize_banded_toeplitz(10, 4, strategy_coef=[1.0, 0.5, 0.2])
    with pytest.raises(ValueError, match="max_participations must be positive"):
        toeplitz.minsep_sensitivity_squared([1.0], min_sep=1, max_participations=0)
    with pytest.raises(ValueError, match="column_normalize_for_n must be positive"):
        toeplitz.inverse_as_streaming_matrix([1.0], column_normalize_for_n=0)
    with pytest.raises(ValueError, match="weights must have"):
        toeplitz.loss_and_gradient([1.0, 0.5], 4, np.ones(3))
    with pytest.raises(ValueError, match="Sampling rate must be in"):
        toeplitz._AmplifiedBandMFHelper(10, 100, 10, 1.0, 1e-6).total_noise_multiplier(20)
    with pytest.raises(ValueError, match="target_epsilon must be nonnegative"):
        toeplitz._AmplifiedBandMFHelper(10, 100, 10, -1.0, 1e-6).total_noise_multiplier(2)
    with pytest.raises(ValueError, match="did not bracket a solution"):   # epsilon too large for sigma >= 0.01
        toeplitz._AmplifiedBandMFHelper(10, 100, 10, 1e6, 0.5).total_noise_multiplier(2)


def test_optimize_callback_reductions_and_sign():
    seen = []
    coef = toeplitz.optimize_banded_toeplitz(200, 6, max_optimizer_steps=30,
                                             callback=lambda a: seen.append(a) or a.step == 3)
    assert [a.step for a in seen] == [0, 1, 2, 3]
    assert all(b.loss <= a.loss for a, b in zip(seen, seen[1:]))
    assert toeplitz.loss(coef, 200) == pytest.approx(seen[-1].loss, rel=1e-12)
    start = -toeplitz.optimal_max_error_strategy_coefs(6)
    flipped = toeplitz.optimize_banded_toeplitz(200, 6, strategy_coef=start, max_optimizer_steps=0)
    np.testing.assert_allclose(flipped, start / np.linalg.norm(start), rtol=1e-15)
    last = toeplitz.optimize_banded_toeplitz(200, 6, reduction_fn=lambda v: v[-1])
    weights = toeplitz.optimize_banded_toeplitz(200, 6, reduction_fn=np.eye(200)[-1])
    np.testing.assert_allclose(last, weights, rtol=1e-9)
    assert toeplitz.loss(last, 200, np.max) < toeplitz.loss(coef, 200, np.max)


def test_module_examples_run():
    failures, _ = doctest.testmod(toeplitz, verbose=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0

"""mfkit.banded: parity with jax_privacy's reference outputs, dense NumPy oracles, finite
differences for the gradient, and the error paths."""
import numpy as np
import pytest

from conftest import load_reference
from mfkit import banded
from mfkit import streaming_matrix as sm
from mfkit.banded import ColumnNormalizedBanded


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b))


def masked_random(rng, n, b, low=0.5, high=1.5):
    p = rng.uniform(low, high, (n, b))
    p[np.add.outer(np.arange(n), np.arange(b)) >= n] = 0
    return p


def dense_C(params):
    """The definition: C_raw[j + r, j] = params[j, r] (j + r < n), columns normalized."""
    n, b = params.shape
    C = np.zeros((n, n))
    for j in range(n):
        for r in range(b):
            if j + r < n:
                C[j + r, j] = params[j, r]
    return C / np.linalg.norm(C, axis=0)


@pytest.mark.parametrize("name", ["banded_small", "banded_medium"])
def test_reference_parity(name):
    d = load_reference(name)
    n, b = int(d["n"]), int(d["bands"])
    D = ColumnNormalizedBanded.default(n, b)
    assert (D.n, D.bands) == (n, b)
    assert rel(D.params, d["default_params"]) < 1e-14
    assert rel(D.materialize(), d["default_C"]) < 1e-10
    assert rel(banded.per_query_error(D), d["default_err"]) < 1e-10
    T = ColumnNormalizedBanded.from_banded_toeplitz(n, d["coefs"])
    assert rel(T.params, d["toeplitz_params"]) < 1e-14
    P = ColumnNormalizedBanded(d["params"])
    assert rel(P.materialize(), d["C"]) < 1e-10
    assert rel(banded.per_query_error(P), d["err"]) < 1e-10
    A = sm.momentum_sgd_matrix(0.9, np.linspace(1, 0.1, n))
    assert rel(banded.per_query_error(P, A), d["err_momentum"]) < 1e-10
    inv = P.inverse_as_streaming_matrix()
    assert rel(sm.multiply_array(inv, d["z"]), d["inv_z"]) < 1e-10


def test_jax_privacy_unit_cases():
    # default with one band is the identity; error of the identity under prefix sums.
    np.testing.assert_array_equal(ColumnNormalizedBanded.default(8, 1).materialize(), np.eye(8))
    assert banded.per_query_error(ColumnNormalizedBanded.default(9, 1), sm.prefix_sum()).mean() == pytest.approx(5.0, rel=1e-15)
    # parameter mapping
    C = ColumnNormalizedBanded(np.array([[1, 4], [2, 5], [3, 6]])).materialize()
    expected = np.array([[1 / np.sqrt(17), 0, 0], [4 / np.sqrt(17), 2 / np.sqrt(29), 0], [0, 5 / np.sqrt(29), 1]])
    np.testing.assert_allclose(C, expected, rtol=1e-15, atol=0)
    # Toeplitz constructor
    T = ColumnNormalizedBanded.from_banded_toeplitz(5, np.array([[1, 2, 3]]))
    exp = np.array([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 0], [1, 0, 0]]) / np.sqrt(14)
    np.testing.assert_allclose(T.params, exp, rtol=1e-15)


@pytest.mark.parametrize("n,b", [(1, 1), (5, 5), (16, 3), (16, 16), (31, 7)])
def test_default_normalized_banded_and_inverse(n, b, rng):
    C = ColumnNormalizedBanded.default(n, b).materialize()
    np.testing.assert_allclose(np.linalg.norm(C, axis=0), 1, rtol=1e-14)
    I, J = np.indices((n, n))
    assert np.all(C[(I < J) | (I - J >= b)] == 0)
    Cinv = ColumnNormalizedBanded.default(n, b).inverse_as_streaming_matrix()
    np.testing.assert_allclose(Cinv.materialize(n), np.linalg.inv(C), rtol=1e-10, atol=1e-12)
    rhs = np.arange(n * 6, dtype=np.float64).reshape(n, 2, 3)
    np.testing.assert_allclose(sm.multiply_array(Cinv, rhs), np.tensordot(np.linalg.inv(C), rhs, axes=1),
                               rtol=1e-10, atol=1e-9)


def test_lower_right_triangle_is_ignored(rng):
    n, b = 10, 4
    p = masked_random(rng, n, b)
    q = p.copy()
    q[np.add.outer(np.arange(n), np.arange(b)) >= n] = 7.0
    P, Q = ColumnNormalizedBanded(p), ColumnNormalizedBanded(q)
    np.testing.assert_array_equal(Q.params, q)   # kept as given
    np.testing.assert_array_equal(P.materialize(), Q.materialize())
    np.testing.assert_array_equal(banded.per_query_error(P), banded.per_query_error(Q))
    z = rng.standard_normal((n, 3))
    np.testing.assert_array_equal(sm.multiply_array(P.inverse_as_streaming_matrix(), z),
                                  sm.multiply_array(Q.inverse_as_streaming_matrix(), z))
    _, g = banded.loss_and_gradient(Q)
    assert np.all(g[np.add.outer(np.arange(n), np.arange(b)) >= n] == 0)


def test_inverse_float32_in_place_stream_and_past_n(rng):
    n, b = 20, 5
    P = ColumnNormalizedBanded(masked_random(rng, n, b))
    inv = P.inverse_as_streaming_matrix()
    Cinv = np.linalg.inv(dense_C(P.params))
    z64 = rng.standard_normal((n + 4, 3, 7))
    expected = np.tensordot(Cinv, z64[:n], axes=1)
    # float32, in place, non-contiguous view
    big = z64.astype(np.float32).transpose(0, 2, 1).copy().transpose(0, 2, 1)
    out = sm.multiply_array(inv, big, out=big)
    assert out is big and big.dtype == np.float32
    np.testing.assert_allclose(big[:n], expected, rtol=2e-4, atol=2e-4)
    # past row n: the identity
    np.testing.assert_allclose(big[n:], z64[n:].astype(np.float32), rtol=0, atol=0)
    # step by step with a stream, float64
    stream = inv.stream((3, 7), np.float64)
    steps = np.stack([stream.next(z64[t]) for t in range(n)])
    np.testing.assert_allclose(steps, expected, rtol=1e-11, atol=1e-12)


def test_per_query_error_matches_dense_oracle_for_workloads(rng):
    n, b = 33, 6
    P = ColumnNormalizedBanded(masked_random(rng, n, b))
    Cinv = np.linalg.inv(dense_C(P.params))
    workloads = [
        sm.identity(),
        sm.prefix_sum() * 2.5,
        sm.momentum_sgd_matrix(0.9, np.linspace(1, 0.1, n)),
        sm.diagonal(rng.uniform(0.5, 2, n)) @ sm.prefix_sum() @ sm.momentum_sgd_matrix(0.5) @ sm.diagonal([2.0, 1.0, 0.5]),
        sm.prefix_sum().scale_rows_and_columns(rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 1.5, 10)),
    ]
    for A in workloads:
        dense = A.materialize(n) @ Cinv
        np.testing.assert_allclose(banded.per_query_error(P, A), np.sum(dense ** 2, axis=1), rtol=1e-10)


def fd_gradient(params, A, reduction, h=1e-6):
    n, b = params.shape
    g = np.zeros_like(params)
    for j in range(n):
        for r in range(b):
            if j + r >= n:
                continue
            up, dn = params.copy(), params.copy()
            up[j, r] += h
            dn[j, r] -= h
            g[j, r] = (banded.loss_and_gradient(ColumnNormalizedBanded(up), A, reduction)[0]
                       - banded.loss_and_gradient(ColumnNormalizedBanded(dn), A, reduction)[0]) / (2 * h)
    return g


@pytest.mark.parametrize("workload", ["prefix", "momentum", "product"])
@pytest.mark.parametrize("reduction", ["mean", "max", "last", "weights"])
def test_gradient_matches_finite_differences(workload, reduction, rng):
    n, b = 17, 4
    p = masked_random(rng, n, b)
    A = {"prefix": None,
         "momentum": sm.momentum_sgd_matrix(0.9, np.linspace(1, 0.1, n)),
         "product": sm.diagonal(rng.uniform(0.5, 2, n)) @ sm.prefix_sum() @ sm.momentum_sgd_matrix(0.5)}[workload]
    red = rng.standard_normal(n) if reduction == "weights" else reduction
    loss, g = banded.loss_and_gradient(ColumnNormalizedBanded(p), A, red)
    e = banded.per_query_error(ColumnNormalizedBanded(p), A)
    expected_loss = {"mean": e.mean(), "max": e.max(), "last": e[-1]}.get(reduction)
    if expected_loss is None:
        expected_loss = red @ e
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    fd = fd_gradient(p, A, red)
    assert np.max(np.abs(g - fd)) < 1e-6 * np.max(np.abs(fd))


def test_gradient_with_many_checkpoint_segments(rng):
    # n = 150 gives 13 segments of 12 steps; the gradient must not depend on the segmenting.
    n, b = 150, 3
    p = masked_random(rng, n, b)
    _, g = banded.loss_and_gradient(ColumnNormalizedBanded(p))
    for j, r in [(0, 0), (1, 2), (75, 1), (140, 0), (147, 2), (149, 0)]:
        h = 1e-6
        up, dn = p.copy(), p.copy()
        up[j, r] += h
        dn[j, r] -= h
        fd = (banded.loss_and_gradient(ColumnNormalizedBanded(up))[0]
              - banded.loss_and_gradient(ColumnNormalizedBanded(dn))[0]) / (2 * h)
        assert g[j, r] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_minsep_sensitivity_squared():
    C = ColumnNormalizedBanded.default(32, 4)
    with pytest.raises(ValueError, match="must be greater than or equal to bands=4"):
        banded.minsep_sensitivity_squared(C, 3, 9)
    assert banded.minsep_sensitivity_squared(C, 4, None) == 8
    assert banded.minsep_sensitivity_squared(C, 4, 6) == 6
    assert banded.minsep_sensitivity_squared(C, 3, 9, skip_checks=True) == 9
    with pytest.raises(ValueError, match=r"n=40 must be less than or equal to strategy.n=32."):
        banded.minsep_sensitivity_squared(C, 4, n=40)
    assert banded.minsep_sensitivity_squared(C, 4, n=40, skip_checks=True) == 10
    assert banded.minsep_sensitivity_squared(C, 4, n=16) == 4
    d = load_reference("sensitivity")
    C48 = ColumnNormalizedBanded.default(48, 4)
    got = [banded.minsep_sensitivity_squared(C48, m) for m in range(4, 13)]
    np.testing.assert_array_equal(got, d["minsep"])


def test_errors(rng):
    with pytest.raises(ValueError, match="singular"):
        ColumnNormalizedBanded(np.array([[1.0, 0.5], [0.0, 0.5], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="two-dimensional"):
        ColumnNormalizedBanded(np.ones(4))
    with pytest.raises(ValueError, match="bands must be at most n"):
        ColumnNormalizedBanded(np.ones((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        ColumnNormalizedBanded(np.array([[1.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"len\(coefs\) must be in the range \[1, n\], got 3"):
        ColumnNormalizedBanded.from_banded_toeplitz(2, [1, 2, 3])
    with pytest.raises(ValueError, match=r"len\(coefs\) must be in the range \[1, n\], got 0"):
        ColumnNormalizedBanded.from_banded_toeplitz(2, [])
    with pytest.raises(ValueError, match="must be positive"):
        ColumnNormalizedBanded.default(0, 1)
    with pytest.raises(MemoryError, match="too large"):
        ColumnNormalizedBanded.default(10**15, 64)
    with pytest.raises(MemoryError, match="too large"):
        banded.optimize(2**62, bands=4)
    with pytest.raises(ValueError, match=r"len\(coefs\) must be in the range"):
        ColumnNormalizedBanded.default(3, 4)
    C = ColumnNormalizedBanded.default(10, 3)
    with pytest.raises(ValueError, match="does not support|BandedInverseStage"):
        banded.per_query_error(C, sm.prefix_sum() @ C.inverse_as_streaming_matrix())
    with pytest.raises(TypeError, match="ColumnNormalizedBanded"):
        banded.per_query_error(np.eye(3))
    with pytest.raises(TypeError, match="StreamingMatrix"):
        banded.per_query_error(C, np.eye(10))
    with pytest.raises(ValueError, match=r"weights must have shape \(10,\)"):
        banded.loss_and_gradient(C, None, np.ones(3))
    with pytest.raises(ValueError, match="reduction_fn must be"):
        banded.loss_and_gradient(C, None, "median")
    with pytest.raises(ValueError, match="not recognized"):
        banded.loss_and_gradient(C, None, np.median)
    with pytest.raises(TypeError, match="float32 or float64"):
        C.materialize(dtype=np.int32)
    with pytest.raises(ValueError, match=r"shape \(10, 10\)"):
        C.materialize(out=np.empty((9, 9)))
    with pytest.raises(ValueError, match="min_sep must be positive"):
        banded.minsep_sensitivity_squared(C, 0)
    params = C.params
    with pytest.raises(ValueError):
        params[0, 0] = 2.0   # read-only


def test_reductions_by_callable():
    C = ColumnNormalizedBanded.default(12, 3)
    e = banded.per_query_error(C)
    assert banded.loss_and_gradient(C, None, np.mean)[0] == pytest.approx(e.mean(), rel=1e-14)
    assert banded.loss_and_gradient(C, None, np.max)[0] == pytest.approx(e.max(), rel=1e-14)
    assert banded.loss_and_gradient(C, None, lambda v: v[-1])[0] == pytest.approx(e[-1], rel=1e-14)


@pytest.mark.parametrize("n,b", [(1, 1), (7, 1), (7, 2)])
def test_one_band_and_tiny_sizes(n, b, rng):
    p = masked_random(rng, n, b)
    C = ColumnNormalizedBanded(p)
    for A in (sm.identity(), None, sm.momentum_sgd_matrix(0.9)):
        dense = (A or sm.prefix_sum()).materialize(n) @ np.linalg.inv(dense_C(p))
        np.testing.assert_allclose(banded.per_query_error(C, A), np.sum(dense ** 2, axis=1), rtol=1e-13)
    assert banded.optimize(1, bands=1, max_optimizer_steps=5).params.tolist() == [[1.0]]


def _ram_and_swap_bytes():
    try:
        info = dict(line.split(":", 1) for line in open("/proc/meminfo"))
    except OSError:
        return None
    return sum(int(info[k].split()[0]) * 1024 for k in ("MemTotal", "SwapTotal"))


def test_huge_bands_reported_before_any_allocation():
    # The default coefficients used to be built (2^32 or 2^62 doubles) before the size check:
    # an allocation abort or a segfault of the host process.
    for n, b in [(2**32, 2**32), (2**62, 2**62)]:
        with pytest.raises(MemoryError, match="too large"):
            ColumnNormalizedBanded.default(n, b)
        with pytest.raises(MemoryError, match="too large"):
            banded.optimize(n, bands=b, max_optimizer_steps=1)


def test_size_under_the_cap_but_beyond_memory_is_a_memory_error():
    # n b = 2^32 is under the 2^33 cap, but its ~112 GB of work copies are not available: this
    # used to abort the process in a Swift array allocation.
    n, b = 2**31, 2
    total = _ram_and_swap_bytes()
    if total is None or total >= (3 * n * b + n) * 8:
        pytest.skip("needs a machine with less than 112 GB of RAM + swap")
    for make in (lambda: ColumnNormalizedBanded.default(n, b),
                 lambda: ColumnNormalizedBanded.from_banded_toeplitz(n, [1.0, 0.5]),
                 lambda: banded.optimize(n, bands=b, max_optimizer_steps=1)):
        with pytest.raises(MemoryError, match="cannot allocate a strategy"):
            make()


def test_minsep_sensitivity_with_huge_n_does_not_overflow():
    # ceil(n / min_sep) was computed as (n + min_sep - 1) / min_sep: negative for n near 2^63
    # (and an overflow trap in a debug build).
    C = ColumnNormalizedBanded.default(6, 2)
    for n, min_sep in [(2**63 - 1, 2), (2**63 - 1, 3), (2**63 - 2, 2**62), (2**63 - 1, 2**63 - 1)]:
        assert banded.minsep_sensitivity_squared(C, min_sep, None, n, skip_checks=True) == -(-n // min_sep)
    assert banded.minsep_sensitivity_squared(C, 2, 5, 2**63 - 1, skip_checks=True) == 5


def test_integers_beyond_int64_are_refused_not_wrapped():
    # ctypes wraps 2^64 to 0 silently: n=2^64 used to mean "the strategy's n" and
    # max_optimizer_steps=2^64 ran zero steps.
    C = ColumnNormalizedBanded.default(6, 2)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        banded.minsep_sensitivity_squared(C, 2, None, 2**64)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        banded.minsep_sensitivity_squared(C, 2, 2**63)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        ColumnNormalizedBanded.default(2**64 + 4, 2)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        banded.optimize(6, bands=2, max_optimizer_steps=2**64)
    with pytest.raises(ValueError, match="non-negative"):
        banded.optimize(6, bands=2, max_optimizer_steps=-1)
    assert banded.minsep_sensitivity_squared(C, 2, 2**63 - 1) == 3


def test_complex_parameters_are_refused_not_truncated():
    with pytest.raises(TypeError, match="must be real"):
        ColumnNormalizedBanded(np.ones((3, 2), complex))
    with pytest.raises(TypeError, match="must be real"):
        ColumnNormalizedBanded.from_banded_toeplitz(4, [1.0, 0.5j])
    with pytest.raises(TypeError, match="must be real"):
        banded.loss_and_gradient(ColumnNormalizedBanded.default(3, 2), None, np.ones(3, complex))
    C = ColumnNormalizedBanded(np.ones((3, 2), np.float32))
    assert C.params.dtype == np.float64


def test_self_overlapping_output_is_refused_untouched():
    from numpy.lib.stride_tricks import as_strided
    base = np.full(8, 7.0)
    out = as_strided(base, (4, 4), (0, 8), writeable=True)
    with pytest.raises(ValueError, match="overlaps itself"):
        ColumnNormalizedBanded.default(4, 2).materialize(out=out)
    np.testing.assert_array_equal(base, 7.0)


def test_error_model_work_space_beyond_memory_is_a_memory_error():
    # n = b = 4096: 128 MB of parameters, but the gradient's checkpoints need ~26 GB; the
    # allocation used to fail inside the kernel and abort the process.
    total = _ram_and_swap_bytes()
    if total is None or total >= 3288866816 * 8:
        pytest.skip("needs a machine with less than 26 GB of RAM + swap")
    C = ColumnNormalizedBanded.default(4096, 4096)
    with pytest.raises(MemoryError, match="error model's work space"):
        banded.loss_and_gradient(C)
    with pytest.raises(MemoryError, match="error model's work space"):
        banded.optimize(4096, bands=4096, C=C, max_optimizer_steps=1)


def test_workload_with_huge_state_is_a_memory_error():
    # 2000 prefix-sum stages (q = 2000) over a 10^4-step diagonal schedule: the workload's
    # per-step maps need 10^4 x (q+1)^2 doubles (320 GB); their allocation used to abort.
    total = _ram_and_swap_bytes()
    if total is None or total >= 40040010000 * 8:
        pytest.skip("needs a machine with less than 320 GB of RAM + swap")
    A = sm.diagonal(np.ones(10000))
    for _ in range(2000):
        A = A @ sm.prefix_sum()
    C = ColumnNormalizedBanded.default(10000, 1)
    for call in (lambda: banded.per_query_error(C, A), lambda: banded.loss_and_gradient(C, A),
                 lambda: banded.optimize(10000, bands=1, A=A, max_optimizer_steps=1)):
        with pytest.raises(MemoryError, match="per-step maps"):
            call()

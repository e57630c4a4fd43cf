"""mfkit.buffered_toeplitz against independent oracles: jax_privacy's reference outputs and
their 50-digit exact values (python/tests/data/jax_privacy/blt_*.npz), dense NumPy definitions,
exact rational arithmetic (fractions), finite differences for gradients, and the cases of
jax_privacy's own buffered_toeplitz_test.py ported to NumPy."""
import doctest
import math
import pickle
import warnings
from fractions import Fraction

import numpy as np
import pytest

from conftest import load_reference
from mfkit import buffered_toeplitz as bt
from mfkit import streaming_matrix as sm
from mfkit import toeplitz
from mfkit.buffered_toeplitz import BufferedToeplitz

EXACT_RTOL = 1e-12   # against the 50-digit values (the brief's bound is 1e-10)


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) if a.size else 0.0


def make_blt(buf_decay, output_scale):
    return BufferedToeplitz.build(buf_decay=buf_decay, output_scale=output_scale)


# ---------------------------------------------------------------- dense / exact oracles
def coefs_oracle(blt, n):
    """c_0 = 1, c_m = sum_j omega_j theta_j^(m-1), in exact rationals."""
    th = [Fraction(float(t)) for t in blt.buf_decay]
    om = [Fraction(float(w)) for w in blt.output_scale]
    return [Fraction(1)] + [sum(w * t ** (m - 1) for t, w in zip(th, om)) for m in range(1, n)]


def toeplitz_dense(coefs):
    n = len(coefs)
    c = np.asarray(coefs, dtype=float)
    return np.array([[c[i - j] if i >= j else 0.0 for j in range(n)] for i in range(n)])


def per_query_error_noising(coefs):
    """Per-query errors of the prefix-sum workload for noising coefficients (cumsum(cumsum(c)^2))."""
    b = np.cumsum(np.asarray(coefs, dtype=np.longdouble))
    return np.cumsum(b * b)


def minsep_sensitivity_oracle(coefs, min_sep, k):
    """sum_t v_t^2 with v_t = sum_{i<k} c_{t - i min_sep} (non-increasing nonnegative coefs)."""
    c = np.asarray(coefs, dtype=np.longdouble)
    n = len(c)
    v = np.zeros(n, dtype=np.longdouble)
    for t in range(n):
        for i in range(k):
            if t - i * min_sep >= 0:
                v[t] += c[t - i * min_sep]
    return float(v @ v)


def brute_force_max_loss(blt, n, min_sep=1, max_participations=None):
    """Max error (dense A C^{-1}) x min-sep sensitivity from the coefficients, after the checks
    jax_privacy's toeplitz.minsep_sensitivity_squared makes."""
    coef = blt.toeplitz_coefs(n).astype(float)
    assert np.all(coef >= 0) and (n == 1 or np.max(np.diff(coef)) <= 0)
    k = -(-n // min_sep) if max_participations is None else min(max_participations, -(-n // min_sep))
    sens = minsep_sensitivity_oracle(coef, min_sep, k)
    C = toeplitz_dense(coef)
    B = np.tril(np.ones((n, n))) @ np.linalg.inv(C)
    return sens * float(np.sum(B[-1] ** 2))


def identity_max_loss(n, min_sep, max_participations=None):
    k = -(-n // min_sep) if max_participations is None else min(max_participations, -(-n // min_sep))
    return k * n


def fd_grad(f, blt, h=1e-5):
    """Central finite differences of f with respect to buf_decay and output_scale (given order)."""
    out = []
    for field in ("buf_decay", "output_scale"):
        g = np.zeros(len(blt.buf_decay))
        for j in range(len(g)):
            vals = []
            for s in (1, -1):
                bd, os_ = np.array(blt.buf_decay), np.array(blt.output_scale)
                arr = bd if field == "buf_decay" else os_
                # Steps on the scale over which f changes: |omega|, and 1 - theta for a decay.
                step = h * (abs(arr[j]) if field == "output_scale" else min(1.0, abs(1 - arr[j])))
                arr[j] += s * step
                vals.append((f(BufferedToeplitz(bd, os_)), step))
            g[j] = (vals[0][0] - vals[1][0]) / (2 * vals[0][1])
        out.append(g)
    return out


# jax_privacy's BLT_TUPLES.
BLT_TUPLES = ([
    ([0.99], [0.1]),
    ([0.9, 0.5, 0.001], [0.1, 0.2, 0.5]),
    ([0.001], [0.5]),
    ([0.001], [-0.1]),
    ([0.99, -0.1], [0.01, -0.1]),
    ([0.99, -0.1], [-0.2, 0.1]),
    ([1.0], [0.001]),
    ([1.0, 1 - 1e-9, 0.99, 0.1], [1e-6, 1e-5, 1e-3, 1e-2]),
    ([0.99994829, 0.99591045, 0.76319372, -0.3667193, 0.69954866],
     [0.01202588, 0.08567775, 0.66450507, -0.00384594, -0.25671158]),
    ([0.99999999, 0.77422499, 0.54944999, 0.32467499, 0.09989999],
     [0.00999262, 0.00999992, 0.00999996, 0.00999997, 0.00999998]),
] + [([0.9, 0.9 - 10 ** (-p)], [0.1, 0.1]) for p in range(1, 12)]
  + [([1 - 10 ** (-p), 0.8], [0.1, 0.1]) for p in range(1, 12)])


# ---------------------------------------------------------------- reference parity and exact values
@pytest.mark.parametrize("name", ["blt_closed_0", "blt_closed_1", "blt_closed_2"])
def test_closed_forms_match_the_exact_values(name):
    d = load_reference(name)
    blt = BufferedToeplitz.build(d["in_buf_decay"], d["in_output_scale"])
    n = int(d["n"])
    assert rel(blt.buf_decay, d["buf_decay"]) == 0 and rel(blt.output_scale, d["output_scale"]) == 0
    assert rel(blt.toeplitz_coefs(n), d["coefs"]) < 1e-14
    np.testing.assert_allclose(blt.materialize(n), d["mat"], rtol=1e-14, atol=1e-16)
    inv = blt.inverse()
    assert rel(inv.buf_decay, d["inv_buf_decay_exact"]) < EXACT_RTOL
    assert rel(inv.output_scale, d["inv_output_scale_exact"]) < EXACT_RTOL
    assert rel(blt.pillutla_score(), d["pillutla"]) < 1e-14
    for N, _, exact in d["sens"]:
        assert rel(bt.sensitivity_squared(blt, N if np.isinf(N) else int(N)), exact) < EXACT_RTOL, N
    jax_inv = BufferedToeplitz(d["inv_buf_decay"], d["inv_output_scale"])   # the exact values use these
    for i, _, exact in d["iteration_error"]:
        assert rel(bt.iteration_error(jax_inv, int(i)), exact) < EXACT_RTOL, i
    for N, _, exact in d["max_error"]:
        assert rel(bt.max_error(jax_inv, int(N)), exact) < EXACT_RTOL, N
    assert rel(bt.limit_max_error(jax_inv), d["limit_max_error_exact"]) < EXACT_RTOL
    for N, _, exact in d["max_loss"]:
        assert rel(bt.max_loss(blt, int(N)), exact) < 1e-12, N
    assert rel(bt.limit_max_loss(blt), d["limit_max_loss_exact"]) < EXACT_RTOL
    for N, _, exact in d["closed"]:
        assert rel(bt.LossFn.build_closed_form_single_participation(int(N)).loss(blt), exact) < 1e-12
    for N, min_sep, k, error, value, longdouble in d["minsep"]:
        loss = bt.LossFn.build_min_sep(int(N), error="mean" if error == 0 else "max", min_sep=int(min_sep),
                                       max_participations=None if k < 0 else int(k))
        got = loss.loss(blt, skip_checks=True)
        assert rel(got, longdouble) < 1e-13 and rel(got, value) < 1e-10
    loss = bt.LossFn.build_min_sep(200, error="mean", min_sep=16, max_participations=4)
    penalties = loss.compute_penalties(blt, jax_inv)
    assert sorted(penalties) == list(d["penalty_names"])
    assert rel([penalties[k] for k in d["penalty_names"]], d["penalties"]) < 1e-13
    assert rel(loss.penalized_loss(blt, jax_inv), d["penalized"]) < 1e-13
    z = d["z"]
    assert rel(sm.multiply_array(blt.as_streaming_matrix(), z), d["c_z"]) < 1e-12
    assert rel(sm.multiply_array(blt.inverse_as_streaming_matrix(), z), d["cinv_z"]) < 1e-12


def test_jax_privacy_fragile_spots_are_exact():
    """int64 overflow of 3 n^3 and the near-1 Taylor branches: jax_privacy is up to 0.4% off."""
    for case, t0, t1, w0, w1, N, jax_int, jax_float, exact in load_reference("blt_fragile")["rows"]:
        inv = make_blt([t0, t1], [w0, w1])
        assert rel(bt.max_error(inv, int(N)), exact) < EXACT_RTOL, (case, N)
        assert rel(bt.iteration_error(inv, int(N) - 1), exact) < EXACT_RTOL


def test_constructors_match_the_exact_values():
    d = load_reference("blt_constructors")
    for i, (nb, mbd, mps, scale, shift) in enumerate(d["ra"]):
        blt = BufferedToeplitz.from_rational_approx_to_sqrt_x(
            int(nb), max_buf_decay=mbd, max_pillutla_score=None if np.isnan(mps) else mps,
            buf_decay_scale=scale, buf_decay_shift=int(shift))
        k = int(nb)
        assert rel(blt.buf_decay, d["ra_buf_decay_exact"][i, :k]) < 1e-12, i
        assert rel(blt.output_scale, d["ra_output_scale_exact"][i, :k]) < 1e-11, i
    c, c_inv = bt.blt_pair_from_theta_pair(d["theta"], d["theta_hat"])
    assert rel(c.buf_decay, d["pair_c_buf_decay"]) < 1e-14 and rel(c.output_scale, d["pair_c_output_scale"]) < 1e-13
    assert rel(c_inv.buf_decay, d["pair_cinv_buf_decay"]) < 1e-14
    assert rel(c_inv.output_scale, d["pair_cinv_output_scale"]) < 1e-13
    for a, r, num, _, exact in d["geometric"]:
        assert rel(bt.geometric_sum(a, r, num if np.isinf(num) else int(num)), exact) < EXACT_RTOL
    assert bt.min_buf_decay_gap(d["gap_in"]) == d["gap"]


@pytest.mark.parametrize("name", ["blt_optimized_0", "blt_optimized_1", "blt_optimized_2", "blt_optimized_3"])
def test_optimizer_reaches_the_reference_loss(name):
    d = load_reference(name)
    n, min_sep, k, error = int(d["n"]), int(d["min_sep"]), int(d["max_participations"]), str(d["error"])
    k = None if k < 0 else k
    if name == "blt_optimized_3":
        loss_fn = bt.LossFn.build_closed_form_single_participation(n)
        blt, loss = bt.optimize_loss(loss_fn, num_buffers=3)
    else:
        blt = bt.optimize(n=n, min_sep=min_sep, max_participations=k, error=error)
        closed = k == 1 and error == "max"
        loss_fn = (bt.LossFn.build_closed_form_single_participation(n) if closed
                   else bt.LossFn.build_min_sep(n, error=error, min_sep=min_sep, max_participations=k))
        loss = loss_fn.loss(blt)
    assert len(blt.buf_decay) == int(d["num_buffers"])
    reference = make_blt(d["buf_decay"], d["output_scale"])
    # The reference loss or lower, both evaluated here (and within float noise of jax_privacy's).
    assert loss <= loss_fn.loss(reference) * (1 + 1e-12)
    assert loss <= float(d["loss_longdouble"]) * (1 + 1e-12)


# ---------------------------------------------------------------- ported from jax_privacy's BufferedToeplitzTest
def test_float32_dtype():
    blt = BufferedToeplitz.build(buf_decay=[0.9], output_scale=[0.1], dtype=np.float32)
    assert blt.buf_decay.dtype == np.float32 and blt.output_scale.dtype == np.float32 and blt.dtype == np.float32
    C = blt.materialize(1)
    assert C.dtype == np.float32 and C[0, 0] == 1
    assert blt.inverse().dtype == np.float32


def test_validate():
    with pytest.raises(ValueError, match="buf_decay and output_scale must be.*1D"):
        BufferedToeplitz.build(buf_decay=[[0.9]], output_scale=[0.1])
    with pytest.raises(ValueError, match="buf_decay and output_scale must have the same length"):
        BufferedToeplitz.build(buf_decay=[0.9, 0.8], output_scale=[0.1])
    with pytest.raises(ValueError, match="buf_decay and output_scale must have the same dtype"):
        BufferedToeplitz(buf_decay=np.array([0.9]), output_scale=np.array([0.1], dtype=np.float32)).validate()


@pytest.mark.parametrize("n", [1, 2, 10, 11])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_coefs(n, k):
    blt = BufferedToeplitz.build(buf_decay=[1.0, 0.9, 0][:k], output_scale=[0.01, 0.1, 1][:k])
    np.testing.assert_allclose(blt.toeplitz_coefs(n), blt.materialize(n)[:, 0], atol=1e-9)
    np.testing.assert_allclose(blt.toeplitz_coefs(n), [float(c) for c in coefs_oracle(blt, n)], rtol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 11])
def test_zero_buffer_identity_blt(n):
    blt = BufferedToeplitz.build(buf_decay=[], output_scale=[])
    I = np.eye(n)
    np.testing.assert_allclose(blt.materialize(n), I)
    np.testing.assert_allclose(blt.as_streaming_matrix().materialize(n), I)
    np.testing.assert_allclose(blt.inverse_as_streaming_matrix().materialize(n), I)
    np.testing.assert_allclose((blt.as_streaming_matrix() @ blt.inverse_as_streaming_matrix()) @ I, I)
    assert blt.inverse() == blt


@pytest.mark.parametrize("n", [1, 2, 11])
def test_inverse_and_lt_multiply(n):
    blt = BufferedToeplitz.build(buf_decay=[0.1, 0.2, 0.3], output_scale=[0.1, 0.2, 0.3])
    C, C_inv = blt.as_streaming_matrix(), blt.inverse_as_streaming_matrix()
    A = np.tri(n)
    for product in (C_inv @ (C @ A), (C_inv @ C) @ A, (C @ C_inv) @ A, C @ (C_inv @ A)):
        np.testing.assert_allclose(product, A, atol=1e-12)
    np.testing.assert_allclose(C.materialize(n), blt.materialize(n), atol=1e-15)


def test_build_and_str_repr_pickle_equality():
    blt = BufferedToeplitz.build(buf_decay=[0.5, 0.9], output_scale=[0.6, 0.1])
    np.testing.assert_array_equal(blt.buf_decay, [0.9, 0.5])
    np.testing.assert_array_equal(blt.output_scale, [0.1, 0.6])
    assert blt.buf_decay.dtype == np.float64
    assert "Initial Toeplitz coefs=[1" in str(blt) and "buf_decay=[0.9" in str(blt)
    assert repr(blt).startswith("BufferedToeplitz(buf_decay=array([0.9, 0.5])")
    assert pickle.loads(pickle.dumps(blt)) == blt
    noise = blt.inverse_as_streaming_matrix() @ sm.prefix_sum()
    again = pickle.loads(pickle.dumps(noise))
    assert again == noise and again != blt.as_streaming_matrix() @ sm.prefix_sum()
    np.testing.assert_array_equal(again.materialize(6), noise.materialize(6))
    assert hash(pickle.loads(pickle.dumps(blt))) == hash(blt)
    assert blt != make_blt([0.9, 0.5], [0.1, 0.7]) and blt != "blt"
    with pytest.raises(ValueError):
        blt.buf_decay[0] = 2.0                                  # read-only arrays
    with pytest.raises(AttributeError):
        blt.buf_decay = np.zeros(2)


@pytest.mark.parametrize("n", range(1, 21, 3))
def test_materialize(n):
    blt = BufferedToeplitz.build(buf_decay=[0.0], output_scale=[-1.0])
    expected = np.zeros(n)
    expected[:2] = [1, -1][:n]
    np.testing.assert_allclose(blt.toeplitz_coefs(n), expected)
    np.testing.assert_allclose(blt.materialize(n), toeplitz_dense(expected))


@pytest.mark.parametrize("num_buffers", range(1, 11))
def test_from_rational_approx_to_sqrt_x(num_buffers):
    n = 10
    rtols = [1.10, 0.41, 0.25, 0.25, 0.15, 0.15, 0.09, 0.09, 0.06, 0.06]
    blt = BufferedToeplitz.from_rational_approx_to_sqrt_x(num_buffers=num_buffers, max_buf_decay=1.0)
    optimal = [1.0]
    for k in range(1, n):   # coefficients of 1 / sqrt(1 - x)
        optimal.append(optimal[-1] * (2 * k - 1) / (2 * k))
    np.testing.assert_allclose(blt.toeplitz_coefs(n), optimal, rtol=rtols[num_buffers - 1])


@pytest.mark.parametrize("buffers", [1, 2, 5, 10])
@pytest.mark.parametrize("max_buf_decay, max_pillutla_score", [(0.1, 0.1), (0.5, 0.9), (1.0, 1.0), (0.97, 0.3)])
def test_from_rational_approx_to_sqrt_x_projection(buffers, max_buf_decay, max_pillutla_score):
    blt = BufferedToeplitz.from_rational_approx_to_sqrt_x(
        num_buffers=buffers, max_buf_decay=max_buf_decay, max_pillutla_score=max_pillutla_score)
    assert blt.buf_decay[0] <= max_buf_decay + 1e-10
    assert blt.pillutla_score() <= max_pillutla_score + 1e-10


@pytest.mark.parametrize("nbuf", [-1, 0])
def test_from_rational_approx_to_sqrt_x_projection_raises(nbuf):
    with pytest.raises(ValueError, match="num_buffers must be >= 1"):
        BufferedToeplitz.from_rational_approx_to_sqrt_x(num_buffers=nbuf)


@pytest.mark.parametrize("n", [1, 4, 13, 20])
@pytest.mark.parametrize("buffers", [1, 3, 5])
def test_inverse_materialized_and_streaming(n, buffers):
    blt = BufferedToeplitz.build(buf_decay=np.linspace(1.0, 0.0, num=buffers),
                                 output_scale=np.linspace(1e-4, 1.0, num=buffers) / n)
    C = blt.materialize(n)
    Cinv = blt.inverse_as_streaming_matrix().materialize(n)
    np.testing.assert_allclose(C @ Cinv, np.eye(n), atol=1e-12)
    np.testing.assert_allclose((blt.as_streaming_matrix() @ blt.inverse_as_streaming_matrix()) @ np.eye(n),
                               np.eye(n), atol=1e-12)
    np.testing.assert_allclose(blt.inverse().materialize(n), Cinv, atol=1e-10)


def test_noise_stream_float32_in_place(rng):
    blt = bt.optimize(n=1000, min_buffers=4, max_buffers=4)
    z = rng.standard_normal((300, 5, 7)).astype(np.float32)
    expected = np.linalg.solve(blt.materialize(300), z.astype(np.float64).reshape(300, -1)).reshape(z.shape)
    out = sm.multiply_array(blt.inverse_as_streaming_matrix(), z, out=z)
    assert out is z and z.dtype == np.float32
    np.testing.assert_allclose(z, expected, rtol=2e-4, atol=2e-4)
    stream = blt.inverse_as_streaming_matrix().stream((3,), np.float32)
    x = np.ones(3, dtype=np.float32)
    stream.next(x, out=x)
    stream.next(x, out=x)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, 1 - blt.output_scale.sum(), rtol=1e-6)


# ---------------------------------------------------------------- LossFn and optimization (OptimizationTest)
@pytest.mark.parametrize("error", ["max", "mean"])
def test_loss_fn_and_init(error):
    n = 10
    blt = bt.get_init_blt(num_buffers=3)
    inv_blt = blt.inverse()
    build = lambda **kw: bt.LossFn.build_min_sep(n=n, error=error, min_sep=2, max_participations=2, **kw)
    loss_fn = build()
    loss = loss_fn.loss(blt)
    penalized = loss_fn.penalized_loss(blt, inv_blt, normalize_by_approx_optimal_loss=False)
    assert 0 < loss < penalized
    assert loss_fn.penalized_loss(blt, inv_blt, normalize_by_approx_optimal_loss=True) < penalized
    smaller = build(penalty_multipliers={"output_scale>0": 0.01}).penalized_loss(
        blt, inv_blt, normalize_by_approx_optimal_loss=False)
    assert smaller < penalized
    zero = build(penalty_strength=0.0)
    np.testing.assert_allclose(zero.penalized_loss(blt, inv_blt, normalize_by_approx_optimal_loss=False),
                               zero.loss(blt))
    # The loss's parts, as jax_privacy's callables, against the oracles.
    coefs_inv = inv_blt.toeplitz_coefs(n)
    errors = per_query_error_noising(coefs_inv)
    assert rel(loss_fn.error_for_inv(inv_blt), errors.mean() if error == "mean" else errors[-1]) < 1e-13
    assert rel(loss_fn.sensitivity_squared(blt), minsep_sensitivity_oracle(blt.toeplitz_coefs(n), 2, 2)) < 1e-13


def test_loss_fn_closed_form_and_bad_multiplier():
    loss_fn = bt.LossFn.build_closed_form_single_participation(n=10)
    blt = bt.get_init_blt(num_buffers=3)
    assert loss_fn.loss(blt) > 0 and loss_fn.penalized_loss(blt, blt.inverse()) > 0
    bad = bt.LossFn.build_closed_form_single_participation(n=10, penalty_multipliers={"bad_penalty": 0.0})
    with pytest.raises(ValueError, match="Unrecognized penalty multipliers.*bad"):
        bad.penalized_loss(blt, blt.inverse())
    one = bt.LossFn.build_closed_form_single_participation(n=10, penalty_multipliers={"theta_gap": 1.0})
    with pytest.raises(ValueError, match="theta_gap"):   # no such penalty for one buffer
        one.penalized_loss(bt.get_init_blt(1), bt.get_init_blt(1).inverse())
    with pytest.raises(ValueError, match="Unknown error"):
        bt.LossFn.build_min_sep(10, error="median")


def test_penalties_against_their_definitions():
    loss_fn = bt.LossFn.build_closed_form_single_participation(n=100, max_second_coef=0.9, min_theta_gap=1e-3)
    blt = bt.get_init_blt(3)
    inv = blt.inverse()
    p = loss_fn.compute_penalties(blt, inv)
    t, w, th, wh = blt.buf_decay, blt.output_scale, inv.buf_decay, inv.output_scale
    gap = lambda x: min(abs(a - b) for i, a in enumerate(x) for j, b in enumerate(x) if i != j)
    expected = {
        "buf_decay>0": -np.log(t).sum(), "buf_decay<1": -np.log(1 - t).sum(), "output_scale>0": -np.log(w).sum(),
        "inv_buf_decay>0": -np.log(th).sum(), "inv_buf_decay<1": -np.log(1 - th).sum(),
        "inv_output_scale<0": -np.log(-wh).sum(),
        "theta_gap": -np.log(gap(t) - 1e-3) - np.log(gap(th) - 1e-3),
        "second_coef": -np.log(0.9 - w.sum()), "pillutla_score": -np.log(1 - (w / t).sum())}
    assert list(p) == list(expected)
    for k in expected:
        assert rel(p[k], expected[k]) < 1e-13, k


@pytest.mark.parametrize("n", [1, 2, 11, 100])
@pytest.mark.parametrize("min_sep", [1, 2, 10, 11])
@pytest.mark.parametrize("max_participations", [1, 2, None])
def test_min_sep_loss(n, min_sep, max_participations):
    loss = bt.LossFn.build_min_sep(n=n, min_sep=min_sep, max_participations=max_participations, error="max")
    blt = bt.get_init_blt(num_buffers=2)
    assert rel(loss.loss(blt), brute_force_max_loss(blt, n, min_sep, max_participations)) < 1e-9


def test_optimize_increasing_nbuf():
    def opt_fn(nbuf):
        if nbuf < 3:
            return np.zeros(nbuf), 10.0 - nbuf
        raise RuntimeError("Optimization failed!!")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(bt._optimize_increasing_nbuf(opt_fn, min_buffers=0, max_buffers=5), np.zeros(2))

    def not_implemented(nbuf):
        if nbuf < 2:
            return np.zeros(nbuf), 10.0 - nbuf
        raise NotImplementedError("Not implemented.")

    with pytest.raises(NotImplementedError, match="Not implemented."):
        bt._optimize_increasing_nbuf(not_implemented, min_buffers=0, max_buffers=5)


@pytest.mark.parametrize("n, min_sep, k", [(1, 1, 1), (10, 1, 3), (32, 8, None), (32, 2, 16), (33, 2, None)])
def test_optimization(n, min_sep, k):
    blt = bt.optimize(n=n, min_sep=min_sep, max_participations=k, min_buffers=0, max_buffers=3,
                      max_optimizer_steps=10)
    assert isinstance(blt, BufferedToeplitz) and 0 <= len(blt.buf_decay) <= 3


@pytest.mark.parametrize("n, min_sep, k", [(10, 1, 3), (32, 8, None), (32, 2, 20), (33, 2, None)])
def test_optimize_zero_buffers_correct_loss(n, min_sep, k):
    blt = bt.optimize(n=n, min_sep=min_sep, max_participations=k, min_buffers=0, max_buffers=0)
    assert len(blt.buf_decay) == 0
    np.testing.assert_allclose(brute_force_max_loss(blt, n, min_sep, k), identity_max_loss(n, min_sep, k))


@pytest.mark.parametrize("n", [1, 2, 8, 11])
def test_full_participation_produces_identity(n):
    blt = bt.optimize(n=n, min_sep=1, max_participations=n, min_buffers=0, max_buffers=3, max_optimizer_steps=100)
    assert len(blt.buf_decay) == 0


@pytest.mark.parametrize("nk, num_buffers", [(3, 2), (16, 4), (32, 3), (33, 3)])
def test_optimization_hard_cases(nk, num_buffers):
    blt = bt.optimize(n=nk, min_sep=1, max_participations=nk, min_buffers=num_buffers, max_buffers=num_buffers)
    assert blt.buf_decay.shape == (num_buffers,) and blt.output_scale.shape == (num_buffers,)
    loss_fn = bt.LossFn.build_min_sep(n=nk, min_sep=1, max_participations=nk)
    np.testing.assert_allclose(loss_fn.loss(blt), identity_max_loss(nk, 1, nk), atol=1e-3, rtol=1e-2)


def test_assert_blt_valid_for_minsep():
    blt = BufferedToeplitz.build(buf_decay=[0.9], output_scale=[-0.1])
    with pytest.raises(RuntimeError, match="Error computing sensitivity for BLT"):
        bt._assert_blt_valid_for_minsep(blt, 100)
    with pytest.raises(RuntimeError, match="Error computing sensitivity for BLT"):
        bt.LossFn.build_min_sep(100, min_sep=2, max_participations=3).loss(blt)


@pytest.mark.parametrize("num_buffers, max_participations, min_sep", [(1, 2, 5), (2, 7, 40), (3, 12, 100)])
def test_optimize_better_than_baseline(num_buffers, max_participations, min_sep):
    n = 500
    baseline = {
        1: make_blt([0.9877027559462715], [0.10595704738115597]),
        2: make_blt([0.993433070819512, 0.6342644427247973], [0.07538320617916519, 0.5144060910151949]),
        3: make_blt([0.9934331427558322, 0.6342832547407998, 0.6342732636848848],
                    [0.07538346317367392, 0.4808525558278832, 0.0335536865929295]),
    }[num_buffers]
    blt = bt.optimize(n=n, min_sep=min_sep, max_participations=max_participations, min_buffers=num_buffers,
                      max_buffers=num_buffers)
    loss = lambda b: brute_force_max_loss(b, n, min_sep, max_participations)
    assert loss(blt) < 1.001 * loss(baseline)


def test_optimize_single_participation_golden():
    blt = bt.optimize(error="max", min_buffers=2, max_buffers=2, n=100000)
    np.testing.assert_allclose(blt.output_scale, [0.0122853238, 0.1878393665], rtol=1e-5)
    np.testing.assert_allclose(blt.buf_decay, [0.9999528892, 0.9857068667], rtol=1e-5)


@pytest.mark.parametrize("n, num_buffers, rtol", [
    (10, 1, 1.04), (100, 2, 1.03), (100, 3, 1.03), (1_000, 2, 1.04), (1_000, 3, 1.03), (10_000, 1, 1.45),
    (10_000, 3, 1.03), (10_000, 4, 1.03), (100_000, 2, 1.16), (100_000, 4, 1.03), (1_000_000, 5, 1.05),
    (10_000_000, 2, 1.40), (10_000_000, 4, 1.05), (10_000_000, 6, 1.06), (10_000_000, 8, 1.10),
    (100_000_000, 2, 1.60), (100_000_000, 7, 1.05)])
def test_optimize_single_participation_near_optimal(n, num_buffers, rtol):
    blt = bt.optimize(error="max", min_buffers=num_buffers, max_buffers=num_buffers, n=n)
    # Within rtol of Mathias' bound 1 + ln(n) / pi on the optimal root loss.
    assert np.sqrt(bt.max_loss(blt, n)) <= rtol * (1 + np.log(n) / np.pi)


@pytest.mark.parametrize("n, num_buffers", [(58, 3), (7, 1), (240, 2), (999, 3)])
def test_optimize_closed_form_matches_materialized(n, num_buffers):
    closed = bt.LossFn.build_closed_form_single_participation(n=n)
    coef = bt.LossFn.build_min_sep(n=n, min_sep=1, max_participations=1, error="max")
    blt1, _ = bt.optimize_loss(loss_fn=closed, num_buffers=num_buffers)
    blt2, _ = bt.optimize_loss(loss_fn=coef, num_buffers=num_buffers)
    np.testing.assert_allclose(closed.loss(blt1), coef.loss(blt1), rtol=1e-12)
    np.testing.assert_allclose(closed.loss(blt2), coef.loss(blt2), rtol=1e-12)
    np.testing.assert_allclose(closed.loss(blt1), closed.loss(blt2), rtol=0.02)
    np.testing.assert_allclose(closed.loss(blt1), brute_force_max_loss(blt1, n, 1, 1), rtol=1e-9)


def test_optimize_loss_start_callback_and_errors():
    loss_fn = bt.LossFn.build_closed_form_single_participation(1000)
    seen = []
    blt, loss = bt.optimize_loss(loss_fn, num_buffers=2, init_blt=bt.get_init_blt(2),
                                 callback=lambda args: seen.append(args) or args.step >= 4)
    assert [a.step for a in seen] == [0, 1, 2, 3, 4]
    assert all(np.isfinite(a.loss) and a.grad_norm >= 0 for a in seen)
    assert loss == loss_fn.loss(blt)
    with pytest.raises(ValueError, match="does not match"):
        bt.optimize_loss(loss_fn, num_buffers=2, init_blt=bt.get_init_blt(3))
    with pytest.raises(TypeError, match="Parameterization"):
        bt.optimize_loss(loss_fn, num_buffers=2, parameterization="strategy_blt")
    with pytest.raises(ValueError, match="15"):
        bt.optimize(n=100, max_buffers=16)
    with pytest.raises(ValueError, match="Unknown error"):
        bt.optimize(n=100, error="last")
    with pytest.raises(TypeError, match="unexpected keyword"):
        bt.optimize(n=100, bogus=1)

    def boom(args):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        bt.optimize_loss(loss_fn, num_buffers=2, callback=boom)


# ---------------------------------------------------------------- closed forms (ClosedFormsTest)
def test_geometric_sum_basic():
    gs = bt.geometric_sum
    assert gs(1.3, 0.9, num=0) == 0
    assert gs(1.3, 0.9, num=1) == 1.3
    np.testing.assert_allclose(gs(1.3, 0.9, num=3), 1.3 * (1 + 0.9 + 0.9 ** 2), rtol=1e-15)
    np.testing.assert_allclose(gs(1.3, 0.9, num=np.inf), 1.3 / 0.1, rtol=1e-15)
    assert np.isinf(gs(1.3, 1.0, num=np.inf))
    for n in [1, 2, 5, 100000]:
        assert gs(1.3, 1.0, num=n) == pytest.approx(1.3 * n, rel=1e-15)
    np.testing.assert_allclose(gs([1.0, 2.0], [[0.5], [0.25]], 2), [[1.5, 3.0], [1.25, 2.5]])
    with pytest.raises(ValueError, match="num must be an integer"):
        gs(1.0, 0.5, 2.5)


@pytest.mark.parametrize("pow_ten", range(1, 11))
@pytest.mark.parametrize("n", [1, 17, 1000])
def test_geometric_sum_near_one_is_exact(n, pow_ten):
    r = 1.0 - 10.0 ** (-pow_ten)
    exact = sum(Fraction(r) ** k for k in range(n))
    assert rel(bt.geometric_sum(1.0, r, n), float(exact)) < 1e-15


@pytest.mark.parametrize("a, r, n", [(1.0, 1.0, 1), (1.0, 1.0, 5), (1.0, 1 - 1e-4, 5), (1.0, 1 - 1e-5, 5),
                                     (1.0, 1 - 1e-5, 100), (1.0, 1 - 1e-8, 100), (3.5, 0.3, 40), (0.0, 0.7, 9)])
def test_geometric_sum_gradients(a, r, n):
    """jax_privacy checks jax.value_and_grad(geometric_sum, argnums=(0, 1)) against a brute force
    sum; here against the exact derivatives."""
    value, (da, dr) = bt.value_and_grad(bt.geometric_sum)(a, r, n)
    exact = sum(Fraction(r) ** k for k in range(n))
    exact_dr = a * sum(Fraction(k) * Fraction(r) ** (k - 1) for k in range(1, n))
    assert abs(value - a * float(exact)) <= 1e-15 * abs(a * float(exact))
    assert rel(da, float(exact)) < 1e-15
    assert abs(dr - float(exact_dr)) <= 1e-13 * max(1.0, abs(float(exact_dr)))
    _, (da2, dr2) = bt.value_and_grad(bt.geometric_sum)([a, 2 * a], r, n)
    assert da2.shape == (2,) and dr2[0] == dr


@pytest.mark.parametrize("blt_tuple", BLT_TUPLES)
def test_get_inverse_parameters_and_blt_pair(blt_tuple):
    blt = make_blt(*blt_tuple)
    if bt.min_buf_decay_gap(blt.buf_decay) <= 1e-8:
        pytest.skip("buf_decay values too close (jax_privacy's assumption)")
    inv_blt = blt.inverse()
    np.testing.assert_allclose(blt.inverse_as_streaming_matrix().materialize(25)[:, 0], inv_blt.toeplitz_coefs(25),
                               atol=1e-7)
    blt2 = inv_blt.inverse()
    np.testing.assert_allclose(blt.buf_decay, blt2.buf_decay, atol=1e-7)
    np.testing.assert_allclose(blt.output_scale, blt2.output_scale, atol=1e-7)
    np.testing.assert_allclose(inv_blt.as_streaming_matrix().materialize(7) @ blt.materialize(7), np.eye(7), atol=1e-7)
    alt, alt_inv = bt.blt_pair_from_theta_pair(blt.buf_decay, inv_blt.buf_decay)
    for x, y in [(alt.buf_decay, blt.buf_decay), (alt.output_scale, blt.output_scale),
                 (alt_inv.buf_decay, inv_blt.buf_decay), (alt_inv.output_scale, inv_blt.output_scale)]:
        np.testing.assert_allclose(x, y, atol=1e-7)


def test_inverse_against_exact_rationals():
    """C^{-1}'s coefficients from the BLT inverse against the exact inverse of C's coefficients."""
    for blt in [bt.get_init_blt(5), make_blt([0.999, 0.99, 0.5], [1e-3, 0.05, 0.3]),
                make_blt([0.9, 0.5, 0.001], [0.1, 0.2, 0.5])]:
        n = 40
        c = coefs_oracle(blt, n)
        exact = [Fraction(1)]   # the inverse series of c
        for m in range(1, n):
            exact.append(-sum(c[k] * exact[m - k] for k in range(1, m + 1)))
        got = blt.inverse().toeplitz_coefs(n)
        assert np.max(np.abs(got - np.array([float(e) for e in exact]))) < 1e-14


def test_inverse_edge_cases():
    # A zero output scale leaves its buf_decay as a root with zero scale (jax_privacy fails).
    inv = make_blt([0.9, 0.5], [0.1, 0.0]).inverse()
    np.testing.assert_allclose(sorted(inv.buf_decay), [0.5, 0.8], atol=1e-15)
    np.testing.assert_allclose(inv.toeplitz_coefs(10), make_blt([0.8], [-0.1]).toeplitz_coefs(10), atol=1e-15)
    with pytest.raises(ValueError, match="too close"):
        make_blt([0.9, 0.9 + 1e-12], [0.1, 0.1]).inverse()
    merged = make_blt([0.9, 0.9], [0.1, 0.1]).inverse(skip_checks=True)
    np.testing.assert_allclose(merged.toeplitz_coefs(12), make_blt([0.7], [-0.2]).toeplitz_coefs(12), atol=1e-14)
    with pytest.raises(RuntimeError, match="complex"):   # roots of 1 + 1/(x - 0.5) - 1/(x - 0.4): complex
        make_blt([0.5, 0.4], [1.0, -1.0]).inverse()
    with pytest.warns(RuntimeWarning, match="error computing inverse"):
        assert np.isinf(bt.LossFn.build_closed_form_single_participation(10).loss(make_blt([0.5, 0.4], [1.0, -1.0])))


@pytest.mark.parametrize("blt_tuple", BLT_TUPLES)
@pytest.mark.parametrize("n", [1, 2, 10])
def test_sensitivity(blt_tuple, n):
    blt = make_blt(*blt_tuple)
    c = blt.toeplitz_coefs(n)
    np.testing.assert_allclose(bt.sensitivity_squared(blt, n), c @ c, rtol=1e-13)
    assert bt.sensitivity_squared(blt, n) < bt.sensitivity_squared(blt, np.inf) + 1e-10


def test_sensitivity_too_big_buf_decay_and_limit():
    blt = make_blt([1.5], [0.1])
    assert np.isinf(bt.sensitivity_squared(blt, 10)) and np.isinf(bt.sensitivity_squared(blt, np.inf))
    for blt_tuple in BLT_TUPLES:
        blt = make_blt(*blt_tuple)
        if np.all(blt.buf_decay < 1):
            np.testing.assert_allclose(bt.sensitivity_squared(blt, 1e20), bt.sensitivity_squared(blt, np.inf),
                                       rtol=1e-12)


@pytest.mark.parametrize("blt_tuple", BLT_TUPLES)
@pytest.mark.parametrize("n", [500, 777, 1000])
def test_max_error(blt_tuple, n):
    inv_blt = make_blt(*blt_tuple)
    direct = float(per_query_error_noising(inv_blt.toeplitz_coefs(n).astype(np.longdouble))[-1])
    np.testing.assert_allclose(bt.max_error(inv_blt, n), direct, rtol=1e-9)


def test_max_error_hard_case():
    inv_blt = make_blt([1 - 10 ** (-p) for p in range(11)], [-0.01 * 10 ** (-np.sqrt(p)) for p in range(11)])
    for n in [1000, 10000, 100000]:
        direct = float(per_query_error_noising(inv_blt.toeplitz_coefs(n))[-1])
        np.testing.assert_allclose(bt.max_error(inv_blt, n), direct, rtol=1e-9)


def test_max_error_against_exact_rationals():
    for blt_tuple in [([0.9, 0.5], [-0.05, -0.3]), ([1 - 1e-9, 0.8], [0.1, 0.1]), ([1.0], [0.001])]:
        inv_blt = make_blt(*blt_tuple)
        for n in [1, 2, 30]:
            b = np.cumsum([Fraction(0)] + coefs_oracle(inv_blt, n))[1:]
            assert rel(bt.max_error(inv_blt, n), float(sum(x * x for x in b))) < 1e-14


@pytest.mark.parametrize("blt_tuple", BLT_TUPLES)
def test_limit_iteration_error(blt_tuple):
    inv_blt = make_blt(*blt_tuple)
    if not np.all(inv_blt.buf_decay < 1):
        pytest.skip("a buf_decay of 1 makes the limit infinite")
    np.testing.assert_allclose(bt.limit_max_error(inv_blt), bt.max_error(inv_blt, 1e20) / 1e20, rtol=1e-7)


@pytest.mark.parametrize("blt_tuple", BLT_TUPLES)
@pytest.mark.parametrize("n", [1, 7, 50])
def test_max_iter_loss(blt_tuple, n):
    blt = make_blt(*blt_tuple)
    if not np.all(blt.output_scale > 0):
        assert np.isinf(bt.max_loss(blt, n))
        return
    c = blt.toeplitz_coefs(n)
    B = np.tril(np.ones((n, n))) @ np.linalg.inv(toeplitz_dense(c))
    np.testing.assert_allclose(bt.max_loss(blt, n), (c @ c) * np.sum(B[-1] ** 2), rtol=1e-7)
    limit = n * bt.limit_max_loss(blt)
    if np.isfinite(limit):
        assert limit <= bt.max_loss(blt, n) + 1e-10


@pytest.mark.parametrize("fn, args", [(bt.sensitivity_squared, (37,)), (bt.sensitivity_squared, (np.inf,)),
                                      (bt.max_error, (1000,)), (bt.iteration_error, (12,)),
                                      (bt.limit_max_error, ()), (bt.max_loss, (500,)), (bt.limit_max_loss, ())])
@pytest.mark.parametrize("blt_tuple", [([0.99, 0.6, 0.2], [0.05, 0.2, 0.3]), ([0.9], [0.1]),
                                       ([1 - 1e-5, 0.9], [0.01, 0.1])])
def test_closed_form_gradients_match_finite_differences(fn, args, blt_tuple):
    blt = BufferedToeplitz(*blt_tuple)   # the given order
    value, g = bt.value_and_grad(fn)(blt, *args)
    assert value == fn(blt, *args)
    g_bd, g_os = fd_grad(lambda b: fn(b, *args), blt)
    scale = max(1.0, np.max(np.abs(np.concatenate([g_bd, g_os]))))
    np.testing.assert_allclose(g.buf_decay, g_bd, rtol=2e-5, atol=1e-9 * scale)
    np.testing.assert_allclose(g.output_scale, g_os, rtol=2e-5, atol=1e-9 * scale)
    assert np.array_equal(bt.grad(fn)(blt, *args).buf_decay, g.buf_decay)


def test_closed_form_gradients_against_exact_rationals():
    """d max_error / d params and d sensitivity^2 / d params in exact arithmetic (n = 20)."""
    th, om, n = [1 - 1e-5, 0.9, 0.3], [-0.01, -0.2, -0.3], 20
    T, W = [Fraction(x) for x in th], [Fraction(x) for x in om]

    def coefs(T, W):
        return [Fraction(1)] + [sum(w * t ** (m - 1) for t, w in zip(T, W)) for m in range(1, n)]

    def derivative(f, j, which):   # exact derivative of a rational function by a tiny symbolic step
        eps = Fraction(1, 10 ** 30)
        T2, W2 = list(T), list(W)
        (T2 if which == 0 else W2)[j] += eps
        return (f(T2, W2) - f(T, W)) / eps

    def err(T, W):
        b = np.cumsum([Fraction(0)] + coefs(T, W))[1:]
        return sum(x * x for x in b)

    def sens(T, W):
        return sum(x * x for x in coefs(T, W))

    blt = BufferedToeplitz(th, om)
    for fn, f in [(bt.max_error, err), (bt.sensitivity_squared, sens)]:
        _, g = bt.value_and_grad(fn)(blt, n)
        for j in range(3):
            assert rel(g.buf_decay[j], float(derivative(f, j, 0))) < 1e-12
            assert rel(g.output_scale[j], float(derivative(f, j, 1))) < 1e-12


def test_value_and_grad_refuses_other_functions():
    with pytest.raises(ValueError, match="no analytic gradient"):
        bt.value_and_grad(bt.min_buf_decay_gap)


# ---------------------------------------------------------------- error paths
def test_errors_name_the_function_and_leave_nothing_half_done():
    blt = make_blt([0.9], [0.1])
    with pytest.raises(ValueError, match="toeplitz_coefs: n must be positive"):
        blt.toeplitz_coefs(0)
    with pytest.raises(TypeError, match="n must be an integer"):
        blt.materialize(2.5)
    with pytest.raises(ValueError, match="max_error: n must be an integer >= 0"):
        bt.max_error(blt, 3.5)
    with pytest.raises(ValueError, match="max_error: n must be an integer >= 0"):
        bt.max_error(blt, -1)
    with pytest.raises(ValueError, match="sensitivity_squared: n must be an integer >= 1 or inf"):
        bt.sensitivity_squared(blt, 0)
    with pytest.raises(ValueError, match="max_loss: n must be an integer >= 1"):
        bt.max_loss(blt, np.inf)
    with pytest.raises(TypeError, match="must be a BufferedToeplitz"):
        bt.max_error([0.9], 3)
    with pytest.raises(TypeError, match="must be real"):
        BufferedToeplitz.build([0.9 + 1j], [0.1])
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        BufferedToeplitz.build([0.9], [0.1], dtype=np.int32)
    with pytest.raises(ValueError, match="theta and theta_hat|same length"):
        bt.blt_pair_from_theta_pair([0.9, 0.5], [0.1])
    with pytest.raises(ValueError, match="does not match"):
        bt.get_init_blt(2, make_blt([0.9], [0.1]))


def test_c_abi_refuses_bad_outputs_without_writing():
    import ctypes
    import mfkit._ffi as ffi
    bd, os_ = np.array([0.9, 0.5]), np.array([0.1, 0.2])
    out_bd, out_os = np.full(3, 7.0), np.full(2, 7.0)
    with pytest.raises(ValueError, match="out_buf_decay must have shape"):
        ffi.call("mfkit_blt_inverse", ffi.describe(bd), ffi.describe(os_), 0, ffi.describe(out_bd, writable=True),
                 ffi.describe(out_os, writable=True))
    assert np.all(out_bd == 7) and np.all(out_os == 7)
    value = ctypes.c_double(7.0)
    g = np.full(3, 7.0)
    with pytest.raises(ValueError, match="grad_buf_decay must have shape"):
        ffi.call("mfkit_blt_max_error", ffi.describe(bd), ffi.describe(os_), 10.0, ctypes.byref(value),
                 ffi.describe(g, writable=True), None)
    assert value.value == 7.0 and np.all(g == 7)
    with pytest.raises(ValueError, match="null pointer"):
        ffi.call("mfkit_blt_max_error", ffi.describe(bd), ffi.describe(os_), 10.0, None, None, None)
    with pytest.raises(ValueError, match="Unknown error"):
        ffi.call("mfkit_blt_loss", 10, 1, None, 7, 0, ffi.describe(bd), ffi.describe(os_), 0, ctypes.byref(value))
    z = np.ones((4, 3), dtype=np.float32)
    with pytest.raises(TypeError):
        sm.multiply_array(make_blt([0.5], [1.0]).inverse_as_streaming_matrix(), z, out=np.ones((4, 3)))
    assert math.isfinite(value.value)


def test_docstring_examples_run():
    failures, attempted = doctest.testmod(bt, verbose=False)
    assert attempted > 20 and failures == 0


@pytest.mark.parametrize("num_buffers", [1, 2, 3, 4])
@pytest.mark.parametrize("name", ["buf_decay_pair", "strategy_blt"])
def test_parameterization_round_trip(num_buffers, name):
    parameterization = getattr(bt.Parameterization, name)()
    blt = bt.get_init_blt(num_buffers=num_buffers)
    params = parameterization.params_from_blt(blt)
    blt2, inv2 = parameterization.blt_and_inverse_from_params(params)
    np.testing.assert_allclose(blt2.buf_decay, blt.buf_decay, rtol=1e-7)
    np.testing.assert_allclose(blt2.output_scale, blt.output_scale, rtol=1e-7)
    # inv2 is the inverse: the Toeplitz coefficients of C and C^{-1} multiply to the identity
    n = 40
    product = toeplitz.multiply(blt2.toeplitz_coefs(n), inv2.toeplitz_coefs(n))
    np.testing.assert_allclose(product, np.eye(1, n)[0], atol=1e-10)
    loss_fn = bt.LossFn.build_min_sep(60, "mean", 6, 3)
    np.testing.assert_allclose(parameterization.get_loss_fn(loss_fn)(params),
                               loss_fn.penalized_loss(blt, blt.inverse()), rtol=1e-7)


def test_parameterization_errors():
    with pytest.raises(TypeError, match="pair"):
        bt.Parameterization.buf_decay_pair().blt_and_inverse_from_params(bt.get_init_blt(2))
    with pytest.raises(TypeError, match="BufferedToeplitz"):
        bt.Parameterization.strategy_blt().blt_and_inverse_from_params((np.ones(2), np.ones(2)))
    with pytest.raises(TypeError, match="LossFn"):
        bt.Parameterization.strategy_blt().get_loss_fn(None)


def test_strategy_blt_optimizes_the_same_loss():
    # both parameterizations name the same penalized loss of (C, C^{-1}); MFKit searches the pair
    loss_fn = bt.LossFn.build_min_sep(200, "max", 10, 5)
    pair, pair_loss = bt.optimize_loss(loss_fn, num_buffers=2)
    blt, loss = bt.optimize_loss(loss_fn, num_buffers=2, parameterization=bt.Parameterization.strategy_blt())
    assert loss == pair_loss and blt == pair
    assert loss < loss_fn.loss(bt.get_init_blt(2))

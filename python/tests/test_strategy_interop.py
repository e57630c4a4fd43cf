"""Strategies to jax_privacy and back: the params layout (always) and, where jax_privacy is
installed, equal per-query errors in both libraries."""
import doctest
import types

import numpy as np
import pytest

from mfkit import banded, interop, toeplitz
from mfkit import buffered_toeplitz as bt


def test_params_round_trip_exactly():
    C = banded.optimize(40, bands=5, max_optimizer_steps=15)
    params = interop.banded_params(C)
    assert params.flags.writeable and params.dtype == np.float64
    params[0, 0] = 7.0                                   # a copy: C is unchanged
    assert C.params[0, 0] != 7.0
    back = interop.from_jax_privacy(interop.banded_params(C))
    np.testing.assert_array_equal(back.params, C.params)
    np.testing.assert_array_equal(banded.per_query_error(back), banded.per_query_error(C))


def test_layout_is_the_documented_one():
    rng = np.random.default_rng(0)
    n, b = 7, 3
    params = rng.uniform(0.5, 1.5, (n, b))
    params[np.add.outer(np.arange(n), np.arange(b)) >= n] = 0
    raw = np.zeros((n, n))
    for j in range(n):
        for r in range(b):
            if j + r < n:
                raw[j + r, j] = params[j, r]
    np.testing.assert_allclose(interop.from_jax_privacy(params).materialize(), raw / np.linalg.norm(raw, axis=0),
                               rtol=1e-14)


def test_blt_from_its_two_arrays():
    # jax_privacy's BLT is a dataclass of buf_decay and output_scale (any order of buffers)
    theirs = types.SimpleNamespace(buf_decay=np.array([0.5, 0.95, 0.8]), output_scale=np.array([-0.1, -0.4, -0.2]))
    ours = interop.from_jax_privacy(theirs)
    assert isinstance(ours, bt.BufferedToeplitz)
    np.testing.assert_array_equal(ours.buf_decay, [0.95, 0.8, 0.5])        # canonical: decreasing
    np.testing.assert_array_equal(ours.output_scale, [-0.4, -0.2, -0.1])
    n = 50   # the Toeplitz coefficients, by their definition 1, sum_i s_i d_i^(t-1)
    expected = np.concatenate([[1.0], [np.sum(theirs.output_scale * theirs.buf_decay ** (t - 1)) for t in range(1, n)]])
    np.testing.assert_allclose(ours.toeplitz_coefs(n), expected, rtol=1e-13)
    np.testing.assert_allclose(toeplitz.per_query_error(strategy_coef=ours.toeplitz_coefs(n)),
                               toeplitz.per_query_error(strategy_coef=expected), rtol=1e-12)


def test_errors():
    with pytest.raises(TypeError, match="ColumnNormalizedBanded"):
        interop.banded_params(np.ones((3, 2)))
    with pytest.raises(ValueError):
        interop.from_jax_privacy(np.ones(3))
    with pytest.raises(TypeError, match="ColumnNormalizedBanded or BufferedToeplitz"):
        interop.to_jax_privacy(np.ones((3, 2)))
    with pytest.raises((TypeError, ValueError)):
        interop.from_jax_privacy(types.SimpleNamespace(buf_decay=[0.5, 0.4], output_scale=[0.1]))


def test_doctests():
    failures, tried = doctest.testmod(interop, verbose=False)
    assert tried > 0 and failures == 0


@pytest.fixture
def jax_privacy_banded():
    """jax_privacy's banded module with float64 JAX (skipped where jax_privacy is absent)."""
    pytest.importorskip("jax_privacy")
    import jax
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    from jax_privacy.matrix_factorization import banded as jp_banded
    yield jp_banded
    jax.config.update("jax_enable_x64", previous)


def test_to_jax_privacy_and_back(jax_privacy_banded):
    import jax.numpy as jnp
    C = banded.optimize(96, bands=6, max_optimizer_steps=30)
    jp = interop.to_jax_privacy(C)
    assert isinstance(jp, jax_privacy_banded.ColumnNormalizedBanded) and (jp.n, jp.bands) == (96, 6)
    np.testing.assert_array_equal(np.asarray(jp.params), C.params)
    np.testing.assert_allclose(np.asarray(jax_privacy_banded.per_query_error(jp)), banded.per_query_error(C),
                               rtol=1e-10)
    # one made by jax_privacy, loaded into MFKit
    rng = np.random.default_rng(1)
    params = rng.uniform(0.2, 1.0, (80, 5))
    params[np.add.outer(np.arange(80), np.arange(5)) >= 80] = 0
    for theirs in (jax_privacy_banded.ColumnNormalizedBanded.default(80, 5),
                   jax_privacy_banded.ColumnNormalizedBanded(params=jnp.asarray(params))):
        ours = interop.from_jax_privacy(theirs)
        np.testing.assert_array_equal(ours.params, np.asarray(theirs.params))
        np.testing.assert_allclose(banded.per_query_error(ours), np.asarray(jax_privacy_banded.per_query_error(theirs)),
                                   rtol=1e-10)
        np.testing.assert_allclose(ours.materialize(), np.asarray(theirs.materialize()), rtol=1e-12, atol=1e-15)


def test_blt_to_jax_privacy_and_back(jax_privacy_banded):
    from jax_privacy.matrix_factorization import buffered_toeplitz as jp_bt
    blt = bt.optimize(n=200, min_sep=20, max_participations=5, error="mean", max_optimizer_steps=100)
    theirs = interop.to_jax_privacy(blt)
    assert isinstance(theirs, jp_bt.BufferedToeplitz) and np.asarray(theirs.buf_decay).dtype == np.float64
    np.testing.assert_array_equal(np.asarray(theirs.buf_decay), blt.buf_decay)
    np.testing.assert_allclose(np.asarray(theirs.toeplitz_coefs(200)), blt.toeplitz_coefs(200), rtol=1e-12)
    loss = jp_bt.LossFn.build_min_sep(n=200, error="mean", min_sep=20, max_participations=5)
    ours = bt.LossFn.build_min_sep(200, "mean", 20, 5)
    np.testing.assert_allclose(float(loss.loss(theirs)), ours.loss(blt), rtol=1e-9)
    back = interop.from_jax_privacy(theirs)
    assert back == blt

"""Strategies to jax_privacy and back: the params layout (always) and, where jax_privacy is
installed, equal per-query errors in both libraries."""
import doctest

import numpy as np
import pytest

from mfkit import banded, interop


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


def test_errors():
    with pytest.raises(TypeError, match="ColumnNormalizedBanded"):
        interop.banded_params(np.ones((3, 2)))
    with pytest.raises(ValueError):
        interop.from_jax_privacy(np.ones(3))


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

"""mfkit.noise.CorrelatedNoise against a dense oracle: step t's noise is (C^{-1} Z)[t] for the z
each shard draws from its child of the root SeedSequence."""
import doctest

import numpy as np
import pytest

from mfkit import banded, noise
from mfkit import streaming_matrix as sm


def drawn(seed, sizes, steps, dtype, stddev):
    """The z each shard draws, step after step (the definition in the module docstring)."""
    root = np.random.SeedSequence(seed)
    seeds = [root] if len(sizes) == 1 else root.spawn(len(sizes))
    rngs = [np.random.default_rng(s) for s in seeds]
    Z = np.empty((steps, sum(sizes)), dtype=dtype)
    for t in range(steps):
        Z[t] = np.concatenate([r.standard_normal(s, dtype=dtype) for r, s in zip(rngs, sizes)])
    return Z * dtype(stddev)


@pytest.mark.parametrize("shards", [1, 3, [5, 1, 7, 4]])
def test_banded_noise_matches_the_dense_oracle(shards):
    n, d, steps = 20, 17, 24          # past n the inverse is the identity
    C = banded.optimize(n, bands=4, max_optimizer_steps=20)
    gen = noise.CorrelatedNoise(C, d, stddev=1.5, seed=11, dtype=np.float64, shards=shards)
    out = np.empty(d)
    got = np.array([gen.next(out=out).copy() for _ in range(steps)])
    Z = drawn(11, noise.shard_sizes(d, shards), steps, np.float64, 1.5)
    expected = np.vstack([np.linalg.solve(C.materialize(), Z[:n]), Z[n:]])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert gen.step == steps


def test_float32_and_shapes_match_the_stream_of_the_same_z():
    C = banded.ColumnNormalizedBanded.default(10, 3)
    gen = noise.CorrelatedNoise(C, (3, 4), stddev=0.25, seed=3, shards=2)
    Z = drawn(3, [6, 6], 8, np.float32, 0.25)
    stream = C.inverse_as_streaming_matrix().stream((12,), np.float32)
    for t in range(8):
        value = gen.next()
        assert value.shape == (3, 4) and value.dtype == np.float32
        np.testing.assert_array_equal(value.reshape(-1), stream.next(Z[t]))


def test_identity_gives_independent_noise():
    gen = noise.CorrelatedNoise(sm.identity(), 5, stddev=2.0, seed=np.random.SeedSequence(8), dtype=np.float64)
    rng = np.random.default_rng(8)
    for _ in range(3):
        np.testing.assert_array_equal(gen.next(), 2.0 * rng.standard_normal(5))


def test_reproducible_and_shard_seeds_equal_spawn():
    a = noise.CorrelatedNoise(sm.prefix_sum(), 9, seed=4, shards=3)
    b = noise.CorrelatedNoise(sm.prefix_sum(), 9, seed=4, shards=3)
    for _ in range(3):
        np.testing.assert_array_equal(a.next(), b.next())
    root = np.random.SeedSequence(123)
    ours = noise.shard_seeds(root, 4)
    assert root.n_children_spawned == 0           # the root is left as it was
    for x, y in zip(ours, np.random.SeedSequence(123).spawn(4)):
        np.testing.assert_array_equal(x.generate_state(4), y.generate_state(4))
    assert noise.shard_seeds(root, 1) == [root]


def test_shard_sizes():
    assert noise.shard_sizes(10, 3) == [4, 3, 3]
    assert noise.shard_sizes(10, [2, 8]) == [2, 8]
    with pytest.raises(ValueError, match="sum to the number of parameters 10"):
        noise.shard_sizes(10, [2, 7])
    with pytest.raises(ValueError, match="between 1 and"):
        noise.shard_sizes(10, 11)
    with pytest.raises(TypeError, match="integer or a sequence"):
        noise.shard_sizes(10, 2.5)


def test_errors_leave_out_untouched():
    C = banded.ColumnNormalizedBanded.default(10, 3)
    gen = noise.CorrelatedNoise(C, 6, seed=0)
    for bad in (np.zeros(6), np.zeros(5, np.float32), np.zeros(12, np.float32)[::2]):
        keep = bad.copy()
        with pytest.raises(ValueError, match="out must be a writable C-contiguous float32 array"):
            gen.next(out=bad)
        np.testing.assert_array_equal(bad, keep)
    assert gen.step == 0
    with pytest.raises(TypeError, match="strategy .* or a StreamingMatrix"):
        noise.CorrelatedNoise(np.eye(3), 3)
    with pytest.raises(ValueError, match="stddev must be"):
        noise.CorrelatedNoise(C, 3, stddev=-1.0)
    with pytest.raises(ValueError, match="shape must be non-negative"):
        noise.CorrelatedNoise(C, (2, -1))
    with pytest.raises(TypeError, match="dtype"):
        noise.CorrelatedNoise(C, 3, dtype=np.int32)


def test_doctests():
    failures, tried = doctest.testmod(noise, verbose=False)
    assert tried > 0 and failures == 0


def test_large_shards_drawn_on_threads_give_the_same_numbers():
    d = (1 << 20) + 3                                       # above the parallel-draw threshold
    gen = noise.CorrelatedNoise(sm.identity(), d, seed=5, shards=3)
    Z = drawn(5, noise.shard_sizes(d, 3), 2, np.float32, 1.0)
    for t in range(2):
        np.testing.assert_array_equal(gen.next(), Z[t])

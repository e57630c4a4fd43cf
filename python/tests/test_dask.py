"""mfkit.dask on a distributed.LocalCluster of 2 worker processes: the Dask paths give the
single-process answers (noise bit for bit, products exactly, Kronecker reductions to rounding)."""
import doctest
import functools
import threading

import numpy as np
import pytest

from conftest import optional_module
from mfkit import banded, kron, noise
from mfkit import streaming_matrix as sm

optional_module("dask")
distributed = optional_module("distributed")
import dask.array as da  # noqa: E402
import mfkit.dask as mdask  # noqa: E402

TIMEOUT = 60  # seconds for any one cluster operation


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  env={"MFKIT_NUM_THREADS": "1"}) as cluster, \
            distributed.Client(cluster, timeout=TIMEOUT) as c:
        c.wait_for_workers(2, timeout=TIMEOUT)
        yield c


class Unpicklable:
    """A strategy-like object that cannot travel (it holds a lock)."""
    def __init__(self):
        self.lock = threading.Lock()

    def inverse_as_streaming_matrix(self):
        return sm.identity()


@pytest.mark.parametrize("dtype,shards", [(np.float32, None), (np.float64, 3), (np.float32, [1, 600, 400])])
def test_sharded_noise_equals_single_process(client, dtype, shards):
    C = banded.optimize(16, bands=4, max_optimizer_steps=10)
    sharded = mdask.ShardedNoise(client, C, 1001, shards=shards, stddev=0.7, seed=2024, dtype=dtype)
    layout = 2 if shards is None else shards                       # default: one shard per worker
    local = noise.CorrelatedNoise(C, 1001, shards=layout, stddev=0.7, seed=2024, dtype=dtype)
    assert sharded.shard_sizes == local.shard_sizes
    for t in range(20):                                            # past n = 16 too
        assert sharded.next() == t + 1
        value = sharded.gather()
        assert value.dtype == dtype and value.shape == (1001,)
        np.testing.assert_array_equal(value, local.next())


def test_sharded_noise_lives_on_the_workers_and_is_reproducible(client):
    make = functools.partial(sm.momentum_sgd_matrix, 0.9)         # a recipe built on each worker
    a = mdask.ShardedNoise(client, make, (10, 30), shards=4, seed=7)
    b = mdask.ShardedNoise(None, make, (10, 30), shards=4, seed=np.random.SeedSequence(7))
    a.next(), b.next()
    np.testing.assert_array_equal(a.gather(), b.gather())
    assert a.gather().shape == (10, 30)
    where = a.apply(lambda z, i, scale: (distributed.get_worker().address, i, float(scale * z.sum())), 2.0)
    assert sorted({w for w, _, _ in where}) == sorted(client.scheduler_info()["workers"])
    assert [i for _, i, _ in where] == [0, 1, 2, 3]
    expected = noise.CorrelatedNoise(make(), 300, shards=4, seed=7).next()
    sums = [expected[s:s + size].sum() for s, size in zip(np.cumsum([0] + a.shard_sizes[:-1]), a.shard_sizes)]
    np.testing.assert_allclose([v for _, _, v in where], 2.0 * np.array(sums), rtol=1e-5)


def test_objects_that_cannot_travel_are_refused(client):
    with pytest.raises(TypeError, match="does not pickle"):
        mdask.ShardedNoise(client, Unpicklable(), 10)
    with pytest.raises(TypeError, match="does not pickle"):
        mdask.multiply_array(Unpicklable().inverse_as_streaming_matrix, da.ones((4, 2)))
    with pytest.raises(ValueError, match="between 1 and"):
        mdask.ShardedNoise(client, banded.ColumnNormalizedBanded.default(8, 2), 3, shards=4)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        mdask.ShardedNoise(client, banded.ColumnNormalizedBanded.default(8, 2), 3, dtype=np.int32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multiply_array_blockwise(client, dtype):
    x = np.random.default_rng(3).standard_normal((40, 9, 10)).astype(dtype)
    dx = da.from_array(x, chunks=(40, 4, 5))
    C = banded.optimize(40, bands=3, max_optimizer_steps=10)
    momentum = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)      # a StreamingMatrix travels as itself
    for A, build in ((sm.prefix_sum(), sm.prefix_sum), (C.inverse_as_streaming_matrix(), C.inverse_as_streaming_matrix),
                     (momentum, momentum)):
        result = mdask.multiply_array(build, dx)
        assert result.chunks == dx.chunks and result.dtype == dtype
        np.testing.assert_array_equal(result.compute(), sm.multiply_array(A, x))


def test_multiply_array_refuses_chunks_along_the_steps(client):
    dx = da.ones((40, 6), chunks=(20, 3))
    with pytest.raises(ValueError, match=r"chunked along the step axis.*rechunk"):
        mdask.multiply_array(sm.prefix_sum, dx)
    with pytest.raises(TypeError, match="dask array"):
        mdask.multiply_array(sm.prefix_sum, np.ones((4, 2)))
    with pytest.raises(TypeError, match="float32 or float64"):
        mdask.multiply_array(sm.prefix_sum, da.ones((4, 2), dtype=np.int64))


@pytest.mark.parametrize("dims", [(9,), (7, 5), (11, 4, 6), (3, 2, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kron_reductions_equal_single_process(client, dims, dtype):
    rng = np.random.default_rng(sum(dims))
    vecs = [rng.uniform(0.5, 2.0, d).astype(dtype) for d in dims]
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    for f in ("log", "reciprocal", "square"):
        assert mdask.kronsum_diag_reduce(vecs, f) == pytest.approx(kron.kronsum_diag_reduce(vecs, f), rel=rtol)
        for splits in (None, 3, 50):
            ours = mdask.ks_project_diag_map(vecs, None, f, splits=splits)
            theirs = kron.ks_project_diag_map(vecs, None, f)
            for a, b in zip(ours, theirs):
                assert a.dtype == dtype
                np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


def test_kron_reductions_out_and_errors(client):
    vecs = [np.arange(1.0, 5.0), np.ones(3)]
    out = [np.zeros(4), np.zeros(3)]
    result = mdask.ks_project_diag_map(vecs, [4, 3], "identity", out=out, splits=2)
    assert result[0] is out[0]
    for a, b in zip(out, kron.ks_project_diag_map(vecs, None, "identity")):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    assert mdask.kronsum_diag_reduce([np.array([0.0, 1.0]), np.ones(2)], "log", splits=2) == kron.kronsum_diag_reduce(
        [np.array([0.0, 1.0]), np.ones(2)], "log")
    with pytest.raises(ValueError, match="own lengths"):
        mdask.ks_project_diag_map(vecs, [2, 6], "log")
    with pytest.raises(ValueError, match="f must be one of"):
        mdask.kronsum_diag_reduce(vecs, "tanh")
    with pytest.raises(ValueError, match=r"splits must be an integer in \[1, 65536\]"):
        mdask.kronsum_diag_reduce(vecs, "log", splits=0)
    with pytest.raises(TypeError, match="non-empty list"):
        mdask.kronsum_diag_reduce(np.ones(3), "log")
    with pytest.raises(ValueError, match="out must be a list of 2 arrays"):
        mdask.ks_project_diag_map(vecs, None, "log", out=[np.zeros(4)])


def test_doctests(client):
    failures, tried = doctest.testmod(mdask, verbose=False)
    assert tried > 0 and failures == 0

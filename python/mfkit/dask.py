"""MFKit beyond one process, on Dask (`pip install 'mfkit[dask]'`, i.e. dask[distributed]).
`import mfkit` does not import this module; `import mfkit.dask` does (and imports Dask).

- `ShardedNoise`: correlated noise (C^{-1} z)[t] for a model whose d parameters (10^9 and
  more) are split into shards held by Dask workers. Each worker holds its shard's stream and
  draws and transforms its noise in place, step by step, from the shard's child of the root
  SeedSequence; the noise equals `mfkit.noise.CorrelatedNoise(C, d, seed=seed,
  shards=layout)` in one process, bit for bit.
- `multiply_array(A, x)`: A @ x for a Dask array x of shape (n, ...) chunked along the
  parameter axes only (every chunk holds all n steps), blockwise; chunks along the step axis
  are refused.
- `kronsum_diag_reduce`, `ks_project_diag_map`: the fused Kronecker passes over N = Π d_k
  split by ranges of the first factor across workers; the partial sums are combined (in
  float64, `math.fsum`) into the single-process result, equal to rounding.

Objects reach the workers as recipes: a `ColumnNormalizedBanded` travels as its params and is
rebuilt there; any other strategy or StreamingMatrix travels if it pickles; otherwise pass a
zero-argument function that builds it on the worker (e.g. `streaming_matrix.prefix_sum`,
`functools.partial(streaming_matrix.momentum_sgd_matrix, 0.9)`).

Each worker process runs MFKit with its own thread setting (`MFKIT_NUM_THREADS` in the
worker's environment, default all its cores); on a machine shared by several worker processes
give each 1 / (processes per machine) of the cores.
"""
import functools
import inspect
import math
import numbers
import reprlib
from typing import Any, Optional, Sequence, Union

import numpy as np

try:
    import cloudpickle
    import dask
    import dask.array as da
    import distributed
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("mfkit.dask needs Dask: pip install 'mfkit[dask]' (or pip install 'dask[distributed]')") from exc

from . import _args
from . import kron
from . import noise as _noise
from . import streaming_matrix as sm
from .banded import ColumnNormalizedBanded

__all__ = ["portable", "ShardedNoise", "multiply_array", "kronsum_diag_reduce", "ks_project_diag_map"]


def _same(obj):
    return obj


def _banded(params):
    return ColumnNormalizedBanded(params)


def _call_method(build, name):
    return getattr(build(), name)()


def portable(obj) -> Any:
    """A zero-argument callable that Dask can send to a worker and that returns `obj` (or an
    equal object) there: a ColumnNormalizedBanded is rebuilt from its params, a bound method
    of one (e.g. `C.inverse_as_streaming_matrix`) is called on the rebuilt strategy; an object
    that pickles (cloudpickle, as Dask) is carried as it is; a callable that pickles is
    returned unchanged (it builds the object on the worker).

    Parameters
    ----------
    obj : ColumnNormalizedBanded, StreamingMatrix, another strategy, or a callable

    Returns
    -------
    callable

    Raises
    ------
    TypeError
        An object or callable that does not pickle.

    Cost: O(n b) for a banded strategy (its params), O(1) otherwise.

    Examples
    --------
    >>> from mfkit import banded
    >>> build = portable(banded.ColumnNormalizedBanded.default(16, 2))
    >>> import pickle; pickle.loads(pickle.dumps(build))().bands
    2
    """
    if isinstance(obj, ColumnNormalizedBanded):
        return functools.partial(_banded, obj.params)
    if inspect.ismethod(obj) and isinstance(obj.__self__, ColumnNormalizedBanded):
        return functools.partial(_call_method, portable(obj.__self__), obj.__name__)
    try:
        cloudpickle.dumps(obj)
    except Exception:  # noqa: BLE001 - any pickling failure means: send a recipe instead
        raise TypeError(f"{type(obj).__name__} cannot be sent to Dask workers (it does not pickle); pass a "
                        "zero-argument function that builds it there, e.g. mfkit.streaming_matrix.prefix_sum or "
                        "functools.partial(mfkit.streaming_matrix.momentum_sgd_matrix, 0.9)") from None
    return obj if callable(obj) and not isinstance(obj, sm.StreamingMatrix) else functools.partial(_same, obj)


def _client(client):
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise TypeError(f"client must be a distributed.Client or None, got {type(client).__name__}")
        return client
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError("no Dask client: pass client= or create a distributed.Client first") from None


# ---------------------------------------------------------------- sharded correlated noise
class _NoiseShard:
    """A Dask actor: one shard's CorrelatedNoise and its current noise, on one worker."""

    def __init__(self, build, size, stddev, seed, dtype):
        self.noise = _noise.CorrelatedNoise(build(), size, stddev=stddev, seed=seed, dtype=dtype)
        self.value = np.zeros(size, dtype=self.noise.dtype)

    def next(self):
        self.noise.next(out=self.value)
        return self.noise.step

    def get(self):
        return self.value

    def apply(self, fn, index, args, kwargs):
        return fn(self.value, index, *args, **kwargs)


class ShardedNoise:
    """Correlated noise for d parameters split into shards held by Dask workers.

    Parameters
    ----------
    client : distributed.Client or None
        The cluster (None: the default client).
    noising : strategy, StreamingMatrix or callable
        The strategy C (its inverse is used), the noising matrix, or a zero-argument function
        building either on a worker (see `portable`).
    d : int or tuple of int
        The parameters (a shape is flattened in C order).
    shards : int or sequence of int, optional
        The shard layout (`mfkit.noise.shard_sizes`; default one shard per worker).
    stddev : float
        Standard deviation of z.
    seed : None, int or numpy.random.SeedSequence
        The root seed; shard i draws from its i-th child (`mfkit.noise.shard_seeds`).
    dtype : float32 or float64
    workers : sequence of str, optional
        Worker addresses; shard i lives on workers[i % len(workers)] (default: all workers,
        sorted).

    Raises
    ------
    ValueError, TypeError
        Bad layout, dtype or stddev; no client; a noising object that cannot travel.

    Cost per step: each worker draws its shard's normals and applies C^{-1} (O(size b)) in
    place; nothing crosses the network but the call. Memory per worker: its shard times
    (b + 1) values. `gather()` moves all d values to the client (for tests and small d).

    Examples
    --------
    >>> noise = ShardedNoise(client, C, 10**9, stddev=s, seed=0)     # doctest: +SKIP
    >>> noise.next()                                                 # doctest: +SKIP
    1
    >>> noise.apply(lambda z, i: float(z @ z))     # per shard, on its worker  # doctest: +SKIP
    """

    def __init__(self, client, noising, d, *, shards: Optional[Union[int, Sequence[int]]] = None,
                 stddev: float = 1.0, seed: Any = None, dtype=np.float32, workers: Optional[Sequence[str]] = None):
        self.client = _client(client)
        self.dtype = _args.real_dtype(dtype, "ShardedNoise")
        self.shape = _args.shape(d, "d", "ShardedNoise")
        if min(self.shape, default=0) < 0:
            raise ValueError(f"ShardedNoise: d must be non-negative, got {self.shape}")
        size = math.prod(self.shape)
        self.workers = sorted(self.client.scheduler_info()["workers"]) if workers is None else list(workers)
        if not self.workers:
            raise ValueError("ShardedNoise: the cluster has no workers")
        self.shard_sizes = _noise.shard_sizes(size, len(self.workers) if shards is None else shards)
        self.seed = _noise.root_seed(seed, "ShardedNoise")
        seeds = _noise.shard_seeds(self.seed, len(self.shard_sizes))
        build = portable(noising)
        futures = [self.client.submit(_NoiseShard, build, s, stddev, seeds[i], self.dtype, actor=True,
                                      workers=[self.workers[i % len(self.workers)]], allow_other_workers=False,
                                      pure=False)
                   for i, s in enumerate(self.shard_sizes)]
        self._futures = futures
        self.actors = [f.result() for f in futures]
        self.step = 0

    def next(self) -> int:
        """Every shard draws and transforms step t's noise in place; returns t + 1."""
        steps = [f.result() for f in [a.next() for a in self.actors]]
        self.step = steps[0]
        return self.step

    def apply(self, fn, *args, **kwargs) -> list:
        """[fn(noise_i, i, *args, **kwargs) for every shard i], run on the shard's worker with
        its current noise (a 1-D array; add it to the shard's gradient, for example)."""
        return [f.result() for f in [a.apply(fn, i, args, kwargs) for i, a in enumerate(self.actors)]]

    def gather(self) -> np.ndarray:
        """The current step's noise of all d parameters, on the client (O(d) transfer)."""
        parts = [f.result() for f in [a.get() for a in self.actors]]
        return np.concatenate(parts).reshape(self.shape)

    def close(self):
        """Releases the workers' shards."""
        self.actors, self._futures = [], []

    def __repr__(self):
        return (f"<mfkit ShardedNoise shape={self.shape} dtype={self.dtype} shards={len(self.shard_sizes)} "
                f"step={self.step}>")


# ---------------------------------------------------------------- streaming products
def _multiply_block(block, build):
    return sm.multiply_array(build(), block)


def multiply_array(A, x):
    """A @ x for a Dask array x of shape (n, ...) chunked along the parameter axes only.

    Parameters
    ----------
    A : StreamingMatrix or callable
        The matrix, or a zero-argument function building it on a worker (see `portable`).
    x : dask.array.Array, float32 or float64
        One chunk along axis 0 (every chunk holds all n steps).

    Returns
    -------
    dask.array.Array
        Lazy, of x's shape, dtype and chunks; each chunk is `streaming_matrix.multiply_array`
        of x's chunk.

    Raises
    ------
    TypeError
        x is not a Dask array of float32/float64, or A cannot travel.
    ValueError
        x is chunked along the step axis (axis 0).

    Cost: O(n m s) over all chunks (m parameters), one pass over each chunk, chunks in
    parallel across workers.

    Examples
    --------
    >>> x = da.ones((4, 6), chunks=(4, 3))
    >>> multiply_array(sm.prefix_sum, x).compute()[:, 0].tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    if not isinstance(x, da.Array):
        raise TypeError(f"multiply_array: x must be a dask array (use mfkit.streaming_matrix.multiply_array for NumPy), "
                        f"got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"multiply_array: x must be float32 or float64, got {x.dtype}")
    if x.ndim < 1 or len(x.chunks[0]) != 1:
        raise ValueError(f"multiply_array: x is chunked along the step axis (axis 0 chunks {x.chunks[0] if x.ndim else ()}); "
                         "every chunk must hold all n steps: chunk the parameter axes only, e.g. x.rechunk({0: -1})")
    return x.map_blocks(_multiply_block, portable(A), dtype=x.dtype)


# ---------------------------------------------------------------- Kronecker reductions
def _vectors(vecs, function):
    if isinstance(vecs, np.ndarray) or not isinstance(vecs, (list, tuple)) or not vecs:
        raise TypeError(f"{function}: vecs must be a non-empty list or tuple of vectors")
    vecs = [np.asarray(v) for v in vecs]
    if vecs[0].ndim != 1 or vecs[0].size == 0:
        raise ValueError(f"{function}: the first vector must be one-dimensional and non-empty, got shape {vecs[0].shape}")
    return vecs


#: The most ranges a Kronecker reduction is split into (one Dask task each).
MAX_SPLITS = 1 << 16


def _ranges(length, splits, function):
    """`splits` near-equal ranges of range(length) (fewer when length is smaller); by default
    one per worker of the default client (at least one), or 1 without a client."""
    if splits is None:
        try:
            splits = max(1, len(distributed.get_client().scheduler_info()["workers"]))
        except ValueError:  # no client: one range, the single-process call
            splits = 1
    if isinstance(splits, bool) or not isinstance(splits, (numbers.Integral, np.integer)) \
            or not 1 <= splits <= MAX_SPLITS:
        raise ValueError(f"{function}: splits must be an integer in [1, {MAX_SPLITS}], got {splits!r}")
    count = min(int(splits), length)
    return [(length * i // count, length * (i + 1) // count) for i in range(count)]


def _kron_task(name, vecs, *args):
    return getattr(kron, name)(list(vecs), *args)


def _function(f, function):
    if f not in kron.FUNCTIONS:
        raise ValueError(f"{function}: f must be one of {sorted(kron.FUNCTIONS)}, got {f!r}")
    return f


def kronsum_diag_reduce(vecs, f, *, splits: Optional[int] = None) -> float:
    """Σ_i f(w_i) for w = kronsum_diag(*vecs), split by ranges of the first factor over Dask.

    Parameters
    ----------
    vecs : list of 1-D arrays
        The factors' diagonals (one dtype, float32 or float64).
    f : str
        One of `mfkit.kron.FUNCTIONS`.
    splits : int, optional
        Number of ranges of the first factor (default: one per worker of the default client,
        or 1 without a client).

    Returns
    -------
    float
        Equal to `kron.kronsum_diag_reduce(vecs, f)` to rounding.

    Raises
    ------
    ValueError, TypeError
        As `kron.kronsum_diag_reduce`, plus a bad `splits`.

    Cost: O(N) evaluations of f spread over the workers; each task receives its range of the
    first factor and the other factors (O(Σ d_k)); memory per worker independent of N.

    Examples
    --------
    >>> v = [np.arange(1.0, 5.0), np.ones(3)]
    >>> round(kronsum_diag_reduce(v, "log", splits=2), 12) == round(kron.kronsum_diag_reduce(v, "log"), 12)
    True
    """
    f = _function(f, "kronsum_diag_reduce")
    vecs = _vectors(vecs, "kronsum_diag_reduce")
    first, rest = vecs[0], vecs[1:]
    parts = dask.compute(*[dask.delayed(_kron_task)("kronsum_diag_reduce", [first[a:b], *rest], f)
                           for a, b in _ranges(first.size, splits, "kronsum_diag_reduce")])
    return math.fsum(parts) if all(math.isfinite(p) for p in parts) else float(sum(parts))


def ks_project_diag_map(vecs, dims, f, out=None, *, splits: Optional[int] = None) -> list:
    """ks_project_diag(f(kronsum_diag(*vecs)), dims) split by ranges of the first factor over
    Dask, onto the vectors' own lengths (dims None or equal to them).

    Each range p of the first factor (N_p entries) returns its own projection A_k^p; its axis
    sums S_k^p = N_p / d_k (A_k^p + (K - 1) mean(A_k^p)) and total T_p are recovered in float64,
    added over the ranges (the first factor's sums concatenated), and projected once:
    A_k = d_k / N · S_k - (K - 1) / K · T / N.

    Parameters
    ----------
    vecs : list of 1-D arrays
        The factors' diagonals (one dtype, float32 or float64).
    dims : None or sequence of int
        Must be None or the vectors' lengths.
    f : str
        One of `mfkit.kron.FUNCTIONS`.
    out : list of K arrays, optional
        Written in place (lengths d_k) and returned.
    splits : int, optional
        As in `kronsum_diag_reduce`.

    Returns
    -------
    list of K numpy arrays (the dtype of vecs)
        Equal to `kron.ks_project_diag_map(vecs, dims, f)` to rounding.

    Raises
    ------
    ValueError, TypeError
        As `kron.ks_project_diag_map`, dims other than the lengths, or a bad `out`.

    Cost: O(N) evaluations of f spread over the workers, O(Σ d_k) per task to combine.

    Examples
    --------
    >>> v = [np.arange(1.0, 5.0), np.ones(3), np.full(2, 3.0)]
    >>> parts = ks_project_diag_map(v, None, "reciprocal", splits=3)
    >>> all(np.allclose(p, q) for p, q in zip(parts, kron.ks_project_diag_map(v, None, "reciprocal")))
    True
    """
    f = _function(f, "ks_project_diag_map")
    vecs = _vectors(vecs, "ks_project_diag_map")
    lengths = [v.shape[0] if v.ndim == 1 else 1 for v in vecs]
    if dims is not None and (not hasattr(dims, "__len__") or len(dims) != len(lengths)
                             or [int(d) for d in dims] != lengths):
        raise ValueError(f"ks_project_diag_map: the Dask version projects onto the vectors' own lengths {lengths}; "
                         f"got dims {reprlib.repr(dims)}")
    if out is not None and (not isinstance(out, (list, tuple)) or len(out) != len(vecs) or any(
            not isinstance(o, np.ndarray) or o.shape != (d,) for o, d in zip(out, lengths))):
        raise ValueError(f"ks_project_diag_map: out must be a list of {len(vecs)} arrays of lengths {lengths}")
    K, N = len(vecs), math.prod(lengths)
    rest_size = N // lengths[0]
    first, rest = vecs[0], vecs[1:]
    ranges = _ranges(first.size, splits, "ks_project_diag_map")
    parts = dask.compute(*[dask.delayed(_kron_task)("ks_project_diag_map", [first[a:b], *rest], None, f) for a, b in ranges])
    sums = [np.zeros(d) for d in lengths[1:]]
    first_sums, total = [], 0.0
    for (a, b), projection in zip(ranges, parts):
        n_p = (b - a) * rest_size
        recovered = [n_p / p.size * (p.astype(np.float64) + (K - 1) * p.astype(np.float64).mean()) for p in projection]
        first_sums.append(recovered[0])
        total += recovered[0].sum()
        for s, r in zip(sums, recovered[1:]):
            s += r
    sums.insert(0, np.concatenate(first_sums))
    dtype = parts[0][0].dtype
    result = [(d / N * s - (K - 1) / K * total / N).astype(dtype) for d, s in zip(lengths, sums)]
    if out is None:
        return result
    for o, r in zip(out, result):
        np.copyto(o, r)
    return list(out)

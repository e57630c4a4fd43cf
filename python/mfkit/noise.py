"""Correlated noise for a training loop: step t's noise (C^{-1} z)[t] for z ~ N(0, stddev^2),
drawn and transformed in place, one step at a time, reproducible from a seed.

    >>> import numpy as np
    >>> from mfkit import banded, noise
    >>> C = banded.ColumnNormalizedBanded.default(100, 4)
    >>> gen = noise.CorrelatedNoise(C, 1000, stddev=2.0, seed=0)
    >>> g = np.zeros(1000, dtype=np.float32)
    >>> gen.next(out=g).dtype, gen.step              # noise of step 0, written into g
    (dtype('float32'), 1)

Shards. The d parameters (flattened in C order) may be split into contiguous shards; shard i
draws its z from `numpy.random.default_rng(shard_seeds(seed, S)[i])`, the i-th child of the
root SeedSequence (`SeedSequence(seed).spawn(S)` on a fresh sequence). One shard (the default)
draws from `default_rng(seed)` itself. The noise of a shard depends only on the root seed, the
shard layout and the shard's index: `mfkit.dask.ShardedNoise` generates the same numbers on
Dask workers, each holding one shard.

Cost per step: drawing d normals (NumPy's ziggurat; with several shards and d >= 2^20 the
shards draw on up to `mfkit.num_threads()` threads at once) plus O(d b) for the banded inverse
(b bands; O(d s) for a streaming matrix of s stages, over the cores); memory d values for z
plus the stream's state (b - 1 slices of d values for a banded strategy).
"""
import math
import numbers
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _args, _ffi
from .streaming_matrix import StreamingMatrix

__all__ = ["CorrelatedNoise", "shard_seeds", "shard_sizes", "noising_matrix"]

#: The most shards a layout may have.
MAX_SHARDS = 1 << 20
_PARALLEL_DRAW = 1 << 20   # parameters from which shards draw their normals on parallel threads


def noising_matrix(noising) -> StreamingMatrix:
    """The noising matrix C^{-1} of a strategy (anything with `inverse_as_streaming_matrix()`),
    or a StreamingMatrix itself (e.g. `streaming_matrix.identity()` for independent noise).

    Parameters
    ----------
    noising : strategy or StreamingMatrix

    Returns
    -------
    StreamingMatrix

    Raises
    ------
    TypeError
        Neither.

    Cost: O(1) (a strategy's inverse keeps its parameters).

    Examples
    --------
    >>> from mfkit import streaming_matrix as sm
    >>> noising_matrix(sm.identity()).num_stages
    0
    """
    if isinstance(noising, StreamingMatrix):
        return noising
    if hasattr(noising, "inverse_as_streaming_matrix"):
        return noising.inverse_as_streaming_matrix()
    raise TypeError("noising must be a strategy (with inverse_as_streaming_matrix()) or a StreamingMatrix, "
                    f"got {type(noising).__name__}")


def shard_sizes(d: int, shards: Union[int, Sequence[int]]) -> list:
    """Sizes of the shards of d parameters: `shards` equal parts (the first d % shards one
    larger, as `numpy.array_split`) or the given sizes (positive, summing to d); at most
    MAX_SHARDS of them.

    Examples
    --------
    >>> shard_sizes(10, 3)
    [4, 3, 3]
    """
    d = _args.integer(d, "d", "shard_sizes", minimum=0, condition="non-negative")
    limit = min(max(d, 1), MAX_SHARDS)
    if isinstance(shards, (numbers.Integral, np.integer)) and not isinstance(shards, (bool, np.bool_)):
        shards = _args.integer(shards, "shards", "shard_sizes", minimum=1, condition=f"between 1 and {limit}")
        if shards > limit:
            raise ValueError(f"shard_sizes: shards must be between 1 and {limit} (parameters {d}), got {shards}")
        return [d // shards + (1 if i < d % shards else 0) for i in range(shards)]
    if isinstance(shards, (str, bytes)) or not hasattr(shards, "__len__"):
        raise TypeError(f"shard_sizes: shards must be an integer or a sequence of sizes, got {type(shards).__name__}")
    if not 1 <= len(shards) <= limit:
        raise ValueError(f"shard_sizes: there must be between 1 and {limit} shard sizes, got {len(shards)}")
    sizes = [_args.integer(s, "shard size", "shard_sizes", minimum=1, condition="positive") for s in shards]
    if sum(sizes) != d:
        raise ValueError(f"shard_sizes: shard sizes must sum to the number of parameters {d}, got {sum(sizes)}")
    return sizes


#: The longest sequence of integers accepted as a seed.
MAX_SEED_WORDS = 1024


def root_seed(seed: Any, function: str) -> np.random.SeedSequence:
    """The root SeedSequence of `seed`: None (fresh entropy), a non-negative integer, a short
    sequence of non-negative integers, or a SeedSequence itself."""
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return seed if seed is not None else np.random.SeedSequence()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer, list, tuple, np.ndarray)):
        raise TypeError(f"{function}: seed must be None, a non-negative integer, a sequence of them or a "
                        f"numpy.random.SeedSequence, got {type(seed).__name__}")
    if not isinstance(seed, (numbers.Integral, np.integer)) and len(seed) > MAX_SEED_WORDS:
        raise ValueError(f"{function}: a seed sequence may hold at most {MAX_SEED_WORDS} integers, got {len(seed)}")
    try:
        return np.random.SeedSequence(seed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{function}: seed is not usable as a numpy.random.SeedSequence entropy: {exc}") from None


def shard_seeds(seed: Any, shards: int) -> list:
    """The seeds of `shards` shards: [SeedSequence(seed)] for one shard, else the children
    0 ... shards - 1 of the root SeedSequence(seed) (what `.spawn(shards)` gives on a fresh
    root), computed without changing `seed`.

    Parameters
    ----------
    seed : None, int, sequence of int or numpy.random.SeedSequence
        The root (None: fresh entropy).
    shards : int
        Number of shards.

    Returns
    -------
    list of numpy.random.SeedSequence

    Examples
    --------
    >>> a = shard_seeds(42, 3)
    >>> b = np.random.SeedSequence(42).spawn(3)
    >>> all(x.spawn_key == y.spawn_key and x.entropy == y.entropy for x, y in zip(a, b))
    True
    """
    shards = _args.integer(shards, "shards", "shard_seeds", minimum=1, condition=f"between 1 and {MAX_SHARDS}")
    if shards > MAX_SHARDS:
        raise ValueError(f"shard_seeds: shards must be between 1 and {MAX_SHARDS}, got {shards}")
    root = root_seed(seed, "shard_seeds")
    if shards == 1:
        return [root]
    return [np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key + (i,), pool_size=root.pool_size)
            for i in range(shards)]


class CorrelatedNoise:
    """Step after step of correlated noise (C^{-1} z)[t], z[t] ~ N(0, stddev^2 I) of `shape`.

    Parameters
    ----------
    noising : strategy or StreamingMatrix
        The strategy C (its inverse is used) or the noising matrix itself.
    shape : int or tuple of int
        The shape of one step's noise (the model's parameters).
    stddev : float
        Standard deviation of z (e.g. `accounting.calibrate_noise(...).stddev`).
    seed : None, int or numpy.random.SeedSequence
        The root seed (None: fresh entropy; `self.seed` keeps the root for reproduction).
    dtype : float32 or float64
    shards : int or sequence of int
        The shard layout of the flattened parameters (see the module docstring).

    Raises
    ------
    ValueError, TypeError
        A bad shape, stddev, dtype or shard layout.

    Cost: per step d normals plus O(d b); memory O(d b) (see the module docstring).

    Examples
    --------
    >>> from mfkit import streaming_matrix as sm
    >>> gen = CorrelatedNoise(sm.identity(), (2, 3), seed=1, dtype=np.float64)
    >>> np.array_equal(gen.next(), np.random.default_rng(1).standard_normal((2, 3)))
    True
    """

    def __init__(self, noising, shape, *, stddev: float = 1.0, seed: Any = None, dtype=np.float32,
                 shards: Union[int, Sequence[int]] = 1):
        self.shape = _args.shape(shape, "shape", "CorrelatedNoise")
        if any(s < 0 for s in self.shape):
            raise ValueError(f"CorrelatedNoise: shape must be non-negative, got {self.shape}")
        self.stddev = _args.real(stddev, "stddev", "CorrelatedNoise")
        if not 0 <= self.stddev < np.inf:
            raise ValueError(f"CorrelatedNoise: stddev must be a finite non-negative number, got {stddev!r}")
        self.dtype = _args.real_dtype(dtype, "CorrelatedNoise")
        self.size = math.prod(self.shape)
        if self.size > _args.INT64_MAX:
            raise ValueError(f"CorrelatedNoise: shape {self.shape} has more than 2^63 elements")
        self.shard_sizes = shard_sizes(self.size, shards)
        self.seed = root_seed(seed, "CorrelatedNoise")
        self._rngs = [np.random.default_rng(s) for s in shard_seeds(self.seed, len(self.shard_sizes))]
        self._stream = noising_matrix(noising).stream((self.size,), self.dtype)

    @property
    def step(self) -> int:
        """The index t of the next step."""
        return self._stream.step

    def next(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Step t's noise, drawn and transformed in place in `out` (a C-contiguous array of
        `shape` and `dtype`; default a new one). Cost O(d b)."""
        if out is None:
            out = np.empty(self.shape, dtype=self.dtype)
        elif not (isinstance(out, np.ndarray) and out.shape == self.shape and out.dtype == self.dtype
                  and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"CorrelatedNoise.next: out must be a writable C-contiguous {self.dtype} array of shape "
                             f"{self.shape}")
        flat = out.reshape(-1)
        bounds = np.cumsum([0] + self.shard_sizes)
        jobs = [(rng, flat[a:b]) for rng, a, b in zip(self._rngs, bounds[:-1], bounds[1:])]
        draw = lambda job: job[0].standard_normal(dtype=self.dtype, out=job[1])  # noqa: E731
        workers = min(len(jobs), _ffi.num_threads())
        if workers > 1 and self.size >= _PARALLEL_DRAW:
            with ThreadPoolExecutor(workers) as pool:   # NumPy draws without the GIL
                list(pool.map(draw, jobs))
        else:
            for job in jobs:
                draw(job)
        if self.stddev != 1.0:
            flat *= self.dtype.type(self.stddev)
        self._stream.next(flat, out=flat)
        return out

    def __repr__(self):
        return (f"<mfkit CorrelatedNoise shape={self.shape} dtype={self.dtype} stddev={self.stddev:g} "
                f"shards={len(self.shard_sizes)} step={self.step}>")

#!/usr/bin/env python3
"""mfkit.dask: one process against a Dask LocalCluster of 2 worker processes, in the same run.

    python3 bench/bench_dask.py               # the full run (several minutes on 2 cores)
    python3 bench/bench_dask.py --quick       # a small smoke run

No anchor venv: runs in this interpreter, which needs the `dask` extra (`pip install -e
'python[dask]'`), with MFKit from this checkout. The quick run takes under a minute.

Measured:
- correlated noise (C^{-1} z)[t] of a banded strategy (n = 256, 4 bands) for 256 steps of
  d = 10^8 float32 parameters: `noise.CorrelatedNoise(C, d, shards=2)` in this process (both
  shards draw on parallel threads, MFKit uses 2 threads) against `dask.ShardedNoise` with the
  same layout on 2 worker processes (1 MFKit thread each), checked equal bit for bit;
- the fused log-det `kronsum_diag_reduce(vecs, "log")` with N = 10^10 (dims 1000 x 1000 x
  10000): `kron` in this process (2 threads) against `mfkit.dask` split over the 2 workers;
- the cluster's fixed costs (a step of noise for 1,000 parameters, a log-det of N = 1000), and
  from them and the per-worker rates a model of a larger cluster: time(W) = work / (W · rate of
  one worker) + fixed cost.
"""
import datetime
import os
import platform

import numpy as np

# _anchors first: it puts this checkout's mfkit on the path
from _anchors import arguments, repeat
from distributed import Client, LocalCluster

import mfkit
import mfkit.dask as mdask
from mfkit import banded, kron, noise


def local_noise(C, d, steps):
    gen = noise.CorrelatedNoise(C, d, shards=2, seed=0)
    out = np.empty(d, dtype=np.float32)

    def run():
        for _ in range(steps):
            gen.next(out=out)
        return out
    return repeat(run, 1)


def cluster_noise(client, C, d, steps):
    made = repeat(lambda: mdask.ShardedNoise(client, C, d, shards=2, seed=0), 1)
    sharded = made.out

    def run():
        for _ in range(steps):
            sharded.next()
    return made.best, repeat(run, 1).best, sharded


def main():
    parser = arguments(__doc__, quick="d = 10^6, 16 steps, N = 10^8")
    args = parser.parse_args()
    d, steps, dims = (10**6, 16, (100, 1000, 1000)) if args.quick else (10**8, 256, (1000, 1000, 10000))
    N = int(np.prod(dims, dtype=np.int64))
    print(f"{datetime.date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; MFKit {mfkit.__version__}, {mfkit.num_threads()} threads here")
    C = banded.optimize(256, bands=4, max_optimizer_steps=50)
    rng = np.random.default_rng(1)
    vecs = [rng.uniform(0.5, 2.0, k) for k in dims]

    t = local_noise(C, d, steps)
    t_local_noise, last = t.best, t.out.copy()
    print(f"noise, one process:  {steps} steps of {d:.0e} float32 in {t_local_noise:.2f} s "
          f"({t_local_noise / steps * 1e3:.1f} ms per step)")
    t = repeat(lambda: kron.kronsum_diag_reduce(vecs, "log"), 1)
    t_local_logdet, logdet = t.best, t.out
    print(f"log-det, one process: N = {N:.0e} in {t_local_logdet:.2f} s")

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"MFKIT_NUM_THREADS": "1"}) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        setup, t_cluster_noise, sharded = cluster_noise(client, C, d, steps)
        same = np.array_equal(sharded.gather(), last)
        sharded.close()
        del sharded
        print(f"noise, 2 workers:    {t_cluster_noise:.2f} s ({t_cluster_noise / steps * 1e3:.1f} ms per step; "
              f"set-up {setup:.2f} s); equal to one process bit for bit: {same}")
        t = repeat(lambda: mdask.kronsum_diag_reduce(vecs, "log", splits=2), 1)
        t_cluster_logdet, dask_logdet = t.best, t.out
        print(f"log-det, 2 workers:  {t_cluster_logdet:.2f} s; relative difference "
              f"{abs(dask_logdet - logdet) / abs(logdet):.1e}")
        # fixed costs: a step of noise for 1000 parameters, a log-det of N = 1000
        tiny = mdask.ShardedNoise(client, C, 1000, shards=2, seed=0)
        t_step = repeat(lambda: [tiny.next() for _ in range(50)], 1).best / 50
        tiny.close()
        t_task = repeat(lambda: [mdask.kronsum_diag_reduce([np.ones(10), np.ones(10), np.ones(10)], "log", splits=2)
                                 for _ in range(20)], 1).best / 20

    print(f"fixed costs: {t_step * 1e3:.2f} ms per noise step, {t_task * 1e3:.1f} ms per reduction")
    print()
    print("| case | one process (2 threads) | 2 workers (1 thread each) | ratio |")
    print("|---|---|---|---|")
    print(f"| noise, {steps} steps x {d:.0e} float32, 4 bands | {t_local_noise:.1f} s | {t_cluster_noise:.1f} s | "
          f"{t_local_noise / t_cluster_noise:.2f} |")
    print(f"| log-det, N = {N:.0e} | {t_local_logdet:.1f} s | {t_cluster_logdet:.1f} s | "
          f"{t_local_logdet / t_cluster_logdet:.2f} |")
    print()
    # A larger cluster: each of W workers (one core each here) does 1/W of the work at the
    # rate one worker showed, plus the fixed cost of the round trip.
    noise_rate = d * steps / 2 / max(t_cluster_noise - steps * t_step, 1e-9)      # per worker
    logdet_rate = N / 2 / max(t_cluster_logdet - t_task, 1e-9)
    print("model of W one-core workers:")
    for W in (2, 8, 32, 128):
        print(f"  W = {W:4d}: noise {d * steps / (W * noise_rate) + steps * t_step:8.1f} s, "
              f"log-det {N / (W * logdet_rate) + t_task:7.2f} s")


if __name__ == "__main__":
    main()

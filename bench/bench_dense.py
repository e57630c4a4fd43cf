#!/usr/bin/env python3
"""Dense strategies: MFKit's `dense.optimize` against jax_privacy 2.0.0's (jax, float64) in the
same run.

    python3 bench/bench_dense.py             # n = 512 against jax_privacy, n = 4096 MFKit alone
    python3 bench/bench_dense.py --quick     # a small smoke run
    python3 bench/bench_dense.py --no-jax    # MFKit only

jax_privacy runs in the shared anchor bench/.venv-jax-privacy (bench/_anchors.py: jax-privacy
2.0.0, jax 0.10.2; created on first use), in a child process; MFKit runs in this process, from
this checkout, and in a child process for the large case, whose peak memory is read from
/proc/self/status. The quick run takes under half a minute, the full run about 10 minutes.

Measured: `dense.optimize(n, max_optimizer_steps=100)` (defaults: mean error, prefix sums,
jax_privacy's tolerance stop) at n = 512: wall time (jax: first call, which compiles, and a
second call in the same process), steps taken, and the final loss, the mean per-query error of
the returned C computed the same way for both (MFKit's per_query_error in float64); the
strategies are compared entrywise. At n = 4096 (MFKit alone, with 1 thread and with every
core): seconds per step and peak memory over a run of a few steps.
"""
import datetime
import os
import platform
import tempfile

import numpy as np

# _anchors first: it puts this checkout's mfkit on the path
from _anchors import arguments, repeat, run_worker

import mfkit
from mfkit import dense

JAX_WORKER = r'''
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from jax_privacy.matrix_factorization import dense

from _anchors import read_task, repeat, reply

n, steps, path = read_task()
out = {}
for call in ("first", "second"):
    count = [0]
    def callback(info):
        count[0] += 1
        return dense.pg_tol_termination_fn(info)
    t = repeat(lambda: np.asarray(jax.block_until_ready(dense.optimize(n, max_optimizer_steps=steps,
                                                                       callback=callback))), 1)
    out[call], out[call + "_steps"] = t.best, count[0]
np.save(path, t.out)
reply(out)
'''

MFKIT_CHILD = r'''
from _anchors import peak_rss_mb, read_task, repeat, reply
from mfkit import dense
n, steps = read_task()
count = [0]
t = repeat(lambda: dense.optimize(n, max_optimizer_steps=steps, callback=lambda info: count.__setitem__(0, count[0] + 1)),
           1)
error = float(dense.per_query_error(strategy_matrix=t.out).mean())
reply({"seconds": t.best, "steps": count[0], "value": error, "peak_mb": peak_rss_mb()})
'''


def jax_optimize(n, steps):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "C.npy")
        result = run_worker(JAX_WORKER, [n, steps, path], anchor="jax-privacy", timeout=7200)
        result["C"] = np.load(path)
    return result


def mfkit_child(n, steps, threads):
    return run_worker(MFKIT_CHILD, [n, steps], env={"MFKIT_NUM_THREADS": str(threads)})


def mean_error(C):
    return float(dense.per_query_error(strategy_matrix=C).mean())


def main():
    args = arguments(__doc__, no_jax=True).parse_args()
    n, steps = (128, 20) if args.quick else (512, 100)
    large, large_steps = (1024, 3) if args.quick else (4096, 5)
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, MFKit threads {mfkit.num_threads()}, OpenBLAS {mfkit.lapack_library()['path']}",
          flush=True)

    # MFKit: best of 3 (the first call also loads OpenBLAS's symbols).
    count = []
    t = repeat(lambda: dense.optimize(n, max_optimizer_steps=steps, callback=lambda info: count.append(info.step)
                                      or dense.pg_tol_termination_fn(info)), 3, setup=count.clear)
    C, best = t.out, t.best
    # the native tolerance stop, no Python callback
    native = repeat(lambda: dense.optimize(n, max_optimizer_steps=steps), 1).best
    mf_loss = mean_error(C)
    print(f"optimize n={n}, {steps} steps: MFKit {best:.3f} s (runs {', '.join(f'{s:.3f}' for s in t.times)}; "
          f"native stop {native:.3f} s), {len(count)} steps, mean error {mf_loss:.12f}", flush=True)
    if not args.no_jax:
        jx = jax_optimize(n, steps)
        jx_loss = mean_error(jx["C"])
        print(f"  jax_privacy: first call {jx['first']:.3f} s ({jx['first_steps']} steps), second call "
              f"{jx['second']:.3f} s ({jx['second_steps']} steps), mean error {jx_loss:.12f}", flush=True)
        print(f"  speed-up: {jx['first'] / best:.1f}x (first call), {jx['second'] / best:.1f}x (second call); "
              f"loss MFKit - jax = {mf_loss - jx_loss:+.3e} ({(mf_loss - jx_loss) / jx_loss:+.2e} relative); "
              f"max |C_mfkit - C_jax| = {np.abs(C - jx['C']).max():.2e}", flush=True)

    for threads in sorted({1, os.cpu_count() or 1}):
        r = mfkit_child(large, large_steps, threads)
        print(f"optimize n={large}, {large_steps} steps, MFKIT_NUM_THREADS={threads} (MFKit alone, child process): "
              f"{r['seconds']:.1f} s, {r['seconds'] / r['steps']:.2f} s per step, peak RSS {r['peak_mb']:.0f} MB, "
              f"mean error {r['value']:.6f}", flush=True)


if __name__ == "__main__":
    main()

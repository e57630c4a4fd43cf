#!/usr/bin/env python3
"""Dense strategies: MFKit's `dense.optimize` against jax_privacy 2.0.0's (jax, float64) in the
same run.

    python3 bench/bench_dense.py             # n = 512 against jax_privacy, n = 4096 MFKit alone
    python3 bench/bench_dense.py --quick     # a small smoke run
    python3 bench/bench_dense.py --no-jax    # MFKit only

jax_privacy runs in bench/.venv-dense (created here when missing: jax-privacy 2.0.0, jax
0.10.2), in a child process; MFKit runs in this process (PYTHONPATH / MFKIT_LIBRARY as for the
tests) and in a child process for the large case, whose peak memory is read from
/proc/self/status.

Measured: `dense.optimize(n, max_optimizer_steps=100)` (defaults: mean error, prefix sums,
jax_privacy's tolerance stop) at n = 512: wall time (jax: first call, which compiles, and a
second call in the same process), steps taken, and the final loss, the mean per-query error of
the returned C computed the same way for both (MFKit's per_query_error in float64); the
strategies are compared entrywise. At n = 4096 (MFKit alone, with 1 thread and with every
core): seconds per step and peak memory over a run of a few steps.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-dense"
VENV_PY = VENV / "bin" / "python"
sys.path.insert(0, str(ROOT / "python"))
os.environ.setdefault("MFKIT_LIBRARY", str(ROOT / ".build" / "release" / "libmfkit.so"))

import mfkit  # noqa: E402
from mfkit import dense  # noqa: E402

JAX_WORKER = r'''
import json, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from jax_privacy.matrix_factorization import dense

n, steps, path = json.loads(sys.argv[1])
out = {}
for call in ("first", "second"):
    count = [0]
    def callback(info):
        count[0] += 1
        return dense.pg_tol_termination_fn(info)
    t = time.perf_counter()
    C = dense.optimize(n, max_optimizer_steps=steps, callback=callback)
    C = np.asarray(jax.block_until_ready(C))
    out[call] = time.perf_counter() - t
    out[call + "_steps"] = count[0]
np.save(path, C)
print(json.dumps(out))
'''

MFKIT_CHILD = r'''
import json, sys, time
sys.path.insert(0, sys.argv[2])
from mfkit import dense
n, steps = json.loads(sys.argv[1])
count = [0]
t = time.perf_counter()
C = dense.optimize(n, max_optimizer_steps=steps, callback=lambda info: count.__setitem__(0, count[0] + 1))
seconds = time.perf_counter() - t
error = float(dense.per_query_error(strategy_matrix=C).mean())
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "steps": count[0], "value": error, "peak_mb": hwm / 1024}))
'''


def ensure_venv():
    if VENV_PY.exists():
        return
    print(f"creating {VENV} (jax-privacy 2.0.0, jax 0.10.2) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "jax-privacy==2.0.0", "jax==0.10.2"], check=True)


def jax_optimize(n, steps):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "C.npy")
        proc = subprocess.run([str(VENV_PY), "-c", JAX_WORKER, json.dumps([n, steps, path])], capture_output=True,
                              text=True, timeout=7200, env=dict(os.environ, JAX_PLATFORMS="cpu"))
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip()[-2000:])
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["C"] = np.load(path)
    return result


def mfkit_child(n, steps, threads):
    proc = subprocess.run([sys.executable, "-c", MFKIT_CHILD, json.dumps([n, steps]), str(ROOT / "python")],
                          capture_output=True, text=True, check=True,
                          env=dict(os.environ, MFKIT_NUM_THREADS=str(threads)))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mean_error(C):
    return float(dense.per_query_error(strategy_matrix=C).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--no-jax", action="store_true", help="MFKit only")
    args = parser.parse_args()
    n, steps = (128, 20) if args.quick else (512, 100)
    large, large_steps = (1024, 3) if args.quick else (4096, 5)
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, MFKit threads {mfkit.num_threads()}, OpenBLAS {mfkit.lapack_library()['path']}",
          flush=True)

    # MFKit: best of 3 (the first call also loads OpenBLAS's symbols).
    times, count = [], []
    for _ in range(3):
        count.clear()
        t = time.perf_counter()
        C = dense.optimize(n, max_optimizer_steps=steps,
                           callback=lambda info: count.append(info.step) or dense.pg_tol_termination_fn(info))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    dense.optimize(n, max_optimizer_steps=steps)   # the native tolerance stop, no Python callback
    native = time.perf_counter() - t
    mf_loss = mean_error(C)
    print(f"optimize n={n}, {steps} steps: MFKit {min(times):.3f} s (runs {', '.join(f'{s:.3f}' for s in times)}; "
          f"native stop {native:.3f} s), {len(count)} steps, mean error {mf_loss:.12f}", flush=True)
    if not args.no_jax:
        ensure_venv()
        jx = jax_optimize(n, steps)
        jx_loss = mean_error(jx["C"])
        print(f"  jax_privacy: first call {jx['first']:.3f} s ({jx['first_steps']} steps), second call "
              f"{jx['second']:.3f} s ({jx['second_steps']} steps), mean error {jx_loss:.12f}", flush=True)
        print(f"  speed-up: {jx['first'] / min(times):.1f}x (first call), {jx['second'] / min(times):.1f}x (second call); "
              f"loss MFKit - jax = {mf_loss - jx_loss:+.3e} ({(mf_loss - jx_loss) / jx_loss:+.2e} relative); "
              f"max |C_mfkit - C_jax| = {np.abs(C - jx['C']).max():.2e}", flush=True)

    for threads in sorted({1, os.cpu_count() or 1}):
        r = mfkit_child(large, large_steps, threads)
        print(f"optimize n={large}, {large_steps} steps, MFKIT_NUM_THREADS={threads} (MFKit alone, child process): "
              f"{r['seconds']:.1f} s, {r['seconds'] / r['steps']:.2f} s per step, peak RSS {r['peak_mb']:.0f} MB, "
              f"mean error {r['value']:.6f}", flush=True)


if __name__ == "__main__":
    main()

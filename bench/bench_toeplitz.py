#!/usr/bin/env python3
"""Banded Toeplitz strategies: MFKit against jax_privacy 2.0.0 (jax, float64) in the same run.

    python3 bench/bench_toeplitz.py            # the full run (jax's optimize at (65,536, 64) takes minutes)
    python3 bench/bench_toeplitz.py --quick    # a small smoke run
    python3 bench/bench_toeplitz.py --no-jax   # MFKit alone

jax_privacy runs in bench/.venv-toeplitz (created here when missing: jax-privacy 2.0.0, jax
0.10.2), in child processes; MFKit runs in this process (PYTHONPATH / MFKIT_LIBRARY as for the
tests). Prints a table; the full run also writes bench/results_toeplitz.json.

Measured:
- per_query_error(strategy_coef=c, n) at n = 10^6 for b = 16 and 64 (jax: jitted, best after
  compiling, and the plain call as a user makes it, tracing included);
- loss and its gradient at (65,536, 64) (jax: jax.value_and_grad of `loss`, jitted);
- optimize_banded_toeplitz(n, bands, max_optimizer_steps=100) at (65,536, 64) for both, and
  MFKit alone at (10^7, 256) in a child process (wall time and peak RSS, VmHWM);
- noise generation C^{-1} z in place on float32 (256, 10^6) with the Toeplitz inverse at b = 4,
  16, 64 against np.copyto of the same bytes (and jax's jitted multiply_array).
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-toeplitz"
VENV_PY = VENV / "bin" / "python"
sys.path.insert(0, str(ROOT / "python"))
os.environ.setdefault("MFKIT_LIBRARY", str(ROOT / ".build" / "release" / "libmfkit.so"))

import mfkit  # noqa: E402
from mfkit import streaming_matrix as sm  # noqa: E402
from mfkit import toeplitz  # noqa: E402

JAX_WORKER = r'''
import json, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax_privacy.matrix_factorization import streaming_matrix, toeplitz

task = json.loads(sys.argv[1])
kind, n, b = task["kind"], task.get("n"), task.get("b")

def best(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter(); out = fn(); jax.block_until_ready(out); times.append(time.perf_counter() - t)
    return min(times), out

coef = toeplitz.optimal_max_error_strategy_coefs(b) if b else None
if kind == "error":
    t0 = time.perf_counter(); e = toeplitz.per_query_error(strategy_coef=coef, n=n); jax.block_until_ready(e)
    plain = time.perf_counter() - t0
    f = jax.jit(lambda c: toeplitz.per_query_error(strategy_coef=c, n=n))
    jax.block_until_ready(f(coef))
    seconds, e = best(lambda: f(coef), task["repeats"])
    print(json.dumps({"seconds": seconds, "plain": plain, "value": float(e[-1])}))
elif kind == "value_grad":
    f = jax.jit(jax.value_and_grad(lambda c: toeplitz.loss(c, n=n)))
    jax.block_until_ready(f(coef))
    seconds, (v, g) = best(lambda: f(coef), task["repeats"])
    print(json.dumps({"seconds": seconds, "value": float(v)}))
elif kind == "optimize":
    t0 = time.perf_counter()
    c = toeplitz.optimize_banded_toeplitz(n, b, max_optimizer_steps=task["steps"])
    jax.block_until_ready(c)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "value": float(toeplitz.loss(c, n=n))}))
elif kind == "noise":
    rows, cols = task["shape"]
    inv = toeplitz.inverse_as_streaming_matrix(coef)
    z = jnp.asarray(np.random.default_rng(0).standard_normal((rows, cols), dtype=np.float32))
    f = jax.jit(lambda z: streaming_matrix.multiply_array(inv, z))
    out = f(z); jax.block_until_ready(out)
    del out
    seconds, out = best(lambda: f(z), task["repeats"])
    print(json.dumps({"seconds": seconds, "dtype": str(out.dtype)}))
'''

MFKIT_OPTIMIZE_CHILD = r'''
import json, sys, time
sys.path.insert(0, sys.argv[2])
from mfkit import toeplitz
n, b, steps = json.loads(sys.argv[1])
steps_taken = []
t = time.perf_counter()
c = toeplitz.optimize_banded_toeplitz(n, b, max_optimizer_steps=steps, callback=lambda a: steps_taken.append(a.step))
seconds = time.perf_counter() - t
# VmHWM: this process image's peak RSS (ru_maxrss would include the parent's RSS at fork).
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
start = toeplitz.loss(toeplitz.optimal_max_error_strategy_coefs(b), n)
print(json.dumps({"seconds": seconds, "value": toeplitz.loss(c, n), "start": start, "peak_mb": hwm / 1024,
                  "steps": len(steps_taken)}))
'''


def ensure_venv():
    if VENV_PY.exists():
        return
    print(f"creating {VENV} (jax-privacy 2.0.0, jax 0.10.2) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "jax-privacy==2.0.0", "jax==0.10.2"], check=True)


def jax_run(task, timeout=3600):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.run([str(VENV_PY), "-c", JAX_WORKER, json.dumps(task)], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mfkit_optimize_child(n, b, steps):
    proc = subprocess.run([sys.executable, "-c", MFKIT_OPTIMIZE_CHILD, json.dumps([n, b, steps]), str(ROOT / "python")],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--no-jax", action="store_true", help="MFKit only")
    args = parser.parse_args()
    quick, use_jax = args.quick, not args.no_jax
    if use_jax:
        ensure_venv()
    error_n = 10**4 if quick else 10**6
    grad_nb = (4096, 16) if quick else (65_536, 64)
    opt = (4096, 16, 20) if quick else (65_536, 64, 100)
    big_opt = (10**5, 32, 10) if quick else (10**7, 256, 100)
    noise_shape = (32, 100_000) if quick else (256, 1_000_000)
    results = {"machine": f"{platform.machine()} {platform.processor()}, {os.cpu_count()} cores (shared)",
               "threads": mfkit.num_threads(), "mfkit": mfkit.__version__,
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "quick": quick, "rows": []}

    def add(what, mf_s, mf_v=None, jx=None, note=""):
        row = {"what": what, "mfkit_s": mf_s, "mfkit_value": mf_v, "note": note, "load": load_average()}
        if jx is not None:
            row.update(jax_s=jx.get("seconds"), jax_value=jx.get("value"), jax_error=jx.get("error"),
                       jax_plain=jx.get("plain"))
        results["rows"].append(row)
        ratio = f"{row['jax_s'] / mf_s:8.1f}x" if jx is not None and jx.get("seconds") else ""
        jx_s = "" if jx is None else (f"{jx['seconds']:10.4f} s" if jx.get("seconds") else str(jx.get("error")))
        jx_v = "" if jx is None or jx.get("value") is None else f"{jx['value']:.8g}"
        mf = '' if mf_v is None else f'{mf_v:.8g}'
        print(f"{what:50s} mfkit {mf_s:9.4f} s {mf:>14s} | jax {jx_s:>12s} {jx_v:>14s} | {ratio} {note}", flush=True)

    for b in (16, 64):
        c = toeplitz.optimal_max_error_strategy_coefs(b)
        s, e = best(lambda: toeplitz.per_query_error(strategy_coef=c, n=error_n), 20)
        out = np.empty(error_n)
        s_out, _ = best(lambda: toeplitz.per_query_error(strategy_coef=c, n=error_n, out=out), 20)
        jx = jax_run({"kind": "error", "n": error_n, "b": b, "repeats": 5}) if use_jax else None
        note = f"jax plain call {jx['plain']:.3f} s ({jx['plain'] / s:.0f}x)" if jx and jx.get("plain") else ""
        add(f"per_query_error n={error_n}, b={b} (last error)", s, float(e[-1]), jx, note)
        add(f"  the same into a reused out= array", s_out, float(out[-1]), jx)
    n, b = grad_nb
    c = toeplitz.optimal_max_error_strategy_coefs(b)
    s, (v, _) = best(lambda: toeplitz.loss_and_gradient(c, n), 10)
    add(f"loss value+gradient ({n}, {b})", s, v,
        jax_run({"kind": "value_grad", "n": n, "b": b, "repeats": 3}) if use_jax else None)
    n, b, steps = opt
    t = time.perf_counter()
    coef = toeplitz.optimize_banded_toeplitz(n, b, max_optimizer_steps=steps)
    s = time.perf_counter() - t
    add(f"optimize_banded_toeplitz {steps} steps ({n}, {b}), loss", s, toeplitz.loss(coef, n),
        jax_run({"kind": "optimize", "n": n, "b": b, "steps": steps}) if use_jax else None)
    n, b, steps = big_opt
    r = mfkit_optimize_child(n, b, steps)
    add(f"optimize_banded_toeplitz {steps} steps ({n}, {b}), loss", r["seconds"], r["value"],
        note=f"start loss {r['start']:.8g}, {r['steps']} steps taken (stops when no step lowers the loss), "
             f"peak RSS {r['peak_mb']:.0f} MB")
    # Noise generation.
    z = np.random.default_rng(0).standard_normal(noise_shape, dtype=np.float32)
    work, dst = np.empty_like(z), np.empty_like(z)
    s_copy = float(np.median([best(lambda: np.copyto(dst, z), 1)[0] for _ in range(5)]))
    add(f"np.copyto probe float32 {noise_shape}", s_copy, note=f"{2 * z.nbytes / s_copy / 1e9:.1f} GB/s moved")
    del dst
    for b in (4, 16, 64):
        inv = toeplitz.inverse_as_streaming_matrix(toeplitz.optimal_max_error_strategy_coefs(b))
        times = []
        for _ in range(5):
            np.copyto(work, z)
            t = time.perf_counter()
            sm.multiply_array(inv, work, out=work)
            times.append(time.perf_counter() - t)
        s = float(np.median(times))
        jx = jax_run({"kind": "noise", "b": b, "shape": noise_shape, "repeats": 2}) if use_jax and b != 64 or \
            (use_jax and not quick and b == 64) else None
        add(f"C^-1 z in place, float32 {noise_shape}, b={b}", s, None, jx,
            f"{s_copy / s:.2f} of the probe's bandwidth" + (f"; jax out {jx.get('dtype')}" if jx else ""))
    if not quick:
        out = ROOT / "bench" / "results_toeplitz.json"
        out.write_text(json.dumps(results, indent=1))
        print(f"\nwrote {out}")


if __name__ == "__main__":
    main()

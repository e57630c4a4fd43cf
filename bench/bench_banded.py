#!/usr/bin/env python3
"""Banded strategies: MFKit against jax_privacy 2.0.0 (jax, float64) in the same run.

    python3 bench/bench_banded.py            # the full run (jax optimize at (2048, 32) takes ~100 s)
    python3 bench/bench_banded.py --quick    # a small smoke run

jax_privacy runs in bench/.venv-banded (created here when missing: jax-privacy 2.0.0, jax
0.10.2, equinox), in child processes; MFKit runs in this process (PYTHONPATH / MFKIT_LIBRARY
as for the tests). Prints a table; the full run also writes bench/results_banded.json.

Measured: per_query_error and loss + gradient (mean) at (n, b) = (1024, 16) and (4096, 64);
optimize for 100 steps at (2048, 32), wall time and final loss; MFKit alone at n = 65,536 and
1,000,000 with b = 64 (optimize at 65,536 in a child process, for its peak memory); noise
generation C^{-1} z on float32 (256, 10^6) at b = 4, 16, 64 against jax_privacy's jitted
multiply_array and an np.copyto probe of the same bytes. jax's gradient at (4096, 64) uses its
checkpointed 'equinox' scan (plain lax.scan needs ~9 GB there); jax's optimize is not run
at 4096 (25 s per step, 9 GB).
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
VENV = ROOT / "bench" / ".venv-banded"
VENV_PY = VENV / "bin" / "python"
sys.path.insert(0, str(ROOT / "python"))
os.environ.setdefault("MFKIT_LIBRARY", str(ROOT / ".build" / "release" / "libmfkit.so"))

from mfkit import banded  # noqa: E402
from mfkit import streaming_matrix as sm  # noqa: E402

JAX_WORKER = r'''
import json, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax_privacy.matrix_factorization import banded, streaming_matrix

task = json.loads(sys.argv[1])
kind, n, b = task["kind"], task.get("n"), task.get("b")

def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); out = fn(); jax.block_until_ready(out); times.append(time.perf_counter() - t)
    return min(times), out

if kind == "error":
    C = banded.ColumnNormalizedBanded.default(n, b)
    f = lambda: banded.per_query_error(C)
    t0 = time.perf_counter(); jax.block_until_ready(f()); first = time.perf_counter() - t0
    seconds, e = best(f, task["repeats"])
    print(json.dumps({"seconds": seconds, "first": first, "value": float(jnp.mean(e))}))
elif kind == "value_grad":
    C = banded.ColumnNormalizedBanded.default(n, b)
    scan = task["scan"]
    fn = jax.jit(jax.value_and_grad(lambda C: jnp.mean(banded.per_query_error(C, scan_fn=scan if scan != "lax" else jax.lax.scan))))
    t0 = time.perf_counter(); jax.block_until_ready(fn(C)); first = time.perf_counter() - t0
    seconds, (v, g) = best(lambda: fn(C), task["repeats"])
    print(json.dumps({"seconds": seconds, "first": first, "value": float(v)}))
elif kind == "optimize":
    t0 = time.perf_counter()
    C = banded.optimize(n, bands=b, max_optimizer_steps=task["steps"])
    jax.block_until_ready(C.params)
    seconds = time.perf_counter() - t0
    loss = float(jnp.mean(banded.per_query_error(C)))
    print(json.dumps({"seconds": seconds, "value": loss}))
elif kind == "noise":
    rows, cols = task["shape"]
    C = banded.ColumnNormalizedBanded.default(task["n"], b)
    inv = C.inverse_as_streaming_matrix()
    z = jnp.asarray(np.random.default_rng(0).standard_normal((rows, cols), dtype=np.float32))
    f = jax.jit(lambda z: streaming_matrix.multiply_array(inv, z))
    t0 = time.perf_counter(); out = f(z); jax.block_until_ready(out); first = time.perf_counter() - t0
    del out
    seconds, out = best(lambda: f(z), task["repeats"])
    print(json.dumps({"seconds": seconds, "first": first, "dtype": str(out.dtype),
                      "checksum": float(jnp.sum(out[:, :1000].astype(jnp.float64)))}))
'''


def ensure_venv():
    if VENV_PY.exists():
        return
    print(f"creating {VENV} (jax-privacy 2.0.0, jax 0.10.2, equinox) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "jax-privacy==2.0.0", "jax==0.10.2", "equinox"],
                   check=True)


def jax_run(task, timeout=3600):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.run([str(VENV_PY), "-c", JAX_WORKER, json.dumps(task)], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


MFKIT_OPTIMIZE_CHILD = r'''
import json, sys, time
sys.path.insert(0, sys.argv[2])
from mfkit import banded
n, b, steps = json.loads(sys.argv[1])
t = time.perf_counter()
C = banded.optimize(n, bands=b, max_optimizer_steps=steps)
seconds = time.perf_counter() - t
# VmHWM (this process image's peak RSS); ru_maxrss would include the parent's RSS at fork.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "value": float(banded.per_query_error(C).mean()), "peak_mb": hwm / 1024}))
'''


def mfkit_optimize_child(n, b, steps):
    proc = subprocess.run([sys.executable, "-c", MFKIT_OPTIMIZE_CHILD, json.dumps([n, b, steps]), str(ROOT / "python")],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--no-jax", action="store_true", help="MFKit only")
    args = parser.parse_args()
    quick, use_jax = args.quick, not args.no_jax
    if use_jax:
        ensure_venv()
    pairs = [(256, 8), (512, 16)] if quick else [(1024, 16), (4096, 64)]
    opt_n, opt_b, opt_steps = (256, 8, 20) if quick else (2048, 32, 100)
    alone = [(4096, 64)] if quick else [(65_536, 64), (1_000_000, 64)]
    alone_opt = (4096, 64, 20) if quick else (65_536, 64, 100)
    noise_shape = (32, 100_000) if quick else (256, 1_000_000)
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores (shared by four engineers)",
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "quick": quick, "rows": []}
    rows = results["rows"]

    def add(what, mf_s, mf_v=None, jx=None, note=""):
        row = {"what": what, "mfkit_s": mf_s, "mfkit_value": mf_v}
        if jx is not None:
            row.update(jax_s=jx.get("seconds"), jax_value=jx.get("value"), jax_error=jx.get("error"),
                       jax_first=jx.get("first"))
        row["note"] = note
        rows.append(row)
        ratio = f"{row['jax_s'] / mf_s:9.1f}x" if jx is not None and jx.get("seconds") else ""
        jx_s = "" if jx is None else (f"{jx['seconds']:10.4f} s" if jx.get("seconds") else str(jx.get("error")))
        jx_v = "" if jx is None or jx.get("value") is None else f"{jx['value']:.6f}"
        print(f"{what:52s} mfkit {mf_s:10.4f} s {'' if mf_v is None else f'{mf_v:.6f}':>12s} | "
              f"jax {jx_s:>12s} {jx_v:>12s} | {ratio} {note}", flush=True)

    for n, b in pairs:
        C = banded.ColumnNormalizedBanded.default(n, b)
        s, e = best(lambda: banded.per_query_error(C), 20)
        add(f"per_query_error ({n}, {b})", s, float(e.mean()),
            jax_run({"kind": "error", "n": n, "b": b, "repeats": 3}) if use_jax else None)
        s, (v, _) = best(lambda: banded.loss_and_gradient(C), 10)
        scan = "lax" if n <= 2048 else "equinox"
        add(f"mean error value+gradient ({n}, {b})", s, v,
            jax_run({"kind": "value_grad", "n": n, "b": b, "scan": scan, "repeats": 2}) if use_jax else None,
            f"jax scan={scan}")
    t = time.perf_counter()
    C = banded.optimize(opt_n, bands=opt_b, max_optimizer_steps=opt_steps)
    s = time.perf_counter() - t
    add(f"optimize {opt_steps} steps ({opt_n}, {opt_b}), final mean error", s, float(banded.per_query_error(C).mean()),
        jax_run({"kind": "optimize", "n": opt_n, "b": opt_b, "steps": opt_steps}) if use_jax else None)
    for n, b in alone:
        C = banded.ColumnNormalizedBanded.default(n, b)
        s, e = best(lambda: banded.per_query_error(C), 2)
        add(f"per_query_error ({n}, {b})", s, float(e.mean()))
        s, (v, _) = best(lambda: banded.loss_and_gradient(C), 1)
        add(f"mean error value+gradient ({n}, {b})", s, v)
        del C
    n, b, steps = alone_opt
    r = mfkit_optimize_child(n, b, steps)
    add(f"optimize {steps} steps ({n}, {b}), final mean error", r["seconds"], r["value"],
        note=f"peak RSS {r['peak_mb']:.0f} MB")
    # Noise generation.
    z = np.random.default_rng(0).standard_normal(noise_shape, dtype=np.float32)
    work, dst = np.empty_like(z), np.empty_like(z)
    s_copy, _ = best(lambda: np.copyto(dst, z), 3)
    add(f"np.copyto probe float32 {noise_shape} ({2 * z.nbytes / 1e9:.1f} GB moved)", s_copy,
        note=f"{2 * z.nbytes / s_copy / 1e9:.1f} GB/s")
    del dst
    for b in (4, 16, 64):
        inv = banded.ColumnNormalizedBanded.default(max(noise_shape[0], b), b).inverse_as_streaming_matrix()

        def run():
            np.copyto(work, z)
            return sm.multiply_array(inv, work, out=work)
        times = []
        for _ in range(3):
            np.copyto(work, z)
            t = time.perf_counter()
            sm.multiply_array(inv, work, out=work)
            times.append(time.perf_counter() - t)
        jx = jax_run({"kind": "noise", "n": max(noise_shape[0], b), "b": b, "shape": noise_shape, "repeats": 2}) \
            if use_jax else None
        add(f"C^-1 z in place, float32 {noise_shape}, b={b}", min(times), None, jx,
            f"{min(times) / s_copy:.2f}x copyto; jax out {jx.get('dtype') if jx else ''}")
    if not quick:
        out = ROOT / "bench" / "results_banded.json"
        out.write_text(json.dumps(results, indent=1))
        print(f"\nwrote {out}")


if __name__ == "__main__":
    main()

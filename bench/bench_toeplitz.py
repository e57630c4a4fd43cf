#!/usr/bin/env python3
"""Banded Toeplitz strategies: MFKit against jax_privacy 2.0.0 (jax, float64) in the same run.

    python3 bench/bench_toeplitz.py            # the full run (jax's optimize at (65,536, 64) takes minutes)
    python3 bench/bench_toeplitz.py --quick    # a small smoke run
    python3 bench/bench_toeplitz.py --no-jax   # MFKit alone

jax_privacy runs in the shared anchor bench/.venv-jax-privacy (bench/_anchors.py: jax-privacy
2.0.0, jax 0.10.2; created on first use), in child processes; MFKit runs in this process, from
this checkout. The quick run takes under a minute, the full run about 8 minutes. Prints a
table; the full run also writes bench/results_toeplitz.json.

Measured:
- per_query_error(strategy_coef=c, n) at n = 10^6 for b = 16 and 64 (jax: jitted, best after
  compiling, and the plain call as a user makes it, tracing included);
- loss and its gradient at (65,536, 64) (jax: jax.value_and_grad of `loss`, jitted);
- optimize_banded_toeplitz(n, bands, max_optimizer_steps=100) at (65,536, 64) for both, and
  MFKit alone at (10^7, 256) in a child process (wall time and peak RSS, VmHWM);
- noise generation C^{-1} z in place on float32 (256, 10^6) with the Toeplitz inverse at b = 4,
  16, 64 against np.copyto of the same bytes (and jax's jitted multiply_array).
"""
import datetime
import os
import platform

import numpy as np

# _anchors first: it puts this checkout's mfkit on the path
from _anchors import arguments, repeat, run_worker, write_results

import mfkit
from mfkit import streaming_matrix as sm
from mfkit import toeplitz

JAX_WORKER = r'''
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax_privacy.matrix_factorization import streaming_matrix, toeplitz

from _anchors import read_task, repeat, reply

task = read_task()
kind, n, b = task["kind"], task.get("n"), task.get("b")

coef = toeplitz.optimal_max_error_strategy_coefs(b) if b else None
if kind == "error":
    plain = repeat(lambda: jax.block_until_ready(toeplitz.per_query_error(strategy_coef=coef, n=n)), 1).best
    f = jax.jit(lambda c: toeplitz.per_query_error(strategy_coef=c, n=n))
    t = repeat(lambda: jax.block_until_ready(f(coef)), task["repeats"], warmup=True)
    reply({"seconds": t.best, "plain": plain, "value": float(t.out[-1])})
elif kind == "value_grad":
    f = jax.jit(jax.value_and_grad(lambda c: toeplitz.loss(c, n=n)))
    t = repeat(lambda: jax.block_until_ready(f(coef)), task["repeats"], warmup=True)
    reply({"seconds": t.best, "value": float(t.out[0])})
elif kind == "optimize":
    t = repeat(lambda: jax.block_until_ready(
        toeplitz.optimize_banded_toeplitz(n, b, max_optimizer_steps=task["steps"])), 1)
    reply({"seconds": t.best, "value": float(toeplitz.loss(t.out, n=n))})
elif kind == "noise":
    rows, cols = task["shape"]
    inv = toeplitz.inverse_as_streaming_matrix(coef)
    z = jnp.asarray(np.random.default_rng(0).standard_normal((rows, cols), dtype=np.float32))
    f = jax.jit(lambda z: streaming_matrix.multiply_array(inv, z))
    t = repeat(lambda: jax.block_until_ready(f(z)), task["repeats"], warmup=True)
    reply({"seconds": t.best, "dtype": str(t.out.dtype)})
'''

MFKIT_OPTIMIZE_CHILD = r'''
from _anchors import peak_rss_mb, read_task, repeat, reply
from mfkit import toeplitz
n, b, steps = read_task()
steps_taken = []
t = repeat(lambda: toeplitz.optimize_banded_toeplitz(n, b, max_optimizer_steps=steps,
                                                     callback=lambda a: steps_taken.append(a.step)), 1)
start = toeplitz.loss(toeplitz.optimal_max_error_strategy_coefs(b), n)
reply({"seconds": t.best, "value": toeplitz.loss(t.out, n), "start": start, "peak_mb": peak_rss_mb(),
       "steps": len(steps_taken)})
'''


def jax_run(task, timeout=3600):
    return run_worker(JAX_WORKER, task, anchor="jax-privacy", timeout=timeout, check=False)


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main():
    args = arguments(__doc__, no_jax=True).parse_args()
    quick, use_jax = args.quick, not args.no_jax
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
        t = repeat(lambda: toeplitz.per_query_error(strategy_coef=c, n=error_n), 20)
        out = np.empty(error_n)
        s_out = repeat(lambda: toeplitz.per_query_error(strategy_coef=c, n=error_n, out=out), 20).best
        jx = jax_run({"kind": "error", "n": error_n, "b": b, "repeats": 5}) if use_jax else None
        note = f"jax plain call {jx['plain']:.3f} s ({jx['plain'] / t.best:.0f}x)" if jx and jx.get("plain") else ""
        add(f"per_query_error n={error_n}, b={b} (last error)", t.best, float(t.out[-1]), jx, note)
        add(f"  the same into a reused out= array", s_out, float(out[-1]), jx)
    n, b = grad_nb
    c = toeplitz.optimal_max_error_strategy_coefs(b)
    t = repeat(lambda: toeplitz.loss_and_gradient(c, n), 10)
    add(f"loss value+gradient ({n}, {b})", t.best, t.out[0],
        jax_run({"kind": "value_grad", "n": n, "b": b, "repeats": 3}) if use_jax else None)
    n, b, steps = opt
    t = repeat(lambda: toeplitz.optimize_banded_toeplitz(n, b, max_optimizer_steps=steps), 1)
    add(f"optimize_banded_toeplitz {steps} steps ({n}, {b}), loss", t.best, toeplitz.loss(t.out, n),
        jax_run({"kind": "optimize", "n": n, "b": b, "steps": steps}) if use_jax else None)
    n, b, steps = big_opt
    r = run_worker(MFKIT_OPTIMIZE_CHILD, [n, b, steps])
    add(f"optimize_banded_toeplitz {steps} steps ({n}, {b}), loss", r["seconds"], r["value"],
        note=f"start loss {r['start']:.8g}, {r['steps']} steps taken (stops when no step lowers the loss), "
             f"peak RSS {r['peak_mb']:.0f} MB")
    # Noise generation.
    z = np.random.default_rng(0).standard_normal(noise_shape, dtype=np.float32)
    work, dst = np.empty_like(z), np.empty_like(z)
    s_copy = repeat(lambda: np.copyto(dst, z), 5).median
    add(f"np.copyto probe float32 {noise_shape}", s_copy, note=f"{2 * z.nbytes / s_copy / 1e9:.1f} GB/s moved")
    del dst
    for b in (4, 16, 64):
        inv = toeplitz.inverse_as_streaming_matrix(toeplitz.optimal_max_error_strategy_coefs(b))
        s = repeat(lambda: sm.multiply_array(inv, work, out=work), 5, setup=lambda: np.copyto(work, z)).median
        jx = jax_run({"kind": "noise", "b": b, "shape": noise_shape, "repeats": 2}) if use_jax and b != 64 or \
            (use_jax and not quick and b == 64) else None
        add(f"C^-1 z in place, float32 {noise_shape}, b={b}", s, None, jx,
            f"{s_copy / s:.2f} of the probe's bandwidth" + (f"; jax out {jx.get('dtype')}" if jx else ""))
    if not quick:
        write_results("toeplitz", results)


if __name__ == "__main__":
    main()

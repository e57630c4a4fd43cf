#!/usr/bin/env python3
"""Banded strategies: MFKit against jax_privacy 2.0.0 (jax, float64) in the same run.

    python3 bench/bench_banded.py            # the full run (jax optimize at (2048, 32) takes ~100 s)
    python3 bench/bench_banded.py --quick    # a small smoke run

jax_privacy runs in the shared anchor bench/.venv-jax-privacy (bench/_anchors.py: jax-privacy
2.0.0, jax 0.10.2, equinox; created on first use), in child processes; MFKit runs in this
process, from this checkout. The quick run takes under a minute, the full run about 6
minutes. Prints a table; the full run also writes bench/results_banded.json.

Measured: per_query_error and loss + gradient (mean) at (n, b) = (1024, 16) and (4096, 64);
optimize for 100 steps at (2048, 32), wall time and final loss; MFKit alone at n = 65,536 and
1,000,000 with b = 64 (optimize at 65,536 in a child process, for its peak memory); noise
generation C^{-1} z on float32 (256, 10^6) at b = 4, 16, 64 against jax_privacy's jitted
multiply_array and an np.copyto probe of the same bytes. jax's gradient at (4096, 64) uses its
checkpointed 'equinox' scan (plain lax.scan needs ~9 GB there); jax's optimize is not run
at 4096 (25 s per step, 9 GB).
"""
import datetime
import os
import platform

import numpy as np

# _anchors first: it puts this checkout's mfkit on the path
from _anchors import arguments, repeat, run_worker, write_results

from mfkit import banded
from mfkit import streaming_matrix as sm

JAX_WORKER = r'''
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax_privacy.matrix_factorization import banded, streaming_matrix

from _anchors import read_task, repeat, reply

task = read_task()
kind, n, b = task["kind"], task.get("n"), task.get("b")

if kind == "error":
    C = banded.ColumnNormalizedBanded.default(n, b)
    f = lambda: jax.block_until_ready(banded.per_query_error(C))
    first = repeat(f, 1).best
    t = repeat(f, task["repeats"])
    reply({"seconds": t.best, "first": first, "value": float(jnp.mean(t.out))})
elif kind == "value_grad":
    C = banded.ColumnNormalizedBanded.default(n, b)
    scan = task["scan"]
    fn = jax.jit(jax.value_and_grad(lambda C: jnp.mean(banded.per_query_error(C, scan_fn=scan if scan != "lax" else jax.lax.scan))))
    first = repeat(lambda: jax.block_until_ready(fn(C)), 1).best
    t = repeat(lambda: jax.block_until_ready(fn(C)), task["repeats"])
    reply({"seconds": t.best, "first": first, "value": float(t.out[0])})
elif kind == "optimize":
    def optimize():
        C = banded.optimize(n, bands=b, max_optimizer_steps=task["steps"])
        jax.block_until_ready(C.params)
        return C
    t = repeat(optimize, 1)
    reply({"seconds": t.best, "value": float(jnp.mean(banded.per_query_error(t.out)))})
elif kind == "noise":
    rows, cols = task["shape"]
    C = banded.ColumnNormalizedBanded.default(task["n"], b)
    inv = C.inverse_as_streaming_matrix()
    z = jnp.asarray(np.random.default_rng(0).standard_normal((rows, cols), dtype=np.float32))
    f = jax.jit(lambda z: streaming_matrix.multiply_array(inv, z))
    first = repeat(lambda: jax.block_until_ready(f(z)), 1).best
    t = repeat(lambda: jax.block_until_ready(f(z)), task["repeats"])
    reply({"seconds": t.best, "first": first, "dtype": str(t.out.dtype),
           "checksum": float(jnp.sum(t.out[:, :1000].astype(jnp.float64)))})
'''


def jax_run(task, timeout=3600):
    return run_worker(JAX_WORKER, task, anchor="jax-privacy", timeout=timeout, check=False)


MFKIT_OPTIMIZE_CHILD = r'''
from _anchors import peak_rss_mb, read_task, repeat, reply
from mfkit import banded
n, b, steps = read_task()
t = repeat(lambda: banded.optimize(n, bands=b, max_optimizer_steps=steps), 1)
reply({"seconds": t.best, "value": float(banded.per_query_error(t.out).mean()), "peak_mb": peak_rss_mb()})
'''


def main():
    args = arguments(__doc__, no_jax=True).parse_args()
    quick, use_jax = args.quick, not args.no_jax
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
        t = repeat(lambda: banded.per_query_error(C), 20)
        add(f"per_query_error ({n}, {b})", t.best, float(t.out.mean()),
            jax_run({"kind": "error", "n": n, "b": b, "repeats": 3}) if use_jax else None)
        t = repeat(lambda: banded.loss_and_gradient(C), 10)
        scan = "lax" if n <= 2048 else "equinox"
        add(f"mean error value+gradient ({n}, {b})", t.best, t.out[0],
            jax_run({"kind": "value_grad", "n": n, "b": b, "scan": scan, "repeats": 2}) if use_jax else None,
            f"jax scan={scan}")
    t = repeat(lambda: banded.optimize(opt_n, bands=opt_b, max_optimizer_steps=opt_steps), 1)
    add(f"optimize {opt_steps} steps ({opt_n}, {opt_b}), final mean error", t.best,
        float(banded.per_query_error(t.out).mean()),
        jax_run({"kind": "optimize", "n": opt_n, "b": opt_b, "steps": opt_steps}) if use_jax else None)
    for n, b in alone:
        C = banded.ColumnNormalizedBanded.default(n, b)
        t = repeat(lambda: banded.per_query_error(C), 2)
        add(f"per_query_error ({n}, {b})", t.best, float(t.out.mean()))
        t = repeat(lambda: banded.loss_and_gradient(C), 1)
        add(f"mean error value+gradient ({n}, {b})", t.best, t.out[0])
        del C
    n, b, steps = alone_opt
    r = run_worker(MFKIT_OPTIMIZE_CHILD, [n, b, steps])
    add(f"optimize {steps} steps ({n}, {b}), final mean error", r["seconds"], r["value"],
        note=f"peak RSS {r['peak_mb']:.0f} MB")
    # Noise generation.
    z = np.random.default_rng(0).standard_normal(noise_shape, dtype=np.float32)
    work, dst = np.empty_like(z), np.empty_like(z)
    s_copy = repeat(lambda: np.copyto(dst, z), 3).best
    add(f"np.copyto probe float32 {noise_shape} ({2 * z.nbytes / 1e9:.1f} GB moved)", s_copy,
        note=f"{2 * z.nbytes / s_copy / 1e9:.1f} GB/s")
    del dst
    for b in (4, 16, 64):
        inv = banded.ColumnNormalizedBanded.default(max(noise_shape[0], b), b).inverse_as_streaming_matrix()
        s = repeat(lambda: sm.multiply_array(inv, work, out=work), 3, setup=lambda: np.copyto(work, z)).best
        jx = jax_run({"kind": "noise", "n": max(noise_shape[0], b), "b": b, "shape": noise_shape, "repeats": 2}) \
            if use_jax else None
        add(f"C^-1 z in place, float32 {noise_shape}, b={b}", s, None, jx,
            f"{s / s_copy:.2f}x copyto; jax out {jx.get('dtype') if jx else ''}")
    if not quick:
        write_results("banded", results)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Quality of `mfkit.banded.optimize`: the loss it reaches against jax_privacy 2.0.0's
`banded.optimize` (same steps) and against scipy's L-BFGS-B driven by MFKit's own
loss-and-gradient with 10x MFKit's evaluation budget (where scipy then goes lower, MFKit is
also run with 10x its steps), on drawn cases across n, b, the
reduction (mean / max / last) and the workload (prefix sum / momentum), plus the effect of
keeping the columns at unit norm.

    python3 bench/bench_optimizer_quality.py             # every case (about 10 minutes)
    python3 bench/bench_optimizer_quality.py --quick     # three cases (about half a minute)
    python3 bench/bench_optimizer_quality.py --write-reference   # also write the test data

jax_privacy and scipy run in the shared anchor bench/.venv-jax-privacy (bench/_anchors.py:
jax-privacy 2.0.0, jax 0.10.2, scipy 1.17.1; created on first use), in child processes;
scipy's child imports MFKit from this checkout (it needs only NumPy). MFKit runs in this
process, from this checkout.
scipy: `minimize(method="L-BFGS-B", jac=True)` on `banded.loss_and_gradient` with
maxfun = maxiter = 10 x MFKit's evaluations, ftol = gtol = 0, restarted from where it stopped
(it stops when a step cannot decrease the loss, or on a line search failure) for as long as a
run still lowers the loss and evaluations are left; a point MFKit refuses (C too close to
singular) is returned as +inf. Results: a table on stdout and bench/results_optimizer_quality.json; with
--write-reference, jax_privacy's losses go to python/tests/data/jax_privacy/optimized_drawn.npz
(the tests check that MFKit reaches them).

The rescaling measurement runs `mfkit.optimization.optimize` on `banded.loss_and_gradient`
(mean error) from the default strategy with and without `invariant_block_size=bands` (rows
of params kept at unit norm and the initial inverse Hessian scaled per row, against rows
left to grow), the same L-BFGS otherwise.
"""
import datetime
import os
import platform

import numpy as np

# _anchors first: it puts this checkout's mfkit on the path
from _anchors import ROOT, arguments, repeat, run_worker, write_results

from mfkit import banded, optimization
from mfkit import streaming_matrix as sm

# (n, bands, reduction, workload, steps)
CASES = [
    (64, 4, "mean", "prefix", 500), (200, 10, "mean", "momentum", 500), (512, 16, "mean", "prefix", 200),
    (1024, 32, "mean", "momentum", 100),
    (72, 8, "max", "prefix", 500), (150, 5, "max", "momentum", 500), (300, 12, "max", "prefix", 300),
    (72, 8, "last", "prefix", 500), (113, 3, "last", "prefix", 500), (96, 6, "last", "momentum", 500),
    (250, 10, "last", "prefix", 300), (40, 2, "last", "momentum", 500),
]
QUICK = [CASES[0], CASES[4], CASES[7]]


def workload(name, n, lib):
    """The workload for MFKit (lib = mfkit.streaming_matrix) or jax_privacy."""
    if name == "prefix":
        return lib.prefix_sum()
    return lib.momentum_sgd_matrix(0.9, np.linspace(1.0, 0.1, n))


def reduce(e, reduction):
    return {"mean": float(np.mean(e)), "max": float(np.max(e)), "last": float(e[-1])}[reduction]


JAX_WORKER = r'''
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax_privacy.matrix_factorization import banded, streaming_matrix

from _anchors import read_task, repeat, reply

n, b, red, wl, steps = read_task()
A = streaming_matrix.prefix_sum() if wl == "prefix" else streaming_matrix.momentum_sgd_matrix(0.9, jnp.linspace(1.0, 0.1, n))
fn = {"mean": jnp.mean, "max": jnp.max, "last": lambda v: v[-1]}[red]
def optimize():
    C = banded.optimize(n, bands=b, A=A, max_optimizer_steps=steps, reduction_fn=fn)
    jax.block_until_ready(C.params)
    return C
t = repeat(optimize, 1)
e = np.asarray(banded.per_query_error(t.out, A=A))
loss = {"mean": e.mean(), "max": e.max(), "last": e[-1]}[red]
reply({"loss": float(loss), "seconds": t.best})
'''

SCIPY_WORKER = r'''
import numpy as np
from scipy.optimize import minimize
from mfkit import banded, streaming_matrix as sm

from _anchors import read_task, repeat, reply

n, b, red, wl, budget = read_task()
A = sm.prefix_sum() if wl == "prefix" else sm.momentum_sgd_matrix(0.9, np.linspace(1.0, 0.1, n))
evaluations = [0]
def fg(v):
    evaluations[0] += 1
    try:
        loss, g = banded.loss_and_gradient(banded.ColumnNormalizedBanded(v.reshape(n, b)), A, reduction_fn=red)
    except ValueError:
        return np.inf, np.zeros_like(v)
    return loss, g.reshape(-1)
def restarted(x):
    best, runs, message = np.inf, 0, ""
    while evaluations[0] < budget:   # restarted from its end while it still improves
        left = budget - evaluations[0]
        r = minimize(fg, x, jac=True, method="L-BFGS-B",
                     options=dict(maxfun=left, maxiter=left, ftol=0.0, gtol=0.0, maxls=20))
        runs += 1
        message = str(r.message)
        if runs == 1:   # scipy's own run: where it stops by itself
            e = banded.per_query_error(banded.ColumnNormalizedBanded(r.x.reshape(n, b)), A)
            single = {"loss": float({"mean": e.mean(), "max": e.max(), "last": e[-1]}[red]),
                      "evaluations": evaluations[0], "message": message}
        if not r.fun < best:
            break
        best, x = r.fun, r.x
    return x, runs, message, single
start = banded.ColumnNormalizedBanded.default(n, b).params.reshape(-1)
t = repeat(lambda: restarted(start), 1)
x, runs, message, single = t.out
e = banded.per_query_error(banded.ColumnNormalizedBanded(x.reshape(n, b)), A)
loss = {"mean": e.mean(), "max": e.max(), "last": e[-1]}[red]
reply({"loss": float(loss), "seconds": t.best, "evaluations": evaluations[0], "runs": runs,
       "message": message, "single": single})
'''


def child(code, task, timeout=3600):
    return run_worker(code, task, anchor="jax-privacy", timeout=timeout, check=False)


def quality(cases):
    rows = []
    print(f"{'case':34s} {'MFKit':>12s} {'evals':>6s} {'jax_privacy':>12s} {'scipy 1 run':>12s} {'evals':>6s} "
          f"{'scipy 10x':>12s} {'evals':>6s}  {'vs jax':>9s} {'vs scipy1':>9s} {'vs scipy':>9s}  stop", flush=True)
    for n, b, red, wl, steps in cases:
        A = workload(wl, n, sm)
        t = repeat(lambda: banded.optimize(n, bands=b, A=A, max_optimizer_steps=steps, reduction_fn=red,
                                           return_info=True), 1)
        (C, info), seconds = t.out, t.best
        loss = reduce(banded.per_query_error(C, A), red)
        case = [n, b, red, wl, steps]
        jx = child(JAX_WORKER, case)
        sp = child(SCIPY_WORKER, [n, b, red, wl, 10 * info.evaluations])
        row = {"n": n, "bands": b, "reduction": red, "workload": wl, "steps": steps, "mfkit_loss": loss,
               "mfkit_evaluations": info.evaluations, "mfkit_steps": info.steps, "mfkit_stop": info.stop,
               "mfkit_seconds": seconds, "jax_loss": jx.get("loss"), "jax_seconds": jx.get("seconds"),
               "jax_error": jx.get("error"), "scipy_loss": sp.get("loss"), "scipy_evaluations": sp.get("evaluations"),
               "scipy_runs": sp.get("runs"), "scipy_message": sp.get("message") or sp.get("error"),
               "scipy_single_loss": (sp.get("single") or {}).get("loss"),
               "scipy_single_evaluations": (sp.get("single") or {}).get("evaluations"),
               "scipy_single_message": (sp.get("single") or {}).get("message")}
        if sp.get("loss") is not None and sp["loss"] < loss:
            # scipy's 10x budget did better: MFKit with 10x its steps, for the same budget.
            C10, info10 = banded.optimize(n, bands=b, A=A, max_optimizer_steps=10 * steps, reduction_fn=red,
                                          return_info=True)
            row.update(mfkit_10x_loss=reduce(banded.per_query_error(C10, A), red),
                       mfkit_10x_evaluations=info10.evaluations)
        rows.append(row)

        def rel(other):
            return f"{(loss - other) / other:+9.2e}" if other else "       --"
        name = f"({n}, {b}) {red} {wl} {steps} steps"
        print(f"{name:34s} {loss:12.6f} {info.evaluations:6d} {jx.get('loss', float('nan')):12.6f} "
              f"{row['scipy_single_loss'] or float('nan'):12.6f} {row['scipy_single_evaluations'] or 0:6d} "
              f"{sp.get('loss', float('nan')):12.6f} {sp.get('evaluations', 0):6d}  {rel(jx.get('loss'))} "
              f"{rel(row['scipy_single_loss'])} {rel(sp.get('loss'))}  {info.stop}", flush=True)
        if "mfkit_10x_loss" in row:
            print(f"{'  MFKit with 10x the steps':34s} {row['mfkit_10x_loss']:12.6f} {row['mfkit_10x_evaluations']:6d}"
                  f"  (vs scipy 10x: {(row['mfkit_10x_loss'] - sp['loss']) / sp['loss']:+.2e})", flush=True)
    return rows


def rescaling(quick):
    """Mean error after k steps of the same L-BFGS with and without unit columns."""
    out = []
    sizes = [(256, 8, 50)] if quick else [(1024, 16, 25), (1024, 16, 100), (2048, 32, 25), (2048, 32, 100),
                                          (4096, 64, 25), (4096, 64, 100), (8192, 16, 25), (8192, 16, 100)]
    for n, b, steps in sizes:
        start = banded.ColumnNormalizedBanded.default(n, b).params

        def loss_fn(p):
            try:
                return banded.loss_and_gradient(banded.ColumnNormalizedBanded(p))
            except ValueError:   # a trial point too close to singular: inadmissible
                return float("nan"), np.zeros_like(p)
        row = {"n": n, "bands": b, "steps": steps}
        for label, block in (("unit", b), ("free", None)):
            t = repeat(lambda: optimization.optimize(loss_fn, start, max_optimizer_steps=steps,
                                                     invariant_block_size=block, return_info=True), 1)
            (x, info), seconds = t.out, t.best
            norms = np.linalg.norm(x, axis=1)
            row[label] = {"loss": info.loss, "evaluations": info.evaluations, "seconds": seconds,
                          "column_norm_max": float(norms.max()), "column_norm_min": float(norms.min())}
        out.append(row)
        print(f"rescaling ({n}, {b}) {steps} steps: unit columns {row['unit']['loss']:.6f} "
              f"({row['unit']['evaluations']} evaluations) | free columns {row['free']['loss']:.6f} "
              f"({row['free']['evaluations']} evaluations, column norms grew to {row['free']['column_norm_max']:.3g})",
              flush=True)
    return out


def main():
    parser = arguments(__doc__, quick="three cases")
    parser.add_argument("--write-reference", action="store_true",
                        help="write jax_privacy's losses to python/tests/data/jax_privacy/optimized_drawn.npz")
    args = parser.parse_args()
    cases = QUICK if args.quick else CASES
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)",
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "quality": quality(cases)}
    if args.write_reference:
        rows = [r for r in results["quality"] if r["jax_loss"] is not None]
        np.savez(ROOT / "python" / "tests" / "data" / "jax_privacy" / "optimized_drawn.npz",
                 n=np.array([r["n"] for r in rows]), bands=np.array([r["bands"] for r in rows]),
                 reduction=np.array([r["reduction"] for r in rows]), workload=np.array([r["workload"] for r in rows]),
                 steps=np.array([r["steps"] for r in rows]), loss=np.array([r["jax_loss"] for r in rows]))
        print("wrote python/tests/data/jax_privacy/optimized_drawn.npz", flush=True)
    results["rescaling"] = rescaling(args.quick)
    if not args.quick:
        write_results("optimizer_quality", results)


if __name__ == "__main__":
    main()

"""Buffered Toeplitz (BLT) benchmark: MFKit against jax_privacy 2.0.0 in the same run.

1. `buffered_toeplitz.optimize` with several participations (n = 10^5, min_sep = 1000,
   max_participations = 10, error = 'mean', the other defaults): time of each library and the
   loss of each result, both evaluated by MFKit's LossFn (and jax_privacy's own value).
2. `optimize` for single participation at n = 10^7 (closed forms): time and loss of each.
3. Noise generation C^{-1} z with a 4-buffer BLT, z float32 of shape (256, 10^6) (1 GB), in
   place, against an np.copyto probe of the same bytes (read 1 GB, write 1 GB).

jax_privacy runs in the shared anchor bench/.venv-jax-privacy (bench/_anchors.py: jax-privacy
2.0.0, jax 0.10.2; created on first use), in a subprocess, one case at a time; its results are
kept in that venv (blt_jax_<case>.json; delete them to time it again: its min-sep case takes
about 10 minutes on a quiet machine). MFKit runs in this interpreter, from this checkout. The
quick run takes about 2 minutes, seconds once jax_privacy's results are kept.

    python3 bench/bench_blt.py [--quick] [--no-jax] [--repeats R]
"""
import json
import os
import platform

import numpy as np

# _anchors first: it puts this checkout's mfkit on the path
from _anchors import arguments, repeat, run_worker, venv_dir

import mfkit
from mfkit import buffered_toeplitz as bt
from mfkit import streaming_matrix as sm

JAX_SIDE = r"""
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from jax_privacy.matrix_factorization import buffered_toeplitz as bt

from _anchors import read_task, repeat, reply

out = []
for case in read_task():
    kwargs = dict(n=case["n"], min_sep=case["min_sep"], max_participations=case["k"], error=case["error"])
    t = repeat(lambda: bt.optimize(**kwargs), 1)
    blt = t.out
    if case["k"] == 1 and case["error"] == "max":
        loss_fn = bt.LossFn.build_closed_form_single_participation(case["n"])
    else:
        loss_fn = bt.LossFn.build_min_sep(case["n"], error=case["error"], min_sep=case["min_sep"],
                                          max_participations=case["k"])
    out.append({"seconds": t.best, "buf_decay": np.asarray(blt.buf_decay).tolist(),
                "output_scale": np.asarray(blt.output_scale).tolist(), "loss": float(loss_fn.loss(blt))})
reply(out)
"""


def run_jax(case):
    """jax_privacy's result for one case, cached in the anchor's venv (its runs take minutes)."""
    cache = venv_dir("jax-privacy") / f"blt_jax_{case['n']}_{case['min_sep']}_{case['k']}_{case['error']}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    row = run_worker(JAX_SIDE, [case], anchor="jax-privacy")[0]
    cache.write_text(json.dumps(row))
    return row


def loss_fn_for(case):
    if case["k"] == 1 and case["error"] == "max":
        return bt.LossFn.build_closed_form_single_participation(case["n"])
    return bt.LossFn.build_min_sep(case["n"], error=case["error"], min_sep=case["min_sep"], max_participations=case["k"])


def optimize_cases(cases, no_jax):
    rows = []
    jax = []
    if not no_jax:
        jax = [run_jax(case) for case in cases]
    for i, case in enumerate(cases):
        t = repeat(lambda: bt.optimize(n=case["n"], min_sep=case["min_sep"], max_participations=case["k"],
                                       error=case["error"]), 1)
        blt, seconds = t.out, t.best
        loss_fn = loss_fn_for(case)
        row = {"case": case, "mfkit_seconds": seconds, "mfkit_loss": loss_fn.loss(blt),
               "mfkit_buffers": len(blt.buf_decay)}
        if jax:
            j = jax[i]
            jblt = bt.BufferedToeplitz.build(j["buf_decay"], j["output_scale"])
            row.update(jax_seconds=j["seconds"], jax_loss_own=j["loss"], jax_loss=loss_fn.loss(jblt),
                       jax_buffers=len(jblt.buf_decay), speedup=j["seconds"] / seconds)
        rows.append(row)
    return rows


def noise(repeats, quick):
    n, m = (32, 10**5) if quick else (256, 10**6)
    blt = bt.optimize(n=n, min_buffers=4, max_buffers=4)
    inv = blt.inverse_as_streaming_matrix()
    z0 = np.random.default_rng(0).standard_normal((n, m), dtype=np.float32)
    z = z0.copy()
    dst = np.empty_like(z)
    expected = np.linalg.solve(blt.materialize(n), z0[:, :1000].astype(np.float64))
    sm.multiply_array(inv, z, out=z)
    assert z.dtype == np.float32 and np.allclose(z[:, :1000], expected, rtol=1e-3, atol=1e-3)

    def fresh():
        np.copyto(z, z0)

    probe = repeat(lambda: np.copyto(dst, z0), repeats).median
    mf = repeat(lambda: sm.multiply_array(inv, z, out=z), repeats, fresh).median
    gb = 2 * z.nbytes / 1e9
    return {"shape": [n, m], "probe_seconds": probe, "mfkit_seconds": mf, "probe_gbs": gb / probe,
            "mfkit_gbs": gb / mf, "ratio": probe / mf}


def main():
    parser = arguments(__doc__, no_jax=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"MFKit {mfkit.__version__}, NumPy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()}", flush=True)
    if args.quick:
        cases = [dict(n=5000, min_sep=100, k=10, error="mean"), dict(n=10**5, min_sep=1, k=1, error="max")]
    else:
        cases = [dict(n=10**5, min_sep=1000, k=10, error="mean"), dict(n=10**7, min_sep=1, k=1, error="max")]
    for row in optimize_cases(cases, args.no_jax):
        c = row["case"]
        line = (f"optimize(n={c['n']}, min_sep={c['min_sep']}, max_participations={c['k']}, error={c['error']!r}): "
                f"MFKit {row['mfkit_seconds']:.2f} s, loss {row['mfkit_loss']:.12g} ({row['mfkit_buffers']} buffers)")
        if "jax_seconds" in row:
            line += (f"; jax_privacy {row['jax_seconds']:.2f} s, loss {row['jax_loss']:.12g} (its own value "
                     f"{row['jax_loss_own']:.12g}, {row['jax_buffers']} buffers); speed-up {row['speedup']:.1f}x; "
                     f"loss ratio MFKit / jax_privacy {row['mfkit_loss'] / row['jax_loss']:.6f}")
        print(line, flush=True)
    r = noise(args.repeats, args.quick)
    print(f"noise C^-1 z, 4 buffers, float32 {tuple(r['shape'])} in place: MFKit {1e3 * r['mfkit_seconds']:.1f} ms "
          f"({r['mfkit_gbs']:.1f} GB/s); probe np.copyto {1e3 * r['probe_seconds']:.1f} ms ({r['probe_gbs']:.1f} GB/s); "
          f"{r['ratio']:.2f} of the probe's bandwidth", flush=True)


if __name__ == "__main__":
    main()

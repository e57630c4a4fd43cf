"""Buffered Toeplitz (BLT) benchmark: MFKit against jax_privacy 2.0.0 in the same run.

1. `buffered_toeplitz.optimize` with several participations (n = 10^5, min_sep = 1000,
   max_participations = 10, error = 'mean', the other defaults): time of each library and the
   loss of each result, both evaluated by MFKit's LossFn (and jax_privacy's own value).
2. `optimize` for single participation at n = 10^7 (closed forms): time and loss of each.
3. Noise generation C^{-1} z with a 4-buffer BLT, z float32 of shape (256, 10^6) (1 GB), in
   place, against an np.copyto probe of the same bytes (read 1 GB, write 1 GB).

jax_privacy runs in bench/.venv-blt (created with pip on first use; never a dependency of
MFKit), in a subprocess, one case at a time; its results are kept in that venv
(jax_<case>.json; delete them to time it again). MFKit runs in this interpreter.

    python3 bench/bench_blt.py [--quick] [--skip-jax] [--repeats R]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np

import mfkit
from mfkit import buffered_toeplitz as bt
from mfkit import streaming_matrix as sm

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-blt"
VENV_PY = VENV / "bin" / "python"

JAX_SIDE = r"""
import json, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from jax_privacy.matrix_factorization import buffered_toeplitz as bt
out = []
for case in json.loads(sys.argv[1]):
    kwargs = dict(n=case["n"], min_sep=case["min_sep"], max_participations=case["k"], error=case["error"])
    start = time.perf_counter()
    blt = bt.optimize(**kwargs)
    seconds = time.perf_counter() - start
    if case["k"] == 1 and case["error"] == "max":
        loss_fn = bt.LossFn.build_closed_form_single_participation(case["n"])
    else:
        loss_fn = bt.LossFn.build_min_sep(case["n"], error=case["error"], min_sep=case["min_sep"],
                                          max_participations=case["k"])
    out.append({"seconds": seconds, "buf_decay": np.asarray(blt.buf_decay).tolist(),
                "output_scale": np.asarray(blt.output_scale).tolist(), "loss": float(loss_fn.loss(blt))})
print(json.dumps(out))
"""


def ensure_venv():
    if not VENV_PY.exists():
        print(f"creating {VENV} with jax-privacy 2.0.0 (first run only)", flush=True)
        venv.create(VENV, with_pip=True)
        subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "jax-privacy==2.0.0"], check=True)
    return str(VENV_PY)


def run_jax(case):
    """jax_privacy's result for one case, cached in the benchmark's venv (its runs take minutes)."""
    cache = VENV / f"jax_{case['n']}_{case['min_sep']}_{case['k']}_{case['error']}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    result = subprocess.run([ensure_venv(), "-c", JAX_SIDE, json.dumps([case])], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if result.returncode != 0:
        sys.exit("jax_privacy side failed:\n" + result.stderr[-4000:])
    row = json.loads(result.stdout.strip().splitlines()[-1])[0]
    cache.write_text(json.dumps(row))
    return row


def median_time(fn, repeats, setup=None):
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def loss_fn_for(case):
    if case["k"] == 1 and case["error"] == "max":
        return bt.LossFn.build_closed_form_single_participation(case["n"])
    return bt.LossFn.build_min_sep(case["n"], error=case["error"], min_sep=case["min_sep"], max_participations=case["k"])


def optimize_cases(cases, skip_jax):
    rows = []
    jax = []
    if not skip_jax:
        jax = [run_jax(case) for case in cases]
    for i, case in enumerate(cases):
        start = time.perf_counter()
        blt = bt.optimize(n=case["n"], min_sep=case["min_sep"], max_participations=case["k"], error=case["error"])
        seconds = time.perf_counter() - start
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

    probe = median_time(lambda: np.copyto(dst, z0), repeats)
    mf = median_time(lambda: sm.multiply_array(inv, z, out=z), repeats, fresh)
    gb = 2 * z.nbytes / 1e9
    return {"shape": [n, m], "probe_seconds": probe, "mfkit_seconds": mf, "probe_gbs": gb / probe,
            "mfkit_gbs": gb / mf, "ratio": probe / mf}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--skip-jax", action="store_true", help="MFKit only")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"MFKit {mfkit.__version__}, NumPy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()}", flush=True)
    if args.quick:
        cases = [dict(n=5000, min_sep=100, k=10, error="mean"), dict(n=10**5, min_sep=1, k=1, error="max")]
    else:
        cases = [dict(n=10**5, min_sep=1000, k=10, error="mean"), dict(n=10**7, min_sep=1, k=1, error="max")]
    for row in optimize_cases(cases, args.skip_jax):
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

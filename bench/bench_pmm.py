"""Benchmark: the forward pass of a low-rank affine Hermitian matrix model (PMM),
M(x) = M_0 + sum_i x_i M_i + s C, in MFKit against the same formula written with jax.numpy
einsums under jax.jit and with NumPy einsum, plus a NumPy fill probe of the output's bytes.

    python3 bench/bench_pmm.py            # full run (creates bench/.venv-pmm with jax[cpu])
    python3 bench/bench_pmm.py --quick    # small smoke run

JAX lives only in the benchmark's own virtual environment (bench/.venv-pmm), created on first
use; the script re-runs itself there. MFKit is taken from this checkout (python/ and
.build/release/libmfkit.so, or $MFKIT_LIBRARY); build it first with `swift build -c release`.

Reported per case (best of interleaved rounds, in ms; medians are kept for mfkit and jax):
- mfkit: a call on a prepared module writing into a preallocated output (`m(x, out=out)`);
- mfkit+prep: the same after a parameter change (set_params), i.e. including the once-per-
  parameter-set preparation (full matrices and the smoothing matrix C), as in a training step;
- mfkit alloc: a call that allocates its output (`m(x)`);
- jax.jit: lambdas, us, x -> M(x) (the parametricmatrixmodels formula: low-rank einsum, affine
  einsum, cumulative-sum commutators), compiled, inputs already on the device;
- numpy: the same formula with NumPy einsum;
- fill: `out.fill(v)` on the preallocated output (the same bytes).
"""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv-pmm"


def ensure_venv():
    py = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not py.exists():
        print(f"creating {VENV} with numpy and jax[cpu] ...", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
        subprocess.check_call([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               "numpy", "jax[cpu]"])
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "python") + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("MFKIT_LIBRARY", str(ROOT / ".build" / "release" / "libmfkit.so"))
    os.execve(str(py), [str(py), __file__] + sys.argv[1:], env)


def best_time(fn, *args, reps):
    fn(*args)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[0], times[len(times) // 2]


def interleaved(contenders, reps):
    """{name: (best, median)} over `reps` rounds, each round timing every contender once."""
    for fn in contenders.values():
        fn()
    times = {name: [] for name in contenders}
    for _ in range(reps):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (min(ts), sorted(ts)[len(ts) // 2]) for name, ts in times.items()}


def main():
    ensure_venv()
    quick = "--quick" in sys.argv
    import numpy as np
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import mfkit
    from mfkit.pmm import LowRankAffineHermitianMatrix

    assert str(ROOT) in mfkit.__file__, mfkit.__file__

    def smoothing_matrix(ms, xp):
        # C = i sum_{i>j} [M_i, M_j] = i sum_i [M_i, M_0 + ... + M_{i-1}]
        cums = xp.cumsum(ms[:-1], axis=0)
        a, b = ms[1:], cums
        return 1j * (xp.einsum("ijk,ikl->jl", a, b) - xp.einsum("ijk,ikl->jl", b, a))

    def formula(xp, s):
        def f(lambdas, us, x):
            ms = xp.einsum("ir,irk,irl->ikl", lambdas.astype(us.dtype), us, us.conj())
            m = ms[0][None, :, :] + xp.einsum("ni,ijk->njk", x.astype(us.dtype), ms[1:])
            if s != 0.0:
                m = m + s * smoothing_matrix(ms, xp)[None, :, :]
            return m
        return f

    cases = [(1024, 8, 64, 4), (10000, 8, 16, 4)] if not quick else [(64, 8, 16, 4), (500, 8, 8, 2)]
    reps = 25 if not quick else 3
    rng = np.random.default_rng(0)
    rows = []
    print(f"mfkit {mfkit.__version__} ({mfkit._ffi.lib.mfkit_num_threads()} threads), jax {jax.__version__}, "
          f"numpy {np.__version__}", flush=True)
    for (N, p, n, r) in cases:
        for cdt, rdt in ((np.complex64, np.float32), (np.complex128, np.float64)):
            for s in (0.0, 0.1):
                lambdas = rng.standard_normal((p + 1, r)).astype(rdt)
                us = (rng.standard_normal((p + 1, r, n)) + 1j * rng.standard_normal((p + 1, r, n))).astype(cdt)
                x = rng.standard_normal((N, p)).astype(rdt)
                m = LowRankAffineHermitianMatrix(n, r, s, lambdas, us)
                out = np.empty((N, n, n), cdt)
                params = [(lambdas, us), (lambdas * 1.0001, us)]
                flip = [0]

                def with_prep():
                    flip[0] ^= 1
                    m.set_params(params[flip[0]])
                    m(x, out=out)

                jf = jax.jit(formula(jnp, s))
                jl, ju, jx = jax.device_put(lambdas), jax.device_put(us), jax.device_put(x)
                ref = np.asarray(jf(jl, ju, jx))
                nf = formula(np, s)
                # Contenders are timed in interleaved rounds, so that they share the machine's
                # (fluctuating) load; each keeps its best and median round.
                t = interleaved({
                    "mfkit": lambda: m(x, out=out),
                    "prep": with_prep,
                    "alloc": lambda: m(x),
                    "jax": lambda: jf(jl, ju, jx).block_until_ready(),
                    "fill": lambda: out.fill(0.5 + 0.5j),
                }, reps)
                t_mf, t_mf_med = t["mfkit"]
                t_prep, t_alloc = t["prep"][0], t["alloc"][0]
                t_jax, t_jax_med = t["jax"]
                t_fill = t["fill"][0]
                t_np, _ = best_time(nf, lambdas, us, x, reps=max(3, reps // 5))

                m(x, out=out)
                err = np.abs(out - ref).max() / np.abs(ref).max()
                gbs = out.nbytes / t_mf / 1e9
                row = dict(N=N, p=p, n=n, r=r, dtype=np.dtype(cdt).name, s=s, mfkit=t_mf * 1e3,
                           mfkit_med=t_mf_med * 1e3, prep=t_prep * 1e3, alloc=t_alloc * 1e3,
                           jax=t_jax * 1e3, jax_med=t_jax_med * 1e3, numpy=t_np * 1e3, fill=t_fill * 1e3,
                           vs_jax=t_jax / t_mf, vs_jax_prep=t_jax / t_prep, vs_numpy=t_np / t_mf,
                           gbs=gbs, fill_gbs=out.nbytes / t_fill / 1e9, of_fill=t_fill / t_mf, err=err)
                rows.append(row)
                print(f"N={N} p={p} n={n} r={r} {row['dtype']} s={s}: mfkit {row['mfkit']:.2f} ms "
                      f"(+prep {row['prep']:.2f}, alloc {row['alloc']:.2f}), jax.jit {row['jax']:.2f}, "
                      f"numpy {row['numpy']:.2f}, fill {row['fill']:.2f} | x{row['vs_jax']:.1f} vs jax "
                      f"(x{row['vs_jax_prep']:.1f} with prep), {gbs:.1f} GB/s = {100 * row['of_fill']:.0f}% of fill, "
                      f"rel.err {err:.1e}", flush=True)

    print("\n| N | n | dtype | s | mfkit ms best / median | +prep ms | alloc ms | jax.jit ms best / median "
          "| numpy ms | fill ms | vs jax (best / median) | vs jax with prep | vs numpy | out GB/s | % of fill |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in rows:
        print(f"| {w['N']} | {w['n']} | {w['dtype']} | {w['s']} | {w['mfkit']:.2f} / {w['mfkit_med']:.2f} | "
              f"{w['prep']:.2f} | {w['alloc']:.2f} | {w['jax']:.1f} / {w['jax_med']:.1f} | {w['numpy']:.0f} | "
              f"{w['fill']:.2f} | {w['vs_jax']:.1f}x / {w['jax_med'] / w['mfkit_med']:.1f}x | "
              f"{w['vs_jax_prep']:.1f}x | {w['vs_numpy']:.0f}x | {w['gbs']:.1f} | {100 * w['of_fill']:.0f}% |")


if __name__ == "__main__":
    main()

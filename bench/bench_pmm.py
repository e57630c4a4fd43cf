"""Benchmarks of MFKit's parametric matrix models against the jitted parametricmatrixmodels
release (and JAX / NumPy probes):

    python3 bench/bench_pmm.py [--quick] [--only forward,grad,train,eigh,alloc] [--release-src DIR]

- forward: the low-rank matrix module's forward pass (below);
- grad: value and gradient of an MSE loss of AffineEigenvaluePMM at (N, p, n, k) = (10^4, 8, 16, 4)
  and (1024, 8, 64, 8), complex64 and complex128, against the release's module under
  jax.jit(jax.value_and_grad) (its `_get_callable()`, as its own training does);
- train: one epoch of `Model.train` at N = 10^4 (p = 8, n = 16, k = 4), full batch and batch 256,
  timed as (t(6 epochs) - t(1 epoch)) / 5 for both (the release re-jits per call);
- eigh: the batched eigensolver alone (`mfkit.pmm.eigh`) against `numpy.linalg.eigvalsh` on the
  same batch;
- alloc: the allocating forward call (`m(x)`) against an `np.empty(shape).fill(v)` probe.

The anchors run in the benchmark's own virtual environment (bench/.venv-pmm, made by
bench/_anchors.py: numpy 2.4.6, jax 0.10.2 CPU, and the release installed from a checkout of
its September 2025 commit bb6b4a06 given with --release-src, or $MFKIT_PMM_RELEASE_SRC; without
one, grad uses a JAX re-statement of the release's computation and train is skipped). The
script re-runs itself there with OPENBLAS_NUM_THREADS=1 (the release's best setting: threaded
OpenBLAS made jax's eigh 10-40x slower on this machine). MFKit is taken from this checkout
(python/ and .build/release/libmfkit.so, or $MFKIT_LIBRARY); build it first with
`swift build -c release`. The quick run takes under a minute, the full run a few minutes.

Forward pass, reported per case (best of interleaved rounds, in ms; medians are kept for mfkit and jax):
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

from _anchors import ROOT, anchor_python, arguments, interleaved, pip_install, repeat, run_inside, running_in


def ensure_venv(src):
    """Re-runs this script in bench/.venv-pmm (OPENBLAS_NUM_THREADS=1), with the release installed
    there first from its checkout `src` (None: none given)."""
    if src and not running_in("pmm"):
        probe = subprocess.run([str(anchor_python("pmm")), "-c", "import parametricmatrixmodels"], capture_output=True)
        if probe.returncode != 0:
            print(f"installing the parametricmatrixmodels release from {src} ...", flush=True)
            # a source tree without git metadata: setuptools_scm needs the version given; the
            # release imports `packaging` without declaring it
            pip_install("pmm", src, "packaging", env=dict(os.environ, SETUPTOOLS_SCM_PRETEND_VERSION="0.0.0+source"))
    run_inside("pmm", env={"OPENBLAS_NUM_THREADS": "1"})


def main():
    parser = arguments(__doc__)
    parser.add_argument("--only", default="forward,grad,train,eigh,alloc", help="the measurements to run")
    parser.add_argument("--release-src", metavar="DIR", default=os.environ.get("MFKIT_PMM_RELEASE_SRC"),
                        help="a checkout of the release to install (default $MFKIT_PMM_RELEASE_SRC)")
    args = parser.parse_args()
    ensure_venv(args.release_src)
    import numpy as np
    import jax
    jax.config.update("jax_enable_x64", True)
    import mfkit
    print(f"mfkit {mfkit.__version__} ({mfkit.num_threads()} threads), jax {jax.__version__}, numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    for name in args.only.split(","):
        globals()["bench_" + name](args.quick)


def bench_forward(quick):
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
    print("\n## forward", flush=True)
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
                t_mf, t_mf_med = t["mfkit"].best, t["mfkit"].median
                t_prep, t_alloc = t["prep"].best, t["alloc"].best
                t_jax, t_jax_med = t["jax"].best, t["jax"].median
                t_fill = t["fill"].best
                t_np = repeat(lambda: nf(lambdas, us, x), max(3, reps // 5), warmup=True).best

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


def release_or_none():
    try:
        import parametricmatrixmodels as release
        return release
    except ImportError:
        return None


def table(title, header, rows):
    print(f"\n{title}\n\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")


def bench_grad(quick):
    """value_and_grad of an MSE loss of AffineEigenvaluePMM: MFKit against the jitted release."""
    import numpy as np
    import jax
    import jax.numpy as jnp
    from mfkit import pmm
    release = release_or_none()
    cases = [(10000, 8, 16, 4), (1024, 8, 64, 8)] if not quick else [(500, 8, 16, 4), (64, 8, 32, 8)]
    reps = 7 if not quick else 2
    rows = []
    rng = np.random.default_rng(0)
    for (N, p, n, k) in cases:
        for cdt in (np.complex64, np.complex128):
            m = pmm.AffineEigenvaluePMM(matrix_size=n, num_eig=k)
            m.compile(0, (p,))
            m.set_precision(cdt)
            ms = m.get_params()[0]
            X = rng.standard_normal((N, p))
            Y = rng.standard_normal((N, k))
            Xj = jnp.asarray(X.astype(np.float32 if cdt == np.complex64 else np.float64))
            Yj = jnp.asarray(Y)
            if release is not None:
                from parametricmatrixmodels.modules import AffineEigenvaluePMM as Release
                r = Release(matrix_size=n, num_eig=k)
                key = jax.random.key(0)
                r.compile(key, (p,))
                r.set_params((jnp.asarray(ms),))
                f = r._get_callable()

                def loss(params, X, Y):
                    return jnp.mean(jnp.abs(f(params, X, False, (), key)[0] - Y) ** 2)
                anchor = "release"
            else:
                def loss(params, X, Y):
                    (M,) = params
                    M = (M + jnp.conj(jnp.swapaxes(M, -1, -2))) / 2
                    H = M[0] + jnp.einsum("ni,ijk->njk", X.astype(M.dtype), M[1:])
                    return jnp.mean(jnp.abs(jnp.linalg.eigvalsh(H)[:, :k] - Y) ** 2)
                anchor = "jax re-statement"
            vg = jax.jit(jax.value_and_grad(loss))
            params = (jnp.asarray(ms),)
            ref_loss, ref_g = vg(params, Xj, Yj)
            my_loss, (my_g,) = m.value_and_grad(X, Y)
            err = float(np.abs(np.asarray(ref_g[0]) - my_g).max() / np.abs(my_g).max())
            t = interleaved({
                "mfkit": lambda: m.value_and_grad(X, Y),
                "anchor": lambda: jax.block_until_ready(vg(params, Xj, Yj)),
            }, reps)
            mf, an = t["mfkit"], t["anchor"]
            rows.append([str(N), str(n), str(k), np.dtype(cdt).name, f"{mf.best * 1e3:.1f} / {mf.median * 1e3:.1f}",
                         f"{an.best * 1e3:.1f} / {an.median * 1e3:.1f}",
                         f"**{an.best / mf.best:.1f}x** / {an.median / mf.median:.1f}x",
                         anchor, f"{err:.1e}"])
            print(" | ".join(rows[-1]), flush=True)
    table("## value_and_grad, MSE, AffineEigenvaluePMM (p = 8)",
          ["N", "n", "k", "dtype", "mfkit ms best / median", "anchor ms best / median", "speed-up best / median",
           "anchor", "grad rel. diff"], rows)


def bench_train(quick):
    """One epoch of Model.train (N = 10^4, p = 8, n = 16, k = 4): (t(6) - t(1)) / 5 for both, after a
    warm-up call (the release compiles its loop in every call; the difference cancels it)."""
    import warnings
    import numpy as np
    import jax
    from mfkit import pmm
    release = release_or_none()
    N, p, n, k = (10000, 8, 16, 4) if not quick else (1000, 8, 16, 4)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((N, p))
    Y = rng.standard_normal((N, k))
    rows = []
    for batch in (N, 256):
        def epoch_time(make, train):
            train(make(), 1)
            times = {}
            for epochs in (1, 6):
                model = make()
                times[epochs] = repeat(lambda: train(model, epochs), 1).best
            return (times[6] - times[1]) / 5
        kw = dict(lr=1e-3, batch_size=batch, convergence_threshold=0.0, early_stopping_patience=100,
                  early_stopping_tolerance=-1.0, verbose=False, batch_seed=0)

        def make_mfkit():
            model = pmm.Model([pmm.AffineEigenvaluePMM(matrix_size=n, num_eig=k)], rng=0)
            model.compile(0, (p,))
            return model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_mf = min(epoch_time(make_mfkit, lambda m, e: m.train(X, Y, num_epochs=e, **kw)) for _ in range(2))
            if release is not None:
                from parametricmatrixmodels.modules import AffineEigenvaluePMM as Release
                import parametricmatrixmodels as rel

                def make_release():
                    model = rel.Model([Release(matrix_size=n, num_eig=k)], rng=0)
                    model.compile(jax.random.key(0), (p,))
                    return model
                t_rel = min(epoch_time(make_release, lambda m, e: m.train(X, Y, num_epochs=e, **kw)) for _ in range(2))
            else:
                t_rel = float("nan")
        rows.append([str(N), str(batch), f"{t_mf * 1e3:.0f}", f"{t_rel * 1e3:.0f}", f"**{t_rel / t_mf:.1f}x**"])
        print(" | ".join(rows[-1]), flush=True)
    table("## one training epoch, AffineEigenvaluePMM (p = 8, n = 16, k = 4), complex64",
          ["N", "batch", "mfkit ms", "release ms", "speed-up"], rows)


def bench_eigh(quick):
    """The batched eigensolver against numpy.linalg.eigvalsh on the same batch (single-threaded LAPACK)."""
    import numpy as np
    from mfkit import pmm
    cases = [(10000, 16), (1024, 64)] if not quick else [(500, 16), (64, 64)]
    reps = 7 if not quick else 2
    rng = np.random.default_rng(2)
    rows = []
    for (N, n) in cases:
        for cdt in (np.complex64, np.complex128):
            a = (rng.standard_normal((N, n, n)) + 1j * rng.standard_normal((N, n, n))).astype(cdt)
            a = (a + a.conj().transpose(0, 2, 1)) / 2
            t = interleaved({
                "k": lambda: pmm.eigh(a, 4, vectors=False),
                "all": lambda: pmm.eigh(a, n, vectors=False),
                "kvec": lambda: pmm.eigh(a, 4),
                "numpy": lambda: np.linalg.eigvalsh(a),
            }, reps)
            t = {name: timing.best for name, timing in t.items()}
            err = np.abs(pmm.eigh(a, n, vectors=False)[0] - np.linalg.eigvalsh(a)).max()
            rows.append([str(N), str(n), np.dtype(cdt).name, f"{t['k'] * 1e3:.1f}", f"{t['kvec'] * 1e3:.1f}",
                         f"{t['all'] * 1e3:.1f}", f"{t['numpy'] * 1e3:.1f}",
                         f"**{t['numpy'] / t['all']:.2f}x**", f"{t['numpy'] / t['k']:.1f}x", f"{err:.0e}"])
            print(" | ".join(rows[-1]), flush=True)
    table("## batched eigensolver vs numpy.linalg.eigvalsh (same batch)",
          ["N", "n", "dtype", "mfkit 4 values ms", "4 pairs ms", "all n values ms", "numpy eigvalsh ms",
           "speed-up (all values)", "speed-up (4 values)", "max abs diff"], rows)


def bench_alloc(quick):
    """The allocating forward call against an np.empty(shape).fill(v) probe of the same bytes."""
    import numpy as np
    from mfkit.pmm import LowRankAffineHermitianMatrix
    cases = [(10000, 8, 16, 4), (1024, 8, 64, 4)] if not quick else [(500, 8, 16, 4)]
    reps = 25 if not quick else 3
    rng = np.random.default_rng(3)
    rows = []
    for (N, p, n, r) in cases:
        for cdt, rdt in ((np.complex64, np.float32), (np.complex128, np.float64)):
            lambdas = rng.standard_normal((p + 1, r)).astype(rdt)
            us = (rng.standard_normal((p + 1, r, n)) + 1j * rng.standard_normal((p + 1, r, n))).astype(cdt)
            m = LowRankAffineHermitianMatrix(n, r, 0.1, lambdas, us)
            x = rng.standard_normal((N, p)).astype(rdt)
            t = interleaved({
                "alloc": lambda: m(x),
                "probe": lambda: np.empty((N, n, n), cdt).fill(0.5 + 0.5j),
            }, reps)
            t = {name: timing.best for name, timing in t.items()}
            rows.append([str(N), str(n), np.dtype(cdt).name, f"{t['alloc'] * 1e3:.2f}", f"{t['probe'] * 1e3:.2f}",
                         f"**{100 * t['probe'] / t['alloc']:.0f}%**"])
            print(" | ".join(rows[-1]), flush=True)
    table("## allocating forward call vs np.empty(...).fill() probe",
          ["N", "n", "dtype", "mfkit m(x) ms", "probe ms", "speed of the probe's"], rows)


if __name__ == "__main__":
    main()

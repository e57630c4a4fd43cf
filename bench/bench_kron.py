"""Kronecker sums: MFKit against NumPy (stride-trick baselines), scipy.sparse.kronsum,
GmGM's numba loops and bandwidth probes, in one run.

    python3 bench/bench_kron.py            # the cases of the issue (needs ~2.5 GB of memory)
    python3 bench/bench_kron.py --quick    # small sizes, a smoke run

The script re-runs itself in its anchor's virtual environment bench/.venv-kron (made by
bench/_anchors.py on first use: NumPy 2.4.6, SciPy 1.17.1, GmGM 0.5.7 with numba 0.68.1);
mfkit is taken from this repository (python/ and .build/release/libmfkit.so, or
$MFKIT_LIBRARY). The quick run takes seconds, the full run a few minutes. Times are medians
over repeats after one warm-up run; ratios are MFKit's speed over the other method's (higher
is better). "probe %" is the probe's time over MFKit's: the share of the probe's bandwidth
MFKit reaches on the same bytes.
"""
import os

from _anchors import arguments, repeat, run_inside

run_inside("kron")

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import as_strided  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import mfkit  # noqa: E402
from mfkit import kron  # noqa: E402
from GmGM.core import numbafied as gmgm  # noqa: E402


# ---------------------------------------------------------------- NumPy baselines (stride tricks)
def numpy_kronsum_diag(vecs, out):
    """out (as a K-D array) = Σ_k v_k broadcast along axis k: each v_k is viewed with
    as_strided as a full K-D array with zero strides on the other axes and added in place."""
    dims = [v.shape[0] for v in vecs]
    grid = out.reshape(dims)
    for k, v in enumerate(vecs):
        strides = [0] * len(dims)
        strides[k] = v.strides[0]
        view = as_strided(v, shape=dims, strides=strides)
        if k == 0:
            np.copyto(grid, view)
        else:
            np.add(grid, view, out=grid)
    return out


def numpy_ks_project_diag(vec, dims):
    """Means over strided K-D views of vec (one per axis, all other axes averaged), minus the
    trace share."""
    itemsize = vec.itemsize
    strides = [int(np.prod(dims[k + 1:])) * itemsize for k in range(len(dims))]
    view = as_strided(vec, shape=dims, strides=strides)
    share = (len(dims) - 1) / len(dims) * vec.mean()
    return [view.mean(axis=tuple(a for a in range(len(dims)) if a != k)) - share for k in range(len(dims))]


def numpy_kronsum_dense(a, b, out):
    """out = A ⊕ B: zero it, then add A along the strided view out[(i, j), (k, j)] and B along
    out[(i, j), (i, l)] (two as_strided block views, broadcasting adds)."""
    d1, d2 = a.shape[0], b.shape[0]
    n, s = d1 * d2, out.itemsize
    out.fill(0)
    va = as_strided(out, shape=(d1, d1, d2), strides=(d2 * n * s, d2 * s, (n + 1) * s))
    va += a[:, :, None]
    vb = as_strided(out, shape=(d1, d2, d2), strides=(d2 * (n + 1) * s, n * s, s))
    vb += b[None, :, :]
    return out


def numpy_materialize_log_sum(vecs):
    w = numpy_kronsum_diag(vecs, np.empty(int(np.prod([len(v) for v in vecs]))))
    return float(np.log(w, out=w).sum())


def numpy_materialize_project_reciprocal(vecs):
    dims = [len(v) for v in vecs]
    w = numpy_kronsum_diag(vecs, np.empty(int(np.prod(dims))))
    np.reciprocal(w, out=w)
    return numpy_ks_project_diag(w, dims)


def scipy_kronsum(mats):
    """scipy.sparse.kronsum(A, B) is kron(I, A) + kron(B, I) = B ⊕ A in MFKit's order, so
    the factors are folded from the last one."""
    total = sp.csr_matrix(mats[-1])
    for m in reversed(mats[:-1]):
        total = sp.kronsum(total, sp.csr_matrix(m), format="csr")
    return total


# ---------------------------------------------------------------- report
ROWS = []


def row(case, method, seconds, elements, note=""):
    """Records one measurement; the first row of a case is MFKit's, the others are compared
    with it (their time over MFKit's)."""
    ROWS.append((case, method, seconds, elements, note))
    mf = next(r[2] for r in ROWS if r[0] == case)
    ratio = "" if method.startswith("MFKit") or seconds != seconds else f"MFKit {seconds / mf:.2f}x"
    print(f"  {method:44s} {seconds * 1e3:9.2f} ms {elements / seconds / 1e9:7.3f} G/s  {ratio:>12s}  {note}", flush=True)


def header(title):
    print(f"\n{title}", flush=True)


def bench_kronsum_diag(sizes, repeats):
    rng = np.random.default_rng(0)
    for dims in sizes:
        n = int(np.prod(dims))
        vecs = [rng.normal(size=d) for d in dims]
        out = np.empty(n)
        header(f"kronsum_diag {list(dims)} (N = {n:.0e}, float64)")
        t_mf = repeat(lambda: kron.kronsum_diag(*vecs, out=out), repeats, warmup=True).median
        check = out.copy()
        base = np.empty(n)
        t_np = repeat(lambda: numpy_kronsum_diag(vecs, base), repeats, warmup=True).median
        assert np.max(np.abs(base - check)) < 1e-12 * np.max(np.abs(check))
        del base
        t_probe = repeat(lambda: out.fill(1.0), repeats, warmup=True).median
        case = f"kronsum_diag {list(dims)}"
        row(case, "MFKit kronsum_diag (2 threads)", t_mf, n)
        row(case, "NumPy as_strided + broadcasting adds", t_np, n)
        if n <= 10**6:
            diag = [sp.diags(v) for v in vecs]
            t_sp = repeat(lambda: scipy_kronsum(diag).diagonal(), repeats, warmup=True).median
            assert np.max(np.abs(scipy_kronsum(diag).diagonal() - check)) < 1e-12 * np.max(np.abs(check))
            row(case, "scipy.sparse.kronsum(...).diagonal()", t_sp, n)
        else:
            row(case, "scipy.sparse.kronsum", float("nan"), n, "skipped: > 1.5 GB of sparse indices")
        row(case, "probe: NumPy out.fill (1 thread)", t_probe, n,
            f"MFKit at {100 * t_probe / t_mf:.0f}% of probe bandwidth ({8 * n / t_mf / 1e9:.1f} GB/s written)")
        del out


def bench_ks_project_diag(sizes, repeats):
    rng = np.random.default_rng(1)
    for dims in sizes:
        n = int(np.prod(dims))
        vec = rng.normal(size=n)
        header(f"ks_project_diag {list(dims)} (N = {n:.1e}, float64)")
        outs = [np.empty(d) for d in dims]
        t_mf = repeat(lambda: kron.ks_project_diag(vec, None, out=outs), repeats, warmup=True).median
        t_np = repeat(lambda: numpy_ks_project_diag(vec, dims), repeats, warmup=True).median
        for a, b in zip(outs, numpy_ks_project_diag(vec, dims)):
            assert np.max(np.abs(a - b)) < 1e-10
        t_probe = repeat(lambda: vec.sum(), repeats, warmup=True).median
        case = f"ks_project_diag {list(dims)}"
        row(case, "MFKit ks_project_diag (2 threads)", t_mf, n)
        row(case, "NumPy means over as_strided views", t_np, n)
        row(case, "probe: NumPy vec.sum (1 thread)", t_probe, n,
            f"MFKit at {100 * t_probe / t_mf:.0f}% of probe bandwidth ({8 * n / t_mf / 1e9:.1f} GB/s read)")


def bench_kronsum_dense(d, repeats):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    n = d * d
    header(f"kronsum dense, two {d} x {d} factors (N = {n}, {n * n:.0e} entries, float64)")
    out = np.empty((n, n))
    t_mf = repeat(lambda: kron.kronsum(a, b, out=out), repeats, warmup=True).median
    check = out.copy() if n <= 2500 else None
    base = np.empty((n, n))
    t_np = repeat(lambda: numpy_kronsum_dense(a, b, base), repeats, warmup=True).median
    assert np.array_equal(base, out)
    del base
    t_sp = repeat(lambda: scipy_kronsum([a, b]).toarray(), max(1, repeats // 2), warmup=True).median
    assert check is None or np.array_equal(scipy_kronsum([a, b]).toarray(), check)
    t_probe = repeat(lambda: out.fill(0.0), repeats, warmup=True).median
    case = f"kronsum dense {d}x{d} (+) {d}x{d}"
    row(case, "MFKit kronsum (2 threads)", t_mf, n * n)
    row(case, "NumPy fill(0) + 2 as_strided adds", t_np, n * n)
    row(case, "scipy.sparse.kronsum(...).toarray()", t_sp, n * n)
    row(case, "probe: NumPy out.fill (1 thread)", t_probe, n * n,
        f"MFKit at {100 * t_probe / t_mf:.0f}% of probe bandwidth")


def bench_fused(sizes, repeats):
    rng = np.random.default_rng(3)
    for dims in sizes:
        n = int(np.prod(dims))
        vecs = [rng.uniform(0.5, 2.0, size=d) for d in dims]
        header(f"fused passes {list(dims)} (N = {n:.1e}, float64)")
        case = f"log-det {list(dims)}"
        t_mf = repeat(lambda: kron.kronsum_diag_reduce(vecs, "log"), repeats, warmup=True).median
        t_gm = repeat(lambda: gmgm.sum_log_sum(*vecs), repeats, warmup=True).median
        t_np = repeat(lambda: numpy_materialize_log_sum(vecs), repeats, warmup=True).median
        ours, theirs, numpy_value = kron.kronsum_diag_reduce(vecs, "log"), gmgm.sum_log_sum(*vecs), numpy_materialize_log_sum(vecs)
        assert abs(ours - numpy_value) < 1e-11 * abs(numpy_value) and abs(theirs - numpy_value) < 1e-8 * abs(numpy_value)
        row(case, "MFKit kronsum_diag_reduce(log) (2 threads)", t_mf, n)
        row(case, "GmGM sum_log_sum (numba, 1 thread)", t_gm, n)
        row(case, "NumPy materialize, log, sum", t_np, n)
        case = f"project 1/w {list(dims)}"
        t_mf = repeat(lambda: kron.ks_project_diag_map(vecs, None, "reciprocal"), repeats, warmup=True).median
        t_gm = repeat(lambda: gmgm._proj_iks[len(dims)](*vecs), repeats, warmup=True).median
        t_np = repeat(lambda: numpy_materialize_project_reciprocal(vecs), repeats, warmup=True).median
        ours = kron.ks_project_diag_map(vecs, None, "reciprocal")
        theirs = gmgm._proj_iks[len(dims)](*vecs)
        for a, g, r, d in zip(ours, theirs, numpy_materialize_project_reciprocal(vecs), dims):
            assert np.max(np.abs(a - r)) < 1e-12 * np.max(np.abs(r))
            # GmGM scales axis k's sums by 1/d_k where the projection uses d_k / N
            assert np.max(np.abs(g * d * d / n - r)) < 1e-9 * np.max(np.abs(r))
        row(case, "MFKit ks_project_diag_map(reciprocal)", t_mf, n)
        row(case, "GmGM project_inv_kron_sum (numba, 1 thread)", t_gm, n)
        row(case, "NumPy materialize, 1/w, strided means", t_np, n)
        case = f"project log w {list(dims)}"
        t_mf = repeat(lambda: kron.ks_project_diag_map(vecs, None, "log"), repeats, warmup=True).median
        row(case, "MFKit ks_project_diag_map(log)", t_mf, n, "(no GmGM counterpart)")


def markdown():
    lines = ["| case | method | median ms | G elem/s | MFKit speed-up | note |", "|---|---|---:|---:|---:|---|"]
    for case, method, seconds, elements, note in ROWS:
        if seconds != seconds:  # NaN: skipped
            lines.append(f"| {case} | {method} | – | – | – | {note} |")
            continue
        mf = next(r[2] for r in ROWS if r[0] == case)
        ratio = "" if method.startswith("MFKit") else f"{seconds / mf:.2f}x"
        lines.append(f"| {case} | {method} | {seconds * 1e3:.2f} | {elements / seconds / 1e9:.3f} | {ratio} | {note} |")
    return "\n".join(lines)


def main():
    parser = arguments(__doc__, quick="small sizes, few repeats (smoke run)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 7)
    print(f"MFKit {mfkit.__version__} ({mfkit.__file__}), {mfkit._ffi.lib.mfkit_num_threads()} threads; "
          f"NumPy {np.__version__}, SciPy {scipy.__version__}, {os.cpu_count()} CPUs")
    if args.quick:
        bench_kronsum_diag([(100, 100, 100), (100, 20, 50), (300, 300)], repeats)
        bench_ks_project_diag([(50, 100, 150), (400, 400)], repeats)
        bench_kronsum_dense(30, repeats)
        bench_fused([(400, 400), (50, 50, 50)], repeats)
    else:
        bench_kronsum_diag([(100, 100, 100), (1000, 100, 100), (10000, 10000)], repeats)
        bench_ks_project_diag([(50, 100, 150), (4000, 4000)], repeats)
        bench_kronsum_dense(100, max(3, repeats // 2))
        bench_fused([(4000, 4000), (200, 200, 200)], repeats)
    print("\n" + markdown())


if __name__ == "__main__":
    main()

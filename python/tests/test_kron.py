"""mfkit.kron against dense NumPy definitions: np.kron sums, explicit block averages, a
least-squares projection, and materialize-then-reduce for the fused passes."""
import doctest
import math

import numpy as np
import pytest

from mfkit import kron

DTYPES = [np.float64, np.float32]
TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 2e-6}
DIMS = [(5,), (3, 4), (1, 6), (4, 1), (2, 3, 4), (3, 1, 2), (2, 2, 3, 2), (1, 1, 1, 1), (3, 2, 1, 4)]


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


# ---------------------------------------------------------------- dense oracles
def dense_kronsum(mats):
    """Σ_k I ⊗ A_k ⊗ I with np.kron."""
    dims = [m.shape[0] for m in mats]
    n = int(np.prod(dims))
    total = np.zeros((n, n))
    for k, a in enumerate(mats):
        before = int(np.prod(dims[:k])) if k else 1
        after = int(np.prod(dims[k + 1:])) if k + 1 < len(dims) else 1
        total += np.kron(np.kron(np.eye(before), np.asarray(a, np.float64)), np.eye(after))
    return total


def diag_kronsum(vecs):
    """The diagonal of the Kronecker sum: for small N the diagonal of dense_kronsum, else
    nested outer sums."""
    vecs = [np.asarray(v, np.float64) for v in vecs]
    if np.prod([v.size for v in vecs]) <= 400:
        return np.diag(dense_kronsum([np.diag(v) for v in vecs]))
    total = vecs[0]
    for v in vecs[1:]:
        total = np.add.outer(total, v).ravel()
    return total


def block_average(mat, dims, k):
    """The explicit average of the d_k x d_k blocks mat[(l, i), (l, j)] over the other axes l."""
    n = int(np.prod(dims))
    index = np.moveaxis(np.arange(n).reshape(dims), k, -1).reshape(-1, dims[k])
    total = np.zeros((dims[k], dims[k]))
    for rows in index:
        total += np.asarray(mat, np.float64)[np.ix_(rows, rows)]
    return total / len(index)


def lstsq_projection(mat, dims):
    """The orthogonal projection of mat onto Kronecker sums, by least squares over every
    factor entry (independent of the closed form)."""
    columns = []
    for k, d in enumerate(dims):
        for i in range(d):
            for j in range(d):
                e = np.zeros((d, d))
                e[i, j] = 1
                mats = [np.zeros((dd, dd)) for dd in dims]
                mats[k] = e
                columns.append(dense_kronsum(mats).ravel())
    basis = np.array(columns).T
    coef = np.linalg.lstsq(basis, np.asarray(mat, np.float64).ravel(), rcond=None)[0]
    return (basis @ coef).reshape(mat.shape)


def random_mats(rng, dims, dtype):
    return [rng.normal(size=(d, d)).astype(dtype) for d in dims]


def random_vecs(rng, dims, dtype, low=-1.0, high=1.0):
    return [rng.uniform(low, high, size=d).astype(dtype) for d in dims]


def views(a):
    """Non-contiguous versions of a 1-D or 2-D array holding the same values."""
    out = []
    if a.ndim == 1:
        big = np.zeros(2 * a.size + 1, a.dtype)
        big[::2][: a.size] = a
        out.append(big[::2][: a.size])          # every other element
        rev = np.ascontiguousarray(a[::-1])
        out.append(rev[::-1])                   # negative stride
    else:
        out.append(np.asfortranarray(a))        # Fortran order
        out.append(np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1])  # reversed both ways
        big = np.zeros((a.shape[0], 2 * a.shape[1]), a.dtype)
        big[:, ::2] = a
        out.append(big[:, ::2])                 # strided columns
        out.append(np.ascontiguousarray(a.T).T)  # transposed view
    for v in out:
        assert np.array_equal(v, a)
    return out


# ---------------------------------------------------------------- Kronecker sums
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims", DIMS)
def test_kronsum_dense(rng, dims, dtype):
    mats = random_mats(rng, dims, dtype)
    got = kron.kronsum(*mats)
    assert got.dtype == np.dtype(dtype) and got.shape == (np.prod(dims),) * 2
    assert rel_err(got, dense_kronsum(mats)) < TOL[got.dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_kronsum_dense_views_and_out(rng, dtype):
    mats = random_mats(rng, (3, 2, 4), dtype)
    ref = dense_kronsum(mats)
    for variant in zip(*[views(m) for m in mats]):
        assert rel_err(kron.kronsum(*variant), ref) < TOL[np.dtype(dtype)]
    n = 24
    for out in (np.empty((n, n), dtype, order="F"), np.empty((n, 2 * n), dtype)[:, ::2],
                np.empty((n, n), dtype)[::-1, ::-1]):
        result = kron.kronsum(*mats, out=out)
        assert result is out
        assert rel_err(out, ref) < TOL[np.dtype(dtype)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims", DIMS)
def test_kronsum_diag(rng, dims, dtype):
    vecs = random_vecs(rng, dims, dtype)
    got = kron.kronsum_diag(*vecs)
    assert got.dtype == np.dtype(dtype)
    assert rel_err(got, diag_kronsum(vecs)) < TOL[got.dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_kronsum_diag_views_out_and_threads(rng, dtype):
    dims = (7, 300, 90)  # N = 189000: above the threshold for both cores; tail folding
    vecs = random_vecs(rng, dims, dtype)
    ref = (vecs[0].astype(np.float64)[:, None, None] + vecs[1].astype(np.float64)[None, :, None]
           + vecs[2].astype(np.float64)[None, None, :]).ravel()
    for variant in zip(*[views(v) for v in vecs]):
        assert rel_err(kron.kronsum_diag(*variant), ref) < TOL[np.dtype(dtype)]
    n = ref.size
    for out in (np.empty(2 * n, dtype)[::2], np.empty(n, dtype)[::-1]):
        assert kron.kronsum_diag(*vecs, out=out) is out
        assert rel_err(out, ref) < TOL[np.dtype(dtype)]
    # float32 sums are formed in float64 and rounded once
    if dtype == np.float32:
        assert np.array_equal(kron.kronsum_diag(*vecs), ref.astype(np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (3,)])
def test_kronsum_matvec(rng, dtype, shape):
    for dims in [(4,), (3, 5), (2, 1, 3), (2, 3, 2, 2)]:
        mats = random_mats(rng, dims, dtype)
        n = int(np.prod(dims))
        x = rng.normal(size=(n,) + shape).astype(dtype)
        ref = dense_kronsum(mats) @ x.astype(np.float64)
        assert rel_err(kron.kronsum_matvec(mats, x), ref) < 10 * TOL[np.dtype(dtype)]
        for xv in views(x):
            assert rel_err(kron.kronsum_matvec([views(m)[0] for m in mats], xv), ref) < 10 * TOL[np.dtype(dtype)]
        out = np.empty((n,) + shape, dtype, order="F")[::-1]
        assert kron.kronsum_matvec(mats, x, out=out) is out
        assert rel_err(out, ref) < 10 * TOL[np.dtype(dtype)]


def test_kronsum_matvec_threads(rng):
    mats = random_mats(rng, (40, 30, 50), np.float64)
    x = rng.normal(size=(60000, 2))
    a, b, c = mats
    X = x.reshape(40, 30, 50, 2)
    ref = (np.einsum("ij,jbcm->ibcm", a, X) + np.einsum("ij,ajcm->aicm", b, X)
           + np.einsum("ij,abjm->abim", c, X)).reshape(60000, 2)
    assert rel_err(kron.kronsum_matvec(mats, x), ref) < 1e-12


# ---------------------------------------------------------------- projections
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims", DIMS)
def test_factorwise_average(rng, dims, dtype):
    n = int(np.prod(dims))
    mat = rng.normal(size=(n, n)).astype(dtype)
    for k in range(len(dims)):
        ref = block_average(mat, dims, k)
        assert rel_err(kron.factorwise_average(mat, dims, k), ref) < TOL[np.dtype(dtype)]
        for view in views(mat):
            assert rel_err(kron.factorwise_average(view, dims, k - len(dims)), ref) < TOL[np.dtype(dtype)]
        vec = np.diag(mat).copy()
        got = kron.factorwise_average_diag(vec, dims, k)
        assert rel_err(got, np.diag(block_average(np.diag(vec), dims, k))) < TOL[np.dtype(dtype)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims", DIMS)
def test_ks_project_is_least_squares(rng, dims, dtype):
    n = int(np.prod(dims))
    mat = rng.normal(size=(n, n)).astype(dtype)
    factors = kron.ks_project(mat, dims)
    assert [f.shape for f in factors] == [(d, d) for d in dims]
    assert all(f.dtype == np.dtype(dtype) for f in factors)
    assert rel_err(dense_kronsum(factors), lstsq_projection(mat, dims)) < 20 * TOL[np.dtype(dtype)]
    # the trace convention: every factor has mean diagonal tr(mat) / (K N)
    share = np.trace(mat.astype(np.float64)) / (len(dims) * n)
    for f in factors:
        assert abs(np.trace(f.astype(np.float64)) / f.shape[0] - share) < 20 * TOL[np.dtype(dtype)] * max(1, abs(share)) + 1e-6 * (dtype == np.float32)
    # the diagonal projection is the projection of diag(vec)
    vec = rng.normal(size=n).astype(dtype)
    dfactors = kron.ks_project_diag(vec, dims)
    assert rel_err(diag_kronsum(dfactors), np.diag(lstsq_projection(np.diag(vec.astype(np.float64)), dims))) \
        < 20 * TOL[np.dtype(dtype)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims", DIMS)
def test_round_trip(rng, dims, dtype):
    mats = random_mats(rng, dims, dtype)
    m = kron.kronsum(*mats)
    again = kron.kronsum(*kron.ks_project(m, dims))
    assert rel_err(again, m) < 20 * TOL[np.dtype(dtype)]
    vecs = random_vecs(rng, dims, dtype)
    w = kron.kronsum_diag(*vecs)
    assert rel_err(kron.kronsum_diag(*kron.ks_project_diag(w, dims)), w) < 20 * TOL[np.dtype(dtype)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_ks_project_diag_views_out_and_threads(rng, dtype):
    dims = [60, 50, 70]  # N = 210000: both cores, head axes and a folded tail
    vec = rng.normal(size=int(np.prod(dims))).astype(dtype)
    v64 = vec.astype(np.float64).reshape(dims)
    mean = v64.mean()
    ref = [v64.mean(axis=(1, 2)) - 2 / 3 * mean, v64.mean(axis=(0, 2)) - 2 / 3 * mean,
           v64.mean(axis=(0, 1)) - 2 / 3 * mean]
    for view in views(vec):
        for got, r in zip(kron.ks_project_diag(view, dims), ref):
            assert rel_err(got, r) < 10 * TOL[np.dtype(dtype)]
    out = (np.empty(120, dtype)[::2], np.empty(50, dtype)[::-1], np.empty((70, 3), dtype, order="F")[:, 1])
    result = kron.ks_project_diag(vec, None, out=out)
    assert all(a is b for a, b in zip(result, out))
    for got, r in zip(out, ref):
        assert rel_err(got, r) < 10 * TOL[np.dtype(dtype)]
    for k in range(3):
        assert rel_err(kron.factorwise_average_diag(vec, dims, k), ref[k] + 2 / 3 * mean) < 10 * TOL[np.dtype(dtype)]


def test_ks_project_out_in_place(rng):
    mats = random_mats(rng, (3, 4), np.float64)
    m = kron.kronsum(*mats)
    out = [np.empty((3, 3), order="F"), np.empty((8, 8))[::2, ::-2]]
    result = kron.ks_project(m, None, out=out)
    assert result[0] is out[0] and result[1] is out[1]
    assert rel_err(kron.kronsum(*out), m) < 1e-12


# ---------------------------------------------------------------- fused passes
FUNCS = {
    "identity": lambda w: w,
    "reciprocal": lambda w: 1 / w,
    "log": np.log,
    "exp": np.exp,
    "square": np.square,
    "sqrt": np.sqrt,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("f", list(FUNCS))
def test_fused_against_materialized(rng, f, dtype):
    for dims in [(6,), (3, 5), (1, 7), (4, 1, 3), (2, 3, 1, 4), (40, 300, 20)]:
        vecs = random_vecs(rng, dims, dtype, 0.5, 1.5)
        w = diag_kronsum(vecs)
        fw = FUNCS[f](w)
        ref = math.fsum(fw)
        got = kron.kronsum_diag_reduce(vecs, f)
        assert abs(got - ref) <= 1e-13 * np.sum(np.abs(fw)), (dims, f)
        proj = kron.ks_project_diag_map(vecs, None, f)
        ref_proj = kron.ks_project_diag(fw, dims)
        assert all(p.dtype == np.dtype(dtype) for p in proj)
        for p, r in zip(proj, ref_proj):
            assert rel_err(p, r) < TOL[np.dtype(dtype)] * 10, (dims, f)


def test_fused_other_factorization_and_views(rng):
    vecs = [rng.uniform(1, 2, 6), rng.uniform(1, 2, 4)]
    w = diag_kronsum(vecs)
    for dims in ([3, 8], [24], [2, 2, 2, 3]):
        got = kron.ks_project_diag_map(vecs, dims, "reciprocal")
        for g, r in zip(got, kron.ks_project_diag(1 / w, dims)):
            assert rel_err(g, r) < 1e-13
    variants = [views(v)[1] for v in vecs]
    assert abs(kron.kronsum_diag_reduce(variants, "log") - np.log(w).sum()) < 1e-13 * np.abs(np.log(w)).sum()
    out = [np.empty(12)[::2], np.empty(4)[::-1]]
    assert kron.ks_project_diag_map(vecs, None, "log", out=out)[1] is out[1]
    for g, r in zip(out, kron.ks_project_diag(np.log(w), [6, 4])):
        assert rel_err(g, r) < 1e-13


def test_fast_log_accuracy(rng):
    """The vectorized log used by the fused passes, against NumPy's, to 1e-15 relative."""
    x = np.concatenate([np.geomspace(1e-300, 1e300, 5000), 1 + np.linspace(-1e-3, 1e-3, 2001),
                        1 + np.linspace(-1e-12, 1e-12, 101), rng.uniform(0.5, 2, 5000),
                        [1.0, 2.0, 0.5, np.sqrt(2), 1 / np.sqrt(2), 2.2250738585072014e-308, 1.7976931348623157e308]])
    got = kron.ks_project_diag_map([x], None, "log")[0]
    ref = np.log(x)
    nonzero = ref != 0
    assert np.all(got[~nonzero] == 0)
    assert np.max(np.abs(got - ref)[nonzero] / np.abs(ref[nonzero])) < 1e-15
    # log-determinant of a Kronecker sum of eigenvalues in very different ranges
    for low, high in [(1e-3, 1e3), (0.4, 0.7), (1e5, 1e9)]:
        vecs = [rng.uniform(low, high, d) for d in (300, 200, 7)]
        w = np.log(diag_kronsum(vecs))
        assert abs(kron.kronsum_diag_reduce(vecs, "log") - math.fsum(w)) <= 1e-12 * abs(math.fsum(w))


def test_ieee_special_values():
    x = np.array([0.0, -1.0, np.inf, np.nan, 5e-324, 2.0])
    with np.errstate(all="ignore"):
        ref = np.log(x)
        got = kron.ks_project_diag_map([x], None, "log")[0]
        assert np.array_equal(got, ref, equal_nan=True)
        assert kron.ks_project_diag_map([np.array([0.0, 2.0])], None, "reciprocal")[0][0] == np.inf
        assert kron.kronsum_diag_reduce([np.array([0.0, 1.0])], "log") == -np.inf
        assert np.isnan(kron.kronsum_diag_reduce([np.array([-1.0, 1.0])], "sqrt"))
        assert np.isnan(kron.kronsum_diag_reduce([np.array([-1.0, 1.0])], "log"))
        assert np.isnan(kron.kronsum_diag_reduce([np.array([np.nan, 1.0])], "log"))
        assert kron.kronsum_diag_reduce([np.array([np.inf, 1.0])], "log") == np.inf
        tiny = np.array([5e-324, 2.0, 3.0])
        assert abs(kron.kronsum_diag_reduce([tiny], "log") - np.log(tiny).sum()) < 1e-13 * abs(np.log(tiny).sum())


def test_docstring_examples():
    failures, _ = doctest.testmod(kron, verbose=False)
    assert failures == 0


# ---------------------------------------------------------------- errors
def expect_error(exc, match, fn, *outs):
    for o in outs:
        o[...] = 7.0
    with pytest.raises(exc, match=match):
        fn()
    for o in outs:
        assert np.all(o == 7.0), "an output was written on error"


def test_errors_kronsum(rng):
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(2, 2))
    out = np.empty((6, 6))
    expect_error(ValueError, "at least one", lambda: kron.kronsum())
    expect_error(ValueError, "square", lambda: kron.kronsum(a, rng.normal(size=(2, 3)), out=out), out)
    expect_error(ValueError, "square", lambda: kron.kronsum(a, rng.normal(size=4)), )
    expect_error(ValueError, "shape", lambda: kron.kronsum(a, b, out=np.empty((5, 5))))
    expect_error(TypeError, "dtype", lambda: kron.kronsum(a, b, out=np.empty((6, 6), np.float32)))
    expect_error(TypeError, "dtype", lambda: kron.kronsum(a, b.astype(np.float32)))
    expect_error(TypeError, "float32 or float64|dtype", lambda: kron.kronsum(a.astype(np.int64), b))
    expect_error(TypeError, "NumPy array", lambda: kron.kronsum([[1.0]], b))
    expect_error(ValueError, "length 0", lambda: kron.kronsum(np.empty((0, 0)), b))
    big = np.zeros((6, 6))
    big[:3, :3] = a
    expect_error(ValueError, "overlaps", lambda: kron.kronsum(big[:3, :3], b, out=big))
    ro = np.empty((6, 6))
    ro.flags.writeable = False
    expect_error(ValueError, "read-only", lambda: kron.kronsum(a, b, out=ro))


def test_errors_diag(rng):
    v, w = rng.normal(size=3), rng.normal(size=2)
    out = np.empty(6)
    expect_error(ValueError, "at least one", lambda: kron.kronsum_diag())
    expect_error(ValueError, "shape|one-dimensional", lambda: kron.kronsum_diag(v, np.ones((2, 2)), out=out), out)
    expect_error(ValueError, "shape", lambda: kron.kronsum_diag(v, w, out=np.empty(5)))
    expect_error(TypeError, "dtype", lambda: kron.kronsum_diag(v, w, out=np.empty(6, np.float32)))
    buf = np.zeros(9)
    buf[:3] = v
    expect_error(ValueError, "overlaps", lambda: kron.kronsum_diag(buf[:3], w, out=buf[2:8]))
    expect_error(ValueError, "overlaps", lambda: kron.kronsum_diag(buf[::4], w, out=buf[1:7]))
    vec = rng.normal(size=12)
    outs = [np.empty(3), np.empty(4)]
    expect_error(ValueError, "multiply", lambda: kron.ks_project_diag(vec, [3, 5]))
    expect_error(ValueError, "multiply", lambda: kron.ks_project_diag(vec, None, out=[np.empty(3), np.empty(5)]))
    expect_error(ValueError, ">= 1", lambda: kron.ks_project_diag(vec, [0, 12]))
    expect_error(ValueError, "at least one", lambda: kron.ks_project_diag(vec, []))
    expect_error(TypeError, "integers", lambda: kron.ks_project_diag(vec, [3.0, 4]))
    expect_error(ValueError, "shapes", lambda: kron.ks_project_diag(vec, [3, 4], out=[np.empty(4), np.empty(3)]))
    expect_error(TypeError, "list or tuple", lambda: kron.ks_project_diag(vec, None, out=np.empty(3)))
    expect_error(ValueError, "overlaps", lambda: kron.ks_project_diag(vec, None, out=[vec[:3], np.empty(4)]))
    shared = np.empty(6)
    expect_error(ValueError, "overlaps", lambda: kron.ks_project_diag(vec, None, out=[shared[:3], shared[2:6]]), shared)
    expect_error(TypeError, "dtype", lambda: kron.ks_project_diag(vec, None, out=[np.empty(3, np.float32), np.empty(4)]))
    expect_error(ValueError, "out of range", lambda: kron.factorwise_average_diag(vec, [3, 4], 2))
    expect_error(ValueError, "multiply", lambda: kron.factorwise_average_diag(vec, [3, 3], 0))
    expect_error(ValueError, "give dims or out", lambda: kron.ks_project_diag(vec, None))
    for o in outs:
        o[...] = 7.0
    with pytest.raises(ValueError):
        kron.ks_project_diag(vec[:11], None, out=outs)
    assert all(np.all(o == 7.0) for o in outs)


def test_errors_dense_projection(rng):
    m = rng.normal(size=(12, 12))
    expect_error(ValueError, "multiply", lambda: kron.ks_project(m, [3, 5]))
    expect_error(ValueError, "square", lambda: kron.ks_project(m[:, :6], [3, 4]))
    expect_error(ValueError, "square", lambda: kron.ks_project(m, None, out=[np.empty((3, 2)), np.empty((4, 4))]))
    expect_error(ValueError, "overlaps", lambda: kron.ks_project(m, None, out=[m[:3, :3], np.empty((4, 4))]))
    expect_error(ValueError, "out of range", lambda: kron.factorwise_average(m, [3, 4], -3))
    expect_error(TypeError, "integer", lambda: kron.factorwise_average(m, [3, 4], 1.0))
    expect_error(ValueError, "shape", lambda: kron.factorwise_average(m, [3, 4], 0, out=np.empty((4, 4))))
    out = np.empty((3, 3))
    expect_error(ValueError, "multiply", lambda: kron.factorwise_average(m, [2, 4], 0, out=np.empty((2, 2))))
    expect_error(ValueError, "overlaps", lambda: kron.factorwise_average(m, [3, 4], 0, out=m[:3, :3]))
    assert out.shape == (3, 3)


def test_errors_matvec_and_fused(rng):
    mats = random_mats(rng, (2, 3), np.float64)
    x = rng.normal(size=6)
    expect_error(ValueError, "rows", lambda: kron.kronsum_matvec(mats, rng.normal(size=5)))
    expect_error(ValueError, "shape", lambda: kron.kronsum_matvec(mats, rng.normal(size=(6, 2, 2))))
    expect_error(TypeError, "dtype", lambda: kron.kronsum_matvec(mats, x.astype(np.float32)))
    expect_error(ValueError, "overlaps", lambda: kron.kronsum_matvec(mats, x, out=x))
    expect_error(ValueError, "at least one", lambda: kron.kronsum_matvec([], x))
    expect_error(TypeError, "list or tuple", lambda: kron.kronsum_matvec(mats[0][0], x))
    vecs = random_vecs(rng, (2, 3), np.float64, 1, 2)
    expect_error(ValueError, "unknown function", lambda: kron.kronsum_diag_reduce(vecs, "tan"))
    expect_error(TypeError, "function name", lambda: kron.kronsum_diag_reduce(vecs, np.log))
    expect_error(ValueError, "at least one", lambda: kron.kronsum_diag_reduce([], "log"))
    expect_error(ValueError, "multiply", lambda: kron.ks_project_diag_map(vecs, [4, 2], "log"))
    expect_error(TypeError, "dtype", lambda: kron.ks_project_diag_map([vecs[0], vecs[1].astype(np.float32)], None, "log"))
    out = [np.empty(2), np.empty(3)]
    expect_error(ValueError, "overlaps", lambda: kron.ks_project_diag_map(vecs, None, "log", out=[vecs[0], out[1]]), out[1])
    expect_error(TypeError, "dtype", lambda: kron.ks_project_diag_map(vecs, None, "log", out=[out[0], np.empty(3, np.float32)]), out[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_outputs_streaming_stores(rng, dtype):
    """Outputs of 16 MB and more are written with non-temporal stores: check them, including
    an output that starts off the 16-byte boundary."""
    dims = (2000, 1100) if dtype == np.float64 else (2000, 2100)
    vecs = random_vecs(rng, dims, dtype)
    ref = np.add.outer(vecs[0].astype(np.float64), vecs[1].astype(np.float64)).ravel().astype(dtype)
    assert np.array_equal(kron.kronsum_diag(*vecs), ref)
    big = np.empty(ref.size + 1, dtype)
    assert np.array_equal(kron.kronsum_diag(*vecs, out=big[1:]), ref)
    d = 40 if dtype == np.float64 else 48
    mats = random_mats(rng, (d, d), dtype)
    a, b = (m.astype(np.float64) for m in mats)
    dense = np.kron(a, np.eye(d))
    dense += np.kron(np.eye(d), b)
    got = kron.kronsum(*mats)
    assert rel_err(got, dense) < TOL[np.dtype(dtype)]
    off = np.diag_indices(d * d)
    mask = np.ones(dense.shape, bool)
    mask[off] = False
    assert np.array_equal(got[mask], dense[mask].astype(dtype))  # off-diagonal entries are copies
    del dense
    buf = np.empty((d * d) ** 2 + 1, dtype)
    out = buf[1:].reshape(d * d, d * d)
    kron.kronsum(*mats, out=out)
    assert np.array_equal(out, got)


def test_self_overlapping_output_refused(rng):
    v, w = rng.normal(size=3), rng.normal(size=2)
    base = np.zeros(6)
    out = np.lib.stride_tricks.as_strided(base, shape=(6,), strides=(0,))
    expect_error(ValueError, "overlaps itself", lambda: kron.kronsum_diag(v, w, out=out), base)
    base2 = np.zeros(12)
    rows = np.lib.stride_tricks.as_strided(base2, shape=(3, 3), strides=(16, 8))  # rows interleave
    expect_error(ValueError, "overlaps itself", lambda: kron.ks_project(np.eye(3), [3], out=[rows]), base2)


def test_huge_dims_refused_before_allocating_outputs():
    # Outputs were allocated from dims before any check: dims [2**62, 2**62] asked NumPy for an
    # impossible array ("array is too big"), [2**20, 1] for 8 TB (MemoryError), and an entry
    # of 2**64 would wrap to 0 in ctypes.
    m, v = np.eye(4), np.ones(4)
    for dims in ([2**62, 2**62], [2**20, 1], [2**64, 1], [30000, 1]):
        for fn in (lambda: kron.factorwise_average(m, dims, 0), lambda: kron.factorwise_average_diag(v, dims, 0),
                   lambda: kron.ks_project(m, dims), lambda: kron.ks_project_diag(v, dims)):
            with pytest.raises(ValueError, match="multiply to"):
                fn()
    with pytest.raises(ValueError, match=r"mat has shape \(4, 4\) but dims \[2, 3\] multiply to 6"):
        kron.factorwise_average(m, [2, 3], 0)
    with pytest.raises(ValueError, match=r"vec has length 4 but dims \[2, 3\] multiply to 6"):
        kron.ks_project_diag(v, [2, 3])
    np.testing.assert_allclose(kron.factorwise_average_diag(v, [2, 2], 1), [1.0, 1.0])

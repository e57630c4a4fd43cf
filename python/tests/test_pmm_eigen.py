"""mfkit.pmm eigen modules, eigenvalue / observable PMMs, gradients, Model: against the release's
reference outputs (python/tests/data/pmm), NumPy's LAPACK and finite differences."""
import copy
import json
import pickle
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import mfkit
from mfkit import _ffi, pmm

DATA = Path(__file__).parent / "data" / "pmm"
INDEX = json.loads((DATA / "index.json").read_text())
EIGEN = np.load(DATA / "eigen.npz")
PMM = np.load(DATA / "pmm.npz")
TRAIN = np.load(DATA / "train.npz")


def projectors(v):
    return np.einsum("nik,njk->nkij", v, v.conj())


def hermitian(rng, shape, dtype=np.complex128):
    a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return ((a + np.conj(np.swapaxes(a, -1, -2))) / 2).astype(dtype)


def selection_oracle(w, k, which):
    """The release's selection (api.md section 2) on ascending eigenvalues w (n,)."""
    n = len(w)
    s = np.argsort(np.abs(w) if which[1] == "m" else w, kind="stable")
    h = n // 2
    return {"s": lambda: s[:k], "l": lambda: s[n - k:],
            "e": lambda: np.concatenate([s[:k // 2], s[n - (k - k // 2):]]),
            "i": lambda: np.concatenate([s[h - k // 2:h], s[h:h + k - k // 2]])}[which[0]]()


# ------------------------------------------------------------------ eigen modules vs the release
@pytest.mark.parametrize("case", INDEX["files"]["eigen.npz"]["cases"], ids=lambda c: c["name"])
def test_eigen_modules_match_release(case):
    module = getattr(pmm, case["module"])(**case["kwargs"])
    a = EIGEN[case["input"]]
    module.compile(0, a.shape[1:])
    out, state = module(a)
    ref = EIGEN[case["output"]]
    assert state == ()
    assert out.shape == ref.shape == tuple(case["output_shape"]) and out.dtype == ref.dtype
    tol = INDEX["files"]["eigen.npz"]["tolerances"]
    scale = max(1.0, np.abs(ref).max())
    if case["module"] == "Eigenvalues":
        np.testing.assert_allclose(out, ref, atol=tol["eigenvalues_rel"][case["dtype"]] * scale, rtol=0)
        return
    vec, rvec = (out, ref) if case["module"] == "Eigenvectors" else (out[:, 1:], ref[:, 1:])
    if case["module"] == "Eigensystem":
        np.testing.assert_allclose(out[:, 0], ref[:, 0], atol=tol["eigenvalues_rel"][case["dtype"]] * scale, rtol=0)
    np.testing.assert_allclose(projectors(vec), projectors(rvec), atol=tol["projector_abs"][case["dtype"]], rtol=0)
    assert np.all(vec[:, 0, :].imag == 0) and np.all(vec[:, 0, :].real >= 0)


def test_eigen_module_life_cycle():
    m = pmm.Eigenvalues(num_eig=3, which="la")
    assert m.which == "la" and m.name() == "Eigenvalues(num_eig=3, which=LA)"
    assert pmm.Eigenvalues().name() == "Eigenvalues(ground state)"
    assert m.is_ready() and m.get_params() == () and m.get_num_trainable_floats() == 0
    assert m.get_output_shape((5, 5)) == (3,)
    assert m.get_hyperparameters() == {"num_eig": 3, "which": "la"}
    v = pmm.Eigenvectors(num_eig=2)
    assert not v.is_ready()
    v.compile(0, (4, 4))
    assert v.is_ready() and v.get_hyperparameters()["output_shape"] == (4, 2)
    assert pmm.Eigensystem(num_eig=2).get_output_shape((4, 4)) == (5, 2)
    with pytest.raises(ValueError, match="square"):
        m.compile(0, (3, 4))
    with pytest.raises(ValueError, match="positive integer"):
        pmm.Eigenvalues(num_eig=0)
    with pytest.raises(ValueError, match="which must be one of"):
        pmm.Eigenvectors(which="XX")
    with pytest.raises(ValueError, match="num_eig"):
        pmm.Eigenvalues(num_eig=7)(np.zeros((2, 3, 3), complex))
    d = m.serialize()
    m2 = pmm.Eigenvalues()
    m2.deserialize(d)
    assert m2 == m and pickle.loads(pickle.dumps(m)) == m


# ------------------------------------------------------------------ the batched eigensolver vs LAPACK
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 16, 17, 31, 64, 65, 70])
def test_eigh_matches_lapack(n):
    rng = np.random.default_rng(n)
    a = hermitian(rng, (11, n, n))
    w, v = pmm.eigh(a, n)
    ref = np.linalg.eigvalsh(a)
    np.testing.assert_allclose(w, ref, atol=1e-12 * np.abs(ref).max(), rtol=0)
    _, rv = np.linalg.eigh(a)
    # well-separated spectra: each projector to 1e-12 (gap-scaled)
    gaps = np.diff(ref, axis=1).min() if n > 1 else 1.0
    np.testing.assert_allclose(projectors(v), projectors(rv), atol=1e-12 * max(1, 1 / gaps), rtol=0)
    np.testing.assert_allclose(a @ v, v * w[:, None, :], atol=1e-12 * np.abs(ref).max(), rtol=0)
    assert np.all(v[:, 0, :].imag == 0) and np.all(v[:, 0, :].real >= 0)    # the phase (n > 64: LAPACK's path)
    w4, v4 = pmm.eigh(a, min(4, n), "LM", num_columns=n)
    np.testing.assert_allclose(np.sort(w4, axis=1), ref, atol=1e-12 * np.abs(ref).max(), rtol=0)
    np.testing.assert_allclose(a @ v4, v4 * w4[:, None, :], atol=1e-12 * np.abs(ref).max(), rtol=0)


@pytest.mark.parametrize("spectrum", [
    [1, 1, 1, 2, 3, 3, 4, 5],                     # exact degeneracies
    [1, 1 + 1e-10, 1 + 2e-10, 2, 2, 2, 2, 7],     # a tight cluster and a 4-fold eigenvalue
    [0] * 8,                                      # the zero matrix
    [1e-3, -1e-3, 0, 0, 5, 5, -5, -5],            # +- pairs (magnitude ties)
    [1e-8 * i for i in range(8)],                 # tiny spread
])
def test_eigh_clustered_and_degenerate(spectrum):
    rng = np.random.default_rng(1)
    n = len(spectrum)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)))
    a = np.stack([(q * np.asarray(spectrum, float)) @ q.conj().T * s for s in (1.0, 3.0)])
    a = (a + a.conj().transpose(0, 2, 1)) / 2
    w, v = pmm.eigh(a, n)
    ref = np.linalg.eigvalsh(a)
    scale = max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(w, ref, atol=1e-12 * scale, rtol=0)
    np.testing.assert_allclose(v.conj().transpose(0, 2, 1) @ v, np.broadcast_to(np.eye(n), (2, n, n)), atol=1e-12)
    np.testing.assert_allclose(a @ v, v * w[:, None, :], atol=1e-12 * scale, rtol=0)
    # the projector on each group of equal eigenvalues matches LAPACK's
    _, rv = np.linalg.eigh(a)
    for b in range(2):
        for value in np.unique(np.round(ref[b], 6)):
            mine = v[b][:, np.abs(w[b] - value) < 1e-6]
            theirs = rv[b][:, np.abs(ref[b] - value) < 1e-6]
            np.testing.assert_allclose(mine @ mine.conj().T, theirs @ theirs.conj().T, atol=1e-9)


@pytest.mark.parametrize("which", ["SA", "LA", "SM", "LM", "EA", "EM", "IA", "IM"])
@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_selection_and_extra_columns(which, k):
    rng = np.random.default_rng(k)
    n = 7
    a = hermitian(rng, (9, n, n))
    a[0] = np.diag([-2.0, -1, 0, 1, 2, 3, -3])            # magnitude ties keep ascending order
    ref = np.linalg.eigvalsh(a)
    w, v = pmm.eigh(a, k, which, num_columns=n)
    for b in range(len(a)):
        sel = selection_oracle(ref[b], k, which.lower())
        rest = np.setdiff1d(np.arange(n), sel)
        np.testing.assert_allclose(w[b], np.concatenate([ref[b][sel], ref[b][rest]]), atol=1e-12)
    np.testing.assert_allclose(a @ v, v * w[:, None, :], atol=1e-11)


def test_eigh_complex64_real_input_and_threads():
    rng = np.random.default_rng(5)
    a = hermitian(rng, (37, 12, 12), np.complex64)
    w, v = pmm.eigh(a, 4, "LM")
    assert w.dtype == np.float32 and v.dtype == np.complex64
    ref = np.linalg.eigvalsh(a.astype(np.complex128))
    idx = np.stack([selection_oracle(r, 4, "lm") for r in ref])
    np.testing.assert_allclose(w, np.take_along_axis(ref, idx, 1), atol=2e-5 * np.abs(ref).max())
    w2, _ = pmm.eigh(np.real(a).astype(np.float64), 3)       # real input -> complex128
    np.testing.assert_allclose(w2, np.linalg.eigvalsh(np.real(a).astype(np.float64))[:, :3], atol=1e-12)
    # one thread gives the same results as several
    before = mfkit.num_threads()
    try:
        big = hermitian(rng, (400, 8, 8))
        mfkit.set_num_threads(1)
        one = pmm.eigh(big, 8)
        mfkit.set_num_threads(2)
        two = pmm.eigh(big, 8)
    finally:
        mfkit.set_num_threads(before)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_eigh_errors_leave_outputs_untouched():
    a = np.zeros((2, 3, 3), np.complex128)
    values = np.full((2, 2), 7.0)
    vectors = np.full((2, 3, 2), 7.0 + 0j)
    for bad_values, bad_vectors, k, which, error in [
        (np.full((2, 2), 7.0, np.float32), vectors, 2, 0, TypeError),   # wrong precision
        (values, np.full((2, 3, 3), 7.0 + 0j), 2, 0, ValueError),       # m differs
        (values, vectors, 3, 0, ValueError),                             # num_eig > m
        (values, vectors, 2, 9, ValueError),                             # bad which
        (values, a[:, :, :2], 2, 0, ValueError),                         # overlaps a
    ]:
        with pytest.raises(error):
            _ffi.call("mfkit_pmm_eigh", _ffi.describe(a), k, which, _ffi.describe(bad_values, writable=True),
                      _ffi.describe(bad_vectors, writable=True))
        assert np.all(values == 7.0) and np.all(vectors == 7.0)
    with pytest.raises(ValueError, match="square"):
        pmm.eigh(np.zeros((2, 3, 4), complex), 1)
    with pytest.raises(TypeError):
        pmm.eigh(np.zeros((2, 3, 3), np.complex64), 1.5)


# ------------------------------------------------------------------ PMMs vs the release
@pytest.mark.parametrize("case", INDEX["files"]["pmm.npz"]["cases"], ids=lambda c: c["name"])
def test_pmm_outputs_losses_and_gradients_match_release(case):
    tol = INDEX["files"]["pmm.npz"]["tolerances"]
    dt = case["dtype"]
    m = getattr(pmm, case["module"])(**case["kwargs"])
    m.compile(0, tuple(case["input_shape"]))
    params = tuple(PMM[p] for p in case["params"])
    m.set_params(params)
    assert m.get_hyperparameters()["which"] == case["hyperparameters_which"]
    assert m.get_num_trainable_floats() == case["num_trainable_floats"]
    X = PMM[case["X"]]
    out, state = m(X)
    ref = PMM[case["output"]]
    assert out.shape == ref.shape and out.dtype == ref.dtype and state == ()
    np.testing.assert_allclose(out, ref, atol=tol["output_rel"][dt] * np.abs(ref).max(), rtol=0)
    loss, grads = m.value_and_grad(X, PMM[case["Y"]], loss_fn="mse")
    assert abs(loss - case["loss"]) <= tol["loss_rel"][dt] * abs(case["loss"])
    assert len(grads) == len(params)
    for g, name, p in zip(grads, case["grads"], params):
        r = PMM[name]
        assert g.shape == p.shape and g.dtype == p.dtype
        np.testing.assert_allclose(g, r, atol=tol["grad_rel"][dt] * np.abs(r).max(), rtol=0)


def _hermitian_fd_check(m, X, Y, loss_fn="mse", h=1e-6, seed=0):
    """Central differences of the loss along a random direction E of each parameter array
    (Hermitian for stacks of square complex matrices, which the forward reads as Hermitian)
    against the directional derivative sum(Re g Re E - Im g Im E) of jax's convention
    (g = dL/dRe - i dL/dIm)."""
    rng = np.random.default_rng(seed)
    params = [np.array(p) for p in m.get_params()]
    _, grads = m.value_and_grad(X, Y, loss_fn)
    for i, p in enumerate(params):
        e = rng.standard_normal(p.shape) + (1j * rng.standard_normal(p.shape) if np.iscomplexobj(p) else 0)
        if np.iscomplexobj(p) and p.ndim >= 3 and p.shape[-1] == p.shape[-2]:
            e = (e + np.conj(np.swapaxes(e, -1, -2))) / 2
        vals = []
        for sign in (1, -1):
            q = [x.copy() for x in params]
            q[i] = q[i] + sign * h * e
            m.set_params(tuple(q))
            vals.append(m.value_and_grad(X, Y, loss_fn)[0])
        m.set_params(tuple(params))
        fd = (vals[0] - vals[1]) / (2 * h)
        g = grads[i]
        expected = float(np.sum(g.real * e.real - g.imag * np.imag(e)))
        assert abs(fd - expected) <= 1e-6 * max(1, abs(expected)), (i, fd, expected)


@pytest.mark.parametrize("make", [
    lambda: pmm.AffineEigenvaluePMM(matrix_size=5, num_eig=2, which="EA", smoothing=0.3),
    lambda: pmm.AffineEigenvaluePMM(matrix_size=5, num_eig=3, which="LM", bias_term=False),
    lambda: pmm.LowRankAffineEigenvaluePMM(matrix_size=5, rank=3, num_eig=2, which="IA", smoothing=-0.2),
    lambda: pmm.AffineObservablePMM(matrix_size=5, num_eig=2, smoothing=0.2, num_secondaries=2, output_size=2),
    lambda: pmm.AffineObservablePMM(matrix_size=5, num_eig=3, which="SA", output_size=1, centered=False,
                                    affine_bias_matrix=False, bias_term=False),
    lambda: pmm.LowRankAffineObservablePMM(matrix_size=5, primary_rank=3, num_eig=2, which="LA", smoothing=0.1,
                                           secondary_rank=2, output_size=2, num_secondaries=2),
], ids=["AEPMM-EA-smooth", "AEPMM-LM-nobias", "LRAEPMM-IA", "AOPMM", "AOPMM-plain", "LRAOPMM"])
@pytest.mark.parametrize("loss_fn", ["mse", "mae", "mrd"])
def test_gradients_against_finite_differences(make, loss_fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        m = make()
    m.compile(3, (3,))
    m.set_precision(64)
    rng = np.random.default_rng(4)
    m.set_params(tuple(p * 50 for p in m.get_params()))   # O(1) matrices
    X = rng.standard_normal((13, 3))
    Y = rng.standard_normal((13,) + m.get_output_shape((3,)))
    _hermitian_fd_check(m, X, Y, loss_fn)


def test_degenerate_spectra_give_finite_gradients():
    # M(x) = diag(0, 1, 1, 1, 2) + x (small coupling of the first two): the unselected
    # eigenvalues are exactly degenerate (the release's observable gradient is NaN here)
    n = 5
    ms = np.zeros((2, n, n), np.complex128)
    ms[0] = np.diag([0.0, 1, 1, 1, 2])
    ms[1, 0, 1] = ms[1, 1, 0] = 0.1
    ds = np.zeros((1, 1, n, n), np.complex128)
    ds[0, 0] = np.diag(np.arange(n, dtype=float)) + 0.3
    m = pmm.AffineObservablePMM(matrix_size=n, num_eig=1, which="SA", output_size=1, bias_term=False,
                                Ms=ms, Ds=ds)
    m.compile(0, (1,))
    X = np.linspace(-1, 1, 7)[:, None]
    Y = np.zeros((7, 1))
    loss, grads = m.value_and_grad(X, Y)
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads)
    _hermitian_fd_check(m, X, Y)
    e = pmm.AffineEigenvaluePMM(matrix_size=n, num_eig=3, Ms=ms)
    e.compile(0, (1,))
    loss, grads = e.value_and_grad(X, np.zeros((7, 3)))
    assert np.all(np.isfinite(grads[0]))


def test_pmm_life_cycle_and_errors():
    m = pmm.LowRankAffineEigenvaluePMM(matrix_size=4, rank=2, num_eig=2, which="la")
    assert m.which == "la"
    assert not m.is_ready() and m.get_num_trainable_floats() is None
    m.compile(0, (3,))
    assert m.get_output_shape((3,)) == (2,) and m.get_hyperparameters()["parameter_counts"] == [2, 0]
    assert m.name().startswith("LowRankAffineEigenvaluePMM as MultiModule(\n  (0): LowRankAffineHermitianMatrix(")
    assert [p.dtype for p in m.get_params()] == [np.float32, np.complex64]
    m.set_precision("c128")
    assert [p.dtype for p in m.get_params()] == [np.float64, np.complex128]
    with pytest.raises(ValueError, match="Expected 2 parameters"):
        m.set_params((m.get_params()[0],))
    with pytest.raises(ValueError, match="features"):
        m(np.ones((2, 4)))
    with pytest.raises(TypeError, match="real features"):
        m(np.ones((2, 3), complex))
    with pytest.raises(ValueError, match="Unknown loss"):
        m.value_and_grad(np.ones((2, 3)), np.ones((2, 2)), loss_fn="nope")
    with pytest.warns(UserWarning, match="smoothing"):
        pmm.AffineEigenvaluePMM(matrix_size=3, which="SM", smoothing=0.5)
    assert pmm.AffineObservablePMM(smoothing=0.5).which == "SA" and pmm.AffineObservablePMM().which == "LM"
    for bad in (10**400, float("nan"), "x"):
        for make in (lambda s: pmm.AffineHermitianMatrix(3, smoothing=s),
                     lambda s: pmm.AffineEigenvaluePMM(matrix_size=3, smoothing=s),
                     lambda s: pmm.LowRankAffineObservablePMM(matrix_size=3, primary_rank=1, num_eig=1, smoothing=s)):
            with pytest.raises((ValueError, TypeError)):
                make(bad)


ALL_MODULES = [
    lambda: pmm.AffineHermitianMatrix(matrix_size=3, smoothing=0.1),
    lambda: pmm.LowRankAffineHermitianMatrix(matrix_size=3, rank=2),
    lambda: pmm.AffineEigenvaluePMM(matrix_size=3, num_eig=2),
    lambda: pmm.LowRankAffineEigenvaluePMM(matrix_size=3, rank=2, smoothing=0.2),
    lambda: pmm.AffineObservablePMM(matrix_size=3, num_eig=1, output_size=2),
    lambda: pmm.LowRankAffineObservablePMM(matrix_size=3, primary_rank=2, num_eig=1, secondary_rank=1,
                                           output_size=2),
]


@pytest.mark.parametrize("make", ALL_MODULES)
def test_pickle_copy_and_serialize_round_trips(make):
    m = make()
    m.compile(7, (2,))
    x = np.random.default_rng(0).standard_normal((4, 2))
    out = m(x)[0]
    for other in (pickle.loads(pickle.dumps(m)), copy.copy(m), copy.deepcopy(m)):
        assert other == m and other is not m
        np.testing.assert_array_equal(other(x)[0], out)
    c = copy.copy(m)
    c.set_params(tuple(p * 2 for p in c.get_params()))
    assert c != m
    np.testing.assert_array_equal(m(x)[0], out)          # the original is independent of its copy
    del c
    np.testing.assert_array_equal(m(x)[0], out)
    fresh = type(m)()
    fresh.deserialize(m.serialize())
    assert fresh == m
    np.testing.assert_array_equal(fresh(x)[0], out)


def test_deserialize_release_dicts_and_mismatches():
    case = INDEX["files"]["pmm.npz"]["cases"][0]
    params = PMM[case["params"][0]]
    release = {  # as parametricmatrixmodels' serialize() writes it (its own version)
        "name": "AffineEigenvaluePMM as MultiModule(\n  (0): AffineHermitianMatrix(7x7, smoothing=0.0) ...\n)",
        "hyperparameters": {"matrix_size": 7, "num_eig": 3, "which": "SA", "smoothing": None,
                            "init_magnitude": 0.01, "bias_term": True, "modules": (object(), object()),
                            "parameter_counts": [1, 0], "state_counts": [0, 0], "input_shape": (3,),
                            "output_shape": (3,)},
        "params": {"p0": params}, "state": {}, "package_version": "0.0.0+source",
    }
    m = pmm.AffineEigenvaluePMM()
    m.deserialize(release)
    np.testing.assert_allclose(m(PMM["X"])[0], PMM[case["output"]], rtol=1e-10)
    with pytest.raises(ValueError, match="not of a LowRankAffineEigenvaluePMM"):
        pmm.LowRankAffineEigenvaluePMM().deserialize(release)
    bad = dict(release, hyperparameters=dict(release["hyperparameters"], bogus=1))
    with pytest.raises(ValueError, match="bogus"):
        pmm.AffineEigenvaluePMM().deserialize(bad)
    bad = dict(release, params={"p0": params[:, :3, :3]})
    with pytest.raises(ValueError, match="Ms"):
        pmm.AffineEigenvaluePMM().deserialize(bad)
    bad = dict(release, params={"p1": params})
    with pytest.raises(ValueError, match="keys"):
        pmm.AffineEigenvaluePMM().deserialize(bad)
    h = pmm.AffineHermitianMatrix()
    h.deserialize({"name": "AffineHermitianMatrix(7x7, smoothing=0.0)", "params": {"p0": params},
                   "hyperparameters": {"matrix_size": 7, "smoothing": None, "init_magnitude": 0.01,
                                       "bias_term": True, "flatten": False},
                   "state": {}, "package_version": "1.4.2"})
    np.testing.assert_array_equal(h.get_params()[0], params)


def test_set_params_while_other_threads_call():
    m = pmm.AffineEigenvaluePMM(matrix_size=6, num_eig=2)
    m.compile(0, (2,))
    x = np.random.default_rng(1).standard_normal((300, 2))
    a = m.get_params()
    b = (a[0] * 3,)
    expected = [m(x)[0]]
    m.set_params(b)
    expected.append(m(x)[0])
    errors, stop = [], threading.Event()

    def caller():
        try:
            while not stop.is_set():
                out = m(x)[0]
                if not any(np.array_equal(out, e) for e in expected):
                    errors.append("mixed parameters")
        except Exception as exc:  # noqa: BLE001 - any failure is the defect under test
            errors.append(repr(exc))

    threads = [threading.Thread(target=caller) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(200):
        m.set_params(a if i % 2 else b)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []


# ------------------------------------------------------------------ Model: training, save, load
@pytest.mark.parametrize("run", INDEX["files"]["train.npz"]["runs"], ids=lambda r: r["name"])
def test_training_matches_release(run):
    model = pmm.Model([getattr(pmm, run["module"])(**run["kwargs"])], rng=11)
    model.compile(1, tuple(run["input_shape"]))
    model.set_params(tuple(TRAIN[p] for p in run["init"]))
    X, Y = TRAIN[run["X"]], TRAIN[run["Y"]]
    seen, losses = [], []

    def callback(rng, epoch, params):
        assert epoch == len(seen)
        seen.append(params)
        losses.append(float(np.mean((model(X) - Y) ** 2)))
        return rng, params

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.train(X, Y, callback=callback, **run["train_kwargs"])
    tol = INDEX["files"]["train.npz"]["tolerances"]
    history = TRAIN[run["loss_history"]]
    assert len(seen) == run["epochs_run"]
    np.testing.assert_allclose(losses, history[1:len(losses) + 1], rtol=tol["loss_history_rel"])
    for j, name in enumerate(run["epoch_params"]):
        ref = TRAIN[name]
        for e, params in enumerate(seen):
            np.testing.assert_allclose(params[j], ref[e], atol=tol["final_params_rel"] * np.abs(ref[e]).max())
    for final, name in zip(model.get_params(), run["final"]):
        np.testing.assert_allclose(final, TRAIN[name], atol=tol["final_params_rel"] * np.abs(TRAIN[name]).max())


def test_model_from_release_file_save_and_restricted_unpickler(tmp_path):
    model = pmm.Model.from_file(DATA / "model_saved.npz")
    with pytest.raises(RuntimeError, match="compile"):
        model(TRAIN["saved_X"])
    model.compile(0, (2,))
    np.testing.assert_allclose(model(TRAIN["saved_X"]), TRAIN["saved_pred"], atol=1e-12)
    path = tmp_path / "m"
    model.save(str(path))
    with np.load(str(path) + ".npz", allow_pickle=False) as f:
        assert set(f.files) == {"module_typenames", "module_modules", "module_fulltypenames", "module_names",
                                "serialized_modules", "key_data", "package_version"}
        assert f["key_data"].dtype == np.uint32
    again = pmm.Model.from_file(str(path) + ".npz")
    again.compile(0, (2,))
    np.testing.assert_array_equal(again(TRAIN["saved_X"]), model(TRAIN["saved_X"]))
    # a pickle that would run code is refused
    evil = np.empty(1, dtype=object)
    evil[0] = _Evil()
    np.savez(tmp_path / "evil.npz", module_typenames=np.array(["AffineEigenvaluePMM"]),
             serialized_modules=evil, key_data=np.zeros(2, np.uint32))
    with pytest.raises(Exception, match="refusing"):
        pmm.Model.from_file(tmp_path / "evil.npz")


class _Evil:
    def __reduce__(self):
        import os
        return (os.system, ("echo owned",))


def test_model_structure_and_training_arguments(capsys):
    X = np.linspace(-1, 1, 30)[:, None]
    Y = np.hstack([X ** 2, X])
    model = pmm.Model(pmm.AffineEigenvaluePMM(matrix_size=3, num_eig=2), rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.train(X, Y, lr=lambda i: 0.05 / (1 + i), batch_size=64, num_epochs=3, verbose=False,
                    initialization_seed=2, batch_seed=1)
    assert "larger than the number of samples" in capsys.readouterr().out
    assert model.is_ready() and model.get_output_shape((1,)) == (2,)
    with pytest.raises(ValueError, match="sample shape"):
        model.train(np.ones((5, 2)), np.ones((5, 2)), verbose=False)
    with pytest.raises(ValueError, match="X_val"):
        model.train(X, Y, X_val=X, verbose=False)
    assert len(model) == 1 and isinstance(model[0], pmm.AffineEigenvaluePMM)
    loss, grads = model.value_and_grad(X, Y)
    assert len(grads) == 1 and np.isfinite(loss)
    model.set_precision(64)
    assert model.get_params()[0].dtype == np.complex128


def test_eigh_split_tridiagonal_and_exact_pivots():
    # diagonal and nearly diagonal matrices: the tridiagonal form splits and bisection points
    # land exactly on diagonal entries (a zero pivot is counted as negative)
    c = 0.1
    a = np.zeros((4, 5, 5), np.complex128)
    for b, x in enumerate((-1.0, 0.0, 0.5, 2.0)):
        a[b] = np.diag([0.0, 1, 1, 1, 2])
        a[b, 0, 1] = a[b, 1, 0] = c * x
    w, v = pmm.eigh(a, 5)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a), atol=1e-14)
    np.testing.assert_allclose(a @ v, v * w[:, None, :], atol=1e-14)
    np.testing.assert_allclose(v.conj().transpose(0, 2, 1) @ v, np.broadcast_to(np.eye(5), (4, 5, 5)), atol=1e-14)


def test_training_progress_output(capsys):
    X = np.linspace(-1, 1, 20)[:, None]
    model = pmm.Model([pmm.AffineEigenvaluePMM(matrix_size=2)], rng=0)
    model.train(X, -np.abs(X), lr=0.01, batch_size=20, num_epochs=2, initialization_seed=0, batch_seed=0)
    captured = capsys.readouterr()
    assert "2/2" in captured.out + captured.err      # tqdm (stderr) or the plain line (stdout)


def test_docstring_examples():
    import doctest
    from mfkit.pmm import _eigen, _matrices, _model, _models, _observables
    for module in (pmm, _eigen, _matrices, _models, _observables, _model):
        failures, _ = doctest.testmod(module, verbose=False, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert failures == 0, module.__name__

"""mfkit.pmm against a direct NumPy evaluation of the affine Hermitian matrix formula
(einsum over the full matrices, the commutator double sum written out), plus the module life
cycle and every error path."""
import numpy as np
import pytest

import mfkit
from mfkit.pmm import AffineHermitianMatrix, LowRankAffineHermitianMatrix

REAL = {np.complex64: np.float32, np.complex128: np.float64}
TOL = {np.complex64: 2e-5, np.complex128: 1e-12}


def oracle(ms, x, smoothing, bias_term):
    """M(x) = M_0 + sum_i x_i M_i + s * 1j * sum_{i>j} [M_i, M_j], in complex128."""
    ms = ms.astype(np.complex128)
    x = x.astype(np.float64)
    if bias_term:
        out = ms[0][None] + np.einsum("ni,ijk->njk", x, ms[1:])
    else:
        out = np.einsum("ni,ijk->njk", x, ms)
    c = np.zeros_like(ms[0])
    for i in range(len(ms)):
        for j in range(i):
            c += ms[i] @ ms[j] - ms[j] @ ms[i]
    return out + smoothing * 1j * c[None]


def low_rank_ms(lambdas, us):
    return np.einsum("ir,irk,irl->ikl", lambdas.astype(np.float64), us.astype(np.complex128),
                     us.astype(np.complex128).conj())


def random_low_rank(rng, q, r, n, dtype):
    lambdas = rng.standard_normal((q, r)).astype(REAL[dtype])
    us = (rng.standard_normal((q, r, n)) + 1j * rng.standard_normal((q, r, n))).astype(dtype)
    return lambdas, us


def random_hermitian(rng, q, n, dtype):
    a = rng.standard_normal((q, n, n)) + 1j * rng.standard_normal((q, n, n))
    return ((a + a.conj().transpose(0, 2, 1)) / 2).astype(dtype)


def close(out, ref, dtype):
    scale = max(1.0, np.abs(ref).max())
    assert np.abs(out.astype(np.complex128) - ref).max() <= TOL[dtype] * scale


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("bias_term", [True, False])
@pytest.mark.parametrize("smoothing", [None, 0.0, 0.37])
@pytest.mark.parametrize("flatten", [False, True])
def test_low_rank_matches_formula(rng, dtype, bias_term, smoothing, flatten):
    for n, r, p, N in [(4, 2, 3, 9), (16, 3, 5, 33), (7, 7, 2, 6), (1, 1, 1, 3)]:
        q = p + (1 if bias_term else 0)
        lambdas, us = random_low_rank(rng, q, r, n, dtype)
        m = LowRankAffineHermitianMatrix(n, r, smoothing, lambdas, us, bias_term=bias_term, flatten=flatten)
        x = rng.standard_normal((N, p)).astype(REAL[dtype])
        out, state = m(x)
        assert state == ()
        assert out.dtype == dtype
        assert out.shape == ((N, n * n) if flatten else (N, n, n))
        full = out.reshape(N, n, n)
        close(full, oracle(low_rank_ms(lambdas, us), x, smoothing or 0.0, bias_term), dtype)
        # Hermitian exactly (to the last bit), real diagonal
        assert np.array_equal(full, full.conj().transpose(0, 2, 1))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("bias_term", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 1.5])
@pytest.mark.parametrize("flatten", [False, True])
def test_full_rank_matches_formula(rng, dtype, bias_term, smoothing, flatten):
    for n, p, N in [(5, 3, 11), (8, 2, 4), (12, 4, 17)]:
        q = p + (1 if bias_term else 0)
        ms = random_hermitian(rng, q, n, dtype)
        m = AffineHermitianMatrix(n, smoothing, ms, bias_term=bias_term, flatten=flatten)
        x = rng.standard_normal((N, p))
        out, _ = m(x)
        full = out.reshape(N, n, n)
        close(full, oracle(ms, x, smoothing, bias_term), dtype)
        assert np.array_equal(full, full.conj().transpose(0, 2, 1))


def test_full_rank_reads_upper_triangle(rng):
    # Hermitian only to the tolerance of np.allclose: the upper triangle defines the matrices.
    ms = random_hermitian(rng, 3, 6, np.complex128)
    noisy = ms.copy()
    lower = np.tril_indices(6, -1)
    noisy[:, lower[0], lower[1]] += 1e-10
    noisy[:, range(6), range(6)] += 1e-10j
    x = rng.standard_normal((4, 2))
    a, _ = AffineHermitianMatrix(6, 0.5, noisy)(x)
    b, _ = AffineHermitianMatrix(6, 0.5, ms)(x)
    assert np.array_equal(a, b)


def test_float32_features_with_complex128_params_and_strided_views(rng):
    lambdas, us = random_low_rank(rng, 4, 2, 6, np.complex128)
    m = LowRankAffineHermitianMatrix(6, 2, 0.2, lambdas, us)
    big = rng.standard_normal((20, 7)).astype(np.float32)
    x = big[::2, 1:7:2]  # strided, non-contiguous view, not copied
    ref = oracle(low_rank_ms(lambdas, us), x, 0.2, True)
    out, _ = m(x)
    close(out, ref, np.complex128)
    # a strided preallocated output (transposed matrices, every other sample)
    buf = np.zeros((20, 6, 6), np.complex128)
    view = buf[::2].transpose(0, 2, 1)
    res, _ = m(x, out=view)
    assert res is view
    close(view, ref, np.complex128)
    assert np.all(buf[1::2] == 0)
    # a reversed (negative-stride) feature view
    out2, _ = m(x[::-1])
    close(out2, ref[::-1], np.complex128)


def test_out_in_place_and_flat_out(rng):
    lambdas, us = random_low_rank(rng, 3, 2, 4, np.complex64)
    m = LowRankAffineHermitianMatrix(4, 2, 0.1, lambdas, us)
    x = rng.standard_normal((5, 2)).astype(np.float32)
    expected, _ = m(x)
    out = np.full((5, 4, 4), 7 + 7j, np.complex64)
    res, state = m(x, out=out)
    assert res is out and state == ()
    assert np.array_equal(out, expected)
    flat = np.empty((5, 16), np.complex64)
    m(x, out=flat)
    assert np.array_equal(flat.reshape(5, 4, 4), expected)


def test_zero_samples_and_bias_only(rng):
    lambdas, us = random_low_rank(rng, 1, 2, 3, np.complex128)
    m = LowRankAffineHermitianMatrix(3, 2, 0.4, lambdas, us)
    out, _ = m(np.zeros((4, 0)))
    ms = low_rank_ms(lambdas, us)
    assert np.allclose(out, np.broadcast_to(ms[0], (4, 3, 3)))
    empty, _ = m(np.zeros((0, 0)))
    assert empty.shape == (0, 3, 3)


def test_compile_random_init_and_shape_check(rng):
    m = LowRankAffineHermitianMatrix(matrix_size=5, rank=2, smoothing=0.3)
    assert not m.is_ready() and m.get_num_trainable_floats() is None
    assert repr(m).endswith("(uninitialized)")
    m.compile(123, (3,))
    lambdas, us = m.get_params()
    assert lambdas.shape == (4, 2) and lambdas.dtype == np.float32
    assert us.shape == (4, 2, 5) and us.dtype == np.complex64
    assert 0 < np.abs(us).mean() < 0.1 and 0 < np.abs(lambdas).mean() < 0.1  # magnitude 1e-2
    assert m.get_num_trainable_floats() == 4 * 2 + 2 * 4 * 2 * 5
    # same seed, same parameters; a Generator works too
    m2 = LowRankAffineHermitianMatrix(5, 2, 0.3)
    m2.compile(123, (3,))
    assert np.array_equal(m2.get_params()[1], us)
    m3 = LowRankAffineHermitianMatrix(5, 2, 0.3, init_magnitude=1.0)
    m3.compile(np.random.default_rng(5), (3,))
    assert np.abs(m3.get_params()[1]).mean() > 0.5
    # compiling again checks the shape only
    m.compile(0, (3,))
    assert np.array_equal(m.get_params()[1], us)
    with pytest.raises(ValueError, match="does not match the expected number of features 3"):
        m.compile(0, (4,))
    with pytest.raises(ValueError, match="Input shape must be 1D"):
        m.compile(0, (3, 1))
    with pytest.raises(TypeError, match="rng must be an integer seed or a numpy.random.Generator"):
        LowRankAffineHermitianMatrix(5, 2).compile("seed", (3,))
    with pytest.raises(ValueError, match="matrix_size and rank must be set"):
        LowRankAffineHermitianMatrix().compile(0, (3,))
    x = rng.standard_normal((6, 3))
    out, _ = m(x)
    close(out, oracle(low_rank_ms(lambdas, us), x, 0.3, True), np.complex64)

    a = AffineHermitianMatrix(4, bias_term=False)
    a.compile(np.random.default_rng(1), (2,))
    (ms,) = a.get_params()
    assert ms.shape == (2, 4, 4) and ms.dtype == np.complex64
    assert np.array_equal(ms, ms.conj().transpose(0, 2, 1))
    assert a.get_num_trainable_floats() == ms.size
    with pytest.raises(ValueError, match="needs at least one feature"):
        AffineHermitianMatrix(4, bias_term=False).compile(0, (0,))


def test_output_shape_name_and_hyperparameters():
    m = LowRankAffineHermitianMatrix(6, 2, 0.5, flatten=True, bias_term=False)
    assert m.get_output_shape((3,)) == (36,)
    assert LowRankAffineHermitianMatrix(6, 2).get_output_shape((3,)) == (6, 6)
    assert m.name() == "LowRankAffineHermitianMatrix(6x6, rank=2, smoothing=0.5, no bias, FLATTENED)"
    assert LowRankAffineHermitianMatrix(6, 2).name() == "LowRankAffineHermitianMatrix(6x6, rank=2, smoothing=0.0,)"
    assert AffineHermitianMatrix(3, 0.25, flatten=True).name() == "AffineHermitianMatrix(3x3, smoothing=0.25, FLATTENED)"
    assert AffineHermitianMatrix(3, bias_term=False).name() == "AffineHermitianMatrix(3x3, smoothing=0.0, no bias)"
    assert m.get_hyperparameters() == {"matrix_size": 6, "rank": 2, "smoothing": 0.5, "init_magnitude": 1e-2,
                                       "flatten": True, "bias_term": False}
    assert AffineHermitianMatrix(3).get_hyperparameters() == {
        "matrix_size": 3, "smoothing": 0.0, "init_magnitude": 1e-2, "flatten": False, "bias_term": True}
    m.set_hyperparameters({"matrix_size": 8, "smoothing": 0.0})
    assert m.matrix_size == 8 and m.smoothing == 0.0 and m.rank == 2
    m.compile(0, (2,))
    assert "trainable floats" in repr(m)
    with pytest.raises(ValueError, match="Cannot set hyperparameters after the module has parameters"):
        m.set_hyperparameters({"smoothing": 1.0})
    with pytest.raises(TypeError, match="Hyperparameters must be provided as a dictionary"):
        LowRankAffineHermitianMatrix().set_hyperparameters([("rank", 2)])
    with pytest.raises(ValueError, match="Unknown hyperparameters"):
        LowRankAffineHermitianMatrix().set_hyperparameters({"Ms": 2})
    with pytest.raises(ValueError, match="rank must be a positive integer"):
        LowRankAffineHermitianMatrix().set_hyperparameters({"rank": -1})


def test_get_set_params(rng):
    lambdas, us = random_low_rank(rng, 3, 2, 4, np.complex64)
    m = LowRankAffineHermitianMatrix(4, 2, 0.0, lambdas, us)
    got = m.get_params()
    assert isinstance(got, tuple) and len(got) == 2
    assert np.array_equal(got[0], lambdas) and np.array_equal(got[1], us)
    assert not got[1].flags.writeable  # the module's own copy; change it with set_params
    lambdas[0, 0] = 99  # the caller's array is not the module's
    assert got[0][0, 0] != 99
    x = rng.standard_normal((3, 2)).astype(np.float32)
    before, _ = m(x)
    l2, u2 = random_low_rank(rng, 3, 2, 4, np.complex128)
    m.set_params((l2.astype(np.float64), u2))
    after, _ = m(x)
    assert after.dtype == np.complex128
    close(after, oracle(low_rank_ms(l2, u2), x, 0.0, True), np.complex128)
    assert not np.allclose(before, after)

    with pytest.raises(ValueError, match="params must be a tuple of numpy arrays"):
        m.set_params([l2, u2])
    with pytest.raises(ValueError, match="Expected 2 parameter arrays, got 1"):
        m.set_params((l2,))
    with pytest.raises(ValueError, match=r"us must be a 3D array of shape \(input_size\+1, rank, matrix_size\)"):
        m.set_params((l2, u2[:2]))
    with pytest.raises(ValueError, match=r"lambdas must be a 2D array of shape \(input_size\+1, rank\)"):
        m.set_params((l2[:, :1], u2))
    with pytest.raises(TypeError, match="us must be complex64 or complex128"):
        m.set_params((l2, u2.real.copy()))
    with pytest.raises(TypeError, match="lambdas must be float32 or float64"):
        m.set_params((l2.astype(np.complex64), u2))
    bad = u2.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="us must be finite"):
        m.set_params((l2, bad))

    ms = random_hermitian(rng, 2, 3, np.complex64)
    a = AffineHermitianMatrix(3, Ms=ms)
    assert np.array_equal(a.get_params()[0], ms)
    with pytest.raises(ValueError, match="Ms must be Hermitian matrices"):
        a.set_params((ms + np.triu(np.ones((3, 3)), 1),))
    with pytest.raises(ValueError, match=r"Ms must be a 3D array of shape \(input_size\+1, matrix_size, matrix_size\)"):
        a.set_params((random_hermitian(rng, 3, 3, np.complex64),))
    with pytest.raises(ValueError, match="Expected 1 parameter arrays, got 2"):
        a.set_params((ms, ms))


def test_constructor_validation(rng):
    with pytest.raises(ValueError, match="matrix_size must be a positive integer"):
        LowRankAffineHermitianMatrix(0, 1)
    with pytest.raises(ValueError, match="matrix_size must be a positive integer"):
        AffineHermitianMatrix(2.5)
    with pytest.raises(ValueError, match="rank must be a positive integer"):
        LowRankAffineHermitianMatrix(4, 0)
    with pytest.raises(ValueError, match="rank cannot be larger than matrix_size"):
        LowRankAffineHermitianMatrix(4, 5)
    with pytest.raises(ValueError, match="smoothing must be a finite number"):
        LowRankAffineHermitianMatrix(4, 2, float("nan"))
    with pytest.raises(ValueError, match="smoothing must be a real number"):
        AffineHermitianMatrix(4, "0.1")
    with pytest.raises(ValueError, match="init_magnitude must be a positive finite number"):
        LowRankAffineHermitianMatrix(4, 2, init_magnitude=0.0)
    with pytest.raises(ValueError, match="bias_term must be a boolean"):
        LowRankAffineHermitianMatrix(4, 2, bias_term=1)
    lambdas, us = random_low_rank(rng, 3, 2, 4, np.complex64)
    with pytest.raises(ValueError, match="lambdas and us must be given together"):
        LowRankAffineHermitianMatrix(4, 2, us=us)
    with pytest.raises(ValueError, match="us must be a numpy array"):
        LowRankAffineHermitianMatrix(4, 2, lambdas=lambdas, us=us.tolist())
    with pytest.raises(ValueError, match=r"us must be a 3D array of shape .*\[\(3, 3, 4\)\], got \(3, 2, 4\)"):
        LowRankAffineHermitianMatrix(4, 3, lambdas=lambdas, us=us)
    with pytest.raises(ValueError, match=r"lambdas must be a 2D array"):
        LowRankAffineHermitianMatrix(4, 2, lambdas=lambdas[:2], us=us)
    # sizes read from the arrays
    m = LowRankAffineHermitianMatrix(lambdas=lambdas, us=us)
    assert (m.matrix_size, m.rank, m.is_ready()) == (4, 2, True)
    with pytest.raises(ValueError, match="Ms must be a numpy array"):
        AffineHermitianMatrix(Ms=[[1]])
    with pytest.raises(ValueError, match="Ms must be Hermitian matrices"):
        AffineHermitianMatrix(Ms=np.ones((2, 3, 3)) * 1j)


def test_call_errors(rng):
    with pytest.raises(ValueError, match=r"Module is not ready, call compile\(\) first"):
        LowRankAffineHermitianMatrix(4, 2)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Module is not ready, call compile\(\) first"):
        AffineHermitianMatrix(4)(np.zeros((2, 3)))
    m = LowRankAffineHermitianMatrix(4, 2, 0.1)
    m.compile(0, (3,))
    with pytest.raises(ValueError, match="input_NF has 2 features per sample, but the module takes 3"):
        m(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="input_NF must be 2-dimensional"):
        m(np.zeros(3))
    ints = np.arange(15).reshape(5, 3)   # integer features are read as float64, as jax would
    np.testing.assert_array_equal(m(ints)[0], m(ints.astype(np.float64))[0])
    with pytest.raises(TypeError, match="input_NF must be real"):
        m(np.zeros((5, 3), np.complex64))
    with pytest.raises(TypeError, match="input_NF must be a NumPy array"):
        m([[0.0, 0.0, 0.0]])
    x = rng.standard_normal((5, 3))
    with pytest.raises(ValueError, match=r"out must have shape \(5, 4, 4\) or \(5, 16\)"):
        m(x, out=np.zeros((5, 4, 3), np.complex64))
    with pytest.raises(TypeError, match="out must be complex64"):
        m(x, out=np.zeros((5, 4, 4), np.complex128))
    with pytest.raises(TypeError, match="out must be complex64 .*got float64"):
        m(x, out=np.zeros((5, 4, 4), np.float64))
    with pytest.raises(TypeError, match="has dtype int32"):
        m(x, out=np.zeros((5, 4, 4), np.int32))
    ro = np.zeros((5, 4, 4), np.complex64)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        m(x, out=ro)
    # an output that overlaps the input is refused and nothing is written
    buf = np.zeros(5 * 16 + 16, np.complex64)
    xs = buf.view(np.float32)[:15].reshape(5, 3)
    before = buf.copy()
    with pytest.raises(ValueError, match="out overlaps input_NF"):
        m(xs, out=buf[:80].reshape(5, 4, 4))
    assert np.array_equal(buf, before)
    # a failed call leaves a preallocated output untouched
    out = np.full((5, 4, 4), 3 + 1j, np.complex64)
    with pytest.raises(ValueError):
        m(np.zeros((6, 3)), out=out)
    assert np.all(out == 3 + 1j)


def test_state_rng_training_passthrough(rng):
    m = LowRankAffineHermitianMatrix(3, 1)
    m.compile(0, (2,))
    x = rng.standard_normal((2, 2))
    a, s = m(x, training=True, state=(), rng=7)
    b, _ = m(x)
    assert s == () and np.array_equal(a, b)
    assert m.get_state() == ()
    m.set_state(())
    with pytest.raises(ValueError, match="keeps no state"):
        m.set_state((np.zeros(2),))


@pytest.mark.parametrize("cls", ["low", "full"])
def test_serialize_round_trip(rng, cls):
    if cls == "low":
        lambdas, us = random_low_rank(rng, 4, 2, 5, np.complex128)
        m = LowRankAffineHermitianMatrix(5, 2, 0.7, lambdas, us, init_magnitude=0.5, bias_term=True, flatten=True)
        fresh = LowRankAffineHermitianMatrix
    else:
        m = AffineHermitianMatrix(5, 0.7, random_hermitian(rng, 3, 5, np.complex64), bias_term=False)
        fresh = AffineHermitianMatrix
    data = m.serialize()
    assert set(data) == {"name", "hyperparameters", "params", "state", "package_version"}
    assert data["name"] == m.name()
    assert data["package_version"] == mfkit.__version__
    assert data["state"] == {}
    assert sorted(data["params"]) == [f"p{i}" for i in range(len(m.get_params()))]
    for i, p in enumerate(m.get_params()):
        assert isinstance(data["params"][f"p{i}"], np.ndarray)
        assert data["params"][f"p{i}"].dtype == p.dtype
    clone = fresh()
    clone.deserialize(data)
    assert clone.name() == m.name()
    assert clone.get_hyperparameters() == m.get_hyperparameters()
    for a, b in zip(clone.get_params(), m.get_params()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    x = rng.standard_normal((7, 3))
    assert np.array_equal(clone(x)[0], m(x)[0])
    assert clone.serialize()["hyperparameters"] == data["hyperparameters"]
    # an unready module round-trips too
    empty = fresh()
    empty.deserialize(fresh(matrix_size=3).serialize())
    assert empty.matrix_size == 3 and not empty.is_ready()


def test_deserialize_refusals(rng):
    m = LowRankAffineHermitianMatrix(4, 2, 0.1)
    m.compile(0, (2,))
    data = m.serialize()
    with pytest.raises(ValueError, match="not of a AffineHermitianMatrix"):
        AffineHermitianMatrix().deserialize(data)
    other = AffineHermitianMatrix(3)
    other.compile(0, (2,))
    with pytest.raises(ValueError, match="not of a LowRankAffineHermitianMatrix"):
        LowRankAffineHermitianMatrix().deserialize(other.serialize())
    # versions are not compared (a parametricmatrixmodels dict carries that package's version)
    for version in ("0.0.3", "0.0.0+source"):
        loaded = LowRankAffineHermitianMatrix()
        loaded.deserialize(dict(data, package_version=version))
        assert loaded == m
    with pytest.raises(ValueError, match="version string"):
        LowRankAffineHermitianMatrix().deserialize(dict(data, package_version=3))
    with pytest.raises(ValueError, match="lacks the keys"):
        LowRankAffineHermitianMatrix().deserialize({"name": data["name"]})
    with pytest.raises(TypeError, match="must be a dict"):
        LowRankAffineHermitianMatrix().deserialize([data])
    with pytest.raises(ValueError, match="Cannot set hyperparameters after the module has parameters"):
        m.deserialize(data)
    with pytest.raises(ValueError, match="must have the keys"):
        LowRankAffineHermitianMatrix().deserialize(dict(data, params={"p0": data["params"]["p0"],
                                                                      "p2": data["params"]["p1"]}))


@pytest.mark.parametrize("alias32, alias64", [
    (np.complex64, np.complex128), ("complex64", "complex128"), ("single", "double"),
    ("f32", "f64"), ("c64", "c128"), (32, 64), (np.float32, np.float64), ("float32", "float64")])
def test_set_precision_aliases(rng, alias32, alias64):
    lambdas, us = random_low_rank(rng, 3, 2, 4, np.complex64)
    m = LowRankAffineHermitianMatrix(4, 2, 0.3, lambdas, us)
    x = rng.standard_normal((5, 2))
    m.set_precision(alias64)
    l64, u64 = m.get_params()
    assert l64.dtype == np.float64 and u64.dtype == np.complex128
    out64, _ = m(x)
    assert out64.dtype == np.complex128
    close(out64, oracle(low_rank_ms(lambdas, us), x, 0.3, True), np.complex128)
    assert m.astype(alias32) is m
    assert m.get_params()[1].dtype == np.complex64 and m.get_params()[0].dtype == np.float32
    assert m(x)[0].dtype == np.complex64
    a = AffineHermitianMatrix(3)
    a.compile(0, (1,))
    assert a.astype(alias64).get_params()[0].dtype == np.complex128


def test_set_precision_errors():
    with pytest.raises(RuntimeError, match=r"Module is not ready. Call compile\(\) first."):
        LowRankAffineHermitianMatrix(3, 1).set_precision(64)
    m = LowRankAffineHermitianMatrix(3, 1)
    m.compile(0, (1,))
    for bad in (16, "half", np.float16, "Complex64", True, None):
        with pytest.raises(ValueError, match="Invalid precision"):
            m.set_precision(bad)


def test_too_large_model_is_refused_cleanly():
    n = 1 << 15  # n^2 = 2^30 entries per matrix: refused before anything is allocated
    m = LowRankAffineHermitianMatrix(n, 1, 0.0, np.ones((1, 1), np.float32), np.ones((1, 1, n), np.complex64))
    with pytest.raises(MemoryError, match="too large"):
        m(np.zeros((0, 0)))


def test_concurrent_calls_share_one_prepared_model(rng):
    import threading
    lambdas, us = random_low_rank(rng, 4, 2, 8, np.complex64)
    m = LowRankAffineHermitianMatrix(8, 2, 0.2, lambdas, us)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(m(x)[0])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 80 and all(np.array_equal(r, results[0]) for r in results)


def test_deserialize_state_with_foreign_keys_is_a_value_error():
    # A 'state' dict whose keys are not s0, s1, ... used to raise KeyError.
    m = AffineHermitianMatrix(3)
    m.compile(0, (2,))
    data = m.serialize()
    for state in ({"s5": np.zeros(1)}, {"x": 1, "s0": 2}):
        with pytest.raises(ValueError, match="'state' must have the keys"):
            AffineHermitianMatrix().deserialize(dict(data, state=state))
    with pytest.raises(ValueError, match="keeps no state"):
        AffineHermitianMatrix().deserialize(dict(data, state={"s0": np.zeros(1)}))
    restored = AffineHermitianMatrix()
    restored.deserialize(dict(data, state={}))
    x = np.random.default_rng(1).standard_normal((4, 2))
    np.testing.assert_array_equal(restored(x)[0], m(x)[0])


def test_compile_refuses_too_large_sizes_before_drawing():
    # compile() used to draw the q n^2 (or q r n) random parameters in NumPy first: a
    # "Unable to allocate 144 GiB" from NumPy rather than the library's limit.
    for m, shape in ((AffineHermitianMatrix(3), (2**31,)), (AffineHermitianMatrix(2**20), (2,)),
                     (LowRankAffineHermitianMatrix(2**31, 2), (2,)), (LowRankAffineHermitianMatrix(3, 2), (2**31,))):
        with pytest.raises(MemoryError, match="too large for MFKit's PMM kernels"):
            m.compile(0, shape)
        assert not m.is_ready()
    m = AffineHermitianMatrix(4)
    m.compile(0, (3,))
    assert m.get_params()[0].shape == (4, 4, 4)


def test_self_overlapping_output_is_refused_untouched():
    from numpy.lib.stride_tricks import as_strided
    m = AffineHermitianMatrix(2, smoothing=1.0)
    m.compile(0, (1,))
    ref = m(np.ones((3, 1)))[0]
    base = np.full(16, 7.0, dtype=ref.dtype)
    out = as_strided(base, ref.shape, (0,) * ref.ndim, writeable=True)
    with pytest.raises(ValueError, match="overlaps itself"):
        m(np.ones((3, 1)), out=out)
    np.testing.assert_array_equal(base, 7.0)

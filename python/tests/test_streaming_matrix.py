"""mfkit.streaming_matrix against jax_privacy's reference outputs and dense NumPy oracles."""
import gc

import numpy as np
import pytest

import mfkit
from mfkit import streaming_matrix as sm

from conftest import load_reference


def rel_err(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


# ---------------------------------------------------------------- dense oracles
def clip(values, n):
    values = np.asarray(values, dtype=np.float64)
    return values[np.minimum(np.arange(n), len(values) - 1)]


def dense_momentum(n, momentum, lr=None):
    lr = clip(np.ones(1) if lr is None else lr, n)
    M = np.zeros((n, n))
    for t in range(n):
        for j in range(t + 1):
            # y_t = sum_{s<=t} lr_s m_s, m_s = sum_{j<=s} momentum^{s-j} x_j
            M[t, j] = sum(lr[s] * momentum ** (s - j) for s in range(j, t + 1))
    return M


# ---------------------------------------------------------------- parity with jax_privacy
@pytest.fixture(scope="module")
def ref():
    return load_reference("streaming")


def test_reference_matrices(ref):
    n = int(ref["n"])
    P = sm.prefix_sum()
    M = sm.momentum_sgd_matrix(float(ref["momentum"]), ref["learning_rates"])
    D = sm.diagonal(ref["diag"])
    product = P @ M @ D
    cases = {
        "prefix_sum": P,
        "momentum_mat": M,
        "diagonal": D,
        "product": product,
        "scaled": sm.scale_rows_and_columns(M, ref["row_scale"], ref["col_scale"]),
        "scalar": P * 2.5,
    }
    for key, A in cases.items():
        assert rel_err(A.materialize(n), ref[key]) < 1e-12, key
    assert rel_err(product.row_norms_squared(n), ref["product_rownorms"]) < 1e-12
    assert rel_err(M.row_norms_squared(n), ref["momentum_rownorms"]) < 1e-12
    assert rel_err(product @ ref["x"], ref["product_x"]) < 1e-12
    assert rel_err(sm.multiply_array(product, ref["x"]), ref["product_x"]) < 1e-12


def test_member_scale_rows_and_columns_matches_function(ref):
    n = int(ref["n"])
    M = sm.momentum_sgd_matrix(float(ref["momentum"]), ref["learning_rates"])
    A = M.scale_rows_and_columns(row_scale=ref["row_scale"], col_scale=ref["col_scale"])
    assert rel_err(A.materialize(n), ref["scaled"]) < 1e-12
    # Only one side scaled.
    R = M.scale_rows_and_columns(row_scale=ref["row_scale"]).materialize(n)
    np.testing.assert_allclose(R, np.diag(clip(ref["row_scale"], n)) @ M.materialize(n), rtol=1e-13)
    C = M.scale_rows_and_columns(col_scale=ref["col_scale"]).materialize(n)
    np.testing.assert_allclose(C, M.materialize(n) @ np.diag(clip(ref["col_scale"], n)), rtol=1e-13)


# ---------------------------------------------------------------- dense oracles
@pytest.mark.parametrize("n", [1, 2, 7, 300])
def test_constructors_against_dense(n):
    np.testing.assert_array_equal(sm.identity().materialize(n), np.eye(n))
    np.testing.assert_array_equal(sm.prefix_sum().materialize(n), np.tri(n))
    d = np.linspace(-2, 3, 5)
    np.testing.assert_array_equal(sm.diagonal(d).materialize(n), np.diag(clip(d, n)))
    lr = np.linspace(1.0, 0.1, 4)
    np.testing.assert_allclose(sm.momentum_sgd_matrix(0.9, lr).materialize(n), dense_momentum(n, 0.9, lr),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sm.momentum_sgd_matrix().materialize(n), np.tri(n))


def test_default_momentum_is_prefix_sum():
    np.testing.assert_array_equal(sm.momentum_sgd_matrix().materialize(9), np.tri(9))
    np.testing.assert_allclose(sm.momentum_sgd_matrix(0.5).materialize(4), dense_momentum(4, 0.5))


def test_products_and_scalars_against_dense(rng):
    n = 40
    P, M = sm.prefix_sum(), sm.momentum_sgd_matrix(0.8, rng.uniform(0.1, 1, 10))
    D = sm.diagonal(rng.normal(size=7))
    Pd, Md, Dd = P.materialize(n), M.materialize(n), D.materialize(n)
    np.testing.assert_allclose((P @ M @ D).materialize(n), Pd @ Md @ Dd, rtol=1e-12)
    np.testing.assert_allclose((D @ P @ M).materialize(n), Dd @ Pd @ Md, rtol=1e-12)
    np.testing.assert_allclose((3.0 * (P @ M)).materialize(n), 3 * Pd @ Md, rtol=1e-12)
    np.testing.assert_allclose(((P @ M) * -0.5).materialize(n), -0.5 * Pd @ Md, rtol=1e-12)
    np.testing.assert_allclose(sm.multiply_streaming_matrices(M, P).materialize(n), Md @ Pd, rtol=1e-12)
    np.testing.assert_array_equal((sm.identity() @ P).materialize(n), Pd)


def test_row_norms_squared_against_dense(rng):
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9, rng.uniform(0.5, 1, 100)) @ sm.diagonal(rng.normal(size=30))
    for n in (1, 5, 257, 3000):
        dense = A.materialize(n)
        np.testing.assert_allclose(A.row_norms_squared(n), np.sum(dense**2, axis=1), rtol=1e-12)
    r32 = A.row_norms_squared(50, dtype=np.float32)
    assert r32.dtype == np.float32
    np.testing.assert_allclose(r32, A.row_norms_squared(50), rtol=1e-6)


def test_materialize_float32_and_strided_out():
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)
    full = A.materialize(30)
    m32 = A.materialize(30, dtype=np.float32)
    assert m32.dtype == np.float32
    np.testing.assert_allclose(m32, full, rtol=1e-5)
    big = np.full((60, 90), 7.0)
    view = big[::2, ::-3]
    A.materialize(30, out=view)
    np.testing.assert_array_equal(view, full)
    fortran = np.asfortranarray(np.zeros((30, 30)))
    A.materialize(30, out=fortran)
    np.testing.assert_array_equal(fortran, full)


# ---------------------------------------------------------------- multiply_array
MATRICES = {
    "identity": lambda: sm.identity(),
    "prefix": lambda: sm.prefix_sum(),
    "momentum": lambda: sm.momentum_sgd_matrix(0.9, np.linspace(1, 0.1, 6)),
    "product": lambda: sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9) @ sm.diagonal([1.0, 2.0, 0.5]),
    "scaled": lambda: sm.scale_rows_and_columns(sm.prefix_sum(), [1.0, -2.0], [0.5, 3.0, 1.5]) * 1.5,
}


@pytest.mark.parametrize("name", list(MATRICES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(9,), (9, 5), (9, 3, 4), (1, 7), (12, 5000)])
def test_multiply_array_against_dense(name, dtype, shape, rng):
    A = MATRICES[name]()
    x = rng.normal(size=shape).astype(dtype)
    n = shape[0]
    expected = np.tensordot(A.materialize(n), x.astype(np.float64), axes=1)
    y = A @ x
    assert y.dtype == dtype and y.shape == x.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, expected, rtol=tol, atol=tol * np.abs(expected).max())
    # In place: out is x.
    x_copy = x.copy()
    out = sm.multiply_array(A, x_copy, out=x_copy)
    assert out is x_copy
    np.testing.assert_array_equal(x_copy, y)


def test_multiply_array_strided_views(rng):
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)
    base = rng.normal(size=(20, 6, 8))
    expected_of = lambda v: np.tensordot(A.materialize(v.shape[0]), v, axes=1)
    for view in (base[::2], base[:, ::-1, 1::3], base[::-1, :, ::2], np.asfortranarray(base), base.transpose(0, 2, 1)):
        before = base.copy()
        y = A @ view
        np.testing.assert_allclose(y, expected_of(view), rtol=1e-12)
        np.testing.assert_array_equal(base, before)  # the input is never written
    # Strided output, and in place on a strided view.
    out = np.zeros((10, 12, 8))[:, ::2]
    sm.multiply_array(A, base[::2], out=out)
    np.testing.assert_allclose(out, expected_of(base[::2]), rtol=1e-12)
    work = base.copy()
    view = work[::-1, ::2]
    expected = expected_of(view.copy())
    sm.multiply_array(A, view, out=view)
    np.testing.assert_allclose(view, expected, rtol=1e-12)


def test_multiply_array_large_parallel_matches_numpy(rng):
    x = rng.normal(size=(64, 70001)).astype(np.float32)
    y = sm.prefix_sum() @ x
    np.testing.assert_allclose(y, np.cumsum(x.astype(np.float64), axis=0), rtol=1e-4, atol=1e-4)


def test_empty_arrays():
    A = sm.prefix_sum()
    assert (A @ np.zeros((0, 3))).shape == (0, 3)
    assert (A @ np.zeros((4, 0))).shape == (4, 0)


# ---------------------------------------------------------------- streams
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stream_matches_multiply_array(dtype, rng):
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9, [1.0, 0.5]) @ sm.diagonal([2.0, 1.0])
    x = rng.normal(size=(8, 3, 5)).astype(dtype)
    expected = A @ x
    s = A.stream((3, 5), dtype)
    assert s.step == 0
    for t in range(8):
        np.testing.assert_array_equal(s.next(x[t]), expected[t])
    assert s.step == 8
    s.reset()
    assert s.step == 0
    buf = x.copy()
    for t in range(8):
        s.next(buf[t], out=buf[t])  # in place
    np.testing.assert_array_equal(buf, expected)


def test_stream_large_slice_and_strided(rng):
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)
    x = rng.normal(size=(4, 300, 1000)).astype(np.float32)
    expected = A @ x
    s = A.stream((1000, 300), np.float32)
    for t in range(4):
        y = s.next(x[t].T)  # a transposed (non-contiguous) slice
        np.testing.assert_array_equal(y, expected[t].T)


def test_functional_api_like_jax_privacy():
    A = sm.prefix_sum()
    x = np.arange(1, 5).astype(float)
    state = A.init_multiply(x[0])
    slices = []
    for i in range(len(x)):
        result, state = A.multiply_next(x[i : i + 1].reshape(()), state)
        slices.append(float(result))
    np.testing.assert_array_equal(slices, [1.0, 3.0, 6.0, 10.0])


def test_stream_outlives_matrix():
    s = sm.prefix_sum().stream((2,), np.float64)
    gc.collect()
    np.testing.assert_array_equal(s.next(np.ones(2)), [1, 1])
    np.testing.assert_array_equal(s.next(np.ones(2)), [2, 2])


def test_exports():
    assert mfkit.StreamingMatrix is sm.StreamingMatrix
    assert isinstance(sm.prefix_sum(), mfkit.StreamingMatrix)
    assert mfkit._ffi.LIBRARY_VERSION == mfkit.__version__


# ---------------------------------------------------------------- errors
def test_constructor_errors():
    with pytest.raises(ValueError, match="Learning rates must be positive"):
        sm.momentum_sgd_matrix(0.9, [1.0, 0.0])
    with pytest.raises(ValueError, match="Learning rates must be positive"):
        sm.momentum_sgd_matrix(0.9, [1.0, -1.0])
    with pytest.raises(ValueError, match="Learning rates must be positive"):
        sm.momentum_sgd_matrix(0.9, [np.nan])
    with pytest.raises(ValueError, match="momentum must be finite"):
        sm.momentum_sgd_matrix(np.nan)
    with pytest.raises(ValueError, match="at least one entry"):
        sm.diagonal([])
    with pytest.raises(ValueError, match="finite"):
        sm.diagonal([1.0, np.nan])
    with pytest.raises(ValueError, match="one-dimensional"):
        sm.diagonal(np.ones((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        sm.prefix_sum() * np.inf
    with pytest.raises(ValueError, match="row_scale"):
        sm.scale_rows_and_columns(sm.prefix_sum(), row_scale=[np.nan])
    with pytest.raises(TypeError):
        sm.diagonal(["a"])
    with pytest.raises(TypeError):
        sm.multiply_streaming_matrices(sm.prefix_sum(), 3)
    with pytest.raises(TypeError):
        sm.prefix_sum() @ [1.0, 2.0]
    with pytest.raises(TypeError):
        sm.StreamingMatrix(None)


def test_materialize_errors():
    A = sm.prefix_sum()
    for n in (0, -3):
        with pytest.raises(ValueError, match="n must be positive"):
            A.materialize(n)
        with pytest.raises(ValueError, match="n must be positive"):
            A.row_norms_squared(n)
    with pytest.raises(TypeError):
        A.materialize(2.5)
    with pytest.raises(TypeError, match="dtype"):
        A.materialize(3, dtype=np.int64)
    with pytest.raises(ValueError, match="shape"):
        A.materialize(3, out=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="read-only"):
        ro = np.zeros((3, 3))
        ro.flags.writeable = False
        A.materialize(3, out=ro)


def test_multiply_array_errors_leave_out_untouched():
    A = sm.prefix_sum()
    x = np.ones((5, 3))
    out = np.full((5, 4), 9.0)
    with pytest.raises(ValueError, match="shape"):
        sm.multiply_array(A, x, out=out)
    np.testing.assert_array_equal(out, 9.0)
    out32 = np.full((5, 3), 9.0, dtype=np.float32)
    with pytest.raises(TypeError, match="dtype"):
        sm.multiply_array(A, x, out=out32)
    np.testing.assert_array_equal(out32, 9.0)
    # Integer inputs are read as float64 (as jax_privacy's tests use them); an integer out is refused.
    np.testing.assert_array_equal(A @ np.ones((5, 3), dtype=np.int64), A @ np.ones((5, 3)))
    out64 = np.full((5, 3), 9, dtype=np.int64)
    with pytest.raises(TypeError, match="int64"):
        sm.multiply_array(A, np.ones((5, 3), dtype=np.int64), out=out64)
    np.testing.assert_array_equal(out64, 9)
    with pytest.raises(TypeError, match="complex"):
        A @ np.ones((5, 3), dtype=np.complex128)
    with pytest.raises(ValueError, match="at least one dimension"):
        A @ np.array(1.0)
    # Partial overlap is refused, the same view is in-place.
    buf = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match="overlaps"):
        sm.multiply_array(A, buf[:5], out=buf[1:])
    np.testing.assert_array_equal(buf, np.arange(12.0).reshape(6, 2))
    with pytest.raises(TypeError):
        sm.multiply_array(A, [1.0, 2.0])
    with pytest.raises(TypeError, match="byte order"):
        A @ np.ones((3,), dtype=">f8")


def test_stream_errors():
    A = sm.prefix_sum()
    s = A.stream((3,), np.float32)
    with pytest.raises(ValueError, match="shape"):
        s.next(np.ones(4, dtype=np.float32))
    with pytest.raises(TypeError, match="dtype"):
        s.next(np.ones(3))
    assert s.step == 0  # failed calls do not advance
    out = np.full(3, 5.0, dtype=np.float32)
    with pytest.raises(ValueError, match="shape"):
        s.next(np.ones(3, dtype=np.float32), out=np.zeros(2, dtype=np.float32))
    np.testing.assert_array_equal(out, 5.0)
    with pytest.raises(TypeError):
        A.stream((3,), np.int32)
    with pytest.raises(ValueError, match="negative"):
        A.stream((-1,), np.float32)
    with pytest.raises(ValueError, match="must come from"):
        A.multiply_next(np.ones(3), sm.identity().init_multiply(np.ones(3)))


def test_stream_of_impossible_slice_shape_is_refused():
    # The slice size used to wrap around (2^32 * 2^32 * 4 = 0) and the stream was created.
    A = sm.momentum_sgd_matrix(0.5)
    for shape in ((2**32, 2**32, 4), (2**40, 2**40), (2**62, 4)):
        with pytest.raises(ValueError, match="too large"):
            A.stream(shape, np.float64)
    # Beyond memory but not overflowing: a MemoryError with the library's message.
    with pytest.raises(MemoryError, match="stream state"):
        A.stream((2**50,), np.float64)
    # A large slice is not touched until used (calloc): creating it is cheap.
    s = A.stream((1 << 26,), np.float32)
    assert s.step == 0
    del s
    small, dense = A.stream((3,), np.float64), A.materialize(2) @ np.ones((2, 3))
    np.testing.assert_allclose([small.next(np.ones(3)), small.next(np.ones(3))], dense)


def test_stream_shape_beyond_int64_is_refused_not_wrapped():
    # ctypes wraps 2^64 to 0 silently: a (2^64, 2^64) stream used to be created as (0, 0).
    A = sm.prefix_sum()
    for shape in ((2**64, 2**64), (2**63,), (-(2**63) - 1,)):
        with pytest.raises(ValueError, match="does not fit in 64 bits"):
            A.stream(shape, np.float64)
    for shape in ((2.0,), (True,), ("3",)):
        with pytest.raises(TypeError, match="integers"):
            A.stream(shape, np.float64)
    with pytest.raises(TypeError, match="tuple of integers"):
        A.stream(None, np.float64)
    s = A.stream((np.int64(2), 3), np.float64)
    assert s.shape == (2, 3)


def test_complex_parameters_are_refused_not_truncated():
    # np.asarray(..., float64) dropped the imaginary part with only a ComplexWarning.
    z = np.array([1 + 1j, 2.0])
    for make in (lambda: sm.diagonal(z), lambda: sm.momentum_sgd_matrix(0.5, z),
                 lambda: sm.scale_rows_and_columns(sm.prefix_sum(), z, None),
                 lambda: sm.scale_rows_and_columns(sm.prefix_sum(), None, [1j])):
        with pytest.raises(TypeError, match="must be real"):
            make()
    np.testing.assert_allclose(sm.diagonal(z.real).materialize(2), np.diag([1.0, 2.0]))


def test_self_overlapping_outputs_are_refused_untouched():
    # A writable zero-stride (or interleaved) output used to be written element by element,
    # several results landing on one memory location.
    from numpy.lib.stride_tricks import as_strided
    base = np.full(8, 7.0)
    A = sm.momentum_sgd_matrix(0.5)
    cases = [
        (lambda o: A.materialize(3, out=o), as_strided(base, (3, 3), (0, 8), writeable=True)),
        (lambda o: A.row_norms_squared(3, out=o), as_strided(base, (3,), (0,), writeable=True)),
        (lambda o: sm.multiply_array(A, np.ones((3, 2)), out=o), as_strided(base, (3, 2), (8, 8), writeable=True)),
        (lambda o: A.stream((4,), np.float64).next(np.ones(4), out=o), as_strided(base, (4,), (0,), writeable=True)),
    ]
    for call, out in cases:
        with pytest.raises(ValueError, match="overlaps itself"):
            call(out)
        np.testing.assert_array_equal(base, 7.0)
    # Views NumPy slicing makes are fine: reversed, strided, transposed.
    out = np.zeros((6, 6))[::2, ::-2].T
    A.materialize(3, out=out)
    np.testing.assert_array_equal(out, A.materialize(3))


def test_product_with_millions_of_stages_is_a_memory_error():
    # 2^22 prefix-sum stages: the kernels' per-thread piece state (stages x 2048 elements on
    # every core, ~137 GB) used to be allocated inside the kernel, aborting the process.
    total = None
    try:
        info = dict(line.split(":", 1) for line in open("/proc/meminfo"))
        total = sum(int(info[k].split()[0]) * 1024 for k in ("MemTotal", "SwapTotal"))
    except OSError:
        pass
    if total is None or total >= (2**22 + 1) * 2048 * 2 * 8:
        pytest.skip("needs a machine with less than 137 GB of RAM + swap")
    A = sm.prefix_sum()
    for _ in range(22):
        A = A @ A
    assert A.num_stages == 2**22
    out = np.full((2, 2), 7.0)
    with pytest.raises(MemoryError, match="streaming work space of 4194304 stages"):
        A.materialize(2, out=out)
    np.testing.assert_array_equal(out, 7.0)
    with pytest.raises(MemoryError, match="streaming work space"):
        A.row_norms_squared(2)
    with pytest.raises(MemoryError, match="streaming work space"):
        sm.multiply_array(A, np.ones((2, 3)))

"""The C ABI declared once: the Python side reads include/mfkit.h, so these tests check that
the header, the library and the package agree (names, signatures, codes, version, threads)."""
import ctypes
import importlib.metadata
import re
import shutil
import subprocess

import numpy as np
import pytest

import mfkit
from mfkit import _ffi


def test_every_declared_function_is_bound_with_the_headers_types():
    assert len(_ffi.FUNCTIONS) >= 60
    for name, (ret, params) in _ffi.FUNCTIONS.items():
        fn = getattr(_ffi.lib, name)
        assert fn.restype is _ffi._ctype(ret), name
        assert fn.argtypes == [_ffi._ctype(t) for _, t in params], name
        if name not in ("mfkit_version", "mfkit_last_error", "mfkit_last_error_message", "mfkit_num_threads"):
            assert ret == "mfkit_status", f"{name} must return mfkit_status"


def test_every_exported_symbol_is_declared():
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm is not installed")
    out = subprocess.run([nm, "-D", "--defined-only", str(_ffi._LIBRARY_PATH)], capture_output=True, text=True,
                         check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.split() and line.split()[-1].startswith("mfkit_")}
    assert exported == set(_ffi.FUNCTIONS)


def test_array_descriptor_layout_matches_the_headers_assertions():
    text = _ffi.HEADER_PATH.read_text()
    size = int(re.search(r"sizeof\(mfkit_array\) == (\d+)", text).group(1))
    assert ctypes.sizeof(_ffi.Array) == size
    for field, offset in re.findall(r"offsetof\(mfkit_array, (\w+)\) == (\d+)", text):
        assert getattr(_ffi.Array, field).offset == int(offset)


def test_codes_come_from_the_header():
    assert _ffi.MFKIT_OK == 0
    assert {_ffi.DTYPE_CODES[np.dtype(t)] for t in (np.float32, np.float64, np.complex64, np.complex128)} == {
        _ffi.MFKIT_FLOAT32, _ffi.MFKIT_FLOAT64, _ffi.MFKIT_COMPLEX64, _ffi.MFKIT_COMPLEX128}
    assert mfkit.kron.FUNCTIONS["log"] == _ffi.MFKIT_KRON_LOG
    assert set(_ffi.ERRORS) == {v for k, v in _ffi.CONSTANTS.items() if k.startswith("MFKIT_ERR_")}


def test_one_version_everywhere():
    assert mfkit.__version__ == _ffi.lib.mfkit_version().decode() == _ffi.VERSION
    assert re.fullmatch(r"\d+\.\d+\.\d+", mfkit.__version__)
    try:
        assert importlib.metadata.version("mfkit") == mfkit.__version__
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("mfkit is not installed as a package (run from PYTHONPATH)")


def test_errors_name_the_python_function_for_python_and_the_c_function_for_c():
    with pytest.raises(ValueError, match=r"^materialize: n must be positive"):
        mfkit.streaming_matrix.prefix_sum().materialize(None, out=np.empty((0, 0)))  # n from out
    status = _ffi.lib.mfkit_sm_prefix_sum(None)
    assert status == _ffi.MFKIT_ERR_INVALID_ARGUMENT
    assert _ffi.lib.mfkit_last_error().decode() == "mfkit_sm_prefix_sum: out is a null pointer"
    assert _ffi.lib.mfkit_last_error_message().decode() == "out is a null pointer"


def test_thread_setting_is_honoured_and_one_thread_gives_the_same_results():
    start = mfkit.num_threads()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 40000)).astype(np.float32)
    A = mfkit.streaming_matrix.prefix_sum() @ mfkit.streaming_matrix.momentum_sgd_matrix(0.9)
    C = mfkit.banded.ColumnNormalizedBanded.default(300, 8)
    vecs = [rng.uniform(0.5, 2, d) for d in (40, 50, 60)]
    model = mfkit.pmm.AffineHermitianMatrix(matrix_size=8, smoothing=0.1)
    model.compile(0, (3,))
    feats = rng.standard_normal((5000, 3))

    def results():
        return [A @ x, A.row_norms_squared(300), mfkit.banded.per_query_error(C),
                mfkit.banded.loss_and_gradient(C)[1], mfkit.kron.ks_project_diag_map(vecs, None, "reciprocal")[0],
                np.array([mfkit.kron.kronsum_diag_reduce(vecs, "log")]), model(feats)[0],
                np.array([mfkit.sensitivity.get_min_sep_sensitivity_upper_bound(C.materialize(), 4)])]
    try:
        mfkit.set_num_threads(1)
        assert mfkit.num_threads() == 1
        one = results()
        mfkit.set_num_threads(2)
        two = results()
    finally:
        mfkit.set_num_threads(start)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for bad in (0, 65, -1):
        with pytest.raises(ValueError, match="threads must be in 1...64"):
            mfkit.set_num_threads(bad)
    with pytest.raises(TypeError):
        mfkit.set_num_threads(1.5)
    assert mfkit.num_threads() == start

"""The BLAS/LAPACK MFKit finds at run time: from Python, the OpenBLAS NumPy loaded; with
MFKIT_OPENBLAS naming a missing file, a clear `mfkit.Unavailable` from the functions that need
it while the rest of MFKit works; a 32-bit-integer OpenBLAS (scipy's, when installed) works too."""
import glob
import io
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import mfkit
from mfkit import dense


def run(code, **env):
    """Runs `code` in a fresh interpreter with `env` added; returns (exit status, stdout, stderr)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120)
    return result.returncode, result.stdout, result.stderr


def test_lapack_library_is_numpys_openblas():
    info = mfkit.lapack_library()
    assert os.path.exists(info["path"]) and info["integer_bits"] in (32, 64)
    # In a fresh interpreter that has loaded only NumPy (this one may hold another BLAS, e.g.
    # SciPy's, loaded by an earlier test) MFKit uses NumPy's OpenBLAS.
    env = {k: v for k, v in os.environ.items() if k != "MFKIT_OPENBLAS"}
    path = subprocess.run([sys.executable, "-c", "import mfkit; print(mfkit.lapack_library()['path'])"],
                          capture_output=True, text=True, env=env, check=True).stdout.strip()
    numpy_libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    if os.path.isdir(numpy_libs):
        assert os.path.dirname(path) == numpy_libs


def test_missing_lapack_is_a_clear_error_and_the_rest_works():
    code = """
import numpy as np, mfkit
from mfkit import dense, sensitivity, streaming_matrix as sm
calls = [lambda: mfkit.lapack_library(), lambda: dense.optimize(8),
         lambda: dense.per_query_error(strategy_matrix=np.eye(3)), lambda: dense.strategy_from_X(np.eye(3))]
for call in calls:
    try:
        call()
    except mfkit.Unavailable as exc:
        print("unavailable:", exc)
print(sm.prefix_sum().materialize(3)[2].tolist(), dense.get_orthogonal_mask(4, 2)[0].tolist(),
      sensitivity.single_participation_sensitivity(np.tri(3)))
"""
    status, out, err = run(code, MFKIT_OPENBLAS="/nonexistent/libopenblas.so")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("unavailable: lapack_library: BLAS/LAPACK not available: "
                               "MFKIT_OPENBLAS=/nonexistent/libopenblas.so cannot be loaded")
    for line, name in zip(lines[1:4], ["optimize", "per_query_error", "strategy_from_X"]):
        assert line.startswith("unavailable: ") and "BLAS/LAPACK not available" in line, (name, line)
    assert lines[4] == "[1.0, 1.0, 1.0] [1.0, 1.0, 0.0, 1.0] 1.7320508075688772"


def scipy_openblas32():
    """scipy's bundled OpenBLAS (32-bit integers, scipy_-prefixed), when scipy is installed."""
    spec = importlib.util.find_spec("scipy")
    if spec is None or spec.origin is None:
        return None
    found = glob.glob(os.path.join(os.path.dirname(os.path.dirname(spec.origin)), "scipy.libs", "libscipy_openblas-*.so"))
    return found[0] if found else None


@pytest.mark.skipif(scipy_openblas32() is None, reason="scipy's 32-bit OpenBLAS is not installed")
def test_a_32_bit_openblas_from_mfkit_openblas():
    code = """
import sys, numpy as np, mfkit
from mfkit import dense
print(mfkit.lapack_library()["integer_bits"], flush=True)
np.save(sys.stdout.buffer, dense.optimize(32, epochs=2, max_optimizer_steps=30))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120,
                            env={**os.environ, "MFKIT_OPENBLAS": scipy_openblas32()})
    assert result.returncode == 0, result.stderr.decode()
    bits, _, payload = result.stdout.partition(b"\n")
    assert bits == b"32"
    C = np.load(io.BytesIO(payload))
    np.testing.assert_allclose(C, dense.optimize(32, epochs=2, max_optimizer_steps=30), atol=1e-10)

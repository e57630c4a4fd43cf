#!/usr/bin/env bash
# Runs every MFKit test on this machine, setting up what it needs first:
# Swift (XCTest, swift test), C (programs built against include/mfkit.h and libmfkit.so),
# Python (pytest, including parity with the reference files in python/tests/data, the
# notebooks in examples/notebooks run headless, Dask on a 2-process local cluster). Exits
# non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
PY=${PYTHON:-python3}

echo "== set-up: NumPy, pytest, mfkit (builds libmfkit.so) with the extras the tests use"
$PY -m pip install -q --disable-pip-version-check numpy pytest
# [test]: dp-accounting, dask[distributed], matplotlib, tqdm, nbclient, ipykernel, scikit-learn
$PY -m pip install -q --disable-pip-version-check -e 'python[test]'

# Swift and C test programs load the BLAS/LAPACK the way a C program does: MFKIT_OPENBLAS, else
# the system's. Unless set, point them at the OpenBLAS NumPy bundles (the one Python uses).
if [ -z "${MFKIT_OPENBLAS:-}" ]; then
    MFKIT_OPENBLAS=$($PY -c "import mfkit; print(mfkit.lapack_library()['path'])")
    export MFKIT_OPENBLAS
fi
echo "== BLAS/LAPACK: $MFKIT_OPENBLAS"

echo "== Swift tests"
swift test 2>&1 | tail -n 25

echo "== C tests and examples"
bash Tests/c/run.sh

echo "== Python tests (the notebooks, accounting and Dask tests need their extras: installed above)"
MFKIT_REQUIRE_EXTRAS=1 $PY -m pytest -q python/tests

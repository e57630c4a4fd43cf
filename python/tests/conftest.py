"""Shared fixtures: the reference outputs in python/tests/data (see its README.md)."""
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"
REFERENCE = DATA / "jax_privacy"


def load_reference(name):
    """The jax_privacy reference file `name`.npz from python/tests/data/jax_privacy."""
    path = REFERENCE / f"{name}.npz"
    if not path.exists():
        pytest.fail(f"reference file {path} is missing from the repository")
    return np.load(path)


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


def optional_module(name):
    """Imports an optional package (an extra of the mfkit package). Tests that need it are
    skipped without it, unless MFKIT_REQUIRE_EXTRAS is set (Tests/run-all.sh installs the
    extras and sets it), where a missing package is a failure."""
    import importlib
    import os
    if os.environ.get("MFKIT_REQUIRE_EXTRAS"):
        return importlib.import_module(name)
    return pytest.importorskip(name)

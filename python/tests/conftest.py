"""Shared fixtures: the jax_privacy reference outputs in ../shared/reference (relative to the
project root)."""
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference" / "jax_privacy"


def load_reference(name):
    path = REFERENCE / f"{name}.npz"
    if not path.exists():
        pytest.fail(f"reference file {path} is missing (expected ../shared/reference beside the project)")
    return np.load(path)


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)

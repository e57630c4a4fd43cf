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

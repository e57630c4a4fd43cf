"""`import mfkit` needs only NumPy: with every optional package blocked, it imports, runs, falls
back to printed progress, and the optional modules name their extras when used."""
import subprocess
import sys
import textwrap
from pathlib import Path

BLOCKED = ["dask", "distributed", "cloudpickle", "dp_accounting", "matplotlib", "tqdm", "sklearn", "scipy",
           "nbclient", "nbformat", "ipykernel", "jax", "jax_privacy", "torch"]

SCRIPT = textwrap.dedent("""
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked for this test")

    sys.meta_path.insert(0, Block())
    import numpy as np
    import mfkit
    from mfkit import accounting, banded, noise, plot

    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(BLOCKED))
    assert not loaded, loaded
    C = banded.optimize(20, bands=2, max_optimizer_steps=3, progress=True)   # printed lines
    assert noise.CorrelatedNoise(C, 4, seed=0).next().shape == (4,)
    for call, extra in ((lambda: accounting.noise_multiplier(1.0, 1e-5), "mfkit[accounting]"),
                        (lambda: plot.curves({"a": [1.0]}), "mfkit[plot]"),
                        (lambda: mfkit.dask, "mfkit[dask]")):
        try:
            call()
        except ImportError as exc:
            assert extra in str(exc), exc
        else:
            raise AssertionError(extra + " did not raise ImportError")
    print("ok")
""")


def test_import_mfkit_with_the_extras_blocked():
    package = str(Path(__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", f"BLOCKED = {BLOCKED!r}\n" + SCRIPT], capture_output=True,
                            text=True, timeout=120, cwd=package)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "ok" and lines[0].startswith("optimize: step 1/3  loss ")
    assert all(line.startswith("optimize: step ") and "grad norm" in line for line in lines[:-1])

"""Every notebook in examples/notebooks runs top to bottom without error, headless (nbclient,
a kernel of this Python, a time limit per cell), and is stored small (no outputs)."""
import json
import sys
from pathlib import Path

import pytest

from conftest import optional_module

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "examples" / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds; the notebooks take about 10 s each on two cores


def test_notebooks_found():
    assert [p.name for p in NOTEBOOKS] == ["dp_matrix_factorization.ipynb", "kronecker_sum_covariance.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    assert path.stat().st_size < 20_000


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernel spec running this interpreter (the one with mfkit and the extras)."""
    spec = tmp_path / "kernels" / "mfkit-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "mfkit test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return "mfkit-test"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, kernel_name):
    nbformat = optional_module("nbformat")
    nbclient = optional_module("nbclient")
    for extra in ("ipykernel", "matplotlib", "sklearn", "dp_accounting"):
        optional_module(extra)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=kernel_name, timeout=CELL_TIMEOUT,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()   # raises CellExecutionError on the first failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert images    # the plots were drawn

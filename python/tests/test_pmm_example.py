"""examples/pmm_regression.py runs and fits (the PNG is written when matplotlib is installed)."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pmm_regression.py"


def test_pmm_regression_example(tmp_path):
    out = tmp_path / "fit.png"
    run = subprocess.run([sys.executable, str(EXAMPLE), "--out", str(out)], capture_output=True, text=True,
                         timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    match = re.search(r"MSE ([0-9.]+) -> ([0-9.]+), R\^2 = ([0-9.]+)", run.stdout)
    assert match, run.stdout
    before, after, r2 = map(float, match.groups())
    assert after < before / 100 and r2 > 0.99
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    assert out.exists() == has_matplotlib
    if has_matplotlib:
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

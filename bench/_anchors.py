"""What the benchmarks share: their anchors' virtual environments, a runner for worker scripts
in them, and the timing helpers.

Importing this module makes `import mfkit` take this checkout's package (python/, and
.build/release/libmfkit.so unless $MFKIT_LIBRARY names another): build it first with
`swift build -c release --product mfkit`.

Anchors live in bench/.venv-<name> (gitignored; never dependencies of MFKit), created with pip
on first use (a minute or two from pip's cache; 0.5 to 0.7 GB each) with the pinned versions
below; a venv whose pins have changed is brought up to date on its next use.
- "jax-privacy": jax_privacy 2.0.0 on jax 0.10.2 (CPU), equinox (banded's checkpointed scan),
  scipy (L-BFGS-B): bench_banded, bench_toeplitz, bench_blt, bench_dense, bench_sensitivity,
  bench_optimizer_quality.
- "pmm": jax 0.10.2 (CPU), to which bench_pmm adds parametricmatrixmodels' September 2025
  release from a checkout of it.
- "kron": SciPy and GmGM 0.5.7 (numba): bench_kron.

A worker script (`run_worker`) gets its task as JSON in sys.argv[1] (`read_task()`) and prints its
result as JSON on its last line (`reply()`); it can import mfkit and this module (they are on
its PYTHONPATH).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Callable, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PYTHON_PATH = [str(ROOT / "python"), str(BENCH)]

sys.path[:0] = [p for p in PYTHON_PATH if p not in sys.path]
os.environ.setdefault("MFKIT_LIBRARY", str(ROOT / ".build" / "release" / "libmfkit.so"))

_JAX = ["jax==0.10.2", "jaxlib==0.10.2", "numpy==2.4.6"]
ANCHORS = {
    "jax-privacy": ["jax-privacy==2.0.0", *_JAX, "equinox==0.13.8", "scipy==1.17.1"],
    "pmm": [*_JAX, "scipy==1.17.1"],
    "kron": ["GmGM==0.5.7", "numba==0.68.1", "numpy==2.4.6", "scipy==1.17.1"],
}


def venv_dir(name: str) -> Path:
    """bench/.venv-<name>: anchor `name`'s virtual environment."""
    return BENCH / f".venv-{name}"


def pip_install(name: str, *requirements: str, env: dict | None = None) -> None:
    """`pip install requirements` into anchor `name`'s venv."""
    subprocess.run([str(venv_dir(name) / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", *requirements], check=True, env=env)


def anchor_python(name: str) -> Path:
    """The Python of anchor `name`'s venv, created or updated to ANCHORS[name] first if needed."""
    folder, pins = venv_dir(name), "\n".join(ANCHORS[name]) + "\n"
    python, stamp = folder / "bin" / "python", folder / "pins.txt"
    if not python.exists():
        print(f"creating {folder} (first use) ...", flush=True)
        venv.create(folder, with_pip=True, symlinks=True)
    if not stamp.exists() or stamp.read_text() != pins:
        print(f"installing {', '.join(ANCHORS[name])} into {folder} ...", flush=True)
        pip_install(name, *ANCHORS[name])
        stamp.write_text(pins)
    return python


def _environment(anchor: str | None, env: dict | None) -> dict:
    """The environment of a child: jax on its CPU, this checkout's mfkit and this module on the
    path (an anchor's venv sees nothing else of the caller's PYTHONPATH)."""
    paths = PYTHON_PATH + ([os.environ["PYTHONPATH"]] if anchor is None and os.environ.get("PYTHONPATH") else [])
    return {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": os.pathsep.join(paths), **(env or {})}


def running_in(name: str) -> bool:
    """Whether this interpreter is anchor `name`'s."""
    return Path(sys.prefix).resolve() == venv_dir(name).resolve()


def run_inside(name: str, env: dict | None = None) -> None:
    """Re-runs the calling script (sys.argv) in anchor `name`'s venv, with `env` added to its
    environment, unless it already runs there."""
    if running_in(name):
        return
    python = str(anchor_python(name))
    os.execve(python, [python, *sys.argv], _environment(name, env))


def run_worker(code: str, task, anchor: str | None = None, timeout: float | None = None, env: dict | None = None,
               check: bool = True) -> dict:
    """The JSON result of worker script `code` run on `task` in a child process: in anchor
    `anchor`'s venv, or in this interpreter (None); `env` is added to its environment. A worker
    that fails raises RuntimeError with the end of its stderr, or with check=False returns
    {"error": the last line of its stderr}."""
    python = str(anchor_python(anchor)) if anchor else sys.executable
    proc = subprocess.run([python, "-c", code, json.dumps(task)], capture_output=True, text=True, timeout=timeout,
                          env=_environment(anchor, env))
    if proc.returncode != 0:
        if check:
            raise RuntimeError(f"worker failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def arguments(doc: str, quick: str = "small sizes, a smoke run", no_jax: bool = False) -> argparse.ArgumentParser:
    """The command line the benchmarks share, for the caller to add its own options to and parse:
    --quick (`quick` says what it runs: the smallest case of each kind, MFKit and anchor both,
    writing no results_*.json) and, with no_jax, --no-jax (MFKit only); `doc` (the script's
    docstring) is its help."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=quick)
    if no_jax:
        parser.add_argument("--no-jax", action="store_true", help="MFKit only")
    return parser


def read_task():
    """A worker's task: the JSON that run_worker passed it."""
    return json.loads(sys.argv[1])


def reply(result) -> None:
    """A worker's result, printed as the JSON line that run_worker reads."""
    print(json.dumps(result), flush=True)


def write_results(name: str, results: dict) -> None:
    """Writes `results` to bench/results_<name>.json."""
    path = BENCH / f"results_{name}.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"\nwrote {path}", flush=True)


class Timing(NamedTuple):
    """The wall times of the runs of a function, and what it last returned."""
    times: list     # seconds of each run
    out: object     # what the last run returned

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def repeat(fn: Callable, repeats: int, setup: Callable | None = None, warmup: bool = False) -> Timing:
    """fn() timed `repeats` times; setup() runs untimed before each run, and with warmup one
    untimed fn() comes first."""
    if warmup:
        fn()
    times, out = [], None
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return Timing(times, out)


def interleaved(contenders: dict, repeats: int) -> dict:
    """{name: Timing} of each contender over `repeats` rounds that time every contender once
    (so they share the machine's fluctuating load), after one untimed call of each."""
    for fn in contenders.values():
        fn()
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: Timing(ts, None) for name, ts in times.items()}


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB, for a worker to report: VmHWM, the peak of its
    own image (getrusage's ru_maxrss of a child would count the parent's memory at fork)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024

"""Build flags: MFKit's release build (-O, what Package.swift uses) against the same sources
built with -Ounchecked (no overflow or bounds traps), kernel by kernel, in one run.

The second library is built into .build-ounchecked (about two minutes the first time):

    swift build -c release --product mfkit --build-path .build-ounchecked -Xswiftc -Ounchecked

Each kernel runs in a worker process per library; the two libraries alternate round by round
(so they share the machine's load) and each kernel's best time per library is reported with
the ratio -O / -Ounchecked (above 1: -Ounchecked faster). Package.swift says which build
MFKit uses and why; bench/RESULTS.md ("Build flags") keeps the numbers.

    python3 bench/bench_build_flags.py [--quick] [--rounds R]
"""
import os
import subprocess
import sys

from _anchors import ROOT, arguments, read_task, reply, run_worker  # noqa: F401 (puts mfkit on the path)

KERNELS = """
import time, numpy as np
from _anchors import read_task, reply
from mfkit import banded, kron, pmm, sensitivity, streaming_matrix as sm, toeplitz
from mfkit import buffered_toeplitz as bt
from mfkit.pmm import LowRankAffineHermitianMatrix
task = read_task(); quick = task["quick"]; rng = np.random.default_rng(0)
m = 10**5 if quick else 10**6
x0 = rng.standard_normal((256, m), dtype=np.float32); x = x0.copy()
PM = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)
n_b, b = (1024, 32) if quick else (4096, 64)
C = banded.optimize(n_b, bands=b, max_optimizer_steps=3)
coef = toeplitz.optimize_banded_toeplitz(2**14, 64, max_optimizer_steps=3)
blt_inv = bt.optimize(n=256, min_buffers=4, max_buffers=4, max_optimizer_steps=20).inverse_as_streaming_matrix()
vecs = [rng.random(s) for s in ((100, 100, 100) if quick else (1000, 100, 100))]
kout = np.empty(int(np.prod([len(v) for v in vecs])))
N, p, nn, r = (1000, 8, 16, 4) if quick else (10000, 8, 16, 4)
lam = rng.standard_normal((p + 1, r)); us = rng.standard_normal((p + 1, r, nn)) + 1j * rng.standard_normal((p + 1, r, nn))
hm = LowRankAffineHermitianMatrix(nn, r, 0.1, lam, us); X = rng.standard_normal((N, p)); hout = np.empty((N, nn, nn), complex)
eig = pmm.AffineEigenvaluePMM(matrix_size=16, num_eig=4); eig.compile(0, (p,)); Y = rng.standard_normal((N, 4))
dense = np.tril(rng.random((1024, 1024)))
kernels = {
    "streaming: prefix_sum @ momentum, float32 (256, %d) in place" % m: (lambda: sm.multiply_array(PM, x, out=x), lambda: np.copyto(x, x0)),
    "streaming: 4-buffer BLT inverse, float32 (256, %d) in place" % m: (lambda: sm.multiply_array(blt_inv, x, out=x), lambda: np.copyto(x, x0)),
    "banded: per_query_error (%d, %d)" % (n_b, b): (lambda: banded.per_query_error(C), None),
    "banded: loss_and_gradient (%d, %d)" % (n_b, b): (lambda: banded.loss_and_gradient(C), None),
    "toeplitz: per_query_error n = 10^6, 64 bands": (lambda: toeplitz.per_query_error(strategy_coef=coef, n=10**6), None),
    "kron: kronsum_diag %s" % (tuple(len(v) for v in vecs),): (lambda: kron.kronsum_diag(*vecs, out=kout), None),
    "kron: kronsum_diag_reduce log": (lambda: kron.kronsum_diag_reduce(vecs, "log"), None),
    "sensitivity: min-sep upper bound, dense 1024, min_sep 16": (lambda: sensitivity.get_min_sep_sensitivity_upper_bound(dense, 16, None), None),
    "pmm: low-rank forward N = %d, n = 16, complex128, out=" % N: (lambda: hm(X, out=hout), None),
    "pmm: eigenvalue PMM value_and_grad N = %d, n = 16, k = 4" % N: (lambda: eig.value_and_grad(X, Y), None),
}
times = {}
for name, (fn, setup) in kernels.items():
    fn(); best = float("inf")
    for _ in range(task["repeats"]):
        if setup: setup()
        s = time.perf_counter(); fn(); best = min(best, time.perf_counter() - s)
    times[name] = best
reply(times)
"""


def main():
    parser = arguments(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    libs = {"-O": ROOT / ".build" / "release" / "libmfkit.so",
            "-Ounchecked": ROOT / ".build-ounchecked" / "release" / "libmfkit.so"}
    for flag, build in (("-O", []), ("-Ounchecked", ["--build-path", ".build-ounchecked", "-Xswiftc", "-Ounchecked"])):
        subprocess.run(["swift", "build", "-c", "release", "--product", "mfkit", *build], cwd=ROOT, check=True)
    best = {flag: {} for flag in libs}
    for _ in range(1 if args.quick else args.rounds):
        for flag, lib in libs.items():
            times = run_worker(KERNELS, {"quick": args.quick, "repeats": 2 if args.quick else 5},
                               env={"MFKIT_LIBRARY": str(lib)})
            for name, t in times.items():
                best[flag][name] = min(t, best[flag].get(name, float("inf")))
    print(f"load average {os.getloadavg()[0]:.2f}\n")
    print("| kernel | -O ms | -Ounchecked ms | -O / -Ounchecked |")
    print("|---|---|---|---|")
    for name in best["-O"]:
        a, b = best["-O"][name], best["-Ounchecked"][name]
        print(f"| {name} | {a * 1e3:.2f} | {b * 1e3:.2f} | {a / b:.3f} |")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: get_min_sep_sensitivity_upper_bound(C, min_sep, max_participations) for a dense
lower-triangular C, MFKit against jax_privacy (float64) in the same run.

    python3 bench/bench_sensitivity.py           # n = 2048
    python3 bench/bench_sensitivity.py --quick   # n = 256, a smoke run
    python3 bench/bench_sensitivity.py --parity  # every function on random inputs, both sides

--parity evaluates every function of the module on small random C, banded C, X and x over a
grid of min_sep, max_participations and epochs in both libraries, and reports the largest
relative difference and whether every error case raised the same exception and message.

jax_privacy runs in the shared anchor bench/.venv-jax-privacy (bench/_anchors.py: jax-privacy
2.0.0, jax 0.10.2; created on first use), in a subprocess that reads the same C from a
temporary .npy file. MFKit runs in this interpreter, from this checkout. Times: MFKit the
median of 5 runs; jax_privacy the faster of 2 runs (the first includes compilation of its
small kernels). The full run takes about a minute, --quick seconds, --parity half a minute.
"""
import os
import tempfile

import numpy as np

# _anchors first: it puts this checkout's mfkit on the path
from _anchors import arguments, repeat, run_worker

JAX_SIDE = r"""
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from jax_privacy.matrix_factorization import sensitivity

from _anchors import read_task, repeat, reply

path, cases = read_task()
C = np.load(path)
out = []
for min_sep, cap in cases:
    t = repeat(lambda: sensitivity.get_min_sep_sensitivity_upper_bound(C, min_sep, cap), 2)
    out.append({"value": float(t.out), "seconds": t.best})
reply(out)
"""


PARITY = r"""
import numpy as np

from _anchors import read_task, reply

if read_task() == "jax":
    import jax
    jax.config.update("jax_enable_x64", True)
    from jax_privacy.matrix_factorization import sensitivity as s
else:
    from mfkit import sensitivity as s
rng = np.random.default_rng(5)
out = {}
def record(key, f):
    try:
        out[key] = float(f())
    except Exception as e:  # the exception's type and first line of message
        out[key] = type(e).__name__ + ": " + str(e).split("\n")[0]
for t, n in enumerate([5, 9, 16, 33, 64, 120]):
    C = np.tril(rng.normal(size=(n, n)))
    B = np.tril(rng.normal(size=(n, n))) * (np.subtract.outer(np.arange(n), np.arange(n)) < 3)
    x = rng.normal(size=n)
    record(f"single{t}", lambda: s.single_participation_sensitivity(C))
    for ms in [1, 2, 3, 7]:
        for k in [None, 1, 3, 10]:
            record(f"linear{t}_{ms}_{k}", lambda: s.max_participation_for_linear_fn(x, ms, k))
            record(f"upper{t}_{ms}_{k}", lambda: s.get_min_sep_sensitivity_upper_bound(C, ms, k))
            record(f"upperX{t}_{ms}_{k}", lambda: s.get_min_sep_sensitivity_upper_bound_for_X(B.T @ B, ms, k))
            record(f"banded{t}_{ms}_{k}", lambda: s.get_sensitivity_banded(B, ms, k))
            record(f"bandedX{t}_{ms}_{k}", lambda: s.get_sensitivity_banded_for_X(B.T @ B, ms, k))
    for e in [1, 2, 3, 4, 5, n]:
        record(f"epoch{t}_{e}", lambda: s.fixed_epoch_sensitivity(C, e))
        record(f"epochX{t}_{e}", lambda: s.fixed_epoch_sensitivity_for_X(C.T @ C, e))
reply(out)
"""


def parity():
    ref = run_worker(PARITY, "jax", anchor="jax-privacy")
    got = run_worker(PARITY, "mfkit")
    worst, numbers, errors, mismatches = 0.0, 0, 0, []
    for key, want in ref.items():
        have = got[key]
        if isinstance(want, float) and isinstance(have, float):
            numbers += 1
            worst = max(worst, abs(have - want) / max(abs(want), 1e-300))
        else:
            errors += 1
            if want != have:
                mismatches.append(f"  {key}: jax_privacy {want!r}, MFKit {have!r}")
    print(f"{numbers} values: largest relative difference {worst:.1e}")
    print(f"{errors} error cases: {errors - len(mismatches)} with the same exception and message")
    print("\n".join(mismatches))


def main():
    parser = arguments(__doc__, quick="n = 256")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--parity", action="store_true", help="compare every function's values and errors")
    args = parser.parse_args()
    if args.parity:
        return parity()
    n = args.n or (256 if args.quick else 2048)
    # (min_sep, max_participations): jax_privacy's dynamic program runs max_participations
    # vectorized passes over the n x n matrix; min_sep = 1 without a cap (n passes) is
    # too slow for it at n = 2048, so that case is MFKit only.
    cases = [(16, None), (1, 8), (64, 4)]
    mfkit_only = [(1, None)]

    import mfkit
    from mfkit import sensitivity

    C = np.tril(np.random.default_rng(2026).normal(size=(n, n)))
    print(f"get_min_sep_sensitivity_upper_bound, C dense lower-triangular {n} x {n}, float64; "
          f"MFKit {mfkit.__version__} on {mfkit._ffi.lib.mfkit_num_threads()} threads")

    def time_mfkit(min_sep, cap):
        t = repeat(lambda: sensitivity.get_min_sep_sensitivity_upper_bound(C, min_sep, cap), 5)
        return t.out, t.median

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "C.npy")
        np.save(path, C)
        jax_results = run_worker(JAX_SIDE, [path, cases], anchor="jax-privacy")

    print(f"{'min_sep':>7} {'k':>5} {'MFKit s':>9} {'jax_privacy s':>14} {'speed-up':>9} {'rel. diff':>10}")
    for (min_sep, cap), ref in zip(cases, jax_results):
        value, seconds = time_mfkit(min_sep, cap)
        diff = abs(value - ref["value"]) / ref["value"]
        print(f"{min_sep:>7} {str(cap):>5} {seconds:>9.3f} {ref['seconds']:>14.2f} "
              f"{ref['seconds'] / seconds:>8.0f}x {diff:>10.1e}")
    for min_sep, cap in mfkit_only:
        value, seconds = time_mfkit(min_sep, cap)
        print(f"{min_sep:>7} {str(cap):>5} {seconds:>9.3f} {'(not run)':>14}")


if __name__ == "__main__":
    main()

"""Streaming multiply benchmark: MFKit against NumPy and a memory-bandwidth probe, same run.

x is float32 of shape (256, 10^6) (1 GB), multiplied in place by
  - prefix_sum (NumPy: np.cumsum(x, axis=0, out=x)),
  - prefix_sum @ momentum_sgd_matrix(0.9) (NumPy: a Python loop over steps for momentum,
    then np.cumsum),
and the probe np.copyto moves the same bytes (read 1 GB, write 1 GB). Bandwidth ratio =
probe time / MFKit time. Also times Streams fed one (10^6,) slice per step: prefix_sum @
momentum (3 state slices) and the banded inverse at b = 2, 4, 16 (b - 1 slices). Times are
medians over the repeats. No anchor beyond NumPy: runs in this interpreter, with MFKit from
this checkout, in under a minute.

    python3 bench/bench_streaming.py [--quick] [--repeats R]
"""
import os
import platform

import numpy as np

# _anchors first: it puts this checkout's mfkit on the path
from _anchors import arguments, repeat

import mfkit
from mfkit import banded, streaming_matrix as sm


def numpy_momentum_then_prefix(x, mu):
    m = np.zeros_like(x[0])
    y = np.zeros_like(x[0])
    for t in range(x.shape[0]):
        m *= mu
        m += x[t]
        y += m
        x[t] = y
    np.cumsum(x, axis=0, out=x)


def main():
    parser = arguments(__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n, m = (32, 10**5) if args.quick else (256, 10**6)

    x0 = np.random.default_rng(0).normal(size=(n, m)).astype(np.float32)
    x = x0.copy()
    dst = np.empty_like(x)

    def fresh():  # in-place runs start from the same data (no overflow across repeats)
        np.copyto(x, x0)

    gb = x.nbytes / 1e9
    P = sm.prefix_sum()
    PM = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)

    # Correctness on this very input before timing.
    ref = np.cumsum(x.astype(np.float64), axis=0)
    assert np.allclose(P @ x, ref, rtol=1e-3, atol=1e-3)

    probe = repeat(lambda: np.copyto(dst, x), args.repeats).median
    t_p = repeat(lambda: sm.multiply_array(P, x, out=x), args.repeats, fresh).median
    t_np_p = repeat(lambda: np.cumsum(x, axis=0, out=x), args.repeats, fresh).median
    t_pm = repeat(lambda: sm.multiply_array(PM, x, out=x), args.repeats, fresh).median
    t_np_pm = repeat(lambda: numpy_momentum_then_prefix(x, 0.9), max(1, args.repeats // 2), fresh).median
    stream = PM.stream((m,), np.float32)

    def run_stream():
        stream.reset()
        for t in range(n):
            stream.next(x[t], out=x[t])

    t_stream = repeat(run_stream, args.repeats, fresh).median

    # Stream.next of the banded inverse C^{-1} (b - 1 slices of state, a ring): each step reads
    # x and the b - 1 earlier outputs and writes out and one state slice.
    t_banded = {}
    for b in (2, 4, 16):
        inverse = banded.ColumnNormalizedBanded.from_banded_toeplitz(n, [1.0] + [0.5 / r for r in range(1, b)])
        banded_stream = inverse.inverse_as_streaming_matrix().stream((m,), np.float32)
        first = x0[:2].copy()
        banded_stream.next(first[0], out=first[0])
        banded_stream.next(first[1], out=first[1])
        expected = np.linalg.solve(inverse.materialize()[:2, :2], x0[:2, :1000].astype(np.float64))
        assert np.allclose(first[:, :1000], expected, rtol=1e-4, atol=1e-4)

        def run_banded(stream=banded_stream):
            stream.reset()
            for t in range(n):
                stream.next(x[t], out=x[t])

        t_banded[b] = repeat(run_banded, args.repeats, fresh).median

    def bw(t):
        return 2 * gb / t

    print(f"MFKit {mfkit.__version__}, {mfkit._ffi.lib.mfkit_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; float32 {n} x {m} ({gb:.2f} GB)")
    print(f"{'case':48s} {'time ms':>9s} {'GB/s':>7s}  ratio")
    print(f"{'probe np.copyto (same bytes)':48s} {probe*1e3:9.1f} {bw(probe):7.2f}")
    print(f"{'MFKit prefix_sum in place':48s} {t_p*1e3:9.1f} {bw(t_p):7.2f}  {probe/t_p:.2f} of probe bandwidth")
    print(f"{'NumPy np.cumsum(axis=0, out=x)':48s} {t_np_p*1e3:9.1f} {bw(t_np_p):7.2f}  MFKit {t_np_p/t_p:.1f}x faster")
    print(f"{'MFKit prefix_sum @ momentum(0.9) in place':48s} {t_pm*1e3:9.1f} {bw(t_pm):7.2f}  {probe/t_pm:.2f} of probe bandwidth")
    print(f"{'NumPy momentum loop + cumsum':48s} {t_np_pm*1e3:9.1f} {bw(t_np_pm):7.2f}  MFKit {t_np_pm/t_pm:.1f}x faster")
    print(f"{'MFKit Stream.next per slice, prefix@momentum':48s} {t_stream*1e3:9.1f} {bw(t_stream):7.2f}  {probe/t_stream:.2f} of probe bandwidth")
    for b, t_b in t_banded.items():
        name = f"MFKit Stream.next per slice, banded inverse b={b}"
        print(f"{name:48s} {t_b*1e3:9.1f} {bw(t_b):7.2f}  {probe/t_b:.2f} of probe bandwidth "
              f"({b - 1} state slices; {2 / (b + 2):.2f} if no state stayed in cache)")
    target = probe / t_p >= 0.60
    print(f"target prefix_sum >= 60% of probe bandwidth: {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Which strategy family? Banded, banded Toeplitz and BLT strategies for the prefix-sum workload
under (k, min_sep) participation, optimized by MFKit alone (no anchor), compared by the error
they give, the noise-generation state they need and the time to optimize them.

    python3 bench/bench_families.py            # n = 1024, 16384, 2^20; k = 1, 4, 16 (about a minute)
    python3 bench/bench_families.py --quick    # n = 1024 only

For each (n, k) with min_sep = n // k (k participations, as far apart as n allows):

- RMSE = sqrt(mean_t ||(A C^{-1})[t, :]||^2 * sens^2(C)): the root-mean-square error, per
  model coordinate and over the n steps, of the prefix sums A x estimated from C x + z with
  z ~ N(0, sens^2) -- the noise of noise multiplier 1, where sens is C's min-sep sensitivity
  (for k participations min_sep apart). A larger noise multiplier sigma scales every entry by
  sigma. "DP-SGD" is C = I (independent noise): RMSE = sqrt(k (n + 1) / 2).
- state: the slices (model-sized arrays) kept to generate the correlated noise C^{-1} z one
  step at a time: b - 1 for a b-banded or b-banded Toeplitz strategy, d for a BLT of d buffers.
- time: the optimization's wall time (the machine's load is printed; it is shared).

Families and settings (each optimizer's defaults otherwise: banded 100 L-BFGS steps, Toeplitz
250, BLT 600 per number of buffers; 'mean' error everywhere):

- banded: `banded.optimize(n, bands=b)` with b = min(min_sep, 64) (also b = min(min_sep, 256)
  at n = 1024), sensitivity `banded.minsep_sensitivity_squared` (= k for b <= min_sep: the
  strategy then does not depend on k, so one optimization serves every k). Skipped at
  n = 2^20: a step costs about 5 n b^2 flops (2 * 10^10 at b = 64), hours for 100 steps.
- banded Toeplitz: `toeplitz.optimize_banded_toeplitz(n, b)` with b = min(min_sep, 64) and
  b = min(min_sep, 1024), sensitivity `toeplitz.minsep_sensitivity_squared` (k ||c||^2 for
  b <= min_sep; again one optimization per (n, b)).
- BLT: `buffered_toeplitz.optimize(n=n, min_sep=min_sep, max_participations=k, error='mean')`
  (the number of buffers d chosen by the loss), error and min-sep sensitivity from
  `LossFn.build_min_sep(n, 'mean', min_sep, k)`; at n = 1024 also checked against the
  materialized coefficients (`toeplitz.per_query_error`, `toeplitz.minsep_sensitivity_squared`).
- at the BLT's memory: banded (n <= 16384) and banded Toeplitz with b = d + 1, the same d
  state slices as the BLT.

Prints a long table and the README's compact table; the full run writes
bench/results_families.json.
"""
import datetime
import math
import os
import platform

import numpy as np

# _anchors first: it puts this checkout's mfkit on the path
from _anchors import arguments, repeat, write_results

import mfkit
from mfkit import banded, toeplitz
from mfkit import buffered_toeplitz as bt

BANDED_MAX_N = 16384   # banded.optimize beyond this takes hours (O(n b^2) per step)


class Families:
    """Optimized strategies, cached by (family, n, b): for b <= min_sep they do not depend on k."""

    def __init__(self):
        self.cache = {}

    def banded(self, n, b):
        key = ("banded", n, b)
        if key not in self.cache:
            t = repeat(lambda: banded.optimize(n, bands=b, return_info=True), 1)
            (C, info), seconds = t.out, t.best
            self.cache[key] = (C, float(np.mean(banded.per_query_error(C))), info, seconds)
        return self.cache[key]

    def toeplitz(self, n, b):
        key = ("toeplitz", n, b)
        if key not in self.cache:
            t = repeat(lambda: toeplitz.optimize_banded_toeplitz(n, b, return_info=True), 1)
            (coef, info), seconds = t.out, t.best
            error = float(np.mean(toeplitz.per_query_error(strategy_coef=coef, n=n)))
            self.cache[key] = (coef, error, info, seconds)
        return self.cache[key]


def row(n, k, family, size, state, error, sens2, dpsgd, seconds, stop):
    rmse = math.sqrt(error * sens2)
    return {"n": n, "k": k, "min_sep": n // k, "family": family, "size": size, "state": state, "rmse": rmse,
            "vs_dpsgd": rmse / dpsgd, "seconds": seconds, "stop": stop}


def case(n, k, families):
    """The rows of one (n, k)."""
    sep = n // k
    dp_error = float(np.mean(toeplitz.per_query_error(strategy_coef=[1.0], n=n)))
    dp_sens = toeplitz.minsep_sensitivity_squared([1.0], sep, k, n)
    dpsgd = math.sqrt(dp_error * dp_sens)
    rows = [row(n, k, "DP-SGD", "b = 1", 0, dp_error, dp_sens, dpsgd, 0.0, "")]

    def add_banded(b, label):
        C, error, info, seconds = families.banded(n, b)
        rows.append(row(n, k, "banded", f"b = {b}" + label, b - 1, error,
                        banded.minsep_sensitivity_squared(C, sep, max_participations=k), dpsgd, seconds, info.stop))

    def add_toeplitz(b, label):
        coef, error, info, seconds = families.toeplitz(n, b)
        rows.append(row(n, k, "banded Toeplitz", f"b = {b}" + label, b - 1, error,
                        toeplitz.minsep_sensitivity_squared(coef, sep, k, n), dpsgd, seconds, info.stop))

    sizes = sorted({min(sep, 64), min(sep, 256) if n <= 1024 else min(sep, 64)})
    if n <= BANDED_MAX_N:
        for b in sizes:
            add_banded(b, "")
    for b in sorted({min(sep, 64), min(sep, 1024)}):
        add_toeplitz(b, "")

    t = repeat(lambda: bt.optimize(n=n, min_sep=sep, max_participations=k, error="mean", return_info=True), 1)
    (blt, info), seconds = t.out, t.best
    loss_fn = bt.LossFn.build_min_sep(n, "mean", sep, k)
    error, sens2 = loss_fn.error_for_inv(blt.inverse()), loss_fn.sensitivity_squared(blt)
    if n <= 1024:   # the closed forms against the materialized coefficients
        coefs = blt.toeplitz_coefs(n)
        direct = (float(np.mean(toeplitz.per_query_error(strategy_coef=coefs, n=n))),
                  toeplitz.minsep_sensitivity_squared(coefs, sep, k, n))
        assert np.allclose((error, sens2), direct, rtol=1e-9), ((error, sens2), direct)
    d = len(blt.buf_decay)
    rows.append(row(n, k, "BLT", f"d = {d}", d, error, sens2, dpsgd, seconds, info.stop))

    b = d + 1   # the BLT's state
    if n <= BANDED_MAX_N and b not in sizes:
        add_banded(b, " (BLT's state)")
    if b not in {min(sep, 64), min(sep, 1024)}:
        add_toeplitz(b, " (BLT's state)")
    return rows


def compact(rows):
    """The README's table: one line per (n, k)."""
    lines = ["| n | k | min_sep | DP-SGD | banded, b = 64 | banded Toeplitz, b = 64 | banded Toeplitz, "
             "b = 1024 | BLT (d buffers) | banded Toeplitz, b = d + 1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (n, k) in dict.fromkeys((r["n"], r["k"]) for r in rows):
        mine = [r for r in rows if (r["n"], r["k"]) == (n, k)]
        sep = n // k

        def cell(family, size):
            hit = [r for r in mine if r["family"] == family and r["size"].split(" (")[0] == size]
            return f"{hit[0]['rmse']:.3g}" if hit else "—"

        blt = next(r for r in mine if r["family"] == "BLT")
        d = blt["state"]
        b64, b1024 = min(sep, 64), min(sep, 1024)
        lines.append(f"| {n} | {k} | {sep} | {cell('DP-SGD', 'b = 1')} | "
                     f"{cell('banded', f'b = {b64}')}{'' if b64 == 64 else f' (b = {b64})'} | "
                     f"{cell('banded Toeplitz', f'b = {b64}')}{'' if b64 == 64 else f' (b = {b64})'} | "
                     f"{cell('banded Toeplitz', f'b = {b1024}')}{'' if b1024 == 1024 else f' (b = {b1024})'} | "
                     f"{blt['rmse']:.3g} (d = {d}) | {cell('banded Toeplitz', f'b = {d + 1}')} |")
    return "\n".join(lines)


def main():
    args = arguments(__doc__, quick="n = 1024 only").parse_args()
    sizes = [1024] if args.quick else [1024, 16384, 2 ** 20]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    print(f"{stamp}; MFKit {mfkit.__version__}, NumPy {np.__version__}, {machine}, "
          f"{mfkit.num_threads()} threads; load average {os.getloadavg()[0]:.2f} at the start")
    families = Families()
    t = repeat(lambda: [row for n in sizes for k in (1, 4, 16) for row in case(n, k, families)], 1)
    rows = t.out
    print(f"total {t.best:.0f} s; load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| n | k | family | size | state slices | RMSE | RMSE / DP-SGD | optimize s | stop |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']} | {r['k']} | {r['family']} | {r['size']} | {r['state']} | {r['rmse']:.4g} | "
              f"{r['vs_dpsgd']:.3f} | {r['seconds']:.2f} | {r['stop']} |")
    print()
    print(compact(rows))
    if not args.quick:
        write_results("families", {"date": stamp, "machine": machine, "rows": rows})


if __name__ == "__main__":
    main()

"""MFKit's main job, end to end: the practitioner's path through every capability.

Run from anywhere after `pip install -e python`:  python3 examples/quickstart.py
"""
import time

import numpy as np

import mfkit
from mfkit import sensitivity
from mfkit import streaming_matrix as sm


def section(title):
    print(f"\n== {title}")


def streaming():
    section("Streaming matrices: prefix sum of momentum SGD, applied in place")
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9, learning_rates=np.linspace(1.0, 0.1, 100))
    print("A[:4, :4] =\n", np.round(A.materialize(4), 4))
    grads = np.random.default_rng(0).normal(size=(100, 1_000_000)).astype(np.float32)
    start = time.perf_counter()
    sm.multiply_array(A, grads, out=grads)
    seconds = time.perf_counter() - start
    print(f"A @ x in place on float32 {grads.shape}: {seconds * 1e3:.1f} ms "
          f"({2 * grads.nbytes / seconds / 1e9:.1f} GB/s moved)")
    stream = A.stream((4,), np.float32)
    for t in range(3):
        print(f"  step {t}: {stream.next(np.ones(4, dtype=np.float32))}")


def sensitivities():
    section("Sensitivity of a dense strategy under multiple participations")
    n, bands, min_sep = 1024, 8, 16
    # A banded strategy: the square root of the prefix sum truncated to 8 bands, columns
    # normalized (jax_privacy's default banded start).
    coefs = np.cumprod(np.r_[1.0, (2 * np.arange(1, bands) - 1) / (2 * np.arange(1, bands))])
    C = sum(np.diag(np.full(n - r, coefs[r]), -r) for r in range(bands))
    C /= np.linalg.norm(C, axis=0)
    k = sensitivity.minsep_true_max_participations(n, min_sep)
    start = time.perf_counter()
    exact = sensitivity.get_sensitivity_banded(C, min_sep=min_sep)
    bound = sensitivity.get_min_sep_sensitivity_upper_bound(C, min_sep=min_sep)
    seconds = time.perf_counter() - start
    print(f"n={n}, {bands} bands, min_sep={min_sep}: up to {k} participations")
    print(f"  banded (exact) {exact:.4f}, upper bound {bound:.4f}, single participation "
          f"{sensitivity.single_participation_sensitivity(C):.4f}  ({seconds * 1e3:.0f} ms)")
    print(f"  fixed epochs (4 epochs): {sensitivity.fixed_epoch_sensitivity(C, epochs=4):.4f}")


def main():
    print(f"MFKit {mfkit.__version__}")
    streaming()
    sensitivities()


if __name__ == "__main__":
    main()

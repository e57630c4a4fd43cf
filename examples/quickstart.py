"""MFKit's main job, end to end: the practitioner's path through every capability.

Run from anywhere after `pip install -e python`:  python3 examples/quickstart.py
"""
import time

import numpy as np

import mfkit
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


def main():
    print(f"MFKit {mfkit.__version__}")
    streaming()


if __name__ == "__main__":
    main()

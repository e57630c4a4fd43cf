"""MFKit's main job, end to end: the practitioner's path through every capability.

Run from anywhere after `pip install -e python`:  python3 examples/quickstart.py
"""
import os
import tempfile
import time

import numpy as np

import mfkit
from mfkit import banded
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


def banded_noise(n=2048, bands=32, participations=4, model_size=1_000_000):
    section(f"Banded DP-BandMF: a mechanism for n={n} steps, b={bands} bands, k={participations} participations")
    min_sep = n // participations                      # (k, b)-participation: every n/k steps
    start = time.perf_counter()
    C = banded.optimize(n, bands=bands, max_optimizer_steps=200, progress=50)
    print(f"optimized in {time.perf_counter() - start:.1f} s")
    default = banded.ColumnNormalizedBanded.default(n, bands)
    independent = banded.ColumnNormalizedBanded.default(n, 1)   # C = I: independent noise
    # Column-normalized strategies with b <= min_sep all have sensitivity^2 = k here, so the
    # RMSE of the prefix sums compares them at equal sensitivity.
    for name, S in (("optimized", C), ("default (Fichtenberger)", default), ("independent noise", independent)):
        sens2 = banded.minsep_sensitivity_squared(S, min_sep, participations)
        rmse = np.sqrt(sens2 * banded.per_query_error(S).mean())
        print(f"  {name:24s} sensitivity^2 {sens2}  RMSE {rmse:8.3f}")
    path = os.path.join(tempfile.mkdtemp(), "strategy.npy")
    np.save(path, C.params)
    C = banded.ColumnNormalizedBanded(np.load(path))
    print(f"saved and reloaded the strategy ({C.params.nbytes / 1e6:.1f} MB) from {path}")
    # Training: correlated noise C^{-1} z for each step, written into one preallocated buffer.
    rng = np.random.default_rng(0)
    noise = C.inverse_as_streaming_matrix().stream((model_size,), np.float32)
    buffer = np.empty(model_size, dtype=np.float32)
    for step in range(5):
        rng.standard_normal(out=buffer, dtype=np.float32)   # z_t
        start = time.perf_counter()
        noise.next(buffer, out=buffer)                      # (C^{-1} z)_t, in place
        print(f"  step {step}: noise std {buffer.std():.4f} ({(time.perf_counter() - start) * 1e3:.1f} ms)")


def main():
    print(f"MFKit {mfkit.__version__}")
    streaming()
    banded_noise()


if __name__ == "__main__":
    main()

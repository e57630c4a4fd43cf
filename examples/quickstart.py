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


def parametric_matrix_models():
    section("Parametric matrix models: a low-rank affine Hermitian matrix module")
    from mfkit.pmm import LowRankAffineHermitianMatrix
    module = LowRankAffineHermitianMatrix(matrix_size=64, rank=4, smoothing=0.1)
    module.compile(0, (8,))  # 8 features; random complex64 parameters of magnitude 1e-2
    print(module, "->", module.get_output_shape((8,)))
    x = np.random.default_rng(1).normal(size=(1024, 8)).astype(np.float32)
    out = np.empty((1024, 64, 64), dtype=np.complex64)
    module(x, out=out)  # prepares the parameter set once
    start = time.perf_counter()
    module(x, out=out)
    seconds = time.perf_counter() - start
    print(f"M(x) for {x.shape[0]} samples into a preallocated {out.shape} {out.dtype}: "
          f"{seconds * 1e3:.1f} ms ({out.nbytes / seconds / 1e9:.1f} GB/s written)")
    print("Hermitian:", np.array_equal(out, out.conj().transpose(0, 2, 1)),
          "| lowest eigenvalues of M(x_0):", np.round(np.linalg.eigvalsh(out[0])[:3], 5))
    saved = module.serialize()
    clone = LowRankAffineHermitianMatrix()
    clone.deserialize(saved)
    print("serialize/deserialize round trip:", np.array_equal(clone(x)[0], out),
          "| complex128:", module.astype("double")(x)[0].dtype)


def main():
    print(f"MFKit {mfkit.__version__}")
    streaming()
    parametric_matrix_models()


if __name__ == "__main__":
    main()

"""MFKit's main job, end to end: the practitioner's path through every capability.

Run from anywhere after `pip install -e python`:  python3 examples/quickstart.py
"""
import os
import tempfile
import time

import numpy as np

import mfkit
from mfkit import sensitivity
from mfkit import kron
from mfkit import banded
from mfkit import buffered_toeplitz
from mfkit import dense
from mfkit import pmm
from mfkit import streaming_matrix as sm
from mfkit import toeplitz


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
    # The default banded strategy (the prefix sum's square root truncated to 8 bands, columns
    # normalized), as a dense matrix.
    C = banded.ColumnNormalizedBanded.default(n, bands).materialize()
    k = sensitivity.minsep_true_max_participations(n, min_sep)
    start = time.perf_counter()
    exact = sensitivity.get_sensitivity_banded(C, min_sep=min_sep)
    bound = sensitivity.get_min_sep_sensitivity_upper_bound(C, min_sep=min_sep)
    seconds = time.perf_counter() - start
    print(f"n={n}, {bands} bands, min_sep={min_sep}: up to {k} participations")
    print(f"  banded (exact) {exact:.4f}, upper bound {bound:.4f}, single participation "
          f"{sensitivity.single_participation_sensitivity(C):.4f}  ({seconds * 1e3:.0f} ms)")
    print(f"  fixed epochs (4 epochs): {sensitivity.fixed_epoch_sensitivity(C, epochs=4):.4f}")


def kronecker():
    section("Kronecker sums: build, project back, fused log-determinant")
    rng = np.random.default_rng(1)
    dims = (8, 10, 12)
    factors = [a + a.T for a in (rng.normal(size=(d, d)) for d in dims)]
    M = kron.kronsum(*factors)                       # 960 x 960, dense
    noisy = M + 0.01 * rng.normal(size=M.shape)
    back = kron.ks_project(noisy, dims)              # nearest Kronecker sum: 3 factors
    error = np.linalg.norm(kron.kronsum(*back) - M) / np.linalg.norm(M)
    print(f"kronsum of {dims} -> {M.shape}; projecting a noisy copy back: relative error {error:.1e}")

    evals = [rng.uniform(0.5, 2.0, d) for d in (200, 250, 300)]   # eigenvalues of 3 factors
    n = 200 * 250 * 300
    w = kron.kronsum_diag(*evals)                    # the N = 1.5e7 eigenvalues of the sum
    start = time.perf_counter()
    kron.kronsum_diag(*evals, out=w)                 # again, in place (no page faults)
    t_build = time.perf_counter() - start
    start = time.perf_counter()
    parts = kron.ks_project_diag(w, [200, 250, 300])  # back to 3 factors, one pass
    t_project = time.perf_counter() - start
    round_trip = np.max(np.abs(kron.kronsum_diag(*parts) - w)) / np.max(np.abs(w))
    start = time.perf_counter()
    logdet = kron.kronsum_diag_reduce(evals, "log")  # never holds the N-vector
    t_logdet = time.perf_counter() - start
    start = time.perf_counter()
    reference = np.log(w).sum()
    t_numpy = time.perf_counter() - start
    print(f"kronsum_diag N = {n:.1e}: {t_build * 1e3:.1f} ms ({8 * n / t_build / 1e9:.1f} GB/s written); "
          f"ks_project_diag: {t_project * 1e3:.1f} ms; round trip error {round_trip:.1e}")
    print(f"log det = {logdet:.6f} in {t_logdet * 1e3:.1f} ms, constant memory "
          f"(NumPy log(w).sum(): {t_numpy * 1e3:.1f} ms on the materialized w; "
          f"relative difference {abs(logdet - reference) / abs(reference):.1e})")


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


def strategy_families(n=1_000_000, bands=64, model_size=1_000_000):
    section(f"Strategies for n={n:,} steps, single participation: banded Toeplitz and BLT")
    start = time.perf_counter()
    coef = toeplitz.optimize_banded_toeplitz(n, bands, max_optimizer_steps=100)
    t_toeplitz = time.perf_counter() - start
    start = time.perf_counter()
    blt = buffered_toeplitz.optimize(n=n)                    # max error, best number of buffers
    t_blt = time.perf_counter() - start
    # RMSE of the last prefix sum (the largest error) at noise multiplier 1: sqrt(error x sens^2).
    rmse_toeplitz = np.sqrt(toeplitz.per_query_error(strategy_coef=coef, n=n)[-1]
                            * toeplitz.sensitivity_squared(coef, n))
    rmse_blt = np.sqrt(buffered_toeplitz.max_error(blt.inverse(), n) * buffered_toeplitz.sensitivity_squared(blt, n))
    print(f"  banded Toeplitz, {bands} bands: max RMSE {rmse_toeplitz:8.3f}, optimized in {t_toeplitz:.2f} s, "
          f"noise state {bands - 1} slices")
    print(f"  BLT, {len(blt.buf_decay)} buffers:      max RMSE {rmse_blt:8.3f}, optimized in {t_blt:.2f} s, "
          f"noise state {len(blt.buf_decay)} slices")
    rng = np.random.default_rng(0)
    noise = blt.inverse_as_streaming_matrix().stream((model_size,), np.float32)
    z = np.empty(model_size, dtype=np.float32)
    start = time.perf_counter()
    for _ in range(10):
        rng.standard_normal(out=z, dtype=np.float32)
        noise.next(z, out=z)                                # (C^{-1} z)_t, float32, in place
    print(f"  BLT noise for a {model_size:,}-parameter model: {(time.perf_counter() - start) / 10 * 1e3:.1f} ms per step "
          "(drawing z included)")
    start = time.perf_counter()
    X = dense.optimize(256)                                 # the optimal unstructured strategy
    C = dense.strategy_from_X(X)
    print(f"  dense optimum at n=256 (the reference for all families): mean error "
          f"{dense.per_query_error(strategy_matrix=C).mean():.4f} in {time.perf_counter() - start:.2f} s")


def trained_pmm():
    section("Parametric matrix models: training an eigenvalue PMM (no JAX)")
    rng = np.random.default_rng(0)
    X = np.sort(rng.uniform(-2, 2, 120))[:, None]
    Y = -np.sqrt(0.25 + X ** 2) - X ** 2 / 5 + 0.3 * X + 0.02 * rng.standard_normal(X.shape)
    model = pmm.Model([pmm.AffineEigenvaluePMM(matrix_size=6, num_eig=1, which="SA", init_magnitude=0.5)], rng=0)
    model.compile(0, (1,))
    before = float(np.mean((model(X) - Y) ** 2))
    start = time.perf_counter()
    model.train(X, Y, loss_fn="mse", lr=0.05, batch_size=len(X), num_epochs=150, early_stopping_patience=50,
                early_stopping_tolerance=0.0, verbose=False, batch_seed=0)
    after = float(np.mean((model(X) - Y) ** 2))
    print(f"the ground state of M(x) = M_0 + x M_1 (6 x 6) fitted to 120 points: MSE {before:.4f} -> {after:.5f} "
          f"in {time.perf_counter() - start:.2f} s (eigenvalues, gradients and Adam in MFKit)")


def main():
    print(f"MFKit {mfkit.__version__}")
    streaming()
    banded_noise()
    strategy_families()
    sensitivities()
    kronecker()
    parametric_matrix_models()
    trained_pmm()


if __name__ == "__main__":
    main()

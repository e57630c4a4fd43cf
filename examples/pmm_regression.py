"""Fitting a parametric matrix model to a small regression problem, notebook style.

Run from anywhere:  python3 examples/pmm_regression.py [--out fit.png] [--epochs 300]

An AffineEigenvaluePMM learns y(x) = -sqrt(1/4 + x^2) - x^2 / 5 + 3x / 10 on [-2, 2] (the lower
branch of an avoided level crossing, bent by a weaker coupling) from noisy samples, as the
lowest eigenvalue of a 6 x 6 Hermitian matrix M(x) = M_0 + x M_1: no JAX, the eigenvalues, their
gradients and the Adam steps of `Model.train` all run in MFKit. With matplotlib installed the fit is drawn to a
PNG; otherwise the fit metrics are printed only.
"""
import argparse
import time

import numpy as np

from mfkit import pmm

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="pmm_regression.png", help="where to write the plot (PNG)")
parser.add_argument("--epochs", type=int, default=300)
args = parser.parse_args()

# %% 1. Data: 120 training points, a dense grid for the plot.
rng = np.random.default_rng(0)
X = np.sort(rng.uniform(-2, 2, 120))[:, None]
truth = lambda x: -np.sqrt(0.25 + x ** 2) - x ** 2 / 5 + 0.3 * x  # noqa: E731
Y = truth(X) + 0.02 * rng.standard_normal(X.shape)
grid = np.linspace(-2, 2, 400)[:, None]

# %% 2. The model: the ground state (num_eig=1, "SA") of M(x), complex64 parameters.
model = pmm.Model([pmm.AffineEigenvaluePMM(matrix_size=6, num_eig=1, which="SA", init_magnitude=0.5)], rng=0)
model.compile(0, (1,))


def metrics(pred, y):
    mse = float(np.mean((pred - y) ** 2))
    return mse, 1 - mse / float(np.var(y))


mse0, _ = metrics(model(X), Y)

# %% 3. Train: full-batch Adam (the release's optimizer); the best epoch's parameters are kept.
t0 = time.perf_counter()
model.train(X, Y, loss_fn="mse", lr=0.05, batch_size=len(X), num_epochs=args.epochs,
            early_stopping_patience=50, early_stopping_tolerance=0.0, verbose=False, batch_seed=0)
seconds = time.perf_counter() - t0
mse, r2 = metrics(model(X), Y)
print(f"trained {model.get_num_trainable_floats()} parameters in {seconds:.2f} s: "
      f"MSE {mse0:.4f} -> {mse:.5f}, R^2 = {r2:.4f}")

# %% 4. The plot (optional).
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no plot written")
else:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(X[:, 0], Y[:, 0], ".", label="data")
    ax.plot(grid[:, 0], truth(grid[:, 0]), ":", color="gray", label="truth")
    ax.plot(grid[:, 0], model(grid)[:, 0], "-", label="PMM ground state")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"AffineEigenvaluePMM fit (R$^2$ = {r2:.3f})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"plot written to {args.out}")

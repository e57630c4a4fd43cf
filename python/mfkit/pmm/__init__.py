"""Parametric matrix models (parametricmatrixmodels' modules, September 2025 release).

For N samples of p real features, the matrix modules map a sample x to the Hermitian n x n matrix

    M(x) = M_0 + x_1 M_1 + ... + x_p M_p + s C,    C = i sum_{i>j} [M_i, M_j]

(commutator [A, B] = AB - BA; s = smoothing, 0 disables it; without a bias term there is no
M_0), and the eigen modules and PMMs take its eigenpairs:

- matrix modules: `LowRankAffineHermitianMatrix` (M_i = sum_k lambdas[i, k] u_ik u_ik^H) and
  `AffineHermitianMatrix` (Ms given; MFKit reads their upper triangles);
- eigen modules: `Eigenvalues`, `Eigenvectors`, `Eigensystem` on batches (N, n, n), and the
  function `eigh` (MFKit's batched solver, many small matrices per SIMD instruction);
- PMMs: `AffineEigenvaluePMM`, `LowRankAffineEigenvaluePMM` (the selected eigenvalues of M(x)),
  `AffineObservablePMM`, `LowRankAffineObservablePMM` (transition sums of the selected
  eigenvectors), each with `value_and_grad(X, Y, loss_fn="mse")`;
- `Model`: training with the release's Adam (`train`), `predict`, `save`, `Model.from_file`.

    >>> import numpy as np, mfkit
    >>> m = mfkit.pmm.LowRankAffineHermitianMatrix(matrix_size=4, rank=2, smoothing=0.1)
    >>> m.compile(0, (3,))                      # random complex64 parameters, 3 features
    >>> out, state = m(np.ones((5, 3), np.float32))
    >>> out.shape, out.dtype
    ((5, 4, 4), dtype('complex64'))

Selection (`which`, `num_eig` = k): the spectrum is sorted by the eigenvalue (A) or its
magnitude (M, a stable sort: equal magnitudes keep ascending order), s the sorted indices,
h = n // 2: S keeps s[:k], L s[-k:] (the largest last), E s[:k//2] then s[-(k - k//2):],
I s[h - k//2 : h] then s[h : h + k - k//2]. Eigenvectors are unit vectors whose first component
is real and >= 0 (the release leaves the phase to LAPACK, which makes it real of either sign).

Gradients (`value_and_grad`): analytic, in jax.grad's convention for complex parameters
(dL/dRe - i dL/dIm). A loss of the outputs gives per sample a Hermitian sensitivity
G = V W V^H of M(x): W = diag(dL/dlambda) for eigenvalues (Hellmann-Feynman); for observables,
W couples only a selected eigenvector j and an unselected one t, W_jt = (V^H K V)_jt /
(lambda_j - lambda_t) with K = sum 2 g D P D (the perturbation formula for the projector P).
Pairs inside the selection cancel exactly and are never formed, so equal eigenvalues give
finite gradients (the release's are NaN whenever two eigenvalues of M(x) are equal); a selected
and an unselected eigenvalue closer than 1e-12 of the spectrum's scale (the selection
boundary, where the output jumps) contribute 0 (the gradient of either side's choice has
1/gap terms there). For eigenvalue PMMs with exactly equal selected eigenvalues, the gradient
is the one of the eigenvectors returned (any split of a degenerate pair is a valid one-sided
derivative). The smoothing matrix's derivative is included: dC contributes
i [S_<a - T_>a, s sum_x G] to matrix a (S, T the sums of the matrices before and after a).

Costs. Matrix modules: preparation O(q r n^2) (low rank) or O(q n^3) (full rank, smoothing)
once per parameter set, then O(N p n^2) per call, over the threads. Eigen modules and PMMs:
O(N ((16/3) n^3 + 4 k n^2)) for the batched eigensolver (eigenvectors of the selected columns
only; all n for the observable PMMs), plus O(N (p + k) n^2) for a gradient.

Differences on purpose:
- Features must be a real NumPy array (float32 or float64; any strides; not copied); the
  outputs have the parameters' precision. The matrix modules' `__call__` takes `out=`.
- `compile(rng, ...)` takes an integer seed or a `numpy.random.Generator` (no JAX key); random
  parameters are complex64 / float32 of magnitude `init_magnitude` from NumPy's generator, so
  they differ from the release's for the same seed. The PMMs accept `rng=None` in `__call__`.
- Parameters are read-only copies, changed with `set_params` (safe while other threads call
  the module: each call uses the old or the new parameters). `set_precision(64)` needs no
  JAX_ENABLE_X64. `lambdas` and `us` are given together or not at all.
- `num_eig` larger than n is a ValueError (the release returns n columns).
- `Eigensystem` returns the documented (N, n + 1, k) layout (the release's call raises).
- `deserialize` accepts MFKit's and the release's dictionaries (versions are not compared;
  the layout is checked). `Model.from_file` reads the release's files with a restricted
  unpickler.
- A callable `loss_fn` must return (loss, dloss/dY_pred): there is no automatic differentiation.
- `name()` is a method (as in this release). C = i sum_{i>j} [M_i, M_j], the sign of the current
  parametricmatrixmodels (the release's C has the opposite sign).
"""
from ._eigen import Eigensystem, Eigenvalues, Eigenvectors, eigh
from ._matrices import AffineHermitianMatrix, LowRankAffineHermitianMatrix
from ._model import Model
from ._models import (AEPMM, AOPMM, LRAEPMM, LRAOPMM, AffineEigenvaluePMM, AffineObservablePMM,
                      LowRankAffineEigenvaluePMM, LowRankAffineObservablePMM)
from ._observables import Bias, LowRankTransitionAmplitudeSum, TransitionAmplitudeSum

__all__ = ["LowRankAffineHermitianMatrix", "AffineHermitianMatrix", "Eigenvalues", "Eigenvectors", "Eigensystem",
           "eigh", "AffineEigenvaluePMM", "LowRankAffineEigenvaluePMM", "AffineObservablePMM",
           "LowRankAffineObservablePMM", "AEPMM", "LRAEPMM", "AOPMM", "LRAOPMM", "Model",
           "TransitionAmplitudeSum", "LowRankTransitionAmplitudeSum", "Bias"]

# The public names live in private submodules; they are documented, pickled and fuzzed as mfkit.pmm's.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("mfkit.pmm._"):
        _obj.__module__ = __name__
del _name, _obj

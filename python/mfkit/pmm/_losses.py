"""The release's loss functions (`make_loss_fn`) with their derivatives with respect to the
prediction: each returns (loss, dloss/dY_pred). Means are over all entries; Y_unc defaults to
ones; the derivative of |t| at 0 is taken as 0 (jax's)."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import numpy as np

LOSSES = ("mse", "mae", "mse_unc", "mae_unc", "mre", "mre_unc", "mrd", "mrd_unc",
          "mse_unsupervised", "mae_unsupervised", "mre_unsupervised")


def evaluate(loss_fn: Any, X: np.ndarray, Y: Optional[np.ndarray], Y_unc: Optional[np.ndarray],
             pred: np.ndarray) -> Tuple[float, np.ndarray]:
    """(loss, dloss/dpred) for a loss name or a callable `loss_fn(X, Y, Y_pred)` (or
    `loss_fn(X, Y, Y_unc, Y_pred)` when Y_unc is given) returning (loss, dloss/dY_pred). O(size)."""
    if callable(loss_fn):
        result = loss_fn(X, Y, pred) if Y_unc is None else loss_fn(X, Y, Y_unc, pred)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError("a callable loss_fn must return (loss, dloss/dY_pred): MFKit has no automatic "
                            "differentiation")
        value, grad = result
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != pred.shape:
            raise ValueError(f"loss_fn's gradient has shape {grad.shape}, expected {pred.shape}")
        return float(value), grad
    if loss_fn not in LOSSES:
        raise ValueError(f"Unknown loss function {loss_fn!r}; expected one of {list(LOSSES)} or a callable")
    target = X if loss_fn.endswith("_unsupervised") else Y
    if target is None:
        raise ValueError(f"loss {loss_fn!r} needs targets Y")
    pred = pred.astype(np.float64)
    target = np.asarray(target, dtype=np.float64)
    if target.shape != pred.shape:
        raise ValueError(f"targets of shape {target.shape} do not match the predictions' {pred.shape}")
    unc = np.ones_like(pred) if Y_unc is None else np.asarray(Y_unc, dtype=np.float64)
    size = pred.size
    r = pred - target
    kind = loss_fn.split("_")[0]
    with_unc = loss_fn.endswith("_unc")
    if kind == "mse":
        s = r / unc if with_unc else r
        return float(np.mean(s * s)), 2 * s / (unc if with_unc else 1) / size
    if kind == "mae":
        s = r / unc if with_unc else r
        return float(np.mean(np.abs(s))), np.sign(s) / (unc if with_unc else 1) / size
    if kind == "mre":
        den = (target + 1e-4) * (unc if with_unc else 1)
        s = r / den
        return float(np.mean(np.abs(s))), np.sign(s) / den / size
    # mrd: |(p - y) / ((2 (y + p) + 1e-4) u)|
    den = (2 * (target + pred) + 1e-4) * (unc if with_unc else 1)
    s = r / den
    ds = (1 / den) - r * 2 * (unc if with_unc else 1) / (den * den)
    return float(np.mean(np.abs(s))), np.sign(s) * ds / size


def entries(loss_fn: str, X: np.ndarray, Y: Optional[np.ndarray], Y_unc: Optional[np.ndarray],
            pred: np.ndarray) -> np.ndarray:
    """The per-entry terms whose mean is the named loss (so batch losses are means of slices). O(size)."""
    target = np.asarray(X if loss_fn.endswith("_unsupervised") else Y, dtype=np.float64)
    pred = pred.astype(np.float64)
    unc = 1.0 if Y_unc is None or not loss_fn.endswith("_unc") else np.asarray(Y_unc, dtype=np.float64)
    r = pred - target
    kind = loss_fn.split("_")[0]
    if kind == "mse":
        return (r / unc) ** 2
    if kind == "mae":
        return np.abs(r / unc)
    if kind == "mre":
        return np.abs(r / ((target + 1e-4) * unc))
    return np.abs(r / ((2 * (target + pred) + 1e-4) * unc))


def is_unsupervised(loss_fn: Any) -> bool:
    return isinstance(loss_fn, str) and loss_fn.endswith("_unsupervised")


LossFn = Callable[..., Tuple[float, np.ndarray]]

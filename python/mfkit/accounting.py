"""Privacy accounting for matrix-factorization (and DP-SGD) training: the noise for a target
(ε, δ), and the ε of a noise multiplier. Needs Google's dp-accounting
(`pip install 'mfkit[accounting]'`); `import mfkit` does not import it.

The model. Training releases A G + B z = B (C G + z) for gradients G (each example's clipped to
norm `clip_norm`) and z ~ N(0, s^2 I), with the strategy C; if one example's participations (a
(k, b)-min-sep or fixed-epoch pattern, fixed in advance, no sampling) change C G by at most
Δ · clip_norm in the Frobenius norm (Δ = the strategy's sensitivity, from `mfkit.sensitivity`
or `banded.minsep_sensitivity_squared`), the whole run is one Gaussian mechanism with noise
multiplier σ = s / (Δ · clip_norm). So

    s = σ · Δ · clip_norm          (the per-step standard deviation of z, per coordinate)

and σ is calibrated to (ε, δ) once for the whole run. DP-SGD is C = I, with Δ = sqrt(k) for k
participations. The Gaussian mechanism is calibrated by dp_accounting:

- `accountant="exact"` (default): the analytic Gaussian mechanism (Balle & Wang 2018),
  `dp_accounting.get_sigma_gaussian` / `get_epsilon_gaussian`: the smallest σ, exactly;
- `"pld"`: a privacy-loss-distribution accountant (`dp_accounting.pld.PLDAccountant`) on a
  `GaussianDpEvent`, through `dp_accounting.calibrate_dp_mechanism` (pessimistic
  discretization: σ slightly above the exact one);
- `"rdp"`: the Rényi-DP accountant (`dp_accounting.rdp.RdpAccountant`), looser still.

Amplification by subsampling (Poisson or cyclic sampling) is not modeled here: such runs need
an accountant of their own (e.g. jax_privacy's `DpsgdTrainingAccountant`).

    >>> from mfkit import accounting
    >>> cal = accounting.calibrate_noise(1.0, 1e-5, sensitivity=2.0)
    >>> round(cal.noise_multiplier, 4), round(cal.stddev, 4)
    (3.7306, 7.4613)
    >>> round(accounting.epsilon(cal.noise_multiplier, 1e-5), 6)
    1.0

Cost: "exact" a root search of about 50 evaluations of the normal CDF (microseconds); "pld"
and "rdp" a root search over accountants (tens of milliseconds to a second).
"""
import math
from collections import namedtuple
from typing import Optional

from . import _args

__all__ = ["NoiseCalibration", "noise_multiplier", "epsilon", "calibrate_noise", "ACCOUNTANTS"]

#: The accountants `accountant=` names.
ACCOUNTANTS = ("exact", "pld", "rdp")

#: What `calibrate_noise` returns: σ for the whole run, the per-step standard deviation
#: s = σ Δ clip_norm of z, and the sensitivity Δ it was computed for.
NoiseCalibration = namedtuple("NoiseCalibration", ["noise_multiplier", "stddev", "sensitivity"])

_TINY = 1e-100   # below this dp_accounting's root search overflows (ε beyond 1e199)
_INSTALL = "pip install 'mfkit[accounting]' (or pip install dp-accounting)"


def _dp_accounting():
    try:
        import dp_accounting
    except ImportError as exc:
        raise ImportError(f"mfkit.accounting needs Google's dp-accounting package: {_INSTALL}") from exc
    return dp_accounting


def _real(value, name, function, low=0.0, high=math.inf, open_high=True):
    value = _args.real(value, name, function)
    if not (low < value and (value < high if open_high else value <= high)):
        bound = f"{high}" if high != math.inf else "infinity"
        raise ValueError(f"{function}: {name} must be in ({low}, {bound}{')' if open_high else ']'}, got {value}")
    return value


def _accountant(accountant, function):
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"{function}: accountant must be one of {ACCOUNTANTS}, got {accountant!r}")
    dp = _dp_accounting()
    if accountant == "pld":
        return dp, lambda: dp.pld.PLDAccountant()
    if accountant == "rdp":
        return dp, lambda: dp.rdp.RdpAccountant()
    return dp, None


def noise_multiplier(epsilon: float, delta: float, *, accountant: str = "exact") -> float:
    """The noise multiplier σ of a Gaussian mechanism that is (epsilon, delta)-DP.

    Parameters
    ----------
    epsilon : float
        Target ε > 0.
    delta : float
        Target δ in (0, 1).
    accountant : {"exact", "pld", "rdp"}
        How dp_accounting calibrates (see the module docstring).

    Returns
    -------
    float
        σ: noise of standard deviation σ · sensitivity · clip_norm gives (ε, δ).

    Raises
    ------
    ValueError
        ε or δ out of range, or an unknown accountant.
    ImportError
        dp-accounting is not installed.

    Cost: microseconds ("exact"); up to about a second ("pld", "rdp").

    Examples
    --------
    >>> round(noise_multiplier(1.0, 1e-5), 4)
    3.7306
    """
    epsilon = _real(epsilon, "epsilon", "noise_multiplier")
    delta = _real(delta, "delta", "noise_multiplier", high=1.0)
    dp, make = _accountant(accountant, "noise_multiplier")
    exact = float(dp.get_sigma_gaussian(epsilon, delta))
    if make is None:
        return exact
    # The accountants' σ is at least about the exact one; start the bracket search there
    # (a σ far below it makes a PLD with billions of points).
    bracket = dp.LowerEndpointAndGuess(0.5 * exact, exact)
    return float(dp.calibrate_dp_mechanism(make, dp.GaussianDpEvent, epsilon, delta, bracket, tol=1e-7))


def epsilon(noise_multiplier: float, delta: float, *, accountant: str = "exact") -> float:
    """The ε at `delta` of a Gaussian mechanism with noise multiplier σ = `noise_multiplier`.

    Parameters
    ----------
    noise_multiplier : float
        σ > 0 (the noise standard deviation over sensitivity · clip_norm).
    delta : float
        δ in (0, 1).
    accountant : {"exact", "pld", "rdp"}
        How dp_accounting computes ε (see the module docstring).

    Returns
    -------
    float
        The smallest ε (0.0 when the mechanism is (0, δ)-DP).

    Raises
    ------
    ValueError
        σ or δ out of range, or an unknown accountant.
    ImportError
        dp-accounting is not installed.

    Cost: microseconds ("exact"); milliseconds ("pld", "rdp").

    Examples
    --------
    >>> round(epsilon(3.7306, 1e-5), 3)
    1.0
    """
    sigma = _real(noise_multiplier, "noise_multiplier", "epsilon")
    delta = _real(delta, "delta", "epsilon", high=1.0)
    dp, make = _accountant(accountant, "epsilon")
    if sigma < _TINY:
        raise ValueError(f"epsilon: noise_multiplier={sigma} is below {_TINY} (ε would be astronomically large)")
    if make is None:
        return float(dp.get_epsilon_gaussian(sigma, delta))
    acc = make()
    acc.compose(dp.GaussianDpEvent(sigma))
    return float(acc.get_epsilon(delta))


def calibrate_noise(epsilon: float, delta: float, sensitivity: Optional[float] = None, *,
                    sensitivity_squared: Optional[float] = None, clip_norm: float = 1.0,
                    accountant: str = "exact") -> NoiseCalibration:
    """The noise for a strategy of sensitivity Δ to be (epsilon, delta)-DP.

    Give the sensitivity as `sensitivity` (the functions of `mfkit.sensitivity` return it) or
    as `sensitivity_squared` (`banded.minsep_sensitivity_squared` returns that).

    Parameters
    ----------
    epsilon, delta : float
        The privacy target (ε > 0, 0 < δ < 1) for the whole run.
    sensitivity : float, optional
        Δ > 0 of the strategy C under the participation pattern.
    sensitivity_squared : float, optional
        Δ² > 0 instead of Δ.
    clip_norm : float
        The clipping norm of each example's gradient (1.0: noise in units of it).
    accountant : {"exact", "pld", "rdp"}
        As in `noise_multiplier`.

    Returns
    -------
    NoiseCalibration
        `(noise_multiplier, stddev, sensitivity)`: σ, s = σ Δ clip_norm (the standard deviation
        of z, per coordinate and step, before C^{-1}) and Δ.

    Raises
    ------
    ValueError
        Neither or both of sensitivity and sensitivity_squared, or a value out of range.
    ImportError
        dp-accounting is not installed.

    Cost: that of `noise_multiplier`.

    Examples
    --------
    >>> from mfkit import banded
    >>> C = banded.ColumnNormalizedBanded.default(64, 4)
    >>> k2 = banded.minsep_sensitivity_squared(C, min_sep=16, max_participations=4)
    >>> cal = calibrate_noise(2.0, 1e-6, sensitivity_squared=k2, clip_norm=0.5)
    >>> cal.sensitivity, round(cal.stddev / cal.noise_multiplier, 6)
    (2.0, 1.0)
    """
    if (sensitivity is None) == (sensitivity_squared is None):
        raise ValueError("calibrate_noise: give exactly one of sensitivity and sensitivity_squared")
    if sensitivity is None:
        sensitivity = math.sqrt(_real(sensitivity_squared, "sensitivity_squared", "calibrate_noise"))
    sensitivity = _real(sensitivity, "sensitivity", "calibrate_noise")
    clip_norm = _real(clip_norm, "clip_norm", "calibrate_noise")
    sigma = noise_multiplier(epsilon, delta, accountant=accountant)
    return NoiseCalibration(sigma, sigma * sensitivity * clip_norm, sensitivity)

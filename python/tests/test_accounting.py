"""mfkit.accounting against dp_accounting called directly and against the analytic Gaussian
mechanism's closed form (Balle & Wang 2018, Theorem 8)."""
import doctest
import math
import sys

import numpy as np
import pytest

from conftest import optional_module
from mfkit import accounting, banded, sensitivity

dp_accounting = optional_module("dp_accounting")

POINTS = [(0.5, 1e-5), (1.0, 1e-6), (2.0, 1e-5), (4.0, 1e-3), (8.0, 1e-9)]


def closed_form_delta(eps, sigma):
    """δ(ε) of the Gaussian mechanism of sensitivity 1 and noise σ:
    Φ(1/(2σ) − εσ) − e^ε Φ(−1/(2σ) − εσ), with Φ(x) = erfc(−x/√2)/2."""
    phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    return phi(1 / (2 * sigma) - eps * sigma) - math.exp(eps) * phi(-1 / (2 * sigma) - eps * sigma)


@pytest.mark.parametrize("eps,delta", POINTS)
def test_exact_matches_closed_form_and_dp_accounting(eps, delta):
    sigma = accounting.noise_multiplier(eps, delta)
    assert sigma == dp_accounting.get_sigma_gaussian(eps, delta)
    assert closed_form_delta(eps, sigma) == pytest.approx(delta, rel=1e-7)
    # the smallest such σ: a little less noise breaks the target
    assert closed_form_delta(eps, sigma * (1 - 1e-5)) > delta
    assert accounting.epsilon(sigma, delta) == pytest.approx(eps, rel=1e-9)
    assert accounting.epsilon(sigma, delta) == dp_accounting.get_epsilon_gaussian(sigma, delta)


@pytest.mark.parametrize("eps,delta", POINTS[:3])
def test_accountants_against_dp_accounting(eps, delta):
    exact = accounting.noise_multiplier(eps, delta)
    pld = accounting.noise_multiplier(eps, delta, accountant="pld")
    rdp = accounting.noise_multiplier(eps, delta, accountant="rdp")
    assert exact * (1 - 1e-6) <= pld <= exact * 1.001   # PLD: tight, pessimistic
    assert rdp >= exact                                 # RDP: looser
    for name, make, sigma in (("pld", dp_accounting.pld.PLDAccountant, pld),
                              ("rdp", dp_accounting.rdp.RdpAccountant, rdp)):
        acc = make()
        acc.compose(dp_accounting.GaussianDpEvent(sigma))
        direct = acc.get_epsilon(delta)
        assert direct == pytest.approx(eps, rel=1e-4)
        assert accounting.epsilon(sigma, delta, accountant=name) == pytest.approx(direct, rel=1e-12)


def test_calibrate_noise_with_any_sensitivity():
    n, min_sep, k = 64, 16, 4
    C = banded.ColumnNormalizedBanded.default(n, 8)
    s2 = banded.minsep_sensitivity_squared(C, min_sep=min_sep, max_participations=k)
    s = sensitivity.get_sensitivity_banded(C.materialize(), min_sep=min_sep, max_participations=k)
    a = accounting.calibrate_noise(2.0, 1e-6, sensitivity_squared=s2, clip_norm=0.5)
    b = accounting.calibrate_noise(2.0, 1e-6, s, clip_norm=0.5)
    sigma = dp_accounting.get_sigma_gaussian(2.0, 1e-6)
    assert a.noise_multiplier == b.noise_multiplier == sigma
    assert a.sensitivity == 2.0 and b.sensitivity == pytest.approx(2.0, rel=1e-12)
    assert a.stddev == pytest.approx(sigma * 2.0 * 0.5, rel=1e-15)
    # DP-SGD: C = I has sensitivity sqrt(k)
    dpsgd = accounting.calibrate_noise(2.0, 1e-6, sensitivity.get_sensitivity_banded(np.eye(n), min_sep, k))
    assert dpsgd.stddev == pytest.approx(sigma * 2.0, rel=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="epsilon must be in"):
        accounting.noise_multiplier(0.0, 1e-5)
    with pytest.raises(ValueError, match="epsilon must be in"):
        accounting.noise_multiplier(math.inf, 1e-5)
    with pytest.raises(ValueError, match="delta must be in"):
        accounting.noise_multiplier(1.0, 1.0)
    with pytest.raises(ValueError, match="noise_multiplier must be in"):
        accounting.epsilon(-1.0, 1e-5)
    with pytest.raises(TypeError, match="epsilon must be a real number"):
        accounting.noise_multiplier("1", 1e-5)
    with pytest.raises(ValueError, match="accountant must be one of"):
        accounting.epsilon(1.0, 1e-5, accountant="moments")
    with pytest.raises(ValueError, match="exactly one of"):
        accounting.calibrate_noise(1.0, 1e-5)
    with pytest.raises(ValueError, match="exactly one of"):
        accounting.calibrate_noise(1.0, 1e-5, 1.0, sensitivity_squared=1.0)
    with pytest.raises(ValueError, match="sensitivity_squared must be in"):
        accounting.calibrate_noise(1.0, 1e-5, sensitivity_squared=0)
    with pytest.raises(ValueError, match="clip_norm must be in"):
        accounting.calibrate_noise(1.0, 1e-5, 1.0, clip_norm=-1)


def test_missing_dp_accounting_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dp_accounting", None)
    with pytest.raises(ImportError, match=r"mfkit\[accounting\]"):
        accounting.noise_multiplier(1.0, 1e-5)


def test_doctests():
    failures, tried = doctest.testmod(accounting, verbose=False)
    assert tried > 0 and failures == 0

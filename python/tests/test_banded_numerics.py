"""Numerics of the banded error model at the edges: strategies close to singular (against exact
rational arithmetic and MFKit's own streaming product), params of extreme scale, and the
gradient there."""
from fractions import Fraction

import numpy as np
import pytest

from mfkit import banded
from mfkit import streaming_matrix as sm
from mfkit.banded import ColumnNormalizedBanded


def unit_rows(n, b, rng, tiny_rows=(), tiny=Fraction(1, 2**20)):
    """params (float) and their exact column norms: each row is the stereographic image
    (2a_1, ..., 2a_{k-1}, 1 - |a|^2) of dyadic a, so its norm 1 + |a|^2 is rational and the
    floats are exact; the diagonal (entry 0) of the rows in tiny_rows is 2 * tiny."""
    params = np.zeros((n, b))
    exact = [[Fraction(0)] * b for _ in range(n)]
    for j in range(n):
        k = min(b, n - j)
        if k == 1:
            a = []
        else:
            a = [Fraction(int(rng.integers(-5, 6)), 8) for _ in range(k - 1)]   # |a|^2 < 1
            if j in tiny_rows:
                a[0] = tiny
            elif a[0] == 0:
                a[0] = Fraction(1, 8)
        s = sum(x * x for x in a)
        row = [2 * x for x in a] + [1 - s]
        row = row[-1:] + row[:-1] if j not in tiny_rows else row   # a sizable diagonal unless tiny
        norm = 1 + s
        for r in range(k):
            params[j, r] = float(row[r])
            assert Fraction(params[j, r]) == row[r]
            exact[j][r] = row[r] / norm
    return params, exact


def exact_errors(exact, A):
    """e_t = ||(A C^{-1})[t, :]||^2 in rational arithmetic (C from its exact unit columns)."""
    n, b = len(exact), len(exact[0])
    C = [[Fraction(0)] * n for _ in range(n)]
    for j in range(n):
        for r in range(min(b, n - j)):
            C[j + r][j] = exact[j][r]
    inv = [[Fraction(0)] * n for _ in range(n)]   # C^{-1} by forward substitution, column by column
    for col in range(n):
        for i in range(n):
            s = Fraction(int(i == col)) - sum(C[i][k] * inv[k][col] for k in range(max(0, i - b + 1), i))
            inv[i][col] = s / C[i][i]
    M = [[sum(A[t][k] * inv[k][s] for k in range(n)) for s in range(n)] for t in range(n)]
    return [sum(x * x for x in row) for row in M]


def prefix(n):
    return [[Fraction(int(k <= t)) for k in range(n)] for t in range(n)]


def momentum(n, mu=Fraction(1, 2)):
    """momentum_sgd_matrix(mu): y_t = sum_{s <= t} sum_{k <= s} mu^(s - k) x_k."""
    return [[sum(mu ** (s - k) for s in range(k, t + 1)) if k <= t else Fraction(0) for k in range(n)]
            for t in range(n)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("tiny_rows", [(), (2,), (1, 4)])
@pytest.mark.parametrize("workload", ["prefix", "momentum"])
def test_per_query_error_matches_exact_rationals(seed, tiny_rows, workload):
    rng = np.random.default_rng(seed)
    n, b = 8, 3
    params, exact = unit_rows(n, b, rng, tiny_rows)
    A, A_exact = (sm.prefix_sum(), prefix(n)) if workload == "prefix" else (sm.momentum_sgd_matrix(0.5), momentum(n))
    C = ColumnNormalizedBanded(params)
    e = banded.per_query_error(C, A)
    ref = np.array([float(x) for x in exact_errors(exact, A_exact)])
    # Diagonals of 2^-19 make C^{-1} as large as 2^19 (2^38 for two of them): the answer is then
    # as accurate as streaming the rows of A C^{-1} (about 1e-16 times those entries).
    rtol = 1e-12 if not tiny_rows else 1e-16 * 2.0 ** (19 * len(tiny_rows)) + 1e-12
    np.testing.assert_allclose(e, ref, rtol=rtol)
    if tiny_rows:
        assert np.max(np.abs(np.linalg.inv(C.materialize()))) > 1e5   # near-singular indeed
    stream = (A @ C.inverse_as_streaming_matrix()).row_norms_squared(n)
    np.testing.assert_allclose(stream, ref, rtol=max(rtol, 1e-11))


@pytest.mark.parametrize("d", [1e-4, 1e-6, 1e-8, 1e-10])
def test_near_singular_example_of_the_issue(d):
    # params [[1, 1], [d, 1], [1, 0]]: the covariance recursion used to cancel terms of size
    # 1/d^2 and return 1.0 at d = 1e-8 and 32769 at 1e-10. Back substitution in C^T x = 1
    # gives the last error (sqrt(2) - x1)^2 + x1^2 + 1 with x1 = d / (sqrt(1 + d^2) + 1).
    C = ColumnNormalizedBanded([[1, 1], [d, 1], [1, 0]])
    e = banded.per_query_error(C)
    x1 = d / (np.sqrt(1 + d * d) + 1)
    exact = (np.sqrt(2) - x1) ** 2 + x1 ** 2 + 1
    assert e[2] == pytest.approx(exact, rel=1e-13 / d)
    assert e[0] == pytest.approx(2, rel=1e-14)
    x = np.sqrt(1 + d * d) / d   # e_1 = x^2 + (sqrt(2) - x)^2: large, without cancellation
    assert e[1] == pytest.approx(x * x + (np.sqrt(2) - x) ** 2, rel=1e-12)
    stream = (sm.prefix_sum() @ C.inverse_as_streaming_matrix()).row_norms_squared(3)
    assert e[2] == pytest.approx(stream[2], rel=1e-13 / d)
    loss, _ = banded.loss_and_gradient(C, reduction_fn="last") if d >= 1e-4 else (e[2], None)
    assert loss == pytest.approx(exact, rel=1e-13 / d)


def test_beyond_precision_is_refused_not_returned_wrong():
    C = ColumnNormalizedBanded([[1, 1], [1e-14, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"per_query_error: .*too close to singular.*C\[1, 1\] = 1e-14"):
        banded.per_query_error(C)
    # The value alone is accurate at 1e-9; its gradient is not, and is refused.
    C = ColumnNormalizedBanded([[1, 1], [1e-9, 1], [1, 0]])
    value = banded.per_query_error(C)[-1]
    assert value == pytest.approx(3, rel=1e-6)
    with pytest.raises(ValueError, match="loss_and_gradient: the loss and its gradient cannot be computed accurately"):
        banded.loss_and_gradient(C, reduction_fn="last")


def test_gradient_near_singular_matches_finite_differences():
    rng = np.random.default_rng(7)
    n, b = 12, 3
    params = rng.uniform(0.5, 1.5, (n, b))
    params[4, 0] = 2e-3   # C[4, 4] about 2e-3 of its column
    mask = np.add.outer(np.arange(n), np.arange(b)) < n
    for red in ["mean", "last"]:
        loss, g = banded.loss_and_gradient(ColumnNormalizedBanded(params), reduction_fn=red)
        fd = np.zeros_like(params)
        for j, r in zip(*np.nonzero(mask)):
            h = 1e-7 * max(1.0, abs(params[j, r]))
            up, dn = params.copy(), params.copy()
            up[j, r] += h
            dn[j, r] -= h
            fd[j, r] = (banded.loss_and_gradient(ColumnNormalizedBanded(up), reduction_fn=red)[0]
                        - banded.loss_and_gradient(ColumnNormalizedBanded(dn), reduction_fn=red)[0]) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())
        # Orthogonal to every row: the loss does not depend on a column's scale.
        assert np.abs(np.sum(g * params, axis=1)).max() <= 1e-10 * np.abs(g).max()


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_params_of_extreme_scale_are_the_same_strategy(scale, rng):
    n, b = 20, 4
    params = rng.uniform(0.5, 1.5, (n, b))
    C, S = ColumnNormalizedBanded(params), ColumnNormalizedBanded(params * scale)
    np.testing.assert_allclose(S.materialize(), C.materialize(), rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(np.linalg.norm(S.materialize(), axis=0), 1, rtol=1e-15)
    np.testing.assert_allclose(banded.per_query_error(S), banded.per_query_error(C), rtol=1e-13)
    np.testing.assert_allclose(banded.per_query_error(S, sm.momentum_sgd_matrix(0.9)),
                               banded.per_query_error(C, sm.momentum_sgd_matrix(0.9)), rtol=1e-13)
    (l1, g1), (l2, g2) = banded.loss_and_gradient(C), banded.loss_and_gradient(S)
    assert l2 == pytest.approx(l1, rel=1e-13)
    np.testing.assert_allclose(g2 * scale, g1, rtol=1e-11, atol=1e-13 * np.abs(g1).max())
    z = rng.standard_normal((n, 3))
    for dtype in (np.float64, np.float32):
        zs = z.astype(dtype)
        out_s = sm.multiply_array(S.inverse_as_streaming_matrix(), zs.copy())
        out_c = sm.multiply_array(C.inverse_as_streaming_matrix(), zs.copy())
        assert out_s.dtype == dtype and np.all(np.isfinite(out_s))
        np.testing.assert_allclose(out_s, out_c, rtol=1e-12 if dtype == np.float64 else 1e-5,
                                   atol=1e-12 if dtype == np.float64 else 1e-5)
        np.testing.assert_allclose(C.materialize() @ out_s.astype(np.float64), zs,
                                   rtol=1e-10 if dtype == np.float64 else 1e-4, atol=1e-10 if dtype == np.float64 else 1e-4)


def test_banded_toeplitz_with_tiny_coefficients_is_accepted():
    coefs = np.array([1.0, 0.5, 0.25])
    tiny = ColumnNormalizedBanded.from_banded_toeplitz(4, coefs * 1e-170)
    unit = ColumnNormalizedBanded.from_banded_toeplitz(4, coefs)
    np.testing.assert_allclose(tiny.params, unit.params, rtol=1e-15)
    np.testing.assert_allclose(ColumnNormalizedBanded.from_banded_toeplitz(4, coefs * 1e170).params, unit.params,
                               rtol=1e-15)
    with pytest.raises(ValueError, match=r"coefs\[0\] must be nonzero"):
        ColumnNormalizedBanded.from_banded_toeplitz(4, [0.0, 1.0, 0.5])

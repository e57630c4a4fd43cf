"""mfkit.sensitivity against jax_privacy's reference outputs, jax_privacy's own test cases,
and brute-force NumPy oracles (every participation pattern of small n)."""
import itertools
import re

import numpy as np
import pytest

from mfkit import sensitivity as sens

from conftest import load_reference


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


# ---------------------------------------------------------------- oracles
def patterns(n, min_sep, max_participations=None):
    """Every participation pattern (tuple of steps) of n steps, the empty one included."""
    cap = n if max_participations is None else max_participations
    out = [()]
    for size in range(1, max(0, min(cap, n)) + 1):
        for combo in itertools.combinations(range(n), size):
            if all(b - a >= min_sep for a, b in zip(combo, combo[1:])):
                out.append(combo)
    return out


def brute_linear(x, min_sep, max_participations=None):
    return max(sum(x[list(p)]) if p else 0.0 for p in patterns(len(x), min_sep, max_participations))


def dp_linear(x, min_sep, max_participations=None):
    """The recurrence F_k[i] = max(x[i] + F_{k-1}[i + s], F_k[i + 1]) written out plainly."""
    n = len(x)
    k = -(n // -min_sep) if max_participations is None else min(max_participations, -(n // -min_sep))
    f = np.zeros(n + min_sep)
    for _ in range(max(k, 0)):
        g = np.zeros(n + min_sep)
        for i in range(n - 1, -1, -1):
            g[i] = max(x[i] + f[i + min_sep], g[i + 1])
        f = g
    return f[0]


def brute_upper_bound(X, min_sep, max_participations=None):
    A = np.abs(X)
    v = np.array([brute_linear(row, min_sep, max_participations) for row in A])
    return np.sqrt(brute_linear(v, min_sep, max_participations))


def brute_true_sensitivity_squared(X, min_sep, max_participations=None):
    """max over patterns of sum |X[p, p]| (the exact multi-participation bound the upper
    bound relaxes)."""
    n = X.shape[0]
    return max(np.abs(X[np.ix_(p, p)]).sum() if p else 0.0
               for p in patterns(n, min_sep, max_participations))


def fixed_epoch_oracle(X, epochs):
    n = X.shape[0]
    b = n // epochs
    return np.sqrt(max(np.abs(X[np.ix_(idx, idx)]).sum()
                       for idx in (np.arange(j, n, b) for j in range(b))))


def default_banded_C(n, bands):
    """ColumnNormalizedBanded.default(n, bands) materialized: Fichtenberger et al.'s
    coefficients c_0 = 1, c_r = c_{r-1} (2r - 1) / (2r), banded Toeplitz, columns normalized."""
    coefs = np.ones(bands)
    for r in range(1, bands):
        coefs[r] = coefs[r - 1] * (2 * r - 1) / (2 * r)
    C = np.zeros((n, n))
    for j in range(n):
        for r in range(bands):
            if j + r < n:
                C[j + r, j] = coefs[r]
    return C / np.linalg.norm(C, axis=0)


def random_banded(rng, n, bands):
    C = np.tril(rng.normal(size=(n, n))) * (np.abs(np.subtract.outer(np.arange(n), np.arange(n))) < bands)
    return C


# ---------------------------------------------------------------- parity with jax_privacy
@pytest.fixture(scope="module")
def ref():
    return load_reference("sensitivity")


def test_reference_linear_fn_and_true_max(ref):
    x = ref["x"]
    for min_sep, cap, value, true_max in ref["table"]:
        cap = None if cap < 0 else int(cap)
        got = sens.max_participation_for_linear_fn(x, min_sep=int(min_sep), max_participations=cap)
        assert rel(got, value) < 1e-12, (min_sep, cap)
        assert sens.minsep_true_max_participations(len(x), int(min_sep), cap) == int(true_max)


def test_reference_default_banded_materialized(ref):
    # The construction is pinned by the banded reference files.
    for name in ("banded_small", "banded_medium"):
        b = load_reference(name)
        np.testing.assert_allclose(default_banded_C(int(b["n"]), int(b["bands"])), b["default_C"],
                                   rtol=0, atol=1e-14)
    C = default_banded_C(48, 4)
    X = C.T @ C
    assert rel(sens.get_sensitivity_banded(C, min_sep=4), float(ref["banded_sens"])) < 1e-12
    assert rel(sens.get_sensitivity_banded_for_X(X, min_sep=4), float(ref["banded_sens"])) < 1e-12
    assert rel(sens.fixed_epoch_sensitivity(C, epochs=4), float(ref["fixed_epoch_sens"])) < 1e-12
    assert rel(sens.fixed_epoch_sensitivity_for_X(X, epochs=4), float(ref["fixed_epoch_sens"])) < 1e-12
    # 4 bands, min_sep 4: X is banded, so the upper bound is exact.
    assert rel(sens.get_min_sep_sensitivity_upper_bound(C, 4), float(ref["banded_sens"])) < 1e-12


# ---------------------------------------------------------------- jax_privacy's test cases
def test_single_participation_sensitivity():
    C = np.array([[1.0, 0, 0, 0], [2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 3, -6]])
    assert sens.single_participation_sensitivity(C) == pytest.approx(6.0, rel=1e-15)
    assert sens.single_participation_sensitivity(C[:3, :3]) == pytest.approx(np.sqrt(5), rel=1e-15)
    assert sens.single_participation_sensitivity(np.array([[3]])) == 3.0
    assert isinstance(sens.single_participation_sensitivity(C), float)


@pytest.mark.parametrize("min_sep", [1, 2, 5, 10])
@pytest.mark.parametrize("cap", [1, 2, 5, None])
def test_minsep_true_max_participations_n_is_one(min_sep, cap):
    assert sens.minsep_true_max_participations(n=1, min_sep=min_sep, max_participations=cap) == 1


def test_minsep_true_max_participations():
    f = sens.minsep_true_max_participations
    cases = {(1, 1, None): 1, (1, 2, 3): 1, (5, 1, None): 5, (5, 2, None): 3, (5, 3, None): 2,
             (5, 4, None): 2, (5, 5, None): 1, (5, 6, None): 1, (5, 1, 2): 2, (5, 2, 2): 2,
             (5, 2, 4): 3, (4, 1, None): 4, (4, 2, None): 2, (4, 3, None): 2, (4, 4, None): 1,
             (0, 3, None): 0, (7, 2, -1): -1}
    for (n, s, k), want in cases.items():
        assert f(n=n, min_sep=s, max_participations=k) == want, (n, s, k)


def test_max_linear_fn_cases():
    f = sens.max_participation_for_linear_fn
    assert f(np.array([1.0, 0.5, 0.5, 0.5, 0.1]), min_sep=1) == pytest.approx(2.6, rel=1e-15)
    assert f(np.array([1.0, 1, 0, 1, 0, 1]), min_sep=1) == 4.0
    assert f(np.ones(4), min_sep=2, max_participations=2) == 2.0
    assert f(np.ones(4), min_sep=1, max_participations=0) == 0.0
    for min_sep in [1, 2, 3]:
        assert f(np.array([2.0]), min_sep=min_sep, max_participations=4) == 2.0
    for i in range(5):
        x = np.zeros(5)
        x[i] = 1
        assert f(x, min_sep=2, max_participations=1) == 1.0
    assert f(np.array([0.0, 1, 0]), min_sep=2, max_participations=2) == 1.0
    for i in range(4):
        x = -np.ones(4)
        x[i] = 1
        for cap in [1, 2, None]:
            assert f(x, min_sep=1, max_participations=cap) == 1.0
    for cap in [1, 2, None]:
        for min_sep in [1, 2, 3]:
            # Integer input is converted to float64; no participation is optimal.
            assert f(np.array([-1, -1, -1]), min_sep=min_sep, max_participations=cap) == 0.0
    assert f(np.zeros(0), min_sep=3) == 0.0
    assert f([1.0, 2.0, 3.0], min_sep=2) == 4.0           # array-likes are accepted
    assert f(np.array([1.0, 2, 3], dtype=np.float32)) == 6.0
    x = np.random.default_rng(3).normal(size=41)
    assert f(x[::-3], min_sep=2, max_participations=4) == f(x[::-3].copy(), min_sep=2, max_participations=4)


def test_masks():
    for n in [1, 2, 5]:
        np.testing.assert_array_equal(sens.banded_lower_triangular_mask(n, num_bands=1), np.eye(n))
        np.testing.assert_array_equal(sens.banded_lower_triangular_mask(n, num_bands=n), np.tri(n))
    np.testing.assert_array_equal(sens.banded_lower_triangular_mask(3, num_bands=2),
                                  [[1, 0, 0], [1, 1, 0], [0, 1, 1]])
    for n in [1, 2, 4, 7]:
        np.testing.assert_array_equal(sens.banded_symmetric_mask(n, num_bands=1), np.eye(n))
        np.testing.assert_array_equal(sens.banded_symmetric_mask(n, num_bands=n), np.ones((n, n)))
    np.testing.assert_array_equal(sens.banded_symmetric_mask(3, num_bands=2), [[1, 1, 0], [1, 1, 1], [0, 1, 1]])
    assert sens.banded_symmetric_mask(4, 2).dtype == np.int32
    for f in (sens.banded_lower_triangular_mask, sens.banded_symmetric_mask):
        with pytest.raises(ValueError, match=re.escape("num_bands must be >= 0, found 0")):
            f(3, 0)


def test_banded_cases():
    C = np.diag([0.0, 3.0, 0.0, 1.0, 2.0])
    assert sens.get_sensitivity_banded(C, min_sep=2) == np.sqrt(3.0**2 + 2.0**2)
    assert sens.get_sensitivity_banded(C, min_sep=2, max_participations=1) == 3.0
    with pytest.raises(ValueError, match="must be orthogonal"):
        sens.get_sensitivity_banded(np.tri(3), min_sep=2)
    for n in [1, 2, 5, 10]:
        for cap in [1, 3, None]:
            assert rel(sens.get_sensitivity_banded(np.tri(n), min_sep=n, max_participations=cap),
                       sens.single_participation_sensitivity(np.tri(n))) < 1e-15
    C = np.array([[1.0, 0, 0, 0], [2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, -6]])
    with pytest.raises(ValueError, match="must be orthogonal"):
        sens.get_sensitivity_banded(C, min_sep=1)
    assert sens.get_sensitivity_banded(C, min_sep=2, max_participations=1) == pytest.approx(6.0, rel=1e-15)
    for min_sep in [2, 3]:
        assert sens.get_sensitivity_banded(C, min_sep=min_sep) == pytest.approx(np.sqrt(41.0), rel=1e-15)
        assert sens.get_min_sep_sensitivity_upper_bound(C, min_sep) == pytest.approx(np.sqrt(41.0), rel=1e-15)
    assert sens.get_min_sep_sensitivity_upper_bound(C, min_sep=2, max_participations=1) == pytest.approx(6.0, rel=1e-15)


def test_upper_bound_dense_X():
    C = np.array([[1.0, 0, 0, 0], [2, 1, 0, 0], [0.5, 1, 1, 0], [0.4, 0, 1, -6]])
    X = C.T @ C
    assert rel(sens.get_min_sep_sensitivity_upper_bound_for_X(X, 1), np.sqrt(np.abs(X).sum())) < 1e-14
    assert sens.get_min_sep_sensitivity_upper_bound_for_X(np.zeros((0, 0))) == 0.0


def test_fixed_epoch_cases(rng):
    assert sens.fixed_epoch_sensitivity(np.eye(1) * 5, epochs=1) == 5.0
    for epochs in [1, 2, 4, 8, 16]:
        assert rel(sens.fixed_epoch_sensitivity(np.eye(16), epochs=epochs), np.sqrt(epochs)) < 1e-15
    C = rng.normal(size=(6, 6)) * np.tri(6)
    assert rel(sens.fixed_epoch_sensitivity(C, epochs=1), np.linalg.norm(C, axis=0).max()) < 1e-14
    C = np.abs(rng.normal(size=(16, 16))) * np.tri(16)
    assert rel(sens.fixed_epoch_sensitivity(C, epochs=16), np.linalg.norm(C.sum(axis=1))) < 1e-13


# ---------------------------------------------------------------- brute-force oracles
def test_linear_fn_against_enumeration(rng):
    for n in range(1, 9):
        x = rng.normal(size=n)
        for min_sep in range(1, n + 2):
            for cap in [None, 0, 1, 2, 3, n]:
                want = brute_linear(x, min_sep, cap)
                got = sens.max_participation_for_linear_fn(x, min_sep, cap)
                assert abs(got - want) <= 1e-13 * max(1.0, abs(want)), (n, min_sep, cap)


@pytest.mark.parametrize("n", [50, 257])
def test_linear_fn_against_plain_dp(rng, n):
    # Every code path: min_sep = 1 (top-k), no binding cap (single pass), capped table
    # (with its early stop), separations beyond n.
    for x in (rng.normal(size=n), np.abs(rng.normal(size=n)), -np.abs(rng.normal(size=n))):
        for min_sep in [1, 2, 3, 7, n - 1, n, n + 5]:
            for cap in [None, 1, 2, 5, 17, 100, n]:
                want = dp_linear(x, min_sep, cap)
                got = sens.max_participation_for_linear_fn(x, min_sep, cap)
                assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), (min_sep, cap)


def test_upper_bound_against_enumeration(rng):
    for n in [1, 3, 6, 8]:
        C = np.tril(rng.normal(size=(n, n)))
        X = C.T @ C
        for min_sep in [1, 2, 3, n + 1]:
            for cap in [None, 1, 2]:
                want = brute_upper_bound(X, min_sep, cap)
                got_x = sens.get_min_sep_sensitivity_upper_bound_for_X(X, min_sep, cap)
                got_c = sens.get_min_sep_sensitivity_upper_bound(C, min_sep, cap)
                assert rel(got_x, want) < 1e-12 and rel(got_c, want) < 1e-12, (n, min_sep, cap)
                # It is an upper bound on the exact multi-participation sensitivity.
                assert got_x >= np.sqrt(brute_true_sensitivity_squared(X, min_sep, cap)) * (1 - 1e-12)


def test_banded_exact_against_enumeration(rng):
    for n in [2, 5, 8]:
        for bands in [1, 2, 3]:
            C = random_banded(rng, n, bands)
            X = C.T @ C
            for min_sep in range(bands, n + 1):
                for cap in [None, 1, 2]:
                    # X is min_sep-banded: the exact value. The upper bound is no lower (a row
                    # of |X| may pick two off-diagonal entries of the band), and equal for
                    # a diagonal X.
                    want = np.sqrt(brute_true_sensitivity_squared(X, min_sep, cap))
                    assert rel(sens.get_sensitivity_banded(C, min_sep, cap), want) < 1e-12
                    assert rel(sens.get_sensitivity_banded_for_X(X, min_sep, cap), want) < 1e-12
                    upper = sens.get_min_sep_sensitivity_upper_bound(C, min_sep, cap)
                    assert upper >= want * (1 - 1e-12)
                    if bands == 1:
                        assert rel(upper, want) < 1e-12


def test_fixed_epoch_against_oracle(rng):
    for n, epochs in [(12, 1), (12, 2), (12, 3), (12, 12), (30, 5)]:
        C = np.tril(rng.normal(size=(n, n)))
        X = C.T @ C
        want = fixed_epoch_oracle(X, epochs)
        assert rel(sens.fixed_epoch_sensitivity(C, epochs), want) < 1e-12
        assert rel(sens.fixed_epoch_sensitivity_for_X(X, epochs), want) < 1e-12


def test_single_participation_against_numpy(rng):
    for shape in [(1, 1), (7, 3), (3, 7), (40, 40)]:
        C = rng.normal(size=shape)
        if shape[0] == shape[1]:
            C = np.tril(C)
        assert rel(sens.single_participation_sensitivity(C), np.linalg.norm(C, axis=0).max()) < 1e-14
    assert sens.single_participation_sensitivity(np.zeros((0, 4))) == 0.0


def test_larger_matrices_any_layout(rng):
    # Blocked Gram path (n > 64, several row blocks), non-square C, float32 and strided views.
    n = 300
    C = np.tril(rng.normal(size=(n, n)))
    X = C.T @ C
    for min_sep, cap in [(1, None), (1, 40), (5, None), (5, 7), (64, 3)]:
        want = sens.get_min_sep_sensitivity_upper_bound_for_X(X, min_sep, cap)
        assert rel(sens.get_min_sep_sensitivity_upper_bound(C, min_sep, cap), want) < 1e-12
        assert rel(sens.get_min_sep_sensitivity_upper_bound(np.asfortranarray(C), min_sep, cap), want) < 1e-12
        assert rel(sens.get_min_sep_sensitivity_upper_bound_for_X(np.asfortranarray(X), min_sep, cap), want) == 0
    S = X[:120, :120]  # a view with a row stride of 300 elements
    assert rel(sens.get_min_sep_sensitivity_upper_bound_for_X(S, 3), brute_upper_bound_fast(S, 3)) < 1e-12
    # Non-square encoder (k != n) given as a reversed-row view: no triangular check applies.
    R = rng.normal(size=(90, 40))[::-1]
    XR = R.T @ R
    assert rel(sens.get_min_sep_sensitivity_upper_bound(R, 2, 5),
               sens.get_min_sep_sensitivity_upper_bound_for_X(XR, 2, 5)) < 1e-12
    assert rel(sens.fixed_epoch_sensitivity(R, 4), fixed_epoch_oracle(XR, 4)) < 1e-12
    assert rel(sens.single_participation_sensitivity(R), np.linalg.norm(R, axis=0).max()) < 1e-14
    # float32 is read as is: the same as its float64 values.
    C32 = C.astype(np.float32)
    assert rel(sens.get_min_sep_sensitivity_upper_bound(C32, 5, 7),
               sens.get_min_sep_sensitivity_upper_bound(C32.astype(np.float64), 5, 7)) < 1e-12
    # Banded C with many columns: the exact value from C and from X, below the upper bound.
    B = random_banded(rng, 500, 6)
    for min_sep in [6, 9]:
        exact_value = sens.get_sensitivity_banded(B, min_sep)
        assert rel(exact_value, sens.get_sensitivity_banded_for_X(B.T @ B, min_sep)) < 1e-12
        assert exact_value <= sens.get_min_sep_sensitivity_upper_bound(B, min_sep) * (1 + 1e-12)
        assert rel(sens.get_sensitivity_banded(B, min_sep, 4),
                   sens.get_sensitivity_banded_for_X(B.T @ B, min_sep, 4)) < 1e-12
    with pytest.raises(ValueError, match="must be orthogonal"):
        sens.get_sensitivity_banded(B, 5)


def brute_upper_bound_fast(X, min_sep):
    A = np.abs(X)
    v = np.array([dp_linear(row, min_sep) for row in A])
    return np.sqrt(dp_linear(v, min_sep))


# ---------------------------------------------------------------- errors
def exact(message):
    return "^" + re.escape(message) + "$"


def test_matrix_check_messages():
    C = np.array([[1.0, 2.0], [0.0, 1.0]])
    for f in (sens.single_participation_sensitivity, sens.get_sensitivity_banded,
              sens.get_min_sep_sensitivity_upper_bound):
        with pytest.raises(ValueError, match=exact(f"Matrix C should be lower-triangular, found\n{C}")):
            f(C)
    with pytest.raises(ValueError, match=exact(f"Matrix C should be lower-triangular, found\n{C}")):
        sens.fixed_epoch_sensitivity(C, 1)
    bad = np.array([[1.0, 0.0], [np.nan, 1.0]])
    with pytest.raises(ValueError, match=exact(f"Matrix C is not finite, found\n{bad}")):
        sens.get_sensitivity_banded(bad)
    with pytest.raises(ValueError, match=exact(f"Matrix X is not finite, found\n{bad}")):
        sens.get_sensitivity_banded_for_X(bad)
    with pytest.raises(ValueError, match=re.escape("Matrix C has unexpected shape (3,)")):
        sens.single_participation_sensitivity(np.ones(3))
    R = np.ones((2, 3))
    with pytest.raises(ValueError, match=exact(f"Matrix X should be square, found\n{R}")):
        sens.fixed_epoch_sensitivity_for_X(R, 1)
    with pytest.raises(ValueError, match=exact(f"Matrix X should be symmetric, found\n{C}")):
        sens.get_min_sep_sensitivity_upper_bound_for_X(C)
    # Within np.allclose's tolerance: accepted, as jax_privacy does.
    assert sens.single_participation_sensitivity(np.array([[1.0, 1e-9], [0.0, 1.0]])) > 0
    with pytest.raises(ValueError, match=re.escape("Matrix C has no columns")):
        sens.single_participation_sensitivity(np.zeros((3, 0)))


def test_argument_messages():
    X = np.eye(4)
    for min_sep in [0, 5]:
        with pytest.raises(ValueError, match=exact(f"min_sep must be in the range [1, 4], found {min_sep}.")):
            sens.get_sensitivity_banded_for_X(X, min_sep=min_sep)
        with pytest.raises(ValueError, match=exact(f"min_sep must be in the range [1, 4], found {min_sep}.")):
            sens.get_sensitivity_banded(X, min_sep=min_sep)
    with pytest.raises(ValueError, match=exact(
            "All columns of C corresponding to iterations i and j where user might participate "
            "(that is, |i - j| < min_sep + 1) must be orthogonal.")):
        sens.get_sensitivity_banded_for_X(np.ones((3, 3)), min_sep=2)
    for epochs in [-3, 0]:
        with pytest.raises(ValueError, match=exact(f"epochs={epochs} must be positive.")):
            sens.fixed_epoch_sensitivity(np.eye(16), epochs=epochs)
        with pytest.raises(ValueError, match=exact(f"epochs={epochs} must be positive.")):
            sens.fixed_epoch_sensitivity_for_X(np.eye(16), epochs=epochs)
    for epochs in [3, 7, 14]:
        with pytest.raises(ValueError, match=exact(f"epochs={epochs} must divide n=16.")):
            sens.fixed_epoch_sensitivity(np.eye(16), epochs=epochs)
        with pytest.raises(ValueError, match=exact(f"epochs={epochs} must divide n=16.")):
            sens.fixed_epoch_sensitivity_for_X(np.eye(16), epochs=epochs)
    with pytest.raises(ValueError, match=exact("min_sep must be >= 1, found 0.")):
        sens.get_min_sep_sensitivity_upper_bound(np.eye(3), min_sep=0)
    with pytest.raises(ValueError, match=exact("min_sep must be >= 1, found -2.")):
        sens.max_participation_for_linear_fn(np.ones(3), min_sep=-2)
    with pytest.raises(ValueError, match=exact("min_sep must be >= 1, found 0.")):
        sens.minsep_true_max_participations(5, 0)
    with pytest.raises(ValueError, match=exact("n must be >= 0, found -1.")):
        sens.minsep_true_max_participations(-1, 1)
    with pytest.raises(ValueError, match="x must be finite"):
        sens.max_participation_for_linear_fn(np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="one-dimensional"):
        sens.max_participation_for_linear_fn(np.ones((2, 2)))


def test_type_errors():
    with pytest.raises(TypeError, match="min_sep must be an integer"):
        sens.get_min_sep_sensitivity_upper_bound(np.eye(3), min_sep=1.5)
    with pytest.raises(TypeError, match="max_participations must be an integer"):
        sens.get_sensitivity_banded(np.eye(3), 1, max_participations="2")
    with pytest.raises(TypeError, match="epochs must be an integer"):
        sens.fixed_epoch_sensitivity(np.eye(4), epochs=True)
    with pytest.raises(TypeError, match="array of real numbers"):
        sens.single_participation_sensitivity(np.eye(3, dtype=np.complex128))
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        sens.minsep_true_max_participations(2**64, 1)
    # Integer and boolean matrices are converted to float64.
    assert sens.fixed_epoch_sensitivity(np.eye(4, dtype=np.int64), epochs=2) == np.sqrt(2)


def test_banded_from_C_with_scattered_supports(rng):
    # Columns with arbitrary supports (non-square C): the C path (dot products only where
    # supports overlap) must decide orthogonality as X = C^T C does.
    decided = {"orthogonal": 0, "not": 0}
    for trial in range(60):
        k, n = 9, 7
        C = rng.normal(size=(k, n)) * (rng.random(size=(k, n)) < 0.25)
        X = C.T @ C
        for min_sep in range(1, n + 1):
            try:
                want = sens.get_sensitivity_banded_for_X(X, min_sep)
            except ValueError as exc:
                assert "must be orthogonal" in str(exc)
                with pytest.raises(ValueError, match="must be orthogonal"):
                    sens.get_sensitivity_banded(C, min_sep)
                decided["not"] += 1
                continue
            assert rel(sens.get_sensitivity_banded(C, min_sep), want) < 1e-12
            decided["orthogonal"] += 1
    assert decided["orthogonal"] > 20 and decided["not"] > 20


def test_upper_bound_can_exceed_banded_value():
    # X is 2-banded, so get_sensitivity_banded is exact: sqrt(X00 + X22) = sqrt(15). Row 1 of
    # |X| is [2, 10, 9, 0]: its best pattern {0, 2} takes two band entries (11 > X11 = 10), and
    # the bound becomes sqrt(5 + 11) = 4.
    C = np.array([[-1.0, 0, 0, 0], [2, -1, 0, 0], [0, 3, 3, 0], [0, 0, 1, 2]])
    assert rel(sens.get_sensitivity_banded(C, 2), np.sqrt(15)) < 1e-15
    assert rel(sens.get_min_sep_sensitivity_upper_bound(C, 2), 4.0) < 1e-15
    assert rel(brute_upper_bound(C.T @ C, 2), 4.0) < 1e-15


def test_empty_encoders():
    # k = 0 rows: X = C^T C is the zero matrix, as in jax_privacy.
    E = np.zeros((0, 3))
    assert sens.get_min_sep_sensitivity_upper_bound(E) == 0.0
    assert sens.get_sensitivity_banded(E) == 0.0
    assert sens.fixed_epoch_sensitivity(E, 3) == 0.0
    assert sens.single_participation_sensitivity(E) == 0.0
    # n = 0 columns: an empty X.
    F = np.zeros((3, 0))
    assert sens.get_min_sep_sensitivity_upper_bound(F) == 0.0
    with pytest.raises(ValueError, match=exact("min_sep must be in the range [1, 0], found 1.")):
        sens.get_sensitivity_banded(F)
    with pytest.raises(ValueError, match=re.escape("Matrix X is empty (n=0).")):
        sens.fixed_epoch_sensitivity(F, 1)
    with pytest.raises(ValueError, match=re.escape("Matrix C has unexpected shape ()")):
        sens.get_min_sep_sensitivity_upper_bound(np.zeros(()))


def test_masks_match_numpy_tri_and_reject_bad_sizes():
    for n in range(0, 7):
        for b in range(1, 9):
            np.testing.assert_array_equal(sens.banded_lower_triangular_mask(n, b),
                                          (np.tri(n) - np.tri(n, k=-b)).astype(np.int32))
            np.testing.assert_array_equal(sens.banded_symmetric_mask(n, b),
                                          (np.tri(n, k=b - 1) - np.tri(n, k=-b)).astype(np.int32))
    assert sens.banded_symmetric_mask(4, 2).dtype == np.int32
    # A huge n used to build dense n x n temporaries (the process was killed for memory);
    # a huge band count raised OverflowError from np.tri.
    for f in (sens.banded_lower_triangular_mask, sens.banded_symmetric_mask):
        with pytest.raises(ValueError, match="too large"):
            f(2**31, 2)
        with pytest.raises(ValueError, match="64 bits"):
            f(4, 2**64)
        with pytest.raises(ValueError, match="non-negative"):
            f(-1, 2)
        with pytest.raises(TypeError, match="integer"):
            f(4.5, 2)
    # More bands than rows: every band there is.
    np.testing.assert_array_equal(sens.banded_lower_triangular_mask(3, 2**63 - 1), np.tri(3, dtype=np.int32))
    np.testing.assert_array_equal(sens.banded_symmetric_mask(3, 2**63 - 1), np.ones((3, 3), np.int32))

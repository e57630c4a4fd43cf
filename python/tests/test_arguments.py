"""The shared argument coercers (mfkit._args) as users meet them: integer arrays and scalars
where jax_privacy takes them, `out=` agreeing with n / dtype, integers and reals out of range,
broadcast inputs of huge logical length, and the messages listing what is accepted."""
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mfkit import _args, banded, kron, sensitivity
from mfkit import streaming_matrix as sm
from mfkit.banded import ColumnNormalizedBanded


# ---------------------------------------------------------------- integer arrays and scalars
def test_integer_arrays_are_read_as_float64_as_in_jax_privacy():
    A = sm.prefix_sum()
    y = A @ np.arange(10)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, np.cumsum(np.arange(10.0)))
    np.testing.assert_array_equal(sm.multiply_array(A, np.arange(6).reshape(3, 2)), np.cumsum(np.arange(6.0).reshape(3, 2), 0))
    np.testing.assert_array_equal(A @ np.array([True, False, True]), [1.0, 1.0, 2.0])
    state = A.init_multiply(np.int64(0))
    assert state.dtype == np.float64 and state.shape == ()
    M = sm.momentum_sgd_matrix(0.5, np.array([1, 2]))
    np.testing.assert_allclose(M.materialize(3), sm.momentum_sgd_matrix(0.5, [1.0, 2.0]).materialize(3), rtol=0)
    assert sm.diagonal(np.arange(1, 4)) == sm.diagonal([1.0, 2.0, 3.0])
    C = ColumnNormalizedBanded(np.ones((4, 2), dtype=np.int32))
    assert C.params.dtype == np.float64 and C == ColumnNormalizedBanded(np.ones((4, 2)))
    assert banded.loss_and_gradient(C, None, np.ones(4, dtype=np.int8))[0] == pytest.approx(
        banded.per_query_error(C).sum(), rel=1e-14)
    assert sensitivity.max_participation_for_linear_fn(np.array([3, -1, 2]), 2) == 5.0


def test_scalar_slices_as_in_jax_privacys_docstring_loop():
    A = sm.prefix_sum()
    x = np.arange(1, 5).astype(float)
    state = A.init_multiply(x[0])
    slices = []
    for i in range(len(x)):
        result_slice, state = A.multiply_next(x[i], state)   # x[i] is a NumPy scalar
        slices.append(result_slice)
    np.testing.assert_array_equal(np.stack(slices), np.cumsum(x))
    s = A.stream((), np.float64)
    assert float(s.next(2)) == 2.0 and float(s.next(3.5)) == 5.5 and float(s.next(np.int32(1))) == 6.5
    f32 = A.stream((), np.float32)
    assert f32.next(np.float32(1.5)).dtype == np.float32


def test_integer_slices_of_a_float32_stream_are_refused_with_the_accepted_dtypes():
    s = sm.prefix_sum().stream((3,), np.float32)
    with pytest.raises(TypeError, match="dtype"):
        s.next(np.ones(3, dtype=np.int64))   # read as float64, the stream holds float32
    assert s.step == 0


def test_broadcast_integer_arrays_stay_broadcast():
    big = np.broadcast_to(np.int64(3), (2**40,))
    view = _args.array(big, "x", "f")
    assert view.dtype == np.float64 and view.strides == (0,) and view.shape == big.shape
    assert _args.as_float64(np.arange(4).reshape(2, 2)).flags.c_contiguous


def test_lists_are_refused_where_arrays_are_read_in_place():
    with pytest.raises(TypeError, match=r"x must be a NumPy array or an object NumPy reads in place"):
        sm.multiply_array(sm.prefix_sum(), [1.0, 2.0])
    with pytest.raises(TypeError, match="a list of numbers|NumPy array"):
        sm.diagonal({"a": 1})


@pytest.mark.parametrize("bad, exc, match", [
    (np.ones(3, dtype=np.float16), TypeError, r"has dtype float16; MFKit takes float32 or float64 arrays \(integer"),
    (np.ones(3, dtype=object), TypeError, "has dtype object"),
    (np.array(["a", "b"]), TypeError, "has dtype <U1"),
    (np.ones(3, dtype=np.complex64), TypeError, "must be real"),
    (np.ones(3, dtype=">f8"), TypeError, "byte order"),
])
def test_array_messages_list_what_is_accepted(bad, exc, match):
    with pytest.raises(exc, match=match):
        sm.prefix_sum() @ bad


# ---------------------------------------------------------------- out agreeing with n / dtype
def test_out_must_agree_with_n_and_dtype():
    A = sm.prefix_sum()
    out = np.full((3, 3), 7.0)
    with pytest.raises(ValueError, match=r"materialize: out has shape \(3, 3\), but n=5 asks for shape \(5, 5\)"):
        A.materialize(5, out=out)
    with pytest.raises(TypeError, match="out has dtype float64, but dtype=float32 was given"):
        A.materialize(3, dtype=np.float32, out=out)
    np.testing.assert_array_equal(out, 7.0)
    norms = np.full(3, 7.0)
    with pytest.raises(ValueError, match=r"row_norms_squared: out has shape \(3,\), but n=4 asks for shape \(4,\)"):
        A.row_norms_squared(4, out=norms)
    with pytest.raises(TypeError, match="dtype"):
        A.row_norms_squared(3, dtype="float32", out=norms)
    np.testing.assert_array_equal(norms, 7.0)
    # Agreeing arguments, or n / dtype left to out.
    assert A.materialize(3, dtype=np.float64, out=out) is out
    np.testing.assert_array_equal(out, np.tri(3))
    o32 = np.zeros(3, np.float32)
    assert A.row_norms_squared(None, out=o32) is o32 and o32.tolist() == [1, 2, 3]
    C = ColumnNormalizedBanded.default(4, 2)
    with pytest.raises(TypeError, match="dtype"):
        C.materialize(dtype=np.float32, out=np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"shape \(4, 4\)"):
        C.materialize(out=np.zeros((3, 3)))


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("call", [
    lambda: sm.prefix_sum() * 10**400,
    lambda: 10**400 * sm.prefix_sum(),
    lambda: sm.momentum_sgd_matrix(10**400),
    lambda: sm.momentum_sgd_matrix(0.5, [10**400]),
    lambda: sm.diagonal([10**400]),
    lambda: sm.diagonal(10**400),
    lambda: sm.scale_rows_and_columns(sm.prefix_sum(), [1, 10**400]),
    lambda: ColumnNormalizedBanded([[10**400]]),
    lambda: ColumnNormalizedBanded.from_banded_toeplitz(3, [1, -10**400]),
    lambda: sensitivity.max_participation_for_linear_fn([10**400]),
    lambda: sm.prefix_sum().stream((), np.float64).next(10**400),
])
def test_integers_beyond_float_range_are_value_errors(call):
    with pytest.raises(ValueError, match="beyond float range"):
        call()


def test_integer_arguments():
    with pytest.raises(TypeError, match=r"materialize: n must be an integer \(Python int or NumPy integer\), got bool"):
        sm.prefix_sum().materialize(True)
    with pytest.raises(TypeError, match="got float"):
        ColumnNormalizedBanded.default(4.0, 2)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        sm.prefix_sum().materialize(2**63)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        sensitivity.minsep_true_max_participations(4, 1, -(2**63) - 1)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        kron.factorwise_average(np.eye(4), [2, 2], 2**64)
    with pytest.raises(TypeError, match="got bool"):
        kron.factorwise_average(np.eye(4), [2, 2], True)
    assert sm.prefix_sum().materialize(np.uint8(2)).shape == (2, 2)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        sm.prefix_sum().materialize(np.uint64(2**64 - 1))


def test_real_arguments():
    assert (sm.prefix_sum() * np.float32(2)).materialize(1)[0, 0] == 2.0
    assert (sm.prefix_sum() * np.array(3.0)).materialize(1)[0, 0] == 3.0
    with pytest.raises(TypeError, match="momentum must be a real number"):
        sm.momentum_sgd_matrix("0.9")
    with pytest.raises(TypeError, match="got bool"):
        sm.momentum_sgd_matrix(True)
    with pytest.raises(TypeError):
        sm.prefix_sum() * "2"
    with pytest.raises(TypeError):
        sm.prefix_sum() * np.ones(2)


def test_dtype_arguments():
    for bad in ("float16", np.int32, "nonsense", 3.5, None.__class__):
        with pytest.raises(TypeError, match="dtype must be float32 or float64"):
            sm.prefix_sum().materialize(2, dtype=bad)


# ---------------------------------------------------------------- huge logical lengths (issue 8, section 7)
HUGE = np.broadcast_to(1.0, (2**40,))

#: Calls with zero-stride inputs of huge logical length, by name.
HUGE_CASES = {
    "diagonal": lambda: sm.diagonal(HUGE),
    "diagonal of ints": lambda: sm.diagonal(np.broadcast_to(1, (2**40,))),
    "momentum learning rates": lambda: sm.momentum_sgd_matrix(0.9, HUGE),
    "row scale": lambda: sm.scale_rows_and_columns(sm.prefix_sum(), HUGE),
    "column scale": lambda: sm.scale_rows_and_columns(sm.prefix_sum(), None, HUGE),
    "toeplitz coefficients": lambda: ColumnNormalizedBanded.from_banded_toeplitz(2**45, HUGE),
    "toeplitz 2-D coefficients": lambda: ColumnNormalizedBanded.from_banded_toeplitz(5, np.broadcast_to(1.0, (2**20, 2**20))),
    "strategy params": lambda: ColumnNormalizedBanded(np.broadcast_to(1.0, (2**40, 4))),
    "loss weights": lambda: banded.loss_and_gradient(ColumnNormalizedBanded.default(4, 2), None, HUGE),
    "linear fn": lambda: sensitivity.max_participation_for_linear_fn(HUGE),
    "empty C, 2^33 columns": lambda: sensitivity.single_participation_sensitivity(np.empty((0, 2**33))),
    "empty C, 2^33 columns, banded": lambda: sensitivity.get_sensitivity_banded(np.empty((0, 2**33))),
    "empty C, 2^33 columns, fixed epoch": lambda: sensitivity.fixed_epoch_sensitivity(np.empty((0, 2**33)), 1),
    "kronsum_diag_reduce": lambda: kron.kronsum_diag_reduce([HUGE], "log"),
    "kronsum_diag_reduce, 2 vectors": lambda: kron.kronsum_diag_reduce([HUGE, np.ones(3)], "log"),
    "ks_project_diag_map": lambda: kron.ks_project_diag_map([HUGE], None, "log"),
    "ks_project_diag_map, small dims": lambda: kron.ks_project_diag_map([HUGE], [2**20, 2**20], "log"),
    "multiply_array": lambda: sm.prefix_sum() @ np.broadcast_to(1.0, (2**40, 2**20)),
}


def test_zero_stride_inputs_of_huge_length_are_errors_not_aborts():
    # Each used to abort the process ("failed to allocate 8796093022240 bytes"). They run in a
    # child process (address space capped at 4 GB, so nothing is ever allocated for real) in
    # which an abort is reported here with the case that caused it.
    script = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        from test_arguments import HUGE_CASES
        for name, call in HUGE_CASES.items():
            print("case", name, flush=True)
            try:
                call()
                print("no error", flush=True)
            except (MemoryError, ValueError) as exc:
                print("raised", type(exc).__name__, bool(str(exc)), flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=str(Path(__file__).parent))
    lines = done.stdout.splitlines()
    assert done.returncode == 0, f"crashed in {lines[-1] if lines else '?'}\n{done.stderr[-2000:]}"
    results = dict(zip(lines[::2], lines[1::2]))
    for name in HUGE_CASES:
        assert results.get(f"case {name}", "").startswith("raised") and results[f"case {name}"].endswith("True"), \
            f"{name}: {results.get(f'case {name}')}"


def test_repeated_squaring_is_a_memory_error_not_an_abort():
    # A = A @ A doubles the stage count; the stage array allocation used to abort at ~2^26.
    script = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        from mfkit import streaming_matrix as sm
        A = sm.prefix_sum()
        for i in range(40):
            try:
                A = A @ A
            except MemoryError as exc:
                print("MemoryError at", i, exc)
                break
        print("stages", A.num_stages)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MemoryError at 24 multiply_streaming_matrices: a product of 33554432 stages is too large" in done.stdout
    assert "stages 16777216" in done.stdout

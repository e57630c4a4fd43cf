"""PyTorch CPU tensors and JAX CPU arrays go into MFKit functions without a copy; results come
back as NumPy arrays, or are written into a given torch tensor (`out=`). Skipped where torch /
jax are not installed (neither is a dependency of MFKit)."""
import numpy as np
import pytest

from mfkit import _args, banded, kron, sensitivity
from mfkit import streaming_matrix as sm
from mfkit.banded import ColumnNormalizedBanded


# ---------------------------------------------------------------- torch
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_torch_inputs_are_read_in_place(torch):
    t = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    view = _args.array(t, "x", "f")
    assert view.dtype == np.float32 and np.shares_memory(view, t.numpy())
    tt = t.T                                     # a strided tensor: read in place too
    assert np.shares_memory(_args.array(tt, "x", "f"), t.numpy())
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)
    y = A @ t
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    np.testing.assert_array_equal(y, A @ t.numpy())
    np.testing.assert_array_equal(A @ t.T.contiguous(), A @ t.numpy().T.copy())


def test_torch_out_is_written_in_place(torch):
    A = sm.prefix_sum()
    x = torch.ones(5, 2, dtype=torch.float64)
    out = torch.zeros(5, 2, dtype=torch.float64)
    assert sm.multiply_array(A, x, out=out) is out
    np.testing.assert_array_equal(out.numpy(), np.cumsum(np.ones((5, 2)), 0))
    assert sm.multiply_array(A, x, out=x) is x   # in place in the tensor itself
    np.testing.assert_array_equal(x.numpy(), np.cumsum(np.ones((5, 2)), 0))
    m = torch.empty(3, 3, dtype=torch.float32)
    assert A.materialize(3, out=m) is m and m.numpy().tolist() == np.tri(3).tolist()
    C = ColumnNormalizedBanded.default(4, 2)
    c = torch.empty(4, 4)
    assert C.materialize(out=c) is c
    np.testing.assert_allclose(c.numpy(), C.materialize(), rtol=1e-6)
    s = A.stream(2, np.float32)
    slot = torch.zeros(2)
    assert s.next(torch.ones(2), out=slot) is slot and slot.tolist() == [1.0, 1.0]
    outs = [torch.empty(2, dtype=torch.float64), torch.empty(3, dtype=torch.float64)]
    got = kron.ks_project_diag(torch.arange(6, dtype=torch.float64), None, out=outs)
    assert got[0] is outs[0] and got[1] is outs[1]
    np.testing.assert_allclose([o.numpy() for o in outs][0], kron.ks_project_diag(np.arange(6.0), [2, 3])[0])


def test_torch_everywhere_an_array_goes(torch):
    C = torch.tril(torch.ones(6, 6, dtype=torch.float64))
    assert sensitivity.single_participation_sensitivity(C) == sensitivity.single_participation_sensitivity(np.tri(6))
    assert sensitivity.get_min_sep_sensitivity_upper_bound(C, 2) == sensitivity.get_min_sep_sensitivity_upper_bound(np.tri(6), 2)
    assert sensitivity.max_participation_for_linear_fn(torch.tensor([1.0, -2.0, 3.0])) == 4.0
    assert ColumnNormalizedBanded(torch.ones(5, 2)) == ColumnNormalizedBanded(np.ones((5, 2)))
    assert ColumnNormalizedBanded.from_banded_toeplitz(5, torch.tensor([1.0, 0.5])) == \
        ColumnNormalizedBanded.from_banded_toeplitz(5, [1.0, 0.5])
    D = ColumnNormalizedBanded.default(5, 2)
    assert banded.loss_and_gradient(D, None, torch.ones(5))[0] == banded.loss_and_gradient(D, None, np.ones(5))[0]
    assert sm.diagonal(torch.tensor([2.0, 3.0])) == sm.diagonal([2.0, 3.0])
    assert sm.momentum_sgd_matrix(torch.tensor(0.5)) == sm.momentum_sgd_matrix(0.5)
    assert sm.prefix_sum() * torch.tensor(2.0) == sm.prefix_sum() * 2.0
    assert (sm.prefix_sum() @ torch.arange(4)).tolist() == [0.0, 1.0, 3.0, 6.0]   # int64 tensor
    v = [torch.tensor([1.0, 2.0]), torch.tensor([0.5, 1.5, 2.5])]
    assert kron.kronsum_diag_reduce(v, "log") == kron.kronsum_diag_reduce([t.numpy() for t in v], "log")
    np.testing.assert_array_equal(kron.kronsum_diag(*v), kron.kronsum_diag(*[t.numpy() for t in v]))
    mats = [torch.eye(2, dtype=torch.float64), torch.eye(3, dtype=torch.float64)]
    np.testing.assert_array_equal(kron.kronsum(*mats), kron.kronsum(np.eye(2), np.eye(3)))
    np.testing.assert_array_equal(kron.kronsum_matvec(mats, torch.ones(6, dtype=torch.float64)), 2 * np.ones(6))


def test_torch_tensors_that_cannot_be_read_in_place_are_refused_clearly(torch):
    with pytest.raises(TypeError, match="detach"):
        sm.prefix_sum() @ torch.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match="cannot be read in place|BFloat16"):
        sm.prefix_sum() @ torch.ones(3, dtype=torch.bfloat16)
    out = torch.full((3, 3), 7.0)
    with pytest.raises(TypeError, match="float32"):
        sm.prefix_sum().materialize(3, dtype=np.float64, out=out)
    assert bool((out == 7.0).all())


# ---------------------------------------------------------------- jax
@pytest.fixture(scope="module")
def jnp():
    pytest.importorskip("jax")
    import jax
    jax.config.update("jax_platforms", "cpu")
    import jax.numpy as jnp
    return jnp


def test_jax_inputs_are_read_in_place(jnp):
    x = jnp.arange(12.0).reshape(4, 3)          # float32, a read-only buffer
    view = _args.array(x, "x", "f")
    assert view.dtype == np.float32 and not view.flags.writeable
    assert np.shares_memory(view, np.asarray(x))
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9)
    y = A @ x
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    np.testing.assert_array_equal(y, A @ np.asarray(x))
    np.testing.assert_array_equal(sm.prefix_sum() @ jnp.arange(10), np.cumsum(np.arange(10.0)))  # int32
    state = A.init_multiply(x[0])
    assert np.array_equal(A.multiply_next(x[0], state)[0], y[0])
    assert sensitivity.single_participation_sensitivity(jnp.tril(jnp.ones((4, 4)))) == 2.0
    assert ColumnNormalizedBanded(jnp.ones((4, 2))) == ColumnNormalizedBanded(np.ones((4, 2)))
    assert kron.kronsum_diag_reduce([jnp.ones(2), jnp.ones(3)], "identity") == 12.0


def test_jax_abstract_values_start_streams(jnp):
    import jax
    s = sm.prefix_sum().init_multiply(jax.ShapeDtypeStruct((3,), jnp.float32))
    assert s.shape == (3,) and s.dtype == np.float32


def test_read_only_jax_buffer_is_refused_as_an_output(jnp):
    with pytest.raises(ValueError, match="out is read-only"):
        sm.prefix_sum().materialize(2, out=jnp.zeros((2, 2)))
    x = jnp.ones(3)
    with pytest.raises(ValueError, match="read-only"):
        sm.multiply_array(sm.prefix_sum(), x, out=x)

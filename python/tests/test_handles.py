"""Objects that own a library handle (StreamingMatrix, Stream, ColumnNormalizedBanded): released
by weakref.finalize, pickled and copied to equal objects that own handles of their own."""
import copy
import ctypes
import gc
import pickle
import subprocess
import sys

import numpy as np
import pytest

from mfkit import _ffi, banded
from mfkit import streaming_matrix as sm
from mfkit.banded import ColumnNormalizedBanded


def matrices():
    C = ColumnNormalizedBanded.default(12, 3)
    P = sm.prefix_sum()
    return {
        "identity": sm.identity(),
        "prefix": P,
        "diagonal": sm.diagonal(np.array([2.0, -1.0, 0.5], np.float32)),
        "momentum": sm.momentum_sgd_matrix(0.9),
        "momentum lr": sm.momentum_sgd_matrix(0.5, [1.0, 0.5, 0.25]),
        "scaled": P * 2.5,
        "rows and columns": sm.scale_rows_and_columns(P @ sm.momentum_sgd_matrix(0.8), [1.0, 2.0], [0.5]),
        "rows only": P.scale_rows_and_columns(row_scale=[3.0]),
        "product": P @ sm.momentum_sgd_matrix(0.9, [1.0, 0.1]) @ sm.diagonal([1.0, 2.0]),
        "banded inverse": C.inverse_as_streaming_matrix(),
        "workload times inverse": P @ C.inverse_as_streaming_matrix() * 0.5,
    }


@pytest.mark.parametrize("name", list(matrices()))
def test_streaming_matrix_pickles_and_copies_to_equal_independent_matrices(name, rng):
    A = matrices()[name]
    x = rng.normal(size=(14, 3))
    expected = A @ x
    for make in (lambda: pickle.loads(pickle.dumps(A)), lambda: copy.copy(A), lambda: copy.deepcopy(A)):
        B = make()
        assert B == A and hash(B) == hash(A) and B is not A
        assert B._handle.value != A._handle.value
        assert B.num_stages == A.num_stages
        np.testing.assert_array_equal(B @ x, expected)
    # A copy outlives its original (copy.copy used to share the handle).
    B = copy.copy(A)
    del A
    gc.collect()
    np.testing.assert_array_equal(B @ x, expected)


def test_equality_means_same_stages_and_parameters():
    P = sm.prefix_sum()
    assert P == sm.prefix_sum() and P != sm.identity() and sm.identity() == sm.identity() @ sm.identity()
    assert P @ sm.identity() == P                 # the identity has no stages
    assert sm.diagonal([1.0, 2.0]) != sm.diagonal([1.0, 3.0])
    assert sm.identity() * 2.0 == sm.diagonal([2.0]) and P * 2.0 != P   # A * s is A @ diag([s])
    assert P * 2.0 == P @ sm.diagonal([2.0])
    assert sm.momentum_sgd_matrix(0.9) != sm.momentum_sgd_matrix(0.8)
    assert sm.momentum_sgd_matrix(0.9) != sm.momentum_sgd_matrix(0.9, [1.0])
    M = sm.momentum_sgd_matrix(0.9)
    assert (P @ M) @ P == P @ (M @ P) and P @ M != M @ P
    C, D = ColumnNormalizedBanded.default(6, 2), ColumnNormalizedBanded.default(6, 3)
    assert C.inverse_as_streaming_matrix() == copy.copy(C).inverse_as_streaming_matrix()
    assert C.inverse_as_streaming_matrix() != D.inverse_as_streaming_matrix()
    assert P != "prefix_sum" and len({P, sm.prefix_sum(), M}) == 2


def test_deep_and_doubled_products_pickle_without_recursion():
    A = sm.identity()
    P = sm.prefix_sum()
    for _ in range(3000):                         # deeper than the recursion limit
        A = A @ P
    B = pickle.loads(pickle.dumps(A))
    assert B == A and B.num_stages == 3000
    D = P
    for _ in range(16):                           # 2^16 stages from 17 recipe nodes
        D = D @ D
    data = pickle.dumps(D)
    assert len(data) < 4000
    E = copy.deepcopy(D)
    assert E.num_stages == 2**16 and E == D


def test_matrix_goes_to_another_process():
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.9, [1.0, 0.5]) * 2.0
    script = ("import pickle, sys, numpy as np; A = pickle.loads(sys.stdin.buffer.read()); "
              "print((A @ np.ones(4)).tolist())")
    done = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(A), capture_output=True, check=True)
    assert eval(done.stdout) == (A @ np.ones(4)).tolist()


def test_handles_are_released_by_finalizers():
    A = sm.prefix_sum() @ sm.prefix_sum()
    raw = ctypes.c_void_p(A._handle.value)
    finalizer = A._finalizer
    assert finalizer.alive
    del A
    gc.collect()
    assert not finalizer.alive
    # The library reports the freed handle (it never dereferences it).
    status = _ffi.lib.mfkit_sm_num_stages(raw, ctypes.byref(ctypes.c_int64()))
    assert status == _ffi.MFKIT_ERR_INVALID_ARGUMENT
    s = sm.prefix_sum().stream(3, np.float64)
    f = s._finalizer
    C = ColumnNormalizedBanded.default(4, 2)
    g = C._finalizer
    del s, C
    gc.collect()
    assert not f.alive and not g.alive


def test_direct_construction_is_refused():
    with pytest.raises(TypeError, match="constructors of mfkit.streaming_matrix"):
        sm.StreamingMatrix(ctypes.c_void_p(1))


# ---------------------------------------------------------------- streams
def test_stream_at_step_zero_copies_and_pickles():
    A = sm.prefix_sum() @ sm.momentum_sgd_matrix(0.5)
    s = A.stream((2, 3), np.float64)
    x = np.arange(6.0).reshape(2, 3)
    for make in (lambda: pickle.loads(pickle.dumps(s)), lambda: copy.copy(s), lambda: copy.deepcopy(s)):
        t = make()
        assert t == s and t is not s and t._handle.value != s._handle.value
        assert t.shape == s.shape and t.dtype == s.dtype and t.matrix == A
        np.testing.assert_array_equal(t.next(x), (A @ np.stack([x]))[0])
        assert t != s  # t has moved on, s has not
    assert s.step == 0
    s.next(x)
    for make in (lambda: pickle.dumps(s), lambda: copy.copy(s), lambda: copy.deepcopy(s)):
        with pytest.raises(TypeError, match="cannot pickle or copy a Stream at step 1"):
            make()
    assert s == s
    s.reset()
    assert copy.copy(s) == s


# ---------------------------------------------------------------- strategies
def test_strategy_pickles_and_copies_to_equal_independent_strategies():
    C = ColumnNormalizedBanded.default(20, 4)
    errors = banded.per_query_error(C)
    for make in (lambda: pickle.loads(pickle.dumps(C)), lambda: copy.copy(C), lambda: copy.deepcopy(C)):
        D = make()
        assert D == C and hash(D) == hash(C) and D._handle.value != C._handle.value
        assert not D.params.flags.writeable
        np.testing.assert_array_equal(banded.per_query_error(D), errors)
        np.testing.assert_array_equal(D.materialize(), C.materialize())
    D = copy.copy(C)
    del C
    gc.collect()
    np.testing.assert_array_equal(banded.per_query_error(D), errors)
    assert D != ColumnNormalizedBanded.default(20, 3) and D != ColumnNormalizedBanded.default(21, 4)
    assert D != D.params


def test_unaligned_inputs_are_copied_not_refused():
    # Pickles and Dask transfers may deliver arrays whose data is not aligned to the dtype.
    raw = np.zeros(8 * 12 + 1, dtype=np.uint8)
    params = np.ndarray((6, 2), dtype=np.float64, buffer=raw.data, offset=1)
    assert not params.flags.aligned
    params[:] = np.random.default_rng(1).uniform(0.5, 1.5, (6, 2))
    params[4:, 1] = 0
    C = banded.ColumnNormalizedBanded(params)
    np.testing.assert_array_equal(C.params, params)
    x = np.ndarray((6,), dtype=np.float64, buffer=raw.data, offset=1)
    np.testing.assert_allclose(sm.prefix_sum() @ x, np.cumsum(x))

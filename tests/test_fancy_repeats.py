"""An indexed write with a repeated position and more than one index component
(``Y[0, I] = v``, ``Y[:, I] += A``, ``Y[I, J] = v``): NumPy keeps the last write to each
position, so the earlier duplicates reach the result through nothing. Only a lone integer
array index was handled; with other components the reverse sweep passed every duplicate's
cotangent on (a wrong gradient). Checked against central differences on both backends."""
import numpy as np
import pytest

import srcad

II = np.array([0, 0])
J = np.array([2, 2])
R = np.array([1, 0, 1])
W = np.arange(1.0, 7.0).reshape(2, 3)


def row_at_repeat(v):
    Y = np.zeros((2, 3))
    Y[0, II] = v
    return np.sum(Y * W)


def rows_repeated(V):
    Y = np.zeros((2, 3))
    Y[R, :] = V
    return np.sum(Y * W)


def columns_added(A):
    Y = A * 1.0
    Y[:, II] += A[:, :2]
    return np.sum(Y * W)


def pairs_repeated(v):
    Y = np.ones((2, 3))
    Y[II, J] = v * v
    return np.sum(Y * W)


def scaled_twice(A):
    Y = np.tanh(A)
    Y[II, II] *= A[0, 1]
    return np.sum(Y * W)


def rows_in_loop(V):
    Y = np.zeros((2, 3))
    for k in range(2):
        Y[R, 1:] = V[:, 1:] * (k + 1.0)
    return np.sum(Y * W)


CASES = [(row_at_repeat, (2,)), (rows_repeated, (3, 3)), (columns_added, (2, 3)),
         (pairs_repeated, (2,)), (scaled_twice, (2, 3)), (rows_in_loop, (3, 3))]


@pytest.mark.parametrize("fn, shape", CASES, ids=[c[0].__name__ for c in CASES])
@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_repeated_positions_keep_the_last_write(fn, shape, backend, rng):
    x = rng.uniform(-1.0, 1.0, shape)
    v = rng.standard_normal(shape)
    h = 1e-6
    slope = (fn(x + h * v) - fn(x - h * v)) / (2 * h)
    value, g = srcad.value_and_grad(fn, backend=backend)(x)
    assert value == pytest.approx(fn(x.copy()), rel=1e-12)
    assert np.sum(g * v) == pytest.approx(slope, rel=1e-6, abs=1e-9)
    _, t = srcad.jvp(fn, (x,), (v,), backend=backend)
    assert t == pytest.approx(slope, rel=1e-6, abs=1e-9)

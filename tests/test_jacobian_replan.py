"""A Jacobian whose output's size depends on an integer argument or on values re-plans
instead of reusing the output shape learned on an earlier call."""
import numpy as np
import pytest

import srcad


def head(x, n):
    return x[:n] * np.sin(x[:n])


def above(x):
    return x[x > 0.5] ** 2


def head_or_sum(x, n):
    if n == 0:
        return np.sum(x ** 2)
    return x[:n] ** 2


def _fd_jacobian(fn, x, *rest, h=1e-6):
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        cols.append((np.asarray(fn(x + e, *rest)) - np.asarray(fn(x - e, *rest))) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
def test_output_size_set_by_an_integer(mode, rng):
    x = rng.uniform(0.2, 0.9, 5)
    J = srcad.jacobian(head, mode=mode)
    for n in (1, 3, 5, 2):
        got = J(x, n)
        assert got.shape == (n, 5)
        np.testing.assert_allclose(got, _fd_jacobian(head, x, n), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
def test_output_size_set_by_values(mode, rng):
    J = srcad.jacobian(above, mode=mode)
    for k in (2, 4, 1):
        x = np.concatenate([rng.uniform(0.6, 0.9, k), rng.uniform(0.1, 0.4, 5 - k)])
        got = J(x)
        assert got.shape == (k, 5)
        np.testing.assert_allclose(got, _fd_jacobian(above, x), rtol=1e-6, atol=1e-8)


def test_scalar_output_then_vector_output(rng):
    x = rng.uniform(0.2, 0.9, 4)
    J = srcad.jacobian(head_or_sum, mode="reverse")
    np.testing.assert_allclose(J(x, 0), _fd_jacobian(head_or_sum, x, 0), rtol=1e-6, atol=1e-8)
    got = J(x, 3)
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, _fd_jacobian(head_or_sum, x, 3), rtol=1e-6, atol=1e-8)

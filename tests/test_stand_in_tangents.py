"""A vector-mode tangent smaller than its value (a derivative that is constant
along some axes, such as the gradient of ``tanh(sum(x))``) is expanded from the
right, after its lead axis: the Hessian of such a function of a matrix is
checked against second-order central differences."""
import numpy as np
import pytest

import srcad


def fd_hessian(f, x, h=1e-4):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            def at(si, sj):
                y = x.astype(np.float64).ravel()
                y[i] += si * h
                y[j] += sj * h
                return f(y.reshape(x.shape))
            H[i, j] = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h)
    return H.reshape(x.shape + x.shape)


def tanh_of_sum(x):
    return np.tanh(np.sum(x))


def sin_of_mean(x):
    return np.sin(np.mean(x) * 3.0) * 2.0


@pytest.mark.parametrize("f", [tanh_of_sum, sin_of_mean])
@pytest.mark.parametrize("shape", [(2, 3), (3,), (2, 1, 2)])
def test_hessian_of_a_function_of_a_reduction(f, shape):
    x = np.random.default_rng(5).uniform(-0.6, 0.6, shape)
    H = srcad.hessian(f)(x)
    assert H.shape == shape + shape
    np.testing.assert_allclose(H, fd_hessian(f, x), rtol=1e-5, atol=1e-6)


def unused_entry_of_a_dict(x, c):
    d1 = {"a": np.concatenate([np.ones((1, 3)), np.ones((2, 3))]), "b": x.T / np.tanh(c)}
    return np.einsum("ij,ij->", d1["a"], d1["a"])


def test_a_numpy_scalar_stand_in_cotangent_is_expanded_before_a_transpose():
    # the unused entry's cotangent is 0.0 / np.tanh(c), a NumPy float, reaching x.T's rule
    x = np.random.default_rng(6).uniform(-1.0, 1.0, (2, 3))
    g = srcad.grad(unused_entry_of_a_dict)(x, 1.0)
    assert type(g) is np.ndarray and g.shape == x.shape
    want = np.zeros_like(x)             # central differences of a function constant in x
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1e-6
        want[i] = (unused_entry_of_a_dict(x + e, 1.0) - unused_entry_of_a_dict(x - e, 1.0)) / 2e-6
    np.testing.assert_allclose(g, want, atol=1e-8)

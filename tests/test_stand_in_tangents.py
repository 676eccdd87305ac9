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

"""Regressions: programs whose generated reverse code raised a raw NumPy/Python
exception (or, for unknown shapes, gave a wrong gradient). Every case is checked
against central differences in reverse and forward mode; second derivatives
against central differences of ``srcad.grad``.
"""
import numpy as np
import pytest

import srcad
from conftest import EPS, fd_check, fd_check_forward

X = np.array([0.3, 0.5, 0.7])
Y = np.array([0.5, -0.2, 0.1])
A23 = np.arange(6.0).reshape(2, 3) / 6.0
W32 = np.arange(6.0).reshape(3, 2)


def check_both(fn, *args, wrt=0, rng):
    fd_check(fn, args, wrt, rng)
    fd_check_forward(fn, args, wrt, rng)


def check_hessian(fn, x):
    """``srcad.hessian`` against central differences of ``srcad.grad``."""
    g = srcad.grad(fn)
    h = srcad.hessian(fn)(x)
    cols = [(g(x + EPS * e) - g(x - EPS * e)) / (2 * EPS) for e in np.eye(x.size)]
    np.testing.assert_allclose(h, np.array(cols).reshape(h.shape), rtol=1e-5, atol=1e-6)


# ------------------------------------------------- length-1 slices (a cotangent
# that broadcasts is not a scalar), unknown shapes are not "the same shape"

def rosen_square(x):
    return np.sum(100.0 * x[1:] ** 2)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def slices_of_two_shapes(x):
    return np.sum(np.sin(x[1:]) + np.cos(np.outer(x, x)[1:, 1:]))


def length_one_rows(x):
    m = np.outer(x, x)[:1]          # shape (1, n): broadcasts against x[1:, None]
    return np.sum(np.tanh(m) * np.cos(x[1:])[:, None])


@pytest.mark.parametrize("fn", [rosen_square, rosenbrock, slices_of_two_shapes,
                                length_one_rows], ids=lambda f: f.__name__)
@pytest.mark.parametrize("n", [2, 3])
def test_slices_of_any_length(fn, n, rng):
    x = np.array([1.0, 2.0, -0.5])[:n]
    check_both(fn, x, rng=rng)
    check_hessian(fn, x)


def test_length_one_slice_gradient_value():
    """The reported case at its reported point."""
    np.testing.assert_allclose(srcad.grad(rosen_square)(np.array([1.0, 2.0])), [0.0, 400.0])
    np.testing.assert_allclose(srcad.grad(rosenbrock)(np.array([1.0, 2.0])), [-400.0, 200.0])


# ------------------------------------------------- a scalar written to a row or a slice

def row_from_scalar(x):
    h = np.zeros((3, 2))
    h[0] = x[0]
    return np.sum(h ** 2 * W32)


def slice_from_scalar(x):
    b = np.zeros(3)
    b[:2] = x[0]
    return np.sum(b ** 2 * np.arange(1.0, 4.0))


def column_from_row(x):
    h = np.zeros((3, 3))
    h[:, 1:] = x[1:] * x[0]           # a (2,) row broadcast into a (3, 2) block
    return np.sum(np.sin(h) * np.arange(9.0).reshape(3, 3))


def row_from_scalar_in_loop(x):
    h = np.zeros((3, 2))
    for i in range(3):
        h[i] = x[i] ** 2
    return np.sum(h * W32)


@pytest.mark.parametrize("fn", [row_from_scalar, slice_from_scalar, column_from_row,
                                row_from_scalar_in_loop], ids=lambda f: f.__name__)
def test_value_broadcast_into_an_item(fn, rng):
    check_both(fn, X, rng=rng)
    check_hessian(fn, X)


# ------------------------------------------------- a row of a 2-D argument is an array

def cos_of_row(m):
    v = np.cos(m[0])
    return v[0] + np.sum(v)


def row_then_item_write(m):
    v = m[1] * 2.0
    v[0] = v[2] ** 2
    return np.sum(v * v)


@pytest.mark.parametrize("fn", [cos_of_row, row_then_item_write], ids=lambda f: f.__name__)
def test_row_of_a_matrix(fn, rng):
    check_both(fn, A23, rng=rng)


# ------------------------------------------------- cases that pass: kept as regressions

C = 2.0


def module_constant_loop(x):
    s = 0.0
    for i in range(3):
        s = s + C * x[i] ** 3
    return s


def outer_item(x):
    return np.outer(x, x)[1, 2]


@pytest.mark.parametrize("fn", [module_constant_loop, outer_item], ids=lambda f: f.__name__)
def test_hessians_that_work(fn, rng):
    check_both(fn, X, rng=rng)
    check_hessian(fn, X)

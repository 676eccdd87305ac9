"""Processes, depth and edge inputs (issue 9, section 4) and grad's scalar-output check.

- zero-size arrays get empty Jacobians of the right shape, forward and reverse;
- the tangent of a jvp has the type of the primal output (np.float64 for np.float64);
- np.memmap arguments hold plain data: accepted, their gradients are plain ndarrays.
"""
import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward


# --------------------------------------------------------------------------- zero-size arrays

def elementwise(x):
    return np.sin(x) * 2.0


def total(x):
    return np.sum(x ** 2)


def gram(x):
    return x @ x.T


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4)])
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_of_an_empty_input_is_empty(shape, mode):
    x = np.zeros(shape)
    J = srcad.jacobian(elementwise, mode=mode)(x)
    assert type(J) is np.ndarray and J.shape == shape + shape and J.dtype == np.float64
    g = srcad.jacobian(total, mode=mode)(x)
    assert type(g) is np.ndarray and g.shape == shape


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_with_an_empty_input_and_a_non_empty_output(mode):
    x = np.zeros((3, 0))
    J = srcad.jacobian(gram, mode=mode)(x)         # (3, 3) output of zeros
    assert J.shape == (3, 3, 3, 0)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_with_an_empty_output_and_a_non_empty_input(mode):
    def head(x):
        return x[:0] * 3.0
    J = srcad.jacobian(head, mode=mode)(np.arange(4.0))
    assert J.shape == (0, 4)


def test_empty_jacobian_keeps_float32():
    J = srcad.jacobian(elementwise, mode="reverse")(np.zeros((0, 2), dtype=np.float32))
    assert J.shape == (0, 2, 0, 2) and J.dtype == np.float32


# --------------------------------------------------------------------------- 0-d tangents

def sine_twice(x):
    return np.sin(x) * 2.0


def copied(x):
    return x.copy() * 1.5


def test_jvp_tangent_of_an_npfloat_output_is_an_npfloat(rng):
    x = np.array(0.4)
    value, tangent = fd_check_forward(sine_twice, (x,), 0, rng)
    assert type(value) is np.float64 and type(tangent) is np.float64


def test_jvp_tangent_follows_the_output_type(rng):
    for fn, x in [(sine_twice, 0.4), (sine_twice, np.float64(0.4)), (copied, np.array(0.4))]:
        value, tangent = fd_check_forward(fn, (x,), 0, rng)
        assert type(tangent) is type(value), (fn.__name__, type(x), type(value), type(tangent))


def test_jvp_of_a_constant_npfloat_output_is_an_npfloat():
    def const(x):
        return np.float64(2.0)
    value, tangent = srcad.jvp(const, (np.array(0.4),), (np.array(1.0),))
    assert type(tangent) is np.float64 and tangent == 0.0


# --------------------------------------------------------------------------- memmap

def sum_sin(x):
    return np.sum(np.sin(x) * x)


def scaled(x, w):
    return np.sin(x) * w


@pytest.fixture
def mapped(tmp_path):
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=(4,))
    mm[:] = [0.3, -0.5, 0.7, 1.1]
    yield mm
    del mm


def test_memmap_gradients_are_plain_arrays(mapped, rng):
    x = np.array(mapped)
    want = srcad.grad(sum_sin)(x)
    for got in [srcad.grad(sum_sin)(mapped), srcad.value_and_grad(sum_sin)(mapped)[1],
                srcad.differentiate(sum_sin).grad(mapped),
                srcad.pullback(sum_sin, mapped)[1](1.0)[0]]:
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, want)
    fd_check(sum_sin, (mapped,), 0, rng)
    np.testing.assert_array_equal(mapped, x)        # the file's data is untouched


def test_memmap_in_forward_mode_and_jacobians(mapped, rng):
    w = np.linspace(0.5, 1.5, 4)
    value, tangent = fd_check_forward(scaled, (mapped, w), 0, rng)
    assert type(value) is np.ndarray and type(tangent) is np.ndarray
    J = srcad.jacobian(scaled)(mapped, w)
    assert type(J) is np.ndarray
    np.testing.assert_allclose(J, srcad.jacobian(scaled)(np.array(mapped), w), rtol=0, atol=0)
    H = srcad.hessian(sum_sin)(mapped)
    assert type(H) is np.ndarray and H.shape == (4, 4)


def test_memmap_inside_a_tuple(mapped, rng):
    def pair(p):
        a, b = p
        return np.sum(a * b)
    g = srcad.grad(pair)((mapped, np.ones(4)))
    assert type(g[0]) is np.ndarray and type(g[1]) is np.ndarray
    fd_check(pair, ((mapped, np.ones(4)),), 0, rng)


def test_a_masked_array_is_still_refused():
    x = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    with pytest.raises(TypeError, match="numpy.ma.MaskedArray: srcad takes plain ndarrays"):
        srcad.grad(sum_sin)(x)

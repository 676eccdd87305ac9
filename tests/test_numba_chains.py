"""Allocating elementwise chains run as one loop in the numba core
(transforms/numba_chains.py): forward passes and Jacobians agree with central
differences and with the NumPy backend to rounding; a strided argument, a
broadcasting operand, a zero-size array and a division by zero take the
statements' own path or give NumPy's numbers."""
import warnings

import numpy as np
import pytest

import srcad
from conftest import fd_check_forward, need_numba

need_numba()

GRID = np.arange(-10, 11)            # an int64 array the code reads from outside


def bump(d, m):
    d0 = np.exp(-1.5 * (GRID - m) ** 2)
    return d - np.sum(d * d0) / np.sum(d0 * d0) * d0


def ratio(x, k):
    u = x * k + 1.0
    v = np.sin(u) / u
    return v * v + np.sum(v) * x


def powers(x, k):
    t = (x * k) ** 3 + np.sqrt(x * x + k) ** 0.5
    return np.tanh(t) - t / (1.0 + x * x)


def broadcast(x, k):
    t = x * k
    return t[:, None] * np.exp(x) + k


def loss(x, y, k):
    return np.sum(np.exp(-(x - y) ** 2 * k) * x) + np.sum(np.sin(x * k) * y)


FORWARD = (bump, ratio, powers)


def _args(fn, rng, n=9):
    if fn is bump:
        return (rng.uniform(-1.0, 1.0, 21), float(rng.uniform(-2.0, 2.0)))
    return (rng.uniform(0.2, 1.5, n), float(rng.uniform(0.3, 0.9)))


@pytest.mark.parametrize("fn", FORWARD, ids=lambda f: f.__name__)
def test_chain_loops_give_the_forward_pass(fn, rng):
    args = _args(fn, rng)
    f = srcad.differentiate(fn, wrt=1, backend="numba")
    text = f.source("jvp", *args, backend="numba")
    assert "_rt.floats_like(" in text and "_rt.wide(" in text
    value, tangent = f.jvp(args, (1.0,))
    want_value, want_tangent = srcad.differentiate(fn, wrt=1).jvp(args, (1.0,))
    np.testing.assert_allclose(value, want_value, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(tangent, want_tangent, rtol=1e-12, atol=1e-14)
    column = srcad.jacobian(fn, wrt=1, backend="numba")(*args)
    np.testing.assert_allclose(column, srcad.jacobian(fn, wrt=1)(*args), rtol=1e-12,
                               atol=1e-14)
    _central_along_k(fn, args, tangent)


def _central_along_k(fn, args, tangent, h=1e-6):
    """The tangent along the number ``k`` against a central difference (the compiled
    forward pass already made: no second specialisation to compile)."""
    x, k = args
    want = (fn(x, k + h) - fn(x, k - h)) / (2 * h)
    scale = 1.0 + np.max(np.abs(fn(x, k)))
    np.testing.assert_allclose(tangent, want, rtol=1e-6, atol=1e-7 * scale)


@pytest.mark.parametrize("fn", FORWARD, ids=lambda f: f.__name__)
def test_strided_and_empty_arguments_take_the_statements(fn, rng):
    """A strided view fails the guard (the statements run); an empty array loops zero
    times (sums 0.0, empty results): both as the NumPy backend gives them."""
    x, k = _args(fn, rng, 18)
    strided = np.repeat(x, 2)[::2] if fn is bump else x[::2]
    f = srcad.differentiate(fn, wrt=1, backend="numba")
    ref = srcad.differentiate(fn, wrt=1)
    for arg in (strided,) + ((np.zeros(0),) if fn is not bump else ()):
        with np.errstate(all="ignore"):
            got = f.jvp((arg, k), (1.0,))
            want = ref.jvp((arg, k), (1.0,))
        for g, w in zip(got, want, strict=True):
            assert np.shape(g) == np.shape(w)
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_division_by_zero_gives_numpys_inf_and_nan(rng):
    """``a / b`` in the loop is NumPy's division: inf and nan, never ZeroDivisionError."""
    x = np.array([0.0, 1.0, 2.0, -1.0])
    f = srcad.differentiate(ratio, wrt=1, backend="numba")
    ref = srcad.differentiate(ratio, wrt=1)
    assert "_rt.np_divide(" in f.source("jvp", x, -1.0, backend="numba")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        got = f.jvp((x, -1.0), (1.0,))
        want = ref.jvp((x, -1.0), (1.0,))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_allclose(np.nan_to_num(g), np.nan_to_num(w), rtol=1e-12)


def test_broadcasting_operands_keep_their_statements(rng):
    """An operand of another rank (``t[:, None] * np.exp(x)``) is not a chain entry:
    those statements stay whole-array code; the rest agrees with central differences."""
    x, k = _args(broadcast, rng, 5)
    f = srcad.differentiate(broadcast, wrt=1, backend="numba")
    value, tangent = f.jvp((x, k), (1.0,))
    want_value, want_tangent = srcad.differentiate(broadcast, wrt=1).jvp((x, k), (1.0,))
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(tangent, want_tangent, rtol=1e-12)
    _central_along_k(broadcast, (x, k), tangent)


def test_gradients_with_chains_agree_with_central_differences(rng):
    """Reverse mode: what the buffer plan leaves allocating (a cotangent chain, the sum
    ``(t_bar * x).sum()`` of a scalar's cotangent) becomes a loop; the gradient agrees
    with the NumPy backend and with central differences along a random direction."""
    x, k = _args(ratio, rng, 12)
    y = rng.uniform(-1.0, 1.0, 12)
    f = srcad.differentiate(loss, wrt=(0, 1, 2), backend="numba")
    text = f.source("grad", x, y, k, backend="numba")
    assert "_rt.floats_like(" in text and "_acc += " in text
    gx, gy, gk = f.grad(x, y, k)
    rx, ry, rk = srcad.differentiate(loss, wrt=(0, 1, 2)).grad(x, y, k)
    np.testing.assert_allclose(gx, rx, rtol=1e-12)
    np.testing.assert_allclose(gy, ry, rtol=1e-12)
    assert gk == pytest.approx(rk, rel=1e-12)
    u, v, w = rng.standard_normal(12), rng.standard_normal(12), float(rng.standard_normal())
    h = 1e-6
    fd = (loss(x + h * u, y + h * v, k + h * w) - loss(x - h * u, y - h * v, k - h * w)) / (2 * h)
    assert np.dot(gx, u) + np.dot(gy, v) + gk * w == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_int_arrays_join_as_float_operands(rng):
    """An int64 array read from outside (``GRID``) joins the loop; the results are float64
    as NumPy makes them."""
    d, m = _args(bump, rng)
    f = srcad.differentiate(bump, wrt=1, backend="numba")
    value, tangent = f.jvp((d, m), (1.0,))
    assert value.dtype == tangent.dtype == np.float64
    assert "_rt.item(GRID_f" in f.source("jvp", d, m, backend="numba")


def roots(x, k):
    t = x * k
    return t ** 0.5 + t ** -1 + t ** 2 * 0.5


def test_powers_give_numpys_values_at_signed_zeros_and_infinities():
    """``t ** 0.5`` is NumPy's square root (``sqrt(-inf)`` is nan, ``sqrt(-0.0)`` is -0.0,
    where ``pow`` gives inf and 0.0), ``t ** -1`` its reciprocal, ``t ** 2`` its square."""
    x = np.array([-0.0, 0.0, -np.inf, np.inf, -2.0, 3.0, 1e-300, 7.5])
    f = srcad.differentiate(roots, wrt=1, backend="numba")
    assert "_rt.np_sqrt(" in f.source("jvp", x, 1.0, backend="numba")
    with np.errstate(all="ignore"):
        got = f.jvp((x, 1.0), (1.0,))
        want = srcad.differentiate(roots, wrt=1).jvp((x, 1.0), (1.0,))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(np.signbit(g), np.signbit(w))


def inverse_loop(x, k):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + (x[i] * k) ** -1 * 0.5
    return s * x ** -2


def test_negative_int_powers_give_inf_at_zero_as_numpy(rng, monkeypatch):
    """``a ** -1`` of a float array or number: NumPy gives inf at a zero base; numba's
    integer power raised ZeroDivisionError (now ``_rt.neg_power``, NumPy's power)."""
    x = np.array([0.0, 1.5, -2.0, 4.0])
    for fn in (roots, inverse_loop):
        f = srcad.differentiate(fn, wrt=1, backend="numba")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            got = f.jvp((x, 1.0), (1.0,))
            want = srcad.differentiate(fn, wrt=1).jvp((x, 1.0), (1.0,))
        assert getattr(f._specialise("jvp", (x, 1.0)), "__srcad_backend__", "") == "numba"
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
    x = rng.uniform(0.5, 1.5, 5)
    monkeypatch.setenv("SRCAD_BACKEND", "numba")
    fd_check_forward(inverse_loop, (x, 0.7), (0, 1), rng)


def scaled_by_0d(x, a):
    t = x * a + 1.0
    return t * t * a


def test_a_0d_array_operand_is_no_chain_entry(rng):
    """A 0-d array argument has no entry of its own: its statements stay whole-array code
    and the forward pass compiles and agrees with the NumPy backend and differences."""
    x, a = rng.uniform(0.0, 1.0, 5), np.array(0.7)
    f = srcad.differentiate(scaled_by_0d, wrt=1, backend="numba")
    value, tangent = f.jvp((x, a), (np.array(1.0),))
    assert getattr(f._specialise("jvp", (x, a)), "__srcad_backend__", "") == "numba"
    want = srcad.differentiate(scaled_by_0d, wrt=1).jvp((x, a), (np.array(1.0),))
    np.testing.assert_allclose(value, want[0], rtol=1e-13)
    np.testing.assert_allclose(tangent, want[1], rtol=1e-12)
    h = 1e-6
    fd = (scaled_by_0d(x, a + h) - scaled_by_0d(x, a - h)) / (2 * h)
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-9)

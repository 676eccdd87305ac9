"""The numba backend's entry: what the core takes and returns, gradients written into out=.

The core takes only what it reads (an unread ``out`` tuple costs numba a typing of the
tuple on every call), a gradient written by a ufunc into its out buffer is returned by
the entry itself (the core does not box it again), and an accumulated gradient
(``x_acc = x_out if x_out is not None else ...``) or one summed into its buffer
(``unbroadcast_into``) compiles. Every result is checked against central differences
and against the NumPy backend to rounding; float32 stays float32.
"""

import numpy as np
import pytest

import srcad
from conftest import fd_check, need_numba

need_numba()


def two_arrays(x, y):
    """x's gradient is accumulated (2x, then + y cos x); y's is summed into its buffer."""
    return np.sum(np.sin(x) * y) + np.sum(x * x)


def eam(x):
    p = np.sum(np.exp(-3.0 * (x + 1.0)))
    return p ** 2 + p ** 3 + 0.25 * p ** 4


def _core_params(text):
    line = next(ln for ln in text.splitlines() if ln.startswith("def ") and "_core(" in ln)
    return [p.strip() for p in line[line.index("(") + 1:line.index(")")].split(",")]


def test_two_array_gradients_compile_and_agree(rng):
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        x = rng.standard_normal(7).astype(dtype)
        y = rng.standard_normal(7).astype(dtype)
        f = srcad.differentiate(two_arrays, wrt=("x", "y"), backend="numba")
        gx, gy = f.grad(x, y)
        assert f.compiled("grad", x, y).__srcad_backend__ == "numba"
        rx, ry = srcad.differentiate(two_arrays, wrt=("x", "y")).grad(x, y)
        assert gx.dtype == dtype and gy.dtype == dtype
        np.testing.assert_allclose(gx, rx, rtol=rtol, atol=1e-6)
        np.testing.assert_allclose(gy, ry, rtol=rtol, atol=1e-6)
        bx, by = np.empty_like(x), np.empty_like(y)
        out = (bx, by)
        got = f.grad(x, y, out=out)
        assert got is out and got[0] is bx and got[1] is by
        np.testing.assert_allclose(bx, rx, rtol=rtol, atol=1e-6)
        np.testing.assert_allclose(by, ry, rtol=rtol, atol=1e-6)
        hx, hy = f.grad(x, y)                  # without out=: new arrays, never a buffer
        assert hx is not gx and hy is not gy and hx is not bx and hy is not by
        hx[:] = 0.0
        np.testing.assert_allclose(gx, rx, rtol=rtol, atol=1e-6)


def test_two_array_gradients_against_central_differences(numba_default, rng):
    fd_check(two_arrays, (rng.standard_normal(6), rng.standard_normal(6)), ("x", "y"), rng)


def test_the_core_takes_what_it_reads_and_the_entry_returns_out(rng):
    x = rng.uniform(0, 1, 30)
    f = srcad.differentiate(eam, backend="numba")
    text = f.source("grad", x)
    assert _core_params(text) == ["x", "seed", "work", "x_out", "keep"]     # no `out` tuple
    assert "return (value, (x_out,))" in text                         # the entry's
    buf = np.empty_like(x)
    assert f.grad(x, out=buf) is buf
    np.testing.assert_allclose(buf, srcad.differentiate(eam).grad(x), rtol=1e-12)
    g = srcad.differentiate(two_arrays, wrt=("x", "y"), backend="numba")
    text = g.source("grad", x, x.copy())
    assert "out" not in _core_params(text)
    assert "return (value, (x_out, y_out))" in text


def test_pullback_and_value_and_grad_through_the_entry(rng):
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    f = srcad.differentiate(two_arrays, wrt=("x", "y"), backend="numba")
    value, back = f.pullback(x, y)
    gx, gy = back(2.5)
    rx, ry = srcad.differentiate(two_arrays, wrt=("x", "y")).grad(x, y)
    assert value == pytest.approx(two_arrays(x, y), rel=1e-12)
    np.testing.assert_allclose(gx, 2.5 * rx, rtol=1e-12)
    np.testing.assert_allclose(gy, 2.5 * ry, rtol=1e-12)
    v, (hx, hy) = f.value_and_grad(x, y)
    assert v == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(hx, rx, rtol=1e-12)
    assert hx is not gx


def grid_fit(m):
    u = GRID - m
    d0 = np.exp(-1.5 * u * u)
    return GRID * 0.5 + np.sum(d0) * d0


GRID = np.linspace(-2.0, 2.0, 11)


def test_forward_jacobian_of_one_scalar_agrees(rng):
    J = srcad.jacobian(grid_fit, backend="numba")
    got = J(0.3)
    want = srcad.jacobian(grid_fit)(0.3)
    h = 1e-6
    fd = (grid_fit(0.3 + h) - grid_fit(0.3 - h)) / (2 * h)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)
    assert got.shape == (11,)


def pair_energy(x):
    """A loss summed in the loop the gradient runs in: grad never reads it."""
    e = 0.0
    for i in range(x.shape[0]):
        for j in range(i + 1, x.shape[0]):
            d = x[i] - x[j]
            e = e + 1.0 / (1.0 + d * d)
    return e


def test_grad_leaves_out_the_value_and_value_and_grad_keeps_it(rng):
    """``grad`` calls the core with ``keep=None`` (the value is a zero of its type, the
    sum that makes it is left out); ``value_and_grad`` and a pullback get the value. Both
    gradients agree with central differences, float32 stays float32."""
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        x = rng.standard_normal(9).astype(dtype)
        f = srcad.differentiate(pair_energy, backend="numba")
        assert "_rt.kept(" in f.source("grad", x)
        g = f.grad(x)
        value, h = f.value_and_grad(x)
        assert g.dtype == h.dtype == dtype and g is not h
        np.testing.assert_allclose(g, h, rtol=rtol)
        assert value == pytest.approx(pair_energy(x), rel=rtol)
        assert f.value_and_grad(x)[0] == value and f.grad(x) is not g
        fn = f._specialise("vjp", (x,))
        assert fn.__srcad_backend__ == "numba"
        ref = srcad.differentiate(pair_energy).grad(x.astype(np.float64))
        np.testing.assert_allclose(g, ref, rtol=rtol * 10)
    fd_check(pair_energy, (rng.standard_normal(6),), 0, rng)
    with pytest.raises(ValueError, match="shape"):
        srcad.differentiate(elementwise, backend="numba").grad(rng.standard_normal(3))


def elementwise(x):
    return np.sin(x) * x

"""The numba backend on code the NumPy backend already took: operands that broadcast
along an axis of the same rank (their cotangent is summed back in compiled code), and a
loop that may return early (its return value is None until a trip returns).

Checked against central differences with the backend required (``SRCAD_BACKEND=numba``:
a function numba cannot compile raises instead of falling back) and against the NumPy
backend to rounding.
"""
import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward, need_numba
from test_catalogue import early_return_loop

need_numba()


def scaled(a, c, b):
    """``a`` (3, 1) broadcasts along axis 1 of ``b`` (3, 4), ``c`` (1, 1) along both."""
    return np.sum((a * b + c) ** 2)


def test_operands_broadcast_along_unit_axes(numba_default, rng):
    a, c, b = rng.normal(size=(3, 1)), rng.normal(size=(1, 1)), rng.normal(size=(3, 4))
    _, grads = fd_check(scaled, (a, c, b), (0, 1, 2), rng)
    assert grads[0].shape == (3, 1) and grads[1].shape == (1, 1)
    compiled = srcad.grad(scaled, wrt=(0, 1, 2), backend="numba")(a, c, b)
    want = srcad.grad(scaled, wrt=(0, 1, 2), backend="numpy")(a, c, b)
    for got, ref in zip(compiled, want):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("x", [np.array([0.4, 0.5, 0.9, 0.8, 0.6]),
                               np.array([0.1, 0.2, 0.3, 0.25])],
                         ids=["returns-in-loop", "runs-through"])
def test_a_loop_that_may_return_early(numba_default, rng, x):
    fd_check(early_return_loop, (x,), 0, rng)
    np.testing.assert_allclose(srcad.grad(early_return_loop, backend="numba")(x),
                               srcad.grad(early_return_loop, backend="numpy")(x), rtol=1e-12)
    value, tangent = fd_check_forward(early_return_loop, (x,), 0, rng)
    assert value == early_return_loop(x)


def test_a_standalone_module_of_a_numba_function_is_the_numpy_code(tmp_path, rng):
    f = srcad.differentiate(scaled, wrt=("a", "c", "b"), backend="numba")
    a, c, b = rng.normal(size=(3, 1)), rng.normal(size=(1, 1)), rng.normal(size=(3, 4))
    text = f.source("grad", a, c, b, standalone=True)
    assert "_njit" not in text and "import numba" not in text
    path = tmp_path / "scaled_grad.py"
    path.write_text(text)
    scope = {}
    exec(compile(text, str(path), "exec"), scope)
    assert "def scaled_grad(a, c, b):" in text
    got = scope["scaled_grad"](a, c, b)
    want = srcad.grad(scaled, wrt=(0, 1, 2), backend="numpy")(a, c, b)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    with pytest.raises(ValueError, match="standalone=True writes the NumPy backend"):
        f.source("grad", a, c, b, backend="numba", standalone=True)


def test_the_runtimes_array_copy_broadcasts_casts_and_refuses_what_numpy_refuses():
    """``numba_runtime.assign`` (the compiled copy of the runtime's helpers, a ufunc into
    the buffer) does what ``out[...] = src`` does in NumPy: broadcast along length-1
    axes, cast to the buffer's dtype, keep -0.0, and raise where NumPy raises (a ufunc
    into a smaller buffer would otherwise reduce without a word)."""
    from srcad import numba_runtime as rt
    for out, src in ((np.zeros((2, 3), np.float32), np.array([[-0.0, 1.5, -2.25]])),
                     (np.zeros((2, 3, 2)), np.arange(3.0).reshape(1, 3, 1)),
                     (np.zeros((3, 2)), np.arange(6.0).reshape(2, 3).T)):
        want = out.copy()
        want[...] = src
        got = rt.assign(out, src)
        assert got is out and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))
    for out, src in ((np.zeros((1, 3)), np.ones((2, 3))), (np.zeros((2, 3)), np.ones((2, 2)))):
        with pytest.raises(ValueError):
            out.copy()[...] = src
        with pytest.raises(ValueError, match="does not broadcast"):
            rt.assign(out, src)


def negated(x):
    return -(np.sin(x) * x)


def passed_through(x, c):
    return x * c


@pytest.mark.parametrize("fn", [negated, passed_through], ids=["new-tangent", "input-tangent"])
def test_a_forward_tangent_is_returned_apart_from_everything(fn, rng):
    """The core returns a tangent it made for the output alone as it is (``tangent_own``),
    any other one copied: never the caller's tangent, an argument, or an earlier result."""
    x, v = rng.normal(size=5), rng.normal(size=5)
    args = (x,) if fn is negated else (x, 1.0)
    f = srcad.differentiate(fn, wrt=0, backend="numba")
    if fn is negated:
        assert "tangent_own" in f.source("jvp", *args)
    eps = 1e-6
    slope = (fn(x + eps * v, *args[1:]) - fn(x - eps * v, *args[1:])) / (2 * eps)
    _, t1 = f.jvp(args, (v,))
    _, t2 = f.jvp(args, (v,))
    np.testing.assert_allclose(t1, slope, rtol=1e-6, atol=1e-9)
    assert not any(np.shares_memory(t1, a) for a in (x, v, t2))
    j = f.jacobian(*args)
    np.testing.assert_allclose(j @ v, slope, rtol=1e-6, atol=1e-9)

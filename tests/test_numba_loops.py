"""numba: an elementwise run of ufunc calls (and the sum that ends it) as one loop
(transforms/numba_loops.py), guarded at run time by the operands' shapes and layout.

Checked against central differences with the backend required, against the NumPy
backend to rounding, on inputs that take the loop and on an input that takes the calls
as they were (a strided view), and in float32. (The signature tells length-1 axes
apart, so a broadcasting operand never gets a planned buffer: the shape test guards
against arrays of one rank whose lengths differ, which NumPy refuses.)
"""
import numpy as np
import pytest

import srcad
from conftest import fd_check, need_numba

need_numba()


def density(x):
    p = np.sum(np.exp(-3.0 * (x + 1.0)))
    return p ** 2 + p ** 3 + 0.25 * p ** 4


def chained(x, y):
    t = np.sin(x) * y + 0.5
    u = np.tanh(t * t - y)
    return np.sum(u * t) + np.sum(np.cos(u))


def item_and_sum(x):
    z = -x * x
    return -np.sum(z) + (-x[0]) * 3.0


def _fused(fn, *args):
    return "for i_f in range(" in srcad.source(fn, *args, kind="grad", backend="numba",
                                               wrt=tuple(range(len(args))))


@pytest.mark.parametrize("fn, shapes", [(density, [(50,)]), (chained, [(4, 5), (4, 5)]),
                                        (item_and_sum, [(6,)])],
                         ids=["density", "chained", "item_and_sum"])
def test_an_elementwise_run_is_one_loop(numba_default, rng, fn, shapes):
    # item_and_sum: x_bar is an array of zeros with an item written, then the run adds into
    # x_bar (into its out buffer); a call that reads x_bar must read the array it was
    # before the run, not the buffer a later call binds it to (that gave a wrong gradient)
    args = tuple(rng.uniform(0.1, 0.9, s) for s in shapes)
    assert _fused(fn, *args)
    wrt = tuple(range(len(args)))
    fd_check(fn, args, wrt, rng)
    got = srcad.grad(fn, wrt=wrt, backend="numba")(*args)
    want = srcad.grad(fn, wrt=wrt, backend="numpy")(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_a_strided_operand_takes_the_calls(numba_default, rng):
    x = rng.uniform(0.1, 0.9, 80)[::2]                      # not contiguous
    fd_check(density, (x,), 0, rng)
    np.testing.assert_allclose(srcad.grad(density, backend="numba")(x),
                               srcad.grad(density, backend="numpy")(x), rtol=1e-12)


def test_float32_stays_float32(rng):
    x = rng.uniform(0.1, 0.9, 40).astype(np.float32)
    g = srcad.grad(density, backend="numba")(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, srcad.grad(density, backend="numpy")(x), rtol=2e-5)

"""The API contract of API.md, on small functions.

Derivatives are checked against central differences (conftest), never against
hand-derived formulas.
"""
import numpy as np
import pytest

import srcad
from conftest import EPS, assert_grad_close, fd_check, tree_inner, tree_random_like


# --------------------------------------------------------------------------- functions

def energy(p):
    q = np.sin(p) * p
    return np.sum(q ** 2) + np.sum(p) ** 2


def f_xy(x, y):
    return np.sum(np.exp(x) * y) + np.sum(y ** 3) * x[0]


def f_xs(x, s, n):
    return np.sum(np.tanh(s * x)) * n + s ** 2


def vector_out(x, y):
    return np.sin(x) * y


def tuple_out(x, y):
    return np.sum(x * y), np.cos(x) * y


def with_stop(x):
    return np.sum(x * srcad.stop_gradient(np.sin(x)) + x ** 2)


def with_stop_held(x, c):
    return np.sum(x * c + x ** 2)


def cube(x):
    return x ** 3


def uses_cube(x):
    return np.sum(cube(x) + x)


@pytest.fixture
def xy(rng):
    return rng.uniform(-1, 1, 5), rng.uniform(0.5, 1.5, 5)


# --------------------------------------------------------------------------- the decorator

def test_call_is_the_original_function(xy):
    x, y = xy
    f = srcad.differentiate(f_xy)
    assert f(x, y) == f_xy(x, y)
    g = srcad.differentiate(wrt=("x", "y"))(tuple_out)
    a, b = g(x, y)
    assert a == tuple_out(x, y)[0]
    np.testing.assert_array_equal(b, tuple_out(x, y)[1])


def test_grad_one_wrt_is_one_value(xy):
    x, y = xy
    g = srcad.differentiate(f_xy).grad(x, y)
    assert isinstance(g, np.ndarray) and g.shape == x.shape and g.dtype == x.dtype
    assert_grad_close(g, f_xy, (x, y), 0)


def test_grad_several_wrt_is_a_tuple_in_wrt_order(xy):
    x, y = xy
    gy, gx = srcad.differentiate(f_xy, wrt=("y", "x")).grad(x, y)
    assert_grad_close(gy, f_xy, (x, y), 1)
    assert_grad_close(gx, f_xy, (x, y), 0)
    g = srcad.differentiate(f_xy, wrt=("x", "y")).grad(x, y)
    assert isinstance(g, tuple) and len(g) == 2
    np.testing.assert_allclose(g[0], gx, rtol=1e-12)
    np.testing.assert_allclose(g[1], gy, rtol=1e-12)


def test_wrt_by_name_and_by_position_agree(xy):
    x, y = xy
    by_name = srcad.differentiate(f_xy, wrt="y").grad(x, y)
    by_position = srcad.differentiate(f_xy, wrt=1).grad(x, y)
    np.testing.assert_allclose(by_name, by_position, rtol=1e-12)
    assert_grad_close(by_name, f_xy, (x, y), 1)
    mixed = srcad.differentiate(f_xy, wrt=(1, "x")).grad(x, y)
    np.testing.assert_allclose(mixed[0], by_name, rtol=1e-12)
    assert_grad_close(mixed[1], f_xy, (x, y), 0)


def test_float_argument_gets_a_float(rng):
    x = rng.uniform(-1, 1, 4)
    gs = srcad.differentiate(f_xs, wrt="s").grad(x, 0.7, 3)
    assert isinstance(gs, (float, np.floating)) and np.ndim(gs) == 0
    assert_grad_close(gs, f_xs, (x, 0.7, 3), 1)


def test_value_and_grad(xy):
    x, y = xy
    value, g = srcad.differentiate(f_xy, wrt=("x", "y")).value_and_grad(x, y)
    assert value == pytest.approx(f_xy(x, y), rel=1e-12)
    assert_grad_close(g[0], f_xy, (x, y), 0)
    assert_grad_close(g[1], f_xy, (x, y), 1)


def test_pullback_array_output(xy, rng):
    x, y = xy
    value, back = srcad.differentiate(vector_out, wrt=("x", "y")).pullback(x, y)
    np.testing.assert_allclose(value, vector_out(x, y), rtol=1e-12)
    ybar = rng.standard_normal(x.shape)
    gx, gy = back(ybar)
    for k, g in ((0, gx), (1, gy)):
        v = rng.standard_normal(x.shape)
        plus, minus = [x, y], [x, y]
        plus[k], minus[k] = plus[k] + EPS * v, minus[k] - EPS * v
        want = np.sum(ybar * (vector_out(*plus) - vector_out(*minus))) / (2 * EPS)
        assert np.sum(g * v) == pytest.approx(want, rel=1e-5, abs=1e-8)


def test_pullback_tuple_output_and_several_cotangents(xy, rng):
    x, y = xy
    f = srcad.differentiate(tuple_out, wrt=("x", "y"))
    value, back = f.pullback(x, y)
    assert isinstance(value, tuple) and len(value) == 2
    # back can be called more than once, with different cotangents.
    for _ in range(2):
        ybar = tree_random_like(value, rng)
        grads = back(ybar)
        assert isinstance(grads, tuple) and len(grads) == 2
        for k in (0, 1):
            v = rng.standard_normal(x.shape)
            plus, minus = [x, y], [x, y]
            plus[k], minus[k] = plus[k] + EPS * v, minus[k] - EPS * v
            dy = [(a - b) / (2 * EPS) for a, b in zip(tuple_out(*plus), tuple_out(*minus))]
            want = tree_inner(ybar, tuple(dy))
            assert tree_inner(grads[k], v) == pytest.approx(want, rel=1e-5, abs=1e-8)


def test_pullback_one_wrt_returns_a_one_tuple(xy, rng):
    x, y = xy
    _, back = srcad.differentiate(vector_out).pullback(x, y)
    grads = back(rng.standard_normal(x.shape))
    assert isinstance(grads, tuple) and len(grads) == 1 and grads[0].shape == x.shape


# --------------------------------------------------------------------------- out= and aliasing

def test_grad_out_is_filled_and_returned(xy):
    x, y = xy
    f = srcad.differentiate(f_xy)
    out = np.full_like(x, np.nan)
    got = f.grad(x, y, out=out)
    assert got is out
    assert_grad_close(out, f_xy, (x, y), 0)
    # A second call into the same buffer overwrites it (no accumulation).
    again = f.grad(x, y, out=out)
    assert again is out
    assert_grad_close(out, f_xy, (x, y), 0)


def test_grad_tuple_of_outs(xy):
    x, y = xy
    f = srcad.differentiate(f_xy, wrt=("x", "y"))
    outs = (np.full_like(x, np.nan), np.full_like(y, np.nan))
    got = f.grad(x, y, out=outs)
    assert got is outs
    assert_grad_close(outs[0], f_xy, (x, y), 0)
    assert_grad_close(outs[1], f_xy, (x, y), 1)


def test_value_and_grad_with_out(xy):
    x, y = xy
    out = np.zeros_like(x)
    value, g = srcad.differentiate(f_xy).value_and_grad(x, y, out=out)
    assert g is out
    assert value == pytest.approx(f_xy(x, y), rel=1e-12)
    assert_grad_close(out, f_xy, (x, y), 0)


def test_returned_gradients_do_not_alias(xy):
    x, y = xy
    f = srcad.differentiate(energy)
    g1 = f.grad(x)
    expected = g1.copy()
    assert not np.shares_memory(g1, x)
    g1[...] = 1e9                      # the caller owns the returned array
    g2 = f.grad(x)
    assert not np.shares_memory(g1, g2)
    np.testing.assert_array_equal(g2, expected)
    assert_grad_close(g2, energy, (x,), 0)
    g3 = f.grad(x)
    assert not np.shares_memory(g2, g3)


def test_grad_does_not_modify_its_inputs(xy):
    x, y = xy
    x0, y0 = x.copy(), y.copy()
    srcad.differentiate(f_xy, wrt=("x", "y")).grad(x, y)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


# --------------------------------------------------------------------------- source

def test_source_is_readable_python_with_user_names(rng):
    p = rng.uniform(-1, 1, 6)
    f = srcad.differentiate(energy)
    f.grad(p)
    text = f.source("grad", p)
    assert isinstance(text, str)
    assert "def " in text
    assert "p_bar" in text
    compile(text, "<generated>", "exec")          # it is valid Python
    assert f.source("grad", p) == text
    assert f.source("grad") == text                # the last compiled signature


@pytest.mark.parametrize("kind", ["grad", "pullback", "jvp"])
def test_source_for_each_kind(kind, rng):
    p = rng.uniform(-1, 1, 6)
    text = srcad.differentiate(energy).source(kind, p)
    assert isinstance(text, str) and "def " in text
    assert srcad.source(energy, p, kind=kind) == text


def test_functional_source_respects_wrt(xy):
    x, y = xy
    text_y = srcad.source(f_xy, x, y, kind="grad", wrt=1)
    assert "y_bar" in text_y


# --------------------------------------------------------------------------- stop_gradient

def test_stop_gradient_is_identity_when_run_plainly(rng):
    x = rng.uniform(-1, 1, 5)
    np.testing.assert_array_equal(srcad.stop_gradient(x), x)
    assert with_stop(x) == with_stop_held(x, np.sin(x))


def test_stop_gradient_holds_its_value_constant(rng):
    x = rng.uniform(-1, 1, 5)
    g = srcad.grad(with_stop)(x)
    # The same function with the stopped value passed in as a constant.
    assert_grad_close(g, with_stop_held, (x, np.sin(x)), 0)
    fd_check(with_stop_held, (x, np.sin(x)), 0, rng)


# --------------------------------------------------------------------------- check_grad

def test_check_grad_returns_a_small_error(xy):
    x, y = xy
    err = srcad.check_grad(f_xy, x, y)
    assert isinstance(err, float) and 0.0 <= err < 1e-5
    err_y = srcad.check_grad(f_xy, x, y, wrt=1)
    assert isinstance(err_y, float) and 0.0 <= err_y < 1e-5
    err_both = srcad.check_grad(f_xy, x, y, wrt=(0, 1), rtol=1e-5, atol=1e-7)
    assert err_both < 1e-5


def test_check_grad_catches_a_wrong_rule(rng):
    x = rng.uniform(0.5, 1.5, 4)

    @srcad.adjoint(cube)
    def wrong_cube(x):
        def back(ybar):
            return (2.0 * x ** 2 * ybar,)       # wrong on purpose: d x**3 = 3 x**2
        return x ** 3, back

    try:
        with pytest.raises(AssertionError):
            srcad.check_grad(uses_cube, x)
    finally:
        @srcad.adjoint(cube)
        def right_cube(x):
            def back(ybar):
                return (3.0 * x ** 2 * ybar,)
            return x ** 3, back
    assert srcad.check_grad(uses_cube, x) < 1e-5


# --------------------------------------------------------------------------- functional forms

def test_functional_forms(xy, rng):
    x, y = xy
    gx, gy = srcad.grad(f_xy, wrt=(0, 1))(x, y)
    assert_grad_close(gx, f_xy, (x, y), 0)
    assert_grad_close(gy, f_xy, (x, y), 1)
    value, g = srcad.value_and_grad(f_xy)(x, y)
    assert value == pytest.approx(f_xy(x, y), rel=1e-12)
    assert_grad_close(g, f_xy, (x, y), 0)
    value, back = srcad.pullback(vector_out, x, y, wrt=0)
    np.testing.assert_allclose(value, vector_out(x, y), rtol=1e-12)
    ybar = rng.standard_normal(x.shape)
    (g,) = back(ybar)
    assert_grad_close(g, lambda x, y: np.sum(ybar * vector_out(x, y)), (x, y), 0)
    out = np.empty_like(x)
    assert srcad.grad(f_xy)(x, y, out=out) is out
    assert_grad_close(out, f_xy, (x, y), 0)


def test_functional_jvp(xy, rng):
    x, y = xy
    t = rng.standard_normal(x.shape)
    value, t_out = srcad.jvp(vector_out, (x, y), (t,), wrt=0)
    np.testing.assert_allclose(value, vector_out(x, y), rtol=1e-12)
    want = (vector_out(x + EPS * t, y) - vector_out(x - EPS * t, y)) / (2 * EPS)
    np.testing.assert_allclose(t_out, want, rtol=1e-5, atol=1e-8)
    value, t_out = srcad.differentiate(vector_out, wrt=("x", "y")).jvp((x, y), (t, t))
    want = (vector_out(x + EPS * t, y + EPS * t) - vector_out(x - EPS * t, y - EPS * t)) / (2 * EPS)
    np.testing.assert_allclose(t_out, want, rtol=1e-5, atol=1e-8)


def test_clear_cache_keeps_results_right(xy):
    x, y = xy
    f = srcad.differentiate(f_xy)
    f.grad(x, y)
    assert srcad.clear_cache() is None
    assert_grad_close(f.grad(x, y), f_xy, (x, y), 0)


def test_wrt_is_part_of_the_cache_key(rng):
    x = rng.uniform(-1, 1, 5)
    y = rng.uniform(0.5, 1.5, 3)          # a different shape: mixing them up cannot go unnoticed
    g0 = srcad.grad(f_xy_mixed, wrt=0)(x, y)
    g1 = srcad.grad(f_xy_mixed, wrt=1)(x, y)
    g0_again = srcad.grad(f_xy_mixed, wrt=0)(x, y)
    assert g0.shape == x.shape and g1.shape == y.shape
    assert_grad_close(g0, f_xy_mixed, (x, y), 0)
    assert_grad_close(g1, f_xy_mixed, (x, y), 1)
    np.testing.assert_allclose(g0_again, g0, rtol=1e-12)
    f = srcad.differentiate(f_xy_mixed, wrt=1)
    assert_grad_close(f.grad(x, y), f_xy_mixed, (x, y), 1)


def f_xy_mixed(x, y):
    return np.sum(np.sin(x)) * np.sum(y ** 2) + x[0] * y[-1]

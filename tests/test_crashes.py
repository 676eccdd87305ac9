"""Regressions: programs whose generated reverse code raised a raw NumPy/Python
exception (or, for unknown shapes, gave a wrong gradient). Every case is checked
against central differences in reverse and forward mode; second derivatives
against central differences of ``srcad.grad``.
"""
import math
from dataclasses import dataclass

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


# ------------------------------------------------- a list a rule turns into an array

def sum_of_listcomp(a):
    return np.sum([i * 3 for i in a])


def sum_of_appended(a):
    lst = []
    for i in a:
        lst.append(i * i)
    return np.sum(lst) + lst[1] * np.mean(lst)


def rows_appended(a):
    rows = []
    for i in range(2):
        rows.append(a * (i + 1.0))
    return np.sum(np.sin(np.array(rows))) + np.sum(np.stack(rows) ** 2)


@pytest.mark.parametrize("fn", [sum_of_listcomp, sum_of_appended, rows_appended],
                         ids=lambda f: f.__name__)
def test_list_given_to_a_numpy_rule(fn, rng):
    check_both(fn, X, rng=rng)
    check_hessian(fn, X)


def dot_of_list(a):
    lst = [a[0], a[1]]
    lst.append(a[2] ** 2)
    return np.dot(lst, lst)


def test_dot_of_a_list_reverse(rng):
    fd_check(dot_of_list, (X,), 0, rng)


# ------------------------------------------------- closures capturing different callables

def _sum_of(op):
    def f(a):
        return np.sum(op(a))
    return f


def test_closures_over_different_ufuncs_compile_apart():
    f_sin, f_exp = _sum_of(np.sin), _sum_of(np.exp)     # same code, different cells
    np.testing.assert_allclose(srcad.grad(f_sin)(X), np.cos(X))
    np.testing.assert_allclose(srcad.grad(f_exp)(X), np.exp(X))


# ------------------------------------------------- singular points follow NumPy (inf), never raise

def sqrt_pow(x):
    return x ** 0.5


def zero_pow(x):
    return x ** 0.0


def log_of(x):
    return np.log(x)


def log1p_of(x):
    return np.log1p(x)


def divide_by(x):
    return np.divide(1.0, x)


def divide_of(x):
    return np.divide(x, 0.0)


@pytest.mark.parametrize("fn, x, grad, second", [
    (sqrt_pow, 0.0, np.inf, -np.inf),
    (zero_pow, 0.0, 0.0, 0.0),
    (log_of, 0.0, np.inf, -np.inf),
    (log1p_of, -1.0, np.inf, -np.inf),
    (divide_by, 0.0, -np.inf, np.inf),
], ids=lambda v: getattr(v, "__name__", None))
def test_derivative_at_a_singular_point(fn, x, grad, second):
    """One-sided limits as NumPy computes them (Python floats would raise ZeroDivisionError);
    x ** 0.0 has derivative exactly 0 everywhere, its second derivative too."""
    with np.errstate(divide="ignore", invalid="ignore"):
        assert srcad.grad(fn)(x) == grad
        assert srcad.derivative(fn)(x) == grad
        assert srcad.hessian(fn)(x) == second


def test_divide_by_zero_of_python_floats_is_inf():
    with np.errstate(divide="ignore", invalid="ignore"):
        assert srcad.grad(divide_of)(1.0) == np.inf
        assert srcad.derivative(divide_of)(1.0) == np.inf


@pytest.mark.parametrize("fn", [sqrt_pow, zero_pow, log_of, log1p_of, divide_by],
                         ids=lambda f: f.__name__)
def test_singular_rules_away_from_the_singularity(fn, rng):
    x = 0.7
    check_both(fn, x, rng=rng)
    g = srcad.grad(fn)
    assert srcad.hessian(fn)(x) == pytest.approx((g(x + EPS) - g(x - EPS)) / (2 * EPS),
                                                 rel=1e-5, abs=1e-7)


# ------------------------------------------------- showgrad's name keyword

def show_named(x):
    y = srcad.showgrad(x * 2.0, name="probe")
    return np.sum(y ** 2)


def show_positional(x):
    y = srcad.showgrad(x * 2.0, "probe2")
    return np.sum(y ** 2)


def show_default(x):
    y = srcad.showgrad(x * 2.0)
    return np.sum(y ** 2)


# ids by name, not by the function's repr: its address differs between processes (xdist)
@pytest.mark.parametrize("fn, label", [(show_named, "probe"), (show_positional, "probe2"),
                                       (show_default, "x * 2.0")],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_showgrad_prints_its_name(fn, label, capsys, rng):
    g = srcad.grad(fn)(X)
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].startswith(f"{label}: ")
    assert printed[-1] == f"{label}: {4.0 * X}"     # the cotangent of y = 2x is 2 * y = 4x
    np.testing.assert_allclose(g, 8.0 * X)
    check_both(fn, X, rng=rng)


def show_misspelled(x):
    return srcad.showgrad(x, nam="q")


def test_showgrad_unknown_keyword_is_located():
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(show_misspelled)(1.0)
    err = info.value
    assert "cannot bind the call to `showgrad`" in str(err)
    assert "unexpected keyword argument 'nam'" in str(err)
    assert err.lineno == show_misspelled.__code__.co_firstlineno + 1


# ------------------------------------------------- an array's cotangent that stays zero in a loop

def outer_item_in_loop(y):
    s = 0.0
    for _ in range(2):
        s = np.outer(y, y)[0, 1]
    return s


def transposed_item_in_loop(y):
    s = 0.0
    for _ in range(2):
        s = np.outer(y, y).T[0, 1]
    return s


def reshaped_item_in_loop(y):
    s = 0.0
    for _ in range(2):
        s = np.reshape(np.outer(y, y), (9,))[1] * 2.0
    return s


@pytest.mark.parametrize("fn", [outer_item_in_loop, transposed_item_in_loop,
                                reshaped_item_in_loop], ids=lambda f: f.__name__)
def test_item_of_an_overwritten_array(fn, rng):
    check_both(fn, Y, rng=rng)
    check_hessian(fn, Y)


# ------------------------------------------------- a zero cotangent reaching a shape-changing rule

def unread_diagonal_slot(x):
    t = (np.sum(x), np.diagonal(np.outer(x, x)))
    return t[0]


def unread_reshape_slot(x):
    t = [np.sum(x), x.reshape(1, -1)]
    return t[0]


def unread_transpose_key(x):
    t = {"a": np.sum(x), "b": np.outer(x, x).T}
    return t["a"]


def unread_outer_slot(x):
    t = (np.sum(x), np.outer(x, x))
    return t[0] * 2.0


@dataclass
class Pair:
    a: float
    b: np.ndarray


def unread_field(x):
    p = Pair(np.sum(x), np.outer(x, x))
    return p.a


def unread_appended(x):
    lst = []
    lst.append(np.sum(x))
    lst.append(np.outer(x, x))
    return lst[0]


def branch_not_taken(x):
    s = 0.0
    m = np.outer(x, x)
    if x[0] > 5.0:
        s = np.sum(m.T)
    return s + x[1]


def iteration_without_contribution(x):
    s = 0.0
    for i in range(2):
        v = np.outer(x, x).T
        if i == 1:
            s = np.sum(v * v)
    return s


def slot_read_elementwise(x):
    t = (np.sum(x), np.outer(x, x))
    u = t[1] * 2.0
    return t[0] + np.sum(u[0])


ZERO_COTANGENT = [unread_diagonal_slot, unread_reshape_slot, unread_transpose_key,
                  unread_outer_slot, unread_field, unread_appended, branch_not_taken,
                  iteration_without_contribution, slot_read_elementwise]


@pytest.mark.parametrize("fn", ZERO_COTANGENT, ids=lambda f: f.__name__)
def test_zero_cotangent_of_an_array(fn, rng):
    fd_check(fn, (X,), 0, rng)
    check_hessian(fn, X)


def test_guards_only_where_a_cotangent_may_be_zero():
    """Straight-line code keeps no guard; an unread slot keeps one."""
    def plain(x):
        return np.sum(np.outer(x, x).T @ x)
    assert "_rt.dense" not in srcad.source(plain, X)
    assert "_rt.dense" in srcad.source(unread_diagonal_slot, X)


def math_sqrt_of(x):
    return math.sqrt(x)


def math_asin_of(x):
    return math.asin(x)


@pytest.mark.parametrize("fn, x, grad, second", [
    (math_sqrt_of, 0.0, np.inf, -np.inf),
    (math_asin_of, 1.0, np.inf, np.inf),
], ids=lambda v: getattr(v, "__name__", None))
def test_math_second_derivative_at_the_domain_edge(fn, x, grad, second):
    """The one-sided limits, as for the NumPy functions (the reciprocal in math's rules
    has a derivative of its own: it gave 0 here)."""
    assert srcad.grad(fn)(x) == grad
    assert srcad.hessian(fn)(x) == second

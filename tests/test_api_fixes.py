"""API-level regressions: has_aux, the scalar-output check, *args refusals, source(x),
code replaced under a compiled function.

Gradients are checked against central differences along random directions.
"""
import importlib
import inspect
import sys

import numpy as np
import pytest

import srcad

X = np.array([0.3, 0.5, 0.7])
EPS = 1e-6


def fd_grad_dot(f, x, v):
    """<grad f(x), v> by central differences."""
    return (f(x + EPS * v) - f(x - EPS * v)) / (2 * EPS)


def assert_grad_fd(f, g, x, rng, count=3):
    for _ in range(count):
        v = rng.standard_normal(np.shape(x))
        assert np.isclose(np.sum(g * v), fd_grad_dot(f, x, v), rtol=1e-5, atol=1e-8)


# =========================================================================== has_aux

def loss_and_aux(x):
    y = np.sin(x) * x
    return np.sum(y ** 2), np.cos(x) * 3.0


def loss_only(x):
    return loss_and_aux(x)[0]


def test_grad_has_aux_returns_gradient_and_aux(rng):
    g, aux = srcad.grad(loss_and_aux, has_aux=True)(X)
    assert_grad_fd(loss_only, g, X, rng)
    np.testing.assert_allclose(aux, np.cos(X) * 3.0)


def test_value_and_grad_has_aux(rng):
    (value, aux), g = srcad.value_and_grad(loss_and_aux, has_aux=True)(X)
    assert value == pytest.approx(loss_only(X))
    np.testing.assert_allclose(aux, np.cos(X) * 3.0)
    assert_grad_fd(loss_only, g, X, rng)


def test_differentiate_has_aux(rng):
    f = srcad.differentiate(loss_and_aux, has_aux=True)
    g, aux = f.grad(X)
    assert_grad_fd(loss_only, g, X, rng)
    (value, aux2), g2 = f.value_and_grad(X)
    np.testing.assert_allclose(g2, g)
    np.testing.assert_allclose(aux2, aux)


def test_aux_gets_no_derivative_code():
    source = srcad.differentiate(loss_and_aux, has_aux=True).source(X)
    # the derivative of np.cos (aux only) would read np.sin of the argument of cos;
    # the loss itself uses np.sin once and its derivative np.cos once
    assert source.count("np.cos") == 2, source


def passes_input_through(x):
    return np.sum(x ** 2), x


def test_aux_aliases_neither_the_input_nor_a_workspace():
    f = srcad.differentiate(loss_and_aux, has_aux=True)
    _, aux1 = f.grad(X)
    kept = aux1.copy()
    f.grad(X * 2.0)
    np.testing.assert_array_equal(aux1, kept)
    _, aux = srcad.grad(passes_input_through, has_aux=True)(X)
    assert aux is not X and not np.shares_memory(aux, X)


def test_tuple_output_without_has_aux_is_a_value_error():
    with pytest.raises(ValueError, match=r"grad needs a real scalar output; `loss_and_aux` "
                                         r"returned a tuple.*has_aux=True"):
        srcad.grad(loss_and_aux)(X)
    with pytest.raises(ValueError, match="has_aux=True"):
        srcad.value_and_grad(loss_and_aux)(X)


def scalar_only(x):
    return np.sum(x ** 2)


def three_things(x):
    return np.sum(x), x, x


def test_has_aux_needs_a_pair():
    with pytest.raises(ValueError, match=r"has_aux=True needs `scalar_only` to return a pair"):
        srcad.grad(scalar_only, has_aux=True)(X)
    with pytest.raises(ValueError, match=r"has_aux=True needs `three_things` to return a "
                                         r"pair \(value, aux\); it returned a 3-tuple"):
        srcad.grad(three_things, has_aux=True)(X)


def test_has_aux_value_must_be_scalar():
    def vector_and_aux(x):
        return x * 2.0, 1.0
    with pytest.raises(ValueError, match="grad needs a real scalar output"):
        srcad.grad(vector_and_aux, has_aux=True)(X)


# =========================================================================== scalar output

def vector_valued(x):
    return np.moveaxis(np.outer(x, x), 0, 1)


def matmul_valued(x):
    return np.outer(x, x) @ x


def reshaped(x):
    return np.reshape(np.outer(x, x), (9,))


@pytest.mark.parametrize("fn", [vector_valued, matmul_valued, reshaped])
def test_grad_of_vector_output_is_the_documented_value_error(fn):
    msg = rf"grad needs a real scalar output; `{fn.__name__}` returned a value of shape"
    with pytest.raises(ValueError, match=msg):
        srcad.grad(fn)(X)
    with pytest.raises(ValueError, match=msg):
        srcad.value_and_grad(fn)(X)
    with pytest.raises(ValueError, match=msg):
        srcad.grad(fn)(X, out=np.empty(3))


def zero_d_value(x):
    y = srcad.showgrad(x * 2.0)
    return np.asarray(np.sum(y ** 2))


def test_zero_d_value_runs_the_gradient_once(capsys, rng):
    g = srcad.grad(zero_d_value)(X)
    assert capsys.readouterr().out.count("x * 2.0:") == 1
    assert_grad_fd(lambda x: float(zero_d_value(x)), g, X, rng)
    out = np.empty(3)
    assert srcad.grad(zero_d_value)(X, out=out) is out
    assert capsys.readouterr().out.count("x * 2.0:") == 1
    np.testing.assert_allclose(out, g)


# =========================================================================== *args

def star(*args):
    return args[0] * 2.0


@pytest.mark.parametrize("call", [
    lambda: srcad.grad(star)(1.0),
    lambda: srcad.value_and_grad(star)(1.0),
    lambda: srcad.pullback(star, 1.0),
    lambda: srcad.jvp(star, (1.0,), (1.0,)),
    lambda: srcad.jacobian(star)(1.0),
    lambda: srcad.hessian(star)(1.0),
    lambda: srcad.hvp(star, (1.0,), 1.0),
], ids=["grad", "value_and_grad", "pullback", "jvp", "jacobian", "hessian", "hvp"])
def test_star_args_is_the_same_located_error_everywhere(call):
    with pytest.raises(srcad.TransformError) as info:
        call()
    err = info.value
    assert err.lineno == inspect.getsourcelines(star)[1]
    assert err.filename == __file__
    assert "`*args` or `**kwargs` parameters are not supported" in str(err)


# =========================================================================== source(x)

def test_source_with_the_kind_omitted_takes_the_arguments():
    f = srcad.differentiate(scalar_only)
    assert f.source(X) == f.source("grad", X)
    assert "def scalar_only_vjp" in f.source(X)


# =========================================================================== code replaced

def test_replaced_code_is_differentiated_anew(rng):
    def f(x):
        return np.sum(x ** 2)

    def g(x):
        return np.sum(np.sin(x) * x)

    d = srcad.differentiate(f)
    d.grad(X)
    f.__code__ = g.__code__
    assert_grad_fd(g, d.grad(X), X, rng)
    assert_grad_fd(g, srcad.grad(f)(X), X, rng)
    srcad.clear_cache()
    assert_grad_fd(g, d.grad(X), X, rng)
    assert_grad_fd(g, d.value_and_grad(X)[1], X, rng)


def test_source_that_does_not_match_the_running_code_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "edited_module_for_srcad.py"
    path.write_text("import numpy as np\n\n\ndef f(x):\n    return np.sum(x ** 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("edited_module_for_srcad")
    try:
        path.write_text("import numpy as np\n\n\ndef f(x):\n    return np.sum(x ** 3)\n")
        with pytest.raises(srcad.TransformError) as info:
            srcad.grad(module.f)(X)
        assert "the source found for `f` is not the code that runs" in str(info.value)
        assert info.value.lineno == 4
        path.write_text("import numpy as np\n\n\nF = 2.0\n")      # no def at that line now
        with pytest.raises(srcad.TransformError, match="is not the code that runs"):
            srcad.grad(module.f)(X)
    finally:
        sys.modules.pop("edited_module_for_srcad", None)


def test_a_function_read_before_its_file_was_edited_is_transformed_as_it_runs(
        tmp_path, monkeypatch, rng):
    """srcad reads a function once per code object: after its file is edited (and not
    reloaded), a new signature or kind is transformed from the code that runs, not refused."""
    path = tmp_path / "edited_later_for_srcad.py"
    path.write_text("import numpy as np\n\n\ndef f(x):\n    return np.sum(np.sin(x) * x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("edited_later_for_srcad")
    try:
        assert_grad_fd(module.f, srcad.grad(module.f)(X), X, rng)
        path.write_text("import numpy as np\n\n\ndef f(x):\n    return np.sum(x ** 3)\n")
        x2 = rng.standard_normal((2, 3))                    # another signature
        assert_grad_fd(module.f, srcad.grad(module.f)(x2), x2, rng)
        _, tangent = srcad.jvp(module.f, (x2,), (x2,))       # another kind
        eps = 1e-6
        assert tangent == pytest.approx((module.f(x2 + eps * x2) - module.f(x2 - eps * x2))
                                        / (2 * eps), rel=1e-6)
    finally:
        sys.modules.pop("edited_later_for_srcad", None)


# =========================================================================== user-type operators

from dataclasses import dataclass  # noqa: E402
from typing import NamedTuple  # noqa: E402

from conftest import fd_check, fd_check_forward  # noqa: E402


@dataclass
class Point:
    x: float
    y: float

    def __add__(a, b):
        return Point(a.x + 2.0 * b.x, a.y * b.y)


def add_points(a, b):
    c = a + b
    return c.x + c.y


def test_dataclass_add_calls_its_method(rng):
    g = srcad.grad(add_points, wrt=(0, 1))(Point(1.0, 2.0), Point(3.0, 5.0))
    assert g == (Point(1.0, 5.0), Point(2.0, 2.0))      # d(a.x + 2 b.x + a.y b.y)
    fd_check(add_points, (Point(1.0, 2.0), Point(3.0, 5.0)), (0, 1), rng)
    fd_check_forward(add_points, (Point(1.0, 2.0), Point(3.0, 5.0)), (0, 1), rng)


@dataclass
class Vec:
    x: float
    y: np.ndarray

    def __add__(a, b):
        return Vec(a.x + 2.0 * b.x, a.y * b.y)

    def __radd__(a, b):
        return Vec(a.x + b, a.y + b)

    def __mul__(a, s):
        return Vec(a.x * s, a.y * np.sin(s))

    def __rmul__(a, s):
        return Vec(s * s * a.x, a.y * s)

    def __neg__(a):
        return Vec(-a.x * 3.0, -a.y)

    def __sub__(a, b):
        return a + (-b)

    def __truediv__(a, s):
        return Vec(a.x / s, a.y / (s * 2.0))

    def __matmul__(a, b):
        return a.x * b.x + np.sum(a.y * b.y)

    def __getitem__(a, i):
        return a.y[i] * a.x


def energy(v):
    return v.x ** 2 + np.sum(v.y ** 3)


def vec_add(a, b):
    return energy(a + b)


def vec_scale(a, s):
    return energy(2.0 * (a * s))


def vec_sub_div(a, b):
    return energy(-(a - b) / 1.5)


def vec_matmul(a, b):
    return a @ b


def vec_getitem(a):
    return a[1] + np.sum(a[0:2])


def vec_built_inside(x):
    p = Vec(x[0], x)
    q = p + p
    return energy(0.5 * q)


def vec_radd(s, a):
    return energy(s + a * s)


def vec_loop(a, b):
    c = a
    for _ in range(3):
        c = c + b
    return energy(c)


def vec_list(vs):
    s = vs[0]
    for v in vs[1:]:
        s = s + v
    return energy(s)


def _vec(rng):
    return Vec(float(rng.uniform(0.2, 0.9)), rng.uniform(0.2, 0.9, 3))


@pytest.mark.parametrize("fn, nargs", [
    (vec_add, 2), (vec_scale, 1), (vec_sub_div, 2), (vec_matmul, 2), (vec_getitem, 1),
    (vec_loop, 2), (vec_radd, 0)])
def test_user_type_operators_both_modes(fn, nargs, rng):
    if fn is vec_radd:
        args = (0.7, _vec(rng))
    elif fn is vec_scale:
        args = (_vec(rng), 0.7)
    else:
        args = tuple(_vec(rng) for _ in range(nargs))
    wrt = tuple(range(len(args)))
    fd_check(fn, args, wrt, rng)
    fd_check_forward(fn, args, wrt, rng)


def test_user_type_built_in_the_function_and_in_a_list(rng):
    fd_check(vec_built_inside, (rng.uniform(0.2, 0.9, 3),), 0, rng)
    fd_check_forward(vec_built_inside, (rng.uniform(0.2, 0.9, 3),), 0, rng)
    fd_check(vec_list, ([_vec(rng), _vec(rng), _vec(rng)],), 0, rng)


def identity_with_rule(a):
    return a


@srcad.adjoint(identity_with_rule)
def _identity_adjoint(a):
    return a, lambda g: (g,)


def add_after_rule(a, b):
    c = identity_with_rule(a)   # a call that stays a call: its type is not known
    d = c + b  # <- unknown
    return d.x + d.y


def add_after_branch(a, b, flag):
    if flag:
        c = a
    else:
        c = 1.0
    d = c + b  # <- unknown
    return d.x


def sum_changes_type(a, b):
    s = 0.0
    for v in [a, b]:  # <- loop
        s = s + v
    return energy(s)


class Pair(NamedTuple):
    x: float
    y: float


def concat_pairs(a, b):
    c = a + b  # <- concat
    return c[0]


def setitem_point(a):
    a[0] = 1.0  # <- setitem
    return a.x


def _line(fn, marker):
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if f"# <- {marker}" in line)


@pytest.mark.parametrize("fn, args, marker, message", [
    (add_after_rule, (Point(1.0, 2.0), Point(3.0, 5.0)), "unknown",
     "the type of `c` under `+` is not known when the function is transformed"),
    (add_after_branch, (Point(1.0, 2.0), Point(3.0, 5.0), True), "unknown",
     "the type of `c` under `+` is not known when the function is transformed"),
    (sum_changes_type, (Vec(0.5, X.copy()), Vec(0.2, X.copy())), "loop",
     "the type of `s` changes from one iteration to the next"),
    (concat_pairs, (Pair(1.0, 2.0), Pair(3.0, 5.0)), "concat",
     "`+` on a `Pair`: it defines no `__add__` or `__radd__`"),
    (setitem_point, (Point(1.0, 2.0),), "setitem", "item assignment into a `Point`"),
])
def test_user_type_operator_refusals(fn, args, marker, message):
    for call in (lambda: srcad.grad(fn)(*args),
                 lambda: srcad.jvp(fn, args, (Point(1.0, 1.0) if isinstance(args[0], Point)
                                              else args[0],))):
        with pytest.raises(srcad.TransformError) as info:
            call()
        assert info.value.lineno == _line(fn, marker)
        assert message in str(info.value)


# =========================================================================== rules on types

@dataclass
class Ruled:
    x: float
    y: float


received = []


@srcad.adjoint(Ruled)
def _ruled_adjoint(x, y):
    def back(p_bar):
        received.append(p_bar)
        return p_bar.x, p_bar.y
    return Ruled(x, y), back


def uses_ruled(a, b):
    p = Ruled(a * b, a)
    return p.x * 3.0 + p.y ** 2


def test_constructor_rule_back_receives_an_instance(rng):
    received.clear()
    fd_check(uses_ruled, (0.7, -0.4), (0, 1), rng)
    assert received and all(type(r) is Ruled for r in received)


def helper_square(x):
    return x ** 2


def helper_cube(x):
    return x ** 3


def uses_helper(x):
    return np.sum(helper_square(x))


def test_replaced_code_of_an_inlined_helper_recompiles(rng, monkeypatch):
    d = srcad.differentiate(uses_helper)
    d.grad(X)
    monkeypatch.setattr(helper_square, "__code__", helper_cube.__code__)
    assert_grad_fd(uses_helper, d.grad(X), X, rng)
    assert_grad_fd(uses_helper, d.value_and_grad(X)[1], X, rng)

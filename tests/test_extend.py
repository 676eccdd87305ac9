"""Extending srcad: custom rules, user types, hooks, checkpoints, reflection,
automatic invalidation, and the README's "Extending srcad" examples.

Every derivative is checked against central differences (conftest). The only
exceptions are deliberately custom rules (a rule scaled by 2, a hook that
negates): there the expected value is built from finite differences of the
un-customised pieces, or from the ratio to srcad's own default gradient.

Rules registered by a test are removed after it (the ``_restore_rules``
fixture), so no test sees another's rules.
"""
import ast
import dataclasses
import gc
import importlib
import re
import runpy
import sys
import textwrap
import tracemalloc
import uuid
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import srcad
from conftest import (assert_grad_close, assert_same_structure, fd_check, fd_check_forward,
                      fd_gradient)
from srcad.transforms.rules import registry

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(autouse=True)
def _restore_rules():
    """Snapshot the user rule tables; restore them (and invalidate) after the test."""
    saved_reverse = dict(registry.CUSTOM_REVERSE)
    saved_forward = dict(registry.CUSTOM_FORWARD)
    yield
    registry.CUSTOM_REVERSE.clear()
    registry.CUSTOM_REVERSE.update(saved_reverse)
    registry.CUSTOM_FORWARD.clear()
    registry.CUSTOM_FORWARD.update(saved_forward)
    registry.VERSION.bump()


# --------------------------------------------------------------------------- functions

def mul(a, b):
    return a * b


def area(w, h):
    return mul(w, h)


def mul_sum(x, y):
    return np.sum(mul(np.sin(x), y) * x)


def sin_sum(x):
    return np.sum(np.sin(x) * x)


def cube(x):
    return x ** 3


def cube_total(x):
    return np.sum(cube(x))


def cube_plus(x):
    return cube(x) + x


def scale(x, n):
    return x * n


def scale_total(x):
    return np.sum(scale(x, 3) ** 2)


def guarded(x):
    try:                                    # srcad rejects `try`: only a rule gets it through
        return np.tanh(x)
    except FloatingPointError:
        return x


def guarded_total(x):
    return np.sum(guarded(x) * x)


def guarded_tanh(x):
    return np.tanh(x)


def guarded_tanh_total(x):
    return np.sum(guarded_tanh(x) * x)


# --------------------------------------------------------------------------- custom reverse rules

def test_custom_rule_is_used_and_named_in_the_source(rng):
    x, y = rng.uniform(0.5, 1.5, 4), rng.uniform(-1.0, 1.0, 4)
    fd_check(mul_sum, (x, y), (0, 1), rng)
    default = srcad.grad(mul_sum, wrt=(0, 1))(x, y)

    @srcad.adjoint(mul)
    def mul_adjoint(a, b):
        def back(c_bar):
            return (2.0 * c_bar * b, 2.0 * c_bar * a)     # twice the true cotangents
        return a * b, back

    scaled = srcad.grad(mul_sum, wrt=(0, 1))(x, y)
    # only the path through mul doubles: d/dy goes only through mul, d/dx partly
    np.testing.assert_allclose(scaled[1], 2.0 * default[1], rtol=1e-12)
    through_mul = fd_gradient(lambda a, b: np.sum(np.sin(a) * b * x), (x, y), 0)
    np.testing.assert_allclose(scaled[0], default[0] + through_mul, rtol=1e-5, atol=1e-8)

    src = srcad.source(mul_sum, x, y, wrt=(0, 1))
    assert re.search(r"\w+, (\w+) = mul_adjoint\(", src), src
    back_name = re.search(r"\w+, (\w+) = mul_adjoint\(", src).group(1)
    assert f"_rt.call_back({back_name}," in src, src


def test_custom_rule_on_the_mul_example():
    @srcad.adjoint(mul)
    def mul_adjoint(a, b):
        return a * b, lambda c_bar: (c_bar * b, c_bar * a)

    ga, gb = srcad.grad(area, wrt=(0, 1))(2.0, 3.0)
    assert isinstance(ga, float) and isinstance(gb, float)
    assert_grad_close(ga, area, (2.0, 3.0), 0)
    assert_grad_close(gb, area, (2.0, 3.0), 1)
    assert "mul_adjoint(" in srcad.source(area, 2.0, 3.0, wrt=(0, 1))


def test_rule_on_the_differentiated_function_itself_is_used():
    # a rule on mul itself: grad(mul) uses the rule
    default = srcad.grad(mul, wrt=(0, 1))(2.0, 3.0)
    assert_grad_close(default[0], mul, (2.0, 3.0), 0)

    @srcad.adjoint(mul)
    def mul_adjoint(a, b):
        return a * b, lambda c_bar: (2.0 * c_bar * b, 2.0 * c_bar * a)

    scaled = srcad.grad(mul, wrt=(0, 1))(2.0, 3.0)
    np.testing.assert_allclose(scaled, 2.0 * np.asarray(default), rtol=1e-12)


def test_custom_rule_overrides_a_builtin_rule(rng):
    x = rng.uniform(-1.0, 1.0, 5)
    fd_check(sin_sum, (x,), 0, rng)
    default = srcad.grad(sin_sum)(x)
    through_sin = fd_gradient(lambda a: np.sum(np.sin(a) * x), (x,), 0)

    @srcad.adjoint(np.sin)
    def sin_adjoint(a):
        return np.sin(a), lambda g: (2.0 * g * np.cos(a),)

    scaled = srcad.grad(sin_sum)(x)
    np.testing.assert_allclose(scaled, default + through_sin, rtol=1e-5, atol=1e-8)
    assert "sin_adjoint(" in srcad.source(sin_sum, x)


def test_rule_stops_srcad_from_descending_into_a_function(rng):
    x = rng.uniform(-1.0, 1.0, 4)
    with pytest.raises(srcad.TransformError):
        srcad.grad(guarded_total)(x)

    @srcad.adjoint(guarded)
    def guarded_adjoint(a):
        y = np.tanh(a)
        return y, lambda g: (g * (1.0 - y ** 2),)

    g = srcad.grad(guarded_total)(x)
    assert_grad_close(g, guarded_total, (x,), 0)
    src = srcad.source(guarded_total, x)
    assert "guarded_adjoint(" in src and "tanh" not in src, src


def test_rule_with_a_nondifferentiable_argument_returns_none(rng):
    x = rng.uniform(-1.0, 1.0, 4)

    @srcad.adjoint(scale)
    def scale_adjoint(a, n):
        return a * n, lambda g: (g * n, None)

    fd_check(scale_total, (x,), 0, rng)
    assert "scale_adjoint(" in srcad.source(scale_total, x)


# --------------------------------------------------------------------------- custom tangent rules

def test_custom_tangent_is_used_in_jvp(rng):
    x, y = rng.uniform(0.5, 1.5, 4), rng.uniform(-1.0, 1.0, 4)
    fd_check_forward(mul_sum, (x, y), (0, 1), rng)
    ty = rng.standard_normal(4)      # only y's tangent: all of it goes through mul
    _, default = srcad.jvp(mul_sum, (x, y), (np.zeros(4), ty), wrt=(0, 1))

    @srcad.tangent(mul)
    def mul_tangent(args, tangents):
        (a, b), (a_dot, b_dot) = args, tangents
        return a * b, 2.0 * (a_dot * b + a * b_dot)           # twice the true tangent

    value, scaled = srcad.jvp(mul_sum, (x, y), (np.zeros(4), ty), wrt=(0, 1))
    assert value == pytest.approx(mul_sum(x, y), rel=1e-12)
    np.testing.assert_allclose(scaled, 2.0 * default, rtol=1e-12)
    assert "mul_tangent(" in srcad.source(mul_sum, x, y, kind="jvp", wrt=(0, 1))


def test_custom_tangent_with_adjoint_checks_against_differences(rng):
    @srcad.adjoint(mul)
    def mul_adjoint(a, b):
        return a * b, lambda c_bar: (c_bar * b, c_bar * a)

    @srcad.tangent(mul)
    def mul_tangent(args, tangents):
        (a, b), (a_dot, b_dot) = args, tangents
        return a * b, a_dot * b + a * b_dot

    x, y = rng.uniform(0.5, 1.5, 4), rng.uniform(-1.0, 1.0, 4)
    fd_check(mul_sum, (x, y), (0, 1), rng)
    fd_check_forward(mul_sum, (x, y), (0, 1), rng)


# --------------------------------------------------------------------------- malformed rules

def test_rule_returning_too_many_cotangents_is_a_value_error_naming_the_rule(rng):
    @srcad.adjoint(cube)
    def cube_adjoint(a):
        return a ** 3, lambda g: (3.0 * a ** 2 * g, g)

    with pytest.raises(ValueError) as info:
        srcad.grad(cube_total)(rng.uniform(0.5, 1.5, 3))
    message = str(info.value)
    assert "rule" in message and "cube" in message, message
    assert "2" in message and "1" in message, message


def test_rule_returning_a_wrong_shape_is_a_value_error(rng):
    @srcad.adjoint(cube)
    def cube_adjoint(a):
        return a ** 3, lambda g: (np.ones(5),)

    with pytest.raises(ValueError) as info:
        srcad.grad(cube_total)(rng.uniform(0.5, 1.5, 3))
    message = str(info.value)
    assert "cube" in message and "(5,)" in message and "(3,)" in message, message


def test_rule_returning_an_array_for_a_float_argument_is_a_value_error():
    @srcad.adjoint(cube)
    def cube_adjoint(a):
        return a ** 3, lambda g: (np.ones(3) * g,)

    with pytest.raises(ValueError, match="cube"):
        srcad.grad(cube_plus)(2.0)


# --------------------------------------------------------------------------- user types

@dataclasses.dataclass
class Point:
    x: float
    y: float


def width(p):
    return p.x


def height(p):
    return p.y


def dist(p):
    return np.sqrt(width(p) ** 2 + height(p) ** 2)


def dist_along(x):
    return dist(Point(x, 1.0))


def make_point(a, b):
    return Point(a * b, np.sin(a) + b)


@dataclasses.dataclass
class Body:
    pos: np.ndarray
    mass: float
    name: str
    count: int


def body_energy(b):
    return b.mass * np.sum(b.pos ** 2) * b.count + np.sum(np.sin(b.pos))


class Charge(NamedTuple):
    q: float
    where: np.ndarray
    label: str


def charge_energy(c):
    return c.q * np.sum(1.0 / (1.0 + c.where ** 2))


def _use_getter_adjoints():
    @srcad.adjoint(width)
    def width_adjoint(p):
        return p.x, lambda x_bar: (Point(x_bar, 0.0),)

    @srcad.adjoint(height)
    def height_adjoint(p):
        return p.y, lambda y_bar: (Point(0.0, y_bar),)


@pytest.mark.parametrize("custom", [False, True], ids=["plain", "custom-getters"])
def test_point_example(custom, rng):
    if custom:
        _use_getter_adjoints()
    p = Point(1.0, 2.0)
    g = srcad.grad(dist)(p)
    assert type(g) is Point
    fd_check(dist, (p,), 0, rng)
    assert_grad_close(srcad.grad(dist_along)(1.0), dist_along, (1.0,), 0)
    src = srcad.source(dist, p)
    assert ("width_adjoint(" in src and "height_adjoint(" in src) == custom, src


def test_constructor_is_differentiated(rng):
    fd_check(make_point, (0.7, -0.4), (0, 1), rng)
    fd_check_forward(make_point, (0.7, -0.4), (0, 1), rng)


def test_dataclass_gradient_keeps_nonfloat_fields(rng):
    b = Body(rng.uniform(-1.0, 1.0, 3), 1.5, "probe", 2)
    g = srcad.grad(body_energy)(b)
    assert_same_structure(g, b)
    assert g.name == "probe" and g.count == 2
    fd_check(body_energy, (b,), 0, rng)


def test_namedtuple_gradient_has_the_same_type(rng):
    c = Charge(0.8, rng.uniform(-1.0, 1.0, 4), "ion")
    g = srcad.grad(charge_energy)(c)
    assert type(g) is Charge and g.label == "ion"
    assert_same_structure(g, c)
    fd_check(charge_energy, (c,), 0, rng)


# --------------------------------------------------------------------------- hook

def negate(g):
    return -g


def hooked_part(x):
    return np.sum(np.sin(x) * x)


def plain_part(x):
    return np.sum(x ** 3)


def hooked(x):
    return hooked_part(srcad.hook(negate, x)) + plain_part(x)


def hook_mul(a, b):
    return srcad.hook(negate, a) * b


def test_hook_negates_the_gradient_of_its_path_only(rng):
    x = rng.uniform(-1.0, 1.0, 5)
    assert hooked(x) == pytest.approx(hooked_part(x) + plain_part(x), rel=1e-12)
    want = fd_gradient(plain_part, (x,), 0) - fd_gradient(hooked_part, (x,), 0)
    np.testing.assert_allclose(srcad.grad(hooked)(x), want, rtol=1e-5, atol=1e-7)


def test_hook_example():
    ga, gb = srcad.grad(hook_mul, wrt=(0, 1))(2.0, 3.0)
    assert_grad_close(-ga, mul, (2.0, 3.0), 0)
    assert_grad_close(gb, mul, (2.0, 3.0), 1)
    assert "negate(" in srcad.source(hook_mul, 2.0, 3.0, wrt=(0, 1))


def test_hook_is_the_identity_in_forward_mode(rng):
    fd_check_forward(hooked, (rng.uniform(-1.0, 1.0, 4),), 0, rng)


# --------------------------------------------------------------------------- showgrad

def head(x):
    return np.sin(x) * x


def tail(y):
    return np.exp(y) * y


def shown_named(x):
    return tail(srcad.showgrad(head(x), "h"))


def shown_default(x):
    return tail(srcad.showgrad(head(x)))


def shown_twice(x):
    y = srcad.showgrad(head(x), "first")
    return srcad.showgrad(tail(y), "second")


def _printed(out, name):
    lines = [line for line in out.splitlines() if line.startswith(name + ": ")]
    assert len(lines) == 1, f"expected one `{name}: ...` line, got {out!r}"
    return float(lines[0][len(name) + 2:])


def test_showgrad_prints_the_gradient_with_an_explicit_name(capsys):
    x = 0.7
    shown_named(x)
    assert capsys.readouterr().out == ""
    g = srcad.grad(shown_named)(x)
    assert_grad_close(g, shown_named, (x,), 0)
    shown = _printed(capsys.readouterr().out, "h")
    assert shown == pytest.approx(fd_gradient(tail, (head(x),), 0), rel=1e-5)


def test_showgrad_default_name_is_the_expression_source(capsys):
    x = 0.7
    g = srcad.grad(shown_default)(x)
    assert_grad_close(g, shown_default, (x,), 0)
    shown = _printed(capsys.readouterr().out, "head(x)")
    assert shown == pytest.approx(fd_gradient(tail, (head(x),), 0), rel=1e-5)


def test_showgrad_prints_in_reverse_sweep_order(capsys):
    srcad.grad(shown_twice)(0.7)
    out = capsys.readouterr().out
    assert out.index("second: ") < out.index("first: "), out
    assert _printed(out, "second") == 1.0


# --------------------------------------------------------------------------- checkpoint

CALLS = [0]


def counted_block(x, w):
    CALLS[0] += 1
    a = np.sin(x) * w
    b = np.exp(a) * x
    return np.tanh(b) * a


def checkpointed(x, w):
    return np.sum(srcad.checkpoint(counted_block, x, w) ** 2)


def not_checkpointed(x, w):
    return np.sum(counted_block(x, w) ** 2)


def printing_double(x):
    y = 2.0 * x
    print("x =", x)
    return y


def printing_checkpointed(x):
    return srcad.checkpoint(printing_double, x)


def test_checkpoint_gives_the_same_gradient(rng):
    x, w = rng.uniform(-1.0, 1.0, 6), 0.8
    fd_check(checkpointed, (x, w), (0, 1), rng)
    fd_check_forward(checkpointed, (x, w), (0, 1), rng)
    a = srcad.grad(checkpointed, wrt=(0, 1))(x, w)
    b = srcad.grad(not_checkpointed, wrt=(0, 1))(x, w)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    assert a[1] == pytest.approx(b[1], rel=1e-12)


def test_checkpoint_recomputes_in_the_reverse_sweep(rng):
    x, w = rng.uniform(-1.0, 1.0, 6), 0.8
    srcad.grad(checkpointed)(x, w)                 # compile outside the count
    srcad.grad(not_checkpointed)(x, w)
    CALLS[0] = 0
    checkpointed(x, w)
    assert CALLS[0] == 1
    CALLS[0] = 0
    srcad.grad(not_checkpointed)(x, w)
    assert CALLS[0] == 1
    CALLS[0] = 0
    srcad.grad(checkpointed)(x, w)
    assert CALLS[0] == 2, f"the checkpointed block ran {CALLS[0]} times for one gradient"


def test_checkpoint_example_prints_twice(capsys):
    srcad.grad(printing_checkpointed)(3.0)
    capsys.readouterr()
    g = srcad.grad(printing_checkpointed)(3.0)
    assert capsys.readouterr().out == "x = 3.0\nx = 3.0\n"
    assert_grad_close(g, printing_double, (3.0,), 0)


def four_temporaries(x):
    a = np.sin(x)
    b = np.exp(a)
    c = np.cos(b)
    d = np.tanh(c)
    return d * a * b * c


def chain_plain(x):
    y = x
    for _ in range(6):
        y = four_temporaries(y)
    return np.sum(y)


def chain_checkpointed(x):
    y = x
    for _ in range(6):
        y = srcad.checkpoint(four_temporaries, y)
    return np.sum(y)


def _peak(fn, x):
    """Peak NumPy memory of a first gradient call: what is kept between the sweeps
    shows up whether it lives in fresh arrays or in the reused workspace that the
    first call allocates."""
    srcad.clear_cache()
    gc.collect()
    tracemalloc.start()
    try:
        fn(x)
        numpy_domain = tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)
        snapshot = tracemalloc.take_snapshot().filter_traces([numpy_domain])
        del snapshot
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_checkpoint_keeps_fewer_temporaries_between_sweeps():
    n, k = 200_000, 4       # six blocks of four kept temporaries each
    x = np.linspace(0.0, 1.0, n)
    g_plain = srcad.grad(chain_plain)
    g_checkpointed = srcad.grad(chain_checkpointed)
    want = g_plain(x)           # (to rounding: a compiled backend may sum in its own order)
    np.testing.assert_allclose(g_checkpointed(x), want, rtol=1e-12,
                               atol=1e-13 * np.abs(want).max())
    plain, checkpointed_peak = _peak(g_plain, x), _peak(g_checkpointed, x)
    saved = plain - checkpointed_peak
    array = x.nbytes
    assert saved > 0.5 * 6 * k * array, (
        f"peak {plain / array:.1f} arrays without checkpoint, {checkpointed_peak / array:.1f} "
        f"with: saved {saved / array:.1f}, expected about {k}")


# --------------------------------------------------------------------------- isderiving / nestlevel

def deriving_square(x):
    return x * x if srcad.isderiving() else x


def square(x):
    return x * x


def level_scaled(x):
    return x * x * (1.0 + srcad.nestlevel())


def twice_square(x):
    return x * x * 2.0


def thrice_square(x):
    return x * x * 3.0


def levels_printed(x):
    print(srcad.nestlevel(), "levels of nesting")
    return x * x


def test_isderiving_is_false_plainly_and_true_when_differentiated(rng):
    assert srcad.isderiving() is False
    assert deriving_square(3.0) == 3.0
    assert_grad_close(srcad.grad(deriving_square)(3.0), square, (3.0,), 0)
    value, tangent = srcad.jvp(deriving_square, (3.0,), (1.0,))
    assert value == 9.0
    assert_grad_close(tangent, square, (3.0,), 0)


def test_nestlevel_is_zero_plainly_and_one_inside_a_gradient():
    assert srcad.nestlevel() == 0
    assert level_scaled(3.0) == 9.0
    assert_grad_close(srcad.grad(level_scaled)(3.0), twice_square, (3.0,), 0)
    value, tangent = srcad.jvp(level_scaled, (3.0,), (1.0,))
    assert value == 18.0
    assert_grad_close(tangent, twice_square, (3.0,), 0)


@pytest.mark.parametrize("fn", [deriving_square, level_scaled, levels_printed])
@pytest.mark.parametrize("kind", ["grad", "jvp"])
def test_reflection_is_constant_in_the_generated_code(fn, kind):
    src = srcad.source(fn, 3.0, kind=kind)
    names = {n.id for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Attribute)}
    assert not names & {"isderiving", "nestlevel"}, src     # comments may quote the line


def test_nestlevel_example_levels_0_and_1(capsys):
    levels_printed(1.0)
    assert capsys.readouterr().out == "0 levels of nesting\n"
    srcad.grad(levels_printed)(1.0)
    assert capsys.readouterr().out == "1 levels of nesting\n"


def test_nestlevel_is_two_inside_a_gradient_of_a_gradient(capsys):
    first = srcad.grad(thrice_square)
    assert_grad_close(first(3.0), thrice_square, (3.0,), 0)
    want = fd_gradient(first, (3.0,), 0)
    got = srcad.grad(srcad.grad(level_scaled))(3.0)
    assert got == pytest.approx(want, rel=1e-5)
    capsys.readouterr()
    srcad.grad(srcad.grad(levels_printed))(1.0)
    assert capsys.readouterr().out == "2 levels of nesting\n"


# --------------------------------------------------------------------------- automatic invalidation

def test_rule_registered_after_compiling_takes_effect(rng):
    x = rng.uniform(0.5, 1.5, 4)
    default = srcad.grad(cube_total)(x)
    assert_grad_close(default, cube_total, (x,), 0)

    @srcad.adjoint(cube)
    def cube_adjoint(a):
        return a ** 3, lambda g: (2.0 * 3.0 * a ** 2 * g,)     # twice the true cotangent

    np.testing.assert_allclose(srcad.grad(cube_total)(x), 2.0 * default, rtol=1e-12)


def test_tangent_registered_after_compiling_takes_effect(rng):
    x, t = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)
    _, default = srcad.jvp(cube_total, (x,), (t,))

    @srcad.tangent(cube)
    def cube_tangent(args, tangents):
        return args[0] ** 3, 2.0 * 3.0 * args[0] ** 2 * tangents[0]

    _, scaled = srcad.jvp(cube_total, (x,), (t,))
    assert scaled == pytest.approx(2.0 * default, rel=1e-12)


def test_replacing_a_rule_takes_effect(rng):
    x = rng.uniform(0.5, 1.5, 4)
    default = srcad.grad(cube_total)(x)

    @srcad.adjoint(cube)
    def cube_adjoint(a):
        return a ** 3, lambda g: (2.0 * 3.0 * a ** 2 * g,)

    np.testing.assert_allclose(srcad.grad(cube_total)(x), 2.0 * default, rtol=1e-12)

    @srcad.adjoint(cube)
    def cube_adjoint_again(a):
        return a ** 3, lambda g: (-3.0 * a ** 2 * g,)

    np.testing.assert_allclose(srcad.grad(cube_total)(x), -default, rtol=1e-12)


def test_removing_a_rule_takes_effect(rng):
    # There is no public "unregister": removing the entry from the rule table is the way.
    x = rng.uniform(0.5, 1.5, 4)
    default = srcad.grad(cube_total)(x)

    @srcad.adjoint(cube)
    def cube_adjoint(a):
        return a ** 3, lambda g: (2.0 * 3.0 * a ** 2 * g,)

    np.testing.assert_allclose(srcad.grad(cube_total)(x), 2.0 * default, rtol=1e-12)
    del registry.CUSTOM_REVERSE[cube]
    np.testing.assert_allclose(srcad.grad(cube_total)(x), default, rtol=1e-12)


HELPER_V1 = """\
import numpy as np


def helper(x):
    return x * x


def energy(x):
    return np.sum(helper(x))
"""

HELPER_V2 = """\
import numpy as np


def helper(x):
    return np.sin(x) * x * x   # redefined


def energy(x):
    return np.sum(helper(x))
"""

OTHER_HELPER = """\
import numpy as np


def helper(x):
    return np.exp(x) * x
"""


@pytest.fixture
def tmp_module(tmp_path, monkeypatch):
    """Write a module into tmp_path and import it under a unique name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    names = []

    def make(text):
        name = f"srcad_extend_{uuid.uuid4().hex[:12]}"
        (tmp_path / f"{name}.py").write_text(text)
        importlib.invalidate_caches()
        names.append(name)
        return importlib.import_module(name), tmp_path / f"{name}.py"
    yield make
    for name in names:
        sys.modules.pop(name, None)


def test_redefining_an_inlined_helper_and_reloading_takes_effect(tmp_module, rng):
    mod, path = tmp_module(HELPER_V1)
    x = rng.uniform(-1.0, 1.0, 4)
    energy = srcad.differentiate(mod.energy)
    assert_grad_close(energy.grad(x), mod.energy, (x,), 0)
    path.write_text(HELPER_V2)
    importlib.invalidate_caches()
    importlib.reload(mod)
    assert energy(x) == pytest.approx(mod.energy(x), rel=1e-12)   # the old function, new helper
    assert_grad_close(energy.grad(x), mod.energy, (x,), 0)
    assert_grad_close(srcad.grad(mod.energy)(x), mod.energy, (x,), 0)


def test_reassigning_an_inlined_helper_takes_effect(tmp_module, rng):
    mod, _ = tmp_module(HELPER_V1)
    other, _ = tmp_module(OTHER_HELPER)
    x = rng.uniform(-1.0, 1.0, 4)
    grad = srcad.grad(mod.energy)
    assert_grad_close(grad(x), mod.energy, (x,), 0)
    mod.helper = other.helper
    assert_grad_close(grad(x), mod.energy, (x,), 0)


# --------------------------------------------------------------------------- README

def readme_blocks():
    """The python code blocks of the README's "Extending srcad" section, each with the
    ```text block that follows it (its expected output), if any."""
    text = README.read_text()
    match = re.search(r"^## Extending srcad\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README.md has no `## Extending srcad` section"
    section = match.group(1)
    fences = re.findall(r"^```(\w*)\n(.*?)^```", section, re.S | re.M)
    blocks = []
    for i, (lang, body) in enumerate(fences):
        if lang == "python":
            expected = None
            if i + 1 < len(fences) and fences[i + 1][0] == "text":
                expected = fences[i + 1][1]
            blocks.append((body, expected))
    return blocks


def _readme_params():
    try:
        blocks = readme_blocks()
    except (AssertionError, OSError):
        return [pytest.param(None, None, id="missing")]
    params = []
    for k, (body, expected) in enumerate(blocks):
        params.append(pytest.param(body, expected, id=f"block{k}"))
    return params


def test_readme_has_an_extending_section_after_the_api():
    text = README.read_text()
    assert "\n## Extending srcad\n" in text
    assert text.index("\n## API\n") < text.index("\n## Extending srcad\n")
    bodies = "\n".join(body for body, _ in readme_blocks())
    for name in ("srcad.adjoint", "srcad.tangent", "srcad.hook", "srcad.showgrad",
                 "srcad.checkpoint", "srcad.isderiving", "srcad.nestlevel", "dataclass"):
        assert name in bodies, f"no README example uses {name}"


@pytest.mark.parametrize("body, expected", _readme_params())
def test_readme_extending_examples_run(body, expected, tmp_path, capsys):
    assert body is not None, "README.md has no `## Extending srcad` python blocks"
    path = tmp_path / f"readme_extending_{uuid.uuid4().hex[:8]}.py"
    path.write_text(textwrap.dedent(body))
    capsys.readouterr()
    runpy.run_path(str(path), run_name=path.stem)
    out = capsys.readouterr().out
    if expected is not None:
        assert out == expected


def stretch(x, s=1.0):
    return x * s


def stretched_sum(x):
    return np.sum(stretch(x, s=5.0) ** 2)


def test_custom_tangent_gets_keyword_arguments_by_position(rng):
    @srcad.tangent(stretch)
    def stretch_tangent(args, tangents):
        x, s = args
        return stretch(x, s), stretch(tangents[0], s) + tangents[1] * x

    x = rng.uniform(0.5, 1.5, 4)
    fd_check_forward(stretched_sum, (x,), 0, rng)
    assert "stretch_tangent((x, 5.0)" in srcad.source(stretched_sum, x, kind="jvp")

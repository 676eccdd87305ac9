"""Dataclasses and NamedTuples beyond their fields (transforms/classes.py).

A ``@property`` is its getter called on the value (it read as a constant: a zero
gradient and tangent). An attribute that is no field (set by ``__post_init__``, a
``cached_property``, an ``init=False`` field) is refused where the value carries
derivatives and read as it is where it does not. Building a class whose construction runs
code of its own is refused where derivatives flow into it. A gradient or tangent
instance is built without running ``__init__`` (a ``__post_init__`` that rescales a field
rescaled the gradient). Derivatives are checked against central differences.
"""
import dataclasses
import functools
from typing import NamedTuple

import numpy as np
import pytest

import srcad

X = np.array([0.5, -0.3, 0.8])


@dataclasses.dataclass
class Rect:
    w: float
    h: float

    @property
    def area(self):
        return self.w * self.h

    @property
    def scaled(self):
        return self.area * 2.0 + self.w


class Pair(NamedTuple):
    a: np.ndarray
    b: np.ndarray

    @property
    def dot(self):
        return np.sum(self.a * self.b)


@dataclasses.dataclass
class Halved:
    w: np.ndarray

    def __post_init__(self):
        self.w = self.w / 2.0
        self.w2 = self.w ** 2


@dataclasses.dataclass
class Cached:
    w: np.ndarray

    @functools.cached_property
    def norm2(self):
        return np.sum(self.w ** 2)


@dataclasses.dataclass
class Derived:
    w: np.ndarray
    total: float = dataclasses.field(init=False, default=0.0)

    def __post_init__(self):
        self.total = float(np.sum(self.w))


def _slope(fn, args, dirs, h=1e-6):
    plus = [a + h * d for a, d in zip(args, dirs, strict=True)]
    minus = [a - h * d for a, d in zip(args, dirs, strict=True)]
    return (fn(*plus) - fn(*minus)) / (2 * h)


def rect_area(r):
    return r.scaled * r.h


def built_rect(x):
    r = Rect(x[0], x[1] * 2.0)
    return r.area + Rect(x[2], 3.0).scaled


def pair_dot(p):
    return p.dot * 2.0


def test_a_property_is_its_getter(rng):
    r = Rect(0.7, 1.3)
    g = srcad.grad(rect_area)(r)
    f_w = lambda w: rect_area(Rect(w, 1.3))            # noqa: E731
    f_h = lambda h: rect_area(Rect(0.7, h))            # noqa: E731
    assert g.w == pytest.approx(_slope(f_w, [0.7], [1.0]), rel=1e-6)
    assert g.h == pytest.approx(_slope(f_h, [1.3], [1.0]), rel=1e-6)
    _, t = srcad.jvp(rect_area, (r,), (Rect(0.4, -0.9),))
    both = lambda w, h: rect_area(Rect(w, h))          # noqa: E731
    assert t == pytest.approx(_slope(both, [0.7, 1.3], [0.4, -0.9]), rel=1e-6)
    v = rng.standard_normal(3)
    assert np.dot(srcad.grad(built_rect)(X), v) == pytest.approx(
        _slope(built_rect, [X], [v]), rel=1e-6)


def test_a_namedtuple_property(rng):
    p = Pair(X * 1.0, np.tanh(X))
    g = srcad.grad(pair_dot)(p)
    va, vb = rng.standard_normal(3), rng.standard_normal(3)
    got = np.dot(g.a, va) + np.dot(g.b, vb)
    want = _slope(lambda a, b: pair_dot(Pair(a, b)), [p.a, p.b], [va, vb])
    assert got == pytest.approx(want, rel=1e-6)


def post_init_attribute(p):
    return np.sum(p.w2 * p.w)


def cached_attribute(p):
    return p.norm2 * 2.0


def init_false_field(p):
    return p.total * np.sum(p.w)


@pytest.mark.parametrize("fn, value", [(post_init_attribute, Halved(X * 2.0)),
                                       (cached_attribute, Cached(X * 1.0)),
                                       (init_false_field, Derived(X * 1.0))])
def test_a_non_field_attribute_of_a_differentiated_value_is_refused(fn, value):
    tangent = dataclasses.replace(value) if not isinstance(value, Halved) else Halved(X * 0.0)
    for call in (lambda: srcad.grad(fn)(value), lambda: srcad.jvp(fn, (value,), (tangent,))):
        with pytest.raises(srcad.TransformError) as info:
            call()
        assert info.value.lineno == fn.__code__.co_firstlineno + 1, str(info.value)


def scaled_by_config(x, cfg):
    return np.sum(x * cfg.w2) + cfg.total


def test_a_non_field_attribute_of_a_constant_is_read():
    """The same attributes on a value that carries no derivative (a configuration)."""
    cfg = Halved(np.array([1.0, 2.0, 3.0]))
    cfg.total = 4.0
    g = srcad.grad(scaled_by_config, wrt="x")(X, cfg)
    np.testing.assert_allclose(g, cfg.w2)


def build_halved(x):
    return np.sum(Halved(x * 3.0).w * x)


def test_building_a_class_that_runs_code_is_refused():
    for call in (lambda: srcad.grad(build_halved)(X),
                 lambda: srcad.jvp(build_halved, (X,), (np.ones(3),))):
        with pytest.raises(srcad.TransformError, match="__post_init__"):
            call()


def halved_loss(p):
    return np.sum(np.sin(p.w) * p.w)


def test_a_gradient_instance_is_not_run_through_post_init(rng):
    """The gradient of a ``Halved`` argument: its ``__post_init__`` must not halve it."""
    p = Halved(X * 2.0)                     # p.w == X
    v = rng.standard_normal(3)
    g = srcad.grad(halved_loss)(p)
    assert isinstance(g, Halved) and not hasattr(g, "w2")
    want = _slope(lambda w: np.sum(np.sin(w) * w), [p.w], [v])
    assert np.dot(g.w, v) == pytest.approx(want, rel=1e-6)
    value, g2 = srcad.value_and_grad(halved_loss)(p)
    np.testing.assert_allclose(g2.w, g.w)


@dataclasses.dataclass
class WithMethod:
    w: np.ndarray

    def __post_init__(self):
        self.w2 = self.w ** 2

    def energy(self):
        return np.sum(self.w2)


def method_energy(p):
    return p.energy()


def test_a_non_field_attribute_read_in_an_inlined_method_is_refused():
    p = WithMethod(X * 1.0)
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(method_energy)(p)
    assert info.value.lineno == WithMethod.energy.__code__.co_firstlineno + 1, str(info.value)
    assert "`.w2`" in str(info.value)

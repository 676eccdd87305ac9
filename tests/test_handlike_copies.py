"""Two more habits of hand-written adjoints (issue 10, section 4).

- a negated cotangent is subtracted where it is added: ``c_bar = c_bar - a_bar * v``,
  not ``t5_bar = -a_bar`` then ``c_bar = c_bar + t5_bar * v``;
- a loop's carried cotangent keeps one name through an ``if``: no ``s5_bar = s2_bar``
  at the head of the iteration and ``s2_bar = s5_bar`` in each branch.

Each rewrite is checked on the text and against central differences, also where it
must not apply (the negated value read by something other than an accumulation, the
carried name rebound in one branch).
"""
import re

import numpy as np
import pytest

import golden_functions as gf
import srcad
from conftest import fd_check


def body_lines(src):
    return [s.strip() for s in src.splitlines() if s.strip() and not s.strip().startswith("#")]


def test_euler_subtracts_the_negated_term(rng):
    src = srcad.source(gf.euler, 1.0, 0.1, wrt=("k", "c"))
    lines = body_lines(src)
    assert "c_bar = c_bar - a_bar * v2" in lines and "v2_bar = v2_bar - a_bar * c" in lines
    assert not [s for s in lines if s.endswith("= -a_bar")], lines
    fd_check(gf.euler, (1.0, 0.1), ("k", "c"), rng)


def negated_elsewhere(k, c):
    """``-a`` read by an accumulation and by a product that is not one."""
    x, v = 1.0, 0.5
    for _ in range(5):
        a = -k * x - c * v
        x = x + 0.1 * v + a * a
        v = v + 0.1 * a
    return x * v


def negated_arrays(w, b):
    t = w - b * w
    return np.sum(np.sin(t) * w)


@pytest.mark.parametrize("fn, args, wrt", [
    (negated_elsewhere, (0.7, 0.2), ("k", "c")),
    (negated_arrays, (np.linspace(0.1, 1.0, 4), np.linspace(-1.0, 1.0, 4)), ("w", "b")),
])
def test_negations_keep_the_numbers(rng, fn, args, wrt):
    fd_check(fn, args, wrt, rng)


def clipped(x, k):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            s = s + k * x[i] ** 2
        else:
            s = s - x[i]
    return s


def test_a_carried_cotangent_keeps_its_name_through_an_if(rng):
    x = np.array([-0.9, -0.4, 0.2, 0.7, -0.1, 0.5])     # (no entry at the kink 0)
    src = srcad.source(clipped, x, 2.0, wrt=("x", "k"))
    copies = [s for s in body_lines(src) if re.fullmatch(r"\w+_bar = \w+_bar", s)]
    assert not copies, src
    assert "x_bar[i] -= s2_bar" in body_lines(src)
    fd_check(clipped, (x, 2.0), ("x", "k"), rng)


def rebound(x, k):
    """The carried value is rebound in one branch only: the copy must stay."""
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            s = s * k + x[i]
        else:
            s = s - x[i]
    return s


def nested_branches(x, k):
    s = 1.0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            if x[i] > 0.5:
                s = s * x[i]
            else:
                s = s + k
        else:
            s = s - k * x[i]
    return s


@pytest.mark.parametrize("fn", [rebound, nested_branches, clipped])
def test_carried_cotangents_keep_the_numbers(rng, fn):
    x = np.array([-0.8, 0.3, 0.9, -0.2, 0.6, 0.1])
    fd_check(fn, (x, 1.3), ("x", "k"), rng)
    h = 1e-5
    want = (srcad.grad(fn, wrt="k")(x, 1.3 + h) - srcad.grad(fn, wrt="k")(x, 1.3 - h)) / (2 * h)
    got = srcad.hessian(fn, wrt="k")(x, 1.3)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)

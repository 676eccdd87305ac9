"""The numba backend on code without a loop of the user's, at large sizes: the first
calls with large arrays time the numba core and the NumPy backend's function, later ones
take the faster (srcad/numba_wide.py). Whichever runs, the derivative is checked against
central differences; calls with small arrays keep to the core.
"""
import numpy as np
import pytest

import srcad
from conftest import need_numba

need_numba()

from srcad import numba_backend, numba_wide  # noqa: E402  (numba is installed)

N = numba_wide.LARGE + 904


def energy(x, w):
    """Array-wide work only: ufuncs NumPy runs in SIMD loops, a reduction."""
    return np.sum(np.exp(-w * x) * np.sin(x) + np.log1p(x * x))


def stepped(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.tanh(w * x[i]) * x[i]
    return s


def _slope(fn, args, dirs, eps=1e-6):
    plus = [a + eps * d for a, d in zip(args, dirs, strict=True)]
    minus = [a - eps * d for a, d in zip(args, dirs, strict=True)]
    return (fn(*plus) - fn(*minus)) / (2 * eps)


def _check_grad(f, x, w, rng, out=None):
    vx, vw = rng.standard_normal(x.shape), float(rng.standard_normal())
    gx, gw = f.grad(x, w, out=out) if out is not None else f.grad(x, w)
    if out is not None:
        assert gx is out[0]
    assert np.sum(gx * vx) + gw * vw == pytest.approx(_slope(energy, (x, w), (vx, vw)),
                                                      rel=1e-6, abs=1e-8)


def test_large_calls_take_either_code_and_agree_with_differences(rng):
    f = srcad.differentiate(energy, wrt=(0, 1), backend="numba")
    for _ in range(3 + 2 * numba_wide.SAMPLES):    # the calls that decide, one decided
        _check_grad(f, rng.uniform(0.1, 2.0, N), float(rng.uniform(0.5, 1.5)), rng)
    g = f._hot["vjp"]
    assert isinstance(g, numba_backend.Wide)
    c = g.chooser.of(N)
    assert c.choice in ("numba", "numpy")
    assert "no loop of the user's" in f.source("grad", np.ones(N), 1.0)
    x, w = rng.uniform(0.1, 2.0, N), 0.7
    for which in ("numba", "numpy"):       # each code, taken for good, with and without out=
        c.fn = c.core if which == "numba" else c.make()
        _check_grad(f, x, w, rng)
        _check_grad(f, x, w, rng, out=(np.empty(N), np.empty(())))
        value, tangent = f.jvp((x, w), (np.ones(N), 0.5))
        assert value == pytest.approx(energy(x, w), rel=1e-12)
        assert tangent == pytest.approx(_slope(energy, (x, w), (np.ones(N), 0.5)), rel=1e-6)


def test_small_calls_keep_to_the_core(rng):
    f = srcad.differentiate(energy, wrt=(0, 1), backend="numba")
    for _ in range(5):
        f.grad(rng.uniform(0.1, 2.0, N), 0.9)
    g = f._hot["vjp"]

    def refused(*args):
        raise AssertionError("a small call took the code of large calls")

    g.chooser.of(N).fn = refused
    _check_grad(f, rng.uniform(0.1, 2.0, 40), 0.9, rng)     # same specialisation, 40 entries
    with pytest.raises(AssertionError, match="large calls"):
        f.grad(rng.uniform(0.1, 2.0, N), 0.9)


def test_code_with_a_loop_always_runs_compiled(rng):
    f = srcad.differentiate(stepped, wrt=(0, 1), backend="numba")
    x = rng.uniform(0.1, 2.0, N)
    gx, gw = f.grad(x, 0.8)
    vx = rng.standard_normal(N)
    assert np.sum(gx * vx) + gw * 0.3 == pytest.approx(_slope(stepped, (x, 0.8), (vx, 0.3)),
                                                       rel=1e-6)
    g = f._hot.get("vjp") or f._specialise("vjp", (x, 0.8))
    assert isinstance(g, numba_backend.Guarded) and not isinstance(g, numba_backend.Wide)
    assert "no loop of the user's" not in f.source("grad", x, 0.8)


class _Clock:
    """A clock that each fake code advances by its own cost per call."""
    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def test_the_choice_skips_each_first_call_and_takes_the_best_of_three(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(numba_wide, "time", clock)
    ran = []

    def core(*args):
        ran.append("core")
        clock.now += 10.0

    costs = iter([1000.0, 50.0, 5.0, 6.0])     # first call (builds, starts threads), then a
    # slow timed call on a busy machine, then two calls at the code's own speed

    def numpy_fn(*args):
        ran.append("numpy")
        clock.now += next(costs)

    chooser = numba_wide.Chooser(core, lambda: numpy_fn)
    for _ in range(2 + 2 * numba_wide.SAMPLES):
        chooser.call((), 1)
    assert ran == ["core"] * 4 + ["numpy"] * 4
    assert chooser.times[0] is None and chooser.times[4] is None
    assert chooser.choice == "numpy" and chooser.fn is numpy_fn
    clock2 = _Clock()
    monkeypatch.setattr(numba_wide, "time", clock2)

    def close(*args):                          # not clearly faster (MARGIN): the core
        clock2.now += 9.0

    def core2(*args):
        clock2.now += 10.0

    chooser = numba_wide.Chooser(core2, lambda: close)
    for _ in range(2 + 2 * numba_wide.SAMPLES):
        chooser.call((), 1)
    assert chooser.choice == "numba" and chooser.fn is core2


def test_each_size_class_decides_apart(monkeypatch):
    """Which code wins moves with the size: a class (a power of two of elements) takes the
    code its own timed calls chose, and a call of another size in the same class takes it
    without timing anything."""
    clock = _Clock()
    monkeypatch.setattr(numba_wide, "time", clock)
    ran = []

    def core(n):
        ran.append(("core", n))
        clock.now += 1.0 * n

    def numpy_fn(n):                # faster at a few thousand elements, slower at a million
        ran.append(("numpy", n))
        clock.now += (0.5 if n < 5000 else 2.0) * n

    sizes = numba_wide.Sizes(core, lambda: numpy_fn)
    for n in (2000, 10**6):
        for _ in range(2 + 2 * numba_wide.SAMPLES):
            sizes.call((n,), n)
    assert sizes.of(2000).choice == "numpy" and sizes.of(10**6).choice == "numba"
    ran.clear()
    sizes.call((2047,), 2047)       # the class of 2000 (1024-2047): NumPy's, untimed
    sizes.call((2**20 - 1,), 2**20 - 1)
    assert ran == [("numpy", 2047), ("core", 2**20 - 1)]
    assert len(sizes.of(2047).times) == 2 + 2 * numba_wide.SAMPLES

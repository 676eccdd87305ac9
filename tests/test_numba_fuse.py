"""numba backend: a sum's adjoint run inside the primal loop (transforms/numba_fuse.py).

When every trip of the reverse loop only adds into gradients and reads its own trip's
values, the core runs it right after that trip of the primal loop: one sweep, no loop
records. Each function is checked against central differences (a random cotangent: the
seed is not 1) and against the NumPy backend to rounding; the source says whether the
records went. The functions that must keep their reverse loop read a value the fused
code would see at the wrong time (the sum itself, a value carried inside the loop, a
product): they are checked the same way. (An array written in the loop also keeps them;
the numba backend does not compile such loops yet.)
"""
import inspect
import math

import numpy as np
import pytest

import srcad
from conftest import fd_check, need_numba
from golden_functions import lj_energy as lennard_jones
from test_numba2_replay import _agree

need_numba()


# ------------------------------------------------------------------ fused
def two_sums_and_a_scale(x, k):
    """Two sums, a scalar parameter's gradient summed too, and one output of both."""
    a = 0.0
    b = 0.0
    for i in range(x.shape[0]):
        u = k * x[i]
        a = a + math.sin(u) * x[i]
        b = b + u * u
    return a + 0.5 * b


def single_loop(x, w):
    e = 0.0
    for i in range(x.shape[0]):
        d = x[i] - w[i]
        e = e + math.log(1.0 + d * d)
    return e


def with_a_branch(x):
    e = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            e = e + x[i] * x[i]
        else:
            e = e - math.exp(x[i])
    return e


FUSED = [
    (lennard_jones, 0, lambda rng: (1.3 * np.arange(18.0).reshape(6, 3) % 4.1
                                    + rng.uniform(-0.1, 0.1, (6, 3)),)),
    (two_sums_and_a_scale, ("x", "k"), lambda rng: (rng.uniform(-1, 1, 7), 0.8)),
    (single_loop, ("x", "w"), lambda rng: (rng.uniform(-1, 1, 6), rng.uniform(-1, 1, 6))),
]


# ------------------------------------------------------------------ kept
def sum_squared(x):
    """The reverse sweep reads the sum (2 e): only known once the loop is done."""
    e = 0.0
    for i in range(x.shape[0]):
        e = e + math.sin(x[i]) * x[i]
    return e * e


def carried_inside(x):
    """``a`` changes in the inner loop: at each inner trip it is not the outer trip's."""
    n = x.shape[0]
    e = 0.0
    for i in range(n):
        a = x[i]
        for j in range(n):
            e = e + a * x[j]
            a = a * 0.5 + x[j] * 0.1
    return e


def product(x):
    p = 1.0
    for i in range(x.shape[0]):
        p = p * (1.0 + 0.5 * math.sin(x[i]))
    return p


def while_sum(x):
    e = 0.0
    k = 0
    while k < x.shape[0]:
        e = e + x[k] * math.cos(x[k])
        k = k + 1
    return e


KEPT = [(sum_squared, 0), (carried_inside, 0), (product, 0)]


def _core(text):
    """The njit core's source (the Python entry after it left out)."""
    start = text.index("\ndef ", text.index("@_njit"))
    return text[:text.index("\ndef ", start + 1)]


@pytest.mark.parametrize("fn, wrt, make", FUSED, ids=[c[0].__name__ for c in FUSED])
def test_a_sum_is_differentiated_in_its_own_loop(fn, wrt, make, rng, numba_default):
    args = make(rng)
    fd_check(fn, args, wrt, rng)
    core = _core(_agree(fn, wrt, args).source("grad", *args))
    assert "_sp" not in core and "_rt.reserve(" not in core and "range(loop" not in core, core
    loops = [line.strip() for line in inspect.getsource(fn).splitlines()
             if line.strip().startswith("for ")]
    assert _loops(core) == len(loops), core          # one sweep: the user's loops only


def _loops(text):
    return sum(line.strip().startswith(("for ", "while ")) for line in text.splitlines())


def test_the_fused_loop_adds_into_the_gradient_after_the_primal_statements(rng):
    x = rng.uniform(0, 3, (5, 3))
    core = _core(srcad.differentiate(lennard_jones, backend="numba").source("grad", x))
    body = core[core.index("for j in range"):]
    assert body.index("e4 = ") < body.index("x_bar[j, 0] -=")     # the adjoint after the trip
    loop = core.index("\n    for i in range")
    assert core.index("seed2 = seed") < loop < core.index("_rt.grad_seed(seed, e2)")
    assert core.count("dx = t") == 1                               # no replay: the value is there
    code = [line for line in core.splitlines() if not line.strip().startswith("#")]
    assert sum(" / " in line for line in code) == 1     # the adjoint multiplies by s6 = 1 / r6


def test_a_branch_inside_the_sum(rng, numba_default):
    x = rng.uniform(-1, 1, 8)
    fd_check(with_a_branch, (x,), 0, rng)
    _agree(with_a_branch, 0, (x,))


@pytest.mark.parametrize("fn, wrt", KEPT, ids=[c[0].__name__ for c in KEPT])
def test_what_the_fused_loop_would_read_at_the_wrong_time_keeps_its_records(fn, wrt, rng,
                                                                            numba_default):
    x = rng.uniform(-1, 1, 6)
    fd_check(fn, (x,), wrt, rng)
    core = _core(_agree(fn, wrt, (x,)).source("grad", x))
    assert "range(loop" in core, core


def test_a_while_sum(rng, numba_default):
    x = rng.uniform(-1, 1, 9)
    fd_check(while_sum, (x,), 0, rng)
    _agree(while_sum, 0, (x,))


def test_float32_stays_float32(rng):
    x = (1.3 * np.arange(15.0).reshape(5, 3) % 4.1 + rng.uniform(-0.1, 0.1, (5, 3)))
    x32 = x.astype(np.float32)
    g = srcad.differentiate(lennard_jones, backend="numba").grad(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, srcad.differentiate(lennard_jones).grad(x), rtol=2e-3,
                               atol=1e-3)

"""numba backend: loop-record items recomputed by the reverse loop instead of recorded.

Values that are arithmetic (no division) on the loop index, recorded items, arrays never
written and values set once before every loop are replayed from the primal statements
in the reverse loop (transforms/numba_replay.py); everything else is still recorded.
Gradients are checked against central differences and against the NumPy backend.
The functions return the square of their sum: the reverse sweep reads the sum, so it
stays a loop of its own (a plain sum's adjoint runs inside the primal loop instead:
tests/test_numba_fuse.py).
"""
import math

import numpy as np

import srcad
from conftest import fd_check, need_numba

need_numba()


def pairs(x):
    n = x.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dx = x[i, 0] - x[j, 0]
            dy = x[i, 1] - x[j, 1]
            r2 = dx * dx + dy * dy + 0.5
            s = 1.0 / (r2 * r2)
            e = e + s * s - math.exp(-r2)
    return e * e


def carried(x):
    """``a`` reads ``s``, which each trip changes and the adjoint does not need (it does
    not depend on x): ``a`` must stay recorded, ``b`` is replayed from it."""
    s = 1.0
    e = 0.0
    for i in range(x.shape[0]):
        a = x[i] + s
        b = a * a + 0.1
        e = e + b * b
        s = s * 1.1
    return e * e


def scaled(x, c):
    """``u`` reads ``k``, set once before the loop (replayed); ``c`` is a parameter."""
    k = c * 2.0
    e = 0.0
    for i in range(x.shape[0]):
        u = x[i] * k - c
        e = e + math.sin(u) * u
    return e * e


def _agree(fn, wrt, args):
    fast = srcad.differentiate(fn, wrt=wrt, backend="numba")
    got = fast.grad(*args)
    assert fast.compiled("grad", *args).__srcad_backend__ == "numba"
    want = srcad.differentiate(fn, wrt=wrt, backend="numpy").grad(*args)
    flat = [np.concatenate([np.ravel(g) for g in (t if isinstance(t, tuple) else (t,))])
            for t in (got, want)]
    np.testing.assert_allclose(*flat, rtol=1e-12, atol=1e-14, err_msg=fn.__name__)
    return fast


# Each test checks its function against central differences first (numba the process
# default): the NumPy-backend comparison and the source then reuse what numba compiled.

def test_pair_differences_are_replayed_and_divisions_recorded(numba_default, rng):
    x = rng.uniform(0, 3, (8, 2))
    fd_check(pairs, (x,), 0, rng)
    f = _agree(pairs, 0, (x,))
    text = f.source("grad", x)
    assert "loop_dx" not in text and "loop_r2" not in text     # replayed
    assert "loop_s" in text and "loop_j" in text               # a division, the index
    reverse = text[text.index("range(loop_n)"):]
    assert "dx = t" in reverse                                 # the primal statement again


def test_loop_carried_values_stay_recorded(numba_default, rng):
    x = rng.uniform(-1, 1, 9)
    fd_check(carried, (x,), 0, rng)
    f = _agree(carried, 0, (x,))
    text = f.source("grad", x)
    assert "loop_a" in text             # reads the carried s: recorded
    assert "loop_b" not in text         # arithmetic on the recorded a: replayed


def test_values_set_once_before_the_loop_are_read_again(numba_default, rng):
    x = rng.uniform(-1, 1, 7)
    fd_check(scaled, (x, 0.7), ("x", "c"), rng)
    f = _agree(scaled, ("x", "c"), (x, 0.7))
    assert "loop_u" not in f.source("grad", x, 0.7)


def test_float32_replay_stays_float32(rng):
    x = rng.uniform(0, 3, (7, 2)).astype(np.float32)
    g = srcad.differentiate(pairs, backend="numba").grad(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, srcad.differentiate(pairs).grad(x), rtol=2e-4, atol=1e-5)

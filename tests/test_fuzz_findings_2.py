"""Crashes found by the differential fuzzer (tests/fuzz), second batch.

Each program is checked with ``check_case``: the mode's result against
Richardson-extrapolated central differences.
"""
import numpy as np

import srcad
from tests.conftest import fd_check
from tests.fuzz.run import check_case


# ------------------- a module constant copied into a local, differentiated twice

# The first-order code read ``C1`` (copied bare into a local by the lowered
# conditional expression) from its own globals; the second-order code is compiled in
# srcad's module, where ``C1`` does not exist: NameError.
CONSTANT_IN_IFEXP = '''\
import numpy as np
C1 = -0.21

def f(x, y):
    v = x[0, 0] if x[0, 0] > 0.5 else C1
    return np.sum(x * x) * v
'''

CONSTANT_COPIED = '''\
import numpy as np
C1 = -0.21
W = np.array([0.5, -1.5, 2.0])

def f(x, y):
    if x[0, 0] > 0.5:
        c = 1.0
        a, w = x[0, 1], x[1]
    else:
        c = C1
        a, w = x[0, 1], W
    return np.sum(x * x * w) * c * a
'''

ARGS = ('(np.array([[-0.51953, -0.49588, -0.89852], [-0.22368, 0.2871, 0.1394]]), '
        'np.array([-0.54588, 0.50476]))')


def test_hessian_of_a_module_constant_read_in_a_conditional_expression():
    check_case(CONSTANT_IN_IFEXP, ARGS, wrt=('x',), scalar=True, mode='hessian')


def test_hessian_of_module_globals_copied_bare_into_locals():
    check_case(CONSTANT_COPIED, ARGS, wrt=('x',), scalar=True, mode='hessian')
    check_case(CONSTANT_COPIED, ARGS, wrt=('x',), scalar=True, mode='grad')


def test_closure_constant_copied_into_a_local_is_bound_not_read_as_a_global(rng):
    c1 = 0.75                           # a closure cell: no global of the generated code

    def f(x):
        v = x[0] if x[0] > 5.0 else c1
        w = c1
        return np.sum(x * x) * v * w

    x = np.array([0.3, -1.2, 0.8])
    fd_check(f, (x,), "x", rng)
    v = rng.standard_normal(3)
    g = srcad.grad(f)
    eps = 1e-5
    fd = (g(x + eps * v) - g(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(srcad.hessian(f)(x) @ v, fd, rtol=1e-6, atol=1e-9)


def test_fuzz_2026_65_hessian():
    source = '''\
import math
import numpy as np
C1 = -0.21
C2 = np.array([[0.54, 0.2, 0.68], [-0.59, 1.31, -1.16]])

def h1(a1, n_):
    return a1

def f(x, y):
    for r1, r2 in zip(x, y):
        if h1(y[1], x.shape[0]) > -0.27:
            if (np.sum(r2) * np.ones((x.shape[0], 2))).mean() * (r2 if r2 > 0.5 else C1) > 0.44:
                pass
        else:
            pass
    v1 = np.einsum('ij,j->i', np.square((-1.5) ** 3 * C2), np.arctan2(x[-1] + x[-1], 1.5 + np.tanh(x[-1] + 0.38 * np.ones((3,)))))
    return np.mean(v1 * v1) + np.sum(y) + np.sum(x) + np.sum(y) * np.einsum('i,i->', y, y)
'''
    check_case(source, ARGS, wrt=('x',), scalar=True, mode='hessian')


# ------------- a module constant rebound after a hessian: the second-order code is stale

SCALE = -0.21


def _scaled(x):
    return np.sum(x * x * x) * SCALE


def test_hessian_recompiles_when_a_module_constant_it_inlined_is_rebound(rng, monkeypatch):
    # The second-order code inlines the first-order code, where SCALE is already a
    # literal: the first-order code's guards must guard it too, or the old value is kept.
    x = np.array([0.3, -1.2, 0.8])
    hess, grad = srcad.hessian(_scaled), srcad.grad(_scaled)
    v = rng.standard_normal(3)
    eps = 1e-5
    for value in (-0.21, 2.5):
        monkeypatch.setitem(globals(), "SCALE", value)
        fd = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
        np.testing.assert_allclose(hess(x) @ v, fd, rtol=1e-6, atol=1e-9)

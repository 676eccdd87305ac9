"""Classes of wrong gradients and crashes found by the differential fuzzer (tests/fuzz).

Each class has its minimised program, checked with ``check_case`` (the mode's result
against Richardson-extrapolated central differences), and a direct assertion of the
symptom the fuzzer reported.
"""
import dataclasses

import numpy as np

import srcad
from tests.conftest import fd_check
from tests.fuzz.run import check_case


# ------------------------------------------ a broadcast cotangent written into out=

BROADCAST_INTO_OUT = '''\
import numpy as np

def f(x, y):
    v1 = np.sum(x) * np.ones((3, 3))
    return np.sum(v1)
'''


def test_grad_out_of_a_cotangent_that_broadcasts_is_not_written_unexpanded():
    check_case(BROADCAST_INTO_OUT, '(np.array([0.26568, -0.68742, 0.31365]), 0.44904)',
               wrt=('x',), scalar=True, mode='grad_out')


def test_grad_out_equals_grad_when_the_gradient_broadcasts_from_a_scalar(rng):
    def f(x, y):
        v1 = np.sum(x) * np.ones((3, 3))
        return np.sum(v1)

    def g(x):
        v = np.mean(x) * np.ones((2, 3))
        return np.sum(v * v)

    x = np.array([0.26568, -0.68742, 0.31365])
    buf = np.zeros(3)
    got = srcad.grad(f)(x, 0.44904, out=buf)
    assert got is buf
    np.testing.assert_allclose(buf, srcad.grad(f)(x, 0.44904), rtol=1e-12)
    fd_check(f, (x, 0.44904), 0, rng)
    buf = np.zeros(3)
    np.testing.assert_allclose(srcad.grad(g)(x, out=buf), srcad.grad(g)(x), rtol=1e-12)
    fd_check(g, (x,), 0, rng)


# ------------------------------------ an early return inside an `if` that is not taken

def test_owned_cotangent_of_a_value_assigned_in_a_branch_not_taken():
    source = '''\
import numpy as np

def f(x):
    if x.max() > 1.0:
        return (x - x)[:, 0]
    return x
'''
    check_case(source, '(np.array([[0.231, 0.44461, 0.05858], [-0.39839, -0.53749, -0.61396]]),)',
               wrt=('x',), scalar=False, mode='jac_rev')


def test_early_return_in_a_branch_not_taken_gives_the_other_branch_gradient(rng):
    @dataclasses.dataclass
    class Params:
        w: np.ndarray
        s: float

    def f(x, y, p):
        if y > 1.0:
            return (y * p.w)[2]
        return np.sum(x) * y

    p = Params(w=np.array([0.6695, -0.00662, 0.03459]), s=0.98238)
    x = np.array([-0.1724, 0.90899, -0.35615])
    for y in (0.08874, 1.5):          # the branch not taken (it crashed), then taken
        assert isinstance(srcad.grad(f, wrt=1)(x, y, p), float)
        fd_check(f, (x, y, p), 1, rng)

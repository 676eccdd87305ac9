"""Classes of wrong gradients and crashes found by the differential fuzzer (tests/fuzz).

Each class has its minimised program, checked with ``check_case`` (the mode's result
against Richardson-extrapolated central differences), and a direct assertion of the
symptom the fuzzer reported.
"""
import dataclasses

import numpy as np

import srcad
from tests.conftest import fd_check, fd_check_forward
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


def test_grad_out_of_two_arguments_one_gradient_broadcast_from_a_scalar(rng):
    source = '''\
import numpy as np

def f(x, y, n):
    x = x @ np.full((x.shape[0], x.shape[0]), 1.0)
    return np.mean(x) + np.sum(y) + np.sum(np.expand_dims(x, 0)[0], axis=0)
'''
    check_case(source, '(np.array([0.12907, 0.70153]), np.array([-0.62153, 0.10641]), 2)',
               wrt=('x', 'y'), scalar=True, mode='grad_out')

    def f(x, y):
        return np.mean(x @ np.ones((2, 2))) + np.sum(y)

    x, y = rng.normal(size=2), rng.normal(size=2)
    out = (np.zeros(2), np.zeros(2))
    got = srcad.grad(f, wrt=(0, 1))(x, y, out=out)     # it raised a raw ValueError
    assert got is out
    for a, b in zip(out, srcad.grad(f, wrt=(0, 1))(x, y), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    fd_check(f, (x, y), (0, 1), rng)


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


# ---------- the zero placeholder 0.0 reaching a rule that moves entries (reshape, einsum...)
# A cotangent that got no contribution (a branch not taken, an item of a tuple that is not
# used) is the placeholder 0.0; reshape, transpose, einsum, outer and matmul rules need it
# shaped like the value.

def test_reshape_after_std_keepdims_in_a_loop_whose_return_is_not_taken():
    source = '''\
import dataclasses
import numpy as np

@dataclasses.dataclass
class Params:
    w: np.ndarray
    s: float

def f(x, y, p):
    for r1, r2 in zip(y, y):
        v1 = np.std([x, x], axis=1, keepdims=True).reshape((2,))
        if r1 > 0.26:
            return np.sum(v1)
'''
    check_case(source, '(np.array([-0.66352, 0.03909, -0.38169]), np.array([0.94235, -0.08262, '
               '-0.72524]), Params(w=np.array([0.04884, -0.58444, 0.97643]), s=0.59376))',
               wrt=('x',), scalar=True, mode='sig2')


def test_transpose_of_an_einsum_of_a_tuple_under_a_return_not_taken():
    source = '''\
import numpy as np
C2 = [1.0, 1.0, 1.0]

def h2(a2, a3, n_):
    v4 = a2
    return (-1,)

def h1(a1, n_):
    v2 = a1
    return np.einsum('i,j->ij', h2(np.full((3,), -1.44), np.sum(v2), n_), np.sum(a1, axis=1))

def f(x, n):
    v1 = np.exp(-h1(np.sum(x) * np.ones((3, 2)) @ (np.sum(x) * np.ones((2, 3))), x.shape[0]) * h1(np.sum(x) * np.ones((3, 2)) @ (np.sum(x) * np.ones((2, 3))), x.shape[0]))
    v6 = v1.T
    if np.mean(x) > 0.4:
        return np.mean(0.5 * np.ones((2, 3)) - (np.sum(v6) * np.ones((2,)))[:, None], axis=0)
    return C2
'''
    check_case(source, '(np.array([[0.82595, -0.91039, 0.82532], [-0.43378, -0.37426, -0.25406]]), 2)',
               wrt=('x',), scalar=False, mode='pullback')


def test_einsum_of_a_list_constant_under_a_return_not_taken():
    source = '''\
import numpy as np
C1 = [[1.0, 1.0, 0.29], [0.21, -0.94, -0.92], [-0.54, 1.3, 0.74]]
C2 = [1.0, 1.0]

def rec1(v, k):
    return v

def f(x, y, c):
    u1, u2 = (x.max() / np.cosh(np.sum(x)) if np.mean(y) + np.mean(y) > 0.5 else -1.45, -np.einsum('ji,j->i', C1, x[-1]))
    v1 = y.max()
    if rec1((x @ np.ones((3, x.shape[0]))).min(), 1) > 0.49:
        return v1 + u1 + np.power(C2 - np.sum(u2) * np.ones((2,)), 2)
    return (2,)
'''
    check_case(source, '(np.array([[-0.16825, -0.17764, -0.8969], [-0.3204, 0.05231, -0.95855]]), '
               'np.array([0.17289, -0.46655]), np.array([-0.5215, -0.27982]))',
               wrt=('x',), scalar=False, mode='pullback')


def test_outer_whose_result_is_an_unused_item_of_a_tuple():
    source = '''\
import numpy as np
C1 = [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]

def f(x, y, n):
    t1 = (np.var(C1, axis=0, keepdims=True).reshape((2,)), np.outer((3,), x))
    return t1[0].dot(np.concatenate([(1,), (1,)]))
'''
    check_case(source, '(np.array([0.87696, 0.36179]), -0.76148, 2)', wrt=('x',), scalar=True,
               mode='grad')


def test_rules_moving_entries_take_a_cotangent_that_got_nothing(rng):
    def f(x, c):
        a = x.reshape((2, 3))
        b = a.T
        m = np.outer(x[:2], x[:3])
        e = np.einsum('ij,jk->ik', m, b)
        r = np.sum(x)
        if c > 0.0:
            r = r + np.sum(e * e) + np.sum(b @ a)
        return r

    x = rng.normal(size=6)
    for c in (-1.0, 1.0):                 # the branch not taken (it crashed), then taken
        assert srcad.grad(f)(x, c).shape == x.shape
        fd_check(f, (x, c), 0, rng)


# ----------------------------------------------- grad(out=) with a bool added to the result

def test_grad_out_with_a_bool_added_to_the_result(rng):
    source = '''\
import numpy as np

def f(x, y, c, n):
    v1 = y @ y > 1.0
    return np.sum(x) + np.mean(y * y) + v1
'''
    check_case(source, '(np.array([[-0.08282, 0.9046, 0.92006], [0.46659, 0.08169, -0.33126], '
               '[0.10818, 0.53767, 0.42228]]), np.array([0.73244, -0.86894, 0.40787]), '
               'np.array([0.88838, -0.91226, 0.66523]), 2)', wrt=('x', 'y'), scalar=True,
               mode='grad_out')


# ------------------------------- sequences (lists, tuples of numbers) as matmul operands

def test_vector_mode_matmul_tangent_of_a_list_operand(rng):
    C = [[1.0, 2.0], [0.5, 1.0], [1.0, 0.0]]
    v = [1.0, 2.0, 3.0]

    def f(x):
        return (x @ C) ** 2

    def g(x):
        return (v @ np.outer(x, x)) ** 2

    def h(x):
        return x.dot((1.0, 2.0, 0.5)) * x

    x = rng.normal(size=3)
    for fn in (f, g, h):
        jac = srcad.jacobian(fn, mode="forward")(x)     # vector mode (it crashed)
        np.testing.assert_allclose(jac, srcad.jacobian(fn, mode="reverse")(x), rtol=1e-10)
        fd_check_forward(fn, (x,), 0, rng)


# ---------------- vector mode: an item set into a constant array from a constant tangent

def test_vector_mode_setitem_of_a_tangent_made_full_from_a_zero(rng):
    source = '''\
import numpy as np

def f(x, y, c):
    w1 = np.full((3,), 1.0)
    w1[1] *= 1.0 if x.max() > 0.17 else x
    return np.sum(w1)
'''
    check_case(source, '(np.array([[0.65965, -0.8242, 0.6587], [0.03894, -0.47933, 0.16765]]), '
               'np.array([-0.71504, 0.24558]), np.array([0.77326, -0.75505]))', wrt=('x',),
               scalar=True, mode='jac_fwd')

    def f(x):
        w = np.full((3,), 1.0)
        w[1] *= 2.0                     # a constant update: its tangent has no directions
        w[2] = w[2] * x[0]
        return w * x[1]

    x = rng.normal(size=3)
    jac = srcad.jacobian(f, mode="forward")(x)      # vector mode (it raised IndexError)
    np.testing.assert_allclose(jac, srcad.jacobian(f, mode="reverse")(x), rtol=1e-12)
    fd_check_forward(f, (x,), 0, rng)

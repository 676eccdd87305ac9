"""Broadcasting operands get the gradient a person writes (issue 10, section 4).

The signature records which axes of an array argument have length 1, so the compiler
knows how ``h @ W + b`` broadcasts ``b``: the generated gradient writes
``np.sum(t_bar, axis=0)`` (or nothing at all where two shapes are surely equal, or
``np.sum(g)`` for a number) instead of a run-time ``unbroadcast``. A call whose arrays
have other axes of length 1 has another signature and gets its own specialisation.
Every case is checked against central differences, also where an argument's axis has
length 1 at one call and not at another.
"""
import numpy as np
import pytest

import golden_functions as gf
import srcad
from conftest import fd_check, fd_check_forward

pytestmark = pytest.mark.numpy_backend      # reads the NumPy backend's code

def central(fn, args, k, v, h=1e-6):
    """<d fn / d args[k], v> by central differences."""
    def at(step):
        moved = list(args)
        moved[k] = args[k] + step * v
        return fn(*moved)
    return (at(h) - at(-h)) / (2 * h)


def assert_grad_matches(d, args, rng):
    """``d.grad`` (one value per ``wrt`` argument, in order) against central differences
    along a random direction per argument; the gradient has its argument's shape."""
    grads = d.grad(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for name, g in zip(d.wrt, grads, strict=True):
        k = d.params.index(name)
        assert np.shape(g) == np.shape(args[k]), (name, np.shape(g), np.shape(args[k]))
        v = rng.standard_normal(np.shape(args[k]))
        want = central(d.fn, args, k, v if np.ndim(args[k]) else float(v))
        np.testing.assert_allclose(np.sum(g * v), want, rtol=1e-6, atol=1e-8)


def bias_layer(x, b, w):
    return np.sum(np.tanh(x + b) * w)


# ---------------------------------------------------------------- the MLP's biases

def mlp_args(rng, batch=8):
    return (rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((4, 2)),
            rng.standard_normal(2), rng.standard_normal((batch, 3)),
            rng.standard_normal((batch, 2)))


def test_mlp_gradient_sums_the_bias_cotangents_over_the_batch(rng):
    args = mlp_args(rng)
    src = srcad.source(gf.mlp_loss, *args, wrt=("W1", "b1", "W2", "b2"))
    assert "unbroadcast" not in src
    assert "b2_bar = np.sum(pred_bar, axis=0, out=b2_out)" in src
    assert "b1_bar = np.sum(t2_bar, axis=0, out=b1_out)" in src
    assert "h_bar = pred_bar @ W2.T" in src           # the cotangent of h @ W2 is pred_bar
    fd_check(gf.mlp_loss, args, ("W1", "b1", "W2", "b2"), rng)


def test_mlp_batch_of_one_is_a_second_signature(rng):
    d = srcad.differentiate(gf.mlp_loss, wrt=("W1", "b1", "W2", "b2"))
    many, one = mlp_args(rng), mlp_args(rng, batch=1)
    assert_grad_matches(d, many, rng)
    assert_grad_matches(d, one, rng)
    assert_grad_matches(d, many, rng)
    sigs = [s for kind, s in d.signatures if kind == "vjp"]
    assert len(sigs) == 2 and any("axis 0 of length 1" in s for s in sigs), sigs
    # a batch of one: the sum over the batch axis is still written (a length-1 axis of
    # the cotangent summed away is the cotangent's only row)
    assert "unbroadcast" not in d.source("grad", *one)


def test_mlp_gradient_into_out(rng):
    args = mlp_args(rng)
    want = srcad.grad(gf.mlp_loss, wrt=("W1", "b1", "W2", "b2"))(*args)
    out = tuple(np.full_like(a, np.nan) for a in args[:4])
    got = srcad.grad(gf.mlp_loss, wrt=("W1", "b1", "W2", "b2"))(*args, out=out)
    assert got is out
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)


# ------------------------------------------- an axis of length 1 at one call, not another

@pytest.mark.parametrize("xshape, bshape, written", [
    ((5, 3), (3,), "np.sum(t_bar, axis=0)"),
    ((5, 3), (1, 3), "np.sum(t_bar, axis=0, keepdims=True)"),
    ((5, 3), (5, 1), "np.sum(t_bar, axis=1, keepdims=True)"),
    ((1, 3), (3,), "np.sum(t_bar, axis=0)"),          # the result has a length-1 axis
    ((5, 1), (3,), None),                             # x's axis 1 broadcasts, b's not
    ((1, 3), (5, 1), None),                           # both broadcast
    ((5, 3), (5, 3), None),                           # same shapes: no sum at all
    ((4, 5, 3), (5, 1), "np.sum(np.sum(t_bar, axis=0), axis=1, keepdims=True)"),
    ((3,), (1,), "np.sum(t_bar, axis=0, keepdims=True)"),
])
def test_bias_shapes(rng, xshape, bshape, written):
    x, b = rng.standard_normal(xshape), rng.standard_normal(bshape)
    w = rng.standard_normal(np.broadcast_shapes(xshape, bshape))
    d = srcad.differentiate(bias_layer, wrt=("x", "b"))
    assert_grad_matches(d, (x, b, w), rng)
    src = d.source("grad", x, b, w)
    assert "unbroadcast" not in src
    if written is not None:         # (into ``out`` when it is given: ``out=b_out``)
        assert written[:-1] + ", out=b_out)" in src, src
    fd_check(bias_layer, (x, b, w), ("x", "b"), rng)
    fd_check_forward(bias_layer, (x, b, w), ("x", "b"), rng)


def test_one_function_many_unit_axes(rng):
    """One Differentiable called in turn with arguments whose length-1 axes differ: each
    call gets the specialisation of its own shapes, never another call's."""
    d = srcad.differentiate(bias_layer, wrt=("x", "b"))
    shapes = [((5, 3), (3,)), ((5, 3), (1, 3)), ((5, 3), (5, 1)), ((1, 3), (5, 1)),
              ((1, 1), (5, 3)), ((5, 3), (3,)), ((1, 3), (1, 3)), ((5, 3), (1, 3))]
    for xshape, bshape in shapes:
        x, b = rng.standard_normal(xshape), rng.standard_normal(bshape)
        w = rng.standard_normal(np.broadcast_shapes(xshape, bshape))
        assert_grad_matches(d, (x, b, w), rng)
    assert len([k for k, _ in d.signatures if k == "vjp"]) == 6


def test_numbers_and_0d_arrays(rng):
    def f(x, c, z):
        return np.sum(np.sin(x * c + z))

    x = rng.standard_normal((4, 3))
    for c, z in [(0.7, np.array(0.3)), (np.array(1.3), 0.2), (np.float64(0.4), np.array(-0.5))]:
        d = srcad.differentiate(f, wrt=("x", "c", "z"))
        assert_grad_matches(d, (x, c, z), rng)
        gx, gc, gz = d.grad(x, c, z)
        assert np.shape(gc) == () and np.shape(gz) == ()
        assert isinstance(gc, np.ndarray) == isinstance(c, np.ndarray)
        assert isinstance(gz, np.ndarray) == isinstance(z, np.ndarray)
        assert "unbroadcast" not in d.source("grad", x, c, z)
        fd_check(f, (x, c, z), ("x", "c", "z"), rng)


def test_a_number_added_to_an_array_is_summed_whole(rng):
    def f(x, c):
        return np.sum(np.exp(x + c) * x)

    x = rng.standard_normal((3, 4))
    src = srcad.source(f, x, 0.5, wrt=("x", "c"))
    assert "unbroadcast" not in src and "np.sum(" in src
    fd_check(f, (x, 0.5), ("x", "c"), rng)


# ------------------------------------------------- a cotangent that may be the zero 0.0

def gated(x, b, flag):
    t = x + b
    if flag > 0:
        s = np.sum(np.cos(t))
    else:
        s = 2.0 * np.sum(x)
    return s


@pytest.mark.parametrize("flag", [1, -1])
def test_a_branch_not_taken_leaves_a_zero_cotangent(rng, flag):
    x, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    d = srcad.differentiate(gated, wrt=("x", "b"))
    assert_grad_matches(d, (x, b, flag), rng)
    assert "unbroadcast" not in d.source("grad", x, b, flag)


def test_a_rule_returning_a_number_for_an_array(rng):
    """A user's rule may give a number as the cotangent of an array argument: it stands
    for the array of that number, so the bias gets the sum over the batch (it got the
    number itself before, a wrong gradient)."""
    def total(v):
        return np.sum(v)

    @srcad.adjoint(total)
    def total_rule(v):
        return np.sum(v), lambda g: (g,)

    def f(x, b):
        return total(x + b) + total(x[1:] + b)

    x, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    d = srcad.differentiate(f, wrt=("x", "b"))
    assert_grad_matches(d, (x, b), rng)
    np.testing.assert_allclose(d.grad(x, b)[1], np.full(3, 7.0))


# ------------------------------------------------------------ second derivatives

def test_hessian_vector_product_through_the_bias_sum(rng):
    def f(b, x, w):
        return np.sum(np.tanh(x @ w + b) ** 2)

    x, w, b = rng.standard_normal((6, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    assert "np.sum(" in srcad.source(f, b, x, w)
    v = rng.standard_normal(4)
    grad = srcad.grad(f)
    h = 1e-5
    want = (grad(b + h * v, x, w) - grad(b - h * v, x, w)) / (2 * h)
    np.testing.assert_allclose(srcad.hvp(f, (b, x, w), v), want, rtol=1e-5, atol=1e-7)
    hess = srcad.hessian(f)(b, x, w)
    np.testing.assert_allclose(hess @ v, want, rtol=1e-5, atol=1e-7)


def test_jacobian_of_a_vector_output(rng):
    def f(b, x):
        return np.sum(np.sin(x + b), axis=1)

    x, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    for mode in ("forward", "reverse"):
        jac = srcad.jacobian(f, mode=mode)(b, x)
        for k in range(3):
            e = np.zeros(3)
            e[k] = 1.0
            want = central(f, (b, x), 0, e)
            np.testing.assert_allclose(jac[:, k], want, rtol=1e-6, atol=1e-8)


# ----------------------------------- lengths a top-level broadcast shows to be one length

XS = np.linspace(-1.0, 1.0, 6)


def projected(m, d):
    d0 = np.exp(-1.5 * (XS - m) ** 2)
    r = d - np.sum(d * d0) / np.sum(d0 * d0) * d0
    return 0.5 * np.sum(r ** 2)


def test_a_broadcast_makes_two_lengths_one(rng):
    """``d * d0`` (``d`` an argument, ``d0`` shaped like the module's ``XS``) needs
    ``len(d) == len(XS)``: the cotangent of ``np.sum(d * d0)`` stays a number times ``d``,
    not an array expanded from it."""
    d = rng.standard_normal(6)
    src = srcad.source(projected, 0.3, d)
    assert "reduce_expand" not in src and "unbroadcast" not in src, src
    fd_check(projected, (0.3, d), 0, rng)
    fd_check(projected, (0.3, d), 1, rng)


def in_a_branch(x, y, flag):
    """``x + y`` runs only when ``flag > 0``: it says nothing of the shapes otherwise."""
    if flag > 0:
        t = x + y
    else:
        t = 2.0 * x
    return np.sum(t * x) + np.sum(y * y) * np.sum(x)


@pytest.mark.parametrize("yshape, flag", [((3,), 1), ((3,), -1), ((4,), -1), ((1,), 1)])
def test_a_broadcast_in_a_branch_proves_nothing(rng, yshape, flag):
    x, y = rng.standard_normal(3), rng.standard_normal(yshape)
    d = srcad.differentiate(in_a_branch, wrt=("x", "y"))
    assert_grad_matches(d, (x, y, flag), rng)

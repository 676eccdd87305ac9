"""The numba twins of the elementwise, shape and product kernels (srcad/numba_kernels.py)
and of the reductions along axes added with them (products, variances, deviations).

Each twin is compared with the NumPy kernel it stands for, on layouts and axes chosen to
catch an index slip (non-contiguous inputs, negative and tuple axes, ties, zeros); each
function below is compiled with the backend required (``backend="numba"``: a refusal
raises), checked against central differences in both modes and against the NumPy
backend. A construct without a twin is refused at the user's line, naming the helper.
"""
import numba
import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward, need_numba

need_numba()

from srcad import numba_axes, numba_kernels as K, numba_runtime, runtime  # noqa: E402
from srcad.kernels import broadcast, elementwise, linalg, norms, reductions, shapes  # noqa: E402


@numba.njit
def _flip(a, axis):
    return K.flip_axes(a, axis)


def test_flip_gives_numpys_values(rng):
    a = rng.standard_normal((3, 4, 2))
    for view in (a, a.transpose(2, 0, 1), a[:, ::2]):
        for axis in (None, 0, 1, -1, (0, 2), (2, 0), (0, 1, 2)):
            np.testing.assert_array_equal(_flip(view, axis), np.flip(view, axis))


def test_reshapes_and_transposes_give_numpys_values(rng):
    @numba.njit
    def shaped(a, t):
        return (K.reshape_c(a, (4, 6), "C"), K.array_reshape(a, 6, 4),
                K.array_reshape(a, (2, 12)),
                K.shape_tangent(t, a, K.reshape_c(a, (4, 6), "C"), "C"),
                K.shape_transpose_back(a.transpose(1, 2, 0), a, (1, 2, 0)),
                K.shape_transpose_tangent(t, a, (-1, 0, 1)),
                K.shape_transpose_back(a.T, a, None))

    a = rng.standard_normal((2, 3, 4)).transpose(0, 2, 1)        # not contiguous
    t = rng.standard_normal((2, 4, 3))
    want = (np.reshape(a, (4, 6)), a.reshape(6, 4), a.reshape((2, 12)),
            shapes.shape_tangent(t, a, a.reshape(4, 6)),
            shapes.shape_transpose_back(a.transpose(1, 2, 0), a, (1, 2, 0)),
            shapes.shape_transpose_tangent(t, a, (-1, 0, 1)),
            shapes.shape_transpose_back(a.T, a, None))
    for got, w in zip(shaped(a, t), want, strict=True):
        np.testing.assert_array_equal(got, w)


def test_weights_and_masks_give_numpys_values(rng):
    @numba.njit
    def masks(a, b):
        return (K.clip_inside(a, -0.5, None), K.clip_inside(a, None, 0.5),
                K.clip_inside(a, -0.5, 0.5), K.clip_outside(a, 0.5, False),
                K.clip_outside(a, -0.5, True), K.norm_weights(a, np.linalg.norm(a), None,
                                                              None, False),
                K.norm_weights(a * 0.0, 0.0, None, None, False))

    a = np.round(rng.standard_normal((3, 4)), 1)
    a[0, :2] = [0.5, -0.5]                                        # on the bounds
    want = (elementwise.clip_inside(a, -0.5, None), elementwise.clip_inside(a, None, 0.5),
            elementwise.clip_inside(a, -0.5, 0.5), elementwise.clip_outside(a, 0.5, False),
            elementwise.clip_outside(a, -0.5, True),
            norms.norm_weights(a, np.linalg.norm(a), None, None, False),
            norms.norm_weights(a * 0.0, 0.0, None, None, False))
    for got, w in zip(masks(a, a), want, strict=True):       # (the norms round apart)
        np.testing.assert_allclose(got, w, rtol=1e-14, atol=0)


@pytest.mark.parametrize("sa, sb", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                                    ((4,), (4,))])
def test_products_give_numpys_cotangents_and_tangents(sa, sb, rng):
    @numba.njit
    def terms(g, a, b, da, db, y):
        return (K.matmul_back_a(g, a, b), K.matmul_back_b(g, a, b),
                K.matmul_tangent_a(da, a, b, y), K.matmul_tangent_b(db, a, b, y))

    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    y = a @ b
    g = rng.standard_normal(np.shape(y)) if np.ndim(y) else 0.7
    da, db = rng.standard_normal(sa), rng.standard_normal(sb)
    want = (linalg.matmul_back_a(g, a, b), linalg.matmul_back_b(g, a, b),
            linalg.matmul_tangent_a(da, a, b, y), linalg.matmul_tangent_b(db, a, b, y))
    for got, w in zip(terms(g, a, b, da, db, y), want, strict=True):
        np.testing.assert_allclose(got, w, rtol=1e-13, atol=1e-14)


def test_product_and_spread_weights_give_numpys_values(rng):
    @numba.njit
    def weights(a, axis):
        return (numba_axes.prod_others(a, axis), numba_axes.var_weights(a, axis, 1),
                numba_axes.std_weights(a, numba_axes.std_axes(a, axis, 0), axis, 0,
                                       False))

    a = rng.uniform(0.5, 1.5, (3, 4, 2))
    a[1, 2, 0] = 0.0                                              # a zero in the product
    a[2] = 0.75                                                   # a flat slice: std 0
    for axis in (0, -1, (0, 2), (2, 1), (0, 1, 2)):
        y = np.std(a, axis=axis)
        want = (reductions.prod_others(a, axis), reductions.var_weights(a, axis, 1),
                reductions.std_weights(a, y, axis, 0, False))
        for got, w in zip(weights(a, axis), want, strict=True):
            np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- end to end

def shaped(x):
    return np.sum(np.reshape(x, (4, 3)) ** 2 * np.arange(12.0).reshape(4, 3)) \
        + np.sum(x.T.reshape((6, 2)) ** 3) + np.sum(x.reshape(2, 6) * x.reshape((2, 6)))


def flipped(x):
    return np.sum(np.flip(x, 1) * x) + np.sum(np.flip(x) * x ** 2) \
        + np.sum(np.flip(x, (0, -1)) ** 3) + np.linalg.norm(x)


def products(a, b, v):
    return np.sum((a @ b) ** 2) + np.sum(np.transpose(a) @ (a @ v)) + v @ v


def attention(q, k, v):
    s = q @ k.T / np.sqrt(q.shape[1])
    a = np.exp(s - np.max(s, axis=-1, keepdims=True))
    return np.sum((a / a.sum(axis=-1, keepdims=True) @ v) ** 2)


@pytest.mark.parametrize("fn, shapes_, wrt", [
    (shaped, [(3, 4)], 0), (flipped, [(3, 4)], 0), (products, [(3, 4), (4, 2), (4,)], (0, 1, 2)),
    (attention, [(4, 3), (5, 3), (5, 2)], (0, 1, 2)),
])
def test_compiled_and_agreeing(numba_default, fn, shapes_, wrt, rng):
    args = tuple(rng.uniform(-1.5, 1.5, s) for s in shapes_)
    fd_check(fn, args, wrt, rng)                  # (SRCAD_BACKEND=numba: compiled or raises)
    fd_check_forward(fn, args, wrt, rng)
    f = srcad.differentiate(fn, wrt=wrt, backend="numba")
    assert f._specialise("vjp", args).__srcad_backend__ == "numba"
    got, want = f.grad(*args), srcad.grad(fn, wrt=wrt, backend="numpy")(*args)
    got, want = (got, want) if isinstance(wrt, tuple) else ((got,), (want,))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    outs = tuple(np.full(np.shape(args[p]), np.nan) for p in positions)
    into = f.grad(*args, out=outs if isinstance(wrt, tuple) else outs[0])
    for g, o, w in zip(into if isinstance(wrt, tuple) else (into,), outs, want, strict=True):
        assert g is o
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)


def sliced_flat(x):
    return np.sum(x.reshape(-1)[:2] ** 2)


def tiled(x):
    return np.sum(np.tile(x, 2)[:3] ** 2)


def test_a_helper_without_a_twin_is_named_at_the_users_line(rng):
    f = srcad.differentiate(tiled, backend="numba")
    with pytest.raises(srcad.TransformError) as info:
        f.grad(rng.standard_normal(5))
    e = info.value
    assert e.filename == __file__ and e.lineno == tiled.__code__.co_firstlineno + 1
    assert "`gather_index`, which has no numba twin" in e.why


def test_a_slice_of_a_flat_view_adds_its_cotangent_in_place(rng):
    """``x.reshape(-1)[:2]``: the cotangent of a slice is added into the flat view's
    (``item_acc``'s twin), then reshaped back."""
    x = rng.standard_normal((3, 4))
    fd_check(sliced_flat, (x,), 0, rng)
    f = srcad.differentiate(sliced_flat, backend="numba")
    np.testing.assert_allclose(f.grad(x), srcad.grad(sliced_flat, backend="numpy")(x),
                               rtol=1e-14)
    assert f._specialise("vjp", (x,)).__srcad_backend__ == "numba"


def shifted_rows(x, y):
    """A tangent of one row broadcast against a full array (seed 51 of the fuzzer: the
    twin of ``full_tangent`` raised where NumPy broadcasts)."""
    v = np.log(np.cosh(((y * np.ones((x.shape[0], 3))) - x[:, None]).T))
    if y > 0.2:
        return np.mean(x * x) + np.sum(v) + y
    return np.mean(v * v) + np.sum(np.sin(x)) + y


@pytest.mark.parametrize("y", [0.3, -0.8])
def test_a_tangent_broadcast_along_unit_axes(numba_default, rng, y):
    args = (rng.uniform(-1, 1, 3), y)
    fd_check_forward(shifted_rows, args, 0, rng)  # (its branches' cotangents: NumPy code)
    f = srcad.differentiate(shifted_rows, backend="numba")
    assert f._specialise("jvp", args).__srcad_backend__ == "numba"


@numba.njit
def _broadcast_twins(dx, x, y, out, g):
    return (numba_runtime.broadcast_tangent(dx, x, y), numba_runtime.unbroadcast_into(out, g, x),
            numba_runtime.unbroadcast_into(out, 1.5, x))


def test_broadcasting_twins_give_what_numpy_gives_where_shapes_differ(rng):
    """A tangent of a (1, 4) operand broadcast to (3, 4), and a cotangent asked into a
    buffer of another shape: the NumPy kernels broadcast and give a new value; their twins
    did not (they raised)."""
    x, y = rng.standard_normal((1, 4)), rng.standard_normal((3, 4))
    dx, g = rng.standard_normal((1, 4)), rng.standard_normal((3, 4))
    got = _broadcast_twins(dx, x, y, np.empty((3, 4)), g)
    want = (broadcast.broadcast_tangent(dx, x, y), broadcast.unbroadcast_into(None, g, x),
            broadcast.unbroadcast_into(None, 1.5, x))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, np.broadcast_to(b, np.shape(a)), rtol=1e-15)
        assert np.shape(a) == (np.shape(b) if np.ndim(b) else x.shape)


@numba.njit
def _picked(c, x, rows, cols, g):
    return numba_runtime.item_acc(c, x, (rows, cols), g)


def test_cotangents_of_picked_entries_add_up_as_add_at(rng):
    """``x[rows, cols]`` with an entry picked twice and a negative index: each pick's
    cotangent is added (``np.add.at``), into a fresh array or onto a given cotangent."""
    x = rng.standard_normal((4, 3))
    rows, cols = np.array([0, 1, 1, 3, 2, 1]), np.array([2, 0, 0, -1, 1, -3])
    g = rng.standard_normal(6)
    for c in (0.0, rng.standard_normal((4, 3))):
        fresh = (lambda: c) if isinstance(c, float) else c.copy
        want = runtime.item_acc(fresh(), x, (rows, cols), g)
        np.testing.assert_allclose(_picked(fresh(), x, rows, cols, g), want, rtol=1e-15)


@pytest.mark.parametrize("sa, sb", [((), (4,)), ((4,), ()), ((), ()), ((4,), (4,)),
                                    ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)),
                                    ((3, 4), ())])
def test_dots_give_numpys_cotangents_and_tangents(sa, sb, rng):
    """``np.dot``'s twins against its NumPy kernels: products by a number (either side,
    the number's cotangent summed), vectors, matrices (srcad/numba_matrices.py)."""
    from srcad import numba_matrices as M

    @numba.njit
    def terms(g, a, b, da, db, y):
        return (M.dot_back_a(g, a, b), M.dot_back_b(g, a, b),
                M.dot_tangent_a(da, a, b, y), M.dot_tangent_b(db, a, b, y))

    def value(s):
        return rng.standard_normal(s) if s else float(rng.standard_normal())

    a, b, da, db = value(sa), value(sb), value(sa), value(sb)
    y = np.dot(a, b)
    g = rng.standard_normal(np.shape(y)) if np.ndim(y) else 0.7
    want = (linalg.dot_back_a(g, a, b), linalg.dot_back_b(g, a, b),
            linalg.dot_tangent_a(da, a, b, y), linalg.dot_tangent_b(db, a, b, y))
    for got, w in zip(terms(g, a, b, da, db, y), want, strict=True):
        assert np.shape(got) == np.shape(w)
        np.testing.assert_allclose(got, w, rtol=1e-13, atol=1e-14)


def powers(x, M):
    v = x
    s = 0.0
    for _ in range(4):
        v = np.dot(M, v)
        s = s + np.dot(v, v) + 0.5 * v[0]
    return s


def test_dot_in_a_loop_compiles_and_agrees(numba_default, rng):
    from conftest import numba_agrees
    args = (rng.standard_normal(3), 0.5 * rng.standard_normal((3, 3)))
    numba_agrees(powers, args, (0, 1), rng, 1e-11, 1e-12)

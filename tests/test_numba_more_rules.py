"""Rules whose cotangents the numba backend compiles since they got twins or a quieter
compile: each checked against central differences and against the NumPy backend (to
rounding), float32 kept where the NumPy backend keeps it."""
import warnings

import numpy as np
import pytest

import srcad
from conftest import fd_check_forward, need_numba

need_numba()


def angle(x, y):
    return np.sum(np.arctan2(x, y) * x)


def radius(x, y):
    return np.sum(np.hypot(x, y) ** 2 + np.hypot(x, 2.0))


def solved(A, b):
    return np.sum(np.linalg.solve(A, b) ** 2)


def _both(fn, args, wrt, rng, rtol=1e-12):
    """``grad`` under numba (compiled, not the NumPy code) against central differences
    along a random direction per argument, and against the NumPy backend to rounding.
    (Its own difference check, not conftest's ``fd_check``: that one also compiles the
    pullback, a second numba core of some seconds per function.)"""
    f = srcad.differentiate(fn, wrt=wrt, backend="numba")
    got = f.grad(*args)
    want = srcad.differentiate(fn, wrt=wrt, backend="numpy").grad(*args)
    positions = (wrt,) if isinstance(wrt, int) else wrt
    if isinstance(wrt, int):
        got, want = (got,), (want,)
    eps = 1e-6
    for k, g in zip(positions, got, strict=True):
        v = rng.standard_normal(np.shape(args[k]))
        up = [a + eps * v if i == k else a for i, a in enumerate(args)]
        down = [a - eps * v if i == k else a for i, a in enumerate(args)]
        slope = (fn(*up) - fn(*down)) / (2 * eps)
        assert np.sum(g * v) == pytest.approx(slope, rel=1e-6, abs=1e-8)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * np.max(np.abs(w)))
    assert f._specialise("vjp", args).__srcad_backend__ == "numba"   # compiled


@pytest.mark.parametrize("fn", [angle, radius])
def test_arctan2_and_hypot_compile(rng, fn):
    x, y = rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, (3, 4))
    _both(fn, (x, y), (0, 1), rng)


def test_arctan2_keeps_float32(rng):
    x, y = rng.standard_normal(6).astype(np.float32), rng.uniform(1, 2, 6).astype(np.float32)
    f = srcad.differentiate(angle, wrt=(0, 1), backend="numba")
    got = f.grad(x, y)
    want = srcad.differentiate(angle, wrt=(0, 1), backend="numpy").grad(x, y)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.float32 == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-5)


def test_hypot_at_the_origin_agrees_with_the_numpy_backend():
    x, y = np.array([0.0, 3.0]), np.array([0.0, 4.0])
    got = srcad.differentiate(radius, wrt=(0, 1), backend="numba").grad(x, y)
    want = srcad.differentiate(radius, wrt=(0, 1), backend="numpy").grad(x, y)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_numba_performance_warnings_do_not_stop_the_compile_under_error_filters(rng):
    """The cotangent of ``solve`` multiplies transposed views (numba warns that ``@`` is
    faster on contiguous arrays): code srcad wrote, compiled even where the user turned
    warnings into errors. (Its derivative is checked against central differences under
    numba in tests/test_numba_scans.py, ``evidence``; here, that it compiles and agrees.)"""
    A = rng.standard_normal((4, 4)) + 4.0 * np.eye(4)
    b = rng.standard_normal(4)
    f = srcad.differentiate(solved, wrt=(0, 1), backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = f.grad(A, b)
    want = srcad.differentiate(solved, wrt=(0, 1), backend="numpy").grad(A, b)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    assert f._specialise("vjp", (A, b)).__srcad_backend__ == "numba"


def test_the_permutation_twins_give_the_kernels_permutations():
    import numba
    from srcad import numba_perms
    from srcad.kernels import shapes

    @numba.njit
    def swap(i, j, n):
        return numba_perms.shape_swap_perm(i, j, n)

    @numba.njit
    def move(s, d, n):
        return numba_perms.shape_move_perm(s, d, n)

    for n in range(1, 5):
        for i in range(-n, n):
            for j in range(-n, n):
                assert tuple(swap(i, j, n)) == shapes.shape_swap_perm(i, j, n)
                assert tuple(move(i, j, n)) == shapes.shape_move_perm(i, j, n)


def swapped(A):
    return np.sum(np.swapaxes(A, 0, -1)[1] ** 2 * np.arange(A.shape[1] * 1.0)[:, None]) \
        + np.sum(A.transpose(2, 0, 1)[0] ** 3)


def moved(A):
    return np.sum(np.sin(np.moveaxis(A, -1, 0)[0]) * A.transpose((1, 0, 2))[:, :, 0].T)


def turned(A):
    return np.sum(np.moveaxis(A, 1, -1)[:, 0, :] * A.transpose()[0].T)


@pytest.mark.parametrize("fn", [swapped, moved, turned])
def test_swapaxes_moveaxis_and_transpose_compile(rng, fn):
    A = rng.standard_normal((3, 4, 2))
    _both(fn, (A,), 0, rng)
    if fn is turned:                    # the tangents: the same twins, forward
        fd_check_forward(srcad.differentiate(fn, backend="numba"), (A,), 0, rng)


def test_moveaxis_of_several_axes_is_left_to_numpy(rng):
    def several(A):
        return np.sum(np.moveaxis(A, (0, 1), (2, 0))[0] ** 2)

    A = rng.standard_normal((2, 3, 4))
    with pytest.raises(srcad.TransformError, match="numba"):
        srcad.differentiate(several, backend="numba").grad(A)
    with pytest.warns(RuntimeWarning, match="srcad"):
        got = srcad.differentiate(several, backend="auto").grad(A)
    np.testing.assert_allclose(got, srcad.differentiate(several, backend="numpy").grad(A))


def trimmed(x):
    s = np.sort(x)
    return np.sum(s[1:-1] ** 2 * np.arange(1.0, x.shape[0] - 1.0))


def test_sort_of_a_vector_compiles(rng):
    x = rng.permutation(12) + rng.uniform(0.0, 0.5, 12)     # entries apart: no ties
    _both(trimmed, (x,), 0, rng)
    fd_check_forward(srcad.differentiate(trimmed, backend="numba"), (x,), 0, rng)


def test_sort_with_ties_nan_and_float32_agrees_with_the_numpy_backend():
    f = srcad.differentiate(trimmed, backend="numba")
    plain = srcad.differentiate(trimmed, backend="numpy")
    for x in (np.array([2.0, 1.0, 2.0, 0.5, 1.0, 3.0]),
              np.array([2.0, np.nan, -np.inf, 1.0, 2.0, 0.0]),
              np.array([3.0, 1.0, 2.0, 1.0, 0.0], dtype=np.float32)):
        got, want = f.grad(x), plain.grad(x)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_sort_of_a_matrix_is_left_to_numpy(rng):
    def rows(A):
        return np.sum(np.sort(A, axis=1)[:, 0] ** 2)

    with pytest.raises(srcad.TransformError, match="numba"):
        srcad.differentiate(rows, backend="numba").grad(rng.standard_normal((3, 4)))

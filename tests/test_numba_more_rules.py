"""Rules whose cotangents the numba backend compiles since they got twins or a quieter
compile: each checked against central differences and against the NumPy backend (to
rounding), float32 kept where the NumPy backend keeps it."""
import warnings

import numpy as np
import pytest

import srcad
from conftest import fd_check, need_numba

need_numba()


def angle(x, y):
    return np.sum(np.arctan2(x, y) * x)


def radius(x, y):
    return np.sum(np.hypot(x, y) ** 2 + np.hypot(x, 2.0))


def solved(A, b):
    return np.sum(np.linalg.solve(A, b) ** 2) + np.sum(np.linalg.inv(A) * A)


def _both(fn, args, wrt, rng, rtol=1e-12):
    f = srcad.differentiate(fn, wrt=wrt, backend="numba")
    fd_check(f, args, wrt, rng)
    got = f.grad(*args)
    want = srcad.differentiate(fn, wrt=wrt, backend="numpy").grad(*args)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * np.max(np.abs(w)))
    assert f._hot["vjp"].__srcad_backend__ == "numba"       # compiled, not the NumPy code


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
    """The cotangent of ``solve``/``inv`` multiplies transposed views (numba warns that
    ``@`` is faster on contiguous arrays): code srcad wrote, compiled even where the user
    turned warnings into errors."""
    A = rng.standard_normal((4, 4)) + 4.0 * np.eye(4)
    b = rng.standard_normal(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _both(solved, (A, b), (0, 1), rng, rtol=1e-10)

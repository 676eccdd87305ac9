"""The numba backend on cumulative sums and products along axes, traces and diagonals,
and ``np.matmul`` spelled out: the twins of srcad/numba_scans.py and
srcad/numba_matrices.py against the NumPy kernels they stand for (every axis, negative
axes, flattened, zeros in a product, strided inputs), then functions written as users
write them, against central differences in both modes with ``backend="numba"``
required, and against the NumPy backend to rounding.
"""
import numpy as np
import pytest
from conftest import need_numba, numba_agrees

need_numba()

import numba  # noqa: E402

from srcad import numba_matrices as D, numba_scans as S  # noqa: E402
from srcad.kernels import linalg as L, reductions as R  # noqa: E402


@numba.njit
def _scans(a, axis):
    return S.cumsum_axes(a, axis), S.cumprod_axes(a, axis)


@numba.njit
def _scan_backs(g, a, y, axis):
    return S.cumsum_back(g, a, axis), S.cumprod_back(g, a, y, axis)


@numba.njit
def _scan_tangents(d, a, y, axis):
    return S.cumsum_tangent(d, a, axis), S.cumprod_tangent(d, a, y, axis)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_scan_twins_match_the_numpy_kernels(shape, rng):
    a = rng.uniform(-1.5, 1.5, shape)
    a.flat[3] = 0.0                     # a zero: the product's cotangent needs no quotient
    views = [a, np.repeat(a, 2, axis=-1)[..., ::2]]        # C-ordered and strided
    for x in views:
        for axis in [None, *range(-len(shape), len(shape))]:
            cs, cp = _scans(x, axis)
            np.testing.assert_allclose(cs, np.cumsum(x, axis), rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(cp, np.cumprod(x, axis), rtol=1e-13, atol=1e-15)
            g = rng.standard_normal(cs.shape)
            b1, b2 = _scan_backs(g, x, cp, axis)
            np.testing.assert_allclose(b1, R.cumsum_back(g, x, axis), rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(b2, R.cumprod_back(g, x, cp, axis), rtol=1e-12,
                                       atol=1e-14)
            d = rng.standard_normal(shape)
            t1, t2 = _scan_tangents(d, x, cp, axis)
            np.testing.assert_allclose(t1, R.cumsum_tangent(d, x, axis), rtol=1e-12,
                                       atol=1e-14)
            np.testing.assert_allclose(t2, R.cumprod_tangent(d, x, cp, axis), rtol=1e-12,
                                       atol=1e-14)


@numba.njit
def _trace_twins(g, a, d, offset, axis1, axis2):
    return D.trace_back(g, a, offset, axis1, axis2), D.trace_tangent(d, a, offset, axis1, axis2)


@numba.njit
def _diag_twins(g, v, d, k):
    return D.diag_back(g, v, k), D.diag_tangent(d, v, k)


def test_diagonal_twins_match_the_numpy_kernels(rng):
    for shape in [(3, 4), (4, 3), (4, 4)]:
        a = rng.standard_normal(shape)
        for offset in range(-4, 5):
            for axes in [(0, 1), (1, 0), (-2, -1), (-1, 0)]:
                d = rng.standard_normal(shape)
                back, tan = _trace_twins(1.7, a, d, offset, *axes)
                np.testing.assert_allclose(back, L.trace_back(1.7, a, offset, *axes))
                np.testing.assert_allclose(tan, L.trace_tangent(d, a, offset, *axes),
                                           atol=1e-14)
            g = rng.standard_normal(np.diag(a, offset).shape)
            back, tan = _diag_twins(g, a, rng.standard_normal(shape), offset)
            np.testing.assert_allclose(back, L.diag_back(g, a, offset))
    for n in (1, 4):
        v = rng.standard_normal(n)
        for k in range(-3, 4):
            g = rng.standard_normal(np.diag(v, k).shape)
            dv = rng.standard_normal(n)
            back, tan = _diag_twins(g, v, dv, k)
            np.testing.assert_allclose(back, L.diag_back(g, v, k))
            np.testing.assert_allclose(tan, L.diag_tangent(dv, v, k))


def discounted(r, gamma):
    """A discounted return-to-go and a running mean (cumulative sums)."""
    w = gamma ** np.arange(r.shape[1])
    togo = np.cumsum((r * w)[:, ::-1], axis=1)[:, ::-1]
    run = np.cumsum(r, axis=-1) / np.arange(1, r.shape[1] + 1)
    return np.sum(togo ** 2) + np.sum(np.sin(run))


def survival(p):
    """Survival curves from per-step probabilities (cumulative products, a zero among them)."""
    s = np.cumprod(1.0 - p, axis=1)
    return np.sum(s * np.log1p(p)) + np.sum(p.cumprod(0) ** 2) + np.prod(np.cumsum(p)[:3])


def regularised(W, x):
    """A trace penalty and a diagonal prior beside a product written with np.matmul."""
    h = np.tanh(np.matmul(W, x))
    return np.sum(h ** 2) + 0.1 * np.trace(W.T @ W) + np.sum(np.diag(W, 1) ** 2) \
        + np.sum(np.diag(x) @ x)


def evidence(A, y):
    """A Gaussian negative log-likelihood: a solve and a log-determinant of one matrix."""
    K = A @ A.T + np.eye(A.shape[0])
    return 0.5 * (y @ np.linalg.solve(K, y)) + 0.5 * np.log(np.linalg.det(K)) \
        + 0.01 * np.sum(np.linalg.inv(K))


def classifier(W1, b1, W2, X, labels):
    """A ReLU network's negative log-likelihood, the labels' log-probabilities picked
    with an index array per axis (their cotangents added back as ``np.add.at`` does)."""
    z = np.maximum(X @ W1 + b1, 0.0) @ W2
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), labels])


def _cases(rng):
    p = rng.uniform(0.05, 0.9, (3, 5))
    p[1, 2] = 1.0                       # 1 - p is 0 there: a zero in the product
    return {"discounted": (discounted, (rng.uniform(-1, 1, (3, 6)), 0.9), (0, 1)),
            "survival": (survival, (p,), 0),
            "regularised": (regularised, (rng.uniform(-0.5, 0.5, (4, 4)),
                                          rng.uniform(-1, 1, 4)), (0, 1)),
            "evidence": (evidence, (rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, 4)), (0, 1)),
            "classifier": (classifier, (rng.uniform(-1, 1, (3, 5)), rng.uniform(0, 0.5, 5),
                                        rng.uniform(-1, 1, (5, 3)), rng.uniform(-1, 1, (7, 3)),
                                        np.array([0, 2, 2, 1, 0, 2, 1])), (0, 1, 2))}


@pytest.mark.parametrize("name", ["discounted", "survival", "regularised", "evidence",
                                  "classifier"])
def test_user_functions_compile_and_agree(numba_default, name, rng):
    fn, args, wrt = _cases(rng)[name]
    numba_agrees(fn, args, wrt, rng, 1e-11, 1e-13)

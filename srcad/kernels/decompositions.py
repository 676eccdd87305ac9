"""Kernels for the rules of matrix decompositions (srcad.transforms.rules.numpy_decompositions):
``svd``, ``eigh``, ``slogdet``. Their results are tuples: ``cot_items`` makes the cotangent
of each item an array (an unused item's cotangent is the number 0.0). Forward kernels keep a
vector-mode axis of directions in front."""
import numpy as np

from srcad.errors import unsupported_here
from srcad.kernels.broadcast import tangent_lead


def cot_items(g, y):
    """The cotangent of each item of the tuple ``y``, as arrays shaped like the items."""
    items = g if isinstance(g, (list, tuple)) else [g] * len(y)
    return [np.broadcast_to(gi, np.shape(yi)) if np.ndim(gi) == 0 else gi
            for gi, yi in zip(items, y, strict=True)]


def gap_inverse(d):
    """``1 / d``, 0 where ``d`` is 0 (the diagonal of the differences of distinct values)."""
    zero = d == 0
    return np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, d))


def _t(m):
    return np.swapaxes(m, -1, -2)


def svd_cots(g, y, d, full_matrices, compute_uv):
    """The cotangents of ``U``, ``s``, ``Vh`` of ``np.linalg.svd``, as those of the reduced
    factors ``d`` (their columns' signs as ``d`` has them); zeros for ``U``, ``Vh`` when
    only the singular values were computed."""
    if not compute_uv:
        return [np.zeros(np.shape(d[0])), g, np.zeros(np.shape(d[2]))]
    m, n = np.shape(y[0])[-1], np.shape(y[2])[-2]
    if full_matrices and m != n:
        raise unsupported_here("the derivative of np.linalg.svd's U and Vh of a non-square "
                               "matrix is defined for full_matrices=False only")
    gu, gs, gvt = cot_items(g, y)
    flip = np.sign(np.sum(y[0] * d[0], axis=-2))          # +1 or -1 per column
    return [gu * flip[..., None, :], gs, gvt * flip[..., :, None]]


def svd_tangent(da, a, y, full_matrices, compute_uv):
    """The tangent of ``np.linalg.svd(a)`` (of its singular values, or of all three)."""
    lead = tangent_lead(da, a)
    if lead:
        parts = [svd_tangent(d, a, y, full_matrices, compute_uv) for d in da]
        if not compute_uv:
            return np.stack(parts)
        return tuple(np.stack(p) for p in zip(*parts, strict=True))
    u, s, vt = np.linalg.svd(a, full_matrices=False) if not compute_uv else y
    if compute_uv and full_matrices and np.shape(a)[-1] != np.shape(a)[-2]:
        svd_cots(0.0, y, y, full_matrices, compute_uv)       # refused: not unique
    v = _t(vt)
    ds_mat = _t(u) @ da @ v
    ds = np.diagonal(ds_mat, axis1=-2, axis2=-1)
    if not compute_uv:
        return ds
    f = gap_inverse(s[..., None, :] ** 2 - s[..., :, None] ** 2)
    du = u @ (f * (ds_mat * s[..., None, :] + s[..., :, None] * _t(ds_mat)))
    dv = v @ (f * (s[..., :, None] * ds_mat + _t(ds_mat) * s[..., None, :]))
    m, n = np.shape(a)[-2:]
    if m > n:
        dav = da @ v
        du = du + (dav - u @ (_t(u) @ dav)) / s[..., None, :]
    if n > m:
        dau = _t(da) @ u
        dv = dv + (dau - v @ (vt @ dau)) / s[..., None, :]
    return (du, ds, _t(dv))


def eigh_triangle(m, UPLO):
    """The cotangent of the triangle ``np.linalg.eigh`` reads, from that of the symmetric
    matrix it stands for (the other triangle's entries count twice)."""
    eye = np.eye(np.shape(m)[-1])
    sym = m + _t(m)
    lower = str(UPLO).upper() == "L"
    return (np.tril(sym, -1) if lower else np.triu(sym, 1)) + m * eye


def eigh_tangent(da, a, y, UPLO):
    """The tangent ``(dw, dv)`` of ``np.linalg.eigh(a)``."""
    lower = str(UPLO).upper() == "L"
    tri = np.tril(da, -1) if lower else np.triu(da, 1)
    ds = tri + _t(tri) + da * np.eye(np.shape(a)[-1])
    w, v = y
    vdv = _t(v) @ ds @ v
    f = gap_inverse(w[..., None, :] - w[..., :, None])
    return (np.diagonal(vdv, axis1=-2, axis2=-1), v @ (f * vdv))


def slogdet_tangent(da, a, y):
    """The tangent ``(0, trace(solve(a, da)))`` of ``np.linalg.slogdet(a)``."""
    lead = tangent_lead(da, a)
    t = np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)
    return (np.zeros(lead + np.shape(y[0])), t)


def pinv_tangent(da, a, p):
    """The tangent of ``p = np.linalg.pinv(a)`` where the rank does not change."""
    dat = _t(da)
    return -(p @ da @ p) + (p @ _t(p)) @ (dat - (dat @ a) @ p) + (dat - p @ (a @ dat)) @ (_t(p) @ p)


def cholesky_lower(g, upper):
    """``g``, once the factor is the lower one (``upper=True`` has no rule)."""
    if upper:
        raise unsupported_here("np.linalg.cholesky with upper=True has no derivative rule; "
                               "take the transpose of the lower factor")
    return g


def cholesky_tangent(da, a, lower):
    """The tangent ``L phi(L^-1 dS L^-T)`` of ``L = cholesky(a)``, ``dS`` the symmetric
    matrix of the lower triangle of ``da`` (``phi``: the lower triangle, half the diagonal)."""
    eye = np.eye(np.shape(a)[-1])
    tri = np.tril(da, -1)
    li = np.linalg.inv(lower)
    x = li @ (tri + _t(tri) + da * eye) @ _t(li)
    return lower @ (np.tril(x) - 0.5 * x * eye)

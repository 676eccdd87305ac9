"""Derivative rules for matrix decompositions and the functions built on them:
``np.linalg.svd``, ``svdvals``, ``eigh``, ``eigvalsh``, ``cholesky``, ``slogdet``, ``pinv``
(real matrices, stacks allowed).

The reverse rules are written with functions that have rules (``svd``, ``inv``, ``pinv``,
``@``), so they can be differentiated again. ``svd``'s ``U``/``Vh`` and ``eigh``'s
eigenvectors need distinct singular values / eigenvalues (their derivatives divide by the
gaps); ``svd`` of a non-square matrix with ``full_matrices=True`` (the default) gives
derivatives of the singular values only. ``eigh`` reads one triangle (``UPLO``) and
``cholesky`` the lower one, so the other triangle gets no cotangent. ``slogdet``'s sign is
piecewise constant. ``pinv``'s derivative holds where the rank does not change.
"""
import numpy as np

from srcad.transforms.rules.registry import forward, reverse
from srcad.transforms.rules.templates import scalar_rule
from srcad.kernels.decompositions import (
    cholesky_lower, cholesky_tangent, cot_items, eigh_tangent, eigh_triangle, gap_inverse,
    pinv_tangent, slogdet_tangent, svd_cots, svd_tangent)

scalar_rule(gap_inverse, None, "-(y * y)")


@reverse(np.linalg.svd)
def svd_bar(y, g, a, full_matrices=True, compute_uv=True, hermitian=False):
    d = np.linalg.svd(a, full_matrices=False)
    c = svd_cots(g, y, d, full_matrices, compute_uv)
    s = d[1]
    ut = np.swapaxes(d[0], -1, -2)
    v = np.swapaxes(d[2], -1, -2)
    f = gap_inverse(np.expand_dims(s, -2) ** 2 - np.expand_dims(s, -1) ** 2)
    gu = ut @ c[0]
    gv = d[2] @ np.swapaxes(c[2], -1, -2)
    core = f * (gu - np.swapaxes(gu, -1, -2)) * np.expand_dims(s, -2) + np.expand_dims(
        s, -1) * (f * (gv - np.swapaxes(gv, -1, -2))) + np.expand_dims(c[1], -1) * np.eye(
        np.shape(s)[-1])
    tall = (c[0] - d[0] @ (ut @ c[0])) / np.expand_dims(s, -2)
    wide = (c[2] - (c[2] @ v) @ d[2]) / np.expand_dims(s, -1)
    return (d[0] @ (core @ d[2] + wide) + tall @ d[2],)


@forward(np.linalg.svd)
def svd_dot(y, a, full_matrices=True, compute_uv=True, hermitian=False):
    return (lambda da: svd_tangent(da, a, y, full_matrices, compute_uv),)


@reverse(np.linalg.svdvals)
def svdvals_bar(y, g, x):
    d = np.linalg.svd(x, full_matrices=False)
    return ((d[0] * np.expand_dims(g, -2)) @ d[2],)


@forward(np.linalg.svdvals)
def svdvals_dot(y, x):
    return (lambda dx: svd_tangent(dx, x, y, False, False),)


@reverse(np.linalg.eigh)
def eigh_bar(y, g, a, UPLO="L"):
    c = cot_items(g, y)
    vt = np.swapaxes(y[1], -1, -2)
    f = gap_inverse(np.expand_dims(y[0], -2) - np.expand_dims(y[0], -1))
    m = y[1] @ (f * (vt @ c[1]) + np.expand_dims(c[0], -1) * np.eye(np.shape(y[0])[-1])) @ vt
    return (eigh_triangle(m, UPLO),)


@forward(np.linalg.eigh, vector=False)
def eigh_dot(y, a, UPLO="L"):
    return (lambda da: eigh_tangent(da, a, y, UPLO),)


@reverse(np.linalg.eigvalsh)
def eigvalsh_bar(y, g, a, UPLO="L"):
    e = np.linalg.eigh(a, UPLO)
    return (eigh_triangle((e[1] * np.expand_dims(g, -2)) @ np.swapaxes(e[1], -1, -2), UPLO),)


@forward(np.linalg.eigvalsh, vector=False)
def eigvalsh_dot(y, a, UPLO="L"):
    e = np.linalg.eigh(a, UPLO)
    return (lambda da: eigh_tangent(da, a, e, UPLO)[0],)


@reverse(np.linalg.cholesky)
def cholesky_bar(y, g, a, *, upper=False):
    li = np.linalg.inv(y)
    t = np.swapaxes(y, -1, -2) @ cholesky_lower(g, upper)
    p = np.swapaxes(li, -1, -2) @ (np.tril(t) - 0.5 * t * np.eye(np.shape(t)[-1])) @ li
    return (eigh_triangle(p, "L"),)


@forward(np.linalg.cholesky)
def cholesky_dot(y, a, *, upper=False):
    return (lambda da: cholesky_tangent(cholesky_lower(da, upper), a, y),)


@reverse(np.linalg.slogdet)
def slogdet_bar(y, g, a):
    c = cot_items(g, y)
    return (np.expand_dims(np.expand_dims(c[1], -1), -1) * np.swapaxes(np.linalg.inv(a), -1, -2),)


@forward(np.linalg.slogdet)
def slogdet_dot(y, a):
    return (lambda da: slogdet_tangent(da, a, y),)


@reverse(np.linalg.pinv)
def pinv_bar(y, g, a, rcond=None, hermitian=False, *, rtol=None):
    pt = np.swapaxes(y, -1, -2)
    gt = np.swapaxes(g, -1, -2)
    return (-(pt @ g @ pt) + (gt - a @ (y @ gt)) @ (y @ pt) + (pt @ y) @ (gt - (gt @ y) @ a),)


@forward(np.linalg.pinv)
def pinv_dot(y, a, rcond=None, hermitian=False, *, rtol=None):
    return (lambda da: pinv_tangent(da, a, y),)


# the cotangent kernels are linear in the cotangent: forward rules for second derivatives

@forward(cot_items)
def cot_items_dot(y, g, like):
    return (lambda dg: cot_items(dg, like),)


@forward(svd_cots)
def svd_cots_dot(y, g, like, d, full_matrices, compute_uv):
    return (lambda dg: svd_cots(dg, like, d, full_matrices, compute_uv),)


@forward(cholesky_lower)
def cholesky_lower_dot(y, g, upper):
    return (lambda dg: cholesky_lower(dg, upper),)


@forward(eigh_triangle)
def eigh_triangle_dot(y, m, UPLO):
    return (lambda dm: eigh_triangle(dm, UPLO),)

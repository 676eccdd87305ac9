"""Derivative rules for NumPy functions that reorder, mask or difference entries:
``sort``, ``tril``/``triu``, ``diff``, ``fliplr``/``flipud``, ``atleast_1d``/``2d``/``3d``
and ``matrix_transpose``.

Each is linear in its array (``sort`` once its permutation is fixed), so the
cotangent goes back through the transposed map: ``sort`` puts it back where the
entries came from, ``tril`` keeps the same triangle, ``diff`` takes the negative
difference of the zero-padded cotangent. Forward rules keep a vector-mode
leading axis in front.
"""
import numpy as np

from srcad.kernels.broadcast import tangent_lead, unbroadcast
from srcad.transforms.rules.registry import forward, nondiff, reverse
from srcad.kernels.reorder import (
    atleast_one, diff_back, diff_tangent, flip_tangent, sort_back, sort_order, sort_tangent,
    tri_tangent)

# ---- sort ----------------------------------------------------------------------


@reverse(np.sort)
def sort_bar(y, g, a, axis=-1, kind=None, order=None, *, stable=None):
    return (sort_back(g, a, axis),)


@forward(np.sort)
def sort_dot(y, a, axis=-1, kind=None, order=None, *, stable=None):
    return (lambda da: sort_tangent(da, a, axis),)


# ---- triangles ------------------------------------------------------------------


@reverse(np.tril)
def tril_bar(y, g, m, k=0):
    return (unbroadcast(np.tril(g, k), m),)


@forward(np.tril)
def tril_dot(y, m, k=0):
    return (lambda dm: tri_tangent(dm, m, k, True),)


@reverse(np.triu)
def triu_bar(y, g, m, k=0):
    return (unbroadcast(np.triu(g, k), m),)


@forward(np.triu)
def triu_dot(y, m, k=0):
    return (lambda dm: tri_tangent(dm, m, k, False),)


# ---- differences ----------------------------------------------------------------


@reverse(np.diff)
def diff_bar(y, g, a, n=1, axis=-1, prepend=None, append=None):
    return (diff_back(g, n, axis, prepend, append),)


@forward(np.diff)
def diff_dot(y, a, n=1, axis=-1, prepend=None, append=None):
    return (lambda da: diff_tangent(da, a, n, axis),)


# ---- flips, transposes, added axes --------------------------------------------------


@reverse(np.fliplr)
def fliplr_bar(y, g, m):
    return (np.fliplr(g),)


@forward(np.fliplr)
def fliplr_dot(y, m):
    return (lambda dm: flip_tangent(dm, m, 1),)


@reverse(np.flipud)
def flipud_bar(y, g, m):
    return (np.flipud(g),)


@forward(np.flipud)
def flipud_dot(y, m):
    return (lambda dm: flip_tangent(dm, m, 0),)


@reverse(np.matrix_transpose, np.linalg.matrix_transpose)
def matrix_transpose_bar(y, g, x):
    return (np.swapaxes(g, -1, -2),)


@forward(np.matrix_transpose, np.linalg.matrix_transpose)
def matrix_transpose_dot(y, x):
    return (lambda dx: np.swapaxes(dx, -1, -2),)


@reverse(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_bar(y, g, *arys):
    return (np.reshape(g, np.shape(atleast_one(arys))),)


@forward(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_dot(y, *arys):
    return (lambda da: np.reshape(da, tangent_lead(da, atleast_one(arys)) + np.shape(y)),)


# the cotangent helpers are linear in the cotangent (the permutation and the counts
# are constant): forward rules, so a gradient through sort/diff can be differentiated again
@forward(sort_back, vector=False)
def sort_back_dot(y, g, a, axis):
    return (lambda dg: sort_back(dg, a, axis), None, None)


@forward(diff_back, vector=False)
def diff_back_dot(y, g, n, axis, prepend, append):
    return (lambda dg: diff_back(dg, n, axis, prepend, append), None, None, None, None)


# piecewise-constant helpers (a permutation, a checked argument): zero derivative
nondiff(sort_order, atleast_one)

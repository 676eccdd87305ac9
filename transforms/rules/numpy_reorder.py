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

from transforms.rules.registry import (forward, nondiff, reverse, tangent_lead, unbroadcast,
                                       unsupported_here)

# ---- sort ----------------------------------------------------------------------

def sort_order(a, axis):
    """The permutation np.sort applies (ties: their original order)."""
    if axis is None:
        return np.argsort(np.ravel(a), kind="stable")
    return np.argsort(a, axis=axis, kind="stable")


def sort_back(g, a, axis):
    idx = sort_order(a, axis)
    out = np.zeros(np.shape(a))
    if axis is None:
        out.reshape(-1)[idx] = np.ravel(g)
        return out
    np.put_along_axis(out, idx, g, axis)
    return out


def sort_tangent(d, a, axis):
    lead = tangent_lead(d, a)
    idx = sort_order(a, axis)
    if axis is None:
        return np.reshape(d, lead + (-1,))[..., idx]
    return np.take_along_axis(d, np.broadcast_to(idx, np.shape(d)), axis % np.ndim(a) + len(lead))


@reverse(np.sort)
def sort_bar(y, g, a, axis=-1, kind=None, order=None, *, stable=None):
    return (sort_back(g, a, axis),)


@forward(np.sort)
def sort_dot(y, a, axis=-1, kind=None, order=None, *, stable=None):
    return (lambda da: sort_tangent(da, a, axis),)


# ---- triangles ------------------------------------------------------------------

def tri_tangent(d, m, k, lower):
    """The tangent of ``np.tril(m, k)`` (or ``triu``): a 1-d ``m`` is a row repeated."""
    if np.ndim(m) < 2:
        n = np.shape(m)[-1]
        d = np.broadcast_to(np.expand_dims(d, -2), np.shape(d)[:-1] + (n, n))
    return np.tril(d, k) if lower else np.triu(d, k)


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

def diff_back(g, n, axis, prepend, append):
    if prepend is not None or append is not None:
        raise unsupported_here("np.diff with prepend= or append= has no derivative rule; "
                               "concatenate the values first")
    for _ in range(n):
        g = -np.diff(g, axis=axis, prepend=0.0, append=0.0)
    return g


def diff_tangent(d, a, n, axis):
    lead = tangent_lead(d, a)
    return np.diff(d, n, axis=axis % np.ndim(a) + len(lead))


@reverse(np.diff)
def diff_bar(y, g, a, n=1, axis=-1, prepend=None, append=None):
    return (diff_back(g, n, axis, prepend, append),)


@forward(np.diff)
def diff_dot(y, a, n=1, axis=-1, prepend=None, append=None):
    return (lambda da: diff_tangent(da, a, n, axis),)


# ---- flips, transposes, added axes --------------------------------------------------

def flip_tangent(d, m, axis):
    """``np.flip(d, axis)`` for the tangent ``d`` of ``m`` (a vector-mode axis in front)."""
    return np.flip(d, axis + len(tangent_lead(d, m)))


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


def atleast_one(arys):
    """The single array of ``np.atleast_1d(a)`` (several arrays give a list: refused)."""
    if len(arys) != 1:
        raise unsupported_here("np.atleast_1d/2d/3d of several arrays has no derivative "
                               "rule; call it once per array")
    return arys[0]


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

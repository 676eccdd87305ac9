"""Kernels that generated code calls for the rules in srcad.transforms.rules.numpy_reorder."""
import numpy as np

from srcad.kernels.broadcast import tangent_lead
from srcad.kernels.shapes import seq_array_tangent
from srcad.errors import unsupported_here


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
    if isinstance(a, (list, tuple)):        # a list operand: its entries' tangents, as one array
        d, a = seq_array_tangent(d, a), np.asarray(a)
    lead = tangent_lead(d, a)
    idx = sort_order(a, axis)
    if axis is None:
        return np.reshape(d, lead + (-1,))[..., idx]
    return np.take_along_axis(d, np.broadcast_to(idx, np.shape(d)), axis % np.ndim(a) + len(lead))


def tri_tangent(d, m, k, lower):
    """The tangent of ``np.tril(m, k)`` (or ``triu``): a 1-d ``m`` is a row repeated."""
    if np.ndim(m) < 2:
        n = np.shape(m)[-1]
        d = np.broadcast_to(np.expand_dims(d, -2), np.shape(d)[:-1] + (n, n))
    return np.tril(d, k) if lower else np.triu(d, k)


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


def flip_tangent(d, m, axis):
    """``np.flip(d, axis)`` for the tangent ``d`` of ``m`` (a vector-mode axis in front)."""
    return np.flip(d, axis + len(tangent_lead(d, m)))


def atleast_one(arys):
    """The single array of ``np.atleast_1d(a)`` (several arrays give a list: refused)."""
    if len(arys) != 1:
        raise unsupported_here("np.atleast_1d/2d/3d of several arrays has no derivative "
                               "rule; call it once per array")
    return arys[0]

"""Derivative rules for arrays built from values: ``np.linspace``, ``np.r_[...]``,
``np.c_[...]`` and ``np.column_stack``.

``np.linspace(a, b, n)`` is ``a + (b - a) * t`` with the fixed weights
``t = np.linspace(0, 1, n)``: ``a`` gets ``sum(g * (1 - t))``, ``b`` gets
``sum(g * t)``. ``np.r_[x, y]`` (arrays and scalars, no slices or strings) is
the concatenation of ``np.atleast_1d`` of each part, and ``np.c_[x, y]`` of
arrays of at most two dimensions is ``np.column_stack``: the normal form turns
the subscript into a call of ``r_join``/``c_join`` on the tuple of parts, whose
rules cut the cotangent back into the parts. Any other use of ``r_``/``c_`` on
differentiated values is refused.
"""
import numpy as np

from srcad.transforms.rules.registry import forward, index_form, nondiff, reverse
from srcad.kernels.builders import (
    c_join, c_join_back, c_join_tangent, join_width, r_join, r_join_back, r_join_tangent,
    range_back, range_tangent, range_weights)

# ---- linspace -----------------------------------------------------------------


@reverse(np.linspace)
def linspace_bar(y, g, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
                 *, device=None):
    t = range_weights(y, num, endpoint, retstep, axis)
    return (range_back(g, 1.0 - t, start, axis), range_back(g, t, stop, axis))


@forward(np.linspace)
def linspace_dot(y, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
                 *, device=None):
    t = range_weights(y, num, endpoint, retstep, axis)
    return (lambda da: range_tangent(da, start, y, 1.0 - t, axis),
            lambda db: range_tangent(db, stop, y, t, axis))


# ---- np.r_[...] and np.c_[...] --------------------------------------------------


@reverse(r_join)
def r_join_bar(y, g, parts):
    return (r_join_back(g, parts),)


@forward(r_join)
def r_join_dot(y, parts):
    return (lambda ds: r_join_tangent(ds, parts),)


@reverse(c_join, np.column_stack)
def c_join_bar(y, g, parts):
    return (c_join_back(g, parts),)


@forward(c_join, np.column_stack)
def c_join_dot(y, parts):
    return (lambda ds: c_join_tangent(ds, parts),)


# the cotangent helpers are linear in the cotangent (the parts give only shapes):
# forward rules, so a gradient through r_/c_ can be differentiated again
@forward(r_join_back, vector=False)
def r_join_back_dot(y, g, parts):
    return (lambda dg: r_join_back(dg, parts), None)


@forward(c_join_back, vector=False)
def c_join_back_dot(y, g, parts):
    return (lambda dg: c_join_back(dg, parts), None)


index_form(np.r_, r_join)
index_form(np.c_, c_join)

# piecewise-constant helpers (weights, widths): zero derivative where defined
nondiff(range_weights, join_width)

"""Derivative rules for ``gradient``, ``interp`` and ``polyval``.

``np.gradient`` is linear: along each axis it multiplies by a fixed matrix of differences
(spacings and ``edge_order`` as given, constant), whose transpose takes the cotangent back.
``np.interp(x, xp, fp)`` is piecewise linear in ``x`` (the slope of its segment; 0 outside
``xp``'s range, and at a knot the slope of the segment on its right) and linear in ``fp``;
``xp``, ``left`` and ``right`` get no derivative (refused when they carry one). ``polyval(p, x)``
is ``sum(p[i] * x ** n[i])``.
"""
import numpy as np

from srcad.transforms.rules.registry import forward, nondiff, reverse
from srcad.kernels.curves import (
    gradient_back, gradient_matrices, gradient_tangent, interp_fp_tangent,
    interp_weights, polyval_p_tangent, polyval_powers)
from srcad.kernels.moves import gathers_back, not_differentiated


# (``*args``: an entry for ``f`` alone, so that a spacing that carries a derivative is refused)
@reverse(np.gradient)
def gradient_bar(y, g, *args, axis=None, edge_order=1):
    return (gradient_back(g, args[0], args[1:], axis, edge_order),)


@forward(np.gradient)
def gradient_dot(y, *args, axis=None, edge_order=1):
    return (lambda df: gradient_tangent(df, args[0], args[1:], axis, edge_order),)


@reverse(np.interp)
def interp_bar(y, g, x, xp, fp, left=None, right=None, period=None):
    w = interp_weights(x, xp, left, right, period)
    t = (x - w[3]) * w[2]
    return (g * (np.take(fp, w[1]) - np.take(fp, w[0])) * w[2],
            not_differentiated("np.interp's xp"),
            gathers_back(fp, g * (w[4] - t + w[5]), w[0] + 1, g * (t + w[6]), w[1] + 1),
            not_differentiated("np.interp's left"), not_differentiated("np.interp's right"))


@forward(np.interp)
def interp_dot(y, x, xp, fp, left=None, right=None, period=None):
    w = interp_weights(x, xp, left, right, period)
    t = (x - w[3]) * w[2]
    return (lambda dx: dx * ((np.take(fp, w[1]) - np.take(fp, w[0])) * w[2]),
            lambda dxp: not_differentiated("np.interp's xp"),
            lambda dfp: interp_fp_tangent(dfp, w, w[4] - t + w[5], t + w[6]),
            lambda dl: not_differentiated("np.interp's left"),
            lambda dr: not_differentiated("np.interp's right"))


@reverse(np.polyval)
def polyval_bar(y, g, p, x):
    n = polyval_powers(p)
    v = np.expand_dims(x, -1) ** n
    return (np.reshape(g, (-1,)) @ np.reshape(v, (-1, np.size(n))),
            g * np.polyval(np.asarray(p)[:-1] * n[:-1], x))


@forward(np.polyval)
def polyval_dot(y, p, x):
    n = polyval_powers(p)
    return (lambda dp: polyval_p_tangent(dp, p, x),
            lambda dx: dx * np.polyval(np.asarray(p)[:-1] * n[:-1], x))


# the cotangent kernels are linear in the cotangent: forward rules for second derivatives

@forward(gradient_back)
def gradient_back_dot(y, g, f, varargs, axis, edge_order):
    return (lambda dg: gradient_back(dg, f, varargs, axis, edge_order),)


nondiff(gradient_matrices, interp_weights, polyval_powers)

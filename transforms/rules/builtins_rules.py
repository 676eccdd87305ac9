"""Derivative rules for Python builtins: abs, sum, float, max, min; print.

``pow`` shares ``operator.pow``'s rule (operators.py); ``enumerate``, ``zip``
and friends are control flow, handled by the passes, not rules.

``sum`` of a list or tuple gives a list with one contribution per element
(each summed back to that element's shape); ``sum`` of an array sums its first
axis. ``max``/``min`` of two scalars split the cotangent 0.5 / 0.5 at a tie;
of a sequence, evenly between the tied elements (kink policy: numpy_rules.py).
Rules are written for two arguments or one sequence: ``max(a, b, c)`` does not
bind to them.
"""
import builtins

import numpy as np

from srcad.kernels.broadcast import broadcast_tangent, unbroadcast
from srcad.transforms.rules.registry import (
    effect, forward, nondiff, reverse, scalar_result, shape)
from srcad.kernels.sequences import (
    builtin_extreme_back, builtin_extreme_back_second, builtin_extreme_tangent,
    builtin_float_back, builtin_float_tangent, builtin_seq_weights, builtin_sum_back,
    builtin_sum_tangent, builtin_tie_weight)

# run in the primal sweep for what it shows; it reads its arguments only (loggers and
# warnings.warn: srcad/runtime_rules.py)
effect(builtins.print)


# ---- abs, float -------------------------------------------------------------

@reverse(builtins.abs)
def abs_bar(y, g, x):
    return (g * np.sign(x),)


@forward(builtins.abs)
def abs_dot(y, x):
    return (lambda dx: dx * np.sign(x),)


@reverse(builtins.float)
def float_bar(y, g, x=0):
    return (builtin_float_back(g, x),)


@forward(builtins.float)
def float_dot(y, x=0):
    return (lambda dx: builtin_float_tangent(dx, x),)


# ---- sum --------------------------------------------------------------------

@reverse(builtins.sum)
def sum_bar(y, g, iterable, start=0):
    return (builtin_sum_back(g, iterable), unbroadcast(g, start))


@forward(builtins.sum)
def sum_dot(y, iterable, start=0):
    return (lambda d: builtin_sum_tangent(d, iterable, y),
            lambda ds: broadcast_tangent(ds, start, y))


# ---- max, min ---------------------------------------------------------------

@reverse(builtins.max)
def max_bar(y, g, a, b=None):
    return (builtin_extreme_back(g, y, a, b, True), builtin_extreme_back_second(g, y, a, b, True))


@forward(builtins.max)
def max_dot(y, a, b=None):
    return (lambda da: builtin_extreme_tangent(da, y, a, b, True),
            lambda db: db * builtin_tie_weight(b, a, True))


@reverse(builtins.min)
def min_bar(y, g, a, b=None):
    return (builtin_extreme_back(g, y, a, b, False),
            builtin_extreme_back_second(g, y, a, b, False))


@forward(builtins.min)
def min_dot(y, a, b=None):
    return (lambda da: builtin_extreme_tangent(da, y, a, b, False),
            lambda db: db * builtin_tie_weight(b, a, False))


# piecewise-constant helpers (weights, masks, axes): zero derivative where defined
nondiff(builtin_tie_weight, builtin_seq_weights)
shape(scalar_result, len, float, int)

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

from transforms.rules.registry import (EFFECTS, broadcast_tangent, forward, nondiff, reverse,
                                       unbroadcast)

# run in the primal sweep for what it shows; it reads its arguments only (loggers and
# warnings.warn: srcad/runtime_rules.py)
EFFECTS.add(builtins.print)


def builtin_sum_back(g, x):
    if isinstance(x, np.ndarray):
        return np.broadcast_to(g, x.shape).copy()
    return [unbroadcast(g, e) for e in x]


def builtin_sum_tangent(d, x, y):
    if isinstance(x, np.ndarray):
        return np.sum(d, axis=np.ndim(d) - np.ndim(x))
    terms = [broadcast_tangent(de, e, y) for de, e in zip(d, x, strict=True) if de is not None]
    return builtins.sum(terms[1:], terms[0])


def builtin_float_back(g, x):
    """The cotangent of ``float(x)``, shaped like ``x`` (a 0-d or size-1 array, or a number)."""
    if isinstance(x, np.ndarray):
        return np.full(x.shape, g)
    return float(g)


def builtin_float_tangent(dx, x):
    if np.ndim(dx) > np.ndim(x):
        return np.reshape(dx, np.shape(dx)[:1])
    return float(np.reshape(dx, ()))


def builtin_tie_weight(a, b, larger):
    """The share of ``max(a, b)`` (``larger``) or ``min(a, b)`` going to ``a``."""
    if a == b:
        return 0.5
    return 1.0 if (a > b) == larger else 0.0


def builtin_seq_weights(a, y):
    """Weights of each element of ``a`` in ``max(a)``/``min(a)``: ties share evenly."""
    if isinstance(a, np.ndarray):
        hit = a == y
        return hit / hit.sum(axis=0)
    hits = [float(e == y) for e in a]
    return [h / builtins.sum(hits) for h in hits]


def builtin_extreme_back(g, y, a, b, larger):
    """Contribution of ``a`` to ``max(a, b)``/``min(a, b)``, or of its elements to ``max(a)``."""
    if b is None:
        w = builtin_seq_weights(a, y)
        return g * w if isinstance(a, np.ndarray) else [g * we for we in w]
    return g * builtin_tie_weight(a, b, larger)


def builtin_extreme_back_second(g, y, a, b, larger):
    return None if b is None else g * builtin_tie_weight(b, a, larger)


def builtin_extreme_tangent(d, y, a, b, larger):
    if b is not None:
        return d * builtin_tie_weight(a, b, larger)
    w = builtin_seq_weights(a, y)
    if isinstance(a, np.ndarray):
        return np.sum(d * w, axis=np.ndim(d) - np.ndim(a))
    return builtins.sum(de * we for de, we in zip(d, w, strict=True) if de is not None)


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

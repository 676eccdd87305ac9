"""Kernels that generated code calls for the rules in srcad.transforms.rules.builtins_rules."""
import builtins

import numpy as np

from srcad.kernels.broadcast import broadcast_tangent, unbroadcast


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

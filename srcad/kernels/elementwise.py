"""Kernels that generated code calls for the rules in srcad.transforms.rules.numpy_rules."""
import numpy as np

from srcad.kernels.broadcast import unbroadcast


def maximum_weight(a, b):
    """The share of ``maximum(a, b)``'s cotangent that goes to ``a`` (0.5 at ties)."""
    return np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))


def ratio_or_zero(n, d):
    """n / d, taken as 0 where d == 0."""
    return n / np.where(d == 0, 1.0, d)


def inverse_or_zero(d):
    """1 / d, taken as 0 where d == 0."""
    return np.where(d == 0, 0.0, 1.0 / np.where(d == 0, 1.0, d))


def clip_pick(positional, keyword):
    return positional if positional is not None else keyword


def clip_inside(a, lo, hi):
    """1.0 where ``clip`` passes ``a`` through (bounds included), else 0.0."""
    inside = np.ones(np.shape(a), dtype=bool)
    if lo is not None:
        inside = inside & (a >= lo)
    if hi is not None:
        inside = inside & (a <= hi)
    return inside * 1.0


def clip_outside(a, bound, below):
    """1.0 where ``clip`` replaces ``a`` by ``bound`` (strictly beyond it)."""
    if bound is None:
        return None
    return ((a < bound) if below else (a > bound)) * 1.0


def clip_bound_back(g, a, bound, below):
    if bound is None:
        return None
    return unbroadcast(g * clip_outside(a, bound, below), bound)


def sinc_slope(x):
    """The derivative of ``np.sinc``: ``(cos(pi x) - sinc(x)) / x``, 0 at 0."""
    zero = x == 0
    return np.where(zero, 0.0, (np.cos(np.pi * x) - np.sinc(x)) / np.where(zero, 1.0, x))


def sinc_curve(x):
    """The second derivative of ``np.sinc``: ``-pi**2 sinc(x) - 2 sinc'(x) / x``, -pi**2/3
    at 0."""
    zero = x == 0
    return np.where(zero, -np.pi ** 2 / 3.0,
                    -np.pi ** 2 * np.sinc(x) - 2.0 * sinc_slope(x) / np.where(zero, 1.0, x))

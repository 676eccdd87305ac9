"""Kernels for the rules of statistics of arrays (srcad.transforms.rules.numpy_statistics):
piecewise-constant weights of reductions, and the entries a quantile lies between."""
import math

import numpy as np

from srcad.errors import unsupported_here
from srcad.kernels.broadcast import tangent_lead
from srcad.kernels.moves import gather_index


QUANTILE_T = {"linear": None, "lower": 0.0, "higher": 1.0, "midpoint": 0.5, "nearest": 0.0}


def quantile_maps(a, q, axis, method, keepdims, weights, interpolation):
    """The entry numbers that ``np.quantile(a, q, ...)`` interpolates between, shaped like
    its result, and the weight of the upper one (``method`` linear, lower, higher, midpoint
    or nearest). Each entry gets a distinct key that sorts like the entry (its rank within
    the reduced axes, ties in order) and names it: NumPy's own ``lower``/``higher``
    quantiles of the keys are the two entries."""
    if method not in QUANTILE_T or weights is not None or interpolation is not None:
        raise unsupported_here(f"np.quantile/percentile/median is differentiated for method "
                               f"{', '.join(QUANTILE_T)} without weights (not method={method!r})")
    a = np.asarray(a)
    axes = tuple(range(a.ndim)) if axis is None else tuple(
        int(k) % a.ndim for k in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    last = tuple(range(a.ndim - len(axes), a.ndim))
    moved = np.moveaxis(a, axes, last)
    flat = np.reshape(moved, moved.shape[:a.ndim - len(axes)] + (-1,))
    ranks = np.argsort(np.argsort(flat, axis=-1, kind="stable"), axis=-1, kind="stable")
    ranks = np.moveaxis(np.reshape(ranks, moved.shape), last, axes)
    key = ranks * a.size + (gather_index(a) - 1)
    ends = ("nearest", "nearest") if method == "nearest" else ("lower", "higher")
    lo, hi = (np.quantile(key, q, axis=axis, method=m, keepdims=keepdims) % a.size + 1
              for m in ends)
    t = QUANTILE_T[method]
    if t is None:
        n = math.prod(a.shape[k] for k in axes)
        v = np.asarray(q, dtype=float) * (n - 1)
        t = np.reshape(v - np.floor(v), np.shape(q) + (1,) * (np.ndim(lo) - np.ndim(q)))
    return lo, hi, t


def stat_weights(a, axis, kind, where=True):
    """d y / d a of the reductions ``ptp``, ``nansum``, ``nanmean``, ``nanmax``, ``nanmin``
    along ``axis`` (kept dims): piecewise constant; entries that tie for an extreme share."""
    if where is not True:
        raise unsupported_here(f"np.{kind} with where= has no derivative rule")
    keep = {"axis": axis, "keepdims": True}
    if kind == "ptp":
        hi, lo = a == np.max(a, **keep), a == np.min(a, **keep)
        return hi / np.sum(hi, **keep) - lo / np.sum(lo, **keep)
    seen = ~np.isnan(a)
    if kind == "nansum":
        return seen * 1.0
    if kind == "nanmean":
        return seen / np.sum(seen, **keep)
    hit = seen & (a == (np.nanmax(a, **keep) if kind == "nanmax" else np.nanmin(a, **keep)))
    return hit / np.sum(hit, **keep)


def average_weights(a, axis, weights, returned):
    """The share of each entry of ``a`` in ``np.average(a, axis, weights)`` (kept dims)."""
    if returned:
        raise unsupported_here("np.average with returned=True has no derivative rule; "
                               "compute the sum of the weights apart")
    if weights is None:
        return np.ones(np.shape(a)) / (np.size(a) / np.size(np.sum(a, axis=axis)))
    w = np.asarray(weights, dtype=float)
    if np.ndim(w) != np.ndim(a):             # 1-d weights along the one axis
        shape = [1] * np.ndim(a)
        shape[int(axis) % np.ndim(a)] = np.size(w)
        w = np.reshape(w, shape)
    w = np.broadcast_to(w, np.shape(a))
    return w / np.sum(w, axis=axis, keepdims=True)


def trapezoid_weights(f, x, dx, axis):
    """The weight of each sample in ``np.trapezoid(f, x, dx, axis)``, along ``axis``."""
    if x is None:
        h = np.full(np.shape(f)[axis] - 1, float(dx))
    elif np.ndim(x) != 1:
        raise unsupported_here("np.trapezoid with sample points of more than one dimension "
                               "has no derivative rule")
    else:
        h = np.diff(np.asarray(x, dtype=float))
    return _along_axis((np.concatenate([h, [0.0]]) + np.concatenate([[0.0], h])) / 2.0, f, axis)


def _along_axis(w, f, axis):
    shape = [1] * np.ndim(f)
    shape[axis % np.ndim(f)] = np.size(w)
    return np.reshape(w, shape)


def cumulative_cut(g, x, axis, include_initial):
    """The cotangent of ``np.cumulative_sum`` without its initial 0 (when included)."""
    if not include_initial:
        return g
    return np.take(g, np.arange(1, np.shape(g)[0 if axis is None else axis]),
                   axis=0 if axis is None else axis)


def cumulative_tangent(d, x, axis, include_initial):
    """The tangent of ``np.cumulative_sum(x, axis=axis, include_initial=...)``."""
    lead = tangent_lead(d, x)
    ax = (0 if axis is None else axis % np.ndim(x)) + len(lead)
    t = np.cumsum(d, axis=ax)
    if include_initial:
        t = np.concatenate([np.zeros_like(np.take(t, [0], axis=ax)), t], axis=ax)
    return t

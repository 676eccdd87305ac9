"""Derivative rules for statistics of arrays: ``ptp``, ``nansum``, ``nanmean``, ``nanmax``,
``nanmin``, ``average`` (constant weights), ``trapezoid`` (constant sample points),
``cumulative_sum``; ``quantile``, ``percentile`` and ``median``.

The reductions weigh their entries by piecewise-constant weights (``weighted_reduction``):
``ptp`` the extremes (+1 and -1, ties sharing), the NaN-ignoring ones the entries that are
not NaN. A quantile lies between two entries that the values' order picks (piecewise
constant, like ``sort``), linearly (``method`` linear, lower, higher, midpoint, nearest).
"""
import numpy as np

from srcad.transforms.rules.registry import forward, nondiff, reverse
from srcad.transforms.rules.templates import weighted_reduction
from srcad.kernels.moves import gather_tangent, gathers_back, not_differentiated
from srcad.kernels.reductions import (  # noqa: F401  (weighted_reduction names them)
    cumsum_back, reduce_expand, reduce_tangent_axis)
from srcad.kernels.statistics import (
    average_weights, cumulative_cut, cumulative_tangent, quantile_maps, stat_weights,
    trapezoid_weights)

weighted_reduction(np.ptp, "a, axis=None, out=None, keepdims=False",
                   "stat_weights(a, axis, 'ptp')")
for _target in (np.nansum, np.nanmax, np.nanmin):
    weighted_reduction(_target, "a, axis=None, out=None, keepdims=False, initial=None, "
                       "where=True", f"stat_weights(a, axis, '{_target.__name__}', where)")
weighted_reduction(np.nanmean, "a, axis=None, dtype=None, out=None, keepdims=False, *, "
                   "where=True", "stat_weights(a, axis, 'nanmean', where)")
weighted_reduction(np.average, "a, axis=None, weights=None, returned=False, *, keepdims=False",
                   "average_weights(a, axis, weights, returned)")
weighted_reduction(np.trapezoid, "f, x=None, dx=1.0, axis=-1", "trapezoid_weights(f, x, dx, "
                   "axis)", over="f", keep="False")


@reverse(np.cumulative_sum)
def cumulative_sum_bar(y, g, x, *, axis=None, dtype=None, out=None, include_initial=False):
    return (cumsum_back(cumulative_cut(g, x, axis, include_initial), x, axis),)


@forward(np.cumulative_sum)
def cumulative_sum_dot(y, x, *, axis=None, dtype=None, out=None, include_initial=False):
    return (lambda dx: cumulative_tangent(dx, x, axis, include_initial),)


@forward(cumulative_cut)
def cumulative_cut_dot(y, g, x, axis, include_initial):
    return (lambda dg: cumulative_cut(dg, x, axis, include_initial),)


# ---- quantiles: between two entries (fixed by the values' order), linearly --------------


@reverse(np.quantile)
def quantile_bar(y, g, a, q, axis=None, out=None, overwrite_input=False, method="linear",
                 keepdims=False, *, weights=None, interpolation=None):
    m = quantile_maps(a, q, axis, method, keepdims, weights, interpolation)
    return (gathers_back(a, g * (1.0 - m[2]), m[0], g * m[2], m[1]),
            not_differentiated("np.quantile's q"))


@forward(np.quantile)
def quantile_dot(y, a, q, axis=None, out=None, overwrite_input=False, method="linear",
                 keepdims=False, *, weights=None, interpolation=None):
    m = quantile_maps(a, q, axis, method, keepdims, weights, interpolation)
    return (lambda da: gather_tangent(da, m[0], a) * (1.0 - m[2]) +
            gather_tangent(da, m[1], a) * m[2], lambda dq: not_differentiated("np.quantile's q"))


@reverse(np.percentile)
def percentile_bar(y, g, a, q, axis=None, out=None, overwrite_input=False, method="linear",
                   keepdims=False, *, weights=None, interpolation=None):
    m = quantile_maps(a, np.asarray(q) / 100.0, axis, method, keepdims, weights, interpolation)
    return (gathers_back(a, g * (1.0 - m[2]), m[0], g * m[2], m[1]),
            not_differentiated("np.percentile's q"))


@forward(np.percentile)
def percentile_dot(y, a, q, axis=None, out=None, overwrite_input=False, method="linear",
                   keepdims=False, *, weights=None, interpolation=None):
    m = quantile_maps(a, np.asarray(q) / 100.0, axis, method, keepdims, weights, interpolation)
    return (lambda da: gather_tangent(da, m[0], a) * (1.0 - m[2]) +
            gather_tangent(da, m[1], a) * m[2],
            lambda dq: not_differentiated("np.percentile's q"))


@reverse(np.median)
def median_bar(y, g, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    m = quantile_maps(a, 0.5, axis, "linear", keepdims, None, None)
    return (gathers_back(a, g * (1.0 - m[2]), m[0], g * m[2], m[1]),)


@forward(np.median)
def median_dot(y, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    m = quantile_maps(a, 0.5, axis, "linear", keepdims, None, None)
    return (lambda da: gather_tangent(da, m[0], a) * (1.0 - m[2]) +
            gather_tangent(da, m[1], a) * m[2],)



nondiff(stat_weights, average_weights, trapezoid_weights, quantile_maps)

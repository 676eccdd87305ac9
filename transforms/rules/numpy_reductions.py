"""Derivative rules for NumPy reductions: sum, mean, prod, max/min, var/std, norm, cumsum,
cumprod.

Reductions take ``axis`` (``None``, an int or a tuple, negative allowed) and
``keepdims``; a reverse rule broadcasts the cotangent back over the reduced
axes (``reduce_expand``), a forward rule reduces the tangent over the same
axes shifted past a vector-mode leading axis (``reduce_tangent_axis``).

Kinks (policy in numpy_rules.py): ``max``/``min`` split the cotangent evenly
between tied entries; ``prod`` with zeros uses the exact product of the other
entries; ``norm`` and ``std`` contribute 0 where they are 0.
"""
import numpy as np

from srcad.transforms.rules.registry import (
    axes_twin, forward, method_form, nondiff, reverse, reverse_whole, scalar_when_whole, shape,
    spelled_defaults, vector_helper)
from srcad.kernels.reductions import (
    cumprod_back, cumprod_tangent, cumsum_back, cumsum_tangent, extreme_weights, prod_others,
    reduce_axes, reduce_count, reduce_expand, reduce_keep, reduce_sum_to, reduce_tangent_axis,
    std_weights, var_weights)
from srcad.kernels.norms import (
    norm_matrix, norm_power, norm_two, norm_weights, norm_weights_back_n, norm_weights_back_x,
    norm_weights_tangent_n)

# ---- reductions -------------------------------------------------------------

@reverse(np.sum)
def sum_bar(y, g, a, axis=None, dtype=None, out=None, keepdims=False):
    return (reduce_expand(g, a, axis, keepdims),)


@forward(np.sum)
def sum_dot(y, a, axis=None, dtype=None, out=None, keepdims=False):
    return (lambda da: np.sum(da, axis=reduce_tangent_axis(axis, da, a), keepdims=keepdims),)


method_form(np.sum, "sum")
method_form(np.mean, "sum", per_entry=True)
axes_twin([np.mean], "mean_axes", kept="mean_kept")
axes_twin([np.max, np.amax], "max_axes", kept="max_kept")
axes_twin([np.min, np.amin], "min_axes", kept="min_kept")
axes_twin([np.prod], "prod_axes", kept="prod_kept")
axes_twin([np.var], "var_axes", ("axis", "ddof"), kept="var_kept")
axes_twin([np.std], "std_axes", ("axis", "ddof"), kept="std_kept")
axes_twin([np.cumsum], "cumsum_axes")
axes_twin([np.cumprod], "cumprod_axes")
spelled_defaults(np.sum, np.mean, np.prod, np.max, np.amax, np.min, np.amin, axis=None,
                 keepdims=False)


@reverse_whole(np.sum)
def sum_bar_whole(y, g, a, axis=None, dtype=None, out=None, keepdims=False):
    return (g,)


@reverse_whole(np.mean)
def mean_bar_whole(y, g, a, axis=None, dtype=None, out=None, keepdims=False):
    return (g / np.size(a),)


@reverse(np.mean)
def mean_bar(y, g, a, axis=None, dtype=None, out=None, keepdims=False):
    return (reduce_expand(g, a, axis, keepdims) / reduce_count(a, y),)


@forward(np.mean)
def mean_dot(y, a, axis=None, dtype=None, out=None, keepdims=False):
    return (lambda da: np.mean(da, axis=reduce_tangent_axis(axis, da, a), keepdims=keepdims),)


@reverse(np.prod)
def prod_bar(y, g, a, axis=None, dtype=None, out=None, keepdims=False):
    return (reduce_expand(g, a, axis, keepdims) * prod_others(a, axis),)


@forward(np.prod)
def prod_dot(y, a, axis=None, dtype=None, out=None, keepdims=False):
    return (lambda da: np.sum(da * prod_others(a, axis), axis=reduce_tangent_axis(axis, da, a),
                              keepdims=keepdims),)


@reverse(np.max, np.amax, np.min, np.amin)
def max_bar(y, g, a, axis=None, out=None, keepdims=False):
    return (reduce_expand(g, a, axis, keepdims) * extreme_weights(a, y, axis, keepdims),)


@forward(np.max, np.amax, np.min, np.amin)
def max_dot(y, a, axis=None, out=None, keepdims=False):
    w = extreme_weights(a, y, axis, keepdims)
    return (lambda da: np.sum(da * w, axis=reduce_tangent_axis(axis, da, a), keepdims=keepdims),)


@reverse(np.var)
def var_bar(y, g, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return (reduce_expand(g, a, axis, keepdims) * var_weights(a, axis, ddof),)


@forward(np.var)
def var_dot(y, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    w = var_weights(a, axis, ddof)
    return (lambda da: np.sum(da * w, axis=reduce_tangent_axis(axis, da, a), keepdims=keepdims),)


@reverse(np.std)
def std_bar(y, g, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return (reduce_expand(g, a, axis, keepdims) * std_weights(a, y, axis, ddof, keepdims),)


@forward(np.std)
def std_dot(y, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    w = std_weights(a, y, axis, ddof, keepdims)
    return (lambda da: np.sum(da * w, axis=reduce_tangent_axis(axis, da, a), keepdims=keepdims),)


@reverse(np.linalg.norm)
def norm_bar(y, g, x, ord=None, axis=None, keepdims=False):
    return (reduce_expand(g, x, axis, keepdims) * norm_weights(x, y, ord, axis, keepdims),)


@forward(np.linalg.norm)
def norm_dot(y, x, ord=None, axis=None, keepdims=False):
    w = norm_weights(x, y, ord, axis, keepdims)
    return (lambda dx: np.sum(dx * w, axis=reduce_tangent_axis(axis, dx, x), keepdims=keepdims),)


@reverse(np.cumsum)
def cumsum_bar(y, g, a, axis=None, dtype=None, out=None):
    return (cumsum_back(g, a, axis),)


@forward(np.cumsum)
def cumsum_dot(y, a, axis=None, dtype=None, out=None):
    return (lambda da: cumsum_tangent(da, a, axis),)


@reverse(np.cumprod)
def cumprod_bar(y, g, a, axis=None, dtype=None, out=None):
    return (cumprod_back(g, a, y, axis),)


@forward(np.cumprod)
def cumprod_dot(y, a, axis=None, dtype=None, out=None):
    return (lambda da: cumprod_tangent(da, a, y, axis),)


# ---- rules for the helpers above, so generated code can be differentiated again --

nondiff(reduce_axes, reduce_count, reduce_tangent_axis)


@reverse(reduce_expand)
def reduce_expand_bar(y, g, c, a, axis, keepdims):
    return (reduce_sum_to(g, c, a, axis), None, None, None)


@forward(reduce_expand, vector=False)
def reduce_expand_dot(y, c, a, axis, keepdims):
    return (lambda dc: reduce_expand(dc, a, axis, keepdims), None, None, None)


@reverse(reduce_keep)
def reduce_keep_bar(y, g, c, a, axis, keepdims):
    return (np.reshape(g, np.shape(c)), None, None, None)


@forward(reduce_keep, vector=False)
def reduce_keep_dot(y, c, a, axis, keepdims):
    return (lambda dc: reduce_keep(dc, a, axis, keepdims), None, None, None)


# piecewise-constant helpers (weights, masks, axes): zero derivative where defined
nondiff(extreme_weights)


# norm_weights(x, nrm, ...) = x / nrm (kept dims) in the smooth case, sign(x) for ord=1.


@reverse(norm_weights)
def norm_weights_bar(y, g, x, nrm, ord, axis, keepdims):
    return (norm_weights_back_x(g, x, nrm, ord, axis, keepdims),
            norm_weights_back_n(g, x, nrm, ord, axis, keepdims))


@forward(norm_weights, vector=False)
def norm_weights_dot(y, x, nrm, ord, axis, keepdims):
    return (lambda dx: norm_weights_back_x(dx, x, nrm, ord, axis, keepdims),
            lambda dn: norm_weights_tangent_n(dn, x, nrm, ord, axis, keepdims))


nondiff(norm_two, norm_matrix, norm_power)

vector_helper("axis", reduce_tangent_axis)
shape(scalar_when_whole, np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std)

"""Kernels that generated code calls for the rules in srcad.transforms.rules.numpy_reductions."""
import math
import operator

import numpy as np

from srcad.kernels.broadcast import tangent_lead


def reduce_axes(axis, ndim):
    """The reduced axes as a tuple of non-negative ints (``None``: all)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(operator.index(a) % ndim for a in axis)
    return (operator.index(axis) % ndim,)


def reduce_tangent_axis(axis, dx, x):
    """The reduction ``axis`` of ``x``, shifted past a vector-mode leading axis."""
    lead = len(tangent_lead(dx, x))
    if not lead:
        return axis
    return tuple(a + lead for a in reduce_axes(axis, np.ndim(x)))


def reduce_keep(g, a, axis, keepdims):
    """A reduction's result (or cotangent) with the reduced axes of ``a`` kept as 1s."""
    g = np.asarray(g)
    if keepdims:
        return g
    axes = reduce_axes(axis, np.ndim(a))
    kept = tuple(1 if i in axes else n for i, n in enumerate(np.shape(a)))
    if g.ndim == 0 and g.size != int(np.prod(kept)):
        return np.broadcast_to(g, kept)          # a broadcasting (zero) cotangent
    return np.reshape(g, kept)


_ZERO_D = (float, np.float64, np.float32)


def reduce_expand(g, a, axis, keepdims):
    """A reduction's cotangent broadcast back to the shape of ``a`` (a new array)."""
    if axis is None and not keepdims and type(a) is np.ndarray and (
            type(g) in _ZERO_D or (type(g) is np.ndarray and g.ndim == 0)):
        return np.full(a.shape, g)          # a whole-array reduction: one fill, g's dtype
    return np.broadcast_to(reduce_keep(g, a, axis, keepdims), np.shape(a)).copy()


def reduce_count(a, y):
    """How many entries of ``a`` were reduced into each entry of ``y``."""
    return np.size(a) // max(np.size(y), 1)


def prod_others(a, axis):
    """For each entry, the product of the other entries along the reduced axes."""
    a = np.asarray(a, dtype=float)
    axes = reduce_axes(axis, a.ndim)
    back = tuple(range(a.ndim - len(axes), a.ndim))
    moved = np.moveaxis(a, axes, back)
    flat = moved.reshape(moved.shape[:a.ndim - len(axes)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), back, axes)


def extreme_weights(a, y, axis, keepdims):
    """The indicator of the maximising (minimising) entries, ties sharing evenly."""
    hit = a == reduce_keep(y, a, axis, keepdims)
    return hit / np.sum(hit, axis=reduce_axes(axis, np.ndim(a)), keepdims=True)


def var_weights(a, axis, ddof):
    """d var / d a = 2 (a - mean) / (N - ddof)."""
    axes = reduce_axes(axis, np.ndim(a))
    n = math.prod(np.shape(a)[i] for i in axes)
    return 2.0 * (a - np.mean(a, axis=axes, keepdims=True)) / (n - ddof)


def std_weights(a, y, axis, ddof, keepdims):
    """d std / d a = (a - mean) / ((N - ddof) std); 0 where std is 0, or no larger than
    the rounding of the mean (entries equal but for roundoff: std is a kink there, and
    the quotient of two roundoffs would be noise)."""
    axes = reduce_axes(axis, np.ndim(a))
    n = math.prod(np.shape(a)[i] for i in axes)
    s = reduce_keep(y, a, axis, keepdims)
    eps = np.finfo(np.result_type(np.asarray(a).dtype, np.float32)).eps
    flat = s <= n * eps * np.max(np.abs(a), axis=axes, keepdims=True)
    return np.where(flat, 0.0, var_weights(a, axis, ddof) / (2.0 * np.where(flat, 1.0, s)))


def cumsum_back(g, a, axis):
    """The cotangent of ``cumsum``: a reversed cumulative sum."""
    if axis is None:
        return np.cumsum(np.ravel(g)[::-1])[::-1].reshape(np.shape(a))
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


def cumsum_tangent(dx, a, axis):
    lead = tangent_lead(dx, a)
    if axis is None:
        return np.cumsum(np.reshape(dx, lead + (-1,)), axis=-1)
    return np.cumsum(dx, axis=axis % np.ndim(a) + len(lead))


def _along_last(x, axis):
    """``x`` with the cumulated axis last (flattened when ``axis`` is None)."""
    if axis is None:
        return np.ravel(x)
    return np.moveaxis(x, axis % np.ndim(x), -1)


def cumprod_back(g, a, y, axis):
    """The cotangent of ``cumprod``: a_bar[j] = y[j-1] * s[j] with s[j] = g[j] + a[j+1] s[j+1]
    (exact with zeros; sum over i >= j of g[i] y[i] / a[j] when there are none)."""
    a2, y2 = _along_last(np.asarray(a, dtype=float), axis), _along_last(y, axis)
    g2 = _along_last(np.broadcast_to(g, np.shape(y)), axis)
    if np.all(a2 != 0):
        out = np.flip(np.cumsum(np.flip(g2 * y2, -1), -1), -1) / a2
    else:
        s = np.array(g2, dtype=float)
        for j in range(s.shape[-1] - 2, -1, -1):
            s[..., j] += a2[..., j + 1] * s[..., j + 1]
        out = np.concatenate([np.ones_like(y2[..., :1]), y2[..., :-1]], -1) * s
    if axis is None:
        return out.reshape(np.shape(a))
    return np.moveaxis(out, -1, axis % np.ndim(a))


def cumprod_tangent(da, a, y, axis):
    """dy[i] = dy[i-1] a[i] + y[i-1] da[i] (y * cumsum(da / a) when ``a`` has no zeros)."""
    lead = tangent_lead(da, a)
    a2, y2 = _along_last(np.asarray(a, dtype=float), axis), _along_last(y, axis)
    if axis is None:
        d2 = np.reshape(da, lead + (-1,))
    else:
        d2 = np.moveaxis(da, axis % np.ndim(a) + len(lead), -1)
    if np.all(a2 != 0):
        out = y2 * np.cumsum(d2 / a2, -1)
    else:
        out = np.array(np.broadcast_to(d2, np.broadcast_shapes(d2.shape, a2.shape)),
                       dtype=float)
        for i in range(1, out.shape[-1]):
            out[..., i] = out[..., i - 1] * a2[..., i] + y2[..., i - 1] * out[..., i]
    if axis is None:
        return out
    return np.moveaxis(out, -1, axis % np.ndim(a) + len(lead))


def reduce_sum_to(g, c, a, axis):
    """Sum ``g`` (shaped like ``a``) over the reduced axes, into the shape of ``c``."""
    return np.reshape(np.sum(g, axis=reduce_axes(axis, np.ndim(a))), np.shape(c))

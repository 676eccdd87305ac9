"""Numba twins of the reductions' kernels along axes (``srcad/kernels/reductions.py``)
and of the NumPy calls with ``out=`` that numba's own functions do not take: a sum over
axes written into a buffer, a matrix product written into a buffer.

``transforms/numba_buffers.py`` rewrites ``np.sum(g, axis=A, out=o)`` (with or without
``keepdims``) and ``np.matmul(a, b, out=o)`` into ``_rt.sum_kept``, ``_rt.sum_axes``
and ``_rt.matmul_into``; ``srcad/numba_runtime.py`` names these and maps the NumPy
kernels to the twins here. Each gives NumPy's result on what numba can hold; typing
refuses the rest (the backend then says so at the user's line, or falls back).
"""
import functools

import numba
import numpy as np
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple

from srcad.numba_arrays import (_jit, absent, all_ones, assign, group_index, kept_dims,
                                reduce_to_shape, scalar_type, sum_to_shape)


def _axis_type(axis):
    """The number of axes an ``axis`` of this numba type names, or None."""
    if isinstance(axis, numba.types.Integer):
        return 1
    if isinstance(axis, numba.types.BaseTuple) and axis.count \
            and all(isinstance(t, numba.types.Integer) for t in axis.types):
        return axis.count      # (literal ints type as a tuple of literals, not a UniTuple)
    return None


def _counted(t):
    """An array of bools or signed ints (NumPy sums them as int64 on this platform)."""
    return isinstance(t.dtype, (numba.types.Boolean, numba.types.Integer)) \
        and getattr(t.dtype, "signed", True)


def _float_array(t):
    """A float array (sums of bools or ints accumulate in another dtype: left to NumPy)."""
    return isinstance(t, numba.types.Array) and isinstance(t.dtype, numba.types.Float)


@_jit
def _reduced_dims(shape, axis):
    """``shape`` without the axes in ``axis``."""
    kept = kept_dims(shape, axis)
    gone = np.zeros(len(shape), np.bool_)
    for a in np.atleast_1d(np.asarray(axis)):
        gone[a % len(shape)] = True
    dims = np.empty(len(shape) - gone.sum(), np.int64)
    j = 0
    for k in range(len(shape)):
        if not gone[k]:
            dims[j] = kept[k]
            j += 1
    return dims


def sum_kept(out, g, axis):
    raise NotImplementedError("njit only")


@overload(sum_kept)
def _sum_kept(out, g, axis):
    """``np.sum(g, axis=axis, keepdims=True, out=out)``: ``axis`` an int or a tuple of
    ints, ``out`` None or an array of the result's shape."""
    if not isinstance(g, numba.types.Array) or _axis_type(axis) is None:
        return None
    ndim = g.ndim
    if absent(out) and _counted(g):             # bools and ints sum as int64, as in NumPy
        def counts(out, g, axis):
            return sum_to_shape(g.astype(np.int64), to_fixed_tuple(kept_dims(g.shape, axis),
                                                                   ndim))
        return counts
    if not _float_array(g):
        return None
    if absent(out):
        def new(out, g, axis):
            return sum_to_shape(g, to_fixed_tuple(kept_dims(g.shape, axis), ndim))
        return new
    if isinstance(out, numba.types.Array) and out.ndim == ndim:
        def into(out, g, axis):
            return assign(out, sum_to_shape(g, to_fixed_tuple(kept_dims(g.shape, axis), ndim)))
        return into
    return None


def sum_axes(out, g, axis):
    raise NotImplementedError("njit only")


@overload(sum_axes)
def _sum_axes(out, g, axis):
    """``np.sum(g, axis=axis, out=out)`` (the reduced axes dropped): ``out`` None or an
    array of the result's shape. A sum down to a number is left to the NumPy backend."""
    ranks = _reduced(g, axis)
    if ranks is None or absent(axis) or ranks[0] < 1:
        return None
    rank, ndim = ranks
    if absent(out):
        def new(out, g, axis):
            kept = sum_to_shape(g, to_fixed_tuple(kept_dims(g.shape, axis), ndim))
            return kept.reshape(to_fixed_tuple(_reduced_dims(g.shape, axis), rank))
        return new
    if isinstance(out, numba.types.Array) and out.ndim == rank:
        def into(out, g, axis):
            kept = sum_to_shape(g, to_fixed_tuple(kept_dims(g.shape, axis), ndim))
            return assign(out, kept.reshape(to_fixed_tuple(_reduced_dims(g.shape, axis), rank)))
        return into
    return None


def reduce_expand(g, a, axis, keepdims):
    raise NotImplementedError("njit only")


@overload(reduce_expand)
def _reduce_expand(g, a, axis, keepdims):
    """A reduction's cotangent g broadcast back to the shape of a (a new array):
    a number for a whole-array reduction, an array of the reduced (or kept) shape for one
    along axes."""
    if not isinstance(a, numba.types.Array):
        return None
    if scalar_type(g) and (isinstance(axis, numba.types.NoneType) or _axis_type(axis)):
        return lambda g, a, axis, keepdims: np.full(a.shape, g)
    if isinstance(g, numba.types.Array) and _axis_type(axis):
        ndim = a.ndim

        def expand(g, a, axis, keepdims):
            kept = np.ascontiguousarray(g).reshape(to_fixed_tuple(kept_dims(a.shape, axis), ndim))
            return assign(np.empty(a.shape, g.dtype), kept)
        return expand
    return None


def reduce_count(a, y):
    raise NotImplementedError("njit only")


@overload(reduce_count)
def _reduce_count(a, y):
    """How many entries of ``a`` were reduced into each entry of ``y``."""
    if isinstance(a, numba.types.Array) and isinstance(y, numba.types.Array):
        return lambda a, y: a.size // max(y.size, 1)
    if isinstance(a, numba.types.Array) and scalar_type(y):
        return lambda a, y: a.size
    return None


def extreme_weights(a, y, axis, keepdims):
    raise NotImplementedError("njit only")


@overload(extreme_weights)
def _extreme_weights(a, y, axis, keepdims):
    """The indicator of the maximising (minimising) entries of ``a``, ties sharing evenly."""
    if not isinstance(a, numba.types.Array):
        return None
    if scalar_type(y) and isinstance(axis, numba.types.NoneType):
        def whole(a, y, axis, keepdims):
            hit = (a == y).astype(np.float64)
            return hit / hit.sum()
        return whole
    if isinstance(y, numba.types.Array) and _axis_type(axis):
        ndim = a.ndim

        def along(a, y, axis, keepdims):
            kept = to_fixed_tuple(kept_dims(a.shape, axis), ndim)
            hit = (a == np.ascontiguousarray(y).reshape(kept)).astype(np.float64)
            return hit / sum_to_shape(hit, kept)
        return along
    return None


def matmul_into(out, a, b):
    raise NotImplementedError("njit only")


@overload(matmul_into)
def _matmul_into(out, a, b):
    """``np.matmul(a, b, out=out)`` of two matrices: ``out`` None or a matrix."""
    if not (isinstance(a, numba.types.Array) and isinstance(b, numba.types.Array)
            and a.ndim == 2 and b.ndim == 2):
        return None
    if absent(out):
        return lambda out, a, b: a @ b
    if isinstance(out, numba.types.Array) and out.ndim == 2:
        return lambda out, a, b: assign(out, a @ b)
    return None


def _stubs(name):
    """The twins ``<name>_axes`` (the reduced axes dropped) and ``<name>_kept`` (kept, as
    ``keepdims=True``): two names, so that typing needs no literal and one compiled body
    serves every axis of a type."""
    def stub(suffix):
        def twin(*args):
            raise NotImplementedError("njit only")
        twin.__name__ = twin.__qualname__ = f"{name}_{suffix}"
        return twin
    return stub("axes"), stub("kept")


mean_axes, mean_kept = _stubs("mean")
max_axes, max_kept = _stubs("max")
min_axes, min_kept = _stubs("min")
prod_axes, prod_kept = _stubs("prod")
var_axes, var_kept = _stubs("var")      # (a, axis, ddof)
std_axes, std_kept = _stubs("std")


def _kept(axis):
    """The compiled function giving a reduction's kept shape (an array: the reduced axes
    set to 1) for an ``axis`` of this numba type: None reduces every axis."""
    return all_ones if absent(axis) else kept_dims


def _reduced(a, axis, kept=False):
    """(rank of a reduction of ``a`` along ``axis``, ``a``'s rank), or None when numba
    cannot hold it here (not a float array, an axis of another type); rank 0 is a
    number, ``kept`` keeps the reduced axes."""
    count = a.ndim if absent(axis) else _axis_type(axis)
    if not _float_array(a) or count is None:
        return None
    return (a.ndim, a.ndim) if kept else (a.ndim - count, a.ndim)


@functools.cache
def _shaped(rank, ndim):
    """A compiled function giving a result of the kept shape as one of rank ``rank``: the
    reduced axes dropped (a number for rank 0), or kept as they are (``rank == ndim``)."""
    if rank == ndim:
        return _jit(lambda kept, a, axis: kept)
    if rank == 0:
        return _jit(lambda kept, a, axis: kept.reshape(-1)[0])
    return _jit(lambda kept, a, axis: kept.reshape(
        to_fixed_tuple(_reduced_dims(a.shape, axis), rank)))


def _along(how, kept):
    """The typing of ``mean_*`` (``how`` "mean"), ``prod_*`` (2), ``max_*`` (1) and
    ``min_*`` (-1)."""
    def typer(a, axis):
        ranks = _reduced(a, axis, kept)
        if ranks is None:
            return None
        rank, ndim = ranks
        shaped, kept_of = _shaped(rank, ndim), _kept(axis)
        if how == "mean":
            def mean(a, axis):
                total = sum_to_shape(a, to_fixed_tuple(kept_of(a.shape, axis), ndim))
                return shaped(total / (a.size // max(total.size, 1)), a, axis)
            return mean

        def reduce(a, axis):
            if a.size == 0 and how != 2:
                raise ValueError("zero-size array to reduction operation which has no identity")
            return shaped(reduce_to_shape(a, to_fixed_tuple(kept_of(a.shape, axis), ndim), how),
                          a, axis)
        return reduce
    return typer


def _spread(root, kept):
    """The typing of ``var_*`` and (``root``) ``std_*``: the mean of the squared
    distances to the mean, over ``n - ddof`` entries."""
    def typer(a, axis, ddof):
        ranks = _reduced(a, axis, kept)
        if ranks is None or not isinstance(ddof, numba.types.Integer):
            return None
        rank, ndim = ranks
        shaped, kept_of = _shaped(rank, ndim), _kept(axis)

        def spread(a, axis, ddof):
            shape = to_fixed_tuple(kept_of(a.shape, axis), ndim)
            src, groups, mean, n = _centred(a, shape)
            v = np.zeros(shape, a.dtype)
            flat = v.reshape(-1)
            for i in range(src.size):
                d = src[i] - mean[groups[i]]
                flat[groups[i]] += d * d
            v /= max(n - ddof, 0)
            return shaped(np.sqrt(v) if root else v, a, axis)
        return spread
    return typer


for _twins, _typing in (((mean_axes, mean_kept), lambda k: _along("mean", k)),
                        ((prod_axes, prod_kept), lambda k: _along(2, k)),
                        ((max_axes, max_kept), lambda k: _along(1, k)),
                        ((min_axes, min_kept), lambda k: _along(-1, k)),
                        ((var_axes, var_kept), lambda k: _spread(False, k)),
                        ((std_axes, std_kept), lambda k: _spread(True, k))):
    for _twin, _k in zip(_twins, (False, True), strict=True):
        overload(_twin)(_typing(_k))


@_jit
def _centred(a, shape):
    """``a``'s entries in C order, the group each is reduced into (``shape`` is the kept
    shape), the groups' means (flat) and the entries per group."""
    src = np.ascontiguousarray(a).reshape(-1)
    groups = group_index(a.shape, shape)
    mean = np.zeros(shape, a.dtype).reshape(-1)
    for i in range(src.size):
        mean[groups[i]] += src[i]
    n = src.size // max(mean.size, 1)
    mean /= n
    return src, groups, mean, n


def var_weights(a, axis, ddof):
    raise NotImplementedError("njit only")


@overload(var_weights)
def _var_weights(a, axis, ddof):
    """d var / d a = 2 (a - mean) / (n - ddof), the mean taken along ``axis``."""
    if _reduced(a, axis) is None or not isinstance(ddof, numba.types.Integer):
        return None
    ndim, kept_of = a.ndim, _kept(axis)

    def weights(a, axis, ddof):
        src, groups, mean, n = _centred(a, to_fixed_tuple(kept_of(a.shape, axis), ndim))
        out = np.empty(a.size, a.dtype)
        for i in range(src.size):
            out[i] = 2.0 * (src[i] - mean[groups[i]]) / (n - ddof)
        return out.reshape(a.shape)
    return weights


def std_weights(a, y, axis, ddof, keepdims):
    raise NotImplementedError("njit only")


@overload(std_weights)
def _std_weights(a, y, axis, ddof, keepdims):
    """d std / d a = (a - mean) / ((n - ddof) std); 0 where std is no larger than the
    rounding of the mean (the NumPy kernel's rule, same threshold)."""
    if _reduced(a, axis) is None or not isinstance(ddof, numba.types.Integer) \
            or not (scalar_type(y) or isinstance(y, numba.types.Array)):
        return None
    ndim, kept_of = a.ndim, _kept(axis)
    eps = float(np.finfo(np.dtype(str(a.dtype))).eps)

    def weights(a, y, axis, ddof, keepdims):
        shape = to_fixed_tuple(kept_of(a.shape, axis), ndim)
        src, groups, mean, n = _centred(a, shape)
        big = reduce_to_shape(np.abs(a), shape, 1).reshape(-1)
        s = np.ascontiguousarray(np.asarray(y)).reshape(-1)
        out = np.empty(a.size, a.dtype)
        for i, at in enumerate(groups):
            if s[at] <= n * eps * big[at]:
                out[i] = 0.0
            else:
                out[i] = (src[i] - mean[at]) / ((n - ddof) * s[at])
        return out.reshape(a.shape)
    return weights


def prod_others(a, axis):
    raise NotImplementedError("njit only")


def _prod_others(a, axis):
    """For each entry, the product of the other entries along the reduced axes: a product
    from the left (C order) times one from the right, per reduced group; exact with
    zeros, no division."""
    if _reduced(a, axis) is None:
        return None
    ndim, kept_of = a.ndim, _kept(axis)

    def others(a, axis):
        shape = to_fixed_tuple(kept_of(a.shape, axis), ndim)
        groups = group_index(a.shape, shape)
        src = np.ascontiguousarray(a).reshape(-1)
        out = np.empty(a.size, a.dtype)
        acc = np.ones(shape, a.dtype).reshape(-1)
        for i in range(src.size):
            out[i] = acc[groups[i]]
            acc[groups[i]] *= src[i]
        acc[:] = 1.0
        for i in range(src.size - 1, -1, -1):
            out[i] *= acc[groups[i]]
            acc[groups[i]] *= src[i]
        return out.reshape(a.shape)
    return others


overload(prod_others)(_prod_others)

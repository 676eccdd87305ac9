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

from srcad.numba_arrays import (_jit, assign, kept_dims, reduce_to_shape, scalar_type,
                                sum_to_shape)


def _axis_type(axis):
    """The number of axes an ``axis`` of this numba type names, or None."""
    if isinstance(axis, numba.types.Integer):
        return 1
    if isinstance(axis, numba.types.BaseTuple) and axis.count \
            and all(isinstance(t, numba.types.Integer) for t in axis.types):
        return axis.count      # (literal ints type as a tuple of literals, not a UniTuple)
    return None


def _none(t):
    return isinstance(t, (numba.types.NoneType, numba.types.Omitted))


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
    if _none(out) and _counted(g):             # bools and ints sum as int64, as in NumPy
        def counts(out, g, axis):
            return sum_to_shape(g.astype(np.int64), to_fixed_tuple(kept_dims(g.shape, axis),
                                                                   ndim))
        return counts
    if not _float_array(g):
        return None
    if _none(out):
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
    if ranks is None:
        return None
    rank, ndim = ranks
    if _none(out):
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
    if _none(out):
        return lambda out, a, b: a @ b
    if isinstance(out, numba.types.Array) and out.ndim == 2:
        return lambda out, a, b: assign(out, a @ b)
    return None


def mean_axes(a, axis, keepdims):
    raise NotImplementedError("njit only")


def max_axes(a, axis, keepdims):
    raise NotImplementedError("njit only")


def min_axes(a, axis, keepdims):
    raise NotImplementedError("njit only")


def _reduced(a, axis, keepdims=None):
    """(rank of a reduction of ``a`` along ``axis``, ``a``'s rank), or None when numba
    cannot hold it here (not a float array, a reduction down to a number without
    ``keepdims``). ``keepdims``, when given, is a literal bool (typing refuses others)."""
    count = _axis_type(axis)
    if not _float_array(a) or count is None:
        return None
    if keepdims is not None:
        if not isinstance(keepdims, numba.types.BooleanLiteral):
            return None
        if keepdims.literal_value:
            return a.ndim, a.ndim
    return (a.ndim - count, a.ndim) if a.ndim - count >= 1 else None


@functools.cache
def _shaped(rank, ndim):
    """A compiled function giving a result of the kept shape as one of rank ``rank``: the
    reduced axes dropped, or kept as they are when ``rank == ndim``."""
    if rank == ndim:
        return _jit(lambda kept, a, axis: kept)
    return _jit(lambda kept, a, axis: kept.reshape(
        to_fixed_tuple(_reduced_dims(a.shape, axis), rank)))


@overload(mean_axes, prefer_literal=True)
def _mean_axes(a, axis, keepdims):
    """``np.mean(a, axis=axis, keepdims=keepdims)``."""
    ranks = _reduced(a, axis, keepdims)
    if ranks is None:
        return None
    rank, ndim = ranks
    shaped = _shaped(rank, ndim)

    def mean(a, axis, keepdims):
        kept = sum_to_shape(a, to_fixed_tuple(kept_dims(a.shape, axis), ndim))
        return shaped(kept, a, axis) / (a.size // max(kept.size, 1))
    return mean


def _extreme(larger):
    def typer(a, axis, keepdims):
        ranks = _reduced(a, axis, keepdims)
        if ranks is None:
            return None
        rank, ndim = ranks
        shaped = _shaped(rank, ndim)

        def extreme(a, axis, keepdims):
            if a.size == 0:
                raise ValueError("zero-size array to reduction operation which has no identity")
            kept = reduce_to_shape(a, to_fixed_tuple(kept_dims(a.shape, axis), ndim),
                                   1 if larger else -1)
            return shaped(kept, a, axis)
        return extreme
    return typer


overload(max_axes, prefer_literal=True)(_extreme(True))
overload(min_axes, prefer_literal=True)(_extreme(False))

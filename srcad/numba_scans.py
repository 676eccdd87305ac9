"""Numba twins of the cumulative sums and products along an axis: the primal
(``np.cumsum(x, axis=1)``: numba's own ``cumsum`` flattens and takes no axis), the
cotangent and the tangent (``srcad/kernels/reductions.py``: ``cumsum_back``,
``cumsum_tangent``, ``cumprod_back``, ``cumprod_tangent``).

Each moves the scanned axis last into a C-ordered copy of shape (rows, n), runs one
loop along each row and moves the axis back (``axis`` None: the flattened array,
as NumPy does). The product's cotangent is the zero-safe recursion
``s[j] = g[j] + a[j+1] s[j+1]``, ``a_bar[j] = y[j-1] s[j]`` (``y[-1]`` = 1), and its
tangent ``dy[i] = dy[i-1] a[i] + y[i-1] da[i]``: no quotient, so zeros need no second
form (the NumPy kernel divides when it can; the two agree to rounding). A tangent
twin takes one direction (shaped like the argument); vector mode stays NumPy code.
"""
import functools

import numba
import numpy as np
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple

from srcad.numba_arrays import _jit, absent


@_jit
def _moved_last(ndim, axis):
    """The permutation moving ``axis`` last, the others in order."""
    axis = axis % ndim
    perm = np.empty(ndim, np.int64)
    j = 0
    for k in range(ndim):
        if k != axis:
            perm[j] = k
            j += 1
    perm[ndim - 1] = axis
    return perm


@functools.cache
def _rows_typing(ndim, flat):
    """``rows(x, axis) -> (x2, perm)`` and ``back(out2, shape, perm)`` for arrays of rank
    ``ndim``: ``x2`` C-ordered (rows, n) with the axis last; ``flat``: ``axis`` is None."""
    if flat:
        def rows(x, axis):
            return np.ascontiguousarray(x).reshape(1, x.size), np.arange(ndim)

        def back(out2, shape, perm):
            return out2.reshape(-1)
        return numba.njit(rows), numba.njit(back)

    def rows(x, axis):
        perm = _moved_last(ndim, axis)
        moved = np.ascontiguousarray(np.transpose(x, to_fixed_tuple(perm, ndim)))
        n = moved.shape[ndim - 1]
        return moved.reshape(moved.size // n if n else 0, n), perm

    def back(out2, shape, perm):
        moved = np.empty(ndim, np.int64)
        for k in range(ndim):
            moved[k] = shape[perm[k]]
        full = out2.reshape(to_fixed_tuple(moved, ndim))
        return np.ascontiguousarray(np.transpose(full, to_fixed_tuple(np.argsort(perm), ndim)))
    return numba.njit(rows), numba.njit(back)


def _arrays(*ts):
    return all(isinstance(t, numba.types.Array) and isinstance(t.dtype, numba.types.Float)
               for t in ts)


def _common(*ts):
    """The NumPy scalar type of the result of arrays of these numba types."""
    return np.result_type(*(np.dtype(str(t.dtype)) for t in ts)).type


def _axis_ok(axis):
    return absent(axis) or isinstance(axis, numba.types.Integer)


def _scan(kind):
    """The typing of ``kind(x, axis)``: "sum" (cumsum), "prod" (cumprod), "rsum" (the
    reversed cumulative sum: cumsum's cotangent, shaped like ``x``)."""
    def typer(x, axis):
        if not (_arrays(x) and _axis_ok(axis)):
            return None
        rows, back = _rows_typing(x.ndim, absent(axis))
        keep_shape = kind == "rsum"

        def impl(x, axis):
            x2, perm = rows(x, axis)
            out = np.empty_like(x2)
            for r in range(x2.shape[0]):
                n = x2.shape[1]
                if kind == "rsum":
                    acc = 0.0
                    for j in range(n - 1, -1, -1):
                        acc += x2[r, j]
                        out[r, j] = acc
                else:
                    acc = 0.0 if kind == "sum" else 1.0
                    for j in range(n):
                        acc = acc + x2[r, j] if kind == "sum" else acc * x2[r, j]
                        out[r, j] = acc
            y = back(out, x.shape, perm)
            return y.reshape(x.shape) if keep_shape else y
        return impl
    return typer


def cumsum_axes(a, axis):
    raise NotImplementedError("njit only")


def cumprod_axes(a, axis):
    raise NotImplementedError("njit only")


def reversed_cumsum(g, axis):
    raise NotImplementedError("njit only")


overload(cumsum_axes)(_scan("sum"))
overload(cumprod_axes)(_scan("prod"))
overload(reversed_cumsum)(_scan("rsum"))


def cumsum_back(g, a, axis):
    raise NotImplementedError("njit only")


@overload(cumsum_back)
def _cumsum_back(g, a, axis):
    """The cotangent of ``cumsum(a, axis)``: a reversed cumulative sum, shaped like ``a``."""
    if not (_arrays(g, a) and _axis_ok(axis)):
        return None
    if absent(axis):
        return lambda g, a, axis: reversed_cumsum(g, axis).reshape(a.shape)
    if g.ndim != a.ndim:
        return None
    return lambda g, a, axis: reversed_cumsum(g, axis)


def cumsum_tangent(dx, a, axis):
    raise NotImplementedError("njit only")


@overload(cumsum_tangent)
def _cumsum_tangent(dx, a, axis):
    if not (_arrays(dx, a) and _axis_ok(axis)) or dx.ndim != a.ndim:
        return None
    return lambda dx, a, axis: cumsum_axes(dx, axis)


def cumprod_back(g, a, y, axis):
    raise NotImplementedError("njit only")


@overload(cumprod_back)
def _cumprod_back(g, a, y, axis):
    if not (_arrays(g, a, y) and _axis_ok(axis)) or g.ndim != y.ndim:
        return None
    rows, back = _rows_typing(a.ndim, absent(axis))
    common = _common(g, a)

    def impl(g, a, y, axis):
        a2, perm = rows(a, axis)
        y2, _ = rows(y, axis)
        g2, _ = rows(g, axis)
        out = np.empty(a2.shape, common)
        n = a2.shape[1]
        for r in range(a2.shape[0]):
            s = 0.0
            for j in range(n - 1, -1, -1):
                s = g2[r, j] + (a2[r, j + 1] * s if j + 1 < n else 0.0)
                out[r, j] = (y2[r, j - 1] if j > 0 else 1.0) * s
        return back(out, a.shape, perm).reshape(a.shape)
    return impl


def cumprod_tangent(da, a, y, axis):
    raise NotImplementedError("njit only")


@overload(cumprod_tangent)
def _cumprod_tangent(da, a, y, axis):
    if not (_arrays(da, a, y) and _axis_ok(axis)) or da.ndim != a.ndim:
        return None
    rows, back = _rows_typing(a.ndim, absent(axis))
    common = _common(da, a)

    def impl(da, a, y, axis):
        a2, perm = rows(a, axis)
        y2, _ = rows(y, axis)
        d2, _ = rows(da, axis)
        out = np.empty(a2.shape, common)
        for r in range(a2.shape[0]):
            dy = 0.0
            for i in range(a2.shape[1]):
                dy = dy * a2[r, i] + (y2[r, i - 1] if i > 0 else 1.0) * d2[r, i]
                out[r, i] = dy
        return back(out, a.shape, perm)
    return impl

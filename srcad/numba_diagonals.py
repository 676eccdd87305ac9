"""Numba twins of the diagonal kernels of matrices (``srcad/kernels/linalg.py``):
``trace_back``/``trace_tangent`` and ``diag_back``/``diag_tangent``, for 2-d matrices
(and ``np.diag``'s vectors) and one tangent direction; stacks of matrices and vector
mode stay NumPy code (typing returns None: the backend refuses or falls back).

The ``k``-th diagonal of an (n, m) matrix holds the entries (i, i + k) for
max(0, -k) <= i < min(n, m - k), as in NumPy.
"""
import numba
import numpy as np
from numba.extending import overload

from srcad.numba_arrays import _jit, scalar_type


@_jit
def _first_last(n, m, k):
    return max(0, -k), min(n, m - k)


@_jit
def diagonal_of(a, k):
    """A new array of the ``k``-th diagonal of the matrix ``a``."""
    lo, hi = _first_last(a.shape[0], a.shape[1], k)
    out = np.empty(max(hi - lo, 0), a.dtype)
    for i in range(lo, hi):
        out[i - lo] = a[i, i + k]
    return out


@_jit
def on_diagonal(values, shape, k, dtype_of):
    """Zeros of ``shape`` (a matrix) with ``values`` on its ``k``-th diagonal, in the
    dtype of ``dtype_of``."""
    out = np.zeros(shape, dtype_of.dtype)
    lo, hi = _first_last(shape[0], shape[1], k)
    for i in range(lo, hi):
        out[i, i + k] = values[i - lo]
    return out


def _matrix(t):
    return isinstance(t, numba.types.Array) and t.ndim == 2 \
        and isinstance(t.dtype, numba.types.Float)


def _plain_axes(axis1, axis2):
    """``axis1``/``axis2`` of a 2-d trace: ints (which of the two orders is checked
    when it runs)."""
    return isinstance(axis1, numba.types.Integer) and isinstance(axis2, numba.types.Integer)


def trace_back(g, a, offset, axis1, axis2):
    raise NotImplementedError("njit only")


@overload(trace_back)
def _trace_back(g, a, offset, axis1, axis2):
    """``g`` (a number) on the ``offset`` diagonal of a matrix shaped like ``a``."""
    if not (_matrix(a) and scalar_type(g) and _plain_axes(axis1, axis2)):
        return None

    def impl(g, a, offset, axis1, axis2):
        out = np.zeros(a.shape, np.float64)
        swap = axis1 % 2 == 1
        if axis1 % 2 == axis2 % 2:
            raise ValueError("trace: axis1 and axis2 cannot be the same")
        n, m = (a.shape[1], a.shape[0]) if swap else (a.shape[0], a.shape[1])
        lo, hi = _first_last(n, m, offset)
        for i in range(lo, hi):
            if swap:
                out[i + offset, i] = g
            else:
                out[i, i + offset] = g
        return out
    return impl


def trace_tangent(da, a, offset, axis1, axis2):
    raise NotImplementedError("njit only")


@overload(trace_tangent)
def _trace_tangent(da, a, offset, axis1, axis2):
    if not (_matrix(a) and _matrix(da) and _plain_axes(axis1, axis2)):
        return None

    def impl(da, a, offset, axis1, axis2):
        if axis1 % 2 == axis2 % 2:
            raise ValueError("trace: axis1 and axis2 cannot be the same")
        return np.sum(diagonal_of(da.T if axis1 % 2 == 1 else da, offset))
    return impl


def diag_back(g, v, k):
    raise NotImplementedError("njit only")


@overload(diag_back)
def _diag_back(g, v, k):
    """The cotangent of ``np.diag(v, k)``: of a vector, the ``k``-th diagonal of ``g``;
    of a matrix, ``g`` on that diagonal."""
    if not isinstance(k, numba.types.Integer):
        return None
    if _matrix(g) and isinstance(v, numba.types.Array) and v.ndim == 1:
        return lambda g, v, k: diagonal_of(g, k)
    if _matrix(v) and isinstance(g, numba.types.Array) and g.ndim == 1:
        return lambda g, v, k: on_diagonal(g, v.shape, k, np.empty(0, np.float64))
    return None


def diag_tangent(dv, v, k):
    raise NotImplementedError("njit only")


@overload(diag_tangent)
def _diag_tangent(dv, v, k):
    if not isinstance(k, numba.types.Integer) or not isinstance(dv, numba.types.Array) \
            or not isinstance(v, numba.types.Array) or dv.ndim != v.ndim:
        return None
    if v.ndim == 2:
        return lambda dv, v, k: diagonal_of(dv, k)
    if v.ndim == 1:
        def impl(dv, v, k):
            n = v.shape[0] + abs(k)
            return on_diagonal(dv, (n, n), k, np.empty(0, np.float64))
        return impl
    return None

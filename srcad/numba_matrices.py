"""Numba twins of the kernels of one matrix (``srcad/kernels/linalg.py``): its trace and
diagonals (``trace_back``/``trace_tangent``, ``diag_back``/``diag_tangent``, also of
``np.diag``'s vectors), a linear solve's cotangent (``solve_adjoint`` and the column
helpers), the determinant's, and ``np.dot``'s of vectors, matrices and numbers
(``dot_back_a``/``_b``, ``dot_tangent_a``/``_b``); one tangent direction. Stacks of
matrices and vector mode stay NumPy code (typing returns None: the backend refuses or falls back).

The ``k``-th diagonal of an (n, m) matrix holds the entries (i, i + k) for
max(0, -k) <= i < min(n, m - k), as in NumPy.
"""
import numba
import numpy as np
from numba.extending import overload

from srcad import numba_kernels
from srcad.kernels import linalg
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


def solve_col(v, b):
    raise NotImplementedError("njit only")


@overload(solve_col)
def _solve_col(v, b):
    """``v`` as a column when the right-hand side ``b`` is a vector."""
    if not isinstance(v, numba.types.Array) or not isinstance(b, numba.types.Array):
        return None
    if b.ndim == 1 and v.ndim == 1:
        return lambda v, b: np.ascontiguousarray(v).reshape((v.shape[0], 1))
    if b.ndim == 2 and v.ndim == 2:
        return lambda v, b: v
    return None


def solve_uncol(v, b):
    raise NotImplementedError("njit only")


@overload(solve_uncol)
def _solve_uncol(v, b):
    if not isinstance(v, numba.types.Array) or not isinstance(b, numba.types.Array) \
            or v.ndim != 2:
        return None
    if b.ndim == 1:
        return lambda v, b: v[:, 0]
    if b.ndim == 2:
        return lambda v, b: v
    return None


def solve_adjoint(g, a, b):
    raise NotImplementedError("njit only")


@overload(solve_adjoint)
def _solve_adjoint(g, a, b):
    """``solve(a.T, g)`` in column form: the cotangent of the right-hand side (one
    matrix ``a``; stacks stay NumPy code)."""
    if not (_matrix(a) and isinstance(g, numba.types.Array)
            and isinstance(b, numba.types.Array) and g.ndim == b.ndim <= 2):
        return None
    return lambda g, a, b: np.linalg.solve(np.ascontiguousarray(a.T), solve_col(g, b))


def solve_pad(d, x, rank):
    raise NotImplementedError("njit only")


@overload(solve_pad)
def _solve_pad(d, x, rank):
    """One direction (``d`` shaped like ``x``) needs no padding."""
    if isinstance(d, numba.types.Array) and isinstance(x, numba.types.Array) \
            and d.ndim == x.ndim:
        return lambda d, x, rank: d
    return None


def det_back(g, a, y):
    raise NotImplementedError("njit only")


@overload(det_back)
def _det_back(g, a, y):
    """d det(a) / d a = det(a) inv(a).T, one matrix."""
    if _matrix(a) and scalar_type(g) and scalar_type(y):
        return lambda g, a, y: (g * y) * np.linalg.inv(a).T
    return None


def det_tangent(da, a, y):
    raise NotImplementedError("njit only")


@overload(det_tangent)
def _det_tangent(da, a, y):
    if _matrix(a) and _matrix(da) and scalar_type(y):
        return lambda da, a, y: y * np.sum(np.linalg.inv(a).T * da)
    return None


def outer_tangent(dt, t, other, first):
    raise NotImplementedError("njit only")


@overload(outer_tangent)
def _outer_tangent(dt, t, other, first):
    """The term of ``np.outer``'s tangent from the operand ``t`` (one direction)."""
    if not (isinstance(dt, numba.types.Array) and isinstance(t, numba.types.Array)
            and dt.ndim == t.ndim and isinstance(other, numba.types.Array)):
        return None

    def impl(dt, t, other, first):
        if first:
            return np.outer(np.ravel(dt), np.ravel(other))
        return np.outer(np.ravel(other), np.ravel(dt))
    return impl


def _arrays_of_rank(a, b):
    """Are ``a`` and ``b`` arrays of rank 1 or 2 (``np.dot`` is then ``a @ b``)?"""
    return all(isinstance(t, numba.types.Array) and t.ndim in (1, 2) for t in (a, b))


def _dot_back(first):
    """The typing of ``dot_back_a`` (``first``) or ``dot_back_b``: a product by a number
    (the cotangent times the other operand, summed when this operand is the number), or
    the matrix product's cotangent."""
    def typer(g, a, b):
        mine, other = (a, b) if first else (b, a)
        if scalar_type(a) and scalar_type(b):
            return (lambda g, a, b: g * b) if first else (lambda g, a, b: g * a)
        if scalar_type(mine) and isinstance(other, numba.types.Array):
            return (lambda g, a, b: np.sum(g * b)) if first else (lambda g, a, b: np.sum(g * a))
        if isinstance(mine, numba.types.Array) and mine.ndim >= 1 and scalar_type(other):
            return (lambda g, a, b: g * b) if first else (lambda g, a, b: g * a)
        if _arrays_of_rank(a, b):
            back = numba_kernels.matmul_back_a if first else numba_kernels.matmul_back_b
            return lambda g, a, b: back(g, a, b)
        return None
    return typer


def _dot_tangent(first):
    """The typing of ``dot_tangent_a`` (``first``) or ``dot_tangent_b``: the tangent term
    of this operand (one direction: the tangent has the operand's rank, or is a number)."""
    def typer(d, a, b, y):
        if scalar_type(a) or scalar_type(b):
            return (lambda d, a, b, y: d * b) if first else (lambda d, a, b, y: a * d)
        if _arrays_of_rank(a, b):
            term = numba_kernels.matmul_tangent_a if first else numba_kernels.matmul_tangent_b
            return lambda d, a, b, y: term(d, a, b, y)
        return None
    return typer


def dot_back_a(g, a, b):
    raise NotImplementedError("njit only")


def dot_back_b(g, a, b):
    raise NotImplementedError("njit only")


def dot_tangent_a(da, a, b, y):
    raise NotImplementedError("njit only")


def dot_tangent_b(db, a, b, y):
    raise NotImplementedError("njit only")


overload(dot_back_a)(_dot_back(True))
overload(dot_back_b)(_dot_back(False))
overload(dot_tangent_a)(_dot_tangent(True))
overload(dot_tangent_b)(_dot_tangent(False))

# the NumPy kernels and their twins (by identity); see srcad/numba_runtime.py
TWINS = {linalg.trace_back: trace_back, linalg.trace_tangent: trace_tangent,
         linalg.diag_back: diag_back, linalg.diag_tangent: diag_tangent,
         linalg.solve_adjoint: solve_adjoint, linalg.solve_col: solve_col,
         linalg.solve_uncol: solve_uncol, linalg.solve_pad: solve_pad,
         linalg.det_back: det_back, linalg.det_tangent: det_tangent,
         linalg.outer_tangent: outer_tangent,
         linalg.dot_back_a: dot_back_a, linalg.dot_back_b: dot_back_b,
         linalg.dot_tangent_a: dot_tangent_a, linalg.dot_tangent_b: dot_tangent_b}

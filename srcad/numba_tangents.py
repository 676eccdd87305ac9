"""Numba twins of the forward-mode runtime that second derivatives call.

Forward mode over the inlined code of a gradient (``hessian``, ``hvp``) calls what
first-order code does not: the copy of a constant tangent (``own``), a materialised
zero tangent, the tangent of an array after ``x[idx] = value``, the tangent of
``float(v)``, the tangent of one item of a tuple (the inner gradient returns
``(value, (grads...))``), and the guards of the inner gradient's in-place updates.
Each gives the NumPy runtime's result (``srcad/runtime.py``) on what numba holds
(numbers, arrays, tuples of them); typing refuses the rest, and the backend then says
so at the user's line (or falls back). A guard that finds two arrays sharing memory
raises a plain ValueError: the call layer then runs the NumPy code on the same
arguments, whose guard raises the error that names the user's line.
"""
import numba
import numpy as np
from numba.extending import overload

from srcad.kernels import sequences
from srcad.numba_arrays import absent, assign, scalar_type


def _float_of(t):
    """The dtype an array tangent of values of numba type ``t`` has (floats stay)."""
    dtype = np.dtype(str(t.dtype))
    return np.result_type(dtype, np.float32).type if dtype.kind in "fc" else np.float64


def own(c):
    raise NotImplementedError("njit only")


@overload(own)
def _own(c):
    """A tangent of its own: an array is copied."""
    if isinstance(c, numba.types.Array):
        return lambda c: c.copy()
    if scalar_type(c):
        return lambda c: c
    return None


def add_cot(a, b):
    raise NotImplementedError("njit only")


@overload(add_cot)
def _add_cot(a, b):
    """``a + b`` for cotangents (numbers and arrays): a zero number on one side gives the
    other side, an array a copy of its own (the sweep may update it in place)."""
    arrays = [isinstance(t, numba.types.Array) for t in (a, b)]
    if not all(scalar_type(t) or isinstance(t, numba.types.Array) for t in (a, b)):
        return None
    if not any(arrays):
        return lambda a, b: a + b
    if arrays == [False, True]:
        return lambda a, b: b.copy() if a == 0 else a + b
    if arrays == [True, False]:
        return lambda a, b: a if b == 0 else a + b
    return lambda a, b: a + b


def zero_tangent(x):
    raise NotImplementedError("njit only")


@overload(zero_tangent)
def _zero_tangent(x):
    """A materialised zero tangent for ``x``: zeros of its shape (float), or 0.0."""
    if isinstance(x, numba.types.Array):       # (x's own dtype, as the runtime's: no promotion)
        own_dtype = np.dtype(str(x.dtype))
        dtype = own_dtype.type if own_dtype.kind in "fc" else np.float64
        return lambda x: np.zeros(x.shape, dtype)
    if scalar_type(x):
        return lambda x: 0.0
    return None


def builtin_float_tangent(dx, x):
    raise NotImplementedError("njit only")


@overload(builtin_float_tangent)
def _builtin_float_tangent(dx, x):
    """The tangent of ``float(x)``: ``float(dx)`` (numbers)."""
    if scalar_type(dx) and scalar_type(x):
        return lambda dx, x: float(dx)
    return None


def builtin_float_back(g, x):
    raise NotImplementedError("njit only")


@overload(builtin_float_back)
def _builtin_float_back(g, x):
    """The cotangent of ``float(x)`` (reverse over reverse: a gradient ends in ``float``)."""
    if scalar_type(g) and scalar_type(x):
        return lambda g, x: float(g)
    if scalar_type(g) and isinstance(x, numba.types.Array):
        return lambda g, x: np.full(x.shape, g)
    return None


def tuple_item(t, x, idx):
    """The implementation of ``tangent_item`` (srcad/numba_runtime.py) for the tangent
    ``t`` of the tuple ``x`` at the literal index ``idx``: ``t[idx]``, or 0.0 where the
    item carries no derivative (an integer, a bool)."""
    if not (isinstance(t, numba.types.BaseTuple) and isinstance(x, numba.types.BaseTuple)
            and isinstance(idx, numba.types.IntegerLiteral)):
        return None
    k = idx.literal_value
    if not -len(x.types) <= k < len(x.types) or len(t.types) != len(x.types):
        return None
    item = x.types[k]
    if isinstance(item, (numba.types.Integer, numba.types.Boolean)) or (
            isinstance(item, numba.types.Array) and np.dtype(str(item.dtype)).kind not in "fc"):
        return lambda t, x, idx, vector: 0.0
    scope = {}
    exec(f"def item(t, x, idx, vector):\n    return t[{k}]\n", scope)
    return scope["item"]


def tuple_out(t, y, out):
    """The implementation of ``tangent_out`` (srcad/numba_runtime.py, passed as ``out``)
    for the output tuple ``y`` (a gradient of several arguments): each item's tangent
    made the item's own, in a tuple; a number tangent (zero) for every item."""
    if not isinstance(y, numba.types.BaseTuple) or isinstance(y, numba.types.NamedTuple):
        return None
    if isinstance(t, numba.types.BaseTuple) and len(t.types) == len(y.types):
        items = [f"out(t[{k}], y[{k}], vector)" for k in range(len(y.types))]
    elif scalar_type(t):
        items = [f"out(t, y[{k}], vector)" for k in range(len(y.types))]
    else:
        return None
    if not items:
        return None
    scope = {"out": out}
    exec(f"def each(t, y, vector):\n    return ({', '.join(items)},)\n", scope)
    return scope["each"]


def tangent_setitem(t, x, idx, v, vector, value=None):
    raise NotImplementedError("njit only")


@overload(tangent_setitem, prefer_literal=True)
def _tangent_setitem(t, x, idx, v, vector, value=None):
    """The tangent of the array ``x`` after ``x[idx] = value``: the tangent ``t`` made
    full and copied (another tangent may be a view of it), ``v`` written at ``idx``. The
    tangent of one direction only (``vector`` False)."""
    if not (isinstance(x, numba.types.Array) and isinstance(vector, numba.types.BooleanLiteral)
            and not vector.literal_value and (value is None or absent(value))
            and (scalar_type(v) or isinstance(v, numba.types.Array))):
        return None
    dtype = _float_of(x)
    if scalar_type(t):
        def from_number(t, x, idx, v, vector, value=None):
            out = np.full(x.shape, t, dtype)
            out[idx] = v
            return out
        return from_number
    if isinstance(t, numba.types.Array) and t.ndim == x.ndim:
        common = np.result_type(np.dtype(str(t.dtype)), dtype).type

        def from_array(t, x, idx, v, vector, value=None):
            out = assign(np.empty(x.shape, common), t)      # a copy, broadcast if need be
            out[idx] = v
            return out
        return from_array
    return None


def _extent(a):
    """The first and one-past-last byte addresses of the array ``a`` (0, 0 when empty)."""
    raise NotImplementedError("njit only")


@overload(_extent)
def _extent_impl(a):
    if not isinstance(a, numba.types.Array):
        return None

    def extent(a):
        if a.size == 0:
            return 0, 0
        lo = hi = a.ctypes.data
        for k in range(a.ndim):
            step = (a.shape[k] - 1) * a.strides[k]
            if step < 0:
                lo += step
            else:
                hi += step
        return lo, hi + a.itemsize
    return extent


def _meets(x, o):
    raise NotImplementedError("njit only")


@overload(_meets)
def _meets_impl(x, o):
    """May the array ``x`` share memory with ``o`` (an array, a number, a tuple of
    these)? The bounds test of ``np.may_share_memory``."""
    if isinstance(o, numba.types.Array):
        def arrays(x, o):
            lo, hi = _extent(x)
            olo, ohi = _extent(o)
            return lo < ohi and olo < hi
        return arrays
    if scalar_type(o) or absent(o) or isinstance(o, (numba.types.UnicodeType,
                                                     numba.types.StringLiteral)):
        return lambda x, o: False
    if isinstance(o, numba.types.BaseTuple):     # each item in turn, written out
        tests = " or ".join(f"_meets(x, o[{k}])" for k in range(len(o.types))) or "False"
        scope = {"_meets": _meets}
        exec(f"def items(x, o):\n    return {tests}\n", scope)
        return scope["items"]
    return None


def not_shared(x, name, filename, lineno, *others):
    raise NotImplementedError("njit only")


@overload(not_shared)
def _not_shared(x, name, filename, lineno, *others):
    """The guard before an in-place update of the array ``x``: no other value the code
    still reads may see its memory (numbers pass; lists and dicts are not numba's)."""
    if scalar_type(x):
        return lambda x, name, filename, lineno, *others: None
    if not isinstance(x, numba.types.Array):
        return None

    def guard(x, name, filename, lineno, *others):
        if _meets(x, others):
            raise ValueError("an array updated in place shares memory with another value")
    return guard


def not_shared_item(container, idx, name, filename, lineno, *others):
    raise NotImplementedError("njit only")


@overload(not_shared_item)
def _not_shared_item(container, idx, name, filename, lineno, *others):
    """``not_shared`` of the array ``container`` before ``container[idx] += ...``."""
    if not isinstance(container, numba.types.Array):
        return None

    def guard(container, idx, name, filename, lineno, *others):
        if _meets(container, others):
            raise ValueError("an array updated in place shares memory with another value")
    return guard


# the NumPy kernels generated code names bare, and their twins (by identity)
TWINS = {sequences.builtin_float_tangent: builtin_float_tangent,
         sequences.builtin_float_back: builtin_float_back}

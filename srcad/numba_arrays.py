"""Array primitives of the numba runtime: the compiled copy, and sums back to a shape.

Shared by ``srcad/numba_runtime.py`` (what generated code calls as ``_rt``) and
``srcad/numba_axes.py`` (its reductions along axes). Compiled under srcad's signed
cache (``numba_cache.private()``), never numba's own.
"""
import numba
import numpy as np
from numba.extending import overload

from srcad import numba_cache

_jit = numba_cache.private()

# the NumPy forms of ``a / b``, ``a ** b`` and ``a ** 0.5`` on numbers inside a chain loop
# (transforms/numba_chains.py): inf and nan where NumPy's arrays give them, never
# Python's ZeroDivisionError
np_divide, np_power, np_sqrt = np.true_divide, np.power, np.sqrt
_WIDE = (numba.types.float64, numba.types.int64, numba.types.boolean)


def absent(t):
    """Is the numba type ``t`` a None (or an argument left out)?"""
    return isinstance(t, (numba.types.NoneType, numba.types.Omitted))


def scalar_type(t):
    """Is the numba type ``t`` a number (or a bool)?"""
    return isinstance(t, (numba.types.Number, numba.types.Boolean))


@_jit
def assign(out, src):
    """``out[...] = src`` for an array ``src`` of ``out``'s rank (broadcast along its
    length-1 axes, cast to ``out``'s dtype). The runtime copies through this, never
    with a slice assignment: numba's slice assignment compiles its shape-error message
    (string formatting) the first time in a process, about 4 s of a first call's
    compile; a ufunc into ``out`` costs a quarter of that."""
    for k in range(out.ndim):
        if src.shape[k] != out.shape[k] and src.shape[k] != 1:
            raise ValueError("assign: the value does not broadcast to the buffer's shape")
    np.positive(src, out)
    return out


@_jit
def sum_to_shape(g, shape):
    """``g`` summed over the axes where ``shape`` (of ``g``'s rank) has length 1 and
    ``g`` has more: the cotangent of an operand that broadcast along them."""
    for k in range(len(shape)):
        if shape[k] != g.shape[k] and shape[k] != 1:
            raise ValueError("unbroadcast: the cotangent does not broadcast from its value")
    return reduce_to_shape(g, shape, 0)


@_jit
def reduce_to_shape(g, shape, how):
    """``g`` reduced over the axes where ``shape`` has length 1 and ``g`` has more: summed
    (``how`` 0), multiplied (2), or its largest (1) or smallest (-1) entries, a NaN winning
    as in NumPy. One loop over ``g`` in C order, each entry added into (multiplied into,
    compared with) the entry of the result it lands in."""
    if how == 0:
        out = np.zeros(shape, g.dtype)
    elif how == 2:
        out = np.ones(shape, g.dtype)
    else:
        out = np.full(shape, -np.inf if how > 0 else np.inf, g.dtype)
    flat = out.reshape(-1)
    src = np.ascontiguousarray(g).reshape(-1)
    ndim = len(shape)
    for i in range(src.size):
        rest = i
        at = 0
        step = 1
        for k in range(ndim - 1, -1, -1):
            n = g.shape[k]
            if shape[k] != 1:
                at += (rest % n) * step
            rest //= n
            step *= shape[k]
        v = src[i]
        if how == 0:
            flat[at] += v
        elif how == 2:
            flat[at] *= v
        elif v != v or (v > flat[at] if how > 0 else v < flat[at]):
            flat[at] = v
    return out


@_jit
def kept_dims(shape, axis):
    """``shape`` as an array with the axes in ``axis`` (an int or a tuple) set to 1."""
    dims = np.empty(len(shape), np.int64)
    for k in range(len(shape)):
        dims[k] = shape[k]
    for a in np.atleast_1d(np.asarray(axis)):
        dims[a % len(shape)] = 1
    return dims


@_jit
def all_ones(shape, axis):
    """The kept shape of a reduction over every axis (``axis`` None), as ``kept_dims``."""
    return np.ones(len(shape), np.int64)


@_jit
def group_index(shape, kept):
    """For each entry of an array of ``shape`` in C order, the flat index of the entry of
    the kept shape ``kept`` (the reduced axes of length 1) it is reduced into."""
    size = 1
    for n in shape:
        size *= n
    out = np.empty(size, np.int64)
    ndim = len(shape)
    for i in range(size):
        rest = i
        at = 0
        step = 1
        for k in range(ndim - 1, -1, -1):
            n = shape[k]
            if kept[k] != 1:
                at += (rest % n) * step
            rest //= n
            step *= kept[k]
        out[i] = at
    return out


def wide(a, ref):
    raise NotImplementedError("njit only")


@overload(wide)
def _wide(a, ref):
    """May ``a`` join a chain loop over ``ref``'s entries (transforms/numba_chains.py): a
    real number, or a C-contiguous float64, int64 or bool array of ``ref``'s shape (the
    loop's results are float64: an operand of another dtype runs the statements)."""
    if isinstance(a, (numba.types.Integer, numba.types.Boolean)) or a == numba.types.float64:
        return lambda a, ref: True
    if isinstance(a, numba.types.Array) and isinstance(ref, numba.types.Array) \
            and a.ndim == ref.ndim and a.layout == "C" and a.dtype in _WIDE:
        return lambda a, ref: a.shape == ref.shape
    return lambda a, ref: False


@_jit
def floats_like(ref):
    """A new float64 array of ``ref``'s shape: a chain loop's result."""
    return np.empty(ref.shape, np.float64)


def neg_power(a, e):
    raise NotImplementedError("njit only")


@overload(neg_power)
def _neg_power(a, e):
    """``a ** e`` for a negative int ``e`` (transforms/numba_chains.py, ``negative_powers``):
    a float base as NumPy computes it, a zero giving inf (numba's integer power of a
    float raises ZeroDivisionError there); any other base as numba's ``**``."""
    if isinstance(a, numba.types.Array) and isinstance(a.dtype, numba.types.Float):
        kind = a.dtype
        return lambda a, e: np.power(a, kind(e))
    if isinstance(a, numba.types.Float):
        return lambda a, e: np.power(a, float(e))
    if isinstance(a, numba.types.Integer):     # Python: an int to a negative power is a float
        return lambda a, e: float(a) ** e      # (numba's integer power gives 0 for 2 ** -2)
    return lambda a, e: a ** e


def py_power(a, e):
    raise NotImplementedError("njit only")


@overload(py_power)
def _py_power(a, e):
    """``a ** e`` for an exponent that is no int constant (transforms/numba_chains.py,
    ``negative_powers``): a float base to an int power as NumPy computes it (inf at a zero
    base); an int to an int power is not compiled: Python gives a float for a negative
    exponent and an exact integer of any size otherwise, numba an int64 either way."""
    if isinstance(a, numba.types.Integer) and isinstance(e, numba.types.Integer):
        raise numba.core.errors.TypingError(
            "srcad refuses: an integer to the power of an integer that is not a constant "
            "(Python gives a float for a negative exponent and an exact integer of any "
            "size otherwise, numba a 64-bit integer)")
    if isinstance(a, numba.types.Float) and isinstance(e, numba.types.Integer):
        return lambda a, e: np.power(a, float(e))
    return lambda a, e: a ** e

"""What numba-compiled generated code calls as ``_rt``: njit-able twins of the runtime.

The numba backend (``srcad/numba_backend.py``) binds ``_rt`` to this module in the
generated module, and each kernel that has a twin here (``TWINS``) to its twin. A
helper generated code names that has no twin stays a Python function, which numba
refuses to call: the backend reports that at the user's line (and falls back with
``backend="auto"``). Each twin gives the result of the NumPy one on the values
numba can hold (scalars, arrays); typing refuses the rest.

The loop-record helpers (``floats``, ``ints``, ``bools``, ``reserve``, ``room``,
``trips``, ``last_of_range``) serve ``transforms/numba_form.py``'s stacks.
``seed_value`` and ``seed_pair`` run in the Python entry, before the core: ``grad``'s
seed object becomes 1.0 (the core checks the output is a scalar before the reverse
sweep).

Nothing here uses numba's own disk cache (unsigned pickles wherever
``NUMBA_CACHE_DIR`` points): plain twins are compiled under ``numba_cache.private()``
(signed files in the disk cache's folder), and the ``@overload`` twins (typed per
call) are compiled into the core that calls them, whose signed files hold them.
Array copies go through ``assign``, never a slice assignment (see there).
"""
import inspect
import math

import numba
import numpy as np
from numba.extending import overload

from srcad import (numba_kernels, numba_matrices, numba_perms, numba_scans, numba_tangents,
                   runtime)
from srcad.numba_entry import kept, out_or_new, seed_pair, seed_value  # noqa: F401
from srcad.numba_tangents import (add_cot, not_shared, not_shared_item, own,  # noqa: F401
                                  tangent_setitem, zero_tangent)
from srcad.numba_kernels import (flip_axes, item_acc, matmul,  # noqa: F401  (generated: _rt.*)
                                 ndim, reshape_c)
from srcad.numba_scans import cumprod_axes, cumsum_axes  # noqa: F401
from srcad.kernels import broadcast, elementwise, power, reductions, scalar, sequences
from srcad.numba_arrays import _jit, assign, sum_to_shape
from srcad.numba_arrays import (floats_like, neg_power, np_divide, np_power, py_power,  # noqa: F401
                                np_sqrt, wide)
from srcad.numba_arrays import scalar_type as _scalar
# (generated code names these as _rt.*)
from srcad.numba_axes import (extreme_weights, matmul_into, max_axes, max_kept,  # noqa: F401
                              mean_axes, mean_kept, min_axes, min_kept, prod_axes, prod_kept,
                              prod_others, reduce_count, reduce_expand, std_axes, std_kept,
                              std_weights, sum_axes, sum_kept, var_axes, var_kept, var_weights)


# ------------------------------------------------------------ loop records

@_jit
def floats(n):
    return np.empty(n, np.float64)


@_jit
def ints(n):
    return np.empty(n, np.int64)


@_jit
def bools(n):
    return np.empty(n, np.bool_)


@_jit
def reserve(a, need):
    """``a``, or a copy with room for ``need`` items (at least twice as long)."""
    if need <= a.shape[0]:
        return a
    b = np.empty(max(need, 2 * a.shape[0]), a.dtype)
    for i in range(a.shape[0]):
        b[i] = a[i]
    return b


@_jit
def unset_as(value, stand_in):
    """A loop record's item that may still be None (a value the body assigns on some
    paths only): ``stand_in`` for the stack, which holds numbers. The reverse loop reads
    a restored item only on the paths that assigned it; the primal keeps its None."""
    if value is None:
        return stand_in
    return value


@_jit
def room(a, sp):
    """``a`` with room for the item at ``sp`` (doubling when full)."""
    if sp < a.shape[0]:
        return a
    return reserve(a, sp + 1)


@_jit
def trips(start, stop, step):
    """len(range(start, stop, step))."""
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // (-step))


@_jit
def last_of_range(start, stop, step):
    """The last value of range(start, stop, step) (start - step when it is empty)."""
    return start + (trips(start, stop, step) - 1) * step


# ------------------------------------------------------------ the runtime's helpers

def grad_seed(seed, value):
    """The seed, once the output is known to be a value the seed fits."""
    raise NotImplementedError("njit only")


@overload(grad_seed)
def _grad_seed(seed, value):
    if _scalar(seed) and _scalar(value):
        return lambda seed, value: seed
    if isinstance(seed, numba.types.Array) and isinstance(value, numba.types.Array):
        return lambda seed, value: seed
    if _scalar(seed) and isinstance(value, numba.types.Array):
        def not_scalar(seed, value):       # grad of an array output: grad reports it
            raise ValueError("grad needs a scalar output")
        return not_scalar
    return None


def zeros_cot(x):
    raise NotImplementedError("njit only")


@overload(zeros_cot)
def _zeros_cot(x):
    if isinstance(x, numba.types.Array):
        if isinstance(x.dtype, (numba.types.Float, numba.types.Complex)):
            return lambda x: np.zeros(x.shape, x.dtype)
        return lambda x: np.zeros(x.shape, np.float64)
    if _scalar(x):
        return lambda x: 0.0
    return None


def finalize_array(c, x):
    raise NotImplementedError("njit only")


@overload(finalize_array)
def _finalize_array(c, x):
    """The gradient of array argument ``x`` from its cotangent ``c`` (a new array of
    ``x``'s shape and dtype; ``c`` itself when it is one)."""
    if not isinstance(x, numba.types.Array):
        return None
    if isinstance(c, numba.types.Array) and c.dtype == x.dtype and c.ndim == x.ndim:
        def same(c, x):
            if c.shape == x.shape:
                return c
            return assign(np.empty(x.shape, x.dtype), c)
        return same
    if isinstance(c, numba.types.Array) and c.ndim == x.ndim:
        def cast(c, x):
            return assign(np.empty(x.shape, x.dtype), c)
        return cast
    if _scalar(c):
        def fill(c, x):
            return np.full(x.shape, c, x.dtype)
        return fill
    return None


def unbroadcast(g, x):
    raise NotImplementedError("njit only")


@overload(unbroadcast)
def _unbroadcast(g, x):
    """Sum ``g`` down to ``x``'s shape: scalars, and arrays (the leading axes ``x`` lacks
    summed away first)."""
    if _scalar(x) and _scalar(g):
        return lambda g, x: g
    if _scalar(x) and isinstance(g, numba.types.Array):
        return lambda g, x: g.sum()
    if isinstance(x, numba.types.Array) and isinstance(g, numba.types.Array) \
            and g.ndim == x.ndim:
        def same_rank(g, x):
            if g.shape == x.shape:
                return g
            return sum_to_shape(g, x.shape)
        return same_rank
    if isinstance(x, numba.types.Array) and isinstance(g, numba.types.Array) \
            and g.ndim > x.ndim:
        cut = g.ndim - x.ndim

        def leading(g, x):
            lead = 1
            for k in range(cut):
                lead *= g.shape[k]
            rows = np.ascontiguousarray(g).reshape((lead,) + g.shape[cut:])
            return sum_to_shape(rows.sum(axis=0), x.shape)
        return leading
    return None


def numbers_only(a, b, op, filename, lineno):
    raise NotImplementedError("njit only")


@overload(numbers_only)
def _numbers_only(a, b, op, filename, lineno):
    """The guard before ``a + b`` or ``a * b`` on values that may be sequences: numbers
    and arrays pass; a list or tuple (joined or repeated) is left to the NumPy backend,
    whose guard raises srcad's error."""
    def sequence(t):
        return isinstance(t, (numba.types.BaseTuple, numba.types.List, numba.types.ListType))
    if sequence(a) or sequence(b):
        return None
    return lambda a, b, op, filename, lineno: None


def fits(a, ref):
    raise NotImplementedError("njit only")


@overload(fits)
def _fits(a, ref):
    """May ``a`` join an elementwise loop over ``ref``'s entries (transforms/numba_loops.py):
    a number, or a C-contiguous array of ``ref``'s shape."""
    if _scalar(a):
        return lambda a, ref: True
    if isinstance(a, numba.types.Array) and isinstance(ref, numba.types.Array) \
            and a.ndim == ref.ndim and a.layout == "C":
        return lambda a, ref: a.shape == ref.shape
    return lambda a, ref: False         # (an array typed as maybe strided: the calls run)


def flat(a):
    raise NotImplementedError("njit only")


@overload(flat)
def _flat(a):
    """A C-contiguous array as a 1-d view of its entries; a number as it is. (An array
    typed as maybe strided never joins a loop, ``fits``; it gets a copy, to type.)"""
    if _scalar(a):
        return lambda a: a
    if isinstance(a, numba.types.Array) and a.layout == "C":
        return lambda a: a.reshape(-1)
    if isinstance(a, numba.types.Array):
        return lambda a: a.ravel()
    return None


def acc_zero(a):
    raise NotImplementedError("njit only")


@overload(acc_zero)
def _acc_zero(a):
    """The start of a sum of ``a``'s entries: 0 for integers and booleans (``a.sum()`` is
    an integer there), 0.0 otherwise."""
    if isinstance(a, numba.types.Array) and isinstance(
            a.dtype, (numba.types.Integer, numba.types.Boolean)):
        return lambda a: 0
    return lambda a: 0.0


def item(a, i):
    raise NotImplementedError("njit only")


@overload(item)
def _item(a, i):
    """Entry ``i`` of a 1-d view; a number as it is."""
    if _scalar(a):
        return lambda a, i: a
    if isinstance(a, numba.types.Array) and a.ndim == 1:
        return lambda a, i: a[i]
    return None


def unbroadcast_into(out, g, x):
    raise NotImplementedError("njit only")


@overload(unbroadcast_into)
def _unbroadcast_into(out, g, x):
    """``unbroadcast(g, x)`` written into ``out`` (an array shaped like ``x``), or a new
    value when ``out`` is None or shaped otherwise."""
    if isinstance(out, (numba.types.NoneType, numba.types.Omitted)):
        return lambda out, g, x: unbroadcast(g, x)
    if not isinstance(out, numba.types.Array):
        return None
    if not (isinstance(x, numba.types.Array) and x.ndim == out.ndim):
        return None
    if _scalar(g):
        def fill(out, g, x):
            if x.shape != out.shape:        # a new value, as the NumPy kernel gives
                return np.full(x.shape, g, out.dtype)
            out.fill(g)
            return out
        return fill
    if isinstance(g, numba.types.Array) and g.ndim == out.ndim:
        def into(out, g, x):
            if x.shape != out.shape:
                return assign(np.empty(x.shape, out.dtype), sum_to_shape(g, x.shape))
            if g.shape == out.shape:
                return assign(out, g)
            return assign(out, sum_to_shape(g, out.shape))
        return into
    return None


def pow_dbase(a, b):
    raise NotImplementedError("njit only")


@overload(pow_dbase)
def _pow_dbase(a, b):
    """d(a**b)/da = b * a**(b-1), taken as 0 where b == 0 (scalars, or float arrays and
    scalars broadcast together: entry by entry, as ``np.where`` picks in NumPy). The power
    is NumPy's: a zero base under a negative exponent gives inf, not ZeroDivisionError."""
    if _scalar(a) and _scalar(b):
        def scalar(a, b):
            if b == 2:
                return 2.0 * a
            if b == 3:
                return 3.0 * (a * a)
            if b == 0:
                return a * 0.0
            return b * np.power(a * 1.0, b - 1.0)
        return scalar
    floats = [isinstance(t, numba.types.Array)
              and isinstance(t.dtype, (numba.types.Float, numba.types.Integer)) for t in (a, b)]
    if any(floats) and all(f or _scalar(t) for f, t in zip(floats, (a, b), strict=True)):
        def arrays(a, b):
            A, B = np.broadcast_arrays(np.asarray(a).astype(np.float64),
                                       np.asarray(b).astype(np.float64))
            out = np.empty(A.shape, np.float64)
            flat = out.reshape(-1)
            i = 0
            for at in np.ndindex(A.shape):
                bv = B[at]
                flat[i] = 0.0 if bv == 0 else bv * np.power(A[at], bv - 1.0)
                i += 1
            return out
        return arrays
    return None


def full_tangent(t, x):
    raise NotImplementedError("njit only")


@overload(full_tangent)
def _full_tangent(t, x):
    """A tangent that may merely broadcast to ``x`` (a scalar to an array), made full.
    ``x`` may be an optional number: a return value not set yet (None) on a path that
    did not return."""
    if (_scalar(x) or isinstance(x, numba.types.Optional) and _scalar(x.type)) \
            and _scalar(t):
        return lambda t, x: t
    if isinstance(x, numba.types.Array) and isinstance(t, numba.types.Array) \
            and t.ndim == x.ndim:
        common = np.result_type(np.dtype(str(t.dtype)), np.dtype(str(x.dtype))).type

        def same_rank(t, x):        # (broadcast along its length-1 axes, as NumPy's)
            return t if t.shape == x.shape else assign(np.empty(x.shape, common), t)
        return same_rank
    if isinstance(x, numba.types.Array) and _scalar(t):
        return lambda t, x: np.full(x.shape, t)
    return None


def tangent_item(t, x, idx, vector):
    raise NotImplementedError("njit only")


@overload(tangent_item, prefer_literal=True)
def _tangent_item(t, x, idx, vector):
    """The tangent of ``x[idx]``: a scalar tangent of an array is the zero tangent; an
    item of a tuple at a literal index (numba_tangents.tuple_item)."""
    if isinstance(t, numba.types.BaseTuple):
        return numba_tangents.tuple_item(t, x, idx)
    if _scalar(t):
        return lambda t, x, idx, vector: 0.0
    if isinstance(t, numba.types.Array) and isinstance(x, numba.types.Array) \
            and t.ndim == x.ndim:
        return lambda t, x, idx, vector: t[idx]
    return None


def tangent_out(t, y, vector):
    raise NotImplementedError("njit only")


@overload(tangent_out)
def _tangent_out(t, y, vector):
    """The output tangent shaped and typed like the output ``y``."""
    if isinstance(y, numba.types.BaseTuple):
        return numba_tangents.tuple_out(t, y, tangent_out)
    if _scalar(y) and _scalar(t):
        return lambda t, y, vector: t
    if isinstance(y, numba.types.Array) and isinstance(t, numba.types.Array) \
            and t.ndim == y.ndim:
        def same_rank(t, y, vector):
            return assign(np.empty(y.shape, y.dtype), t)
        return same_rank
    if isinstance(y, numba.types.Array) and _scalar(t):
        return lambda t, y, vector: np.full(y.shape, t, y.dtype)
    return None


def tangent_own(t, y, vector):
    raise NotImplementedError("njit only")


@overload(tangent_own)
def _tangent_own(t, y, vector):
    """``tangent_out`` of a tangent the core made for this alone (a new array nothing
    else holds: transforms/numba_buffers.py ``own_tangents``): returned as it is when it
    has the output's shape and dtype."""
    if isinstance(y, numba.types.Array) and isinstance(t, numba.types.Array) \
            and t.ndim == y.ndim and t.dtype == y.dtype:
        def own(t, y, vector):
            if t.shape == y.shape:
                return t
            return assign(np.empty(y.shape, y.dtype), t)
        return own
    return lambda t, y, vector: tangent_out(t, y, vector)


def broadcast_tangent(dx, x, y):
    raise NotImplementedError("njit only")


@overload(broadcast_tangent)
def _broadcast_tangent(dx, x, y):
    """The tangent ``dx`` of operand ``x`` at the full shape of ``y`` (scalars, one shape)."""
    if _scalar(y) and _scalar(dx):
        return lambda dx, x, y: dx
    if isinstance(y, numba.types.Array) and _scalar(dx):
        return lambda dx, x, y: np.full(y.shape, dx)
    if isinstance(y, numba.types.Array) and isinstance(dx, numba.types.Array) \
            and dx.ndim == y.ndim:
        common = np.result_type(np.dtype(str(dx.dtype)), np.dtype(str(y.dtype))).type

        def same_rank(dx, x, y):     # (broadcast along its length-1 axes, as NumPy's)
            return dx if dx.shape == y.shape else assign(np.empty(y.shape, common), dx)
        return same_rank
    return None


def ratio_or_zero(n, d):
    raise NotImplementedError("njit only")


@overload(ratio_or_zero)
def _ratio_or_zero(n, d):
    """n / d with d taken as 1 where d == 0 (as the NumPy kernel: scalars, or an array d,
    whose dtype the 1 takes)."""
    if _scalar(n) and _scalar(d):
        return lambda n, d: n / (1.0 if d == 0 else d)
    if isinstance(d, numba.types.Array) and (_scalar(n) or isinstance(n, numba.types.Array)):
        return lambda n, d: n / np.where(d == 0, np.ones_like(d), d)
    return None


def pow_log(a):
    raise NotImplementedError("njit only")


@overload(pow_log)
def _pow_log(a):
    """log(a) where a > 0, else 0 (scalars)."""
    if _scalar(a):
        return lambda a: math.log(a) if a > 0 else 0.0
    return None


def builtin_extreme_back(g, y, a, b, larger):
    raise NotImplementedError("njit only")


@overload(builtin_extreme_back)
def _builtin_extreme_back(g, y, a, b, larger):
    """The share of ``g`` going to ``a`` in ``max(a, b)``/``min(a, b)`` of two numbers."""
    if _scalar(a) and _scalar(b) and _scalar(g):
        def two(g, y, a, b, larger):
            if a == b:
                return g * 0.5
            return g * (1.0 if (a > b) == larger else 0.0)
        return two
    return None


def builtin_extreme_back_second(g, y, a, b, larger):
    raise NotImplementedError("njit only")


@overload(builtin_extreme_back_second)
def _builtin_extreme_back_second(g, y, a, b, larger):
    """The share of ``g`` going to ``b`` in ``max(a, b)``/``min(a, b)`` of two numbers."""
    if _scalar(a) and _scalar(b) and _scalar(g):
        def second(g, y, a, b, larger):
            if a == b:
                return g * 0.5
            return g * (1.0 if (b > a) == larger else 0.0)
        return second
    return None


def builtin_extreme_tangent(d, y, a, b, larger):
    raise NotImplementedError("njit only")


@overload(builtin_extreme_tangent)
def _builtin_extreme_tangent(d, y, a, b, larger):
    """The tangent ``d`` of ``a`` times ``a``'s share of ``max(a, b)``/``min(a, b)``."""
    if _scalar(a) and _scalar(b) and _scalar(d):
        def two(d, y, a, b, larger):
            if a == b:
                return d * 0.5
            return d * (1.0 if (a > b) == larger else 0.0)
        return two
    return None


def zero_like(y):
    raise NotImplementedError("njit only")


@overload(zero_like)
def _zero_like(y):
    """The zero cotangent of ``y``: zeros of its shape, or 0.0 for a number. Double
    precision, as the cotangents the seed (a float64) starts are: a float32 loop's
    cotangent is a float64 array in the core (the entry casts the gradient back)."""
    if isinstance(y, numba.types.Array) and isinstance(y.dtype, numba.types.Float):
        return lambda y: np.zeros(y.shape, np.float64)
    if isinstance(y, numba.types.Array) and isinstance(y.dtype, numba.types.Complex):
        return lambda y: np.zeros(y.shape, np.complex128)
    if isinstance(y, (numba.types.Float, numba.types.Integer, numba.types.NoneType,
                      numba.types.Optional)) or isinstance(y, numba.types.Array) \
            and isinstance(y.dtype, (numba.types.Integer, numba.types.Boolean)):
        return lambda y: 0.0        # (a value not set yet, or of no derivative: as before)
    return None


def dense(g, y):
    raise NotImplementedError("njit only")


@overload(dense)
def _dense(g, y):
    """The cotangent ``g`` of ``y`` shaped like ``y``."""
    return _broadcast_tangent(g, y, y) and (lambda g, y: broadcast_tangent(g, y, y))


# the NumPy runtime's kernels and their twins here (by identity); every kernel of
# srcad/kernels/scalar.py (plain math on numbers) is its own twin, compiled
TWINS = {broadcast.unbroadcast: unbroadcast, broadcast.unbroadcast_into: unbroadcast_into,
         power.pow_dbase: pow_dbase,
         reductions.reduce_expand: reduce_expand, reductions.reduce_count: reduce_count,
         reductions.extreme_weights: extreme_weights, reductions.prod_others: prod_others,
         reductions.var_weights: var_weights, reductions.std_weights: std_weights,
         broadcast.broadcast_tangent: broadcast_tangent, power.pow_log: pow_log,
         elementwise.ratio_or_zero: ratio_or_zero,
         sequences.builtin_extreme_back: builtin_extreme_back,
         sequences.builtin_extreme_back_second: builtin_extreme_back_second,
         sequences.builtin_extreme_tangent: builtin_extreme_tangent,
         sequences.builtin_tie_weight: _jit(sequences.builtin_tie_weight)}
TWINS.update(numba_kernels.TWINS)
TWINS.update({reductions.cumsum_back: numba_scans.cumsum_back,
              reductions.cumsum_tangent: numba_scans.cumsum_tangent,
              reductions.cumprod_back: numba_scans.cumprod_back,
              reductions.cumprod_tangent: numba_scans.cumprod_tangent})
TWINS.update(numba_matrices.TWINS)
TWINS.update(numba_perms.TWINS)
TWINS.update(numba_tangents.TWINS)
TWINS.update({runtime.dense: dense,   # (forward mode over generated code names them bare)
              runtime.item_acc: item_acc, runtime.add_cot: add_cot})
TWINS.update({fn: _jit(fn) for fn in vars(scalar).values()
              if inspect.isfunction(fn) and fn.__module__ == scalar.__name__})

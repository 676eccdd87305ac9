"""Numba twins of the elementwise and transpose kernels (``srcad/kernels/elementwise.py``,
``srcad/kernels/shapes.py``): the weights of ``np.maximum``/``np.minimum``, the masks of
``np.clip``, a transpose's cotangent and tangent, and the cotangents of a product of
matrices and vectors and their tangents.

``srcad/numba_runtime.py`` maps each NumPy kernel to its twin here (``TWINS``). A kernel
whose NumPy code numba compiles as it is (``maximum_weight``...) is its own twin,
compiled; the others are typed per call and give NumPy's result on what numba can hold
(numbers, arrays); typing refuses the rest, and the backend then says so at the user's
line (or falls back).
"""
import functools

import numba
import numpy as np
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple

from srcad.kernels import elementwise, linalg, norms, shapes
from srcad.numba_arrays import _jit, absent, assign, scalar_type


def _value(t):
    return scalar_type(t) or isinstance(t, numba.types.Array)


def clip_inside(a, lo, hi):
    raise NotImplementedError("njit only")


@overload(clip_inside)
def _clip_inside(a, lo, hi):
    """1.0 where ``clip`` passes ``a`` through (bounds included), else 0.0."""
    if not _value(a) or not all(absent(t) or _value(t) for t in (lo, hi)):
        return None
    if absent(lo) and absent(hi):
        if scalar_type(a):
            return lambda a, lo, hi: 1.0
        return lambda a, lo, hi: np.ones(a.shape)
    if absent(hi):
        return lambda a, lo, hi: (a >= lo) * 1.0
    if absent(lo):
        return lambda a, lo, hi: (a <= hi) * 1.0
    return lambda a, lo, hi: ((a >= lo) & (a <= hi)) * 1.0


def clip_outside(a, bound, below):
    raise NotImplementedError("njit only")


@overload(clip_outside)
def _clip_outside(a, bound, below):
    """1.0 where ``clip`` replaces ``a`` by ``bound`` (strictly beyond it); None for no
    bound."""
    if absent(bound):
        return lambda a, bound, below: None
    if not (_value(a) and _value(bound)):
        return None
    return lambda a, bound, below: ((a < bound) if below else (a > bound)) * 1.0


def shape_transpose_back(g, a, axes):
    raise NotImplementedError("njit only")


@functools.cache
def _permutation(whole, ndim):
    """A compiled function giving the permutation ``transpose(x, axes)`` applies to an
    ``ndim``-array, as an array: the axes reversed (``whole``: ``axes`` None), else
    ``axes`` made non-negative."""
    if whole:
        return _jit(lambda axes: np.arange(ndim)[::-1].copy())
    return _jit(lambda axes: np.asarray(axes) % ndim)


def _transposed(inverse):
    """The typing of ``shape_transpose_back`` (``inverse``: ``g`` moved back by the
    inverse permutation) and ``shape_transpose_tangent`` (one direction: ``dx`` shaped
    like ``a``, moved as ``a`` is)."""
    def typer(g, a, axes):
        if not (isinstance(g, numba.types.Array) and isinstance(a, numba.types.Array)
                and g.ndim == a.ndim):
            return None
        ndim = a.ndim
        if not (absent(axes) or isinstance(axes, numba.types.BaseTuple)
                and axes.count == ndim
                and all(isinstance(t, numba.types.Integer) for t in axes.types)
                or isinstance(axes, numba.types.Array) and axes.ndim == 1    # (numba_perms)
                and isinstance(axes.dtype, numba.types.Integer)):
            return None
        perm = _permutation(absent(axes), ndim)
        if inverse:
            return lambda g, a, axes: np.transpose(g, to_fixed_tuple(np.argsort(perm(axes)),
                                                                     ndim))
        return lambda g, a, axes: np.transpose(g, to_fixed_tuple(perm(axes), ndim))
    return typer


def shape_transpose_tangent(dx, a, axes):
    raise NotImplementedError("njit only")


overload(shape_transpose_back)(_transposed(True))
overload(shape_transpose_tangent)(_transposed(False))


def matmul_back_a(g, a, b):
    raise NotImplementedError("njit only")


def matmul_back_b(g, a, b):
    raise NotImplementedError("njit only")


def _matmul_ranks(g, a, b):
    """(a's rank, b's rank) of a product of matrices and vectors whose cotangent ``g``
    (None: any) numba can hold, or None (stacks of matrices and zero cotangents are left
    to NumPy)."""
    if not all(isinstance(t, numba.types.Array) and isinstance(t.dtype, numba.types.Float)
               for t in (a, b)) or a.ndim not in (1, 2) or b.ndim not in (1, 2):
        return None
    rank = a.ndim + b.ndim - 2
    if g is None or rank == 0 and scalar_type(g) \
            or isinstance(g, numba.types.Array) and g.ndim == rank:
        return a.ndim, b.ndim
    return None


def _one_dtype(back, g, a, b):
    """For operands of float64 and float32 (a float64 cotangent of a float32 product):
    ``back`` on them in double precision (numba's products take one dtype), else None."""
    dtypes = {t.dtype for t in (g, a, b) if isinstance(t, numba.types.Array)}
    if dtypes != {numba.types.float64, numba.types.float32}:
        return None
    return lambda g, a, b: back(as_double(g), as_double(a), as_double(b))


def as_double(x):
    raise NotImplementedError("njit only")


@overload(as_double)
def _as_double(x):
    if isinstance(x, numba.types.Array) and x.dtype == numba.types.float32:
        return lambda x: x.astype(np.float64)
    return lambda x: x


@overload(matmul_back_a)
def _matmul_back_a(g, a, b):
    """d<g, a @ b>/da."""
    mixed = _one_dtype(matmul_back_a, g, a, b)
    if mixed is not None:
        return mixed
    ranks = _matmul_ranks(g, a, b)
    if ranks == (2, 2):
        return lambda g, a, b: g @ b.T
    if ranks == (1, 2):
        return lambda g, a, b: b @ g
    if ranks == (2, 1):
        return lambda g, a, b: np.outer(g, b)
    if ranks == (1, 1):
        return lambda g, a, b: g * b
    return None


@overload(matmul_back_b)
def _matmul_back_b(g, a, b):
    """d<g, a @ b>/db."""
    mixed = _one_dtype(matmul_back_b, g, a, b)
    if mixed is not None:
        return mixed
    ranks = _matmul_ranks(g, a, b)
    if ranks == (2, 2):
        return lambda g, a, b: a.T @ g
    if ranks == (1, 2):
        return lambda g, a, b: np.outer(a, g)
    if ranks == (2, 1):
        return lambda g, a, b: a.T @ g
    if ranks == (1, 1):
        return lambda g, a, b: g * a
    return None


def item_acc(c, x, idx, g):
    raise NotImplementedError("njit only")


def _basic(idx):
    """Is ``idx`` (a numba type) an int, a slice, or a tuple of them (no arrays, None or
    Ellipsis: an index array adds repeated entries, ``np.add.at``, left to NumPy)?"""
    parts = idx.types if isinstance(idx, numba.types.BaseTuple) else (idx,)
    return all(isinstance(t, (numba.types.Integer, numba.types.SliceType)) for t in parts)


def _gathered(idx, x, g):
    """Is ``idx`` one 1-d int array per axis of ``x`` (``logp[np.arange(n), labels]``),
    with ``g`` the 1-d cotangent of the entries it picks?"""
    parts = idx.types if isinstance(idx, numba.types.BaseTuple) else (idx,)
    return len(parts) == x.ndim and isinstance(g, numba.types.Array) and g.ndim == 1 \
        and all(isinstance(t, numba.types.Array) and t.ndim == 1
                and isinstance(t.dtype, numba.types.Integer) for t in parts)


@_jit
def _add_at(out, parts, g):
    """``np.add.at(out, parts, g)`` for a tuple of 1-d int arrays, one per axis of the
    C-ordered ``out``, each of ``g``'s length: a repeated entry gets each cotangent."""
    for p in parts:
        if p.shape[0] != g.shape[0]:
            raise IndexError("shape mismatch: indexing arrays could not be broadcast")
    flat = out.reshape(-1)
    for k in range(g.shape[0]):
        at = 0
        for a in range(out.ndim):
            i = parts[a][k]
            if i < -out.shape[a] or i >= out.shape[a]:
                raise IndexError("index out of bounds")
            at = at * out.shape[a] + (i + out.shape[a] if i < 0 else i)
        flat[at] += g[k]
    return out


@overload(item_acc)
def _item_acc(c, x, idx, g):
    """``g`` added into the cotangent ``c`` of the float array ``x`` at ``x[idx]``: into
    ``c`` itself when it is an array of ``x``'s shape (as the NumPy helper does), else
    into zeros of ``x``'s shape plus ``c`` (a number, or an array that broadcasts). An
    index of int arrays, one per axis, adds each picked entry's cotangent in turn
    (``np.add.at``)."""
    if isinstance(x, numba.types.Array) and isinstance(x.dtype, numba.types.Float) \
            and _gathered(idx, x, g) \
            and (scalar_type(c) or isinstance(c, numba.types.Array) and c.dtype == x.dtype
                 and c.ndim == x.ndim):
        one = not isinstance(idx, numba.types.BaseTuple)

        def gathered(c, x, idx, g):
            out = np.zeros(x.shape, x.dtype)
            out += c
            return _add_at(out, (idx,) if one else idx, g)
        return gathered
    if not (isinstance(x, numba.types.Array) and isinstance(x.dtype, numba.types.Float)
            and _basic(idx) and (scalar_type(g) or isinstance(g, numba.types.Array))):
        return None
    if scalar_type(c):
        def fresh(c, x, idx, g):
            out = np.zeros(x.shape, x.dtype)
            out += c
            out[idx] += g
            return out
        return fresh
    if isinstance(c, numba.types.Array) and c.ndim == x.ndim and c.dtype == x.dtype:
        def into(c, x, idx, g):
            out = c
            if c.shape != x.shape:
                out = np.zeros(x.shape, x.dtype)
                out += c
            out[idx] += g
            return out
        return into
    return None


def ndim(x):
    raise NotImplementedError("njit only")


@overload(ndim)
def _ndim(x):
    """``np.ndim(x)``: an array's rank, 0 for a number."""
    if isinstance(x, numba.types.Array):
        rank = x.ndim
        return lambda x: rank
    if scalar_type(x):
        return lambda x: 0
    return None


def matmul(a, b):
    raise NotImplementedError("njit only")


@overload(matmul)
def _matmul(a, b):
    """``np.matmul(a, b)`` of matrices and vectors (numba takes only ``a @ b``)."""
    if _matmul_ranks(None, a, b) is None:
        return None
    if a.dtype != b.dtype:
        return lambda a, b: as_double(a) @ as_double(b)
    return lambda a, b: a @ b


def matmul_back_a_into(out, g, a, b):
    raise NotImplementedError("njit only")


def matmul_back_b_into(out, g, a, b):
    raise NotImplementedError("njit only")


def _into(back, rank):
    """The typing of ``back`` written into ``out`` (None, or an array of the operand's
    rank ``rank``): into ``out`` when the shapes agree, else the value itself, as the
    NumPy kernel does (the argument's gradient is then broadcast from it)."""
    def typer(out, g, a, b):
        if absent(out):
            return lambda out, g, a, b: back(g, a, b)
        if isinstance(out, numba.types.Array) and isinstance(a, numba.types.Array) \
                and isinstance(b, numba.types.Array) and out.ndim == rank(a, b):
            def into(out, g, a, b):
                value = back(g, a, b)
                if value.shape == out.shape:
                    return assign(out, value)
                return value
            return into
        return None
    return typer


overload(matmul_back_a_into)(_into(matmul_back_a, lambda a, b: a.ndim))
overload(matmul_back_b_into)(_into(matmul_back_b, lambda a, b: b.ndim))


def matmul_tangent_a(da, a, b, y):
    raise NotImplementedError("njit only")


def matmul_tangent_b(db, a, b, y):
    raise NotImplementedError("njit only")


def _one_direction(d, x, a, b):
    """Is ``d`` one tangent of ``x`` (shaped like it) in a product numba holds?"""
    return isinstance(d, numba.types.Array) and isinstance(x, numba.types.Array) \
        and d.ndim == x.ndim and _matmul_ranks(None, a, b) is not None


@overload(matmul_tangent_a)
def _matmul_tangent_a(da, a, b, y):
    """The term ``da @ b`` of the tangent of ``a @ b`` (one direction)."""
    if _one_direction(da, a, a, b):
        return lambda da, a, b, y: da @ b
    return None


@overload(matmul_tangent_b)
def _matmul_tangent_b(db, a, b, y):
    """The term ``a @ db`` of the tangent of ``a @ b`` (one direction)."""
    if _one_direction(db, b, a, b):
        return lambda db, a, b, y: a @ db
    return None


def _c_order(order):
    """Is ``order`` (a numba type) the literal "C", or left out?"""
    return absent(order) or isinstance(order, numba.types.StringLiteral) \
        and order.literal_value == "C"


def reshape_c(a, shape, order):
    raise NotImplementedError("njit only")


@overload(reshape_c, prefer_literal=True)
def _reshape_c(a, shape, order):
    """``np.reshape(a, shape, order="C")`` of any layout (numba's own reshape takes C
    order only, of contiguous arrays)."""
    if isinstance(a, numba.types.Array) and _c_order(order):
        return lambda a, shape, order: np.ascontiguousarray(a).reshape(shape)
    return None


def array_reshape(a, *shape):
    raise NotImplementedError("njit only")


@overload(array_reshape)
def _array_reshape(a, *shape):
    """``a.reshape(3, 4)`` and ``a.reshape((3, 4))`` (C order)."""
    if not isinstance(a, numba.types.Array):
        return None
    if len(shape) == 1 and isinstance(shape[0], numba.types.BaseTuple):
        return lambda a, *shape: np.ascontiguousarray(a).reshape(shape[0])
    if all(isinstance(t, numba.types.Integer) for t in shape):
        return lambda a, *shape: np.ascontiguousarray(a).reshape(shape)
    return None


def shape_tangent(dx, x, y, order):
    raise NotImplementedError("njit only")


@overload(shape_tangent, prefer_literal=True)
def _shape_tangent(dx, x, y, order):
    """The tangent ``dx`` of ``x`` reshaped like ``y`` (one direction, C order)."""
    if isinstance(dx, numba.types.Array) and isinstance(x, numba.types.Array) \
            and isinstance(y, numba.types.Array) and dx.ndim == x.ndim and _c_order(order):
        return lambda dx, x, y, order: np.ascontiguousarray(dx).reshape(y.shape)
    return None


def flip_axes(a, axis):
    raise NotImplementedError("njit only")


@overload(flip_axes)
def _flip_axes(a, axis):
    """``np.flip(a, axis)``: ``axis`` None (every axis), an int or a tuple of ints."""
    if not isinstance(a, numba.types.Array):
        return None
    ndim = a.ndim
    if absent(axis):
        named = _every_axis
    elif isinstance(axis, numba.types.Integer) or isinstance(axis, numba.types.BaseTuple) \
            and all(isinstance(t, numba.types.Integer) for t in axis.types):
        named = _named_axes
    else:
        return None

    def flip(a, axis):
        out = np.empty_like(a)
        src = np.ascontiguousarray(a).reshape(-1)
        flat = out.reshape(-1)
        turn = named(ndim, axis)
        for i in range(src.size):
            rest, at, step = i, 0, 1
            for k in range(ndim - 1, -1, -1):
                n = a.shape[k]
                j = rest % n
                at += (n - 1 - j if turn[k] else j) * step
                rest //= n
                step *= n
            flat[at] = src[i]
        return out
    return flip


@_jit
def _named_axes(ndim, axis):
    """Which of ``ndim`` axes ``axis`` (an int or a tuple) names, as bools."""
    named = np.zeros(ndim, np.bool_)
    for k in np.atleast_1d(np.asarray(axis)):
        named[k % ndim] = True
    return named


@_jit
def _every_axis(ndim, axis):
    return np.ones(ndim, np.bool_)


def shape_flip_axes(axis, dx, x):
    raise NotImplementedError("njit only")


@overload(shape_flip_axes)
def _shape_flip_axes(axis, dx, x):
    """The axes to flip a tangent along (one direction: the primal's own)."""
    if isinstance(dx, numba.types.Array) and isinstance(x, numba.types.Array) \
            and dx.ndim == x.ndim:
        return lambda axis, dx, x: axis
    return None


def norm_weights(x, nrm, ord, axis, keepdims):
    raise NotImplementedError("njit only")


@overload(norm_weights)
def _norm_weights(x, nrm, ord, axis, keepdims):
    """d norm(x) / d x of the 2-norm of a whole vector or array (``ord`` and ``axis``
    None): x / norm, 0 where the norm is 0. Other norms are left to NumPy."""
    if isinstance(x, numba.types.Array) and isinstance(x.dtype, numba.types.Float) \
            and scalar_type(nrm) and absent(ord) and absent(axis):
        return lambda x, nrm, ord, axis, keepdims: x / (1.0 if nrm == 0 else nrm)
    return None


# the NumPy kernels and their twins (by identity); see srcad/numba_runtime.py
TWINS = {elementwise.maximum_weight: _jit(elementwise.maximum_weight),
         elementwise.inverse_or_zero: _jit(elementwise.inverse_or_zero),
         elementwise.clip_pick: _jit(elementwise.clip_pick),
         elementwise.clip_inside: clip_inside, elementwise.clip_outside: clip_outside,
         shapes.shape_transpose_back: shape_transpose_back,
         shapes.shape_transpose_tangent: shape_transpose_tangent,
         linalg.matmul_back_a: matmul_back_a, linalg.matmul_back_b: matmul_back_b,
         linalg.matmul_back_a_into: matmul_back_a_into,
         linalg.matmul_back_b_into: matmul_back_b_into,
         linalg.matmul_tangent_a: matmul_tangent_a, linalg.matmul_tangent_b: matmul_tangent_b,
         shapes.array_reshape: array_reshape, shapes.shape_tangent: shape_tangent,
         shapes.shape_flip_axes: shape_flip_axes, norms.norm_weights: norm_weights}

"""Kernels that generated code calls for the rules in srcad.transforms.rules.numpy_shapes."""
import numpy as np

from srcad.kernels.broadcast import tangent_lead
from srcad.errors import unsupported_here


def shape_tangent(dx, x, y, order="C"):
    """The tangent ``dx`` of ``x`` reshaped like ``y``, keeping a vector-mode axis."""
    lead = tangent_lead(dx, x)
    if lead and order not in ("C", None):
        return np.stack([np.reshape(d, np.shape(y), order=order) for d in dx])
    return np.reshape(dx, lead + np.shape(y), order=order)


def shape_perm(axes, ndim):
    """The permutation ``transpose(x, axes)`` applies, as non-negative ints."""
    if axes is None:
        return tuple(reversed(range(ndim)))
    return tuple(int(a) % ndim for a in axes)


def shape_transpose_back(g, a, axes):
    return np.transpose(g, np.argsort(shape_perm(axes, np.ndim(a))))


def shape_transpose_tangent(dx, a, axes):
    lead = len(tangent_lead(dx, a))
    perm = shape_perm(axes, np.ndim(a))
    return np.transpose(dx, tuple(range(lead)) + tuple(p + lead for p in perm))


def shape_swap_perm(axis1, axis2, ndim):
    """The permutation ``swapaxes(x, axis1, axis2)`` applies."""
    perm = list(range(ndim))
    i, j = int(axis1) % ndim, int(axis2) % ndim
    perm[i], perm[j] = perm[j], perm[i]
    return tuple(perm)


def shape_move_perm(source, destination, ndim):
    """The permutation ``moveaxis(x, source, destination)`` applies."""
    src = [int(s) % ndim for s in (source if isinstance(source, (tuple, list)) else [source])]
    dst = [int(d) % ndim for d in (destination if isinstance(destination, (tuple, list))
                                   else [destination])]
    order = [n for n in range(ndim) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return tuple(order)


def shape_flip_axes(axis, dx, x):
    lead = len(tangent_lead(dx, x))
    if not lead:
        return axis
    axes = range(np.ndim(x)) if axis is None else np.atleast_1d(axis)
    return tuple(int(a) % np.ndim(x) + lead for a in axes)


def shape_method_axes(axes):
    """``x.transpose()``, ``x.transpose(1, 0)`` and ``x.transpose((1, 0))`` as one ``axes``."""
    if len(axes) == 0:
        return None
    return axes[0] if len(axes) == 1 else axes


def seq_shape(x, ndmin):
    return (1,) * (ndmin - np.ndim(x)) + np.shape(x)


def seq_leaf(p, x):
    """A piece of a cotangent shaped like element ``x`` (a float for a scalar)."""
    if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
        return float(np.reshape(p, ()))
    return np.reshape(p, np.shape(x))


def seq_split(g, xs, axis, ndmin):
    """Cut the cotangent of a concatenation into one piece per element."""
    shapes = [seq_shape(x, ndmin) for x in xs]
    if axis is None:
        g, axis = np.ravel(g), 0
        sizes = [int(np.prod(s)) for s in shapes]
    else:
        axis = axis % len(shapes[0])
        sizes = [s[axis] for s in shapes]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return [seq_leaf(p, x) for p, x in zip(pieces, xs, strict=True)]


def seq_tangents(ds, xs):
    """The vector-mode lead and the tangents of a sequence, zeros for ``None``. A tangent
    without the leading axis of directions (the zero of a constant element) is the same
    in every direction: it is broadcast to it."""
    lead = max((seq_array_lead(d, x) for d, x in zip(ds, xs, strict=True)), key=len,
               default=())
    return lead, [seq_array_tangent(d, x, lead) for d, x in zip(ds, xs, strict=True)]


def seq_concat_tangent(ds, xs, axis, ndmin):
    lead, ts = seq_tangents(ds, xs)
    ts = [np.reshape(t, lead + seq_shape(x, ndmin)) for t, x in zip(ts, xs, strict=True)]
    if axis is None:
        ts, axis = [np.reshape(t, lead + (-1,)) for t in ts], 0
    axis = axis % (ts[0].ndim - len(lead))
    return np.concatenate(ts, axis=axis + len(lead))


def seq_hstack_axis(tup):
    return 0 if np.ndim(tup[0]) <= 1 else 1


def seq_stack_back(g, xs, axis):
    axis = axis % (np.ndim(xs[0]) + 1)
    return [seq_leaf(np.take(g, i, axis=axis), x) for i, x in enumerate(xs)]


def seq_stack_tangent(ds, xs, axis):
    lead, ts = seq_tangents(ds, xs)
    return np.stack(ts, axis=axis % (np.ndim(xs[0]) + 1) + len(lead))


def seq_array_back(g, obj):
    """The cotangent of ``np.array(obj)``, structured like ``obj``."""
    if isinstance(obj, (list, tuple)):
        return [seq_array_back(g[i], o) for i, o in enumerate(obj)]
    return seq_leaf(g, obj)


def seq_array_lead(d, obj):
    """The longest vector-mode lead among the tangents of ``obj``'s entries."""
    if d is None:
        return ()
    if isinstance(obj, (list, tuple)) and isinstance(d, (list, tuple)):
        return max((seq_array_lead(di, oi) for di, oi in zip(d, obj, strict=True)),
                   key=len, default=())
    return tangent_lead(d, obj)


def seq_array_tangent(d, obj, lead=None):
    """The tangent of ``np.array(obj)`` from a tangent structured like ``obj`` (or one
    array for all of it, such as the zero of a constant sequence)."""
    if lead is None:
        lead = seq_array_lead(d, obj)
    if isinstance(obj, (list, tuple)) and d is not None and not isinstance(d, (list, tuple)):
        return np.array(np.broadcast_to(d, lead + np.shape(obj)), dtype=np.result_type(d, 0.0))
    if isinstance(obj, (list, tuple)):
        parts = [seq_array_tangent(None if d is None else di, oi, lead)
                 for di, oi in zip(d if d is not None else [None] * len(obj), obj, strict=True)]
        return np.stack(parts, axis=len(lead))
    if d is None:
        return np.zeros(lead + np.shape(obj))
    return np.array(np.broadcast_to(d, lead + np.shape(obj)), dtype=np.result_type(d, 0.0))


def cast_scale(y):
    """1.0 when the result ``y`` of a conversion keeps the values (a float dtype), 0.0 when
    it holds them rounded to integers or booleans (piecewise constant)."""
    kind = np.result_type(y).kind
    if kind == "c":
        raise unsupported_here("a conversion to a complex dtype: complex numbers are not "
                               "supported on the differentiated path")
    return 1.0 if kind == "f" else 0.0


def array_reshape(a, *shape, order="C"):
    """``a.reshape(*shape)``: what ``x.reshape(3, 4)`` and ``x.reshape((3, 4))`` call."""
    return np.reshape(a, shape[0] if len(shape) == 1 else shape, order=order)


def array_transpose(a, *axes):
    """``a.transpose(*axes)``."""
    return np.transpose(a, shape_method_axes(axes))


def array_flatten(a, order="C"):
    """``a.flatten(order)``: a copy, never a view."""
    return np.asarray(a).flatten(order)


def array_astype(a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """``a.astype(dtype, ...)``."""
    return np.asarray(a).astype(dtype, order=order, casting=casting, subok=subok, copy=copy)


def seq_join(pieces, g, xs, axis, ndmin):
    """The inverse of ``seq_split``: cotangents shaped like ``xs`` joined like ``g``."""
    shapes = [seq_shape(x, ndmin) for x in xs]
    parts = [np.broadcast_to(np.asarray(p, dtype=float), s) for p, s in
             zip(pieces, shapes, strict=True)]
    if axis is None:
        return np.reshape(np.concatenate([np.ravel(p) for p in parts]), np.shape(g))
    return np.reshape(np.concatenate(parts, axis=axis % len(shapes[0])), np.shape(g))


def seq_unstack_back(pieces, g, xs, axis):
    """The inverse of ``seq_stack_back``: one cotangent per element stacked like ``g``."""
    parts = [np.broadcast_to(np.asarray(p, dtype=float), np.shape(x)) for p, x in
             zip(pieces, xs, strict=True)]
    return np.stack(parts, axis=axis % (np.ndim(xs[0]) + 1))

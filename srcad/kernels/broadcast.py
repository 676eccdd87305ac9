"""Broadcasting kernels that generated code calls: a cotangent summed back to its operand's
shape (``unbroadcast``), a tangent aligned with or broadcast to a result's shape (vector mode:
a tangent may carry one extra leading axis)."""
import numpy as np


def fast_shape(v):
    """``np.shape`` without its dispatch cost for the common cases."""
    t = type(v)
    if t is np.ndarray:
        return v.shape
    if t is float or t is int:
        return ()
    return np.shape(v)


def tangent_lead(dx, x):
    """The leading shape of a tangent: ``()``, or ``(k,)`` in vector mode."""
    sd, sx = fast_shape(dx), fast_shape(x)
    return sd[:len(sd) - len(sx)]


def unbroadcast(g, x):
    """Sum the cotangent ``g`` down to the shape of operand ``x``."""
    if type(g) is np.ndarray:
        if type(x) is np.ndarray and g.shape == x.shape:
            return g                        # nothing was broadcast: the common case
        if type(x) is float or type(x) is np.float64:
            return np.add.reduce(g, axis=None).item()     # (g.sum() without its wrapper)
    if type(g) is float and g == 0.0:
        return g                            # a zero cotangent stays zero
    if isinstance(x, (float, int, complex)) and not isinstance(x, bool):
        if isinstance(g, (float, int)):
            return g
        return g.sum().item() if g.ndim else g.item()
    shape = x.shape if hasattr(x, "shape") else \
        np.shape(x) if isinstance(x, (list, tuple)) else ()     # a list operand: array_like
    gshape = g.shape if hasattr(g, "shape") else ()
    if gshape == shape:
        return g
    extra = len(gshape) - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
        gshape = g.shape
    elif extra < 0:                         # g stands for its broadcast to x's rank
        gshape = (1,) * -extra + gshape
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and gshape[i] != 1)
    if axes:
        g = np.reshape(g, gshape)
        g = g.sum(axis=axes, keepdims=True)
    if not shape:
        return g[()] if hasattr(g, "ndim") else g
    return g


def unbroadcast_into(out, g, x):
    """``unbroadcast(g, x)`` written into ``out`` when ``out`` is shaped like ``x``, else
    a new value (``x`` may be a value that the argument's gradient broadcasts from)."""
    if out is None or fast_shape(x) != out.shape:
        return unbroadcast(g, x)
    gshape = fast_shape(g)
    extra = len(gshape) - out.ndim
    if extra > 0 and gshape[extra:] == out.shape:      # only leading axes were broadcast
        np.add.reduce(g, axis=tuple(range(extra)), out=out)
    else:
        np.copyto(out, unbroadcast(g, x))
    return out


def lift_tangent(dx, x, y):
    """Align the tangent ``dx`` of operand ``x`` with the result ``y``'s rank.

    In vector mode ``dx`` has one more (leading) axis than ``x``: unit axes are
    inserted after it so that ``dx`` broadcasts against the other operands the
    way ``x`` does. Otherwise ``dx`` is returned unchanged.
    """
    lead = tangent_lead(dx, x)
    if not lead:
        return dx
    pad = len(fast_shape(y)) - len(fast_shape(x))
    if pad <= 0:
        return dx
    return np.reshape(dx, lead + (1,) * pad + fast_shape(x))


def broadcast_tangent(dx, x, y):
    """The tangent ``dx`` of operand ``x``, broadcast to the full shape of ``y``."""
    lead = tangent_lead(dx, x)
    shape = lead + fast_shape(y)
    dx = lift_tangent(dx, x, y)
    if fast_shape(dx) == shape:
        return dx
    return np.broadcast_to(dx, shape).copy()


def lift_tangent_as(d, dx, x, y):
    """``d`` (shaped like ``dx``) reshaped the way ``lift_tangent(dx, x, y)`` reshapes ``dx``.
    Not a vector helper: it stays when generated code that lifts is differentiated."""
    return np.reshape(d, fast_shape(lift_tangent(dx, x, y)))


def broadcast_tangent_as(d, dx, x, y):
    """``d`` (shaped like ``dx``) broadcast the way ``broadcast_tangent(dx, x, y)`` does."""
    shape = tangent_lead(dx, x) + fast_shape(y)
    return np.broadcast_to(lift_tangent_as(d, dx, x, y), shape).copy()


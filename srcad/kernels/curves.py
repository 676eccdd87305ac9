"""Kernels for the rules of ``gradient``, ``interp`` and ``polyval``
(srcad.transforms.rules.numpy_curves)."""
import numpy as np

from srcad.errors import unsupported_here
from srcad.kernels.broadcast import tangent_lead


def gradient_matrices(f, varargs, axis, edge_order):
    """The axes ``np.gradient`` differentiates along and, per axis, the matrix ``M`` of the
    differences (``M @ f`` along the axis)."""
    nd = np.ndim(f)
    axes = list(range(nd)) if axis is None else \
        [int(axis) % nd] if np.ndim(axis) == 0 else [int(a) % nd for a in axis]
    spacing = [1.0] * len(axes) if not varargs else \
        list(varargs) * len(axes) if len(varargs) == 1 else list(varargs)
    mats = [np.gradient(np.eye(np.shape(f)[a]), h, axis=0, edge_order=edge_order)
            for a, h in zip(axes, spacing, strict=True)]
    return axes, mats


def _along(m, v, axis):
    return np.moveaxis(np.tensordot(m, v, (1, axis)), 0, axis)


def gradient_back(g, f, varargs, axis, edge_order):
    """The cotangent of ``np.gradient``'s ``f`` (``g`` a list when it gave one per axis)."""
    axes, mats = gradient_matrices(f, varargs, axis, edge_order)
    gs = list(g) if isinstance(g, (list, tuple)) else [g] * len(axes)
    arrays = [gk for gk in gs if np.ndim(gk)]
    lead = np.shape(arrays[0])[:np.ndim(arrays[0]) - np.ndim(f)] if arrays else ()
    out = np.zeros(lead + np.shape(f), dtype=np.result_type(np.asarray(f), 0.0))
    for gk, a, m in zip(gs, axes, mats, strict=True):
        if np.ndim(gk):
            out = out + _along(m.T, np.broadcast_to(gk, out.shape), a + len(lead))
    return out


def gradient_tangent(d, f, varargs, axis, edge_order):
    axes, mats = gradient_matrices(f, varargs, axis, edge_order)
    lead = len(tangent_lead(d, f))
    parts = [_along(m, d, a + lead) for a, m in zip(axes, mats, strict=True)]
    return parts[0] if len(parts) == 1 and (axis is None and np.ndim(f) == 1 or
                                            axis is not None and np.ndim(axis) == 0) \
        else tuple(parts)


def interp_weights(x, xp, left, right, period):
    """Where ``np.interp`` reads ``fp`` for each ``x``: the two indices, the slope factor
    ``1 / (xp[i1] - xp[i0])`` and ``xp[i0]`` inside ``xp``'s range (0 outside), then 1 inside
    the range, and the weights of ``fp[0]`` below it and of ``fp[-1]`` above it (0 or 1)."""
    if period is not None:
        raise unsupported_here("np.interp with period= has no derivative rule")
    xp = np.asarray(xp, dtype=float)
    x = np.asarray(x)
    i1 = np.clip(np.searchsorted(xp, x, side="right"), 1, len(xp) - 1)
    i0 = i1 - 1
    inside = (x >= xp[0]) & (x <= xp[-1])
    return (i0, i1, np.where(inside, 1.0 / (xp[i1] - xp[i0]), 0.0), np.where(inside, xp[i0], 0.0),
            inside * 1.0, (x < xp[0]) * float(left is None), (x > xp[-1]) * float(right is None))


def interp_fp_tangent(d, w, w0, w1):
    """The tangent of ``np.interp`` from the tangent ``d`` of ``fp`` (weights ``w0``, ``w1``)."""
    return np.take(d, w[0], axis=-1) * w0 + np.take(d, w[1], axis=-1) * w1


def polyval_powers(p):
    """The power of ``x`` each coefficient of ``np.polyval(p, x)`` multiplies."""
    if np.ndim(p) != 1:
        raise unsupported_here("np.polyval is differentiated for a 1-d array of coefficients")
    return np.arange(len(p) - 1, -1, -1.0)


def polyval_p_tangent(d, p, x):
    v = np.expand_dims(x, -1) ** polyval_powers(p)
    return np.tensordot(d, v, axes=([-1], [-1]))

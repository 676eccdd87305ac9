"""Kernels for the rules of functions that move, repeat, cut or drop entries
(srcad.transforms.rules.numpy_moves): the function applied to the entry numbers of its
operands (``gather_index``, 1-based, so that a filled-in 0 names no entry) tells where each
entry of its result comes from. The cotangent is summed back there (``gather_back``), the
tangent read from there (``gather_tangent``). A result may be a list of arrays (``split``)."""
import numpy as np

from srcad.errors import unsupported_here
from srcad.kernels.broadcast import broadcast_tangent, tangent_lead, unbroadcast
from srcad.kernels.shapes import seq_array_back, seq_array_tangent


def gather_index(x, start=0):
    """The entry numbers of ``x`` (1-based, after ``start`` entries of earlier operands)."""
    return start + 1 + np.arange(np.size(x)).reshape(np.shape(x))


def _local(m, x, start):
    """The entries of ``x`` that the map ``m`` names (0-based), ``size(x)`` for none."""
    idx = np.asarray(m, dtype=np.intp) - (start + 1)
    return np.where((idx >= 0) & (idx < np.size(x)), idx, np.size(x))


def _lead(v, m):
    if isinstance(m, (list, tuple)):
        found = [tangent_lead(vi, mi) for vi, mi in zip(v, m, strict=True) if np.ndim(vi)] \
            if isinstance(v, (list, tuple)) else [tangent_lead(v, m[0])] if m else []
        return max(found, key=len, default=())
    return tangent_lead(v, m)


def _flat(v, m, lead):
    """``v`` (structured like ``m``; a 0.0 stands for zeros) as one array ``lead + (n,)``."""
    if isinstance(m, (list, tuple)):
        items = v if isinstance(v, (list, tuple)) else [v] * len(m)
        parts = [_flat(vi, mi, lead) for vi, mi in zip(items, m, strict=True)]
        return np.concatenate(parts, axis=-1) if parts else np.zeros(lead + (0,))
    return np.reshape(np.broadcast_to(v, lead + np.shape(m)), lead + (-1,))


def _dtype(v, x):
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x.dtype
    return np.result_type(np.asarray(v).dtype if not isinstance(v, list) else float, 0.0)


def gather_back(g, m, x, start=0):
    """The cotangent of operand ``x`` (after ``start`` entries) from the result's ``g``."""
    lead = _lead(g, m)
    out = np.zeros(lead + (np.size(x) + 1,), dtype=_dtype(g, x))
    np.add.at(out, (Ellipsis, _local(_flat(m, m, ()), x, start)), _flat(g, m, lead))
    out = np.reshape(out[..., :-1], lead + np.shape(x))
    return out if lead or isinstance(x, np.ndarray) else seq_array_back(out, x)


def gathers_back(x, g1, m1, g2, m2):
    """The cotangent of operand ``x`` from two gathers of it, summed before it takes the
    structure of a list operand (two such lists added with ``+`` would be joined:
    ``np.interp(t, xp, [a, b])`` lost ``b``'s part)."""
    if not isinstance(x, (list, tuple)):
        return gather_back(g1, m1, x) + gather_back(g2, m2, x)
    stand_in = np.asarray(x)
    total = gather_back(g1, m1, stand_in) + gather_back(g2, m2, stand_in)
    return total if np.ndim(total) > stand_in.ndim else seq_array_back(total, x)


def gather_tangent(d, m, x, start=0):
    """The tangent of the result from the tangent ``d`` of operand ``x``."""
    if isinstance(x, (list, tuple)):            # a sequence operand: its tangents, as one array
        d = seq_array_tangent(d, x)
    lead = tangent_lead(d, x)
    flat = np.concatenate([np.reshape(d, lead + (-1,)),
                           np.zeros(lead + (1,), dtype=np.result_type(d, 0.0))], axis=-1)
    if isinstance(m, (list, tuple)):
        return [flat[..., _local(mi, x, start)] for mi in m]
    return flat[..., _local(m, x, start)]


def partition_index(a, kth, axis):
    """The entry numbers of ``a`` in the order ``np.partition(a, kth, axis)`` puts them."""
    if axis is None:
        return np.ravel(gather_index(a))[np.argpartition(np.ravel(a), kth)]
    return np.take_along_axis(gather_index(a), np.argpartition(a, kth, axis=axis), axis)


PAD_MODES = {"constant": ("constant_values",), "edge": (), "wrap": (), "empty": (),
             "reflect": ("reflect_type",), "symmetric": ("reflect_type",)}


def pad_index(array, pad_width, mode, stat_length, constant_values, end_values, reflect_type):
    """The entry numbers of ``array`` placed as ``np.pad`` places them (0 where it fills in
    a value that is not an entry: the constant, or nothing for ``empty``)."""
    if mode not in PAD_MODES:
        raise unsupported_here(f"np.pad with mode={mode!r} has no derivative rule (the modes "
                               f"that copy entries have one: {', '.join(PAD_MODES)})")
    options = {"reflect_type": reflect_type}
    kw = {k: v for k, v in options.items() if k in PAD_MODES[mode] and v is not None}
    if mode in ("constant", "empty"):
        return np.pad(gather_index(array), pad_width, "constant")
    return np.pad(gather_index(array), pad_width, mode, **kw)


def select_masks(condlist, shape):
    """Where ``np.select`` takes each choice (the first true condition), then the default."""
    taken = np.zeros(shape, dtype=bool)
    masks = []
    for c in condlist:
        m = np.broadcast_to(c, shape) & ~taken
        masks.append(m)
        taken = taken | m
    return masks + [~taken]


def select_back(g, masks, choices):
    """The cotangents of ``np.select``'s choices (a list, one per choice)."""
    return [unbroadcast(np.where(mk, g, 0.0), c) for mk, c in zip(masks, choices, strict=False)]


def select_tangent(ds, masks, choices, y):
    out = 0.0
    for dc, mk, c in zip(ds, masks, choices, strict=False):
        if dc is not None:
            out = out + np.where(mk, broadcast_tangent(dc, c, y), 0.0)
    return out


def not_differentiated(what):
    """The contribution of an argument that the rule does not differentiate: refused."""
    raise unsupported_here(f"{what} has no derivative rule", hint="pass a constant there, or "
                           "register a rule with @srcad.adjoint")



def joint_index(xs):
    """The entry numbers of each array of ``xs``, numbered one after another."""
    starts = _starts(xs)
    return [gather_index(x, s) for x, s in zip(xs, starts, strict=True)]


def _starts(xs):
    return [int(s) for s in np.cumsum([0] + [np.size(x) for x in xs])[:-1]]


def joint_back(g, moved, xs):
    """The cotangent of each array of ``xs`` (a list) from the result's ``g``."""
    return [gather_back(g, moved, x, s) for x, s in zip(xs, _starts(xs), strict=True)]


def joint_tangent(ds, moved, xs):
    """The tangent of the result from the tangents ``ds`` of the arrays ``xs`` (None for a
    constant one)."""
    total = None
    for d, x, s in zip(ds, xs, _starts(xs), strict=True):
        if d is not None:
            t = gather_tangent(d, moved, x, s)
            total = t if total is None else [a + b for a, b in zip(total, t, strict=True)] \
                if isinstance(t, list) else total + t
    return total


def mesh_index(xs, sparse, indexing):
    """Where each entry of ``np.meshgrid(*xs)`` comes from."""
    return np.meshgrid(*joint_index(xs), sparse=sparse, indexing=indexing)


def broadcast_index(xs):
    """Where each entry of ``np.broadcast_arrays(*xs)`` comes from."""
    return [np.array(m) for m in np.broadcast_arrays(*joint_index(xs))]

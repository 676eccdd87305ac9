"""Kernels that generated code calls for the rules in srcad.transforms.rules.numpy_builders."""
import numpy as np

from srcad.kernels.broadcast import tangent_lead, unbroadcast
from srcad.errors import unsupported_here


def range_weights(y, num, endpoint, retstep, axis):
    """The weights ``t`` of ``y = start + (stop - start) * t``, shaped to broadcast along
    ``axis`` of the samples ``y`` (zero for an integer result: rounded samples)."""
    if retstep:
        raise unsupported_here("np.linspace(..., retstep=True) has no derivative rule",
                               hint="compute the step as (stop - start) / (num - 1)")
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    shape = [1] * np.ndim(y)
    shape[axis % np.ndim(y)] = num
    scale = 1.0 if np.result_type(y).kind == "f" else 0.0
    return np.reshape(t, shape) * scale


def range_back(g, w, x, axis):
    return unbroadcast(np.sum(g * w, axis=axis), x)


def range_tangent(d, x, y, w, axis):
    """The tangent of ``w * x`` spread along ``axis`` of ``y`` (keeps a vector-mode axis)."""
    lead = tangent_lead(d, x)
    rest = np.ndim(y) - 1 - np.ndim(x)
    d = np.reshape(d, lead + (1,) * rest + np.shape(x))
    d = np.expand_dims(d, len(lead) + axis % np.ndim(y))
    return np.broadcast_to(d * w, lead + np.shape(y)).copy()


def join_width(x):
    """The columns ``x`` takes in ``np.column_stack``."""
    if np.ndim(x) > 2:
        raise unsupported_here("np.c_ / np.column_stack of arrays of more than two "
                               "dimensions has no derivative rule; use np.concatenate")
    return 1 if np.ndim(x) < 2 else np.shape(x)[1]


def join_piece(p, x):
    if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
        return float(np.reshape(p, ()))
    return np.reshape(p, np.shape(x))


def r_join(parts):
    """``np.r_[a, b, ...]`` for arrays and scalars: ``np.concatenate`` of ``np.atleast_1d``."""
    return np.concatenate([np.atleast_1d(p) for p in parts])


def c_join(parts):
    """``np.c_[a, b, ...]`` for arrays of at most two dimensions: ``np.column_stack``."""
    for p in parts:
        join_width(p)
    return np.column_stack(parts)


def r_join_back(g, parts):
    sizes = [np.shape(np.atleast_1d(p))[0] for p in parts]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=0)
    return [join_piece(q, p) for q, p in zip(pieces, parts, strict=True)]


def c_join_back(g, parts):
    widths = [join_width(p) for p in parts]
    pieces = np.split(g, np.cumsum(widths)[:-1], axis=1)
    return [join_piece(q, p) for q, p in zip(pieces, parts, strict=True)]


def join_tangents(ds, parts, rows):
    """Tangents of the parts shaped for joining (zeros for constant parts), and their
    vector-mode lead: as rows (``r_``) or as columns (``c_``)."""
    leads = [tangent_lead(d, p) for d, p in zip(ds, parts, strict=True) if d is not None]
    lead = max(leads, key=len, default=())     # (a constant part's zero tangent has none)
    out = []
    for d, p in zip(ds, parts, strict=True):
        t = np.broadcast_to(np.asarray(0.0 if d is None else d, dtype=float),
                            lead + np.shape(p))
        if rows:
            shape = np.shape(np.atleast_1d(p))
        else:
            shape = np.shape(p) if np.ndim(p) == 2 else (np.size(p), 1)
        out.append(np.reshape(t, lead + shape))
    return lead, out


def r_join_tangent(ds, parts):
    lead, ts = join_tangents(ds, parts, True)
    return np.concatenate(ts, axis=len(lead))


def c_join_tangent(ds, parts):
    lead, ts = join_tangents(ds, parts, False)
    return np.concatenate(ts, axis=len(lead) + 1)

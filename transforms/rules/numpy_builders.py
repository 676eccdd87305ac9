"""Derivative rules for arrays built from values: ``np.linspace``, ``np.r_[...]``,
``np.c_[...]`` and ``np.column_stack``.

``np.linspace(a, b, n)`` is ``a + (b - a) * t`` with the fixed weights
``t = np.linspace(0, 1, n)``: ``a`` gets ``sum(g * (1 - t))``, ``b`` gets
``sum(g * t)``. ``np.r_[x, y]`` (arrays and scalars, no slices or strings) is
the concatenation of ``np.atleast_1d`` of each part, and ``np.c_[x, y]`` of
arrays of at most two dimensions is ``np.column_stack``: the normal form turns
the subscript into a call of ``r_join``/``c_join`` on the tuple of parts, whose
rules cut the cotangent back into the parts. Any other use of ``r_``/``c_`` on
differentiated values is refused.
"""
import numpy as np

from transforms.rules.registry import (
    forward,
    index_form,
    nondiff,
    reverse,
    tangent_lead,
    unbroadcast,
    unsupported_here,
)

# ---- linspace -----------------------------------------------------------------

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


@reverse(np.linspace)
def linspace_bar(y, g, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
                 *, device=None):
    t = range_weights(y, num, endpoint, retstep, axis)
    return (range_back(g, 1.0 - t, start, axis), range_back(g, t, stop, axis))


@forward(np.linspace)
def linspace_dot(y, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
                 *, device=None):
    t = range_weights(y, num, endpoint, retstep, axis)
    return (lambda da: range_tangent(da, start, y, 1.0 - t, axis),
            lambda db: range_tangent(db, stop, y, t, axis))


# ---- np.r_[...] and np.c_[...] --------------------------------------------------

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


@reverse(r_join)
def r_join_bar(y, g, parts):
    return (r_join_back(g, parts),)


@forward(r_join)
def r_join_dot(y, parts):
    return (lambda ds: r_join_tangent(ds, parts),)


@reverse(c_join, np.column_stack)
def c_join_bar(y, g, parts):
    return (c_join_back(g, parts),)


@forward(c_join, np.column_stack)
def c_join_dot(y, parts):
    return (lambda ds: c_join_tangent(ds, parts),)


# the cotangent helpers are linear in the cotangent (the parts give only shapes):
# forward rules, so a gradient through r_/c_ can be differentiated again
@forward(r_join_back, vector=False)
def r_join_back_dot(y, g, parts):
    return (lambda dg: r_join_back(dg, parts), None)


@forward(c_join_back, vector=False)
def c_join_back_dot(y, g, parts):
    return (lambda dg: c_join_back(dg, parts), None)


index_form(np.r_, r_join)
index_form(np.c_, c_join)

# piecewise-constant helpers (weights, widths): zero derivative where defined
nondiff(range_weights, join_width)

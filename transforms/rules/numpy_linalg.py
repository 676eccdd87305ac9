"""Derivative rules for NumPy linear algebra: products, solves, determinants, diagonals.

``operator.matmul`` (``a @ b``) shares ``np.matmul``'s rule. Products accept
1-D and 2-D operands and, for ``matmul``/``solve``/``inv``/``det``, stacks of
matrices (batch axes broadcast; their cotangents are summed back with
``unbroadcast``). ``np.dot`` and ``np.inner`` also accept scalars; ``np.dot``
of an operand above 2-D is not ``matmul`` and has no rule (use ``@``).
``np.linalg.norm`` is a reduction and lives in numpy_rules.py.

Every forward rule supports vector mode (a leading tangent axis).
"""
import operator

import numpy as np

from transforms.rules.registry import (forward, into_form, lift_tangent, nondiff, reverse,
                                       tangent_lead, unbroadcast, unsupported_here)

# ---- helpers: matrix products -----------------------------------------------

def matmul_cotangent(g, a, b):
    """The cotangent of ``a @ b`` with the axes dropped for 1-D operands put back."""
    g = np.asarray(g)
    if np.ndim(b) == 1:
        g = g[..., None]
    if np.ndim(a) == 1:
        g = g[..., None, :]
    return g


def matmul_back_a(g, a, b):
    if type(g) is float and g == 0.0:       # a zero cotangent (from a nested sweep)
        return np.zeros(np.shape(a))
    if type(g) is np.ndarray and type(b) is np.ndarray and type(a) is np.ndarray \
            and g.ndim == 2 and a.ndim == 2 and b.ndim == 2:
        return g @ b.T                      # matrix @ matrix, the common case
    b = np.asarray(b)                       # np.dot and np.matmul take lists too
    b2 = b[:, None] if np.ndim(b) == 1 else b
    ga = matmul_cotangent(g, a, b) @ np.swapaxes(b2, -1, -2)
    return unbroadcast(ga[..., 0, :] if np.ndim(a) == 1 else ga, a)


def matmul_back_b(g, a, b):
    if type(g) is float and g == 0.0:       # a zero cotangent (from a nested sweep)
        return np.zeros(np.shape(b))
    if type(g) is np.ndarray and type(b) is np.ndarray and type(a) is np.ndarray \
            and g.ndim == 2 and a.ndim == 2 and b.ndim == 2:
        return a.T @ g                      # matrix @ matrix, the common case
    a = np.asarray(a)                       # np.dot and np.matmul take lists too
    a2 = a[None, :] if np.ndim(a) == 1 else a
    gb = np.swapaxes(a2, -1, -2) @ matmul_cotangent(g, a, b)
    return unbroadcast(gb[..., 0] if np.ndim(b) == 1 else gb, b)


def matmul_back_a_into(out, g, a, b):
    """``matmul_back_a`` written into ``out`` when given."""
    if out is not None and type(g) is np.ndarray and type(b) is np.ndarray \
            and g.ndim == 2 and b.ndim == 2 and out.ndim == 2:
        return np.matmul(g, b.T, out=out)
    return into_if_shaped(out, matmul_back_a(g, a, b))


def matmul_back_b_into(out, g, a, b):
    """``matmul_back_b`` written into ``out`` when given."""
    if out is not None and type(g) is np.ndarray and type(a) is np.ndarray \
            and g.ndim == 2 and a.ndim == 2 and out.ndim == 2:
        return np.matmul(a.T, g, out=out)
    return into_if_shaped(out, matmul_back_b(g, a, b))


def into_if_shaped(out, value):
    """``value`` written into ``out`` when they have one shape, else ``value`` itself (the
    argument's gradient is then broadcast from it, never written broadcast)."""
    if out is None or np.shape(value) != out.shape:
        return value
    np.copyto(out, value)
    return out


def matmul_pad(d2, rank, batch, lead):
    """Insert unit batch axes after the vector-mode axis of a promoted tangent."""
    return np.reshape(d2, lead + (1,) * (batch - (rank - 2)) + d2.shape[len(lead):])


def matmul_tangent_a(da, a, b, y):
    """The term ``da @ b`` of the tangent of ``a @ b``, also in vector mode."""
    lead = tangent_lead(da, a)
    if not lead:
        return da @ b
    b = np.asarray(b)                       # np.dot and np.matmul take lists too
    d2 = da[..., None, :] if np.ndim(a) == 1 else da
    b2 = b[:, None] if np.ndim(b) == 1 else b
    rank = d2.ndim - len(lead)
    d2 = matmul_pad(d2, rank, max(rank, b2.ndim) - 2, lead)
    return np.reshape(d2 @ b2, lead + np.shape(y))


def matmul_tangent_b(db, a, b, y):
    """The term ``a @ db`` of the tangent of ``a @ b``, also in vector mode."""
    lead = tangent_lead(db, b)
    if not lead:
        return a @ db
    a = np.asarray(a)                       # np.dot and np.matmul take lists too
    a2 = a[None, :] if np.ndim(a) == 1 else a
    d2 = db[..., None] if np.ndim(b) == 1 else db
    rank = d2.ndim - len(lead)
    d2 = matmul_pad(d2, rank, max(rank, a2.ndim) - 2, lead)
    return np.reshape(a2 @ d2, lead + np.shape(y))


def dot_scalar(a, b):
    """True when ``np.dot(a, b)`` is a product by a scalar; rejects operands above 2-D."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return True
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise unsupported_here(
            "np.dot of an operand with more than 2 dimensions has no derivative rule; "
            "write a @ b (np.matmul) or register one with @srcad.adjoint(np.dot)")
    return False


def dot_back_a(g, a, b):
    return unbroadcast(g * b, a) if dot_scalar(a, b) else matmul_back_a(g, a, b)


def dot_back_b(g, a, b):
    return unbroadcast(g * a, b) if dot_scalar(a, b) else matmul_back_b(g, a, b)


def dot_tangent_a(da, a, b, y):
    return lift_tangent(da, a, y) * b if dot_scalar(a, b) else matmul_tangent_a(da, a, b, y)


def dot_tangent_b(db, a, b, y):
    return a * lift_tangent(db, b, y) if dot_scalar(a, b) else matmul_tangent_b(db, a, b, y)


def inner_back_a(g, a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    na, nb = np.ndim(a), np.ndim(b)
    return np.tensordot(g, b, axes=(list(range(na - 1, na + nb - 2)), list(range(nb - 1))))


def inner_back_b(g, a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    return np.tensordot(g, a, axes=(list(range(np.ndim(a) - 1)), list(range(np.ndim(a) - 1))))


def inner_tangent_a(da, a, b, y):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return lift_tangent(da, a, y) * b
    return np.inner(da, b)


def inner_tangent_b(db, a, b, y):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * lift_tangent(db, b, y)
    term = np.inner(a, db)
    return np.moveaxis(term, np.ndim(a) - 1, 0) if tangent_lead(db, b) else term


def outer_tangent(dt, t, other, first):
    """The term of ``np.outer``'s tangent from operand ``t`` (``first`` or second)."""
    flat = np.reshape(dt, tangent_lead(dt, t) + (-1,))
    if first:
        return flat[..., :, None] * np.ravel(other)
    return np.ravel(other)[:, None] * flat[..., None, :]


def vdot_tangent(dt, t, other):
    return np.reshape(dt, tangent_lead(dt, t) + (-1,)) @ np.ravel(other)


# ---- helpers: solves and determinants ---------------------------------------

def solve_col(v, b):
    """``v`` as a column stack when the right-hand side ``b`` is a vector."""
    return v[..., None] if np.ndim(b) == 1 else v


def solve_uncol(v, b):
    return v[..., 0] if np.ndim(b) == 1 else v


def solve_pad(d, x, rank):
    """A vector-mode tangent ``d`` of ``x`` with unit batch axes after its leading axis,
    up to ``rank`` axes besides it, so that it broadcasts against the other operand."""
    lead = tangent_lead(d, x)
    pad = rank - (np.ndim(d) - len(lead))
    if not lead or pad <= 0:
        return d
    return np.reshape(d, lead + (1,) * pad + np.shape(d)[len(lead):])


def solve_adjoint(g, a, b):
    """``solve(a.T, g)`` in column form: the cotangent of the right-hand side."""
    return np.linalg.solve(np.swapaxes(a, -1, -2), solve_col(g, b))


def det_back(g, a, y):
    """d det(a) / d a = det(a) inv(a).T."""
    return np.asarray(g * y)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)


def det_tangent(da, a, y):
    return y * np.sum(np.swapaxes(np.linalg.inv(a), -1, -2) * da, axis=(-2, -1))


# ---- helpers: traces and diagonals ------------------------------------------

def trace_back(g, a, offset, axis1, axis2):
    eye = np.eye(np.shape(a)[axis1], np.shape(a)[axis2], k=offset)
    return np.moveaxis(np.asarray(g)[..., None, None] * eye, (-2, -1), (axis1, axis2))


def trace_tangent(da, a, offset, axis1, axis2):
    lead = len(tangent_lead(da, a))
    nd = np.ndim(a)
    return np.trace(da, offset, axis1 % nd + lead, axis2 % nd + lead)


def diag_index(n, k):
    """Row and column indices of the ``k``-th diagonal's ``n`` entries."""
    i = np.arange(n)
    return i + max(-k, 0), i + max(k, 0)


def diag_back(g, v, k):
    if np.ndim(v) == 1:
        return np.diagonal(g, k).copy()
    out = np.zeros(np.shape(v))
    rows, cols = diag_index(len(g), k)
    out[rows, cols] = g
    return out


def diag_tangent(dv, v, k):
    if np.ndim(v) == 2:
        return np.diagonal(dv, k, -2, -1).copy()
    n = np.shape(v)[0]
    out = np.zeros(tangent_lead(dv, v) + (n + abs(k), n + abs(k)))
    rows, cols = diag_index(n, k)
    out[..., rows, cols] = dv
    return out


# ---- products ---------------------------------------------------------------

@reverse(np.matmul, operator.matmul)
def matmul_bar(y, g, a, b, out=None):
    return (matmul_back_a(g, a, b), matmul_back_b(g, a, b))


@forward(np.matmul, operator.matmul)
def matmul_dot(y, a, b, out=None):
    return (lambda da: matmul_tangent_a(da, a, b, y), lambda db: matmul_tangent_b(db, a, b, y))


@reverse(np.dot)
def dot_bar(y, g, a, b, out=None):
    return (dot_back_a(g, a, b), dot_back_b(g, a, b))


@forward(np.dot)
def dot_dot(y, a, b, out=None):
    return (lambda da: dot_tangent_a(da, a, b, y), lambda db: dot_tangent_b(db, a, b, y))


@reverse(np.inner)
def inner_bar(y, g, a, b):
    return (inner_back_a(g, a, b), inner_back_b(g, a, b))


@forward(np.inner)
def inner_dot(y, a, b):
    return (lambda da: inner_tangent_a(da, a, b, y), lambda db: inner_tangent_b(db, a, b, y))


@reverse(np.outer)
def outer_bar(y, g, a, b, out=None):
    return (np.reshape(g @ np.ravel(b), np.shape(a)), np.reshape(np.ravel(a) @ g, np.shape(b)))


@forward(np.outer)
def outer_dot(y, a, b, out=None):
    return (lambda da: outer_tangent(da, a, b, True), lambda db: outer_tangent(db, b, a, False))


@reverse(np.vdot)
def vdot_bar(y, g, a, b):
    return (np.reshape(g * np.ravel(b), np.shape(a)), np.reshape(g * np.ravel(a), np.shape(b)))


@forward(np.vdot)
def vdot_dot(y, a, b):
    return (lambda da: vdot_tangent(da, a, b), lambda db: vdot_tangent(db, b, a))


# ---- solves, inverses, determinants -----------------------------------------

@reverse(np.linalg.solve)
def solve_bar(y, g, a, b):
    gb = solve_adjoint(g, a, b)
    return (unbroadcast(-gb @ np.swapaxes(solve_col(y, b), -1, -2), a),
            unbroadcast(solve_uncol(gb, b), b))


@forward(np.linalg.solve)
def solve_dot(y, a, b):
    yc = solve_col(y, b)
    return (lambda da: -solve_uncol(np.linalg.solve(a, solve_pad(da, a, yc.ndim) @ yc), b),
            lambda db: solve_uncol(np.linalg.solve(
                a, solve_pad(solve_col(db, b), solve_col(b, b), np.ndim(a))), b))


@reverse(np.linalg.inv)
def inv_bar(y, g, a):
    yt = np.swapaxes(y, -1, -2)
    return (-(yt @ g @ yt),)


@forward(np.linalg.inv)
def inv_dot(y, a):
    return (lambda da: -(y @ da @ y),)


@reverse(np.linalg.det)
def det_bar(y, g, a):
    return (det_back(g, a, y),)


@forward(np.linalg.det)
def det_dot(y, a):
    return (lambda da: det_tangent(da, a, y),)


# ---- traces and diagonals ---------------------------------------------------

@reverse(np.trace)
def trace_bar(y, g, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return (trace_back(g, a, offset, axis1, axis2),)


@forward(np.trace)
def trace_dot(y, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return (lambda da: trace_tangent(da, a, offset, axis1, axis2),)


@reverse(np.diag)
def diag_bar(y, g, v, k=0):
    return (diag_back(g, v, k),)


@forward(np.diag)
def diag_dot(y, v, k=0):
    return (lambda dv: diag_tangent(dv, v, k),)


into_form(matmul_back_a, matmul_back_a_into)
into_form(matmul_back_b, matmul_back_b_into)


# ---- rules for the helpers above, so generated code can be differentiated again --
# matmul_back_a(g, a, b) is d<g, a @ b>/da: linear in g and in b, so
#   <G, matmul_back_a(dg, a, b)> = <dg, G @ b>  and  <G, matmul_back_a(g, a, db)> =
#   <db, matmul_back_b(g, G, b)>; likewise for matmul_back_b.

@reverse(matmul_back_a)
def matmul_back_a_bar(y, g, c, a, b):
    return (unbroadcast(np.matmul(g, b), c), None, matmul_back_b(c, g, b))


@forward(matmul_back_a, vector=False)
def matmul_back_a_dot(y, c, a, b):
    return (lambda dc: matmul_back_a(dc, a, b), None, lambda db: matmul_back_a(c, a, db))


@reverse(matmul_back_b)
def matmul_back_b_bar(y, g, c, a, b):
    return (unbroadcast(np.matmul(a, g), c), matmul_back_a(c, a, g), None)


@forward(matmul_back_b, vector=False)
def matmul_back_b_dot(y, c, a, b):
    return (lambda dc: matmul_back_b(dc, a, b), lambda da: matmul_back_b(c, da, b), None)


# piecewise-constant helpers (weights, masks, axes): zero derivative where defined
nondiff(diag_index)


# inner_back_a(g, a, b) is d<g, inner(a, b)>/da, linear in g and in b (like matmul_back_a).

@reverse(inner_back_a)
def inner_back_a_bar(y, g, c, a, b):
    return (unbroadcast(np.inner(g, b), c), None, inner_back_b(c, g, b))


@forward(inner_back_a, vector=False)
def inner_back_a_dot(y, c, a, b):
    return (lambda dc: inner_back_a(dc, a, b), None, lambda db: inner_back_a(c, a, db))


@reverse(inner_back_b)
def inner_back_b_bar(y, g, c, a, b):
    return (unbroadcast(np.inner(a, g), c), inner_back_a(c, a, g), None)


@forward(inner_back_b, vector=False)
def inner_back_b_dot(y, c, a, b):
    return (lambda dc: inner_back_b(dc, a, b), lambda da: inner_back_b(c, da, b), None)


# ---- diagonal (used by diag's and trace's rules) ---------------------------------

def diagonal_index(n, offset):
    i = np.arange(n)
    return (i, i + offset) if offset >= 0 else (i - offset, i)


def diagonal_back(g, a, offset, axis1, axis2):
    """The cotangent of ``np.diagonal(a, offset, axis1, axis2)``: ``g`` put on that diagonal."""
    z = np.zeros(np.shape(a))
    moved = np.moveaxis(z, (axis1, axis2), (-2, -1))
    rows, cols = diagonal_index(np.shape(g)[-1], offset)
    moved[..., rows, cols] = g
    return z


def diagonal_tangent(da, a, offset, axis1, axis2):
    lead = len(tangent_lead(da, a))
    n = np.ndim(a)
    return np.diagonal(da, offset, axis1 % n + lead, axis2 % n + lead)


@reverse(np.diagonal)
def diagonal_bar(y, g, a, offset=0, axis1=0, axis2=1):
    return (diagonal_back(g, a, offset, axis1, axis2),)


@forward(np.diagonal)
def diagonal_dot(y, a, offset=0, axis1=0, axis2=1):
    return (lambda da: diagonal_tangent(da, a, offset, axis1, axis2),)


def diagonal_back_tangent(dg, g, a, offset, axis1, axis2):
    """``diagonal_back`` of a tangent of ``g``, also in vector mode (a leading axis)."""
    lead = tangent_lead(dg, g)
    n, k = np.ndim(a), len(lead)
    z = np.zeros(lead + np.shape(a))
    moved = np.moveaxis(z, (axis1 % n + k, axis2 % n + k), (-2, -1))
    rows, cols = diagonal_index(np.shape(g)[-1], offset)
    moved[..., rows, cols] = dg
    return z


@reverse(diagonal_back)
def diagonal_back_bar(y, g, c, a, offset, axis1, axis2):
    return (np.diagonal(g, offset, axis1, axis2), None, None, None, None)


@forward(diagonal_back)
def diagonal_back_dot(y, c, a, offset, axis1, axis2):
    return (lambda dc: diagonal_back_tangent(dc, c, a, offset, axis1, axis2),
            None, None, None, None)


nondiff(diagonal_index, diagonal_back_tangent)

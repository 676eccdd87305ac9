"""Kernels that generated code calls for the rules in srcad.transforms.rules.numpy_linalg."""
import numpy as np

from srcad.kernels.broadcast import lift_tangent, tangent_lead, unbroadcast
from srcad.kernels.products import contract_tangent, tensordot_specs


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
    if not lead:                # (a tangent that broadcasts, a constant entry's 0.0: full first)
        return np.broadcast_to(da, np.shape(a)) @ b if np.ndim(da) < np.ndim(a) else da @ b
    b = np.asarray(b)                       # np.dot and np.matmul take lists too
    d2 = da[..., None, :] if np.ndim(a) == 1 else da
    b2 = b[:, None] if np.ndim(b) == 1 else b
    rank = d2.ndim - len(lead)
    d2 = matmul_pad(d2, rank, max(rank, b2.ndim) - 2, lead)
    return np.reshape(d2 @ b2, lead + np.shape(y))


def matmul_tangent_b(db, a, b, y):
    """The term ``a @ db`` of the tangent of ``a @ b``, also in vector mode."""
    lead = tangent_lead(db, b)
    if not lead:                # (a tangent that broadcasts: full first)
        return a @ np.broadcast_to(db, np.shape(b)) if np.ndim(db) < np.ndim(b) else a @ db
    a = np.asarray(a)                       # np.dot and np.matmul take lists too
    a2 = a[None, :] if np.ndim(a) == 1 else a
    d2 = db[..., None] if np.ndim(b) == 1 else db
    rank = d2.ndim - len(lead)
    d2 = matmul_pad(d2, rank, max(rank, a2.ndim) - 2, lead)
    return np.reshape(a2 @ d2, lead + np.shape(y))


def dot_scalar(a, b):
    """True when ``np.dot(a, b)`` is a product by a scalar."""
    return np.ndim(a) == 0 or np.ndim(b) == 0


def dot_specs(a, b):
    """einsum subscripts of ``np.dot(a, b)`` with an operand above 2-D (a tensordot of the
    last axis of ``a`` and the second-to-last of ``b``): its cotangents, then itself;
    None for operands of at most 2-D (a matmul)."""
    if dot_scalar(a, b) or (np.ndim(a) <= 2 and np.ndim(b) <= 2):
        return None
    return tensordot_specs(a, b, ([-1], [max(np.ndim(b) - 2, 0)]))


def dot_back_a(g, a, b):
    if dot_scalar(a, b):
        return unbroadcast(g * b, a)
    s = dot_specs(a, b)
    return matmul_back_a(g, a, b) if s is None else np.einsum(s[0], g, b)


def dot_back_b(g, a, b):
    if dot_scalar(a, b):
        return unbroadcast(g * a, b)
    s = dot_specs(a, b)
    return matmul_back_b(g, a, b) if s is None else np.einsum(s[1], a, g)


def dot_tangent_a(da, a, b, y):
    if dot_scalar(a, b):
        return lift_tangent(da, a, y) * b
    s = dot_specs(a, b)
    return matmul_tangent_a(da, a, b, y) if s is None else contract_tangent(s[2], da, b, a, True)


def dot_tangent_b(db, a, b, y):
    if dot_scalar(a, b):
        return a * lift_tangent(db, b, y)
    s = dot_specs(a, b)
    return matmul_tangent_b(db, a, b, y) if s is None else contract_tangent(s[2], db, a, b,
                                                                            False)


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


def diagonal_back_tangent(dg, g, a, offset, axis1, axis2):
    """``diagonal_back`` of a tangent of ``g``, also in vector mode (a leading axis)."""
    lead = tangent_lead(dg, g)
    n, k = np.ndim(a), len(lead)
    z = np.zeros(lead + np.shape(a))
    moved = np.moveaxis(z, (axis1 % n + k, axis2 % n + k), (-2, -1))
    rows, cols = diagonal_index(np.shape(g)[-1], offset)
    moved[..., rows, cols] = dg
    return z

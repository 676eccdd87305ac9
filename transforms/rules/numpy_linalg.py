"""Derivative rules for NumPy linear algebra: products, solves, determinants, diagonals.

``operator.matmul`` (``a @ b``) shares ``np.matmul``'s rule. Products accept
1-D and 2-D operands and, for ``matmul``/``solve``/``inv``/``det``, stacks of
matrices (batch axes broadcast; their cotangents are summed back with
``unbroadcast``). ``np.dot`` and ``np.inner`` also accept scalars; ``np.dot``
of an operand above 2-D is not ``matmul`` but a ``tensordot`` (its kernels contract with
``einsum``).
``np.linalg.norm`` is a reduction and lives in numpy_rules.py.

Every forward rule supports vector mode (a leading tangent axis).
"""
import operator

import numpy as np

from srcad.kernels.broadcast import unbroadcast
from srcad.transforms.rules.registry import (
    forward, into_form, nondiff, out_form, rank, reverse)
from srcad.kernels.linalg import (
    det_back, det_tangent, diag_back, diag_index, diag_tangent, diagonal_back,
    diagonal_back_tangent, diagonal_index, diagonal_tangent, dot_back_a, dot_back_b,
    dot_tangent_a, dot_tangent_b, inner_back_a, inner_back_b, inner_tangent_a, inner_tangent_b,
    matmul_back_a, matmul_back_a_into, matmul_back_b, matmul_back_b_into, matmul_tangent_a,
    matmul_tangent_b, outer_tangent, solve_adjoint, solve_col, solve_pad, solve_uncol, trace_back,
    trace_tangent, vdot_tangent)

# ---- products ---------------------------------------------------------------

@reverse(np.matmul, operator.matmul)
def matmul_bar(y, g, a, b, out=None):
    return (matmul_back_a(g, a, b), matmul_back_b(g, a, b))


# operands of known ranks: the products a person writes (the kernels above take any)
@reverse(np.matmul, operator.matmul, np.dot, when={"a": rank(2), "b": rank(2)})
def matmul_bar_matrices(y, g, a, b, out=None):
    return (g @ b.T, a.T @ g)


@reverse(np.matmul, operator.matmul, np.dot, when={"a": rank(2), "b": rank(1)})
def matmul_bar_matrix_vector(y, g, a, b, out=None):
    return (np.outer(g, b), a.T @ g)


@reverse(np.matmul, operator.matmul, np.dot, when={"a": rank(1), "b": rank(2)})
def matmul_bar_vector_matrix(y, g, a, b, out=None):
    return (b @ g, np.outer(a, g))


@reverse(np.matmul, operator.matmul, np.dot, when={"a": rank(1), "b": rank(1)})
def matmul_bar_vectors(y, g, a, b, out=None):
    return (g * b, g * a)


out_form(operator.matmul, np.matmul)     # a @ b written into out= (the buffer plan)


@forward(np.matmul, operator.matmul)
def matmul_dot(y, a, b, out=None):
    return (lambda da: matmul_tangent_a(da, a, b, y), lambda db: matmul_tangent_b(db, a, b, y))


# (matmul broadcasts over a vector-mode tangent's leading axis when both operands are matrices)
@forward(np.matmul, operator.matmul, np.dot, when={"a": rank(2), "b": rank(2)})
def matmul_dot_matrices(y, a, b, out=None):
    return (lambda da: da @ b, lambda db: a @ db)


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


@reverse(np.diagonal)
def diagonal_bar(y, g, a, offset=0, axis1=0, axis2=1):
    return (diagonal_back(g, a, offset, axis1, axis2),)


@forward(np.diagonal)
def diagonal_dot(y, a, offset=0, axis1=0, axis2=1):
    return (lambda da: diagonal_tangent(da, a, offset, axis1, axis2),)


@reverse(diagonal_back)
def diagonal_back_bar(y, g, c, a, offset, axis1, axis2):
    return (np.diagonal(g, offset, axis1, axis2), None, None, None, None)


@forward(diagonal_back)
def diagonal_back_dot(y, c, a, offset, axis1, axis2):
    return (lambda dc: diagonal_back_tangent(dc, c, a, offset, axis1, axis2),
            None, None, None, None)


nondiff(diagonal_index, diagonal_back_tangent)

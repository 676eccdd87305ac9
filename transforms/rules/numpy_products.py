"""Derivative rules for ``tensordot``, ``kron``, ``cross``, ``vecdot``, ``convolve`` and
``correlate``: products linear in each operand, whose cotangents are contractions written
with functions that have rules (``einsum``, ``sum``, ``cross``, ``convolve``), so that they
can be differentiated again.

``tensordot`` is the einsum of its axes; ``kron(a, b)`` is ``a`` times ``b`` on interleaved
axes; ``<g, cross(a, b)> = <a, cross(b, g)> = <b, cross(g, a)>`` (3-vectors, last axis);
``convolve(a, v)``'s cotangent of ``a`` is the valid convolution of the (full) cotangent
with ``v`` reversed, and ``correlate(a, v)`` is ``convolve(a, v[::-1])``.
"""
import numpy as np

from srcad.transforms.rules.registry import forward, nondiff, reverse
from srcad.kernels.broadcast import lift_tangent, unbroadcast
from srcad.kernels.linalg import dot_specs
from srcad.kernels.products import (
    contract_tangent, convolve_cot, convolve_tangent, cross_plain, kron_shapes, kron_tangent,
    tensordot_specs, vecdot_tangent)


@reverse(np.tensordot)
def tensordot_bar(y, g, a, b, axes=2):
    s = tensordot_specs(a, b, axes)
    return (np.einsum(s[0], g, b), np.einsum(s[1], a, g))


@forward(np.tensordot)
def tensordot_dot(y, a, b, axes=2):
    s = tensordot_specs(a, b, axes)
    return (lambda da: contract_tangent(s[2], da, b, a, True),
            lambda db: contract_tangent(s[2], db, a, b, False))


@reverse(np.kron)
def kron_bar(y, g, a, b):
    s = kron_shapes(a, b)
    t = np.reshape(g, s[0])
    return (np.reshape(np.sum(t * np.reshape(b, s[2]), axis=s[4]), np.shape(a)),
            np.reshape(np.sum(t * np.reshape(a, s[1]), axis=s[3]), np.shape(b)))


@forward(np.kron)
def kron_dot(y, a, b):
    return (lambda da: kron_tangent(da, a, b, True), lambda db: kron_tangent(db, b, a, False))


@reverse(np.cross)
def cross_bar(y, g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    h = cross_plain(g, a, b, axisa, axisb, axisc, axis)
    return (unbroadcast(np.cross(b, h), a), unbroadcast(np.cross(h, a), b))


@forward(np.cross)
def cross_dot(y, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return (lambda da: np.cross(cross_plain(lift_tangent(da, a, y), a, b, axisa, axisb, axisc,
                                            axis), b),
            lambda db: np.cross(a, cross_plain(lift_tangent(db, b, y), a, b, axisa, axisb, axisc,
                                               axis)))


# cross_plain passes its first argument through (after a check): its tangent too
@forward(cross_plain)
def cross_plain_dot(y, g, a, b, axisa, axisb, axisc, axis):
    return (lambda dg: cross_plain(dg, a, b, axisa, axisb, axisc, axis),)


@reverse(np.vecdot, np.linalg.vecdot)
def vecdot_bar(y, g, x1, x2, axis=-1):
    e = np.expand_dims(g, axis)
    return (unbroadcast(e * x2, x1), unbroadcast(e * x1, x2))


@forward(np.vecdot, np.linalg.vecdot)
def vecdot_dot(y, x1, x2, axis=-1):
    return (lambda d1: vecdot_tangent(d1, x1, x2, axis),
            lambda d2: vecdot_tangent(d2, x2, x1, axis))


@reverse(np.convolve)
def convolve_bar(y, g, a, v, mode="full"):
    c = convolve_cot(g, a, v, mode)
    return (np.convolve(c, np.flip(v), "valid"), np.convolve(c, np.flip(a), "valid"))


@forward(np.convolve)
def convolve_dot(y, a, v, mode="full"):
    return (lambda da: convolve_tangent(da, a, v, mode),
            lambda dv: convolve_tangent(dv, v, a, mode))


@reverse(np.correlate)
def correlate_bar(y, g, a, v, mode="valid"):
    c = convolve_cot(g, a, v, mode)
    return (np.convolve(c, v, "valid"), np.flip(np.convolve(c, np.flip(a), "valid")))


@forward(np.correlate)
def correlate_dot(y, a, v, mode="valid"):
    return (lambda da: convolve_tangent(da, a, np.flip(v), mode),
            lambda dv: convolve_tangent(np.flip(dv, -1), v, a, mode))


@forward(convolve_cot)
def convolve_cot_dot(y, g, a, v, mode):
    return (lambda dg: convolve_cot(dg, a, v, mode),)


# (np.dot of an operand above 2-D is a tensordot: dot_specs, in its kernels, gives the subscripts)
nondiff(tensordot_specs, kron_shapes, dot_specs)

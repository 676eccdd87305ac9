"""Derivative rules for ``tensordot``, ``kron`` and ``cross``: products linear in each
operand, whose cotangents are contractions written with functions that have rules
(``einsum``, ``sum``, ``cross``), so that they can be differentiated again.

``tensordot`` is the einsum of its axes; ``kron(a, b)`` is ``a`` times ``b`` on interleaved
axes; ``<g, cross(a, b)> = <a, cross(b, g)> = <b, cross(g, a)>`` (3-vectors, last axis).
"""
import numpy as np

from srcad.transforms.rules.registry import forward, nondiff, reverse
from srcad.kernels.broadcast import lift_tangent, unbroadcast
from srcad.kernels.linalg import dot_specs
from srcad.kernels.products import (
    contract_tangent, cross_plain, kron_shapes, kron_tangent, tensordot_specs)


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


# (np.dot of an operand above 2-D is a tensordot: dot_specs, in its kernels, gives the subscripts)
nondiff(tensordot_specs, kron_shapes, dot_specs)

"""Derivative rules for ``np.einsum``: explicit or implicit output, the subscripts and the
operand/sublist forms, up to three operands, ``...`` in the subscripts form (written out as
letters by ``einsum_specs``; not in the sublist form). Every forward rule supports
vector mode (a leading tangent axis)."""
import numpy as np

from srcad.transforms.rules.registry import forward, nondiff, reverse
from srcad.kernels.einsum import (
    einsum_back_at, einsum_back_at_tangent, einsum_back_k, einsum_back_k_tangent, einsum_letters,
    einsum_no_trace, einsum_specs, einsum_subscripts, einsum_tangent_at)


# ---- einsum (explicit or implicit output, up to three operands) ------------------------


@reverse(np.einsum)
def einsum_bar(y, g, *operands, out=None, optimize=False):
    return (einsum_back_at(g, operands, 0), einsum_back_at(g, operands, 1),
            einsum_back_at(g, operands, 2), einsum_back_at(g, operands, 3),
            einsum_back_at(g, operands, 4), einsum_back_at(g, operands, 5),
            einsum_back_at(g, operands, 6), einsum_back_at(g, operands, 7),
            einsum_back_at(g, operands, 8))


@forward(np.einsum, vector=False)
def einsum_dot(y, *operands, out=None, optimize=False):
    return (lambda d0: einsum_tangent_at(d0, operands, 0),
            lambda d1: einsum_tangent_at(d1, operands, 1),
            lambda d2: einsum_tangent_at(d2, operands, 2),
            lambda d3: einsum_tangent_at(d3, operands, 3),
            lambda d4: einsum_tangent_at(d4, operands, 4),
            lambda d5: einsum_tangent_at(d5, operands, 5),
            lambda d6: einsum_tangent_at(d6, operands, 6),
            lambda d7: einsum_tangent_at(d7, operands, 7),
            lambda d8: einsum_tangent_at(d8, operands, 8))


nondiff(einsum_specs, einsum_no_trace, einsum_subscripts, einsum_letters)


@forward(einsum_back_at, vector=False)
def einsum_back_at_dot(y, g, operands, p):
    return (lambda dg: einsum_back_at(dg, operands, p),
            lambda dops: einsum_back_at_tangent(g, operands, p, dops), None)


@forward(einsum_back_k, vector=False)
def einsum_back_k_dot(y, g, operands, k):
    return (lambda dg: einsum_back_k(dg, operands, k),
            lambda dops: einsum_back_k_tangent(g, operands, k, dops), None)

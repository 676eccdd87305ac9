"""Kernels for the rules of ``tensordot``, ``kron`` and ``cross``
(srcad.transforms.rules.numpy_products): subscripts and shapes that turn them into
contractions whose rules exist (``einsum``, ``sum``), and their tangents in vector mode."""
import numpy as np

from srcad.errors import unsupported_here
from srcad.kernels.broadcast import tangent_lead

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def tensordot_specs(a, b, axes):
    """einsum subscripts of the cotangents of ``a`` and ``b`` in ``np.tensordot(a, b, axes)``,
    then of the product itself."""
    na, nb = np.ndim(a), np.ndim(b)
    if isinstance(axes, (int, np.integer)):
        on_a, on_b = list(range(na - axes, na)), list(range(axes))
    else:
        on_a, on_b = ([int(i)] if np.ndim(i) == 0 else [int(k) for k in i] for i in axes)
    on_a, on_b = [i % na for i in on_a], [j % nb for j in on_b]
    sa = LETTERS[:na]
    sb = list(LETTERS[na:na + nb])
    for i, j in zip(on_a, on_b, strict=True):
        sb[j] = sa[i]
    sb = "".join(sb)
    out = "".join(c for i, c in enumerate(sa) if i not in on_a) + \
        "".join(c for j, c in enumerate(sb) if j not in on_b)
    return f"{out},{sb}->{sa}", f"{sa},{out}->{sb}", f"{sa},{sb}->{out}"


def contract_tangent(spec, d, other, x, first):
    """``np.einsum(spec, d, other)`` (``other, d`` unless ``first``) for the tangent ``d`` of
    ``x``; a vector-mode axis of ``d`` stays in front of the result."""
    ins, out = spec.split("->")
    sa, sb = ins.split(",")
    if tangent_lead(d, x):
        free = next(c for c in LETTERS if c not in spec)
        sa, sb = (free + sa, sb) if first else (sa, free + sb)
        out = free + out
    return np.einsum(f"{sa},{sb}->{out}", d, other) if first else \
        np.einsum(f"{sa},{sb}->{out}", other, d)


def kron_shapes(a, b):
    """``np.kron(a, b)`` as a product of ``a`` and ``b`` reshaped with interleaved axes:
    the interleaved shape, ``a``'s and ``b``'s shapes within it, the axes of ``a``, of ``b``."""
    n = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (n - np.ndim(a)) + np.shape(a)
    sb = (1,) * (n - np.ndim(b)) + np.shape(b)
    both = tuple(k for pair in zip(sa, sb, strict=True) for k in pair)
    return (both, tuple(k for s in sa for k in (s, 1)), tuple(k for s in sb for k in (1, s)),
            tuple(range(0, 2 * n, 2)), tuple(range(1, 2 * n, 2)))


def kron_tangent(d, x, other, first):
    """The tangent of ``np.kron`` from the tangent ``d`` of its operand ``x``."""
    if tangent_lead(d, x):
        return np.stack([kron_tangent(e, x, other, first) for e in d])
    return np.kron(d, other) if first else np.kron(other, d)


def cross_plain(g, a, b, axisa, axisb, axisc, axis):
    """``g``, once the call is the cross product of 3-vectors along the last axis (the one
    case with a rule)."""
    if (axisa, axisb, axisc, axis) != (-1, -1, -1, None) or np.shape(a)[-1:] != (3,) \
            or np.shape(b)[-1:] != (3,):
        raise unsupported_here("np.cross is differentiated for 3-vectors along the last axis "
                               "(no axisa/axisb/axisc/axis)", hint="move the axis last with "
                               "np.moveaxis first")
    return g


def convolve_cot(g, a, v, mode):
    """The cotangent of ``np.convolve(a, v, mode)`` as that of its full result (zeros where
    ``mode`` cut it off)."""
    n, m = np.size(a), np.size(v)
    start = {"full": 0, "same": (min(n, m) - 1) // 2, "valid": min(n, m) - 1}[mode]
    lead = np.shape(g)[:np.ndim(g) - 1]
    full = np.zeros(lead + (n + m - 1,), dtype=np.result_type(g, 0.0))
    full[..., start:start + np.shape(g)[-1]] = g
    return full


def convolve_tangent(d, x, other, mode):
    """``np.convolve(d, other, mode)`` for the tangent ``d`` of ``x`` (vector mode: each)."""
    if tangent_lead(d, x):
        return np.stack([np.convolve(e, other, mode) for e in d])
    return np.convolve(d, other, mode)


def vecdot_tangent(d, x, other, axis):
    """``np.vecdot`` of the tangent ``d`` of ``x`` and ``other`` (a vector-mode axis in front)."""
    both = np.broadcast_shapes(np.shape(x), np.shape(other))
    lead = tangent_lead(d, x)
    d = np.reshape(d, lead + (1,) * (len(both) - np.ndim(x)) + np.shape(x))
    return np.sum(d * other, axis=int(axis) % len(both) - len(both))

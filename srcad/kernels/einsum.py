"""Kernels that generated code calls for the rules in srcad.transforms.rules.numpy_einsum."""
import numpy as np

from srcad.errors import unsupported_here


def einsum_specs(operands):
    """The input subscripts and the output subscripts of an einsum call, with ``...``
    written out as letters for the broadcast axes (from the operands' shapes)."""
    spec = operands[0]
    if not isinstance(spec, str):
        raise unsupported_here("einsum is differentiated for a subscripts string; register a "
                               "rule with @srcad.adjoint(np.einsum)")
    spec = spec.replace(" ", "")
    lhs, _, out = spec.partition("->")
    ins = lhs.split(",")
    if "." in spec:
        ins, out = _ellipsis(ins, out if "->" in spec else None, operands[1:])
    elif "->" not in spec:
        letters = "".join(ins)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return ins, out


def _ellipsis(ins, out, arrays):
    """Subscripts with ``...`` replaced by unused letters, right-aligned like broadcasting;
    an implicit output is the broadcast axes, then the letters used once, sorted."""
    used = set("".join(ins) + (out or ""))
    free = [c for c in EINSUM_LETTERS if c not in used]
    counts = [np.ndim(a) - len(s.replace("...", "")) if "..." in s else 0
              for s, a in zip(ins, arrays, strict=False)]
    broad = "".join(free[:max(counts, default=0)])
    ins = [s.replace("...", broad[len(broad) - k:]) for s, k in zip(ins, counts, strict=False)]
    if out is None:
        letters = "".join(ins)
        out = broad + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                     and c not in broad))
    return ins, out.replace("...", broad)


def einsum_no_trace(sk):
    if len(set(sk)) != len(sk):
        raise unsupported_here("einsum with a repeated index in one operand (a trace) has "
                               "no rule; register one with @srcad.adjoint(np.einsum)")


def einsum_back_k(g, operands, k):
    """The cotangent of the k-th operand (1-based: operands[0] is the subscripts)."""
    if k >= len(operands):
        return None
    ins, out = einsum_specs(operands)
    arrays = operands[1:]
    sk = ins[k - 1]
    einsum_no_trace(sk)
    others = [a for j, a in enumerate(arrays) if j != k - 1]
    other_specs = [s for j, s in enumerate(ins) if j != k - 1]
    present = "".join(c for c in sk if c in out or any(c in s for s in other_specs))
    part = np.einsum(",".join([out] + other_specs) + "->" + present, g, *others)
    shape = np.shape(arrays[k - 1])
    spread = tuple(i for i, c in enumerate(present) if shape[sk.index(c)] == 1
                   and np.shape(part)[i] != 1)         # an axis this operand broadcasts
    part = np.sum(part, axis=spread, keepdims=True) if spread else part
    kept = tuple(n if c in present else 1 for c, n in zip(sk, shape, strict=True))
    return np.broadcast_to(np.reshape(part, kept), shape).copy()


EINSUM_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


EINSUM_POSITIONS = 9      # the call arguments the rules below give an entry to


def einsum_subscripts(operands):
    """The call's arguments in the subscripts form (``"ij,jk->ik", a, b``), and, for each
    argument position holding an array, its operand number (1-based). The sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` names axes by integers, as NumPy does:
    0-25 are ``A``-``Z``, 26-51 ``a``-``z``, which keeps their order for an implicit output."""
    if len(operands) > EINSUM_POSITIONS:
        raise unsupported_here(f"einsum with more than {EINSUM_POSITIONS} arguments has no "
                               "rule; register one with @srcad.adjoint(np.einsum)")
    if isinstance(operands[0], str):
        return tuple(operands), {p: p for p in range(1, len(operands))}
    items = list(operands)
    out = items.pop() if len(items) % 2 else None
    arrays, specs, positions = [], [], {}
    for p in range(0, len(items), 2):
        positions[p] = len(arrays) + 1
        arrays.append(items[p])
        specs.append(einsum_letters(items[p + 1]))
    spec = ",".join(specs) + ("" if out is None else "->" + einsum_letters(out))
    return (spec, *arrays), positions


def einsum_letters(sublist):
    if any(s is Ellipsis for s in sublist):
        raise unsupported_here("einsum is differentiated for subscripts without '...'; "
                               "register a rule with @srcad.adjoint(np.einsum)")
    return "".join(EINSUM_LETTERS[int(s)] for s in sublist)


def einsum_back_at(g, operands, p):
    """The cotangent of the call's argument at position ``p`` (an array operand)."""
    ops, positions = einsum_subscripts(operands)
    if p not in positions:
        return None
    return einsum_back_k(g, ops, positions[p])


def einsum_tangent_at(d, operands, p):
    """The output tangent from the tangent ``d`` of the argument at position ``p``."""
    ops, positions = einsum_subscripts(operands)
    dops = [None] * len(ops)
    dops[positions[p]] = d
    return einsum_tangent(dops, ops)


def einsum_tangent(dops, operands):
    total = 0.0
    for k in range(1, len(operands)):
        if dops[k] is not None:
            ops = list(operands)
            ops[k] = dops[k]
            total = total + np.einsum(*ops)
    return total


def einsum_back_k_tangent(g, operands, k, dops):
    """The tangent of ``einsum_back_k`` along the operands' tangents (it is linear in
    each operand other than the k-th)."""
    total = 0.0
    if not isinstance(dops, (tuple, list)):
        return total
    for j in range(1, len(operands)):
        d = dops[j]
        if j == k or d is None or (np.ndim(d) == 0 and d == 0.0):
            continue
        ops = list(operands)
        ops[j] = d
        total = total + einsum_back_k(g, tuple(ops), k)
    return total


def einsum_back_at_tangent(g, operands, p, dops):
    """``einsum_back_k_tangent`` for the call's argument at position ``p``."""
    ops, positions = einsum_subscripts(operands)
    if p not in positions or not isinstance(dops, (tuple, list)):
        return 0.0
    dk = [None] * len(ops)
    for q, k in positions.items():
        dk[k] = dops[q]
    return einsum_back_k_tangent(g, ops, positions[p], dk)

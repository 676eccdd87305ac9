"""Contributions of one operation to one cotangent, merged into one.

Before (the adjoint of ``t = r * r``: the rule's two terms name the same operand)::

    r_bar = t_bar * r
    r_bar = r_bar + t_bar * r

After::

    r_bar = 2.0 * t_bar * r

Two equal terms become the term times ``2.0`` (put on its leftmost factor: doubling is
exact in floating point, so the value is the sum's to the last bit); unequal terms of
the same operand (``a * (a + b)``) stay separate contributions.
"""
import gast


def merge(terms):
    """``terms``: [(operand atom, expression)] of one rule; equal pairs of one operand
    name become one doubled term."""
    out, doubled = [], set()
    for atom, expr in terms:
        twin = next((k for k, (a, e) in enumerate(out) if k not in doubled
                     and isinstance(atom, gast.Name) and isinstance(a, gast.Name)
                     and a.id == atom.id and gast.dump(e) == gast.dump(expr)), None)
        if twin is None:
            out.append((atom, expr))
        else:
            out[twin] = (out[twin][0], _double(out[twin][1]))
            doubled.add(twin)
    return out


def _double(expr):
    """``2.0 * expr``, the factor put leftmost in a chain of products and quotients."""
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, (gast.Mult, gast.Div)):
        return gast.BinOp(left=_double(expr.left), op=expr.op, right=expr.right)
    return gast.BinOp(left=gast.Constant(value=2.0, kind=None), op=gast.Mult(), right=expr)

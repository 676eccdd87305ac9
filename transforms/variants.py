"""Which variant of a reverse rule a call takes: the general rule's special cases.

A variant is a template registered with the facts it needs of the call's arguments
(``reverse(..., when=...)``): a constant (``b`` is exactly ``2``), a constant number of
a kind (``b`` is a number >= 2), or a rank the shapes pass knows (``a`` has 2 axes).

Before (the general rule of ``t3 = h @ W2``, operand ranks unknown to the kernel)::

    h_bar = matmul_back_a(t3_bar, h, W2)

After (both operands known to have 2 axes)::

    h_bar = t3_bar @ W2.T

A call whose facts are unknown keeps the general rule.
"""
import gast

from srcad.transforms import template
from srcad.transforms.rules import registry


def pick(target, call, env, where, shape, forward=False):
    """The first variant of ``target``'s reverse (or forward) rule whose facts hold for
    ``call``, or None. ``shape(atom)`` is the shapes pass's abstract shape of an atom."""
    record = registry.op(target)
    for rule in record.forward_variants if forward else record.variants:
        _, mapping = template.bind_call(target, rule.template, 1 if forward else 2, call, env,
                                        where)
        if all(_holds(mapping.get(p), want, shape) for p, want in rule.when):
            return rule
    return None


def _holds(atom, want, shape):
    if isinstance(want, registry.Fact):
        if want.rank is not None:
            known = shape(atom) if isinstance(atom, gast.Name) else None
            return known is not None and known[0] == "array" and known[2] == want.rank
        return isinstance(atom, gast.Constant) and type(atom.value) in (int, float) \
            and bool(want.number(atom.value))
    return isinstance(atom, gast.Constant) and atom.value == want \
        and type(atom.value) is type(want)

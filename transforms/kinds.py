"""What derivative code a call or an operator gets.

``classify(np.exp)`` is ``"rule"``, ``classify(user_helper)`` is ``"vjp"`` (its own
generated derivative), ``classify(srcad.hook)`` the special kind srcad registered for it;
``BINOPS``/``UNARYOPS`` map an operator node to the callable whose rule it uses
(``a * b`` -> ``operator.mul``).
"""
import operator
import types

import gast

from srcad.transforms.rules import registry

BINOPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
          gast.Div: operator.truediv, gast.Pow: operator.pow, gast.MatMult: operator.matmul,
          gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod}
UNARYOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos}


def classify(obj):
    """What kind of derivative code a call to ``obj`` gets."""
    if not registry.hashable(obj):
        return "unknown"
    special = registry.SPECIAL.get(obj)
    if special:
        return special
    if obj in registry.CUSTOM_REVERSE:
        return "custom"
    if registry.op(obj).reverse is not None:
        return "rule"
    if registry.is_nondiff(obj):
        return "nondiff"
    if isinstance(obj, type) and (hasattr(obj, "__dataclass_fields__") or hasattr(obj, "_fields")):
        return "construct"
    if isinstance(obj, types.FunctionType) or getattr(obj, "__srcad_derivative__", None):
        return "vjp"                    # a user function, or srcad.grad(f) held in a global
    return "unknown"

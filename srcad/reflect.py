"""Tools used inside differentiated code, and the extension decorators.

Run plainly, each tool is what its name says (``hook`` and ``showgrad`` are
the identity, ``isderiving()`` is False, ``nestlevel()`` is 0). Inside
differentiated code the compiler replaces them: the reflection calls become
constants and the others get their own derivative code.
"""
from transforms.rules import registry


def stop_gradient(x):
    """``x``, treated as a constant by differentiation."""
    return x


def hook(fn, x):
    """``x``; in the reverse sweep the gradient of ``x`` becomes ``fn(gradient)``."""
    return x


def showgrad(x, name=None):
    """``x``; prints ``name: gradient`` when the reverse sweep reaches it."""
    return x


def checkpoint(fn, *args):
    """``fn(*args)``; its intermediates are recomputed in the reverse sweep, not stored."""
    return fn(*args)


def isderiving():
    """False when run plainly, True inside differentiated code."""
    return False


def nestlevel():
    """0 plainly, 1 inside a gradient, 2 inside a gradient of a gradient, ..."""
    return 0


def level(k):
    """What ``nestlevel()`` became in generated code: the constant ``k``."""
    return k


for _fn, _kind in ((level, "level"), (stop_gradient, "stop_gradient"), (hook, "hook"),
                   (showgrad, "showgrad"),
                   (checkpoint, "checkpoint"), (isderiving, "isderiving"),
                   (nestlevel, "nestlevel")):
    registry.SPECIAL[_fn] = _kind


def adjoint(target):
    """Register a reverse rule: ``rule(*args) -> (value, back)``, ``back(ybar) -> tuple``."""
    def register(rule):
        registry.CUSTOM_REVERSE[getattr(target, "__srcad_wrapped__", target)] = rule
        return rule
    return register


def tangent(target):
    """Register a forward rule: ``rule(args, tangents) -> (value, tangent_out)``."""
    def register(rule):
        registry.CUSTOM_FORWARD[getattr(target, "__srcad_wrapped__", target)] = rule
        return rule
    return register

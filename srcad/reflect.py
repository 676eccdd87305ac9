"""Tools used inside differentiated code, and the extension decorators.

Run plainly, each tool is what its name says (``hook`` and ``showgrad`` are
the identity, ``isderiving()`` is False, ``nestlevel()`` is 0). Inside
differentiated code the compiler replaces them: the reflection calls become
constants and the others get their own derivative code.
"""
import dataclasses

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
    """Register a reverse rule: ``rule(*args) -> (value, back)``, ``back(ybar) -> tuple``.

    The rule of a dataclass or NamedTuple constructor (``@srcad.adjoint(Point)``) gets
    ``ybar`` as an instance of that type."""
    def register(rule):
        # a constructor's rule gets its cotangent typed; any other rule is called as
        # written, so that a second derivative reaches (and locates errors in) the rule
        registry.CUSTOM_REVERSE[getattr(target, "__srcad_wrapped__", target)] = \
            _typed_cotangent(rule) if isinstance(target, type) else rule
        return rule
    return register


def _typed_cotangent(rule):
    """``rule`` whose ``back`` receives a structured cotangent in the type of the value
    (generated code carries it as a dict, or 0.0 for zero)."""
    def typed(*args):
        value, back = rule(*args)
        if not _structured(value):
            return value, back
        from srcad.runtime import finalize
        return value, lambda ybar: back(finalize(ybar, value))
    typed.__name__ = getattr(rule, "__name__", "rule")
    typed.__qualname__ = getattr(rule, "__qualname__", typed.__name__)
    typed.__module__ = getattr(rule, "__module__", None)
    typed.__srcad_rule__ = rule          # fingerprints read the user's rule
    return typed


def _structured(value):
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return True
    if isinstance(value, (tuple, list)):
        return any(_structured(v) for v in value)
    if isinstance(value, dict):
        return any(_structured(v) for v in value.values())
    return False


def tangent(target):
    """Register a forward rule: ``rule(args, tangents) -> (value, tangent_out)``."""
    def register(rule):
        registry.CUSTOM_FORWARD[getattr(target, "__srcad_wrapped__", target)] = rule
        return rule
    return register

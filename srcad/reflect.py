"""Tools used inside differentiated code, and the extension decorators.

Run plainly, each tool is what its name says (``hook`` and ``showgrad`` are
the identity, ``isderiving()`` is False, ``nestlevel()`` is 0). Inside
differentiated code the compiler replaces them: the reflection calls become
constants and the others get their own derivative code.
"""
import dataclasses

from srcad.runtime import finalize
from srcad.transforms.rules import registry


def stop_gradient(x):
    """``x``, treated as a constant by differentiation.

    Plainly the identity. Inside differentiated code no derivative flows through it:
    what it returns is a constant for the derivatives of every order.

    Returns:
        ``x`` itself.

    Example::

        def loss(w, x):
            scale = srcad.stop_gradient(np.max(np.abs(w)))   # not differentiated
            return np.sum((w / scale) ** 2)
    """
    return x


def hook(fn, x):
    """``x``; in the reverse sweep the gradient of ``x`` becomes ``fn(gradient)``.

    Args:
        fn: a function of the gradient of ``x`` returning the gradient to use instead
            (same shape), e.g. a clipping.
        x: the value.

    Returns:
        ``x`` itself (plainly and in the primal sweep).

    Example::

        y = srcad.hook(lambda g: np.clip(g, -1.0, 1.0), y)
    """
    return x


def showgrad(x, name=None):
    """``x``; prints ``name: gradient`` when the reverse sweep reaches it.

    Args:
        x: the value whose gradient to print.
        name: the label (default: the expression's source text).

    Returns:
        ``x`` itself.

    Example::

        h = srcad.showgrad(np.tanh(W @ x), "hidden")    # prints "hidden: [...]"
    """
    return x


def checkpoint(fn, *args):
    """``fn(*args)``; its intermediates are recomputed in the reverse sweep, not stored.

    Trades time for memory: the reverse sweep calls ``fn``'s derivative again at the
    same arguments instead of keeping what ``fn`` computed.

    Args:
        fn: a function srcad can differentiate.
        *args: its arguments.

    Returns:
        ``fn(*args)``.

    Example::

        h = srcad.checkpoint(block, h, W)     # block's intermediates are not kept
    """
    return fn(*args)


def isderiving():
    """False when run plainly, True inside differentiated code.

    Returns:
        A bool (a constant in generated code).

    Example::

        if not srcad.isderiving():
            print("plain call")
    """
    return False


def nestlevel():
    """0 plainly, 1 inside a gradient, 2 inside a gradient of a gradient, ...

    Returns:
        An int: the number of derivatives being taken of the function whose body
        calls it (the body of ``f`` sees 2 under ``grad(grad(f))``).

    Example::

        def f(x):
            return x ** 3 * srcad.nestlevel()
    """
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

    srcad then calls the rule wherever differentiated code calls ``target`` (a
    function of yours, of NumPy's or of a library), instead of reading its source.
    ``back`` returns one cotangent per argument of ``target``, ``None`` for a
    non-differentiable one. Code compiled before the registration recompiles on its
    next call. The rule of a dataclass or NamedTuple constructor
    (``@srcad.adjoint(Point)``) gets ``ybar`` as an instance of that type.

    Args:
        target: the callable the rule is for.

    Returns:
        A decorator registering the rule (and returning it unchanged).

    Example::

        @srcad.adjoint(scipy.special.expit)
        def expit_rule(x):
            y = scipy.special.expit(x)
            return y, lambda ybar: (ybar * y * (1.0 - y),)
    """
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
    """Register a forward rule: ``rule(args, tangents) -> (value, tangent_out)``.

    Used by forward mode (``jvp``, forward Jacobians, Hessians) wherever
    differentiated code calls ``target``. ``tangents`` has one entry per argument
    (a zero for constant ones).

    Args:
        target: the callable the rule is for.

    Returns:
        A decorator registering the rule (and returning it unchanged).

    Example::

        @srcad.tangent(scipy.special.expit)
        def expit_tangent(args, tangents):
            y = scipy.special.expit(args[0])
            return y, tangents[0] * y * (1.0 - y)
    """
    def register(rule):
        registry.CUSTOM_FORWARD[getattr(target, "__srcad_wrapped__", target)] = rule
        return rule
    return register

"""Calls into pullbacks from generated code: a user function's own generated pullback
(``vjp_call``, ``vjp_back``, through ``pullback_positions``) or jvp (``jvp_call``), a
rule's or pullback's ``back`` checked against the arguments (``call_back``), a call
binding keyword-only parameters (``call_full``). Generated code reaches them through
``srcad.runtime`` as ``_rt.<name>``.

The runtime sits below the API and never imports it: the API registers in ``API`` the
one entry point these calls need when it is imported."""
import inspect

import numpy as np

from srcad import depth
from srcad.library import is_library, through_source

# set by srcad.api: "differentiable": _differentiable(fn, wrt) -> the Differentiable of fn
API = {}


def call_full(fn, args):
    """``fn`` called with all its parameters in ``args``, in order (keyword-only ones are
    passed by name)."""
    params = list(inspect.signature(fn).parameters.values())
    n = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    if n >= len(args):
        return fn(*args)
    return fn(*args[:n], **{p.name: a for p, a in zip(params[n:], args[n:], strict=True)})


def vjp_call(fn, args, wrt):
    """(value, back) of a user function through its own generated pullback."""
    value, back = through_source(lambda: pullback_positions(fn, args, wrt), fn)
    if not is_library(fn):
        return value, back
    return value, lambda g: through_source(lambda: back(g), fn)


def vjp_back(fn, args, wrt):
    """Only the pullback of a user function (its value is not computed here)."""
    return pullback_positions(fn, args, wrt, value=False)[1]


def pullback_positions(fn, args, positions, value=True):
    """Used by generated code: (value, back) with one entry per argument.

    With ``value=False`` (a checkpoint's reverse sweep, never re-entered) the
    pullback runs the optimised gradient and its workspace; otherwise the plain
    one, which a recursive function may re-enter safely.
    """
    positions = tuple(positions)
    d = _differentiable(fn, positions if positions else (0,))
    run = d._vjp_plain if value else d._vjp

    def back(g):        # a deep recursion: again with room (srcad/depth.py)
        _, gs = depth.with_room(lambda: run(args, g))
        full = [None] * len(args)
        for p, c in zip(positions, gs, strict=True):
            full[p] = c
        return tuple(full)
    return (depth.with_room(lambda: d._primal(args)) if value else None), back


def jvp_call(fn, args, tangents):
    """(value, tangent) of a user function through its own generated jvp."""
    return through_source(lambda: jvp_positions(fn, args, tangents), fn)


def jvp_positions(fn, args, tangents):
    """Used by generated code: (value, tangent) with None for constant arguments."""
    positions = tuple(k for k, t in enumerate(tangents) if t is not None)
    if not positions:
        return call_full(fn, args), 0.0
    d = _differentiable(fn, positions)
    # a number's tangent of an array argument (the zero of a constant entry, or a tangent
    # that merely broadcasts) is made full: the callee's jvp checks shapes
    full = tuple(np.full(args[k].shape, tangents[k]) if isinstance(args[k], np.ndarray)
                 and args[k].ndim and isinstance(tangents[k], (float, int, np.number))
                 else tangents[k] for k in positions)
    return depth.with_room(lambda: d.jvp(args, full))


def _differentiable(fn, positions):
    """The Differentiable of a function generated code calls into, on the NumPy backend
    whatever ``SRCAD_BACKEND`` says: only NumPy code calls in here (numba cores have no
    twin of these calls), whether the NumPy backend was asked for or taken as the
    fallback, so the callee runs as the caller does (a user's helper, or srcad's own
    kernels a second derivative reaches through the first's code) and a refusal is
    said once, at the caller's line, not again at the callee's file."""
    return API["differentiable"](fn, positions, backend="numpy")


def call_back(back, g, args, label, is_rule):
    """Call a pullback and check what it returns against the arguments."""
    cots = back(g)
    if not isinstance(cots, (tuple, list)):
        cots = (cots,)
    if len(cots) != len(args):
        what = "the rule for" if is_rule else "the pullback of"
        raise ValueError(f"{what} `{label}` returned {len(cots)} cotangents for "
                         f"{len(args)} arguments")
    out = []
    for k, (c, a) in enumerate(zip(cots, args, strict=True)):
        if c is None:
            out.append(0.0)
            continue
        if isinstance(a, np.ndarray) and np.shape(c) != a.shape and np.ndim(c) != 0:
            raise ValueError(f"the rule for `{label}` returned a cotangent of shape "
                             f"{np.shape(c)} for argument {k} of shape {a.shape}")
        if isinstance(a, (float, np.floating)) and np.ndim(c) != 0:
            raise ValueError(f"the rule for `{label}` returned a cotangent of shape "
                             f"{np.shape(c)} for argument {k}, a scalar")
        if isinstance(a, np.ndarray) and a.ndim and np.ndim(c) == 0 and not (
                type(c) is float and c == 0.0):
            c = np.full(a.shape, c)     # a number for an array: it stands for its broadcast
        out.append(c)
    return out

"""What ``grad`` returns: the check that the output is a real scalar, and ``has_aux``.

``grad`` needs a real scalar output. The check runs on the value the
generated code returns; when the generated code fails first (a vector output
does not fit a scalar seed), the primal value explains the failure::

    srcad.grad(lambda_free_f)(x)     # ValueError: grad needs a real scalar output ...

With ``has_aux=True`` the function returns ``(value, aux)``. The function
transformed is a small wrapper::

    def f_aux(x):
        result = f(x)                 # f inlined
        return result[0], stop_gradient(result[1]), stop_gradient(len(result))

so no derivative code is spent on ``aux``; ``aux`` is handed back as the
caller's own copy (it never aliases a workspace buffer or an argument).
"""
import dataclasses
import inspect
import linecache

import numpy as np

from srcad.errors import InternalError, TransformError
from srcad.instances import rebuilt
from srcad.reflect import stop_gradient
from srcad.seeds import scalar_error


def run_checked(d, fn, args, outs):
    """``fn(*args, seed 1.0, outs)`` (with has_aux: ``((value, aux), grads)``); a failure
    of the generated code caused by an output that is not a real scalar becomes the
    documented ValueError."""
    try:
        if d.has_aux:
            (value, aux, n), grads = fn(*args, d.grad_seed, outs)
            return ((value, aux) if n == 2 else d._primal(args)), grads
        return fn(*args, d.grad_seed, outs)
    except Exception as exc:
        explain(d, args, exc)
        raise


def explain(d, args, failure):
    """Raise the documented error for ``failure`` of ``d``'s generated reverse code on
    ``args`` (its output is not a real scalar), or a located one; return when ``failure``
    is srcad's own error, to be re-raised as it is."""
    if isinstance(failure, (TransformError, InternalError)) \
            or getattr(failure, "srcad_scalar_output", False):
        return                  # the generated code's own check, before its reverse sweep
    try:
        value = d._primal(args)
    except Exception:
        value = None
        error = None
    else:
        error = scalar_error(d.fn.__name__, value, d.has_aux)
    if error is not None:
        raise error from None
    from srcad.tracebacks import note_origin
    raise note_origin(failure)


def aux_target(fn, params):
    """The wrapper above, with ``fn``'s parameters (keyword-only ones passed by name)."""
    params = list(params)
    kinds = {p.name: p.kind for p in inspect.signature(fn).parameters.values()}
    call = ", ".join(p if kinds[p] != inspect.Parameter.KEYWORD_ONLY else f"{p}={p}"
                     for p in params)
    callee = _free(fn.__name__ if fn.__name__.isidentifier() else "fn", params)
    result = _free("result", params + [callee])
    name = f"{callee.strip('_') or 'fn'}_aux"
    text = (f"def {name}({', '.join(params)}):\n"
            f"    {result} = {callee}({call})\n"
            f"    return {result}[0], stop_gradient({result}[1]), stop_gradient(len({result}))\n")
    filename = f"<srcad {name} {id(fn):x}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope = {"__name__": __name__, callee: fn, "stop_gradient": stop_gradient}
    exec(compile(text, filename, "exec"), scope)
    return scope[name]


def gradient_target(inner, kind, params, level, plain):
    """For a derivative of a gradient: a small function of ``params`` calling the inner
    gradient's plain generated code ``plain`` with grad's seed, so the inner output is
    checked to be a real scalar (srcad/seeds.py)::

        def f_grad1(x):
            value, grads = f_vjp(x, GradSeed('f'))
            return grads[0]
    """
    from srcad.seeds import GradSeed
    from srcad.transforms.exits import identifier
    result = "grads[0]" if inner.single else "grads"
    name = identifier(f"{inner.base_fn.__name__}_{kind}{level}")
    text = (f"def {name}({', '.join(params)}):\n"
            f"    value, grads = {plain.__name__}({', '.join(params)}, GradSeed("
            f"{inner.fn.__name__!r}))\n"
            f"    return {result}\n")
    filename = f"<srcad {name} {id(plain):x}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope = {"__name__": inner.base_fn.__module__, plain.__name__: plain, "GradSeed": GradSeed}
    exec(compile(text, filename, "exec"), scope)
    return scope[name]


def _free(base, params):
    name = base
    while name in params:
        name = "_" + name
    return name


def detach(aux):
    """``aux`` with its arrays copied: the caller's own, aliasing nothing of ours or theirs."""
    if isinstance(aux, np.ndarray):
        return aux.copy()
    if isinstance(aux, tuple) and hasattr(aux, "_fields"):
        return type(aux)(*[detach(v) for v in aux])
    if isinstance(aux, (tuple, list)):
        return type(aux)(detach(v) for v in aux)
    if isinstance(aux, dict):
        return {k: detach(v) for k, v in aux.items()}
    if dataclasses.is_dataclass(aux) and not isinstance(aux, type):
        return rebuilt(aux, {f.name: detach(getattr(aux, f.name))
                             for f in dataclasses.fields(aux) if f.init})
    return aux


"""Calls into pullbacks from generated code: a user function's own generated pullback
(``vjp_call``, ``vjp_back``), a rule's or pullback's ``back`` checked against the
arguments (``call_back``), a call binding keyword-only parameters (``call_full``).
Generated code reaches them through ``srcad.runtime`` as ``_rt.<name>``."""
import numpy as np


def call_full(fn, args):
    """``fn`` called with all its parameters in ``args``, in order (keyword-only ones are
    passed by name)."""
    import inspect
    params = list(inspect.signature(fn).parameters.values())
    n = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    if n >= len(args):
        return fn(*args)
    return fn(*args[:n], **{p.name: a for p, a in zip(params[n:], args[n:], strict=True)})


def vjp_call(fn, args, wrt):
    """(value, back) of a user function through its own generated pullback."""
    from srcad import api
    from srcad.library import is_library, through_source
    value, back = through_source(lambda: api.pullback_positions(fn, args, wrt), fn)
    if not is_library(fn):
        return value, back
    return value, lambda g: through_source(lambda: back(g), fn)


def vjp_back(fn, args, wrt):
    """Only the pullback of a user function (its value is not computed here)."""
    from srcad import api
    return api.pullback_positions(fn, args, wrt, value=False)[1]


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
        out.append(c)
    return out

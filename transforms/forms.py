"""Expressions on global values that the normal form rewrites into calls.

Before::

    y = np.r_[x, x]          # an index form (``registry.index_form``)
    m = W0.mean()            # an array method of a module-level array

After::

    t = (x, x)
    y = r_join(t)
    m = np.mean(W0)
"""
import inspect
import types

import gast

from srcad.transforms.parse import MISSING, resolve
from srcad.transforms.rules import registry


def index_form(e, scope):
    """The helper computing the subscript ``e`` of a global object with an index form,
    when its parts hold no slice and no string (else None)."""
    obj = resolve(e.value, scope)
    form = registry.op(obj).index_form if obj is not MISSING else None
    parts = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
    if form is None or any(isinstance(p, gast.Slice) or (isinstance(p, gast.Constant)
                                                          and isinstance(p.value, str))
                           for p in parts):
        return None
    return form


def value_method(func, scope):
    """Is ``func`` an array method (``W0.mean``) of a global value, not of a module or a
    class (whose attributes are functions srcad resolves)?"""
    if registry.METHODS.get(func.attr) is None:
        return False
    base = resolve(func.value, scope)
    return base is not MISSING and not isinstance(base, (types.ModuleType, type)) \
        and type(base).__name__ != "ufunc"


def is_ufunc(fn):
    """A NumPy ufunc (known by its attributes: the compiler names no NumPy object)."""
    return type(getattr(fn, "nin", None)) is int and hasattr(fn, "nout") \
        and hasattr(fn, "reduce")


def reaches_out(fn, args, lead=0):
    """Do the positional ``args`` (after ``lead`` ones bound before them) reach the output
    parameter of ``fn``, a ufunc (past its inputs) or a NumPy function (``out``)?"""
    n = lead + len(args)
    if any(isinstance(a, gast.Starred) for a in args):
        n = 1 << 30                     # (how many: unknown)
    if is_ufunc(fn):
        return n > fn.nin
    if not (getattr(fn, "__module__", None) or "").startswith("numpy"):
        return False                    # (a user's function with a parameter `out`: followed)
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    for k, p in enumerate(params):
        if p.name == "out" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            return n > k
    return False

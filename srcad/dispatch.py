"""The one check a call makes before it reuses the specialisation it used last.

A compiled specialisation is valid for arguments of its signature while the
user's code, the rule table and every guarded name (srcad/entries.py) are
unchanged. Comparing ``signature_of(args)`` with the signature, then walking
the guards, costs more than the whole gradient of a small problem, so each hot
specialisation gets its check written out once, e.g. for ``eam(x)`` with
``x: float64[1d]`` and its inlined helper ``rho``::

    def fits(args):
        if len(args) != 1:
            return False
        a0, = args
        try:
            return (type(a0) is ndarray and (a0.dtype is dtype0 or a0.dtype == dtype0)
                    and a0.ndim == 1 and 1 not in a0.shape
                    and user.__code__ is code and version.number == number
                    and helper0.__code__ is helper_code0
                    and scope0[name0] is value0)
        except Exception:
            return False

``False`` sends the call the long way (``Differentiable._specialise``), which
decides with the full signature and guards; ``fits`` never says yes where that
would say no.
"""
import functools
import keyword

import numpy as np

from srcad.signature import abstract, unit_axes

_SIMPLE = {"float": "type({a}) is float", "int": "type({a}) is int",
           "bool": "type({a}) is bool", "complex": "type({a}) is complex",
           "str": "type({a}) is str", "none": "{a} is None"}


def checker(fn, sig, user, version, number):
    """``(fits, fits_into)`` for the compiled ``fn`` of signature ``sig`` (see the module
    docstring).
    ``user`` is the function whose ``__code__`` ``fn`` was compiled from; ``version`` the
    rule table's version counter, ``number`` its value when ``fn`` was compiled."""
    scope = {"ndarray": np.ndarray, "abstract": abstract, "unit_axes": unit_axes, "user": user,
             "code": fn.__srcad_code__, "version": version, "number": number}
    tests = []
    for i, s in enumerate(sig):
        a = f"a{i}"
        if s[0] == "array":
            scope[f"dtype{i}"] = s[1]
            tests.append(f"type({a}) is ndarray and ({a}.dtype is dtype{i} or "
                         f"{a}.dtype == dtype{i}) and {a}.ndim == {int(s[2])}")
            if s[3]:                        # which axes have length 1 (srcad/signature.py)
                scope[f"units{i}"] = s[3]
                tests.append(f"unit_axes({a}.shape) == units{i}")
            else:
                tests.append(f"1 not in {a}.shape")
        elif len(s) == 1 and s[0] in _SIMPLE:
            tests.append(_SIMPLE[s[0]].format(a=a))
        else:                               # a container, a dataclass, a constant
            scope[f"sig{i}"] = s
            tests.append(f"abstract({a}) == sig{i}")
    tests.append("user.__code__ is code and version.number == number")
    for i, (helper, helper_code) in enumerate(fn.__srcad_helpers__):
        scope[f"helper{i}"], scope[f"helper_code{i}"] = helper, helper_code
        tests.append(f"helper{i}.__code__ is helper_code{i}")
    helpers = {(id(h), id(c)) for h, c in fn.__srcad_helpers__}
    for i, (where, name, value) in enumerate(fn.__srcad_guards__):
        scope[f"name{i}"], scope[f"value{i}"] = name, value
        get = where.get
        if type(where) is dict:                 # a module's globals
            scope[f"scope{i}"] = where
            tests.append(f"scope{i}[name{i}] is value{i}")
        elif isinstance(get, functools.partial) and get.func is getattr and len(get.args) == 1 \
                and isinstance(name, str) and name.isidentifier() \
                and not keyword.iskeyword(name):   # an object's attribute
            if name == "__code__" and (id(get.args[0]), id(value)) in helpers:
                continue                        # (a helper's code: tested above)
            scope[f"owner{i}"] = get.args[0]
            tests.append(f"owner{i}.{name} is value{i}")
        else:                                   # a closure cell, another scope
            scope[f"get{i}"] = get
            tests.append(f"get{i}(name{i}) is value{i}")
    fits = _written("fits(args)", len(sig), tests, scope)
    if len(sig) == 1 and sig[0][0] == "array":
        # ``fits_into(args, out)``: also, is ``out`` a buffer for the one array argument's
        # gradient, plainly apart from it (two owners; anything else: the long way)
        into = _written("fits_into(args, out)", 1, tests + [
            "type(out) is ndarray and out.shape == a0.shape and out.dtype is a0.dtype",
            "out is not a0 and out.base is None and a0.base is None and out.flags.writeable"],
            scope)
    else:
        into = _never
    return fits, into


def _written(head, n, tests, scope):
    names = [f"a{i}" for i in range(n)]
    unpack = f"    {', '.join(names)}, = args\n" if names else ""
    text = (f"def {head}:\n"
            f"    if len(args) != {n}:\n"
            f"        return False\n"
            f"{unpack}"
            f"    try:\n"
            f"        return {' and '.join(tests)}\n"
            f"    except Exception:\n"
            f"        return False\n")
    exec(compile(text, "<srcad dispatch check>", "exec"), scope)
    fits = scope[head.split("(")[0]]
    fits.__srcad_text__ = text
    return fits


def _never(args, out):
    return False


def hot_check(fn, sig, user, version, number):
    """The ``fits`` of ``fn`` (and its ``fits_into``: ``fn.__srcad_into__``), written on
    first use and kept on ``fn``."""
    fits = getattr(fn, "__srcad_fits__", None)
    if fits is None:
        fits, fn.__srcad_into__ = checker(fn, sig, user, version, number)
        fn.__srcad_fits__ = fits
    return fits

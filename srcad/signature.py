"""Argument signatures: the abstract type that selects a compiled specialisation.

A signature keeps what changes the generated code -- Python scalar kind,
ndarray dtype, ndim and which axes have length 1, container structure,
dataclass type -- and drops what does not (other lengths, values). Two calls
with the same signature share one compiled function; workspaces inside it are
keyed by shape.

    >>> signature_of((np.ones(3), 2.0, np.ones((1, 4))))
    (('array', '<f8', 1, ()), ('float',), ('array', '<f8', 2, (0,)))

The axes of length 1 are what decides how an operand broadcasts: knowing them,
the compiler writes ``np.sum(t_bar, axis=0)`` for the gradient of a bias ``b``
in ``h @ W + b`` (and nothing at all where two shapes are surely equal) instead
of a run-time ``unbroadcast``. A call with other axes of length 1 has another
signature, so it gets its own specialisation.
"""
import dataclasses
import types

import numpy as np


_SCALARS = {float: ("float",), int: ("int",), bool: ("bool",), complex: ("complex",),
            str: ("str",), type(None): ("none",)}


def abstract(x):
    t = type(x)
    if t is np.ndarray:
        shape = x.shape
        return ("array", x.dtype, len(shape), unit_axes(shape) if 1 in shape else ())
    s = _SCALARS.get(t)
    if s is not None:
        return s
    if isinstance(x, np.generic):
        return ("npscalar", x.dtype)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return ("namedtuple", f"{t.__module__}.{t.__qualname__}", tuple(abstract(v) for v in x))
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return ("dataclass", f"{t.__module__}.{t.__qualname__}",
                tuple((f.name, abstract(getattr(x, f.name))) for f in dataclasses.fields(x)))
    if t is tuple or t is list:
        return (t.__name__, tuple(abstract(v) for v in x))
    if t is dict:
        return ("dict", tuple((repr(k), abstract(v)) for k, v in x.items()))
    if isinstance(x, np.ndarray):        # a subclass (masked array, matrix): refused
        return ("subclass", f"{t.__module__}.{t.__qualname__}")
    return ("const", f"{t.__module__}.{t.__qualname__}")


_UNIT_AXES = {}         # shape -> its axes of length 1 (a dict lookup per call, not a loop)


def unit_axes(shape):
    """The axes of length 1 of ``shape``."""
    axes = _UNIT_AXES.get(shape)
    if axes is None:
        if len(_UNIT_AXES) > 4096:
            _UNIT_AXES.clear()
        axes = _UNIT_AXES[shape] = tuple([i for i, n in enumerate(shape) if n == 1])
    return axes


def signature_of(args):
    out = []
    for x in args:
        t = type(x)
        if t is np.ndarray:
            shape = x.shape
            out.append(("array", x.dtype, len(shape),
                        (_UNIT_AXES.get(shape) or unit_axes(shape)) if 1 in shape else ()))
        else:
            s = _SCALARS.get(t)
            out.append(s if s is not None else abstract(x))
    return tuple(out)


def describe(sig):
    """Readable form for headers: ``(float64[2], float)``."""
    parts = []
    for s in sig:
        if s[0] == "array":
            ones = "".join(f", axis {i} of length 1" for i in s[3])
            parts.append(f"{np.dtype(s[1]).name}[{s[2]}d{ones}]")
        elif s[0] in ("tuple", "list"):
            parts.append(f"{s[0]}({describe(s[1])[1:-1]})")
        elif s[0] in ("dataclass", "namedtuple"):
            parts.append(s[1].rsplit(".", 1)[-1])
        else:
            parts.append(np.dtype(s[1]).name if s[0] == "npscalar"
                         else s[-1] if s[0] == "const" else s[0])
    return "(" + ", ".join(parts) + ")"


def is_numeric(s):
    """Does an argument of this abstract type hold a number or an array?"""
    return s[0] in ("float", "int", "bool", "complex", "array", "npscalar")


def holds_complex(s):
    """Does an argument of this abstract type hold complex values?"""
    kind = s[0]
    if kind == "complex":
        return True
    if kind in ("array", "npscalar"):
        return np.dtype(s[1]).kind == "c"
    if kind in ("tuple", "list"):
        return any(holds_complex(v) for v in s[1])
    if kind == "namedtuple":
        return any(holds_complex(v) for v in s[2])
    if kind in ("dataclass", "dict"):
        return any(holds_complex(v) for _, v in s[2 if kind == "dataclass" else 1])
    return False


def is_differentiable(s):
    """Can an argument of this abstract type carry a derivative?"""
    kind = s[0]
    if kind in ("float", "complex"):
        return True
    if kind in ("array", "npscalar"):
        return np.dtype(s[1]).kind in "fc"
    if kind in ("tuple", "list"):
        return any(is_differentiable(v) for v in s[1])
    if kind == "namedtuple":
        return any(is_differentiable(v) for v in s[2])
    if kind == "dataclass":
        return any(is_differentiable(v) for _, v in s[2])
    if kind == "dict":
        return any(is_differentiable(v) for _, v in s[1])
    return False


def fields_of(params, args):
    """parameter -> [(field, abstract type)] for dataclass and NamedTuple arguments."""
    out = {}
    for p, a in zip(params, args, strict=False):
        if dataclasses.is_dataclass(a) and not isinstance(a, type):
            out[p] = [(f.name, abstract(getattr(a, f.name))) for f in dataclasses.fields(a)]
        elif isinstance(a, tuple) and hasattr(a, "_fields"):
            out[p] = [(f, abstract(v)) for f, v in zip(a._fields, a, strict=True)]
    return out


def param_kinds(params, sig, fields):
    """What the reverse pass may take each parameter for: "float" (a Python float), "array"
    (a float ndarray) or None; and each field of a dataclass or NamedTuple parameter (as
    ``"p.field"``), where "keep" is a value without a derivative (int, bool, str, None)."""
    def kind(s):
        if s[0] == "float":
            return "float"
        return "array" if s[0] == "array" and np.dtype(s[1]).kind == "f" else None
    out = Kinds({p: kind(s) for p, s in zip(params, sig, strict=True)})
    for p, items in fields.items():
        out.update({f"{p}.{f}": kind(s) or ("keep" if s[0] in ("int", "bool", "str", "none")
                                            else None) for f, s in items})
    out.wide = all(np.dtype(s[1]) == np.float64 for s in sig + tuple(
        s for items in fields.values() for _, s in items) if s[0] in ("array", "npscalar")
        and np.dtype(s[1]).kind == "f")
    return out


class Kinds(dict):
    """``param_kinds``; ``wide``: every float array or NumPy float of the signature is
    float64 (a float32 one's sum stays a float32, not a Python float)."""
    wide = True


def struct_types(params, args):
    """parameter -> class, for dataclass, NamedTuple and user-class arguments (their methods
    resolve)."""
    out = {}
    for p, a in zip(params, args, strict=False):
        if (dataclasses.is_dataclass(a) and not isinstance(a, type)) or \
                (isinstance(a, tuple) and hasattr(a, "_fields")) or abstract(a)[0] == "const" \
                and not isinstance(a, (type, types.ModuleType, types.FunctionType)) \
                and type(a).__module__.split(".")[0] not in ("builtins", "numpy"):
            out[p] = type(a)        # an object of a user class: ``self.helper(x)``
    return out


def struct_layouts(params, args):
    """parameter -> layout (transforms/operators) for arguments holding dataclasses or
    NamedTuples: which operator methods apply to them and to their fields and items."""
    from srcad.transforms.operators import PLAIN, layout_of   # (passes load on first use)
    layouts = {p: layout_of(a) for p, a in zip(params, args, strict=False)}
    return {p: v for p, v in layouts.items() if v != PLAIN}

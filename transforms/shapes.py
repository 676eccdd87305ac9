"""Which values are scalars, and which arrays surely share a shape.

Before: an SSA function and its argument signature::

    def f(x, k):          # x: float64[1d], k: float
        t = x * k
        u = np.exp(t)
        s = np.sum(u)
        v = x[0]

After: ``{"x": A1, "k": SCALAR, "t": A1, "u": A1, "s": SCALAR, "v": SCALAR}``:
``A1`` is a symbol for "the shape of ``x``". A name missing from the table
has an unknown shape. The reverse pass drops ``unbroadcast(g, x)`` when the
result and the operand share a symbol, and uses ``x_bar[i] += g`` for a scalar
index into an array. An item read with a number per axis (``x[i]``, ``x[i, 0]``) is a
number.
"""
import operator

import gast
import numpy as np

from srcad.transforms.parse import MISSING, resolve
from srcad.transforms.rules import registry

SCALAR = registry.SCALAR
_TOP = ("unknown",)
_ELEMENTWISE_BINOPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow, gast.FloorDiv,
                       gast.Mod)


def _merge(a, b):
    if a is None:
        return b
    if b is None or a == b:
        return a
    return _TOP


def _broadcast(a, b, name=None):
    """The shape of an elementwise result. Two arrays of different (symbolic) shapes give
    an array whose shape is its own: the symbol ``?name`` ("the shape of ``name``")."""
    if a is None or b is None:
        return None
    if a == SCALAR:
        return b
    if b == SCALAR:
        return a
    if a == b:
        return a
    if name is not None and a[0] == "array" and b[0] == "array":
        return ("array", "?" + name, max(a[2], b[2]))
    return _TOP


def _statements(body):
    for s in body:
        yield s
        for field in ("body", "orelse"):
            yield from _statements(getattr(s, field, []) or [])


def infer(fn, param_shapes, namespace):
    """``param_shapes``: name -> SCALAR, ("array", name, ndim) or None."""
    table = constant_shapes(namespace)
    table.update({p: (s if s is not None else _TOP) for p, s in param_shapes.items()})
    int_indices = {s.target.id for s in _statements(fn.body) if isinstance(s, gast.For)}
    defs = [(s.targets[0].id, s.value) for s in _statements(fn.body)
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)]
    for _ in range(20):          # a monotone fixpoint: absent -> a shape -> unknown
        changed = False
        for name, value in defs:
            if any(isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)
                   and n.id not in table and n.id not in int_indices and n.id not in namespace
                   for n in gast.walk(value)):
                continue          # an operand has no value yet: look again next round
            shape = _shape(value, table, namespace, int_indices, name)
            merged = _merge(table.get(name), _TOP if shape is None else shape)
            if merged != table.get(name):
                table[name] = merged
                changed = True
        if not changed:
            break
    return {k: v for k, v in table.items() if v is not None and v != _TOP}


def _atom(node, table, int_indices):
    if isinstance(node, gast.Constant):
        v = node.value
        return SCALAR if isinstance(v, (int, float, complex)) else None
    if isinstance(node, gast.Name):
        if node.id in int_indices:
            return SCALAR
        return table.get(node.id)
    return None


def constant_shapes(namespace):
    """Arrays captured from the module or a closure have a fixed shape of their own."""
    out = {}
    for name, value in namespace.items():
        if isinstance(value, np.ndarray):
            out[name] = SCALAR if value.ndim == 0 else ("array", "<constant>" + name, value.ndim)
    return out


def _shape(value, table, namespace, int_indices, name=None):
    atom = lambda n: _atom(n, table, int_indices)
    if isinstance(value, (gast.Name, gast.Constant)):
        return atom(value)
    if isinstance(value, gast.BinOp) and isinstance(value.op, _ELEMENTWISE_BINOPS):
        return _broadcast(atom(value.left), atom(value.right), name)
    if isinstance(value, gast.BinOp) and isinstance(value.op, gast.MatMult):
        a, b = atom(value.left), atom(value.right)
        if a and b and a[0] == "array" and b[0] == "array" and a[2] >= 2 and b[2] >= 2:
            return ("array", "?" + name, max(a[2], b[2])) if name else None
        return None
    if isinstance(value, gast.UnaryOp):
        return atom(value.operand)
    if isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name):
        return table.get(f"{value.value.id}.{value.attr}")     # a field of a typed argument
    if isinstance(value, gast.Compare):
        return _broadcast(atom(value.left), atom(value.comparators[0]))
    if isinstance(value, gast.Subscript):
        base = atom(value.value)
        index = value.slice
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        if base is not None and base != SCALAR and base[0] == "array" \
                and base[2] == len(parts) and all(atom(p) == SCALAR for p in parts):
            return SCALAR         # a number per axis: x[i] of a vector, x[i, 0] of a matrix
        return None
    if isinstance(value, gast.Call):
        fn = resolve(value.func, namespace)
        if fn is MISSING:
            return None
        args = [atom(a) for a in value.args]
        if fn is operator.neg:
            return SCALAR
        of = registry.op(fn).shape
        if of is not None:
            return of(args, value.keywords)
        if isinstance(fn, np.ufunc) and fn.signature is None and not value.keywords:
            # (a generalized ufunc such as np.matmul is not elementwise)
            if fn.nin == 1 and len(args) == 1:
                return args[0]
            if fn.nin == 2 and len(args) == 2:
                return _broadcast(args[0], args[1], name)
    return None


def _of(name, s):
    if s[0] in ("float", "int", "bool", "complex", "npscalar"):
        return SCALAR
    if s[0] == "array":
        return SCALAR if s[2] == 0 else ("array", name, s[2])
    return None


def param_shapes(params, signature, fields=None):
    """Shapes of the parameters; with ``fields`` (parameter -> [(field, abstract type)])
    also of the fields of dataclass/NamedTuple parameters, as ``"p.field"``."""
    out = {}
    for p, s in zip(params, signature, strict=True):
        out[p] = _of(p, s)
    for p, items in (fields or {}).items():
        for f, s in items:
            out[f"{p}.{f}"] = _of(f"{p}.{f}", s)
    return out

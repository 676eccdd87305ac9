"""Which values are scalars, and which arrays surely share a shape.

Before: an SSA function and its argument signature::

    def f(x, k):          # x: float64[1d], k: float
        t = x * k
        u = np.exp(t)
        s = np.sum(u)
        v = x[0]

After: ``{"x": A1, "k": SCALAR, "t": A1, "u": A1, "s": SCALAR, "v": SCALAR}``:
``A1`` is ``("array", "x", 1, ("x:0",))``, a symbol for "the shape of ``x``", its
rank and what is known of each axis: ``1`` (length 1, the signature says which
axes of an argument have length 1), a token standing for one length other than
1 (``"x:0"``; two axes with one token have one length), or None (not known). A
name missing from the table has an unknown shape.

Broadcasting two lengths other than 1 needs them equal, so ``h @ W + b`` (``h``
``(n, k)``, ``W`` ``(k, m)``, ``b`` ``(m,)``) has the axes ``("h:0", "W:1")`` of
``h @ W``: the two shapes are the same (``same``), and the cotangent of ``b``
is summed over axis 0 (``summed_axes``). The reverse pass writes no
``unbroadcast(g, x)`` where they tell how, and uses ``x_bar[i] += g`` for a
scalar index into an array. An item read with a number per axis (``x[i]``,
``x[i, 0]``) is a number.
"""
import operator

import gast
import numpy as np

from srcad.transforms.blocks import walk
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
    an array whose shape is its own: the symbol ``?name`` ("the shape of ``name``"), with
    the axes broadcasting gives."""
    if a is None or b is None:
        return None
    if a == SCALAR:
        return b
    if b == SCALAR:
        return a
    if a == b:
        return a
    if name is not None and a[0] == "array" and b[0] == "array":
        return ("array", "?" + name, max(a[2], b[2]), _broadcast_axes(_axes(a), _axes(b)))
    return _TOP


def _axes(shape):
    return shape[3] if len(shape) > 3 else (None,) * shape[2]


def _broadcast_axes(a, b):
    """Aligned from the right, a missing axis has length 1; two lengths other than 1 are
    equal (NumPy refuses them otherwise), so either token names the result's."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b, strict=True):
        if x == 1:
            out.append(y)
        elif y == 1 or y is None:
            out.append(x if x is not None else y)
        else:
            out.append(y)
    return tuple(out)


def same(a, b):
    """Do the abstract shapes ``a`` and ``b`` surely stand for one shape at run time?"""
    if a is None or b is None:
        return False
    if a == b:
        return True
    return a[0] == "array" and b[0] == "array" and a[2] == b[2] \
        and None not in _axes(a) and _axes(a) == _axes(b)


def summed_axes(result, operand):
    """How a cotangent shaped like ``result`` sums down to ``operand``'s shape:
    ``(leading, kept)``, the leading axes summed away and the axes (of ``operand``) of
    length 1 summed keeping them; ``"all"`` for a number; None when it is not known."""
    if result is None or operand is None or result == SCALAR or result[0] != "array":
        return None
    if operand == SCALAR:
        return "all"
    if operand[0] != "array":
        return None
    if same(result, operand):
        return ((), ())
    outer, inner = _axes(result), _axes(operand)
    lead = len(outer) - len(inner)
    if lead < 0 or None in inner:
        return None
    kept = []
    for i, axis in enumerate(inner):
        if axis == 1:
            if outer[lead + i] is None:
                return None
            if outer[lead + i] != 1:
                kept.append(i)
    return tuple(range(lead)), tuple(kept)


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
    flags = _flags(defs)
    for _ in range(20):          # a monotone fixpoint: absent -> a shape -> unknown
        changed = False
        for name, value in defs:
            if any(isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)
                   and n.id not in table and n.id not in int_indices and n.id not in namespace
                   for n in walk(value)):
                continue          # an operand has no value yet: look again next round
            shape = _shape(value, table, namespace, int_indices, name, flags)
            merged = _merge(table.get(name), _TOP if shape is None else shape)
            if merged != table.get(name):
                table[name] = merged
                changed = True
        if not changed:
            break
    table = {k: v for k, v in table.items() if v is not None and v != _TOP}
    return _unified(fn, table, namespace, int_indices)


def _unified(fn, table, namespace, int_indices):
    """Two lengths other than 1 that a top-level elementwise statement broadcasts together
    are one length from there on (NumPy refuses them otherwise): their tokens become one.
    Only top-level statements count (one in a branch or a loop may not run), so the facts
    hold for the whole adjoint sweep, which runs after the primal one."""
    parent = {}

    def find(t):
        while parent.get(t, t) != t:
            t = parent[t]
        return t

    for s in fn.body:
        if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
            continue
        v = s.value
        if isinstance(v, gast.BinOp) and isinstance(v.op, _ELEMENTWISE_BINOPS):
            pair = [v.left, v.right]
        elif isinstance(v, gast.Call) and len(v.args) == 2 and not v.keywords \
                and registry.is_elementwise(resolve(v.func, namespace)):
            pair = list(v.args)
        else:
            continue
        a, b = (_atom(x, table, int_indices) for x in pair)
        if not (a and b and a[0] == "array" and b[0] == "array"):
            continue
        for x, y in zip(reversed(_axes(a)), reversed(_axes(b)), strict=False):
            if x not in (None, 1) and y not in (None, 1) and find(x) != find(y):
                parent[find(x)] = find(y)
    if not parent:
        return table
    return {k: v if v[0] != "array" or len(v) < 4 else
            v[:3] + (tuple(t if t in (None, 1) else find(t) for t in v[3]),)
            for k, v in table.items()}


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
            out[name] = SCALAR if value.ndim == 0 else (
                "array", "<constant>" + name, value.ndim, value.shape)   # lengths as tokens
    return out


def _shape(value, table, namespace, int_indices, name=None, flags=frozenset()):
    atom = lambda n: _atom(n, table, int_indices)
    if isinstance(value, (gast.Name, gast.Constant)):
        return atom(value)
    if isinstance(value, gast.BinOp) and isinstance(value.op, _ELEMENTWISE_BINOPS):
        return _broadcast(atom(value.left), atom(value.right), name)
    if isinstance(value, gast.BinOp) and isinstance(value.op, gast.MatMult):
        a, b = atom(value.left), atom(value.right)
        if a and b and a[0] == "array" and b[0] == "array" and a[2] >= 2 and b[2] >= 2:
            # (..., n, k) @ (..., k, m): the stacks broadcast, then (n, m)
            axes = _broadcast_axes(_axes(a)[:-2], _axes(b)[:-2]) + (_axes(a)[-2], _axes(b)[-1])
            return ("array", "?" + name, max(a[2], b[2]), axes) if name else None
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
        number = lambda p: _number_index(p, atom, flags)
        if base is not None and base != SCALAR and base[0] == "array" \
                and base[2] == len(parts) and all(number(p) for p in parts):
            return SCALAR         # a number per axis: x[i] of a vector, x[i, 0] of a matrix
        return _basic_index(base, parts, number, name)
    if isinstance(value, gast.Call):
        fn = resolve(value.func, namespace)
        if fn is MISSING:
            return None
        args = [atom(a) for a in value.args]
        if fn is operator.neg:
            return SCALAR
        of = registry.op(fn).shape
        if of is not None:
            return of(args, value.keywords, name)
        if isinstance(fn, np.ufunc) and fn.signature is None and not value.keywords:
            # (a generalized ufunc such as np.matmul is not elementwise)
            if fn.nin == 1 and len(args) == 1:
                return args[0]
            if fn.nin == 2 and len(args) == 2:
                return _broadcast(args[0], args[1], name)
    return None


def _flags(defs):
    """Names bound to a truth value (a comparison, ``and``/``or``, ``not``, ``True``): an
    index of one of these adds an axis (``x[True]`` has the shape ``(1,) + x.shape``)."""
    return {name for name, v in defs if isinstance(v, (gast.Compare, gast.BoolOp))
            or isinstance(v, gast.UnaryOp) and isinstance(v.op, gast.Not)
            or isinstance(v, gast.Constant) and isinstance(v.value, bool)}


def _number_index(p, atom, flags):
    """Is the index part ``p`` surely one number (an int, not a truth value)?"""
    if isinstance(p, gast.Constant):
        return type(p.value) is int
    if isinstance(p, gast.Name) and p.id in flags:
        return False
    return atom(p) == SCALAR


def _basic_index(base, parts, number, name):
    """The shape of ``x[parts]`` for numbers, slices and new axes (``mu[:, None]``): a
    number drops its axis, ``:`` keeps the axis's length, another slice gives a length not
    known, ``None`` a new axis of length 1; the axes not indexed stay as they are."""
    if name is None or base is None or base == SCALAR or base[0] != "array":
        return None
    lengths, out = list(_axes(base)), []
    for p in parts:
        if isinstance(p, gast.Constant) and p.value is None:
            out.append(1)
        elif not lengths:
            return None
        elif isinstance(p, gast.Slice):
            length = lengths.pop(0)
            whole = p.lower is None and p.upper is None and p.step is None
            out.append(length if whole else None)
        elif number(p):
            lengths.pop(0)
        else:
            return None
    out += lengths
    return ("array", "?" + name, len(out), tuple(out)) if out else SCALAR


def _of(name, s):
    if s[0] in ("float", "int", "bool", "complex", "npscalar"):
        return SCALAR
    if s[0] == "array":
        ones = s[3] if len(s) > 3 else None
        axes = tuple(None if ones is None else 1 if i in ones else f"{name}:{i}"
                     for i in range(s[2]))
        return SCALAR if s[2] == 0 else ("array", name, s[2], axes)
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

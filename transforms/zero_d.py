"""``v += c`` keeps a 0-d array a 0-d array only where ``v`` may be one.

The normal form writes ``v += c`` as ``v = _rt.kept_0d(v, t)`` with ``t = v + c``
(Python updates a 0-d array in place, and it stays a mutable 0-d array where
``v + c`` is a NumPy scalar). Where ``v`` is surely not a 0-d array (a number, an
arithmetic result, an array of one dimension or more) the call is dropped.

Before::

    s = 0.0
    for i in range(n):
        t = s + x[i]
        s = _rt.kept_0d(s, t)

After::

    s = 0.0
    for i in range(n):
        t = s + x[i]
        s = t
"""
import gast

from srcad.transforms.blocks import walk
from srcad.transforms.parse import resolve
from srcad.transforms.rules import registry


def drop(fn, known, namespace):
    runtime = registry.HOST.runtime
    defs = {}
    for n in walk(fn):
        if isinstance(n, gast.Assign):
            for t in n.targets:
                if isinstance(t, gast.Name):
                    defs.setdefault(t.id, []).append(n.value)
                else:
                    for m in walk(t):
                        if isinstance(m, gast.Name):
                            defs.setdefault(m.id, []).append(None)
        elif isinstance(n, gast.For):
            for m in walk(n.target):
                if isinstance(m, gast.Name):
                    defs.setdefault(m.id, []).append(None)
    params = {a.id for a in fn.args.args + fn.args.kwonlyargs}

    def kept(value):
        return isinstance(value, gast.Call) and len(value.args) == 2 \
            and resolve(value.func, namespace) is runtime.kept_0d

    def not_0d(name, seen):
        shape = known.get(name)
        if shape is not None and shape[0] == "array" and shape[2] >= 1:
            return True
        if name in seen:
            return True             # a loop-carried value: decided by its other definitions
        if name in params or name not in defs:
            return False
        seen = seen | {name}
        return all(value_not_0d(v, seen) for v in defs[name])

    def value_not_0d(v, seen):
        if isinstance(v, gast.Constant):
            return isinstance(v.value, (bool, int, float, complex))
        if isinstance(v, (gast.BinOp, gast.UnaryOp, gast.Compare)):
            return True             # NumPy gives a scalar, never a 0-d array
        if isinstance(v, gast.Name):
            return not_0d(v.id, seen)
        if kept(v):
            return isinstance(v.args[0], gast.Name) and not_0d(v.args[0].id, seen)
        return False

    for n in walk(fn):
        if isinstance(n, gast.Assign) and kept(n.value) and isinstance(n.value.args[0], gast.Name) \
                and not_0d(n.value.args[0].id, frozenset()):
            n.value = n.value.args[1]
    return fn

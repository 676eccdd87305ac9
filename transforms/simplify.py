"""Tidy the generated function: first contributions assign, dead code goes.

Before::

    p_bar = 0.0
    t_bar = seed
    p_bar = p_bar + t_bar * 2.0
    unused = x * 3.0

After::

    t_bar = seed
    p_bar = t_bar * 2.0

- ``c = 0.0`` followed in the same block by ``c = c + e`` (nothing reading ``c``
  in between) becomes ``c = e`` -- unless ``c`` is updated in place later
  (``_rt.item_acc``/``_rt.zero_item``), which needs an array of its own;
- ``c = c + 0.0``-style no-ops and copies of a name to itself go;
- assignments to names nobody reads, of values without side effects, go.
"""
import gast

_PURE = (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp, gast.Tuple, gast.List,
         gast.Compare, gast.Attribute, gast.Subscript)


def _loads(node):
    return [n.id for n in gast.walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)]


def _owned_names(fn):
    """Cotangents that are updated in place and must not alias another value."""
    out = set()
    for n in gast.walk(fn):
        if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) \
                and n.func.attr in ("item_acc", "zero_item", "attr_acc", "pop_cot") \
                and n.args and isinstance(n.args[0], gast.Name):
            out.add(n.args[0].id)
    return out


def _is_zero_init(s):
    return isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
        and isinstance(s.value, gast.Constant) and s.value.value == 0.0 \
        and not isinstance(s.value.value, bool)


def _accumulation(s):
    """``c = c + e`` or ``c = _rt.add_cot(c, e)`` -> (c, e), else None."""
    if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
        return None
    name, v = s.targets[0].id, s.value
    if isinstance(v, gast.BinOp) and isinstance(v.op, gast.Add) \
            and isinstance(v.left, gast.Name) and v.left.id == name:
        return name, v.right
    if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) \
            and v.func.attr == "add_cot" and isinstance(v.args[0], gast.Name) \
            and v.args[0].id == name:
        return name, v.args[1]
    return None


def _first_assign(stmts, owned):
    zero = {}         # name -> index of its pending `= 0.0`
    drop = set()
    for k, s in enumerate(stmts):
        acc = _accumulation(s)
        if acc is not None and acc[0] in zero and acc[0] not in owned \
                and acc[0] not in _loads(acc[1]):
            name, expr = acc
            s.value = expr
            drop.add(zero.pop(name))
            continue
        for name in _loads(s):
            zero.pop(name, None)
        if isinstance(s, (gast.If, gast.For, gast.While)):
            for n in gast.walk(s):
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                    zero.pop(n.id, None)
            for field in ("body", "orelse"):
                setattr(s, field, _first_assign(getattr(s, field), owned) or
                        ([gast.Pass()] if field == "body" else []))
        if _is_zero_init(s):
            zero[s.targets[0].id] = k
    return [s for k, s in enumerate(stmts) if k not in drop]


def _dead(fn):
    changed = True
    while changed:
        changed = False
        used = set(_loads(fn))
        for node in gast.walk(fn):
            for field in ("body", "orelse"):
                stmts = getattr(node, field, None)
                if not isinstance(stmts, list) or not stmts or not isinstance(stmts[0], gast.stmt):
                    continue
                keep = []
                for s in stmts:
                    if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                            and s.targets[0].id not in used and isinstance(s.value, _PURE) \
                            and not isinstance(s.value, gast.Subscript):
                        changed = True
                        continue
                    keep.append(s)
                if len(keep) != len(stmts):
                    setattr(node, field, keep or ([gast.Pass()] if field == "body" else []))


def simplify(fn):
    owned = _owned_names(fn)
    fn.body = _first_assign(fn.body, owned)
    _dead(fn)
    return fn

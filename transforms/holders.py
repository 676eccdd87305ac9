"""An array written in place is followed into the containers that hold it.

Before (NumPy writes into the one array that ``b`` and ``d["a"]`` both are)::

    b = np.zeros(3)
    d = {"a": b}
    b[1] = x[0]
    return np.sum(d["a"])

srcad treats ``b[1] = v`` as a new value of ``b`` (the SSA form), so after the write
it puts the new ``b`` back where the container holds it. After::

    _rt.not_shared(b, 'b', 'model.py', 3, held=((d, 'a'),))
    b[1] = t
    d['a'] = b

A write through the container (``d["a"][1] = v``) reads the item into a fresh name,
writes into it, and puts it back, into the container and into the names the
container's literal holds at that key::

    t1 = d['a']
    _rt.not_shared(t1, "d['a']", 'model.py', 3, held=((d, 'a'),), same=(b,))
    t1[1] = t
    d['a'] = t1
    b = t1

Followed are only containers bound once, by a literal (dict with constant keys, list,
tuple) naming the array, before the write in the same block. The guard checks at
run time that the container still holds that very array at those keys (and each name
in ``same`` is that array) and that nothing else read later shares its memory; when
that fails, the write is refused as before (a located ``TransformError``).
"""
import ast
from collections import Counter

import gast

from srcad.transforms.blocks import walk
from srcad.transforms.exits import _const, _load


def _store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def _bindings(tree):
    """name -> how many times ``tree`` binds it (parameters, stores, ``del``)."""
    out = Counter(a.id for a in tree.args.args + tree.args.kwonlyargs)
    out.update(n.id for n in walk(tree) if isinstance(n, gast.Name)
               and isinstance(n.ctx, (gast.Store, gast.Del)))
    return out


def _blocks(node):
    for field in ("body", "orelse", "finalbody"):
        block = getattr(node, field, None)
        if isinstance(block, list) and block and isinstance(block[0], gast.stmt):
            yield block
            for s in block:
                yield from _blocks(s)


def _literal(tree, name, stmt, bindings):
    """The literal ``name`` is bound to, once, in a statement before ``stmt`` in a block
    that holds both (so the binding ran before ``stmt``); else None. ``bindings``:
    ``_bindings(tree)``."""
    if bindings[name] != 1:
        return None
    for block in _blocks(tree):
        for i, st in enumerate(block):
            if isinstance(st, gast.Assign) and len(st.targets) == 1 \
                    and isinstance(st.targets[0], gast.Name) and st.targets[0].id == name:
                if isinstance(st.value, (gast.Dict, gast.List, gast.Tuple)) and any(
                        stmt is n for later in block[i + 1:] for n in walk(later)):
                    return st.value
                return None
    return None


def _items(literal):
    """(key, element) of a literal; None when a key is not a constant (or ``**``/``*``)."""
    if isinstance(literal, gast.Dict):
        if not all(isinstance(k, gast.Constant) for k in literal.keys):
            return None
        return [(k.value, v) for k, v in zip(literal.keys, literal.values, strict=True)]
    if any(isinstance(e, gast.Starred) for e in literal.elts):
        return None
    return list(enumerate(literal.elts))


def holders(norm, name, stmt):
    """[(container, keys, literal)] of the containers bound by a literal that holds the
    local ``name`` directly (``d = {"a": name}``), bound once before ``stmt``."""
    tree = norm.parsed.tree
    out = []
    bindings = None
    for c in sorted(norm.aliases.get(name, set()) - {name}):
        if c not in norm.assigned:
            continue
        if bindings is None:
            bindings = _bindings(tree)
        literal = _literal(tree, c, stmt, bindings)
        items = _items(literal) if literal is not None else None
        keys = [k for k, v in items or () if isinstance(v, gast.Name) and v.id == name]
        if keys:
            out.append((c, keys, literal))
    return out


def through(norm, base, stmt):
    """For a write into ``c[key][...]``: (c, key, names the literal holds at key) when ``c``
    is a dict or list bound once by a literal before ``stmt``; else None."""
    if not (isinstance(base, gast.Subscript) and isinstance(base.value, gast.Name)
            and isinstance(base.slice, gast.Constant) and base.value.id in norm.assigned):
        return None
    bindings = _bindings(norm.parsed.tree)
    literal = _literal(norm.parsed.tree, base.value.id, stmt, bindings)
    if not isinstance(literal, (gast.Dict, gast.List)) or _items(literal) is None:
        return None
    key = base.slice.value
    if isinstance(literal, gast.List) and (not isinstance(key, int) or isinstance(key, bool)
                                           or not 0 <= key < len(literal.elts)):
        return None
    same = sorted({v.id for k, v in _items(literal) if k == key and isinstance(v, gast.Name)
                   and v.id in norm.assigned and bindings[v.id] == 1
                   and v.id in norm.locals})
    return base.value.id, key, same


def refresh(norm, name, held, same, s):
    """Put the new ``name`` where the containers (and names) hold it."""
    for c, keys, literal in held:
        if isinstance(literal, gast.Tuple):             # immutable: built again
            elts = [_load(name) if k in keys else norm.fresh_assign("t", gast.Subscript(
                value=_load(c), slice=_const(k), ctx=gast.Load()), s)
                for k in range(len(literal.elts))]
            norm.emit(gast.Assign(targets=[_store(c)], value=gast.Tuple(
                elts=elts, ctx=gast.Load()), type_comment=None), s)
            continue
        for k in keys:
            norm.emit(gast.Assign(targets=[gast.Subscript(value=_load(c), slice=_const(k),
                                                           ctx=gast.Store())],
                                  value=_load(name), type_comment=None), s)
    for n in same:
        norm.emit(gast.Assign(targets=[_store(n)], value=_load(name), type_comment=None), s)


def label(base):
    return ast.unparse(gast.gast_to_ast(gast.Expression(body=base)).body)


def prepare(norm, base, s, index=None, augmented=False):
    """Before a write into ``base[...]`` (``augmented``: ``base[...] += v``): the guard
    (and, for a write through a container, the read of its item into a fresh name).
    Returns (the name written into, a function that emits the statements following the
    write into the containers and names that hold it)."""
    from srcad.transforms import sharing
    via = through(norm, base, s)
    if via is not None and len(via[2]) == 1:    # `d["a"][i] = v` is `b[i] = v` for d = {"a": b}
        base, via = _load(via[2][0]), None
    if via is None:
        if not (augmented and isinstance(base, gast.Name)):   # `G[0] += 1`: a global counter
            norm.writable_base(base, s)
        name, same = base.id, []
        held = [h for h in holders(norm, name, s) if h[0] in norm.reads_after(s)]
        guard = sharing.guard(norm, name, s, index, held)
    else:
        c, key, same = via
        name = norm.fresh_assign("t", gast.Subscript(value=_load(c), slice=_const(key),
                                                     ctx=gast.Load()), s).id
        same = [n for n in same if n in norm.reads_after(s)]
        held = [(c, [key], None)]
        guard = sharing.guard(norm, name, s, index, held, same,
                              norm.aliases.get(c, set()) | {c}, label(base))
    if guard is not None:
        norm.emit(guard, s)
    return name, lambda: refresh(norm, name, held, same, s)

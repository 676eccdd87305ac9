"""Hoist loop-invariant arithmetic out of loops.

Before (SSA)::

    for i in range(n):
        t3 = -k
        t4 = t3 * x2
        ...

After::

    t3 = -k
    for i in range(n):
        t4 = t3 * x2
        ...

A top-level statement of a loop body moves before the loop when it is plain
arithmetic (a BinOp, UnaryOp or Compare of atoms) or a field read, its target is assigned
nowhere else, and nothing it reads is assigned inside the loop, nor changed in place there
(``b[0] = v``, ``lst.append(v)``, a call that may write into its argument), nor may share
memory with something changed in place there. The primal
computes it once, the loop stops recording it, and its adjoint accumulates
across iterations and runs once.
"""
from collections import Counter

import gast

from srcad.transforms.blocks import walk
from srcad.transforms.sharing import alias_groups

_PURE = (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Constant, gast.Attribute)


def _stores(node):
    return {n.id for n in walk(node)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}


def _loads(node):
    return {n.id for n in walk(node)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def hoist(fn):
    counts = Counter(n.id for n in walk(fn)
                     if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store))
    aliases = alias_groups(fn, ())
    fn.body = _block(fn.body, counts, aliases)
    return fn


def _mutated(loop, aliases):
    """Names whose contents the loop may change in place, with every name that may share
    memory with them."""
    out, lists = set(), set()
    for n in walk(loop):
        if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store):
            out |= _loads(n.value)
        elif isinstance(n, gast.Expr) and isinstance(n.value, gast.Call):
            call = n.value      # a discarded result: it may act on its arguments
            if isinstance(call.func, gast.Attribute) and call.func.attr == "append":
                lists |= _loads(call.func.value)    # only the list grows
                continue
            out |= _loads(call.func.value) if isinstance(call.func, gast.Attribute) else set()
            for a in list(call.args) + [k.value for k in call.keywords]:
                out |= _loads(a)
    for name in list(out):
        out |= aliases.get(name, set())
    return out | lists


def _block(stmts, counts, aliases):
    out = []
    for s in stmts:
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                setattr(s, field, _block(inner, counts, aliases))
        if isinstance(s, (gast.For, gast.While)):
            out.extend(_hoisted(s, counts, aliases))
        out.append(s)
    return out


def _hoisted(loop, counts, aliases):
    moved = []
    changed = True
    while changed:
        changed = False
        assigned = _stores(loop) | _mutated(loop, aliases)
        if isinstance(loop, gast.While):
            assigned |= _loads(loop.test)
        for s in list(loop.body):
            if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                    and isinstance(s.value, _PURE)):
                continue
            name = s.targets[0].id
            if counts[name] != 1 or _loads(s.value) & assigned:
                continue
            loop.body.remove(s)
            moved.append(s)
            changed = True
            break
    if not loop.body:
        loop.body = [gast.Pass()]
    return moved

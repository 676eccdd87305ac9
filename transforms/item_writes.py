"""The reverse sweep of writes into items (``b[i] = v``) and of ``lst.append(v)``.

Before::

    b[1] = t

After, when the adjoint sweep reads ``b``::

    b_old = _rt.copy_item(b, 1)          # primal
    b[1] = t
    ...
    b[1] = b_old                         # adjoint: the old item back, a write the next
    t_bar = b_bar[1]                     # transformation (a Hessian) follows too
    b_bar[1] = 0.0

A mixin of ``srcad.transforms.reverse.Reverse``.
"""
import gast

from srcad.transforms.blocks import walk
from srcad.transforms.exits import _assign, _const, _load, _located, index_value, rt_call
from srcad.transforms.parse import resolve
from srcad.transforms.rules import registry


class ItemWrites:
    def not_a_dict(self, name):
        """Is ``name`` surely a list or an array (``name[i] = old`` restores an item), held
        by no container (the write would be refused there at second order)?"""
        held = {e.id for n in walk(self.fn) if isinstance(n, (gast.List, gast.Tuple,
                                                                   gast.Dict, gast.Call))
                for e in (n.values if isinstance(n, gast.Dict) else n.elts
                          if not isinstance(n, gast.Call) else n.args
                          if isinstance(n.func, gast.Attribute) and n.func.attr == "append"
                          else []) if isinstance(e, gast.Name)}
        if name in held:
            return False
        d = self.defs.get(name)
        if self.array_valued(name) or d is not None and isinstance(d.value, (
                gast.List, gast.ListComp)):
            return True
        if d is not None and isinstance(d.value, gast.Call):     # np.zeros(n), np.ones(n)
            fn = resolve(d.value.func, self.env.namespace)
            return registry.hashable(fn) and registry.is_nondiff(fn) and fn is not dict
        return False

    def setitem(self, s, target):
        base = target.value
        if not self.is_active(base) and base.id not in self.restore:
            return [s], []
        self.refusals.check(s)
        index = index_value(target.slice)
        primal, adj = [], []
        if base.id in self.restore:     # the adjoint reads the array (or a view of it)
            old = self.namer.fresh(base.id + "_old")
            primal.append(_assign(old, rt_call(self.env, "copy_item", base, index)))
            shape = self.shapes.get(base.id)
            if (shape is not None and shape[0] == "array") or self.not_a_dict(base.id):
                # an array: restored by a write the next transformation follows too
                adj.append(gast.Assign(targets=[gast.Subscript(
                    value=_load(base.id), slice=target.slice, ctx=gast.Store())],
                    value=_load(old), type_comment=None))
            else:       # a dict may not have had the key: restoring removes it again
                adj.append(gast.Expr(value=rt_call(self.env, "restore_item", base, index,
                                                   _load(old))))
        primal.append(s)
        if not self.is_active(base):    # a constant array: only its old values come back
            return primal, [_located(a, s) for a in adj]
        self.contributed.add(base.id)
        parts = target.slice.elts if isinstance(target.slice, gast.Tuple) else [target.slice]
        if self.direct_index(base, target.slice) \
                and len(parts) == self.shapes[base.id][2] \
                and all(not isinstance(p, gast.Slice) for p in parts):
            # one element: read it, then zero it (a row would be a view zeroed before use)
            self.owned.add(base.id)
            item = gast.Subscript(value=_load(self.bar(base.id)), slice=target.slice,
                                  ctx=gast.Load())
            self.accumulate(adj, s.value, item)
            adj.append(gast.Assign(targets=[gast.Subscript(
                value=_load(self.bar(base.id)), slice=target.slice, ctx=gast.Store())],
                value=_const(0.0), type_comment=None))
        else:
            # ``b[idx] = v`` broadcasts v to b[idx]'s shape: v's cotangent sums back down
            taken = rt_call(self.env, "take_cot", _load(self.bar(base.id)), index)
            unbroadcast = self.env.bind("unbroadcast", registry.unbroadcast,
                                        (registry.unbroadcast.__module__, "unbroadcast"))
            self.accumulate(adj, s.value, gast.Call(func=_load(unbroadcast),
                                                    args=[taken, s.value], keywords=[]))
            adj.append(_assign(self.bar(base.id), rt_call(self.env, "zero_item",
                                                     _load(self.bar(base.id)), index)))
        return primal, [_located(a, s) for a in adj]

    def append(self, s, call):
        lst = call.func.value
        adj = []
        if lst.id in self.restore:      # the adjoint reads the list as it was before
            adj.append(gast.Expr(value=gast.Call(func=gast.Attribute(
                value=_load(lst.id), attr="pop", ctx=gast.Load()), args=[], keywords=[])))
        if not self.is_active(lst):
            return [s], [_located(a, s) for a in adj]
        item = call.args[0]
        self.contributed.add(lst.id)
        popped = rt_call(self.env, "pop_cot", _load(self.bar(lst.id)))
        if self.is_active(item):
            self.accumulate(adj, item, popped)
        else:
            adj.append(gast.Expr(value=popped))
        return [s], [_located(a, s) for a in adj]

"""Give every value its own name, so the reverse sweep can still read it.

Before::

    s = 0.0
    for i in range(n):
        s = s * x[i]
        s = s + 1.0
    return s

After::

    s = 0.0
    s2 = s                   # loop header: the value at the start of an iteration
    for i in range(n):
        t = x[i]
        s3 = s2 * t
        s4 = s3 + 1.0
        s2 = s4              # end of the iteration: the header takes the new value
    return s2

Invariant: outside loop headers every name is assigned at most once on any
path (the two branches of an ``if`` may assign the same join name). A header
is assigned before its loop and by copies at the very end of the loop body
(before a trailing ``if flag: break``); a name used after a loop or carried
from one iteration to the next is always a header. Writes into arrays
(``x[i] = v``) and ``lst.append(v)`` mutate and keep the name.
"""
from collections import Counter

import gast

from srcad.transforms.blocks import walk
from srcad.transforms.exits import _assign, _const, _load
from srcad.transforms.normal_loops import trailing_break


def _loads(node):
    return Counter(n.id for n in walk(node)
                   if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load))


def _stores(stmts):
    out = set()
    for s in stmts:
        for n in walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                out.add(n.id)
    return out


class _Rename(gast.NodeTransformer):
    def __init__(self, current):
        self.current = current

    def visit_Name(self, node):
        if isinstance(node.ctx, gast.Load) and node.id in self.current:
            node.id = self.current[node.id]
        return node


class SSA:
    def __init__(self, fn, namer):
        self.namer = namer
        self.params = [a.id for a in fn.args.args] + [a.id for a in fn.args.kwonlyargs]
        self.current = {p: p for p in self.params}
        self.defined = set(self.params)      # version names already used
        self.total_loads = _loads(fn)

    def read(self, node):
        return _Rename(self.current).visit(node)

    def version(self, var):
        if var not in self.defined:
            self.defined.add(var)
            name = var
        else:
            name = self.namer.fresh(var)
            self.defined.add(name)
        self.current[var] = name
        return name

    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, gast.Assign):
            s.value = self.read(s.value)
            target = s.targets[0]
            if isinstance(target, gast.Name):
                target.id = self.version(target.id)
            else:
                target.value = self.read(target.value)
                target.slice = self.read(target.slice)
            return [s]
        if isinstance(s, (gast.Expr, gast.Return)):
            return [self.read(s)]
        if isinstance(s, gast.If):
            return self.if_(s)
        if isinstance(s, gast.For):
            return self.loop(s, s.body)
        if isinstance(s, gast.While):
            return self.loop(s, s.body)
        return [s]

    def if_(self, s):
        s.test = self.read(s.test)
        used_inside = _loads(s)
        before = dict(self.current)
        s.body = self.block(s.body)
        after_body = self.current
        self.current = dict(before)
        s.orelse = self.block(s.orelse)
        after_else = self.current
        merged = {}
        for var in set(after_body) | set(after_else):
            a, b = after_body.get(var), after_else.get(var)
            if a == b:
                merged[var] = a
                continue
            if var not in before and self.total_loads[var] <= used_inside[var]:
                merged[var] = a or b          # local to the branch: no join needed
                continue
            join = self.namer.fresh(var)
            self.defined.add(join)
            s.body.append(_assign(join, _load(a) if a else _const(None)))
            s.orelse.append(_assign(join, _load(b) if b else _const(None)))
            merged[var] = join
        self.current = merged
        return [s]

    def loop(self, s, body):
        brk = trailing_break(body)
        if brk is not None:
            body = body[:-1]
        assigned = _stores(body)
        inside = Counter()
        for stmt in body:
            inside.update(_loads(stmt))
        if isinstance(s, gast.While):
            inside.update(_loads(s.test))
        if brk is not None:
            inside.update(_loads(brk.test))
        carried = sorted(v for v in assigned
                         if v in self.current or self.total_loads[v] > inside[v])
        pre, headers = [], {}
        if isinstance(s, gast.For):
            s.iter = self.read(s.iter)
        for var in carried:
            head = self.namer.fresh(var)
            self.defined.add(head)
            src = self.current.get(var)
            pre.append(_assign(head, _load(src) if src else _const(None)))
            headers[var] = head
            self.current[var] = head
        if isinstance(s, gast.For):
            before = self.current.get(s.target.id)
            s.target.id = self.version(s.target.id)
            if before is not None:      # a loop that runs no iteration leaves the old value
                pre.append(_assign(s.target.id, _load(before)))
        else:
            s.test = self.read(s.test)
        new_body = self.block(body)
        for var, head in headers.items():
            if self.current.get(var) != head:
                new_body.append(_assign(head, _load(self.current[var])))
            self.current[var] = head
        if brk is not None:
            brk.test = self.read(brk.test)
            new_body.append(brk)
        s.body = new_body or [gast.Pass()]
        return pre + [s]


def to_ssa(fn, namer):
    ssa = SSA(fn, namer)
    fn.body = ssa.block(fn.body)
    return fn

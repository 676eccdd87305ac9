"""Loops in reverse mode: record what the adjoint reads, replay it backwards.

Before (SSA)::

    for i in range(n):
        t = x[i]
        s3 = s2 * t
        s2 = s3

After (primal, then adjoint)::

    loop = []
    for i in range(n):
        t = x[i]
        s3 = s2 * t
        loop.append((i, s2, t))      # header values at the start, body values at the end
        s2 = s3
    ...
    for i, s2, t in reversed(loop):
        ...adjoint of the body...

Only the names the body's adjoint reads are recorded; a ``for`` with no
``break`` whose adjoint reads only its index runs over ``reversed(range(...))``,
and one that reads nothing counts its trips.
"""
import gast

from srcad.transforms.blocks import walk
from srcad.transforms.exits import _assign, _const, _load
from srcad.transforms.normal_loops import trailing_break


def _stores_here(stmts):
    """Names assigned by ``stmts`` (through ifs, not inside nested loop bodies)."""
    out = set()
    for s in stmts:
        if isinstance(s, gast.Assign):
            for t in s.targets:
                for n in walk(t):
                    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                        out.add(n.id)
        elif isinstance(s, gast.If):
            out |= _stores_here(s.body) | _stores_here(s.orelse)
    return out


def _top_stores(stmts):
    return {t.id for s in stmts if isinstance(s, gast.Assign) for t in s.targets
            if isinstance(t, gast.Name)}


def _loads(stmts):
    out = set()
    for s in stmts:
        for n in walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                out.add(n.id)
    return out


def _store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


class LoopSweeps:
    """Mixed into the reverse pass (uses its ``block``, ``inits``, ``scope_of``...)."""

    def loop(self, s):
        body = list(s.body)
        brk = trailing_break(body)
        if brk is not None:
            body.pop()
        # split the header copies that end the body from the rest
        here = _stores_here(body)
        headers = {n for n in here if self.scope_of.get(n) is not s}
        if isinstance(s, gast.For):
            headers.discard(s.target.id)
        k = len(body)
        while k > 0 and isinstance(body[k - 1], gast.Assign) \
                and isinstance(body[k - 1].targets[0], gast.Name) \
                and body[k - 1].targets[0].id in headers:
            k -= 1
        main, copies = body[:k], body[k:]
        p_main, a_main = self.block(main)
        p_copies, a_copies = self.block(copies)
        adjoint_body = a_copies + a_main
        inits = self.inits(s)
        adjoint_body = inits + adjoint_body
        defs = _stores_here(p_main) | headers
        if isinstance(s, gast.For):
            defs.add(s.target.id)
        needed = sorted(_loads(adjoint_body) & defs)
        pre = []
        loop_name = None
        plain_range = isinstance(s, gast.For) and brk is None
        if plain_range and set(needed) <= {s.target.id}:
            if needed:
                rev_iter = gast.Call(func=_load(self._builtin("reversed")), args=[s.iter],
                                     keywords=[])
                target = _store(s.target.id)
            else:
                rev_iter = s.iter
                target = _store("_")
            record = []
        elif not needed:
            loop_name = self.namer.fresh("trips")
            pre.append(_assign(loop_name, _const(0)))
            record = [gast.AugAssign(target=_store(loop_name), op=gast.Add(), value=_const(1))]
            rev_iter = gast.Call(func=_load(self._builtin("range")), args=[_load(loop_name)],
                                 keywords=[])
            target = _store("_")
        else:
            loop_name = self.namer.fresh("loop")
            pre.append(_assign(loop_name, gast.List(elts=[], ctx=gast.Load())))
            item = _load(needed[0]) if len(needed) == 1 else gast.Tuple(
                elts=[_load(n) for n in needed], ctx=gast.Load())
            record = [gast.Expr(value=gast.Call(
                func=gast.Attribute(value=_load(loop_name), attr="append", ctx=gast.Load()),
                args=[item], keywords=[]))]
            rev_iter = gast.Call(func=_load(self._builtin("reversed")), args=[_load(loop_name)],
                                 keywords=[])
            target = _store(needed[0]) if len(needed) == 1 else gast.Tuple(
                elts=[_store(n) for n in needed], ctx=gast.Store())
            top = _top_stores(p_main) | headers | ({s.target.id} if isinstance(s, gast.For)
                                                   else set())
            for n in needed:
                if n not in top:
                    pre.append(_assign(n, _const(None)))
        new_body = p_main + record + p_copies + ([brk] if brk is not None else [])
        if isinstance(s, gast.For):
            primal = gast.For(target=s.target, iter=s.iter, body=new_body, orelse=[],
                              type_comment=None)
        else:
            primal = gast.While(test=s.test, body=new_body, orelse=[])
        gast.copy_location(primal, s)
        adjoint = []
        if a_main or a_copies:
            adjoint = [gast.copy_location(gast.For(target=target, iter=rev_iter,
                                                   body=adjoint_body or [gast.Pass()],
                                                   orelse=[], type_comment=None), s)]
        else:
            pre = [p for p in pre if not (loop_name and _top_stores([p]) == {loop_name})]
            new_body = p_main + p_copies + ([brk] if brk is not None else [])
            primal.body = new_body
        return pre + [primal], adjoint


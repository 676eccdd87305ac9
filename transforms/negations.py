"""A negated cotangent is subtracted where it is added.

Before::

    t5_bar = -a_bar
    c_bar = c_bar + t5_bar * v2
    v2_bar = v2_bar + t5_bar * c
    t4_bar = -dx_bar
    x_bar[j, 0] += t4_bar

After::

    c_bar = c_bar - a_bar * v2
    v2_bar = v2_bar - a_bar * c
    x_bar[j, 0] -= dx_bar

The numbers are the same: a sign flip is exact.
"""
import gast

from srcad.transforms.blocks import accumulation as _accumulation, each_block as _each_block, \
    loads as _loads, stores as _stores, walk


def subtract(stmts, cotangents):
    """``t_bar = -a`` then ``x_bar[i] += t_bar`` (``t_bar`` read nowhere else) ->
    ``x_bar[i] -= a``."""
    loads = {}
    for n in walk(gast.Module(body=stmts, type_ignores=[])):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            loads[n.id] = loads.get(n.id, 0) + 1

    def visit(block):
        out = []
        for s in block:
            _each_block(s, visit)
            last = out[-1] if out else None
            if isinstance(s, gast.AugAssign) and isinstance(s.op, gast.Add) \
                    and isinstance(s.value, gast.Name) and isinstance(last, gast.Assign) \
                    and isinstance(last.targets[0], gast.Name) \
                    and last.targets[0].id == s.value.id and s.value.id in cotangents \
                    and loads.get(s.value.id) == 1 and isinstance(last.value, gast.UnaryOp) \
                    and isinstance(last.value.op, gast.USub):
                s.op, s.value = gast.Sub(), last.value.operand
                out[-1] = s
                continue
            out.append(s)
        return out
    return visit(stmts)


def negated_terms(stmts, cotangents):
    """``t_bar = -a`` read only by the accumulations after it (``c = c + t_bar * e``,
    ``a`` a name) -> ``c = c - a * e``: the same numbers (a sign flip is exact)."""
    loads = {}
    for n in walk(gast.Module(body=stmts, type_ignores=[])):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            loads[n.id] = loads.get(n.id, 0) + 1

    def term(s, t):
        """``c = c + X`` with ``X`` one of ``t``, ``t * e``, ``e * t`` -> X's other factor
        (None for ``t`` alone), or False."""
        acc = _accumulation(s)
        if acc is None or not isinstance(s.value, gast.BinOp):
            return False
        x = acc[1]
        if isinstance(x, gast.Name) and x.id == t:
            return None
        if isinstance(x, gast.BinOp) and isinstance(x.op, gast.Mult):
            left, right = x.left, x.right
            if isinstance(left, gast.Name) and left.id == t and t not in _loads(right):
                return ("left", right)
            if isinstance(right, gast.Name) and right.id == t and t not in _loads(left):
                return ("right", left)
        return False

    def visit(block):
        for s in block:
            _each_block(s, visit)
        out = list(block)
        k = 0
        while k < len(out):
            s = out[k]
            k += 1
            if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                    and s.targets[0].id in cotangents and isinstance(s.value, gast.UnaryOp)
                    and isinstance(s.value.op, gast.USub)
                    and isinstance(s.value.operand, gast.Name)):
                continue
            t, a = s.targets[0].id, s.value.operand.id
            users, seen = [], 0
            for u in out[k:]:
                n = _loads(u).count(t)
                if n:
                    if n != 1 or term(u, t) is False:
                        break
                    users.append(u)
                    seen += 1
                if seen == loads.get(t) or t in _stores(u) or a in _stores(u):
                    break
            if not users or seen != loads.get(t):
                continue
            for u in users:
                form = term(u, t)
                name = gast.Name(id=a, ctx=gast.Load(), annotation=None, type_comment=None)
                if form is None:
                    u.value.right = name
                elif form[0] == "left":
                    u.value.right = gast.BinOp(left=name, op=gast.Mult(), right=form[1])
                else:
                    u.value.right = gast.BinOp(left=form[1], op=gast.Mult(), right=name)
                u.value.op = gast.Sub()
            out.remove(s)
            k -= 1
        return out
    return visit(stmts)

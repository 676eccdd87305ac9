"""Turn early exits into flags, so every block runs to its end.

Before::

    def f(x):
        for i in range(n):
            if x[i] < 0:
                break
            s = s + x[i]
        return s

After::

    def f(x):
        loop_break = False
        for i in range(n):
            if x[i] < 0:
                loop_break = True
            if not loop_break:
                s = s + x[i]
            if loop_break:
                break
        return s

``break``/``continue``/``return`` set a flag; the statements after one are
guarded by ``if not flag``. A loop body ends with ``if <flag>: break`` as its
last statement (the only ``break`` left), a function with a single trailing
``return``. The reverse sweep then sees straight blocks and recorded trip counts.
"""
import gast

from srcad.transforms.blocks import walk
from srcad.transforms.rules import registry


def identifier(text):
    """``text`` made a plain Python identifier: names taken from objects (``__name__``
    can be set to anything) never reach generated source as anything but a name."""
    import keyword
    import re
    name = re.sub(r"\W", "_", str(text), flags=re.ASCII)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = "_" + name
    return name


class Namer:
    """Fresh, readable, collision-free names for one generated function."""

    def __init__(self, taken=()):
        self.taken = set(taken)

    def fresh(self, base):
        base = identifier(base).strip("_") or "t"
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}{k}"
        self.taken.add(name)
        return name


class DerivedNames(dict):
    """primal name -> its derivative's name (``x`` -> ``x_bar``), made fresh when the
    function already has a value of that name."""

    def __init__(self, namer, primal_names, suffix):
        super().__init__()
        self.namer, self.primal_names, self.suffix = namer, primal_names, suffix

    def __call__(self, name, stem=None):
        """``stem``: what the derived name is made from when not ``name`` (the cotangent of
        the field ``p.k`` is ``k_bar``)."""
        out = self.get(name)
        if out is None:
            out = (stem or name) + self.suffix
            if out in self.primal_names or out in self.values():
                out = self.namer.fresh(out)
            self[name] = out
        return out


def names_in(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


def _assign(name, value):
    return gast.Assign(targets=[gast.Name(id=name, ctx=gast.Store(), annotation=None,
                                          type_comment=None)],
                       value=value, type_comment=None)


def _load(name):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def _const(value):
    return gast.Constant(value=value, kind=None)


def dotted(node):
    if isinstance(node, gast.Attribute):
        return dotted(node.value) + "." + node.attr
    return node.id


def rename_root(node, name):
    while isinstance(node, gast.Attribute):
        node = node.value
    node.id = name


def _not_any(flags):
    flags = sorted(flags)
    test = _load(flags[0]) if len(flags) == 1 else gast.BoolOp(
        op=gast.Or(), values=[_load(f) for f in flags])
    return gast.UnaryOp(op=gast.Not(), operand=test)


def _any(flags):
    flags = sorted(flags)
    return _load(flags[0]) if len(flags) == 1 else gast.BoolOp(
        op=gast.Or(), values=[_load(f) for f in flags])


def _exits_loop(loop):
    """Does a loop body break, continue (directly) or return (at any depth)?"""
    if any(isinstance(n, gast.Return) for n in walk(loop)):
        return True
    stack = list(loop.body)
    while stack:
        child = stack.pop()
        if isinstance(child, (gast.Break, gast.Continue)):
            return True
        if not isinstance(child, (gast.For, gast.While)):
            stack.extend(gast.iter_child_nodes(child))
    return False


class _Exits:
    def __init__(self, namer):
        self.namer = namer
        self.ret = None          # (value name, flag name) once needed
        self.loops = []          # stack of dicts: {"break": name|None, "continue": name|None}

    def block(self, stmts):
        out = []
        for k, stmt in enumerate(stmts):
            new, flags = self.stmt(stmt)
            out.extend(new)
            if flags:
                rest, rest_flags = self.block(stmts[k + 1:])
                if rest:
                    out.append(gast.If(test=_not_any(flags), body=rest, orelse=[]))
                return out, flags | rest_flags
        return out, set()

    def stmt(self, stmt):
        if isinstance(stmt, gast.Return):
            value, flag = self.ret
            new = [_assign(value, stmt.value if stmt.value is not None else _const(None)),
                   _assign(flag, _const(True))]
            return [gast.copy_location(s, stmt) for s in new], {flag}
        if isinstance(stmt, gast.Break):
            loop = self.loops[-1]
            loop["break"] = loop["break"] or self.namer.fresh("loop_break")
            return [gast.copy_location(_assign(loop["break"], _const(True)), stmt)], {loop["break"]}
        if isinstance(stmt, gast.Continue):
            loop = self.loops[-1]
            loop["continue"] = loop["continue"] or self.namer.fresh("loop_continue")
            return [gast.copy_location(_assign(loop["continue"], _const(True)), stmt)], \
                {loop["continue"]}
        if isinstance(stmt, gast.If):
            body, f1 = self.block(stmt.body)
            orelse, f2 = self.block(stmt.orelse)
            stmt.body, stmt.orelse = body or [gast.Pass()], orelse
            return [stmt], f1 | f2
        if isinstance(stmt, (gast.For, gast.While)):
            return self.loop(stmt)
        return [stmt], set()

    def loop(self, stmt):
        if not _exits_loop(stmt):
            self.loops.append({"break": None, "continue": None})
            stmt.body, _ = self.block(stmt.body)      # loops nested inside may exit
            self.loops.pop()
            return [stmt], set()
        loop = {"break": None, "continue": None}
        self.loops.append(loop)
        body, flags = self.block(stmt.body)
        self.loops.pop()
        before, out_flags = [], set()
        exit_flags = set()
        if loop["break"]:
            before.append(_assign(loop["break"], _const(False)))
            exit_flags.add(loop["break"])
        if loop["continue"]:
            body.insert(0, _assign(loop["continue"], _const(False)))
        if self.ret and self.ret[1] in flags:
            exit_flags.add(self.ret[1])
            out_flags.add(self.ret[1])
        if exit_flags:
            body.append(gast.If(test=_any(exit_flags), body=[gast.Break()], orelse=[]))
        stmt.body = body
        return before + [stmt], out_flags


def remove_exits(fn_node, namer):
    """Rewrite ``fn_node`` in place so that only a trailing return remains."""
    body = fn_node.body
    returns = [n for n in walk(fn_node) if isinstance(n, gast.Return)]
    trailing = bool(body) and isinstance(body[-1], gast.Return)
    needs_ret = len(returns) > (1 if trailing else 0)
    ex = _Exits(namer)
    if needs_ret:
        ex.ret = (namer.fresh("retval"), namer.fresh("returned"))
        new, _ = ex.block(body)
        fn_node.body = ([_assign(ex.ret[0], _const(None)), _assign(ex.ret[1], _const(False))]
                        + new + [gast.Return(value=_load(ex.ret[0]))])
    else:
        last = [body[-1]] if trailing else []
        new, _ = ex.block(body[:-1] if trailing else body)
        fn_node.body = new + last
        if not trailing:
            fn_node.body.append(gast.Return(value=_const(None)))
    return fn_node


def index_value(sl):
    """An index as a runtime value (slices become ``slice(...)`` calls)."""
    if isinstance(sl, gast.Slice):
        parts = [sl.lower or _const(None), sl.upper or _const(None), sl.step or _const(None)]
        return gast.Call(func=_load("slice"), args=parts, keywords=[])
    if isinstance(sl, gast.Tuple):
        return gast.Tuple(elts=[index_value(e) for e in sl.elts], ctx=gast.Load())
    return sl


def _located(stmt, like):
    if getattr(like, "lineno", None) is not None:
        for n in walk(stmt):
            if hasattr(n, "lineno") or isinstance(n, gast.stmt):
                n.lineno = like.lineno
                n.col_offset = getattr(like, "col_offset", 0)
    return stmt


def rt(env, name):
    """A runtime helper, spelled ``_rt.name`` in generated code."""
    runtime = registry.HOST.runtime
    env.bind("_rt", runtime, (runtime.__name__, None))
    return gast.Attribute(value=_load("_rt"), attr=name, ctx=gast.Load())


def rt_call(env, name, *args):
    return gast.Call(func=rt(env, name), args=list(args), keywords=[])

"""``for`` and ``while`` loops in normal form: every ``for`` becomes a loop over ``range``
(sequences, ``zip``, ``enumerate`` and ``reversed`` by index, the iterable evaluated
once), a ``while`` condition is a name recomputed at the end of the body, and a
trailing ``if flag: break`` is kept last.

A mixin of ``normalize.Normalizer``: it uses the normalizer's ``atom``, ``block``,
``emit``, ``fresh_assign``, ``callee``, ``builtin`` and ``error``.
"""
import gast

from srcad.transforms.blocks import clone, walk
from srcad.transforms.exits import _assign, _const, _load
from srcad.transforms.parse import MISSING


def _store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def trailing_break(body):
    """The ``if flag: break`` that ends a loop body after exits, or None."""
    if body and isinstance(body[-1], gast.If) and len(body[-1].body) == 1 \
            and isinstance(body[-1].body[0], gast.Break):
        return body[-1]
    return None


class Loops:
    def stmt_For(self, s):
        if s.orelse:
            self.error(s, "`for ... else` is not supported", hint="use a flag variable")
        body = list(s.body)
        brk = trailing_break(body)
        if brk is not None:
            body.pop()
        it = s.iter
        head = []
        fn = self.callee(it.func) if isinstance(it, gast.Call) else MISSING
        if fn is range:
            if not isinstance(s.target, gast.Name):
                self.error(s, "the target of a `for` over `range` must be a plain name")
            args = [self.atom(a) for a in it.args]
            index = s.target.id
        elif fn is reversed and len(it.args) == 1:
            seq = self.evaluated_once(it.args[0], s)
            index = self.namer.fresh("i")
            n = self.fresh_assign("n", gast.Call(func=self.builtin("len"), args=[seq],
                                                 keywords=[]), s)
            start = self.fresh_assign("t", gast.BinOp(left=n, op=gast.Sub(), right=_const(1)), s)
            args = [start, _const(-1), _const(-1)]
            head.append(gast.Assign(targets=[s.target], value=gast.Subscript(
                value=seq, slice=_load(index), ctx=gast.Load()), type_comment=None))
        else:
            index = self.namer.fresh("i")
            lengths, item = self.iteration(it, index, s)
            n = lengths[0] if len(lengths) == 1 else self.fresh_assign(
                "n", gast.Call(func=self.builtin("min"), args=lengths, keywords=[]), s)
            args = [n]
            head.append(gast.Assign(targets=[s.target], value=item, type_comment=None))
        self.locals.add(index)
        new_body = self.block(head + body)
        if brk is not None:     # the exit test is computed at the end of each iteration
            saved, self.out = self.out, new_body
            self.emit(gast.If(test=self.atom(brk.test), body=[gast.Break()], orelse=[]))
            self.out = saved
        loop = gast.For(target=_store(index),
                        iter=gast.Call(func=self.builtin("range"), args=args, keywords=[]),
                        body=new_body or [gast.Pass()], orelse=[], type_comment=None)
        self.emit(loop, s)

    def iteration(self, it, index, s):
        """(lengths, item at ``index``) for an iterable: a sequence, or ``zip``/``enumerate``
        of iterables (nested as deep as wanted)."""
        fn = self.callee(it.func) if isinstance(it, gast.Call) else MISSING
        if fn is zip and not it.keywords:
            parts = [self.iteration(a, index, s) for a in it.args]
            lengths = [n for ls, _ in parts for n in ls]
            return lengths, gast.Tuple(elts=[item for _, item in parts], ctx=gast.Load())
        if fn is reversed and not it.keywords and len(it.args) == 1 and not (
                isinstance(it.args[0], gast.Call)
                and self.callee(it.args[0].func) in (zip, enumerate, reversed)):
            seq = self.evaluated_once(it.args[0], s)
            n = self.fresh_assign("n", gast.Call(func=self.builtin("len"), args=[seq],
                                                 keywords=[]), s)
            last = gast.BinOp(left=n, op=gast.Sub(), right=_const(1))
            back = gast.BinOp(left=last, op=gast.Sub(), right=_load(index))
            return [n], gast.Subscript(value=seq, slice=back, ctx=gast.Load())
        if fn is enumerate and not it.keywords and 1 <= len(it.args) <= 2:
            lengths, item = self.iteration(it.args[0], index, s)
            count = _load(index) if len(it.args) == 1 else gast.BinOp(
                left=_load(index), op=gast.Add(), right=self.evaluated_once(it.args[1], s))
            return lengths, gast.Tuple(elts=[count, item], ctx=gast.Load())
        seq = self.evaluated_once(it, s)
        n = self.fresh_assign("n", gast.Call(func=self.builtin("len"), args=[seq], keywords=[]),
                              s)
        return [n], gast.Subscript(value=seq, slice=_load(index), ctx=gast.Load())

    def evaluated_once(self, expr, loop):
        """``expr`` as an atom that keeps the value it had when ``loop`` started: Python
        evaluates a ``for`` iterable once, so a body that rebinds the name iterates the
        original object still."""
        read = _aliased_names(expr, self.callee)
        value = self.atom(expr)
        for node, name in _in_place_updates(loop.body, read):
            if not _appends(node):
                self.error(node, f"the loop updates `{name}` in place while it iterates over "
                           f"{'it' if isinstance(expr, gast.Name) else 'a value read from it'}",
                           "Python's loop reads each item from the updated object; srcad "
                           "writes the update as a new value and reads the items of the one "
                           "the loop started with",
                           "iterate over a copy (`for r in w.copy():`) or over an index "
                           "(`for k in range(len(w)):` reading `w[k]` in the body)")
        if isinstance(value, gast.Name):
            for n in (n for b in loop.body for n in walk(b)):
                if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) \
                        and n.func.attr == "append" and isinstance(n.func.value, gast.Name) \
                        and n.func.value.id == value.id:
                    self.error(n, f"the loop appends to `{n.func.value.id}` while it iterates "
                               "over it", "Python's loop then also runs over the new items; "
                               "srcad fixes the number of iterations when the loop starts",
                               "loop over an index with `while` (`k = 0`, `while k < "
                               "len(items):`), which checks the length at every step")
        if isinstance(value, gast.Name) and value.id in {
                n.id for b in loop.body for n in walk(b)
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}:
            value = self.fresh_assign(value.id + "_iter", value, loop)
        return value

    def stmt_While(self, s):
        if s.orelse:
            self.error(s, "`while ... else` is not supported", hint="use a flag variable")
        body = list(s.body)
        brk = trailing_break(body)
        if brk is not None:
            body.pop()
        cond = self.namer.fresh("cond")
        self.locals.add(cond)
        self.emit(_assign(cond, self.simple(s.test)), s)
        new_body = self.block(body)
        saved, self.out = self.out, new_body
        # the test again, from a copy: the two evaluations must not share nodes (a later
        # pass renaming a name in one would rename it in the other)
        self.emit(_assign(cond, self.simple(clone(s.test))), s)
        if brk is not None:
            self.emit(gast.If(test=self.atom(brk.test), body=[gast.Break()], orelse=[]))
        self.out = saved
        self.emit(gast.While(test=_load(cond), body=new_body, orelse=[]), s)


_MUTATORS = frozenset({"append", "extend", "insert", "pop", "remove", "sort", "reverse",
                       "clear", "fill", "put", "resize", "itemset", "setfield", "update",
                       "setdefault", "popitem"})


def _aliased_names(expr, callee):
    """The names whose objects the value of ``expr`` may share memory with: every name
    it reads except inside a copy (``w.copy()``, ``list(w)``, ``tuple(w)``, ``sorted(w)``)."""
    if isinstance(expr, gast.Name):
        return {expr.id}
    if isinstance(expr, gast.Call) and (
            isinstance(expr.func, gast.Attribute) and expr.func.attr == "copy" and not expr.args
            or isinstance(expr.func, gast.Name) and callee(expr.func) in (list, tuple, sorted)):
        return set()
    return set().union(*(_aliased_names(c, callee) for c in gast.iter_child_nodes(expr)))


def _root(node):
    """The name an attribute/subscript chain starts from, or None."""
    while isinstance(node, (gast.Subscript, gast.Attribute)):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def _appends(node):
    return isinstance(node, gast.Call) and node.func.attr == "append"


def _in_place_updates(body, names):
    """(node, name) for each statement or call in ``body`` that may change an object a
    name of ``names`` refers to in place: ``v += ...``, ``v[k] = ...``, ``v.attr = ...``,
    ``v.sort()`` and the other mutating methods of lists, dicts and arrays."""
    for n in (n for b in body for n in walk(b)):
        if isinstance(n, gast.AugAssign):
            targets = [n.target]
        elif isinstance(n, gast.Assign):
            targets = [t for t in n.targets if isinstance(t, (gast.Subscript, gast.Attribute))]
        elif isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) \
                and n.func.attr in _MUTATORS:
            targets = [n.func.value]
        else:
            continue
        for t in targets:
            if _root(t) in names:
                yield n, _root(t)

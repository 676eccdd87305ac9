"""Recompute over record: loop-record items the adjoint can recompute from what it has.

A loop's reverse sweep reads back what each trip recorded. In numba's core a recorded
float costs a store, a load and room in a stack; a value that is a few arithmetic
operations away from values the adjoint loop has anyway (the loop index, the other
recorded items, arrays never written, values set once before every loop) is cheaper
to compute again. Before (the pair loop of a Lennard-Jones energy)::

    for j in range(t2, n):
        t3 = x[i, 0]
        t4 = x[j, 0]
        dx = t3 - t4
        ...
        loop.append((dx, j, r2))
    ...
    for dx, j, r2 in reversed(loop):
        ...

After (``dx`` and ``r2`` are no longer recorded; the adjoint loop replays the primal
statements that give them, the very operations in the same order, so the values are
the same to the last bit)::

    for j in range(t2, n):
        ...
        loop.append((j,))
    ...
    for j in reversed(loop):
        t3 = x[i, 0]
        t4 = x[j, 0]
        dx = t3 - t4
        ...

A statement is replayed when it is ``name = expr`` at the top of the loop's body
before the record's append, ``name`` is assigned nowhere else, and ``expr`` is
arithmetic (``+ - *``, unary minus; a division costs more than the record, which it
keeps) on numbers, names and reads ``a[i, k]`` of an
array parameter the function never writes or hands on, whose names are each: a
statement replayed before it, an item the record keeps, an item of an enclosing
loop's record, a parameter never assigned, or a name assigned once at the function's
top level.
"""
import gast

from srcad.transforms.blocks import walk

_ARITH = (gast.Add, gast.Sub, gast.Mult)


def _names(node):
    return [n.id for n in walk(node) if isinstance(n, gast.Name)]


class _Facts:
    """What the whole function says about its names."""

    def __init__(self, fn, records):
        self.params = {a.id for a in fn.args.args}
        restores = {id(n) for loop in walk(fn) if isinstance(loop, gast.For)
                    and _reverses(loop.iter, records) for n in walk(loop.target)}
        self.stores = {}      # name -> number of assignments (a reverse loop's restores aside)
        for n in walk(fn):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store) \
                    and id(n) not in restores:
                self.stores[n.id] = self.stores.get(n.id, 0) + 1
        self.top = {s.targets[0].id for s in fn.body
                    if isinstance(s, gast.Assign) and len(s.targets) == 1
                    and isinstance(s.targets[0], gast.Name)
                    and self.stores.get(s.targets[0].id) == 1}
        self.read_only = {p for p in self.params if p not in self.stores
                          and self._only_read(fn, p)}

    @staticmethod
    def _only_read(fn, name):
        """Is array ``name`` only indexed (``name[...]`` loads), measured (``.shape``) or
        handed to ``_rt`` helpers (which never write their arguments)?"""
        for parent in walk(fn):
            for child in gast.iter_child_nodes(parent):
                if not (isinstance(child, gast.Name) and child.id == name) \
                        or isinstance(child.ctx, gast.Param):
                    continue
                if isinstance(parent, gast.Subscript) and parent.value is child:
                    if not isinstance(parent.ctx, gast.Load):
                        return False
                elif isinstance(parent, gast.Attribute) and parent.attr == "shape":
                    pass
                elif isinstance(parent, gast.Call) and child in parent.args \
                        and isinstance(parent.func, gast.Attribute) \
                        and isinstance(parent.func.value, gast.Name) \
                        and parent.func.value.id == "_rt":
                    pass
                else:
                    return False
        return True

    def stable(self, name):
        """Does ``name`` hold the same value everywhere after its definition?"""
        return (name in self.params and name not in self.stores) or name in self.top


def _reverses(it, records):
    """Is ``it`` ``reversed(R)`` of a record ``R``?"""
    return isinstance(it, gast.Call) and len(it.args) == 1 \
        and isinstance(it.args[0], gast.Name) and it.args[0].id in records


def _cheap(expr, facts):
    """Arithmetic on numbers, names and element reads of read-only arrays."""
    if isinstance(expr, gast.Constant):
        return type(expr.value) in (int, float)
    if isinstance(expr, gast.Name):
        return True
    if isinstance(expr, gast.BinOp):
        return isinstance(expr.op, _ARITH) and _cheap(expr.left, facts) \
            and _cheap(expr.right, facts)
    if isinstance(expr, gast.UnaryOp):
        return isinstance(expr.op, gast.USub) and _cheap(expr.operand, facts)
    if isinstance(expr, gast.Subscript):
        index = expr.slice.elts if isinstance(expr.slice, gast.Tuple) else [expr.slice]
        return isinstance(expr.value, gast.Name) and expr.value.id in facts.read_only \
            and all(isinstance(i, gast.Name) or (isinstance(i, gast.Constant)
                                                 and type(i.value) is int) for i in index)
    return False


def plan(fn, items, loops, enclosing):
    """{record: (dropped items, statements to replay)}.

    ``items``: record -> its item names; ``loops``: record -> (loop body statements
    before its append); ``enclosing``: record -> the records of the loops around its
    loop (their items are restored before its reverse loop runs)."""
    facts = _Facts(fn, items)
    out = {}
    for rec, before in loops.items():
        outer = {it for r in enclosing.get(rec, ()) for it in items[r]}
        replayable = {}             # name -> its statement, in the body's order
        for s in before:
            if not (isinstance(s, gast.Assign) and len(s.targets) == 1
                    and isinstance(s.targets[0], gast.Name)):
                continue
            name = s.targets[0].id
            if facts.stores.get(name) != 1 or not _cheap(s.value, facts):
                continue
            replayable[name] = s
        # an item is dropped when its statement replays from what the adjoint loop has;
        # dropping one may make another's statement read it: drop until nothing changes
        dropped = {it for it in items[rec] if it in replayable}
        changed = True
        while changed:
            changed = False
            for it in sorted(dropped):
                if not _available(it, replayable, dropped, items[rec], outer, facts, set()):
                    dropped.discard(it)
                    changed = True
        if not dropped:
            continue
        kept = set(items[rec]) - dropped
        needed = set()
        for it in dropped:
            _closure(it, replayable, kept | outer, facts, needed)
        out[rec] = (dropped, [s for n, s in replayable.items() if n in needed])
    return out


def _available(name, replayable, dropped, kept_from, outer, facts, seen):
    """Can the adjoint loop compute ``name`` (replayed) from what it has? (``replayable``
    is in the order of the loop's body: a name read before its own statement holds the
    last trip's value, which the adjoint loop does not have.)"""
    if name in seen:
        return False
    seen = seen | {name}
    position = {n: k for k, n in enumerate(replayable)}
    for used in _names(replayable[name].value):
        if used in kept_from and used not in dropped:
            continue                 # restored from the record
        if used in outer or facts.stable(used):
            continue
        if used in replayable and position[used] < position[name] \
                and _available(used, replayable, dropped, kept_from, outer, facts, seen):
            continue
        return False
    return True


def _closure(name, replayable, restored, facts, needed):
    """The statements the replay of ``name`` runs: those ``_available`` went through,
    never one of a value the adjoint loop restores (it would overwrite it)."""
    if name in needed or name not in replayable or name in restored:
        return
    needed.add(name)
    for used in _names(replayable[name].value):
        if not facts.stable(used):
            _closure(used, replayable, restored, facts, needed)

"""Generated code shaped for numba: loop records in typed arrays, the workspace outside.

The NumPy backend's reverse sweep keeps what a loop's adjoint reads in a Python
list of tuples. numba compiles that poorly (a reflected list of tuples), and a
list of lists (a nested loop) not at all. This pass rewrites the optimised
generated function into a *core* that ``numba.njit`` compiles and an *entry*
that runs in Python (it takes the work buffers and the seed, then calls the
core). Before::

    def f_vjp(x, seed, out=None):
        work = _ws.take(0, x.shape, x.dtype)
        loop = []
        for i in range(n):
            s3 = s2 * x[i]
            loop.append((i, s2))
            s2 = s3
        ...
        for i, s2 in reversed(loop):
            ...

After::

    def f_vjp_core(x, seed, out, work):
        loop_sp = 0                                  # one stack per record, all calls
        loop_i = _rt.ints(16)
        loop_s2 = _rt.floats(16)
        loop_n = 0                                   # was: loop = []
        loop_need = loop_sp + _rt.trips(0, n, 1)     # a range: room for its trips
        loop_i = _rt.reserve(loop_i, loop_need)
        loop_s2 = _rt.reserve(loop_s2, loop_need)
        for i in range(n):
            s3 = s2 * x[i]
            loop_i[loop_sp] = i                      # was: loop.append((i, s2))
            loop_s2[loop_sp] = s2
            loop_sp += 1
            loop_n += 1
            s2 = s3
        ...
        for loop_k in range(loop_n):                 # was: for i, s2 in reversed(loop)
            loop_sp -= 1
            i = loop_i[loop_sp]
            s2 = loop_s2[loop_sp]
            ...

    def f_vjp(x, seed, out=None):
        work = _ws.take(0, x.shape, x.dtype)
        return f_vjp_core(x, _rt.seed_value(seed), out, work)

A record filled in a ``while`` loop (or anywhere its trip count is not that of a
``range``) grows by doubling (``_rt.room``). A record inside another loop's record
(a nested loop) is one stack for all the outer trips; the outer record keeps its
length. Each record item is stored as an integer when it is provably one (a
``range`` index, an integer constant, a length, integer arithmetic on them), as
a boolean when it is a comparison, as a float when its shape fact says it is a
number, and otherwise on a list of its own (``loop_h = []``, ``loop_h.append(h)``
forward, ``h = loop_h.pop()`` backward), which numba types by what is appended:
an array, or a number no fact covers. A loop-carried cotangent that starts as the
number 0.0 and becomes an array in the loop starts as zeros of its primal's shape
(``_rt.zero_like``): numba gives a name one type around a loop.
``reversed(range(...))`` becomes a counting-down ``range``.

Anything this pass cannot shape raises ``Unsupported`` (reason, node): the backend
says so at the user's line and falls back or raises.
"""
import builtins

import gast
import numpy as np

from srcad.transforms import buffers, numba_fuse, numba_loops, numba_replay
from srcad.transforms import numba_nested
from srcad.transforms.blocks import clone, fresh_names, walk
from srcad.transforms.exits import _assign, _const, _load
from srcad.transforms.numba_buffers import (Unsupported, accumulators, arguments, drop_returned,
                                            entry_return, own_work, value_unread,
                                            numpy_calls, only_ufunc_out, own_tangents,
                                            call as _call, is_comment as _is_comment,
                                            rt_call as _rt, out_slot, returned_outs,
                                            store_name, ufunc_outs)


def _names_in(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


class _Kinds:
    """Which local names provably hold an int, which a bool (the rest: floats)."""

    INT_OPS = (gast.Add, gast.Sub, gast.Mult, gast.FloorDiv, gast.Mod)

    def __init__(self, fn, is_builtin):
        self.is_builtin = is_builtin
        self.defs = {}              # name -> list of value nodes (None: a loop target)
        self.shapes = set()         # names holding an array's .shape
        for node in walk(fn):
            if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name):
                self.defs.setdefault(node.targets[0].id, []).append(node.value)
                if isinstance(node.value, gast.Attribute) and node.value.attr == "shape":
                    self.shapes.add(node.targets[0].id)
            elif isinstance(node, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
                targets = node.targets if isinstance(node, gast.Assign) else [node.target]
                for t in targets:
                    for n in walk(t):
                        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                            self.defs.setdefault(n.id, []).append(False)
            elif isinstance(node, gast.For) and not self._replay(node.iter):
                ranged = isinstance(node.iter, gast.Call) and self._range_like(node.iter)
                for n in walk(node.target):
                    if isinstance(n, gast.Name):
                        self.defs.setdefault(n.id, []).append(None if ranged else False)
        self._largest("ints", lambda v: v is None or (v is not False and self._int(v)))
        self._largest("bools", lambda v: v is not None and v is not False and self._bool(v))

    def _largest(self, attr, holds):
        """Set ``attr`` to the largest set of names each of whose definitions ``holds``
        (``holds`` reads that set: a name defined from another is one if the other is)."""
        found = set(self.defs)
        setattr(self, attr, found)
        changed = True
        while changed:
            changed = False
            for name in list(found):
                if not all(holds(v) for v in self.defs[name]):
                    found.discard(name)
                    changed = True

    def _replay(self, it):
        """``reversed(L)`` of a list: its targets restore values defined elsewhere."""
        return isinstance(it, gast.Call) and isinstance(it.func, gast.Name) \
            and self.is_builtin(it.func.id, "reversed") and len(it.args) == 1 \
            and isinstance(it.args[0], gast.Name)

    def _range_like(self, call):
        f = call.func
        if isinstance(f, gast.Name) and self.is_builtin(f.id, "reversed") and call.args:
            inner = call.args[0]
            return isinstance(inner, gast.Call) and self._range_like(inner)
        return isinstance(f, gast.Name) and self.is_builtin(f.id, "range")

    def _int(self, v):
        if isinstance(v, gast.Constant):        # (None: not yet assigned; see ``kind``)
            return type(v.value) is int or v.value is None
        if isinstance(v, gast.Name):
            return v.id in self.ints
        if isinstance(v, gast.BinOp):
            return isinstance(v.op, self.INT_OPS) and self._int(v.left) and self._int(v.right)
        if isinstance(v, gast.UnaryOp):
            return isinstance(v.op, (gast.USub, gast.UAdd)) and self._int(v.operand)
        if isinstance(v, gast.Subscript):
            return isinstance(v.value, gast.Name) and v.value.id in self.shapes
        if isinstance(v, gast.Call) and isinstance(v.func, gast.Name):
            return self.is_builtin(v.func.id, "len") or self.is_builtin(v.func.id, "int")
        return False

    def _bool(self, v):
        if isinstance(v, gast.Compare) or isinstance(v, gast.BoolOp):
            return True
        if isinstance(v, gast.UnaryOp) and isinstance(v.op, gast.Not):
            return True
        if isinstance(v, gast.Constant):
            return type(v.value) is bool
        return isinstance(v, gast.Name) and v.id in self.bools

    def kind(self, name):
        """An int or a bool on every path that assigns one (None before: the record keeps a
        stand-in there, ``unset_as``), else "floats"."""
        if all(isinstance(v, gast.Constant) and v.value is None
               for v in self.defs.get(name, ())):
            return "floats"
        return "ints" if name in self.ints else "bools" if name in self.bools else "floats"


class _Records:
    """Finds the record lists (``L = []``, ``L.append(item)``, ``reversed(L)``) and
    rewrites them into stacks."""

    def __init__(self, fn, is_builtin, taken, shapes=None):
        self.is_builtin = is_builtin
        self.shapes = shapes
        self.taken = set(taken)
        self.items = {}             # record name -> [item names] (None: a single item)
        self.fresh_names = {}
        self.kinds = _Kinds(fn, is_builtin)
        self._find(fn)

    def fresh(self, base):
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}{k}"
        self.taken.add(name)
        return name

    def _find(self, fn):
        candidates = {}
        for node in walk(fn):
            if isinstance(node, gast.Assign) and isinstance(node.value, gast.List) \
                    and not node.value.elts and len(node.targets) == 1 \
                    and isinstance(node.targets[0], gast.Name):
                candidates.setdefault(node.targets[0].id, []).append(node)
        for name in candidates:
            appends = [n for n in walk(fn) if self._append_of(n) == name]
            if not appends:
                continue
            shapes = {self._item_names(a.value.args[0]) for a in appends}
            if len(shapes) != 1 or None in shapes:
                continue
            self.items[name] = list(shapes.pop())
        # every use of a record's name is one of the forms we rewrite
        for node in walk(fn):
            for child in gast.iter_child_nodes(node):
                if isinstance(child, gast.Name) and child.id in self.items \
                        and not self._allowed_use(node, child):
                    raise Unsupported(f"the loop record `{child.id}` is used in a way the "
                                      f"numba backend does not rewrite", node)
        self.replays = numba_replay.plan(fn, self.items, *self._loops(fn))
        self.names = {}
        for rec, items in self.items.items():
            dropped = self.replays.get(rec, ((), ()))[0]
            self.names[rec] = {
                "sp": self.fresh(f"{rec}_sp"), "n": self.fresh(f"{rec}_n"),
                "k": self.fresh(f"{rec}_k"),
                "items": [None if it in dropped else self.fresh(f"{rec}_{it}")
                          for it in items]}

    def _loops(self, fn):
        """({record: its loop's statements before the append}, {record: the records of
        the loops around it}) for the records whose reverse loops restore each item
        under its own name (the others keep every item)."""
        plain = {rec for rec in self.items if all(
            isinstance(n, gast.For) and self._item_names(n.target) == tuple(self.items[rec])
            for n in walk(fn) if isinstance(n, gast.For) and isinstance(n.iter, gast.Call)
            and n.iter.args and isinstance(n.iter.args[0], gast.Name)
            and n.iter.args[0].id == rec)}
        before, enclosing = {}, {}

        def visit(stmts, around):
            for s in stmts:
                if isinstance(s, (gast.For, gast.While)):
                    mine = [self._append_of(b) for b in s.body]
                    recs = [r for r in mine if r in self.items]
                    for r in recs:
                        if r in plain and all(o in plain for o in around):
                            before[r] = s.body[:mine.index(r)]
                            enclosing[r] = list(around)
                    visit(s.body, around + recs)
                    visit(s.orelse, around)
                elif isinstance(s, gast.If):
                    visit(s.body, around)
                    visit(s.orelse, around)
        visit(fn.body, [])
        return before, enclosing

    @staticmethod
    def _append_of(node):
        if isinstance(node, gast.Expr) and isinstance(node.value, gast.Call):
            f = node.value.func
            if isinstance(f, gast.Attribute) and f.attr == "append" \
                    and isinstance(f.value, gast.Name) and len(node.value.args) == 1 \
                    and not node.value.keywords:
                return f.value.id
        return None

    @staticmethod
    def _item_names(item):
        elts = item.elts if isinstance(item, gast.Tuple) else [item]
        if not all(isinstance(e, gast.Name) for e in elts):
            return None
        return tuple(e.id for e in elts) if isinstance(item, gast.Tuple) else (elts[0].id,)

    def _allowed_use(self, parent, name):
        if isinstance(parent, gast.Assign) and name in parent.targets:
            return isinstance(parent.value, gast.List) and not parent.value.elts
        if isinstance(parent, gast.Attribute):
            return parent.attr == "append"
        if isinstance(parent, gast.Tuple):
            return True         # an item of an outer record, or a reversed loop's target
        if isinstance(parent, gast.Call):
            f = parent.func
            return isinstance(f, gast.Name) and self.is_builtin(f.id, "reversed")
        if isinstance(parent, gast.For):
            return parent.target is name
        return False

    def _maybe_none(self, name, seen=()):
        """Is ``name`` assigned None somewhere, or a name that may be (srcad's
        initialisation of a value a loop body assigns only on some paths, and its copies)?
        numba's number stacks cannot hold None."""
        return any(isinstance(v, gast.Constant) and v.value is None
                   or isinstance(v, gast.Name) and v.id not in seen
                   and self._maybe_none(v.id, seen + (name,))
                   for v in self.kinds.defs.get(name, ()))

    def kind_of(self, rec, item):
        """"ints", "bools" or "floats" (a typed stack), or "lists": an item that may be an
        array (no shape fact says it is a number) goes to a list numba types by its
        appends, pushed with ``append`` and popped with ``pop``."""
        if item in self.items:
            return "ints"
        kind = self.kinds.kind(item)
        if kind == "floats" and self.shapes is not None \
                and self.shapes.get(item) != ("scalar",):
            return "lists"
        return kind

    def _listed(self, rec):
        return {store for item, store in zip(self.items[rec], self.names[rec]["items"],
                                             strict=True)
                if store is not None and self.kind_of(rec, item) == "lists"}

    def prologue(self):
        out = []
        for rec, names in self.names.items():
            out.append(_assign(names["sp"], _const(0)))
            for item, store in zip(self.items[rec], names["items"], strict=True):
                if store is None:
                    continue
                kind = self.kind_of(rec, item)
                out.append(_assign(store, gast.List(elts=[], ctx=gast.Load()) if kind == "lists"
                                   else _rt(kind, _const(16))))
        return out

    # ------------------------------------------------------------- rewriting
    def block(self, stmts):
        out = []
        for k, s in enumerate(stmts):
            rest = [t for t in stmts[k + 1:] if not _is_comment(t)]
            out += self.stmt(s, rest[0] if rest else None)
        return out

    def stmt(self, s, following):
        if isinstance(s, gast.Assign) and len(s.targets) == 1 \
                and isinstance(s.targets[0], gast.Name) and s.targets[0].id in self.items:
            rec = s.targets[0].id
            names = self.names[rec]
            out = [gast.copy_location(_assign(names["n"], _const(0)), s)]
            stacks = set(filter(None, names["items"])) - self._listed(rec)
            if stacks and isinstance(following, gast.For) and self._is_range(following.iter):
                trips = _rt("trips", *self._range_args(following.iter))
                need = self.fresh(f"{rec}_need")
                out.append(_assign(need, gast.BinOp(left=_load(names["sp"]), op=gast.Add(),
                                                    right=trips)))
                for store in filter(None, names["items"]):
                    if store in stacks:
                        out.append(_assign(store, _rt("reserve", _load(store), _load(need))))
                following.srcad_reserved = rec
            return out
        rec = _Records._append_of(s)
        if rec in self.items:
            return self.push(rec, s)
        if isinstance(s, gast.For):
            return self.for_loop(s)
        if isinstance(s, gast.While):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
            return [s]
        if isinstance(s, gast.If):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
            return [s]
        return [s]

    def push(self, rec, s):
        names = self.names[rec]
        sp = names["sp"]
        reserved = getattr(s, "srcad_in", None) == rec
        out = []
        for item, store in zip(self.items[rec], names["items"], strict=True):
            if store is None:           # recomputed by the reverse loop
                continue
            if self.kind_of(rec, item) == "lists":      # (a number that may be None: 0.0)
                value = _rt("unset_as", _load(item), _const(0.0)) \
                    if self._maybe_none(item) else _load(item)
                out.append(gast.Expr(value=_call(gast.Attribute(
                    value=_load(store), attr="append", ctx=gast.Load()), value)))
                continue
            if not reserved:
                out.append(_assign(store, _rt("room", _load(store), _load(sp))))
            value = _load(self.names[item]["n"]) if item in self.items else _load(item)
            if self._maybe_none(item):  # set to None before its loop, assigned in a branch
                value = _rt("unset_as", value, _const(
                    {"ints": 0, "bools": False}.get(self.kind_of(rec, item), 0.0)))
            out.append(gast.Assign(targets=[gast.Subscript(value=_load(store), slice=_load(sp),
                                                           ctx=gast.Store())],
                                   value=value, type_comment=None))
        out.append(gast.AugAssign(target=store_name(sp), op=gast.Add(), value=_const(1)))
        out.append(gast.AugAssign(target=store_name(names["n"]), op=gast.Add(), value=_const(1)))
        return [gast.copy_location(o, s) for o in out]

    def for_loop(self, s):
        it = s.iter
        reserved = getattr(s, "srcad_reserved", None)
        if reserved is not None:       # the record's appends directly in this body: no room check
            for b in s.body:
                if _Records._append_of(b) == reserved:
                    b.srcad_in = reserved
        if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) \
                and self.is_builtin(it.func.id, "reversed") and len(it.args) == 1:
            arg = it.args[0]
            if isinstance(arg, gast.Name) and arg.id in self.items:
                return [self.pop_loop(s, arg.id)]
            if self._is_range(arg):
                s.iter = self._counting_down(arg)
            else:
                raise Unsupported("`reversed` of something other than a loop record or a "
                                  "range", s)
        s.body = self.block(s.body)
        s.orelse = self.block(s.orelse)
        return [s]

    def pop_loop(self, s, rec):
        names = self.names[rec]
        sp = names["sp"]
        targets = s.target.elts if isinstance(s.target, gast.Tuple) else [s.target]
        body = [gast.AugAssign(target=store_name(sp), op=gast.Sub(), value=_const(1))]
        for t, item, store in zip(targets, self.items[rec], names["items"], strict=True):
            if store is None:
                continue
            name = self.names[item]["n"] if item in self.items else t.id
            if self.kind_of(rec, item) == "lists":
                body.append(_assign(name, _call(gast.Attribute(
                    value=_load(store), attr="pop", ctx=gast.Load()))))
                continue
            body.append(_assign(name, gast.Subscript(value=_load(store), slice=_load(sp),
                                                     ctx=gast.Load())))
        body += [clone(r) for r in self.replays.get(rec, ((), ()))[1]]
        body += self.block(s.body)
        loop = gast.For(target=store_name(names["k"]),
                        iter=_call(_load(self._range_name()), _load(names["n"])),
                        body=body, orelse=[], type_comment=None)
        return gast.copy_location(loop, s)

    def _range_name(self):
        return "range"

    def _is_range(self, node):
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
            and self.is_builtin(node.func.id, "range") and 1 <= len(node.args) <= 3 \
            and not node.keywords

    @staticmethod
    def _range_args(call):
        args = list(call.args)
        if len(args) == 1:
            return [_const(0), args[0], _const(1)]
        if len(args) == 2:
            return args + [_const(1)]
        return args

    def _counting_down(self, call):
        """``reversed(range(a, b, s))`` as ``range(last, a - s, -s)``."""
        a, b, step = self._range_args(call)
        last = _rt("last_of_range", a, b, step)
        stop = gast.BinOp(left=a, op=gast.Sub(), right=step)
        return _call(call.func, last, stop, gast.UnaryOp(op=gast.USub(), operand=step))


def lower(fn, namespace, seed_param=None, workspace_names=(), out_of=(), parallel=False,
          shapes=None, primals=None):
    """(core, entry): the numba core and the Python entry for the generated ``fn``.

    ``seed_param`` names the reverse sweep's seed parameter (the entry passes its value
    through ``_rt.seed_value``); ``workspace_names`` are the names bound to the workspace
    (their ``take`` calls move to the entry). ``out_of`` names the parameter each slot of
    ``out`` belongs to: the entry passes ``out[k]``, or a new array like that parameter
    when ``out`` is None, so the core always writes its gradient into an array.
    ``parallel``: the elementwise loops outside loops are kernels compiled for threads
    (transforms/numba_loops.py): then (core, entry, kernels), else (core, entry).
    ``shapes`` (name -> shape fact) says which record items are numbers (the others go to
    lists); ``primals`` (cotangent -> primal) lets a loop's array cotangent start as zeros
    (``_zero_like_primal``)."""
    if fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs:
        raise Unsupported("the generated function takes *args or keywords", fn)
    if "_rt" not in namespace:
        raise Unsupported("the generated code has no runtime binding", fn)

    def is_builtin(name, what):
        obj = namespace.get(name, getattr(builtins, name, None))
        return obj is getattr(builtins, what)

    params = [a.id for a in fn.args.args]
    taken = set(params) | set(namespace) | {n.id for n in walk(fn)
                                            if isinstance(n, gast.Name)}
    body = list(fn.body)
    buffers.plain_returns(body)
    numpy_calls(gast.Module(body=body, type_ignores=[]), namespace)
    fresh = fresh_names(taken)
    shapes = numba_nested.nested_form(gast.Module(body=body, type_ignores=[]), namespace,
                                      shapes, fresh)
    hoisted, rest = [], []
    for s in body:
        own_work(s, workspace_names)
        uses = _names_in(s) & set(workspace_names)
        if not uses:
            rest.append(s)
            continue
        known = set(params) | {h.targets[0].id for h in hoisted if isinstance(h, gast.Assign)}
        ok = isinstance(s, gast.Assign) and len(s.targets) == 1 \
            and isinstance(s.targets[0], gast.Name) and not rest_has_loop(rest) \
            and _names_in(s.value) - set(namespace) - {"_ws"} <= known | set(workspace_names)
        if not ok:
            raise Unsupported("a work buffer is taken inside the computation (not in the "
                              "prologue)", s)
        hoisted.append(s)
    out_param = params[-1] if out_of and params[-1] == "out" else None
    slots = {}                  # out buffer name -> its slot k
    for s in body:
        k = out_slot(s, out_param) if out_param else None
        if k is not None and k < len(out_of) and not rest_has_loop(body[:body.index(s)]) \
                and only_ufunc_out(s.targets[0].id, body, namespace):
            s.value = _rt("out_or_new", _load(out_param), _const(k), _load(out_of[k]))
            hoisted.append(s)
            slots[s.targets[0].id] = k
    for s in hoisted:
        body.remove(s)
    aliases = accumulators(body, set(slots))
    ufunc_outs(gast.Module(body=body, type_ignores=[]), namespace,
                {h.targets[0].id for h in hoisted} | set(aliases))
    _zero_like_primal(body, params, primals or {}, shapes)
    records = _Records(gast.FunctionDef(name=fn.name, args=fn.args, body=body,
                                        decorator_list=[], returns=None, type_comment=None),
                       is_builtin, taken, shapes)
    new_body = records.prologue() + records.block(body)
    if seed_param is not None:          # a reverse sweep that may run inside its loop
        new_body = numba_fuse.fuse(new_body)
    core_name = records.fresh(f"{fn.name}_core")
    keep = records.fresh("keep") if seed_param is not None else None
    if keep is not None and not value_unread(new_body, keep):
        keep = None
    returned = returned_outs(new_body, slots, out_of, namespace, aliases)
    if returned:
        drop_returned(new_body, returned)
    kernels = [] if parallel else None
    new_body = numba_loops.fuse(new_body, namespace, records.fresh, kernels)
    own_tangents(new_body)
    # arrays the code names from outside (module constants) are passed, not frozen into the
    # compiled code: an array changed in place is read as it is now, as the NumPy code does
    outside = sorted(n for n in {m.id for s in body for m in walk(s)
                                 if isinstance(m, gast.Name)}
                     if isinstance(namespace.get(n), np.ndarray) and n not in params)
    buffer_names = [s.targets[0].id for s in hoisted] + outside
    # the core takes what it reads (numba types each argument on every call: an unread
    # ``out`` tuple costs more than the core's own work on a small array)
    read = {n.id for s in new_body for n in walk(s) if isinstance(n, gast.Name)}
    core_params = [p for p in params + buffer_names if p in read] + ([keep] if keep else [])
    core = gast.FunctionDef(name=core_name, args=arguments(core_params), body=new_body,
                            decorator_list=[], returns=None, type_comment=None)
    gast.copy_location(core, fn)
    call_args = [_rt("seed_value", _load(p)) if p == seed_param and not keep else _load(p)
                 for p in core_params]
    call = _call(_load(core_name), *call_args)
    if keep:                            # seed, keep = _rt.seed_pair(seed)
        hoisted.insert(0, gast.Assign(targets=[gast.Tuple(elts=[
            store_name(seed_param), store_name(keep)], ctx=gast.Store())], value=_rt(
                "seed_pair", _load(seed_param)), type_comment=None))
    entry_body = hoisted + entry_return(call, returned, len(out_of), records.fresh)
    entry = gast.FunctionDef(name=fn.name, args=fn.args, body=entry_body, decorator_list=[],
                             returns=None, type_comment=None)
    gast.copy_location(entry, fn)
    return (core, entry, kernels) if parallel else (core, entry)


def _zero_like_primal(body, params, primals, shapes):
    """``h_bar = 0.0`` before a loop that makes ``h_bar`` an array -> ``h_bar =
    _rt.zero_like(h)``: numba gives a name one type around a loop, and a zero of the shape
    of ``h`` where the cotangent starts is the same cotangent. Taken where ``h`` has a
    value there (a parameter, or bound earlier at the top level, never to None) and no
    shape fact says it is a number; ``_rt.zero_like`` of a number is 0.0."""
    bound = set(params)
    for k, s in enumerate(body):
        if isinstance(s, gast.Assign) and len(s.targets) == 1 \
                and isinstance(s.targets[0], gast.Name):
            name = s.targets[0].id
            primal = primals.get(name)
            if isinstance(s.value, gast.Constant) and s.value.value == 0.0 \
                    and type(s.value.value) is float and primal in bound \
                    and (shapes or {}).get(primal) != ("scalar",) \
                    and any(isinstance(t, (gast.For, gast.While)) and name in _stored(t)
                            for t in body[k + 1:]):
                s.value = _rt("zero_like", _load(primal))
            if not (isinstance(s.value, gast.Constant) and s.value.value is None):
                bound.add(name)
            else:
                bound.discard(name)


def _stored(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}


def rest_has_loop(stmts):
    return any(isinstance(n, (gast.For, gast.While)) for s in stmts for n in walk(s))

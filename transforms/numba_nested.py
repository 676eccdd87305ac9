"""The forward-over-reverse code of a second derivative, in the form numba compiles.

A derivative of a derivative (``hessian``, ``hvp``, a ``jvp`` of a gradient) runs
forward mode over the inner gradient's generated code, inlined (srcad/api.py,
``_gradient_target``). That code names what only the NumPy backend's runtime holds,
and ``nested_form`` rewrites it in place before ``transforms/numba_form.py`` lowers it:

- ``grad``'s seed object ``GradSeed('f')`` is 1.0 (a real scalar output's seed; the
  core's ``_rt.grad_seed`` twin checks the output is one, as the object does), and a
  number's copy ``_rt.own(0.0)`` the number (a zero tangent a loop may make an array:
  the lowering then starts it as zeros of its primal's shape).
- A reverse loop that replays its index (``for k in reversed(range(a, b))``) arrives
  as an index into the range object, which numba does not take: it is the
  counting-down loop again (``_replayed_ranges``).
- A loop record of the inner gradient (``L.append((i, a, b))``, read back by
  ``for i, a, b in reversed(L)``) arrives as forward mode writes a list it updates: a
  list of tangent tuples beside it, a guard on each append, and a reverse loop over
  indices that reads each item and its tangent. ``records`` makes it one record again,
  the tangents as items of their own::

      L = []                                   L = []
      L_dot = []                               for ...:
      for ...:                                     Z = _rt.zero_tangent(i)
          _rt.not_shared(L, ...)                   L.append((i, a, Z, a_dot))
          T = (i, a)                           ...
          T_dot = (_rt.zero_tangent(i), a_dot) for i2, a2, i2_dot, a2_dot in reversed(L):
          L.append(T)                              ...
          L_dot.append(T_dot)
      n = len(L)
      t = n - 1
      for j in range(t, -1, -1):
          R = L[j]
          R_dot = _rt.tangent_item(L_dot, L, j, False)
          i2 = R[0]
          i2_dot = _rt.tangent_item(R_dot, R, 0, False)
          a2 = R[1]
          a2_dot = _rt.tangent_item(R_dot, R, 1, False)
          ...

  The list is srcad's own and appended to only here, so the guard on the append has
  nothing to find; a guard of another in-place update that names the list among the
  values it must not share memory with drops it when every item is a number (no
  memory to share) or when the array updated is a zero cotangent made once, after the
  record was filled (no live array's memory is a later allocation's); otherwise the
  code is refused. A tangent of a number is a number:
  the shape facts say so for the tangent items, which then go on number stacks.

Code in any other form is left as it is (the lowering then refuses what it cannot take).
"""
import gast

from srcad.transforms.blocks import walk
from srcad.transforms.exits import _assign, _const, _load
from srcad.transforms.numba_buffers import Unsupported
from srcad.transforms.parse import resolve


def nested_form(tree, namespace, shapes, fresh):
    """Rewrite ``tree`` in place (see the module docstring); the shape facts with the
    tangent items' added."""
    for node in walk(tree):
        for field, value in gast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            for k, item in enumerate(items):
                new = _const(1.0) if _is_seed(item, namespace) else _own_number(item)
                if new is not None:
                    if isinstance(value, list):
                        value[k] = new
                    else:
                        setattr(node, field, new)
    for stmts in list(_stmt_lists(tree)):
        _replayed_ranges(tree, stmts)
    shapes = dict(shapes or {})
    records = {}
    for name in _record_pairs(tree):
        records[name] = _Record(tree, name, shapes, fresh, records)
    for r in records.values():
        r.forward()
    for r in records.values():     # outer records first: they name an inner list's reads
        r.guards()                 # (which the inner record's guards then see)
        r.reverse()
    for r in records.values():
        r.finish()
    return shapes


def _replayed_ranges(tree, stmts):
    """``R = range(a, b)``; ``n = len(R)``; ``t = n - 1``; ``for j in range(t, -1, -1): k
    = R[j]; ...`` (the inner gradient's ``for k in reversed(range(a, b))``, which replays
    its loop's index, as forward mode writes it) -> ``for k in reversed(range(a, b)):
    ...``: numba does not index a range. Taken when ``R``, ``n``, ``t`` and ``j`` are
    read nowhere else and the range's bounds are names not bound again before the loop."""
    for k, loop in enumerate(stmts):
        if not (isinstance(loop, gast.For) and _name(loop.target) and loop.body
                and isinstance(loop.body[0], gast.Assign) and _name(loop.body[0].targets[0])
                and isinstance(loop.body[0].value, gast.Subscript)
                and _name(loop.body[0].value.value)
                and _name(loop.body[0].value.slice, loop.target.id)):
            continue
        start = _counted_down(loop.iter)
        rng = loop.body[0].value.value.id
        made = [j for j in range(k) if isinstance(stmts[j], gast.Assign)
                and _name(stmts[j].targets[0], rng) and isinstance(stmts[j].value, gast.Call)
                and _name(stmts[j].value.func, "range") and not stmts[j].value.keywords
                and all(_name(a) or isinstance(a, gast.Constant)
                        for a in stmts[j].value.args)]
        if start is None or not made:
            continue
        bounds = {a.id for a in stmts[made[-1]].value.args if _name(a)} | {rng}
        stored = {n.id for s in stmts[made[-1] + 1:k] for n in walk(s)
                  if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load)}
        found = _count_down(tree, stmts, made[-1] + 1, k, start, rng)
        if found is None or bounds & stored or len(_loads(tree, rng)) != 2 \
                or len(_loads(tree, start)) != 1 \
                or _loads(gast.Module(body=loop.body[1:], type_ignores=[]), loop.target.id):
            continue
        count, last = found
        loop.target = gast.Name(id=loop.body[0].targets[0].id, ctx=gast.Store(),
                                annotation=None, type_comment=None)
        loop.iter = gast.Call(func=_load("reversed"), args=[stmts[made[-1]].value],
                              keywords=[])
        loop.body = loop.body[1:] or [gast.Pass()]
        for j in sorted((made[-1], count, last), reverse=True):
            del stmts[j]
        return _replayed_ranges(tree, stmts)       # (indices moved: look again)


def _counted_down(it):
    """``range(start, -1, -1)``: the name ``start``, else None."""
    if isinstance(it, gast.Call) and _name(it.func, "range") and len(it.args) == 3 \
            and _name(it.args[0]) and all(
                isinstance(a, gast.UnaryOp) and isinstance(a.op, gast.USub)
                and isinstance(a.operand, gast.Constant) and a.operand.value == 1
                or isinstance(a, gast.Constant) and a.value == -1 for a in it.args[1:]):
        return it.args[0].id
    return None


def _count_down(tree, stmts, lo, k, start, seq):
    """(i, j) for ``n = len(seq)`` at ``stmts[i]`` and ``start = n - 1`` at ``stmts[j]``,
    lo <= i < j < k, ``n`` read only there; else None (the count of a loop over indices
    ``range(start, -1, -1)``, which reads ``seq`` backwards)."""
    def at(test):
        return next((j for j in range(k - 1, lo - 1, -1) if test(stmts[j])), None)
    last = at(lambda s: isinstance(s, gast.Assign) and _name(s.targets[0], start))
    value = stmts[last].value if last is not None else None
    if not (isinstance(value, gast.BinOp) and isinstance(value.op, gast.Sub)
            and _name(value.left) and isinstance(value.right, gast.Constant)
            and value.right.value == 1):
        return None
    n = value.left.id
    count = at(lambda s: isinstance(s, gast.Assign) and _name(s.targets[0], n))
    call = stmts[count].value if count is not None else None
    if count is None or count > last or not (
            isinstance(call, gast.Call) and _name(call.func, "len") and len(call.args) == 1
            and _name(call.args[0], seq)) \
            or len(_loads(tree, n)) != 1:
        return None
    return count, last


def _is_seed(node, namespace):
    return isinstance(node, gast.Call) and not node.keywords and len(node.args) == 1 \
        and isinstance(node.args[0], gast.Constant) and isinstance(node.args[0].value, str) \
        and _names_seed(resolve(node.func, namespace))


def _names_seed(obj):
    """Is ``obj`` grad's seed class (srcad/seeds.py, a runtime module the compiler does
    not import: known by its module and name)?"""
    return isinstance(obj, type) and obj.__module__ == "srcad.seeds" \
        and obj.__qualname__ == "GradSeed"


def _own_number(node):
    """``_rt.own(0.0)`` (a tangent of its own that is a number) -> ``0.0``, else None."""
    args = _rt_call(node, "own")
    if args and len(args) == 1 and isinstance(args[0], gast.Constant) \
            and type(args[0].value) in (int, float):
        return _const(args[0].value)
    return None


def _empty_list_names(tree):
    return [s.targets[0].id for s in walk(tree) if isinstance(s, gast.Assign)
            and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name)
            and isinstance(s.value, gast.List) and not s.value.elts]


def _record_pairs(tree):
    """The lists ``L`` with a tangent list ``L_dot`` beside them, each made once."""
    names = _empty_list_names(tree)
    return [n for n in names if names.count(n) == 1 and names.count(f"{n}_dot") == 1]


def _rt_call(node, attr):
    """The arguments of ``_rt.attr(...)`` when ``node`` is that call, else None."""
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
            and node.func.attr == attr and isinstance(node.func.value, gast.Name) \
            and node.func.value.id == "_rt" and not node.keywords:
        return node.args
    return None


def _name(node, name=None):
    return isinstance(node, gast.Name) and (name is None or node.id == name)


def _stmt_lists(tree):
    """Every statement list in ``tree`` (bodies and else branches)."""
    for node in walk(tree):
        for field in ("body", "orelse"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], gast.stmt):
                yield stmts


def _loads(tree, name):
    return [n for n in walk(tree) if isinstance(n, gast.Name) and n.id == name
            and isinstance(n.ctx, gast.Load)]


class _Record:
    def __init__(self, tree, name, shapes, fresh, records):
        self.tree, self.name, self.dot = tree, name, f"{name}_dot"
        self.shapes, self.fresh, self.records = shapes, fresh, records
        self.items = None           # the primal item names of the first append
        self.tangents = None        # the item positions that carry a tangent on the record

    def forward(self):
        for stmts in list(_stmt_lists(self.tree)):
            self._appends(stmts)
        if self.items is None:
            raise Unsupported(f"the loop record `{self.name}` of the inner derivative is "
                              f"filled in a way the numba backend does not rewrite")

    def reverse(self):
        for stmts in list(_stmt_lists(self.tree)):
            self._reverse_loops(stmts)

    def finish(self):
        for stmts in list(_stmt_lists(self.tree)):      # `L_dot = []`
            stmts[:] = [s for s in stmts if not (
                isinstance(s, gast.Assign) and _name(s.targets[0], self.dot))]
        if _loads(self.tree, self.dot):
            raise Unsupported(f"the tangents of the loop record `{self.name}` are read in "
                              f"a way the numba backend does not rewrite")

    # -------------------------------------------------------------- forward
    def _append_arg(self, s, name):
        if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call) \
                and isinstance(s.value.func, gast.Attribute) and s.value.func.attr == "append" \
                and _name(s.value.func.value, name) and len(s.value.args) == 1:
            return s.value.args[0]
        return None

    def _tuple_of(self, stmts, upto, name):
        """The Tuple assigned to ``name`` in ``stmts[:upto]`` (its index), else None."""
        for k in range(upto - 1, -1, -1):
            s = stmts[k]
            if isinstance(s, gast.Assign) and len(s.targets) == 1 and _name(s.targets[0], name):
                return (k, s.value) if isinstance(s.value, gast.Tuple) else None
        return None

    def _appends(self, stmts):
        k = 0
        while k < len(stmts):
            item = self._append_arg(stmts[k], self.name)
            if item is None:
                k += 1
                continue
            rest = [j for j in range(k + 1, len(stmts))
                    if self._append_arg(stmts[j], self.dot) is not None]
            if not _name(item) or not rest:
                raise Unsupported(f"the loop record `{self.name}` is appended to without "
                                  f"its tangent", stmts[k])
            j = rest[0]
            titem = self._append_arg(stmts[j], self.dot)
            found, tfound = self._tuple_of(stmts, k, item.id), self._tuple_of(stmts, j, titem.id) \
                if _name(titem) else None
            if found is None or tfound is None or len(found[1].elts) != len(tfound[1].elts) \
                    or not all(_name(e) for e in found[1].elts) \
                    or len(_loads(self.tree, item.id)) != 1 \
                    or len(_loads(self.tree, titem.id)) != 1:
                raise Unsupported(f"the loop record `{self.name}` is appended to in a way "
                                  f"the numba backend does not rewrite", stmts[k])
            elts = [_load(e.id) for e in found[1].elts]
            tangents = [p for p, e in enumerate(found[1].elts) if e.id not in self.records]
            if self.items is None:
                self.items, self.tangents = [e.id for e in elts], tangents
            elif [e.id for e in elts] != self.items:
                raise Unsupported(f"the loop record `{self.name}` is appended to in a way "
                                  f"the numba backend does not rewrite", stmts[k])
            before = []
            for p in tangents:      # (an inner record's tangents are on that record)
                e, t = found[1].elts[p], tfound[1].elts[p]
                number = self.shapes.get(e.id) == ("scalar",) or self._int_like(e.id)
                if not _name(t):
                    z = self.fresh(f"{e.id}_dot")
                    zero = _rt_call(t, "zero_tangent")
                    before.append(_assign(z, _const(0.0) if number and zero else t))
                    t = _load(z)
                if number:
                    self.shapes[t.id] = ("scalar",)
                elts.append(_load(t.id))
            append = gast.Expr(value=gast.Call(
                func=gast.Attribute(value=_load(self.name), attr="append", ctx=gast.Load()),
                args=[gast.Tuple(elts=elts, ctx=gast.Load())], keywords=[]))
            drop = {found[0], tfound[0], j}
            head = [t for n, t in enumerate(stmts[:k]) if n not in drop] + before + [append]
            stmts[:] = head + [t for n, t in enumerate(stmts[k + 1:], k + 1) if n not in drop]
            k = len(head)

    # -------------------------------------------------------------- reverse
    def _reverse_loops(self, stmts):
        for k, s in enumerate(stmts):
            if isinstance(s, gast.For) and self._reads_by_index(s):
                self._as_reversed(stmts, k)

    def _reads_by_index(self, loop):
        first = loop.body[0] if loop.body else None
        return isinstance(first, gast.Assign) and isinstance(first.value, gast.Subscript) \
            and _name(first.value.value, self.name)

    def _as_reversed(self, stmts, k):
        loop = stmts[k]
        j = loop.target.id if _name(loop.target) else None
        start = _counted_down(loop.iter)
        row = loop.body[0].targets[0].id
        second = loop.body[1] if len(loop.body) > 1 else None
        args = _rt_call(getattr(second, "value", None), "tangent_item")
        if j is None or start is None or not _name(loop.body[0].value.slice, j) \
                or args is None or len(args) != 4 or not _name(args[0], self.dot) \
                or not _name(args[1], self.name) or not _name(args[2], j):
            raise Unsupported(f"the loop record `{self.name}` is read back in a way the "
                              f"numba backend does not rewrite", loop)
        trow = second.targets[0].id
        m = len(self.items)
        names = [None] * (2 * m)
        body = []
        for s in loop.body[2:]:
            pos = self._item_read(s, row, trow, m)
            if pos is None:
                body.append(s)
            elif names[pos] is None:
                names[pos] = s.targets[0].id
            else:
                body.append(_assign(s.targets[0].id, _load(names[pos])))
        if any(_loads(gast.Module(body=body, type_ignores=[]), n)      # (nor appended to)
               for n in (j, row, trow, self.name, self.dot)):
            raise Unsupported(f"the loop record `{self.name}` is read back in a way the "
                              f"numba backend does not rewrite", loop)
        for p, item in enumerate(self.items):   # an inner record: read under its own name
            if item in self.records:
                renames = {names[p]: item, names[m + p]: self.records[item].dot}
                for node in walk(gast.Module(body=body, type_ignores=[])):
                    if isinstance(node, gast.Name) and node.id in renames:
                        node.id = renames[node.id]
                names[p] = item
        names = [n or self.fresh(f"{self.name}_unread")
                 for n in names[:m] + [names[m + p] for p in self.tangents]]
        loop.target = gast.Tuple(elts=[gast.Name(id=n, ctx=gast.Store(), annotation=None,
                                                 type_comment=None) for n in names],
                                 ctx=gast.Store())
        loop.iter = gast.Call(func=_load("reversed"), args=[_load(self.name)], keywords=[])
        loop.body = body or [gast.Pass()]
        self._drop_count(stmts, k, start)

    def _item_read(self, s, row, trow, m):
        """The record position ``s`` reads (``x = R[p]``: p; ``x_dot = tangent_item(R_dot,
        R, p, False)``: m + p), else None."""
        if not (isinstance(s, gast.Assign) and len(s.targets) == 1 and _name(s.targets[0])):
            return None
        v = s.value
        if isinstance(v, gast.Subscript) and _name(v.value, row) \
                and isinstance(v.slice, gast.Constant) and type(v.slice.value) is int \
                and 0 <= v.slice.value < m:
            return v.slice.value
        args = _rt_call(v, "tangent_item")
        if args and len(args) == 4 and _name(args[0], trow) and _name(args[1], row) \
                and isinstance(args[2], gast.Constant) and type(args[2].value) is int \
                and 0 <= args[2].value < m:
            return m + args[2].value
        return None

    def _drop_count(self, stmts, k, start):
        """``n = len(L)`` and ``start = n - 1`` before the loop (which no longer reads
        ``start``), read nowhere else and with nothing between them and the loop that
        reads ``L``: gone."""
        found = _count_down(self.tree, stmts, 0, k, start, self.name)
        if found is None or _loads(self.tree, start) or any(
                _loads(t, self.name) for t in stmts[found[0] + 1:k]):
            raise Unsupported(f"the loop record `{self.name}` is read back in a way the "
                              f"numba backend does not rewrite", stmts[k])
        del stmts[found[1]]
        del stmts[found[0]]

    # -------------------------------------------------------------- guards
    def numbers(self):
        """Does every item hold a number (an inner record: every item of its own)?"""
        return all(self.records[i].numbers() if i in self.records
                   else self.shapes.get(i) == ("scalar",) or self._int_like(i)
                   for i in self.items)

    def guards(self):
        numbers = self.numbers()
        for stmts in list(_stmt_lists(self.tree)):
            keep = []
            for s in stmts:
                call = s.value if isinstance(s, gast.Expr) else None
                args = _rt_call(call, "not_shared") or _rt_call(call, "not_shared_item")
                if args is not None and _name(args[0], self.name):
                    continue                # the append's guard: srcad's own list
                if args is not None and any(_name(a, self.name) for a in args[1:]):
                    if not numbers and not self._made_after(args[0]):
                        raise Unsupported(f"an in-place update must not share memory with "
                                          f"the arrays of the loop record `{self.name}`, "
                                          f"which the compiled code does not check", s)
                    call.args = [a for a in args if not _name(a, self.name)]
                keep.append(s)
            stmts[:] = keep

    def _made_after(self, node):
        """Is ``node`` a name bound once, at the top level, to a new zero cotangent
        (``_rt.zeros_cot``) after every append to the record? Its memory is then none of
        the record's arrays (all alive, all made before it)."""
        if not _name(node):
            return False
        body = self.tree.body
        defs = [n for n in walk(self.tree) if isinstance(n, gast.Name) and n.id == node.id
                and not isinstance(n.ctx, gast.Load)]
        made = [k for k, s in enumerate(body) if isinstance(s, gast.Assign)
                and len(s.targets) == 1 and _name(s.targets[0], node.id)
                and _rt_call(s.value, "zeros_cot") is not None]
        appends = [k for k, s in enumerate(body)
                   if any(self._append_arg(t, self.name) is not None for t in walk(s))]
        return len(defs) == 1 and len(made) == 1 and all(k < made[0] for k in appends)

    def _int_like(self, name):
        """An item the loop's ``range`` counts (an index): no memory."""
        for node in walk(self.tree):
            if isinstance(node, gast.For) and _name(node.target, name) \
                    and isinstance(node.iter, gast.Call) and _name(node.iter.func, "range"):
                return True
        return False

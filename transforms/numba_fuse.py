"""A loop's adjoint run inside the loop itself (numba cores): one sweep, no records.

A reverse sweep that is one loop nest whose every trip only adds into gradients
(``x_bar[j, 0] -= dx_bar``), reading its own trip's values, values fixed before
the loop and the seed, gives the same gradient when each trip's adjoint runs
right after that trip of the primal loop: only the order of the additions changes
(rounding). A pair-energy loop then is one pass, as a hand-written gradient is::

    e2 = 0.0                                       e2 = 0.0
    for i in range(n):                             seed2 = _rt.grad_seed(seed, e2)
        for j in range(i + 1, n):                  x_bar = _rt.zeros_cot(x)
            dx = x[i, 0] - x[j, 0]                 for i in range(n):
            s6 = 1.0 / (dx * dx)           ->          for j in range(i + 1, n):
            e4 = e3 + s6                                   dx = x[i, 0] - x[j, 0]
            loop_j[loop_sp] = j                            s6 = 1.0 / (dx * dx)
            loop_s6[loop_sp] = s6                          e4 = e3 + s6
            ...                                            s6_bar = seed2 * 1.0
    seed2 = _rt.grad_seed(seed, e2)                        dx_bar = ...
    x_bar = _rt.zeros_cot(x)                               x_bar[j, 0] -= dx_bar
    for loop2_k in range(loop2_n):                         ...
        ... (pops, the same dx, then the adjoint)

What must hold, else the code is left as it was (``fuse`` never refuses):
- the function is: statements, the primal loop nest, statements that only read
  values bound before that nest (the seed, zeroed gradients: they move before
  it; the seed check reads only the output's type), the reverse loop nest, the
  return;
- each level of the reverse nest pops one trip's record and holds only the next
  level, and the innermost level (the adjoint) holds no loop, no jump and no
  call statement;
- the primal nest writes no array but its records, and makes no call statement;
- the adjoint reads names it bound itself before, names bound once in the primal
  nest before the record push (loop indices included: it sees them at the push,
  as they were pushed), names the primal nest does not bind, and the moved
  statements' names; the names it shares with the primal nest are bound by copies
  of the primal statements (replays), which go;
- the moved names it writes (gradients) are only added to, never read.
"""
import gast

from srcad.transforms.blocks import clone, walk


def fuse(body):
    """``body`` (a numba core's statements) with its reverse loop nest run inside the
    primal loop nest, when that is provably the same computation up to the order of
    additions; otherwise ``body`` itself."""
    plan = _Plan.of(body)
    return body if plan is None else plan.fused()


def _comment(s):
    return isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant) \
        and isinstance(s.value.value, str)


def _code(stmts):
    return [s for s in stmts if not _comment(s)]


def _name(node, name=None):
    return isinstance(node, gast.Name) and (name is None or node.id == name)


def _bound(node):
    """Names ``node`` binds (stores, loop targets)."""
    return [n.id for n in walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, (gast.Store, gast.Del))]


def _read(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)}


def _same(a, b):
    return gast.dump(a) == gast.dump(b)


class _Level:
    """One level of the reverse nest: ``for K in range(N): SP -= 1; v = ARR_v[SP]; ...``."""

    def __init__(self, loop):
        self.loop = loop
        self.pops = {}                  # record array -> the name it refills
        self.sp = self.count = None
        self.rest = []

    @classmethod
    def of(cls, loop):
        if not (isinstance(loop, gast.For) and not loop.orelse and _name(loop.target)
                and isinstance(loop.iter, gast.Call) and _name(loop.iter.func, "range")
                and len(loop.iter.args) == 1 and _name(loop.iter.args[0])
                and not loop.iter.keywords):
            return None
        level = cls(loop)
        level.count = loop.iter.args[0].id
        code = _code(loop.body)
        if not code or not (isinstance(code[0], gast.AugAssign) and _name(code[0].target)
                            and isinstance(code[0].op, gast.Sub)):
            return None
        level.sp = code[0].target.id
        k = 1
        while k < len(code) and isinstance(code[k], gast.Assign) \
                and len(code[k].targets) == 1 and _name(code[k].targets[0]) \
                and isinstance(code[k].value, gast.Subscript) \
                and _name(code[k].value.value) and _name(code[k].value.slice, level.sp):
            level.pops[code[k].value.value.id] = code[k].targets[0].id
            k += 1
        level.rest = [s for s in loop.body[loop.body.index(code[k - 1]) + 1:]]
        return level if level.pops else None

    def names(self):
        """The record's own names: stack pointer, count, arrays, the reverse loop's index."""
        return {self.sp, self.count, self.loop.target.id} | set(self.pops)


class _Plan:
    def __init__(self, body, f_at, r_at, levels, loops):
        self.body, self.f_at, self.r_at = body, f_at, r_at
        self.levels, self.loops = levels, loops       # reverse levels, primal loops (outer first)
        self.drop = set()                               # ids of adjoint statements that go

    @classmethod
    def of(cls, body):
        code = _code(body)
        if len(code) < 3 or not isinstance(code[-1], gast.Return):
            return None
        r_at = body.index(code[-2])
        levels = []
        loop = body[r_at]
        while True:
            level = _Level.of(loop)
            if level is None:
                return None
            levels.append(level)
            inner = _code(level.rest)
            if len(inner) == 1 and isinstance(inner[0], (gast.For, gast.While)) \
                    and _Level.of(inner[0]) is not None:
                loop = inner[0]
                continue
            break
        loops = [k for k in range(r_at) if isinstance(body[k], (gast.For, gast.While))]
        if not loops:
            return None
        plan = cls(body, loops[-1], r_at, levels, [body[loops[-1]]])
        return plan if plan._primal_nest() and plan._checks() else None

    # ------------------------------------------------------------------ structure
    def _pushes(self, stmts, level):
        """The push statements of ``level``'s record at the top of ``stmts``, each
        ``ARR[SP] = name`` with the name the reverse pops; None when one is missing."""
        found = {}
        for s in stmts:
            if isinstance(s, gast.Assign) and len(s.targets) == 1 \
                    and isinstance(s.targets[0], gast.Subscript) \
                    and _name(s.targets[0].value) and s.targets[0].value.id in level.pops:
                arr = s.targets[0].value.id
                if not (_name(s.targets[0].slice, level.sp) and _name(s.value, level.pops[arr])):
                    return None
                found[arr] = s
        return found if set(found) == set(level.pops) else None

    def _primal_nest(self):
        """Match each reverse level to a primal loop: the outermost is the last loop before
        the reverse nest; each inner one is the one loop in its outer loop's body."""
        self.pushed = []
        loop = self.loops[0]
        for k, level in enumerate(self.levels):
            if loop.orelse:
                return False
            pushes = self._pushes(loop.body, level)
            if pushes is None:
                return False
            self.pushed.append(pushes)
            inner = [s for s in loop.body if isinstance(s, (gast.For, gast.While))]
            nested = [n for s in loop.body if not isinstance(s, (gast.For, gast.While))
                      for n in walk(s) if isinstance(n, (gast.For, gast.While))]
            if nested:
                return False
            if k + 1 < len(self.levels):
                if len(inner) != 1:
                    return False
                loop = inner[0]
                self.loops.append(loop)
            elif inner:
                return False
        return True

    def _record_names(self):
        names = set()
        for level in self.levels:
            names |= level.names()
        return names

    # ------------------------------------------------------------------ conditions
    def _checks(self):
        body, nest = self.body, self.body[self.f_at]
        records = self._record_names()
        prefix = body[:self.f_at]
        mid = body[self.f_at + 1:self.r_at]
        adjoint = self.levels[-1].rest
        # the primal nest: no call statement, no jump, no write into an array but its records
        for n in walk(nest):
            if isinstance(n, (gast.Break, gast.Continue, gast.Return, gast.Raise, gast.Try,
                              gast.With, gast.FunctionDef, gast.Lambda)):
                return False
            if isinstance(n, gast.Expr) and not _comment(n):
                return False
            if isinstance(n, (gast.Subscript, gast.Attribute)) \
                    and isinstance(n.ctx, (gast.Store, gast.Del)) \
                    and not (isinstance(n, gast.Subscript) and _name(n.value)
                             and n.value.id in records):
                return False
            if isinstance(n, gast.keyword) and n.arg == "out":
                return False
        # the adjoint: straight code and ifs on values, no call statement
        for n in walk(gast.Module(body=adjoint, type_ignores=[])):
            if isinstance(n, (gast.For, gast.While, gast.Break, gast.Continue, gast.Return,
                              gast.Raise, gast.Try, gast.With, gast.FunctionDef)):
                return False
            if isinstance(n, gast.Expr) and not _comment(n):
                return False
        # bindings in the primal nest: once, before the push, is a value the adjoint may read
        counts = {}
        for n in _bound(nest):
            counts[n] = counts.get(n, 0) + 1
        self.stable = {}                # name -> its one binding statement (or loop)
        for k, loop in enumerate(self.loops):
            if isinstance(loop, gast.For) and _name(loop.target):
                self.stable.setdefault(loop.target.id, loop)
            stop = self.loops[k + 1] if k + 1 < len(self.loops) \
                else next(iter(self.pushed[k].values()))
            for s in loop.body[:loop.body.index(stop)]:
                if isinstance(s, gast.Assign) and len(s.targets) == 1 and _name(s.targets[0]):
                    self.stable.setdefault(s.targets[0].id, s)
        self.stable = {n: s for n, s in self.stable.items() if counts.get(n) == 1}
        primal_bound = set(counts)
        # between the nests: what the adjoint reads moves before the primal nest (it may
        # read only what is bound before that nest); the rest stays after it
        code = _code(mid)
        bound_in = {n for st in code for n in _bound(st)}
        needed = _read(gast.Module(body=adjoint, type_ignores=[])) & bound_in
        self.moved_at = []
        for st in reversed(code):
            if set(_bound(st)) & needed:
                self.moved_at.append(id(st))
                value = st.value if isinstance(st, gast.Assign) else st
                needed |= _read(_seed_of(value) or value) & bound_in
        moved = set()
        in_nest = {n.id for n in walk(nest) if isinstance(n, gast.Name)}
        for st in code:
            if id(st) not in self.moved_at:
                continue
            if not (isinstance(st, gast.Assign) and len(st.targets) == 1
                    and _name(st.targets[0])):
                return False
            reads = _read(_seed_of(st.value) or st.value)
            if reads & (primal_bound | records) or st.targets[0].id in in_nest | records:
                return False
            moved.add(st.targets[0].id)
        staying = [st for st in code if id(st) not in self.moved_at]
        touched = {n for st in adjoint for n in _bound(st)} | _written(_code(adjoint), moved)
        for st in staying:
            if set(_bound(st)) & (moved | _read(gast.Module(body=adjoint, type_ignores=[]))) \
                    or _read(st) & touched:
                return False
        outside = gast.Module(body=prefix + [nest] + mid + body[self.r_at + 1:],
                              type_ignores=[])
        elsewhere = {n.id for n in walk(outside) if isinstance(n, gast.Name)}
        return self._adjoint_ok(adjoint, moved, elsewhere - moved, records, primal_bound)

    def _adjoint_ok(self, adjoint, moved, elsewhere, records, primal_bound):
        """Every statement of the adjoint reads what it may and writes what it may (see the
        module's docstring); the replays of primal statements are marked to go."""
        popped = {v for level in self.levels for v in level.pops.values()} - records
        if popped - set(self.stable):
            return False
        code = _code(adjoint)
        bound_here = {n for st in code for n in _bound(st)}
        added_to = set()
        local = set()                  # bound by the adjoint before (this trip's values)
        for st in code:
            added = _added_to(st, moved)
            if added is None:
                return False
            reads = _read(st)
            if added:
                added_to.add(added)
                reads = (reads - {added}) | _read(_increment(st))
                if added in _read(_increment(st)):
                    return False
            for name in reads:
                if name in local or name in popped:
                    continue
                if name in moved:
                    if name in added_to or name in _written(code, moved):
                        return False
                    continue
                if name in bound_here or name in records or name in primal_bound:
                    return False       # a value of another trip, or of the whole loop
            own = set(_bound(st)) - ({added} if added else set())
            shared = own & (elsewhere | moved | records)
            if shared:                 # a replay of a primal statement: its value is there
                name = st.targets[0].id if isinstance(st, gast.Assign) \
                    and len(st.targets) == 1 and _name(st.targets[0]) else None
                if shared != {name} or name not in self.stable \
                        or not _same(st, self.stable[name]):
                    return False
                self.drop.add(id(st))
            local |= own
        return True

    # ------------------------------------------------------------------ rewrite
    def fused(self):
        """The fused statements (from a copy: ``body`` stays as it was when the record
        keeping cannot all go)."""
        body = clone(self.body)
        plan = _Plan.of(body)
        return plan._rewrite() or self.body

    def _rewrite(self):
        body, records = self.body, self._record_names()
        adjoint = [s for s in self.levels[-1].rest if id(s) not in self.drop]
        _Reciprocals(self.stable).visit(gast.Module(body=adjoint, type_ignores=[]))
        innermost = self.loops[-1]
        first = next(iter(self.pushed[-1].values()))
        at = innermost.body.index(first)
        innermost.body[at:at] = adjoint
        prefix = body[:self.f_at]
        mid = body[self.f_at + 1:self.r_at]
        moved, staying = [], []
        for st in mid:
            if _comment(st) or id(st) not in self.moved_at:
                staying.append(st)
                continue
            seed = _seed_of(st.value)
            if seed is not None:        # the seed is its own value: the check stays after
                staying.append(gast.Expr(value=st.value))
                st = gast.Assign(targets=st.targets, value=seed, type_comment=None)
            moved.append(st)
        while staying and _comment(staying[-1]):        # the reverse loop's marker
            staying.pop()
        out = _without(prefix + [body[self.f_at]], records)
        if out is None:
            return None
        return out[:-1] + moved + out[-1:] + staying + body[self.r_at + 1:]


class _Reciprocals(gast.NodeTransformer):
    """``e / d`` -> ``e * q`` in the adjoint when the primal trip has ``q = 1.0 / d`` (both
    bound once before the push): a division is several multiplications' time, and
    the reverse rule of ``1.0 / d`` divides by ``d`` again."""

    def __init__(self, stable):
        self.inverse = {}
        for name, st in stable.items():
            v = getattr(st, "value", None)
            if isinstance(v, gast.BinOp) and isinstance(v.op, gast.Div) \
                    and isinstance(v.left, gast.Constant) and type(v.left.value) is float \
                    and v.left.value == 1.0 \
                    and _name(v.right) and v.right.id in stable:
                self.inverse[v.right.id] = name

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.Div) and _name(node.right) \
                and node.right.id in self.inverse:
            return gast.BinOp(left=node.left, op=gast.Mult(),
                              right=gast.Name(id=self.inverse[node.right.id], ctx=gast.Load(),
                                              annotation=None, type_comment=None))
        return node


def _seed_of(v):
    """``seed`` for the seed check ``_rt.grad_seed(seed, value)``, which returns the seed
    once it fits the output's type, else None."""
    if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) \
            and _name(v.func.value, "_rt") and v.func.attr == "grad_seed" and len(v.args) == 2:
        return v.args[0]
    return None


def _increment(s):
    """What an accumulation ``c[...] += e`` / ``c += e`` / ``c = c + e`` adds: ``e``."""
    if isinstance(s, gast.AugAssign):
        return s.value
    return s.value.right


def _added_to(s, moved):
    """The moved name ``s`` adds to (``c[...] += e``, ``c += e``, ``c = c + e``, also with
    ``-``), "" when it writes no moved name and no array, None otherwise."""
    if isinstance(s, gast.AugAssign) and isinstance(s.op, (gast.Add, gast.Sub)):
        base = s.target.value if isinstance(s.target, gast.Subscript) else s.target
        if _name(base) and base.id in moved:
            if isinstance(s.target, gast.Subscript) and base.id in _read(s.target.slice):
                return None
            return base.id
    if isinstance(s, gast.Assign) and len(s.targets) == 1 and _name(s.targets[0]) \
            and s.targets[0].id in moved:
        v = s.value
        if isinstance(v, gast.BinOp) and isinstance(v.op, (gast.Add, gast.Sub)) \
                and _name(v.left, s.targets[0].id):
            return s.targets[0].id
        return None
    if set(_bound(s)) & moved or any(isinstance(n, (gast.Subscript, gast.Attribute))
                                     and isinstance(n.ctx, (gast.Store, gast.Del))
                                     for n in walk(s)):
        return None
    return ""


def _written(adjoint, moved):
    return {n for s in adjoint for n in _bound(s) if n in moved} | {
        s.target.value.id for s in adjoint if isinstance(s, gast.AugAssign)
        and isinstance(s.target, gast.Subscript) and _name(s.target.value)}


def _without(stmts, records):
    """``stmts`` with every statement that keeps a record (binds or writes a record name)
    gone, then the names only those statements read (the room a record reserves); None
    when a statement that stays reads a record name."""
    gone = set(records)

    def keeps(s):
        targets = s.targets if isinstance(s, gast.Assign) else \
            [s.target] if isinstance(s, gast.AugAssign) else []
        for t in targets:
            base = t.value if isinstance(t, gast.Subscript) else t
            if _name(base) and base.id in gone:
                return False
        return True

    def strip(block):
        out = []
        for s in block:
            if isinstance(s, (gast.For, gast.While)):
                s.body = strip(s.body) or [gast.Pass()]
            if keeps(s):
                out.append(s)
        return out

    before = None
    result = list(stmts)
    while before != len(gone):
        before = len(gone)
        result = strip(result)
        read = _read(gast.Module(body=result, type_ignores=[]))
        for s in walk(gast.Module(body=result, type_ignores=[])):
            if isinstance(s, gast.Assign) and len(s.targets) == 1 and _name(s.targets[0]) \
                    and s.targets[0].id not in read and _read(s.value) & gone:
                gone.add(s.targets[0].id)
    if _read(gast.Module(body=result, type_ignores=[])) & gone:
        return None
    return result

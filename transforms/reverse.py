"""Reverse mode: a primal sweep followed by an adjoint sweep, no tape.

Before (SSA, activity known)::

    def f(x):
        s = 0.0
        s2 = s
        for i in range(n):
            t = x[i]
            s3 = s2 * t
            s2 = s3
        return s2

After::

    def f_vjp(x, seed):
        s = 0.0
        s2 = s
        loop = []
        for i in range(n):
            t = x[i]
            s3 = s2 * t
            loop.append((i, s2, t))
            s2 = s3
        s2_bar = seed
        x_bar = 0.0
        for i, s2, t in reversed(loop):
            s3_bar = s2_bar
            s2_bar = 0.0
            s2_bar = s2_bar + s3_bar * t
            t_bar = s3_bar * s2
            x_bar = _rt.item_acc(x_bar, x, i, t_bar)
        return s2, (_rt.finalize(x_bar, x),)

Values the adjoint reads stay in named locals. A loop records, per
iteration, only the values its adjoint reads (headers at the start of the
iteration, body values at its end) and runs its adjoint over the records in
reverse; a ``for`` whose adjoint needs only its index runs over
``reversed(range(...))``. An ``if`` reuses its (recorded) condition. Writes
into arrays save the overwritten element when the adjoint reads the array.
"""

import types

import gast

from srcad.errors import InternalError, TransformError
from srcad.transforms import (classes, exits, refusal, sharing, symmetric, template, variants,
                              zero_guards)
from srcad.transforms.blocks import clone, walk
from srcad.transforms.broadcasting import BroadcastCotangents, KnownUnbroadcast
from srcad.transforms.fields import FieldGradients
from srcad.transforms.item_writes import ItemWrites
from srcad.transforms.loops import LoopSweeps
from srcad.transforms.exits import _assign, _const, _load, _located, index_value, rt_call
from srcad.transforms.kinds import BINOPS, UNARYOPS, classify
from srcad.transforms.parse import MISSING, resolve
from srcad.transforms.rules import registry


def where(filename, node):
    """The TransformError location of ``node``."""
    return dict(filename=filename, lineno=getattr(node, "lineno", None),
                col=getattr(node, "col_offset", 0))


class Reverse(BroadcastCotangents, LoopSweeps, ItemWrites, FieldGradients):
    def __init__(self, fn, env, namer, activity, wrt, filename, restore=frozenset(), shapes=None,
                 param_kinds=None):
        self.fn = fn
        self.env = env
        self.namer = namer
        self.active = activity.active
        self.varied = activity.varied
        self.numeric = activity.numeric
        self.wrt = list(wrt)
        self.filename = filename
        self.restore = restore            # arrays whose overwritten elements are saved
        self.shapes = shapes or {}        # name -> shape symbol (transforms.shapes)
        self.owned = set()                # cotangents updated in place (x_bar[i] += g)
        self.param_kinds = param_kinds or {}   # "float" / "array" where the signature says so
        self.contributed = set()
        self.field_bars = {}              # parameter -> {field: its cotangent's name}
        self.scope_of = {}
        self.branch_of = {}               # name -> (If, "body" | "orelse") that assigns it
        self.branch_inits = set()         # owned cotangents created in their branch's sweep
        self.params = [a.id for a in fn.args.args] + [a.id for a in fn.args.kwonlyargs]
        self._assign_scopes(fn.body, None)
        for p in self.params:
            self.scope_of[p] = None
        self.multi = self._multiply_assigned()
        primal_names = {n.id for n in walk(fn) if isinstance(n, gast.Name)}
        self.bars = self.bar = exits.DerivedNames(namer, primal_names, "_bar")
        self.read = set()                 # names whose cotangent an adjoint statement reads
        self.for_targets = {n.target.id for n in walk(fn) if isinstance(n, gast.For)}
        self.defs = {}
        for n in walk(fn):
            if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name):
                name = n.targets[0].id
                self.defs[name] = None if name in self.defs or name in self.multi else n
        self.bar_shapes = {}              # cotangents kept unexpanded: name_bar -> shape
        self.appended = {n.value.func.value.id for n in walk(fn)   # lists the sweep pops
                         if isinstance(n, gast.Expr) and isinstance(n.value, gast.Call)
                         and isinstance(n.value.func, gast.Attribute)
                         and n.value.func.attr == "append"
                         and isinstance(n.value.func.value, gast.Name)}
        self.aliased_lists = sharing.aliased_lists(fn)
        self.indexed = {n.value.id for n in walk(fn)     # x[i] read or written: x_bar
                        if isinstance(n, gast.Subscript)      # is indexed, so it must have
                        and isinstance(n.value, gast.Name)}   # x's full shape
        self.refusals = refusal.Refusals(fn, env, filename, self.is_varied, self.shapes)

    # ----------------------------------------------------------- bookkeeping
    def _assign_scopes(self, stmts, scope, path=(), paths=None):
        """``scope_of``: the loop (or None) a name is first assigned in; ``branch_of``: the
        innermost branch of an ``if`` that holds every assignment of the name (a value
        assigned in both branches of an inner ``if`` is bound at the head of the enclosing
        branch's sweep, not of the first inner branch)."""
        top = paths is None
        paths = {} if top else paths
        for s in stmts:
            if isinstance(s, gast.Assign):
                t = s.targets[0]
                if isinstance(t, gast.Name):
                    self.scope_of.setdefault(t.id, scope)
            elif isinstance(s, gast.If):
                for field in ("body", "orelse"):
                    self._assign_scopes(getattr(s, field), scope, path + ((s, field),), paths)
                continue
            elif isinstance(s, (gast.For, gast.While)):
                if isinstance(s, gast.For):
                    self.scope_of.setdefault(s.target.id, s)
                    paths.setdefault(s.target.id, []).append(path)
                self._assign_scopes(s.body, s, path, paths)
                continue
            for t in walk(s):
                if isinstance(t, gast.Name) and isinstance(t.ctx, gast.Store):
                    paths.setdefault(t.id, []).append(path)
        if top:
            for name, ps in paths.items():
                common = ps[0]
                for p in ps[1:]:
                    k = 0
                    while k < min(len(common), len(p)) and common[k] == p[k]:
                        k += 1
                    common = common[:k]
                if common:
                    self.branch_of[name] = common[-1]

    def _multiply_assigned(self):
        count = {}
        for n in walk(self.fn):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                count[n.id] = count.get(n.id, 0) + 1
        return {k for k, v in count.items() if v > 1}

    def where(self, node):
        return where(self.filename, node)

    def is_active(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.active

    def is_varied(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.varied

    # ------------------------------------------------------------ accumulate
    def accumulate(self, out, atom, expr):
        if not self.is_active(atom):
            return
        name = atom.id
        self.contributed.add(name)
        if name in self.numeric:
            value = gast.BinOp(left=_load(self.bar(name)), op=gast.Add(), right=expr)
        else:
            if name in self.appended:
                expr = rt_call(self.env, "list_cot", expr)
            value = rt_call(self.env, "add_cot", _load(self.bar(name)), expr)
        out.append(_assign(self.bar(name), value))

    # ----------------------------------------------------------------- sweep
    def run(self):
        fn = self.fn
        body = fn.body
        ret = body[-1]
        primal, adjoint = self.block(body[:-1])
        value = ret.value
        seed = self.namer.fresh("seed")
        checked = self.namer.fresh("seed")              # grad's seed, checked (srcad/seeds.py)
        self.bar_shapes[seed] = self.bar_shapes[checked] = self.shape(value)
        head = []
        self.accumulate(head, value, _load(checked))
        if isinstance(value, gast.Name) and value.id in self.restore:
            copied = self.namer.fresh("value")
            primal.append(_assign(copied, rt_call(self.env, "copy_value", value)))
            value = _load(copied)
        elif isinstance(value, gast.Name) and value.id in _stored_names(adjoint):
            kept = self.namer.fresh("value")      # the adjoint sweep rebinds the name (the
            primal.append(_assign(kept, value))   # targets of a reversed loop): keep it
            value = _load(kept)
        adjoint = head + adjoint
        check = _assign(checked, rt_call(self.env, "grad_seed", _load(seed),
                                         _load(value.id) if isinstance(value, gast.Name)
                                         else clone(value)))
        inits = self.inits(None) + self.field_inits()
        results = []
        for p in self.wrt:
            kind = self.param_kinds.get(p)
            built = self.field_gradient(p)
            if built is not None:
                results.append(built)
            elif p in self.contributed and kind == "float":
                results.append(gast.Call(func=_load(self._builtin("float")),
                                         args=[_load(self.bar(p))], keywords=[]))
            elif p in self.contributed and kind == "array":
                results.append(rt_call(self.env, "finalize_array", _load(self.bar(p)), _load(p)))
            elif p in self.contributed:
                results.append(rt_call(self.env, "finalize", _load(self.bar(p)), _load(p)))
            else:
                results.append(rt_call(self.env, "zeros_for", _load(p)))
        out = gast.Return(value=gast.Tuple(elts=[value, gast.Tuple(elts=results, ctx=gast.Load())],
                                           ctx=gast.Load()))
        args = fn.args
        new_args = gast.arguments(
            # every parameter positional and without its default: callers pass them all
            args=list(args.args) + list(args.kwonlyargs)
            + [gast.Name(id=seed, ctx=gast.Param(), annotation=None, type_comment=None)],
            posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
            defaults=[])
        self.primal_length = len(primal)
        return gast.FunctionDef(name=fn.name + "_vjp", args=new_args,
                                body=primal + [check] + inits + adjoint + [out],
                                decorator_list=[],
                                returns=None, type_comment=None)

    def inits(self, scope):
        names = sorted(n for n in self.contributed | self.read
                       if self.scope_of.get(n, None) is scope and n not in self.branch_inits)
        # a list appended to starts as one zero per item: each append's adjoint pops one,
        # so an item read's adjoint finds the list's length at the read (a list assigned
        # in a branch starts at the head of that branch's sweep: see branch_owned)
        return [_assign(self.bar(n), rt_call(self.env, "zeros_cot", _load(n))
                        if n in self.owned or n in self.zero_lists and n not in self.branch_of
                        else _const(0.0))
                for n in names]

    @property
    def zero_lists(self):
        return self.appended - self.aliased_lists

    def branch_owned(self, s, field, adjoint):
        """A cotangent updated in place (``t_bar[i] += g``, or a list's items popped) starts
        as zeros shaped like its value: for a value assigned in a branch, at the head of that
        branch's sweep (the value is unbound when the branch was not taken)."""
        names = sorted(n for n in (self.owned | self.zero_lists) & (self.contributed | self.read)
                       if self.branch_of.get(n) == (s, field) and n not in self.branch_inits)
        if not adjoint:
            return adjoint
        self.branch_inits.update(names)
        inits = [_assign(self.bar(n), rt_call(self.env, "zeros_cot", _load(n))) for n in names]
        return inits + adjoint

    def shape(self, atom):
        if isinstance(atom, gast.Constant):
            return ("scalar",) if isinstance(atom.value, (int, float)) else None
        if isinstance(atom, gast.Name):
            if atom.id in self.for_targets:
                return ("scalar",)
            return self.shapes.get(atom.id)
        return None

    def array_valued(self, name):
        """Is ``name`` surely an array (a parameter passed one, or a NumPy result)?"""
        if self.param_kinds.get(name) == "array":
            return True
        d = self.defs.get(name)
        if d is None:
            return False
        if isinstance(d.value, (gast.BinOp, gast.UnaryOp)):
            return True
        if isinstance(d.value, gast.Call):
            fn = resolve(d.value.func, self.env.namespace)
            return registry.op(fn).reverse is not None
        return False

    def direct_index(self, base, sl):
        """Can ``base_bar[sl] += g`` be written directly (a plain, non-fancy index: numbers,
        slices and new axes)?"""
        shape = self.shapes.get(base.id)
        if shape is None or shape[0] != "array":
            return False
        parts = sl.elts if isinstance(sl, gast.Tuple) else [sl]
        return all(isinstance(p, gast.Slice) or self.shape(p) == ("scalar",)
                   or isinstance(p, gast.Constant) and p.value is None for p in parts)

    def block(self, stmts):
        primal, adjoint = [], []
        for s in stmts:
            p, a = self.stmt(s)
            primal.extend(p)
            adjoint[:0] = a
        return primal, adjoint

    def stmt(self, s):
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            if isinstance(target, gast.Name):
                return self.assign(s, target.id, s.value)
            return self.setitem(s, target)
        if isinstance(s, gast.Expr):
            call = s.value
            if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
                    and call.func.attr == "append":
                return self.append(s, call)
            check_discarded_call(s, self.env, self.is_varied, self.filename)
            return [s], []
        if isinstance(s, gast.If):
            p1, a1 = self.block(s.body)
            p2, a2 = self.block(s.orelse)
            a1, a2 = self.branch_owned(s, "body", a1), self.branch_owned(s, "orelse", a2)
            primal = [gast.If(test=s.test, body=p1 or [gast.Pass()], orelse=p2)]
            adjoint = []
            if a1 or a2:
                adjoint = [gast.If(test=s.test, body=a1 or [gast.Pass()], orelse=a2)]
            return primal, adjoint
        if isinstance(s, (gast.For, gast.While)):
            return self.loop(s)
        if isinstance(s, gast.Pass):
            return [], []
        raise InternalError("reverse", f"unexpected statement {type(s).__name__}")

    # ------------------------------------------------------------ statements
    def assign(self, s, name, value):
        if name not in self.active:
            return [s], []
        self.refusals.check(s)
        y, g = _load(name), _load(self.bar(name))
        self.read.add(name)
        adj = []
        primal = [s]
        if isinstance(value, gast.Name):
            self.accumulate(adj, value, g)
        elif isinstance(value, gast.BinOp):
            op = BINOPS.get(type(value.op))
            call = gast.Call(func=None, args=[value.left, value.right], keywords=[])
            self.rule(adj, op, call, y, g, s)
            primal = sequence_guard(self.env, s, self.numeric | self.for_targets,
                                    self.shapes, self.filename) + primal
        elif isinstance(value, gast.UnaryOp):
            call = gast.Call(func=None, args=[value.operand], keywords=[])
            self.rule(adj, UNARYOPS.get(type(value.op)), call, y, g, s)
        elif isinstance(value, gast.Call):
            primal = self.call(adj, s, name, value, y, g)
        elif isinstance(value, gast.Subscript):
            base = value.value
            if self.is_active(base):
                self.contributed.add(base.id)
                # (a name assigned more than once has its cotangent reset to a 0.0
                # placeholder at each assignment: item_acc makes the zeros it adds into)
                if self.direct_index(base, value.slice) and base.id not in self.multi:
                    self.owned.add(base.id)
                    adj.append(gast.AugAssign(
                        target=gast.Subscript(value=_load(self.bar(base.id)), slice=value.slice,
                                              ctx=gast.Store()), op=gast.Add(), value=g))
                else:
                    adj.append(_assign(self.bar(base.id), rt_call(
                        self.env, "item_acc", _load(self.bar(base.id)), base,
                        index_value(value.slice), g)))
        elif isinstance(value, gast.Attribute):
            base = value.value
            if self.is_active(base) and not self.field_read(adj, base, value.attr, g,
                                                               self.where(s)):
                self.contributed.add(base.id)
                adj.append(_assign(self.bar(base.id), rt_call(
                    self.env, "attr_acc", _load(self.bar(base.id)), _const(value.attr), g)))
        elif isinstance(value, (gast.Tuple, gast.List)):
            for k, elt in enumerate(value.elts):
                self.accumulate(adj, elt, rt_call(self.env, "index_cot", g, _const(k)))
        elif isinstance(value, gast.Dict):
            for key, elt in zip(value.keys, value.values, strict=True):
                self.accumulate(adj, elt, rt_call(self.env, "index_cot", g, key))
        elif isinstance(value, gast.Constant):
            pass
        else:
            raise TransformError(f"cannot differentiate `{type(value).__name__}` expressions",
                                 **self.where(s))
        if name in self.multi:
            adj.append(_assign(self.bar(name), _const(0.0)))
        return primal, [_located(a, s) for a in adj]

    def rule(self, adj, target, call, y, g, s):
        rule = registry.op(target).reverse
        rule = variants.pick(target, call, self.env, self.where(s), self.shape) or rule
        whole = registry.op(target).whole
        if whole is not None and len(call.args) == 1 and not call.keywords \
                and self.is_active(call.args[0]) and self.broadcast_ok(call.args[0], 0):
            rule = whole
            self.bar_shapes[self.bar(call.args[0].id)] = self.shape(y)
        if rule is None:
            raise TransformError(f"no derivative rule for `{getattr(target, '__name__', target)}`",
                                 **self.where(s),
                                 hint="register one with @srcad.adjoint")
        exp = template.expand(rule, call, [y, g], self.env, self.namer, self.where(s))
        refusal.uncovered_error(exp, self.is_active, target, self.where(s))
        known = KnownUnbroadcast(self.env, self.shape, self.shape(y), sums=True)
        if self.shape(y) is not None:
            exp.prelude = [known.visit(p) for p in exp.prelude]
            exp.terms = [(a, known.visit(e) if self.is_active(a) else e) for a, e in exp.terms]
        active_terms = symmetric.merge([(atom, expr) for atom, expr in exp.terms
                                        if self.is_active(atom)])
        if not active_terms:
            return
        dense = zero_guards.guard(target, self.shape(y), g, y,
                                  lambda name, *args: rt_call(self.env, name, *args),
                                  known.summed)
        adj.extend([dense] if dense is not None else [])
        adj.extend(exp.prelude)
        for atom, expr in active_terms:
            self.accumulate(adj, atom, expr)

    def call(self, adj, s, name, call, y, g):
        fn = resolve(call.func, self.env.namespace)
        kind = classify(fn) if fn is not MISSING else "unknown"
        self.env.callees.append(fn)
        if kind in ("nondiff", "stop_gradient"):
            return [s]
        if kind == "rule":
            self.rule(adj, fn, call, y, g, s)
            return [s]
        if kind == "hook":
            hook, x = call.args[0], call.args[1]
            self.accumulate(adj, x, gast.Call(func=hook, args=[g], keywords=[]))
            return [_assign(name, x)]
        if kind == "showgrad":
            x, label = call.args[0], call.args[1]
            adj.append(gast.Expr(value=rt_call(self.env, "show", label, g)))
            self.accumulate(adj, x, g)
            return [_assign(name, x)]
        if kind == "construct":
            fields = _bind_fields(fn, call, self.where(s))
            for field, atom in fields:
                self.accumulate(adj, atom, rt_call(self.env, "field_cot", g, _const(field)))
            return [s]
        if kind in ("custom", "vjp", "checkpoint"):
            return self.pullback_call(adj, s, name, fn, kind, call, g)
        what = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
        owner = getattr(fn, "__self__", None)
        if type(owner).__name__ == "ufunc":
            raise refusal.ufunc_method_error(owner, fn, self.where(s))
        raise TransformError(
            f"no derivative rule for `{what}` and its source is not available",
            **self.where(s), why="srcad differentiates Python source and registered rules",
            hint=f"register a rule with @srcad.adjoint({what}) (and @srcad.tangent for "
                 "forward mode), or wrap the value in srcad.stop_gradient")

    def pullback_call(self, adj, s, name, fn, kind, call, g):
        args = list(call.args)
        if kind == "checkpoint":
            func, args = args[0], args[1:]
            fn = resolve(func, self.env.namespace)
            if not (isinstance(fn, types.FunctionType) or hasattr(fn, "_vjp_plain")):
                raise TransformError(
                    f"srcad.checkpoint takes a plain function here, not a "
                    f"{type(fn).__name__}", **self.where(s),
                    why="its reverse sweep runs the function's own gradient on the inputs "
                        "it kept", hint="wrap the call in a function defined with `def`")
        else:
            func = call.func
        only = {}                       # a custom rule's keyword-only arguments
        if kind == "custom":
            if call.keywords:
                import inspect
                try:
                    bound = inspect.signature(fn).bind(
                        *args, **{k.arg: k.value for k in call.keywords})
                except TypeError as exc:
                    raise TransformError(f"cannot bind the call: {exc}", **self.where(s)) from None
                args, only = list(bound.args), dict(bound.kwargs)
                if any(self.is_active(v) for v in only.values()):
                    raise TransformError(
                        f"a keyword-only argument of `{fn.__name__}` carries a derivative here",
                        **self.where(s), why="its @srcad.adjoint rule gives cotangents for "
                        "the positional arguments only",
                        hint="pass the value positionally (a parameter before `*`)")
        else:
            args = template.full_arguments(fn, args, call.keywords, self.env, self.where(s))
        active = [k for k, a in enumerate(args) if self.is_active(a)]
        back = self.namer.fresh(name + "_back")
        arg_tuple = gast.Tuple(elts=args, ctx=gast.Load())
        wrt = gast.Tuple(elts=[_const(k) for k in active], ctx=gast.Load())
        if kind == "custom":
            rule_name = _load(self.env.bind(fn.__name__ + "_adjoint", registry.CUSTOM_REVERSE[fn]))
            primal = [gast.Assign(targets=[gast.Tuple(elts=[_store(name), _store(back)],
                                                      ctx=gast.Store())],
                                  value=gast.Call(func=rule_name, args=args, keywords=[
                                      gast.keyword(arg=k, value=v) for k, v in only.items()]),
                                  type_comment=None)]
            label = fn.__name__
        elif kind == "vjp":
            primal = [gast.Assign(targets=[gast.Tuple(elts=[_store(name), _store(back)],
                                                      ctx=gast.Store())],
                                  value=rt_call(self.env, "vjp_call", func, arg_tuple, wrt),
                                  type_comment=None)]
            label = fn.__name__
        else:   # checkpoint: only the inputs are kept, the primal is recomputed
            primal = [_assign(name, rt_call(self.env, "call_full", func, arg_tuple))]
            adj.append(_assign(back, rt_call(self.env, "vjp_back", func, arg_tuple, wrt)))
            label = getattr(fn, "__name__", None) or type(fn).__name__   # (a partial)
        primal = [gast.copy_location(p, s) for p in primal]
        if not active:
            return primal
        parts = self.namer.fresh(name + "_cots")
        adj.append(_assign(parts, rt_call(self.env, "call_back", _load(back), g, arg_tuple,
                                          _const(label), _const(kind == "custom"))))
        for k in active:
            self.accumulate(adj, args[k], gast.Subscript(value=_load(parts), slice=_const(k),
                                                         ctx=gast.Load()))
        return primal

    def _builtin(self, name):
        import builtins
        return self.env.bind(name, getattr(builtins, name), ("builtins", name))


def sequence_guard(env, s, numeric, shapes, filename):
    """``a + b`` and ``a * b`` get the rules of arithmetic. When an operand is not known
    to be a number or an array, a run-time check before the statement refuses lists and
    tuples (joined or repeated, they would get a wrong derivative)."""
    value = s.value
    if not isinstance(value.op, (gast.Add, gast.Mult)) or all(
            not isinstance(a, gast.Name) or a.id in numeric or a.id in shapes
            for a in (value.left, value.right)):
        return []
    sign = "+" if isinstance(value.op, gast.Add) else "*"
    check = rt_call(env, "numbers_only", value.left, value.right, _const(sign),
                    _const(filename), _const(getattr(s, "lineno", None)))
    return [gast.copy_location(gast.Expr(value=check), s)]


def check_discarded_call(s, env, is_active, filename):
    """A call whose result is dropped, on values that carry derivatives, must be pure
    (a rule or a non-differentiable function) or an effect (``print``, a logger: the
    rules' effect()): anything else may change its arguments in place, which no derivative
    code would follow."""
    call = s.value
    if not isinstance(call, gast.Call):
        return
    args = list(call.args) + [k.value for k in call.keywords]
    if not any(is_active(a) for a in args):
        return
    fn = resolve(call.func, env.namespace)
    if registry.is_effect(fn) or (fn is not MISSING and classify(fn) in (
            "rule", "nondiff", "stop_gradient", "showgrad")):
        return
    raise TransformError(
        f"the result of `{call_text(call, filename)}(...)` is discarded, so it can only act "
        "by changing its arguments in place", **where(filename, s),
        why="srcad follows in-place writes only as `x[i] = v` (and `lst.append(v)`)",
        hint="write the update with indexing (`out[i] = out[i] + v`), or put it in a helper "
             "function with a rule from @srcad.adjoint")


def call_text(call, filename):
    """What the user wrote for the called function of ``call`` (``lst.append``), read from
    their source line when the call is still where they wrote it, else unparsed."""
    import ast
    import linecache
    import re
    line = linecache.getline(filename, getattr(call, "lineno", 0) or 0)
    m = re.match(r"\s*([A-Za-z_][\w.]*)\s*\(", line[getattr(call, "col_offset", 0):])
    if m:
        return m.group(1)
    return ast.unparse(gast.gast_to_ast(gast.Expression(body=call.func)).body)


def _store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def _bind_fields(cls, call, where):
    import inspect
    classes.check_construct(cls, where)
    try:
        bound = inspect.signature(cls).bind(*call.args, **{k.arg: k.value for k in call.keywords})
    except TypeError as exc:
        raise TransformError(f"cannot bind the call to `{cls.__name__}`: {exc}", **where) from None
    return list(bound.arguments.items())


def _stored_names(stmts):
    """Every name the statements bind."""
    return {n.id for stmt in stmts for n in walk(stmt)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}

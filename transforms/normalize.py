"""Three-address form: one operation per statement, loops over ``range``.

Before::

    def eam(x):
        p = np.sum(rho(x))
        return p ** 2 + p ** 3 + 0.25 * p ** 4

After::

    def eam(x):
        t = rho(x)
        p = np.sum(t)
        t2 = p ** 2
        t3 = p ** 3
        t4 = t2 + t3
        ...
        return t8

Invariant of the normal form (what later passes may assume):
- every expression is an *atom* (a Name or a Constant) or one operation on
  atoms: BinOp, UnaryOp, a single Compare, a Call with atom arguments, an
  Attribute or Subscript of an atom (slices of atoms), a Tuple/List/Dict of
  atoms;
- statements are ``name = simple``, ``name[index] = atom``, ``lst.append(atom)``
  as an expression statement, other calls as expression statements, ``if atom:``,
  ``for i in range(atoms):`` (the target a plain name), ``while atom:`` (the
  condition recomputed at the end of the body), a trailing ``if flag: break``
  in a loop body and a single trailing ``return atom``;
- free names are bound in ``env.namespace``; every call's function is a Name
  bound there (``np.exp`` stays spelled ``np.exp`` when ``np`` is bound).
"""
import inspect
import sys
import types

import gast

from srcad.errors import TransformError
from srcad.transforms import callees, classes, holders, sharing
from srcad.transforms.blocks import walk
from srcad.transforms.checks import Checks
from srcad.transforms.normal_loops import Loops, _store
from srcad.transforms.normal_names import Names
from srcad.transforms.exits import _assign, _const, _load, dotted, index_value, rt
from srcad.transforms.forms import index_form, reaches_out as _reaches_out, value_method
from srcad.transforms.parse import MISSING, resolve
from srcad.transforms.rules import registry



def is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant))



def _fold_sequence(e, limit=256):
    """(List or Tuple, items) for a literal, or a sum or int multiple of literals."""
    if isinstance(e, (gast.List, gast.Tuple)):
        if any(isinstance(x, gast.Starred) for x in e.elts):
            return None
        return type(e), list(e.elts)
    if not isinstance(e, gast.BinOp):
        return None
    if isinstance(e.op, gast.Add):
        left, right = _fold_sequence(e.left), _fold_sequence(e.right)
        if left and right and left[0] is right[0] and len(left[1]) + len(right[1]) <= limit:
            return left[0], left[1] + right[1]
    elif isinstance(e.op, gast.Mult):
        for seq, k in ((e.left, e.right), (e.right, e.left)):
            folded = _fold_sequence(seq)
            if folded and isinstance(k, gast.Constant) and type(k.value) is int \
                    and len(folded[1]) * max(k.value, 0) <= limit:
                return folded[0], folded[1] * max(k.value, 0)
    return None


_POP = ("second derivatives through a list appended to after it is read are not supported yet",
        "the first-derivative code takes the later items off again (`lst.pop()`) so that "
        "its reverse sweep reads the list as it was",
        "append every item before the list is first read, or take first derivatives only")


class Normalizer(Checks, Names, Loops):
    def __init__(self, parsed, env, namer, level, types=None):
        self.helper = False
        self.parsed = parsed
        self.env = env
        self.namer = namer
        self.level = level
        self.types = types or {}      # parameter -> its class (dataclass/NamedTuple arguments)
        self.aliases = sharing.alias_groups(parsed.tree, parsed.scope)
        self.reads_after = sharing.reads_after(parsed.tree)
        self.stores = {}                # name -> how often the function binds it
        self.built = {}                 # name bound once to a dataclass or NamedTuple built here
        for n in walk(parsed.tree):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                self.stores[n.id] = self.stores.get(n.id, 0) + 1
        self.sequences = {n.targets[0].id for n in walk(parsed.tree) if isinstance(n, gast.Assign)
                          and len(n.targets) == 1 and isinstance(n.targets[0], gast.Name)
                          and isinstance(n.value, (gast.List, gast.Tuple))
                          and self.stores.get(n.targets[0].id) == 1}    # (a list literal's)
        self.assigned = {a.id for a in parsed.tree.args.args}
        fn = parsed.tree
        self.locals = {a.id for a in fn.args.args} | {a.id for a in fn.args.kwonlyargs}
        for node in walk(fn):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                self.locals.add(node.id)
        self.out = []

    # ------------------------------------------------------------------ errors
    def error(self, node, what, why=None, hint=None):
        if self.parsed.filename.startswith("<srcad"):   # srcad's own first-derivative code
            from srcad.errors import user_line_error
            if what.startswith("the method call `.pop"):
                what, why, hint = _POP
            raise user_line_error(what, self.parsed.filename, getattr(node, "lineno", 0),
                                  why=why, hint=hint)
        raise TransformError(what, filename=self.parsed.filename,
                             lineno=getattr(node, "lineno", None),
                             col=getattr(node, "col_offset", 0), why=why, hint=hint)

    # ------------------------------------------------------------- statements
    def block(self, stmts):
        saved, self.out = self.out, []
        for stmt in stmts:
            self.stmt(stmt)
        result, self.out = self.out, saved
        return result

    def emit(self, stmt, like=None):
        if like is not None:
            gast.copy_location(stmt, like)
        self.out.append(stmt)

    def stmt(self, s):
        method = getattr(self, "stmt_" + type(s).__name__, None)
        if method is None:
            self.error(s, f"`{type(s).__name__}` statements are not supported")
        method(s)
        if isinstance(s, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
            for n in walk(s):
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                    self.assigned.add(n.id)

    def stmt_Pass(self, s):
        pass

    def stmt_Expr(self, s):
        if isinstance(s.value, gast.Constant):
            return                               # docstring
        sharing.check_restore(self, s)
        if isinstance(s.value, gast.Call) and isinstance(s.value.func, gast.Attribute) \
                and s.value.func.attr == "append" and self._is_local_value(s.value.func.value):
            if not isinstance(s.value.func.value, gast.Name):   # `d[k].append(v)` would
                self.writable_base(s.value.func.value, s, "appending to")  # append to a copy
            self.guard_aliases(s.value.func.value.id, s)
            lst = self.atom(s.value.func.value)
            if len(s.value.args) != 1:
                self.error(s, "`append` takes one argument")
            item = self.atom(s.value.args[0])
            call = gast.Call(func=gast.Attribute(value=lst, attr="append", ctx=gast.Load()),
                             args=[item], keywords=[])
            self.emit(gast.Expr(value=call), s)
            return
        value = self.simple(s.value)
        self.emit(gast.Expr(value=value), s)

    def stmt_Assign(self, s):
        if len(s.targets) > 1:
            value = self.atom(s.value)
            for target in s.targets:
                self.assign(target, value, s)
            return
        self.assign(s.targets[0], s.value, s)

    def stmt_AnnAssign(self, s):
        if s.value is not None:
            self.assign(s.target, s.value, s)

    def guard_aliases(self, name, s, index=None):
        guard = sharing.guard(self, name, s, index)
        if guard is not None:
            self.emit(guard, s)

    def stmt_AugAssign(self, s):
        target = s.target
        if isinstance(target, gast.Name):
            self.guard_aliases(target.id, s)
            value = self.simple(gast.BinOp(left=_load(target.id), op=s.op, right=s.value),
                                target.id)
            new = self.fresh_assign(target.id, value, s)
            kept = rt(self.env, "kept_0d")
            self.emit(_assign(target.id, gast.Call(func=kept, args=[
                self.atom(_load(target.id)), new], keywords=[])), s)
        elif isinstance(target, gast.Subscript):
            index = self.index(target.slice)
            name, after = holders.prepare(self, target.value, s, index_value(index), True)
            base = self.atom(_load(name))
            old = self.fresh_assign("t", gast.Subscript(value=base, slice=index,
                                                        ctx=gast.Load()), s)
            new = self.atom(gast.BinOp(left=old, op=s.op, right=s.value))
            self.emit(gast.Assign(targets=[gast.Subscript(value=base, slice=index,
                                                          ctx=gast.Store())],
                                  value=new, type_comment=None), s)
            after()
        else:
            self.error(s, "augmented assignment to an attribute is not supported",
                       "srcad does not follow mutation of objects",
                       "build a new object instead")

    def assign(self, target, value, s):
        if isinstance(target, gast.Name):
            built = self.struct_of(value) if isinstance(value, gast.Call) else None
            if built is not None and self.stores.get(target.id) == 1:
                self.built[target.id] = built
            if isinstance(value, gast.Name):
                value = self.read(value)
            elif isinstance(value, gast.Tuple) is False and is_atom(value) is False:
                value = self.simple(value, target.id)
            elif isinstance(value, gast.Tuple):
                value = self.simple(value)
            self.emit(gast.Assign(targets=[_store(target.id)], value=value,
                                  type_comment=None), s)
        elif isinstance(target, (gast.Tuple, gast.List)):
            if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts):
                parts = [self.fresh_assign("t", self.copyable(e), s) for e in value.elts]
            else:
                whole = self.atom(value)
                parts = [self.fresh_assign("t", gast.Subscript(
                    value=whole, slice=_const(k), ctx=gast.Load()), s)
                    for k in range(len(target.elts))]
            for sub, part in zip(target.elts, parts, strict=True):
                self.assign(sub, part, s)
        elif isinstance(target, gast.Subscript):
            index = self.index(target.slice)
            name, after = holders.prepare(self, target.value, s)
            item = self.atom(value)
            if isinstance(item, gast.Name) and item.id == name:
                # `b[:] = b`: write a copy (the adjoint zeroes b_bar[:] after reading it)
                copy = self.namer.fresh("t")
                self.emit(_assign(copy, gast.Call(func=rt(self.env, "copy_value"), args=[item],
                                                  keywords=[])), s)
                item = _load(copy)
            self.emit(gast.Assign(targets=[gast.Subscript(value=_load(name), slice=index,
                                                          ctx=gast.Store())],
                                  value=item, type_comment=None), s)
            after()
        else:
            self.error(s, "assignment to an attribute is not supported",
                       "srcad does not follow mutation of objects",
                       "build a new object (e.g. dataclasses.replace) instead")

    def writable_base(self, base, s, action="assignment into an item of"):
        if not isinstance(base, gast.Name):
            import ast
            text = ast.unparse(gast.gast_to_ast(gast.Expression(body=base)).body)
            if action == "appending to":
                hint = f"append to a local list: `a = {text}[:]`, `a.append(...)`"
            else:
                hint = f"make a local copy and write into it: `a = {text}.copy()`, `a[i] = ...`"
            if isinstance(base, gast.Subscript):
                hint += f", `{text} = a`"
            self.error(s, f"{action} `{text}` is not supported",
                       f"srcad follows writes into local names only, and `{text}` is a "
                       "value of its own", hint)
        if base.id not in self.locals:
            self.error(s, "assignment into this subscript is not supported",
                       "srcad follows writes into local arrays only",
                       "create a local array (`out = np.zeros(n)`) and write into it")

    def copyable(self, expr):
        # a Name on the right of a parallel assignment must be read before any write
        return expr

    def stmt_If(self, s):
        test = self.atom(s.test)
        before = set(self.assigned)
        body = self.block(s.body) or [gast.Pass()]
        in_body, self.assigned = self.assigned, before
        orelse = self.block(s.orelse)
        # bound on both paths (a guard in one branch must not name the other's locals)
        self.assigned = in_body & self.assigned
        self.emit(gast.If(test=test, body=body, orelse=orelse), s)

    def stmt_Break(self, s):
        self.emit(gast.Break(), s)

    def stmt_Return(self, s):
        value = self.atom(s.value) if s.value is not None else _const(None)
        self.emit(gast.Return(value=value), s)

    # ------------------------------------------------------------ expressions
    def fresh_assign(self, base, value, like=None):
        name = self.namer.fresh(base)
        self.locals.add(name)
        if isinstance(value, gast.Name):
            value = self.read(value)
        elif not is_atom(value):
            value = self.simple(value, name)
        stmt = _assign(name, value)
        if like is not None:
            gast.copy_location(stmt, like)
        self.out.append(stmt)
        return _load(name)

    def atom(self, expr):
        if isinstance(expr, gast.Constant):
            return expr
        if isinstance(expr, gast.Name):
            return self.name(expr)
        if isinstance(expr, gast.Attribute):
            obj = resolve(expr, self.parsed.scope) if self._is_global(expr) else MISSING
            if obj is not MISSING:
                return self.bind_global(expr, obj)
        value = self.simple(expr)
        if is_atom(value):
            return value
        name = self.namer.fresh("t")
        self.locals.add(name)
        self.out.append(gast.copy_location(_assign(name, value), expr)
                        if hasattr(expr, "lineno") else _assign(name, value))
        return _load(name)

    def simple(self, expr, hint="t"):
        kind = type(expr).__name__
        method = getattr(self, "expr_" + kind, None)
        if method is None:
            self.error(expr, f"`{kind}` expressions are not supported")
        return method(expr, hint)

    def expr_Name(self, e, hint):
        return self.name(e)

    def expr_Constant(self, e, hint):
        return e

    def expr_BinOp(self, e, hint):
        joined = self.sequence_literal(e)
        if joined is not None:
            return joined
        return gast.BinOp(left=self.atom(e.left), op=e.op, right=self.atom(e.right))

    def sequence_literal(self, e):
        """``[a, b] * 2`` and ``(a,) + (b,)`` written out as one literal (``[a, b, a, b]``):
        each item keeps its own derivative (a repeated item's contributions add up)."""
        folded = _fold_sequence(e)
        if folded is None or isinstance(e, (gast.List, gast.Tuple)):
            return None
        kind, elts = folded
        atoms = {}
        for x in elts:          # each item evaluated once, in the order Python does
            if id(x) not in atoms:
                atoms[id(x)] = self.atom(x)
        items = [atoms[id(x)] for x in elts]
        return kind(elts=[_load(x.id) if isinstance(x, gast.Name) else _const(x.value)
                          for x in items], ctx=gast.Load())

    def expr_UnaryOp(self, e, hint):
        operand = self.atom(e.operand)
        if isinstance(e.op, gast.UAdd):
            return operand
        if isinstance(e.op, gast.USub) and isinstance(operand, gast.Constant) \
                and isinstance(operand.value, (int, float, complex)) \
                and not isinstance(operand.value, bool):
            return _const(-operand.value)
        return gast.UnaryOp(op=e.op, operand=operand)

    def expr_Compare(self, e, hint):
        if len(e.ops) == 1:
            return gast.Compare(left=self.atom(e.left), ops=e.ops,
                                comparators=[self.atom(e.comparators[0])])
        parts, left = [], e.left
        for op, right in zip(e.ops, e.comparators, strict=True):
            parts.append(gast.Compare(left=left, ops=[op], comparators=[right]))
            left = right
        return self.expr_BoolOp(gast.BoolOp(op=gast.And(), values=parts), hint)

    def expr_BoolOp(self, e, hint):
        result = self.namer.fresh(hint if hint != "t" else "cond")
        self.locals.add(result)
        self._boolop(result, e.op, list(e.values))
        return _load(result)

    def _boolop(self, result, op, values):
        self.out.append(_assign(result, self.simple(values[0])))
        if len(values) == 1:
            return
        saved, self.out = self.out, []
        self._boolop(result, op, values[1:])
        rest, self.out = self.out, saved
        test = _load(result) if isinstance(op, gast.And) else self.atom(
            gast.UnaryOp(op=gast.Not(), operand=_load(result)))
        self.out.append(gast.If(test=test, body=rest, orelse=[]))

    def expr_IfExp(self, e, hint):
        result = self.namer.fresh(hint)
        self.locals.add(result)
        test = self.atom(e.test)
        body = self.block([_assign(result, e.body)])
        orelse = self.block([_assign(result, e.orelse)])
        self.out.append(gast.If(test=test, body=body, orelse=orelse))
        return _load(result)

    def expr_Tuple(self, e, hint):
        return gast.Tuple(elts=[self.atom(x) for x in e.elts], ctx=gast.Load())

    def expr_List(self, e, hint):
        return gast.List(elts=[self.atom(x) for x in e.elts], ctx=gast.Load())

    def expr_Dict(self, e, hint):
        keys = []
        for k in e.keys:
            if k is None:
                self.error(e, "`**` in a dict literal is not supported")
            keys.append(self.atom(k))
        return gast.Dict(keys=keys, values=[self.atom(v) for v in e.values])

    def expr_Attribute(self, e, hint):
        if self._is_global(e):
            obj = resolve(e, self.parsed.scope)
            base = resolve(e.value, self.parsed.scope)
            if obj is MISSING and (base is MISSING or isinstance(base, (types.ModuleType, type))):
                self.error(e, f"cannot resolve `{dotted(e)}`")
            if obj is not MISSING:
                return self.bind_global(e, obj)
            # an attribute of a global value (``W0.T``): read when the code runs
        cls = self.struct_of(e.value)
        base = self.atom(e.value)
        if cls is not None:                     # a dataclass or NamedTuple (transforms/classes.py)
            kind, detail = classes.attribute(cls, e.attr)
            if kind == "property":
                self.env.attrs.append((cls, e.attr, inspect.getattr_static(cls, e.attr)))
                return gast.Call(func=self.bind_callable(detail), args=[base], keywords=[])
            if kind == "opaque":                # refused where the value carries derivatives
                return gast.Call(func=rt(self.env, "struct_attribute"),
                                 args=[base, _const(e.attr)], keywords=[])
        target = registry.ATTRIBUTES.get(e.attr)
        if target is not None:
            return gast.Call(func=self.bind_callable(target), args=[base], keywords=[])
        return gast.Attribute(value=base, attr=e.attr, ctx=gast.Load())

    def struct_of(self, node):
        """The dataclass or NamedTuple class of ``node``'s value where it is known: an
        argument's, a name bound once to a built one, a call building one."""
        if isinstance(node, gast.Name):
            cls = self.types.get(node.id) or self.built.get(node.id)
        elif isinstance(node, gast.Call) and not isinstance(node.func, gast.Call):
            cls = self.callee(node.func)
        else:
            return None
        return cls if classes.is_struct(cls) else None

    def expr_Subscript(self, e, hint):
        form = index_form(e, self.parsed.scope) if self._is_global(e.value) else None
        if form is not None:            # ``np.r_[x, y]``: a call on the tuple of parts
            parts = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
            whole = self.atom(gast.Tuple(elts=list(parts), ctx=gast.Load()))
            return gast.Call(func=self.bind_callable(form), args=[whole], keywords=[])
        base = self.atom(e.value)
        return gast.Subscript(value=base, slice=self.index(e.slice), ctx=gast.Load())

    def index(self, sl):
        if isinstance(sl, gast.Slice):
            return gast.Slice(lower=sl.lower and self.atom(sl.lower),
                              upper=sl.upper and self.atom(sl.upper),
                              step=sl.step and self.atom(sl.step))
        if isinstance(sl, gast.Tuple):
            return gast.Tuple(elts=[self.index(x) for x in sl.elts], ctx=gast.Load())
        return self.atom(sl)

    def out_error(self, e, positional=False):
        self.error(e, "an output array passed by position (`np.exp(a, a)` is `np.exp(a, out=a)`)"
                   " is not supported in differentiated code" if positional else
                   "`out=` arguments are not supported in differentiated code",
                   "a result written into an existing array updates it in place, which "
                   "srcad cannot follow", "assign the result to a name instead "
                   "(`b = np.multiply(b, 2.0)`)")

    def expr_Call(self, e, hint):
        func = e.func
        if any(k.arg == "out" for k in e.keywords):
            self.out_error(e)
        if isinstance(func, gast.Attribute) and (not self._is_global(func) or value_method(
                func, self.parsed.scope)):      # (``W0.mean()`` of a module-level array too)
            method = self.user_method(func)
            if method is not None:      # p.method(...) on an argument of a known class
                args = [self.atom(func.value)] + [self.atom(a) for a in e.args]
                keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value))
                            for k in e.keywords]
                return gast.Call(func=self.bind_callable(method), args=args, keywords=keywords)
            target = registry.METHODS.get(func.attr)
            if target is None:
                self.error(e, f"the method call `.{func.attr}(...)` is not supported",
                           "srcad differentiates NumPy array methods and plain functions",
                           "call a module-level function instead")
            if _reaches_out(target, e.args, 1):
                self.out_error(e, True)
            base = self.atom(func.value)
            args = [base] + [self.atom(a) for a in e.args]
            keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in e.keywords]
            return gast.Call(func=self.bind_callable(target), args=args, keywords=keywords)
        obj, ref, lead = self.callee(func), None, ()
        if obj is MISSING:
            found = callees.resolve_callee(self, func)
            if found is None:
                callees.refuse(self, e)
            obj, ref, *rest = found
            lead = rest[0] if rest else ()
        obj = getattr(obj, "__srcad_wrapped__", obj)
        if _reaches_out(obj, e.args, len(lead)):
            self.out_error(e, True)
        if _global_random(obj):
            self.error(e, "a draw from NumPy's global random state in differentiated code",
                       "a derivative may run the function more than once (a Hessian, a "
                       "Jacobian by rows), each run drawing other numbers, and the numba "
                       "backend keeps a random state of its own", "draw the numbers outside "
                       "the function and pass them in")
        special = registry.SPECIAL.get(obj) if registry.hashable(obj) else None
        if special == "isderiving":
            return _const(True)
        if special in ("nestlevel", "level"):
            # ``level(k)`` marks a resolved nestlevel(): transforming generated code
            # again (a gradient of a gradient) raises it by one
            level = self.level if special == "nestlevel" else e.args[0].value + 1
            marker = next(f for f, kind in registry.SPECIAL.items() if kind == "level")
            return gast.Call(func=self.bind_callable(marker), args=[_const(level)], keywords=[])
        if special == "showgrad":
            e = self.showgrad_call(e, obj)
        args = list(lead)           # ``OBJ.method(x)``: the object, as ``self``
        # a list or tuple operand of an elementwise function: the array it stands for
        listed = registry.hashable(obj) and registry.is_elementwise(obj)
        for a in e.args:
            if isinstance(a, (gast.GeneratorExp, gast.ListComp)):
                args.append(self.comprehension(a))
            elif listed and (isinstance(a, (gast.List, gast.Tuple)) or isinstance(
                    a, gast.Name) and a.id in self.sequences):
                name = self.namer.fresh("t")
                self.locals.add(name)
                self.emit(_assign(name, gast.Call(func=rt(self.env, "seq_operand"),
                                                  args=[self.atom(a)], keywords=[])), e)
                args.append(_load(name))
            else:
                args.append(self.atom(a))
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in e.keywords]
        return gast.Call(func=ref or self.callable_ref(func, obj), args=args, keywords=keywords)

    def expr_ListComp(self, e, hint):
        return self.comprehension(e)

    def expr_GeneratorExp(self, e, hint):
        return self.comprehension(e)

    def comprehension(self, e):
        result = self.namer.fresh("items")
        self.locals.add(result)
        self.out.append(_assign(result, gast.List(elts=[], ctx=gast.Load())))
        inner = gast.Expr(value=gast.Call(
            func=gast.Attribute(value=_load(result), attr="append", ctx=gast.Load()),
            args=[e.elt], keywords=[]))
        for gen in reversed(e.generators):
            if gen.is_async:
                self.error(e, "async comprehensions are not supported")
            for cond in reversed(gen.ifs):
                inner = gast.If(test=cond, body=[inner], orelse=[])
            inner = gast.For(target=gen.target, iter=gen.iter, body=[inner], orelse=[],
                             type_comment=None)
        for node in walk(inner):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                self.locals.add(node.id)
        gast.copy_location(inner, e)
        self.stmt(inner)
        return _load(result)


def normalize(parsed, env, namer, level=1, types=None, helper=False):
    """Rewrite ``parsed.tree`` into the normal form; return the new FunctionDef. A
    ``helper`` (to be inlined) guards every in-place update: the inliner adds the
    caller's names to the guard (a parameter updated in place is the caller's array)."""
    norm = Normalizer(parsed, env, namer, level, types)
    norm.helper = helper
    fn = parsed.tree
    fn.body = norm.block(fn.body)
    return fn


def _global_random(fn):
    """A function of ``numpy.random`` that draws from (or sets) the global random state: a
    method of its global ``RandomState`` or a module-level function (a user's own
    ``Generator`` or ``RandomState`` is the user's to pass and to seed)."""
    if (getattr(fn, "__module__", None) or "") != "numpy.random":
        return False
    owner = getattr(fn, "__self__", None)
    state = getattr(getattr(sys.modules.get("numpy.random"), "mtrand", None), "_rand", None)
    return owner is None or isinstance(owner, types.ModuleType) or owner is state

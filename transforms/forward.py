"""Forward mode: each active statement followed by its tangent statement.

Before (normal form, ``wrt = m``)::

    def f(m):
        t = xs - m
        t2 = t ** 2
        t3 = -1.5 * t2
        y = np.exp(t3)
        return y

After::

    def f_jvp(m, m_dot):
        t = xs - m
        t_dot = -m_dot
        t2 = t ** 2
        t2_dot = t_dot * (2 * t)
        t3 = -1.5 * t2
        t3_dot = -1.5 * t2_dot
        y = np.exp(t3)
        y_dot = t3_dot * y
        return y, _rt.tangent_out(y_dot, y)

Loops and branches stay as they are; inactive values get no tangent code. A
tangent may carry an extra leading axis (vector mode: k directions at once)
when every rule used supports it.
"""
import gast

from srcad.errors import TransformError
from srcad.transforms import classes, refusal, template, variants
from srcad.transforms import exits
from srcad.transforms.blocks import walk
from srcad.transforms.exits import _assign, _const, _load, index_value
from srcad.transforms.kinds import BINOPS, UNARYOPS, classify
from srcad.transforms.parse import MISSING, resolve
from srcad.transforms.reverse import _store, check_discarded_call, rt_call, sequence_guard, where
from srcad.transforms.rules import registry


# modules whose functions read a tuple or list item by item, never as one array
_ITEMWISE = ("builtins", "math", "operator", "functools")

class Forward:
    def __init__(self, fn, env, namer, activity, wrt, filename, vector=False, shapes=None):
        self.fn = fn
        self.env = env
        self.namer = namer
        self.active = activity.varied & activity.useful
        self.varied = activity.varied
        self.numeric = activity.numeric | {n.target.id for n in walk(fn)
                                           if isinstance(n, gast.For)}
        self.wrt = list(wrt)
        self.filename = filename
        self.vector = vector
        self.sequences = set()      # names bound to a tuple or list literal
        self.shapes = shapes or {}
        # Outside vector mode and outside loops, a tangent may stay a value that merely
        # broadcasts to its primal's shape (``-m_dot`` for ``xs - m``): the names in
        # ``broadcast`` hold such tangents; a consumer that is not elementwise gets
        # ``_rt.full_tangent(t, x)`` instead.
        self.broadcast = set()
        self.loops = 0
        self.owned = set()
        self.refusals = refusal.Refusals(fn, env, filename, lambda a: isinstance(a, gast.Name)
                                 and a.id in self.varied, self.shapes)
        primal_names = {n.id for n in walk(fn) if isinstance(n, gast.Name)}
        self.dots = self.dot = exits.DerivedNames(namer, primal_names, "_dot")
        for n in walk(fn):
            if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Subscript):
                self.owned.add(n.targets[0].value.id)

    def where(self, node):
        return where(self.filename, node)

    def is_active(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.active

    def raw_tangent_of(self, atom):
        return _load(self.dot(atom.id)) if self.is_active(atom) else None

    def tangent_of(self, atom):
        """The tangent of ``atom`` with its primal's full shape."""
        tan = self.raw_tangent_of(atom)
        if tan is not None and atom.id in self.broadcast:
            return rt_call(self.env, "full_tangent", tan, atom)
        return tan

    def run(self):
        fn = self.fn
        body = self.block(fn.body[:-1])
        value = fn.body[-1].value
        tan = self.raw_tangent_of(value)        # tangent_out broadcasts it to the output
        out = rt_call(self.env, "tangent_out", tan if tan is not None else _const(0.0), value,
                      _const(self.vector))
        body.append(gast.Return(value=gast.Tuple(elts=[value, out], ctx=gast.Load())))
        args = fn.args
        dots = [gast.Name(id=self.dot(p), ctx=gast.Param(), annotation=None, type_comment=None)
                for p in self.wrt]
        new_args = gast.arguments(args=list(args.args) + list(args.kwonlyargs) + dots,
                                  posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                                  kwarg=None, defaults=[])   # callers pass every parameter
        return gast.FunctionDef(name=fn.name + "_jvp", args=new_args, body=body,
                                decorator_list=[], returns=None, type_comment=None)

    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            if isinstance(target, gast.Name):
                if target.id not in self.active:
                    return [s]
                return self.assign(s, target.id, s.value)
            return self.setitem(s, target)
        if isinstance(s, gast.Expr):
            call = s.value
            if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
                    and call.func.attr == "append":     # as reverse mode: a list that no
                if not self.is_active(call.func.value):  # output reads needs no tangent
                    return [s]
                item = call.args[0]
                tan = self.tangent_of(item) or rt_call(self.env, "zero_tangent", item)
                name = call.func.value.id
                made = []
                if name in self.broadcast:      # its tangent may be a zero 0.0 so far
                    made = [_assign(self.dot(name), rt_call(self.env, "list_tangent",
                                                            _load(self.dot(name)), _load(name)))]
                return made + [s, gast.Expr(value=gast.Call(
                    func=gast.Attribute(value=_load(self.dot(call.func.value.id)), attr="append",
                                        ctx=gast.Load()), args=[tan], keywords=[]))]
            check_discarded_call(s, self.env, lambda a: isinstance(a, gast.Name)
                                 and a.id in self.varied, self.filename)
            return [s]
        if isinstance(s, gast.If):
            s.body = self.block(s.body) or [gast.Pass()]
            s.orelse = self.block(s.orelse)
            return [s]
        if isinstance(s, (gast.For, gast.While)):
            self.loops += 1
            s.body = self.block(s.body) or [gast.Pass()]
            self.loops -= 1
            return [s]
        return [s]

    def own(self, name, expr):
        if name in self.owned:
            return rt_call(self.env, "own", expr)
        return expr

    def assign(self, s, name, value):
        self.refusals.check(s)
        primal, tan = [s], None
        self.result_broadcast = False
        if isinstance(value, gast.Name):
            if self.loops == 0 and value.id in self.broadcast:
                tan = self.raw_tangent_of(value)
                self.result_broadcast = True
            else:
                tan = self.tangent_of(value)
        elif isinstance(value, gast.BinOp):
            call = gast.Call(func=None, args=[value.left, value.right], keywords=[])
            primal = sequence_guard(self.env, s, self.numeric, self.shapes, self.filename) \
                + primal
            tan = self.rule(BINOPS.get(type(value.op)), call, _load(name), s, primal)
        elif isinstance(value, gast.UnaryOp):
            call = gast.Call(func=None, args=[value.operand], keywords=[])
            tan = self.rule(UNARYOPS.get(type(value.op)), call, _load(name), s, primal)
        elif isinstance(value, gast.Call):
            primal, tan = self.call(s, name, value)
        elif isinstance(value, gast.Subscript):
            base = self.tangent_of(value.value)
            if base is not None:
                tan = rt_call(self.env, "tangent_item", base, value.value, index_value(value.slice),
                              _const(self.vector))
        elif isinstance(value, gast.Attribute):
            base = self.tangent_of(value.value)
            if base is not None:
                tan = rt_call(self.env, "tangent_attr", base, value.value, _const(value.attr))
        elif isinstance(value, (gast.Tuple, gast.List)):
            self.sequences.add(name)
            elts = [self.tangent_of(e) or rt_call(self.env, "zero_tangent", e)
                    for e in value.elts]
            tan = type(value)(elts=elts, ctx=gast.Load())
        elif isinstance(value, gast.Dict):
            tan = gast.Dict(keys=value.keys, values=[
                self.tangent_of(e) or rt_call(self.env, "zero_tangent", e) for e in value.values])
        out = list(primal)
        out.append(_assign(self.dot(name), self.own(name, tan if tan is not None else _const(0.0))))
        if self.result_broadcast or tan is None:    # a zero tangent is a broadcasting 0.0
            self.broadcast.add(name)
        return [gast.copy_location(o, s) for o in out]

    def rule(self, target, call, y, s, primal):
        rule = registry.op(target).forward
        shape = lambda atom: self.shapes.get(atom.id)
        rule = variants.pick(target, call, self.env, self.where(s), shape, True) or rule
        name = getattr(target, "__name__", repr(target))
        if rule is None:
            raise TransformError(f"no forward-mode rule for `{name}`", **self.where(s),
                                 hint=f"register one with @srcad.tangent({name})")
        if self.vector and not rule.vector:
            raise TransformError(f"the forward rule for `{name}` does not support vector mode",
                                 **self.where(s))
        exp = template.expand(rule, call, [y], self.env, self.namer, self.where(s))
        if self.vector and getattr(target, "__module__", None) not in _ITEMWISE \
                and any(isinstance(a, gast.Name) and a.id in self.sequences
                        and self.tangent_of(a) is not None
                        for a in call.args + [k.value for k in call.keywords]) \
                and not rule.sequences:
            # its tangent is a sequence of (directions, ...) arrays: read as one array it
            # would have the items' axis before the directions'. Python's own functions
            # (sum, max) take the items one by one, and the rules written for sequences
            # (stack, concatenate, array: registered with sequences=True) take it;
            # `jacobian` pushes one direction at a time through the others
            raise TransformError(f"in vector mode, `{name}` of a tuple or list of varied "
                                 f"values is not supported", **self.where(s))
        refusal.uncovered_error(exp, self.is_active, target, self.where(s))
        if not self.vector:
            drop = _DropVectorHelpers(self, keep_broadcast=self.loops > 0)
            exp.terms = [(a, drop.visit(t)) for a, t in exp.terms]
            self.result_broadcast |= drop.dropped_broadcast
        terms = []
        for atom, lam in exp.terms:
            tan = self.raw_tangent_of(atom)
            if tan is None:
                continue
            if not isinstance(lam, gast.Lambda):
                raise TransformError(f"the forward rule for `{name}` must return lambdas",
                                     **self.where(s))
            param = lam.args.args[0].id
            if atom.id in self.broadcast:
                if self.loops == 0 and self._elementwise(lam.body):
                    # a factor with the result's full shape makes the term full again
                    self.result_broadcast |= not self._has_full_factor(lam.body, y)
                else:
                    tan = self.tangent_of(atom)
            terms.append(template._Subst({param: tan}).visit(template.clone(lam.body)))
        if not terms:
            return None
        primal.extend(exp.prelude)
        total = terms[0]
        # srcad's own cotangent helpers may carry dicts, and a rule whose terms are list or
        # tuple literals gives lists (`+` would join them into one longer list): add_cot
        structured = getattr(target, "__module__", None) in registry.RUNTIME_MODULES \
            or any(isinstance(t, (gast.List, gast.Tuple)) for t in terms)
        for t in terms[1:]:
            total = (rt_call(self.env, "add_cot", total, t) if structured
                     else gast.BinOp(left=total, op=gast.Add(), right=t))
        return total

    def _has_full_factor(self, node, y):
        shape = self.shapes.get(y.id) if isinstance(y, gast.Name) else None
        if shape is None or shape[0] != "array":
            return False
        factors, stack = [], [node]
        while stack:
            n = stack.pop()
            if isinstance(n, gast.BinOp) and isinstance(n.op, (gast.Mult, gast.Div)):
                stack += [n.left, n.right]
            else:
                factors.append(n)
        return any(self._full_shaped(f, shape) for f in factors)

    def _full_shaped(self, node, shape):
        if isinstance(node, gast.Name):
            return self.shapes.get(node.id) == shape
        if isinstance(node, gast.Call):
            fn = resolve(node.func, self.env.namespace)
            return fn is not MISSING and registry.is_elementwise(fn) and any(
                self._full_shaped(a, shape) for a in node.args)
        return False

    def _elementwise(self, node):
        """Only elementwise arithmetic (so a broadcasting operand is harmless)?"""
        if isinstance(node, (gast.Name, gast.Constant)):
            return True
        if isinstance(node, gast.BinOp):
            return not isinstance(node.op, gast.MatMult) and self._elementwise(node.left) \
                and self._elementwise(node.right)
        if isinstance(node, gast.UnaryOp):
            return self._elementwise(node.operand)
        if isinstance(node, gast.Call) and not node.keywords:
            fn = resolve(node.func, self.env.namespace)
            return fn is not MISSING and registry.is_elementwise(fn) \
                and all(self._elementwise(a) for a in node.args)
        return False

    def call(self, s, name, call):
        fn = resolve(call.func, self.env.namespace)
        kind = classify(fn) if fn is not MISSING else "unknown"
        self.env.callees.append(fn)
        if kind in ("nondiff", "stop_gradient"):
            return [s], None
        if kind in ("rule", "vjp") and registry.op(fn).forward is not None \
                and fn not in registry.CUSTOM_FORWARD:     # (a forward-only rule counts too)
            primal = [s]
            return primal, self.rule(fn, call, _load(name), s, primal)
        if kind in ("hook", "showgrad"):
            x = call.args[1] if kind == "hook" else call.args[0]
            return [_assign(name, x)], self.tangent_of(x)
        if kind == "construct":
            import inspect
            classes.check_construct(fn, self.where(s))
            bound = inspect.signature(fn).bind(*call.args,
                                               **{k.arg: k.value for k in call.keywords})
            fields = gast.Dict(keys=[_const(k) for k in bound.arguments],
                               values=[self.tangent_of(v) or _const(0.0)
                                       for v in bound.arguments.values()])
            return [s], rt_call(self.env, "tangent_construct", _load(name), fields)
        args = list(call.args)
        if kind == "checkpoint":
            func, args = args[0], args[1:]
            fn = resolve(func, self.env.namespace)
            kind = classify(fn)
        else:
            func = call.func
        if fn is not MISSING and fn in registry.CUSTOM_FORWARD:
            if self.vector:
                raise _no_vector_rule(fn, self.where(s))
            if call.keywords:       # the rule takes (args, tangents): keywords by position
                import inspect
                try:
                    bound = inspect.signature(fn).bind(
                        *args, **{k.arg: k.value for k in call.keywords})
                except (TypeError, ValueError) as exc:
                    raise TransformError(f"cannot bind the arguments of `{fn.__name__}`: {exc}",
                                         **self.where(s)) from None
                if bound.kwargs:
                    raise TransformError(f"`{fn.__name__}` has a forward rule, which takes its "
                                         "arguments by position; keyword-only arguments "
                                         "cannot be passed to it", **self.where(s))
                args = list(bound.args)
            rule = _load(self.env.bind(fn.__name__ + "_tangent", registry.CUSTOM_FORWARD[fn]))
            tans = gast.Tuple(elts=[self.tangent_of(a) or rt_call(self.env, "zero_tangent", a)
                                    for a in args], ctx=gast.Load())
            value = gast.Call(func=rule, args=[gast.Tuple(elts=args, ctx=gast.Load()), tans],
                              keywords=[])
        elif kind in ("vjp", "custom"):
            if self.vector:
                raise TransformError(f"`{fn.__name__}` is differentiated through its own "
                                     "forward pass, which has no vector mode", **self.where(s),
                                     hint="jacobian falls back to one forward pass per column")
            if kind == "custom":
                raise TransformError(f"`{fn.__name__}` has a reverse rule (@srcad.adjoint) but no "
                                     "forward rule", **self.where(s),
                                     hint=f"register one with @srcad.tangent({fn.__name__})")
            args = template.full_arguments(fn, args, call.keywords, self.env, self.where(s))
            tans = gast.Tuple(elts=[self.tangent_of(a) or _const(None) for a in args],
                              ctx=gast.Load())
            value = rt_call(self.env, "jvp_call", func, gast.Tuple(elts=args, ctx=gast.Load()),
                            tans)
        else:
            if type(getattr(fn, "__self__", None)).__name__ == "ufunc":
                raise refusal.ufunc_method_error(fn.__self__, fn, self.where(s))
            what = getattr(fn, "__qualname__", None) or repr(fn)
            raise TransformError(f"no derivative rule for `{what}` and its source is not "
                                 "available", **self.where(s),
                                 hint=f"register rules with @srcad.tangent({what}) and "
                                      f"@srcad.adjoint({what})")
        tmp = self.namer.fresh(name + "_tan")
        primal = [gast.Assign(targets=[gast.Tuple(elts=[_store(name), _store(tmp)],
                                                  ctx=gast.Store())],
                              value=value, type_comment=None)]
        return primal, _load(tmp)

    def setitem(self, s, target):
        base = target.value
        if not self.is_active(base):
            return [s]
        self.refusals.check(s)
        tan = self.tangent_of(s.value) or _const(0.0)
        args = [_load(self.dot(base.id)), base, index_value(target.slice), tan, _const(self.vector)]
        if self.vector:         # the value tells the tangent's leading axis of directions
            args.append(s.value)
        upd = _assign(self.dot(base.id), rt_call(self.env, "tangent_setitem", *args))
        return [s, gast.copy_location(upd, s)]


class _DropVectorHelpers(gast.NodeTransformer):
    """Outside vector mode ``lift_tangent(d, x, y)`` is ``d``, and so is
    ``broadcast_tangent(d, x, y)`` when ``x`` and ``y`` surely have one shape."""

    def __init__(self, fwd, keep_broadcast=True):
        self.fwd = fwd
        self.keep_broadcast = keep_broadcast
        self.dropped_broadcast = False

    def visit_Call(self, node):
        self.generic_visit(node)
        fn = resolve(node.func, self.fwd.env.namespace)
        try:
            kind = registry.op(fn).vector
        except TypeError:
            return node
        if kind == "lift":
            return node.args[0]
        if kind == "axis":
            return node.args[0]
        if kind == "broadcast" and len(node.args) == 3:
            a, b = (self.fwd.shapes.get(n.id) if isinstance(n, gast.Name) else None
                    for n in node.args[1:])
            if a is not None and a == b:
                return node.args[0]
            if not self.keep_broadcast:
                self.dropped_broadcast = True     # the result tangent may broadcast
                return node.args[0]
        return node


def _no_vector_rule(fn, where):
    """A user's forward rule takes one tangent per argument: given the tangents of k
    directions at once it would contract or broadcast over the wrong axis."""
    return TransformError(f"the forward rule of `{fn.__name__}` (@srcad.tangent) takes one "
                          "tangent per argument, so it has no vector mode", **where,
                          hint="jacobian falls back to one forward pass per column")

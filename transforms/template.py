"""Inline a rule template at a call site.

Before (the rule, in ``transforms/rules``)::

    @reverse(np.exp)
    def exp(y, g, x):
        return (g * y,)

and the call ``t2 = np.exp(t1)`` whose cotangent is ``t2_bar``.

After: ``Expansion(prelude=[], terms=[(t1, <t2_bar * t2>)])`` -- the machinery
accumulates each term into the operand's cotangent.
"""
import ast
import builtins
import inspect
import textwrap
from dataclasses import dataclass

import gast

from srcad.errors import InternalError, TransformError
from srcad.transforms.blocks import clone, walk
from srcad.transforms.exits import _const, _load


@dataclass
class Expansion:
    prelude: list        # statements computing template temporaries
    terms: list          # (operand atom, expression or Lambda) per primal parameter;
                         # None entries dropped
    uncovered: list = ()  # ``*operands`` past the rule's last entry (no derivative at all)


_PARSED = {}


def _template_tree(fn):
    tree = _PARSED.get(fn)
    if tree is None:
        src = getattr(fn, "__srcad_source__", None) or textwrap.dedent(inspect.getsource(fn))
        node = ast.parse(src).body[0]
        node.decorator_list = []
        tree = gast.ast_to_gast(node)
        _PARSED[fn] = tree
    return tree


class _Subst(gast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping and isinstance(node.ctx, gast.Load):
            return clone(self.mapping[node.id])
        if node.id in self.mapping and isinstance(node.ctx, gast.Store):
            repl = self.mapping[node.id]
            return gast.Name(id=repl.id, ctx=node.ctx, annotation=None, type_comment=None)
        return node

    def visit_Lambda(self, node):
        inner = {a.id for a in node.args.args}
        saved = self.mapping
        self.mapping = {k: v for k, v in saved.items() if k not in inner}
        node.body = self.visit(node.body)
        self.mapping = saved
        return node


class _Fold(gast.NodeTransformer):
    """Arithmetic of two numbers written out (``4 * 1.0`` -> ``4.0``, ``4 - 1`` -> ``3``):
    a variant's constant argument, substituted into its template, reads as a number."""
    _OPS = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b,
            gast.Mult: lambda a, b: a * b}

    def visit_BinOp(self, node):
        self.generic_visit(node)
        a, b, op = node.left, node.right, self._OPS.get(type(node.op))
        if op is not None and all(isinstance(c, gast.Constant) and type(c.value) in (int, float)
                                  for c in (a, b)):
            return gast.copy_location(gast.Constant(value=op(a.value, b.value), kind=None), node)
        return node



def constant_node(value, env, hint):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return _const(value)
    if isinstance(value, tuple) and all(isinstance(v, (int, float, bool)) or v is None
                                        for v in value):
        return gast.Tuple(elts=[_const(v) for v in value], ctx=gast.Load())
    return _load(env.bind(hint, value))


_STATIC = {}


class _Static:
    """What ``expand`` reads of a template that does not depend on the call, worked out once
    per template: its parameters, the names its body binds, the names its lambdas take,
    and its free names (globals and builtins) in order of first use."""

    def __init__(self, template):
        tree = _template_tree(template)
        self.signature = inspect.signature(template)
        self.params = [a.id for a in tree.args.args] + (
            [tree.args.vararg.id] if tree.args.vararg else []) + \
            [a.id for a in tree.args.kwonlyargs]
        body = tree.body
        if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant):
            body = body[1:]
        self.locals = {node.id for stmt in body[:-1] for node in walk(stmt)
                       if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store)}
        self.lambda_params = {a.id for node in walk(tree) if isinstance(node, gast.Lambda)
                              for a in node.args.args}
        bound = set(self.params) | self.locals | self.lambda_params
        self.free = list(dict.fromkeys(
            node.id for stmt in body for node in walk(stmt)
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load)
            and node.id not in bound))


def _static(template):
    info = _STATIC.get(template)
    if info is None:
        info = _STATIC[template] = _Static(template)
    return info


def bind_call(target, template, leading, call, env, where):
    """Map template parameter names to the call's atoms (defaults filled in)."""
    sig = _static(template).signature
    params = list(sig.parameters.values())[leading:]
    sig = sig.replace(parameters=params)
    try:
        bound = sig.bind(*call.args, **{k.arg: k.value for k in call.keywords})
    except TypeError as exc:
        raise TransformError(f"cannot bind the call to `{getattr(target, '__name__', target)}`"
                             f" to its rule: {exc}", **where) from None
    mapping = {}
    for p in params:
        if p.name in bound.arguments:
            value = bound.arguments[p.name]
            if p.kind is p.VAR_POSITIONAL:
                value = gast.Tuple(elts=list(value), ctx=gast.Load())
            elif p.kind is p.VAR_KEYWORD:
                raise TransformError("rules cannot take **kwargs", **where)
            mapping[p.name] = value
        elif p.default is not p.empty:
            mapping[p.name] = constant_node(p.default, env, p.name)
        elif p.kind is p.VAR_POSITIONAL:
            mapping[p.name] = gast.Tuple(elts=[], ctx=gast.Load())
    return [p.name for p in params], mapping


def full_arguments(fn, args, keywords, env, where):
    """Every parameter of the user function ``fn``, in order, as atoms: the call's
    positional and keyword arguments, defaults (as constants) for the rest. A
    helper's own generated derivative takes all its parameters by position."""
    try:
        sig = inspect.signature(fn)
        bound = sig.bind(*args, **{k.arg: k.value for k in keywords})
    except (TypeError, ValueError) as exc:
        raise TransformError(f"cannot bind the call to `{getattr(fn, '__name__', fn)}`: {exc}",
                             **where) from None
    out = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            return list(bound.args)      # refused later, by the helper's own transformation
        if p.name in bound.arguments:
            out.append(bound.arguments[p.name])
        else:
            out.append(constant_node(p.default, env, p.name))
    return out


def expand(rule, call, lead_values, env, namer, where):
    """Inline ``rule`` for ``call``; ``lead_values`` are the atoms of (y, g) or (y,)."""
    template = rule.template
    tree = _template_tree(template)
    static = _static(template)
    all_params = static.params
    leading = len(lead_values)
    names, mapping = bind_call(rule.target, template, leading, call, env, where)
    for pname, value in zip(all_params[:leading], lead_values, strict=True):
        mapping[pname] = value
    body = [clone(s) for s in tree.body]
    if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant):
        body = body[1:]
    if not body or not isinstance(body[-1], gast.Return):
        raise InternalError("template", f"rule for {rule.target!r} must end with a return")
    local_names = static.locals
    rebound = local_names & set(all_params)
    if rebound:     # the renaming below would cut the parameter from its operand: a lost term
        raise InternalError("template", f"rule {template.__qualname__} assigns to its "
                            f"parameter(s) {sorted(rebound)}: use a name of its own")
    for name in local_names:
        mapping[name] = _load(namer.fresh(name))
    # free names of the template (np, helpers) are bound into the namespace
    module_globals = template.__globals__
    for name in static.free:
        if name in mapping:
            continue
        obj = module_globals.get(name, getattr(builtins, name, None))
        if obj is None:
            raise InternalError("template", f"unknown name {name} in rule "
                                f"{template.__qualname__}")
        home = (obj.__module__, obj.__qualname__) if inspect.isfunction(obj) \
            else (template.__module__, name)     # a kernel: from its own module
        mapping[name] = _load(env.bind(name, obj, home))
    subst = _Subst(mapping)
    body = [_Fold().visit(subst.visit(s)) for s in body]
    ret = body[-1].value
    entries = ret.elts if isinstance(ret, gast.Tuple) else [ret]
    first = list(static.signature.parameters.values())[leading:][:1]
    uncovered = []
    if first and first[0].kind is first[0].VAR_POSITIONAL:
        # ``def rule(y, g, *operands)``: entry k belongs to the call's k-th positional
        # argument (entries past the call's arguments are not used; arguments past the
        # entries have no derivative at all)
        operands = list(call.args)
        uncovered = operands[len(entries):]
    else:
        operands = [mapping[n] for n in names]
    terms = []
    for k, expr in enumerate(entries):
        if k >= len(operands):
            break
        if isinstance(expr, gast.Constant) and expr.value is None:
            continue
        terms.append((operands[k], expr))
    return Expansion(body[:-1], terms, uncovered)

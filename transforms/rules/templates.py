"""Rules of the common shapes in one line each: the templates are written out from a formula.

    scalar_rule(np.tanh, math.tanh, partial="1.0 - y * y")

registers, for NumPy's ``tanh`` and ``math``'s, the reverse and the forward template::

    def tanh_bar(y, g, x):              def tanh_dot(y, x):
        return (g * (1.0 - y * y),)         return (lambda dx: dx * (1.0 - y * y),)

``partial`` is the derivative of a unary elementwise function, an expression of its
argument ``x`` and result ``y``. A function or constant named bare (``cos(x)``, ``pi``)
is NumPy's (``np.cos``) in the NumPy templates and ``math``'s in the ``math`` ones (a
name that ``math`` lacks stays bare: a kernel the calling rule module imports, such as
``math_sign``). A leading minus goes onto the cotangent (``-g * np.sin(x)``); a partial
``1.0 / D`` divides (``g / D``). In the ``math`` templates a division by a value that
depends on ``x`` or ``y`` is a multiplication by ``math_recip(D)``: the derivative is
``inf`` where ``D`` is 0, as in NumPy, never a ZeroDivisionError.

    linear(operator.neg, np.negative, apply="-d", params="a, out=None")

registers a linear elementwise function that is its own transpose: ``apply`` applied to
the cotangent (reverse) and to the tangent (forward). ``piecewise_constant`` is in the
registry (``rules/piecewise.py`` is its one list).

The templates are plain functions whose source is registered with ``linecache``, so
they read, inline and test like the hand-written ones; they live in the namespace of
the rule module that made them (its ``np``, ``math`` and kernels). They are written out
when a rule is first used, not when srcad is imported.
"""
import ast
import functools
import linecache
import math
import sys

import numpy as np

from srcad.transforms.blocks import walk
from srcad.transforms.rules.registry import mark_linear, scalar_result, shape, written

_NAMESPACES = {"np": np, "math": math}


def _qualify(tree, ns):
    """Bare names other than the operands become ``ns.name`` when ``ns`` has them."""
    module = _NAMESPACES[ns]

    class Qualify(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in ("x", "y", "d") or not hasattr(module, node.id):
                return node
            return ast.copy_location(ast.Attribute(value=ast.Name(id=ns, ctx=ast.Load()),
                                                   attr=node.id, ctx=ast.Load()), node)
    return Qualify().visit(tree)


def _depends(node):
    return any(isinstance(n, ast.Name) and n.id in ("x", "y") for n in walk(node))


class _Reciprocals(ast.NodeTransformer):
    """``a / D`` -> ``a * math_recip(D)`` when ``D`` depends on the operands."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.Div) or not _depends(node.right):
            return node
        recip = ast.Call(func=ast.Name(id="math_recip", ctx=ast.Load()), args=[node.right],
                         keywords=[])
        if isinstance(node.left, ast.Constant) and node.left.value == 1.0:
            return recip
        return ast.BinOp(left=node.left, op=ast.Mult(), right=recip)


def _sign(tree):
    """("-", the rest) when the product or quotient starts with a minus, else ("", tree)."""
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
        return "-", tree.operand
    if isinstance(tree, ast.BinOp) and isinstance(tree.op, (ast.Mult, ast.Div)):
        sign, left = _sign(tree.left)
        return sign, ast.BinOp(left=left, op=tree.op, right=tree.right)
    return "", tree


def _terms(partial, ns):
    """(reverse expression of ``g``, forward expression of ``dx``) for ``partial``."""
    tree = _qualify(ast.parse(partial, mode="eval").body, ns)
    sign, tree = _sign(tree)
    if ns == "math":
        tree = _Reciprocals().visit(tree)
    op = "*"
    if isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Div) \
            and isinstance(tree.left, ast.Constant) and tree.left.value == 1.0:
        op, tree = "/", tree.right
    text = ast.unparse(tree)
    text = text if isinstance(tree, (ast.Name, ast.Call, ast.Attribute)) else f"({text})"
    return f"{sign}g {op} {text}", f"{sign}dx {op} {text}"


def _define(name, source, scope):
    """The function ``name`` of ``source``, in the namespace ``scope`` (a rule module's)."""
    filename = f"<rule {scope['__name__']}.{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    made = {}
    exec(compile(source, filename, "exec"), scope, made)      # globals: the rule module's
    fn = made[name]
    fn.__srcad_source__ = source
    return fn


def _name(targets, prefix=""):
    return prefix + getattr(targets[0], "__name__", "op")


def _both(targets, params, terms, name, scope):
    """Register the two templates of ``targets``, written when first used: ``terms()`` gives
    the reverse and forward expressions (importing srcad writes none of them)."""
    terms = functools.cache(terms)

    @functools.cache
    def bar():
        text = f"def {name}_bar(y, g, {params}):\n    return ({terms()[0]},)\n"
        return _define(f"{name}_bar", text, scope)

    @functools.cache
    def dot():
        text = f"def {name}_dot(y, {params}):\n    return (lambda dx: {terms()[1]},)\n"
        return _define(f"{name}_dot", text, scope)
    written(targets, bar, dot)


def _targets(fns):
    if fns is None:
        return ()
    return tuple(fns) if isinstance(fns, (tuple, list)) else (fns,)


def scalar_rule(np_fns, math_fns, partial):
    """Both modes of a unary elementwise function (and its ``math`` twin) from its
    derivative ``partial``; either side may be None or a tuple of aliases."""
    scope = sys._getframe(1).f_globals         # the calling rule module
    for fns, ns, prefix in ((np_fns, "np", ""), (math_fns, "math", "math_")):
        targets = _targets(fns)
        if not targets:
            continue
        _both(targets, "x", functools.partial(_terms, partial, ns), _name(targets, prefix), scope)
        if ns == "math":
            shape(scalar_result, *targets)


def linear(*targets, apply, params="x"):
    """A linear elementwise function that is its own transpose; ``apply`` is an
    expression of ``d`` (the cotangent or the tangent)."""
    scope = sys._getframe(1).f_globals
    on = lambda v: ast.unparse(_Rename(v).visit(ast.parse(apply, mode="eval").body))
    _both(targets, params, lambda: (on("g"), on("dx")), _name(targets), scope)
    mark_linear(*targets)


class _Rename(ast.NodeTransformer):
    def __init__(self, to):
        self.to = to

    def visit_Name(self, node):
        return ast.Name(id=self.to, ctx=node.ctx) if node.id == "d" else node


def gather(target, params, operands=1, index=None):
    """Both modes of ``target``, which moves, repeats, cuts or drops entries of its first
    ``operands`` parameters (or of the parameters named by the tuple ``operands``):
    ``index`` is the expression of where each entry of the result comes from, by default
    ``target`` called on the entry numbers of its operands (``gather_index``) and on its
    other parameters. The other parameters get no derivative (refused if they carry one)::

        gather(np.roll, "a, shift, axis=None")

        def roll_bar(y, g, a, shift, axis=None):
            moved = np.roll(gather_index(a, 0), shift, axis=axis)
            return (gather_back(g, moved, a, 0), not_differentiated("the argument shift ..."), ...)

        def roll_dot(y, a, shift, axis=None):
            moved = np.roll(gather_index(a, 0), shift, axis=axis)
            return (lambda d0: gather_tangent(d0, moved, a, 0), lambda d1: not_differentiated(...))
    """
    scope = sys._getframe(1).f_globals
    spec = ast.parse(f"def f({params}): pass").body[0].args
    names = _names(params)
    ops = names[:operands] if isinstance(operands, int) else list(operands)
    starts = dict(zip(ops, ["0"] + [" + ".join(f"np.size({o})" for o in ops[:k])
                                    for k in range(1, len(ops))], strict=True))
    name = target.__name__
    if index is None:
        keyed = {a.arg for a in spec.args[len(spec.args) - len(spec.defaults):] + spec.kwonlyargs}
        passed = [f"gather_index({n}, {starts[n]})" if n in ops else f"{n}={n}" if n in keyed
                  else n for n in names]
        index = f"np.{name}({', '.join(passed)})"
    refused = _refused(target, names)
    back = ", ".join(f"gather_back(g, moved, {n}, {starts[n]})" if n in ops else refused[n]
                     for n in names)
    ahead = ", ".join(f"lambda d{k}: " + (f"gather_tangent(d{k}, moved, {n}, {starts[n]})"
                                          if n in ops else refused[n])
                      for k, n in enumerate(names))
    _sources(target, scope, f"(y, g, {params}):\n    moved = {index}\n    return ({back},)\n",
             f"(y, {params}):\n    moved = {index}\n    return ({ahead},)\n")


def binary_rule(target, da, db):
    """Both modes of a broadcasting function of two arguments ``a``, ``b`` from its partials
    (expressions of ``a``, ``b`` and the result ``y``; NumPy names spelled ``np.``)::

        binary_rule(np.logaddexp, "np.exp(a - y)", "np.exp(b - y)")

        def logaddexp_bar(y, g, a, b):
            return (unbroadcast(g * (np.exp(a - y)), a), unbroadcast(g * (np.exp(b - y)), b))

        def logaddexp_dot(y, a, b):
            return (lambda d0: lift_tangent(d0, a, y) * (np.exp(a - y)),
                    lambda d1: lift_tangent(d1, b, y) * (np.exp(b - y)))
    """
    _sources(target, sys._getframe(1).f_globals,
             f"(y, g, a, b):\n    return (unbroadcast(g * ({da}), a), "
             f"unbroadcast(g * ({db}), b))\n",
             f"(y, a, b):\n    return (lambda d0: lift_tangent(d0, a, y) * ({da}), "
             f"lambda d1: lift_tangent(d1, b, y) * ({db}))\n")


def _sources(target, scope, bar, dot):
    """Register ``target``'s templates ``def <name>_bar<bar>`` and ``def <name>_dot<dot>``
    (each source after the name), written when first used."""
    name = target.__name__
    written([target],
            functools.cache(lambda: _define(f"{name}_bar", f"def {name}_bar{bar}", scope)),
            functools.cache(lambda: _define(f"{name}_dot", f"def {name}_dot{dot}", scope)))


def weighted_reduction(target, params, weights, over="a", keep="keepdims"):
    """Both modes of a reduction of ``over`` (along ``axis``) that weighs its entries by the
    piecewise-constant ``weights`` (an expression, broadcasting against ``over``); the
    other parameters get no derivative (refused if they carry one)::

        weighted_reduction(np.ptp, "a, axis=None, out=None, keepdims=False",
                           "stat_weights(a, axis, 'ptp')")

    is ``reduce_expand(g, a, axis, keepdims) * stat_weights(a, axis, 'ptp')`` in reverse mode, the
    weighted sum of the tangent along the same axes in forward mode."""
    names = _names(params)
    refused = _refused(target, names)
    back = ", ".join(f"reduce_expand(g, {over}, axis, {keep}) * {weights}" if n == over
                     else refused[n] for n in names)
    ahead = ", ".join(f"lambda d{k}: np.sum(d{k} * w, axis=reduce_tangent_axis(axis, d{k}, "
                      f"{over}), keepdims={keep})" if n == over else f"lambda d{k}: {refused[n]}"
                      for k, n in enumerate(names))
    _sources(target, sys._getframe(1).f_globals, f"(y, g, {params}):\n    return ({back},)\n",
             f"(y, {params}):\n    w = {weights}\n    return ({ahead},)\n")


def _names(params):
    spec = ast.parse(f"def f({params}): pass").body[0].args
    return [a.arg for a in spec.args + spec.kwonlyargs]


def _refused(target, names):
    """The contribution of each parameter that the rule does not differentiate: refused when
    it carries a derivative (``not_differentiated``, in the rule module's namespace)."""
    return {n: f"not_differentiated(\"the argument {n} of np.{target.__name__}\")"
            for n in names}

"""Cotangents that stay unexpanded: a whole-array ``sum``'s cotangent kept as a scalar.

Before (reverse of ``p = np.sum(t)`` with ``t = np.exp(u)``)::

    t_bar = reduce_expand(p_bar, t, None, False)     # an n-sized copy of p_bar
    u_bar = t_bar * t

After::

    u_bar = p_bar * t                                # the scalar broadcasts

A name's cotangent may stay a value that merely broadcasts to its shape when
every adjoint that reads it multiplies it by an array of the full shape, or
passes it on unchanged in shape to an operand for which the same holds (or to
a ``wrt`` argument, which ``finalize`` broadcasts), and nothing indexes it
(``x[i]`` read or written needs ``x_bar`` of ``x``'s shape). ``BroadcastCotangents`` is
the part of the reverse pass that decides this; ``KnownUnbroadcast`` removes
``unbroadcast(g, x)`` where the result and ``x`` surely share a shape, and writes the
sum over the broadcast axes where the shapes pass knows them (``np.sum(t_bar, axis=0)``).
"""

import gast

from srcad.transforms import buffers, exits, template
from srcad.transforms.blocks import clone
from srcad.transforms.exits import _load
from srcad.transforms.kinds import BINOPS, UNARYOPS, classify
from srcad.transforms.parse import resolve
from srcad.transforms.rules import registry
from srcad.transforms.shapes import same, summed_axes


class BroadcastCotangents:
    """Mixed into the reverse pass (uses its ``shape``, ``defs``, ``env``, ``namer``...)."""

    def broadcast_ok(self, atom, depth):
        """May ``atom``'s cotangent be a value that merely broadcasts to its shape?

        Yes when every adjoint that reads it either multiplies it by an array of
        the full shape, or passes it on, unchanged in shape, to an operand of the
        same shape for which the same holds (or to a ``wrt`` argument).
        """
        shape = self.shape(atom)            # may be unknown (None)
        if depth > 8 or not isinstance(atom, gast.Name):
            return False
        name = atom.id
        if name in self.indexed:
            return False
        if name in self.params:
            return name in self.wrt and self.param_kinds.get(name) == "array"
        stmt = self.defs.get(name)
        if stmt is None:
            return False
        value = stmt.value
        if isinstance(value, gast.Name):
            return self.broadcast_ok(value, depth + 1)
        if isinstance(value, gast.BinOp):
            target, args = BINOPS.get(type(value.op)), [value.left, value.right]
        elif isinstance(value, gast.UnaryOp):
            target, args = UNARYOPS.get(type(value.op)), [value.operand]
        elif isinstance(value, gast.Call) and not value.keywords:
            target, args = resolve(value.func, self.env.namespace), list(value.args)
            if classify(target) != "rule":
                return False
        else:
            return False
        rule = registry.op(target).reverse
        if rule is None:
            return False
        call = gast.Call(func=None, args=args, keywords=[])
        probe = template.expand(rule, call, [atom, _load("srcad_probe_g")], self.env,
                                exits.Namer(self.namer.taken), self.where(stmt))
        known = KnownUnbroadcast(self.env, self.shape, shape)
        elementwise = isinstance(value, (gast.BinOp, gast.UnaryOp)) and not isinstance(
            getattr(value, "op", None), gast.MatMult) or (
            isinstance(value, gast.Call) and registry.is_elementwise(target))
        for operand, expr in probe.terms:
            if not self.is_active(operand):
                continue
            if probe.prelude:
                return False
            expr = known.visit(expr)
            others_scalar = all(self.shape(a) == ("scalar",) for a in args if a is not operand)
            # two unknown shapes (None) are not the same shape: x[1:] + y[1:, 1:]
            same_shape = (shape is not None and same(self.shape(operand), shape)) \
                or (elementwise and others_scalar)
            if self._full(expr, shape):
                continue
            if same_shape and self._full_of(expr, operand):
                continue
            if same_shape and _linear_in(_strip_unbroadcast(expr, operand, self.env),
                                         "srcad_probe_g", self.shape) \
                    and self.broadcast_ok(operand, depth + 1):
                continue
            return False
        return True

    def _full_of(self, expr, operand):
        """Does ``expr`` (maybe inside ``unbroadcast(., operand)``) have a factor that is
        ``operand`` itself, or elementwise in it?"""
        expr = _strip_unbroadcast(expr, operand, self.env)
        for factor in _factors(expr):
            if self._elementwise_of(factor, operand.id):
                return True
        return False

    def _elementwise_of(self, node, name):
        if isinstance(node, gast.Name):
            return node.id == name
        if isinstance(node, gast.BinOp) and not isinstance(node.op, gast.MatMult):
            return (self._elementwise_of(node.left, name) and self._plain(node.right)) or \
                (self._elementwise_of(node.right, name) and self._plain(node.left))
        if isinstance(node, gast.UnaryOp):
            return self._elementwise_of(node.operand, name)
        if isinstance(node, gast.Call):
            fn = resolve(node.func, self.env.namespace)
            if registry.is_elementwise(fn):
                return any(self._elementwise_of(a, name) for a in node.args) and all(
                    self._elementwise_of(a, name) or self._plain(a) for a in node.args)
        return False

    def _full(self, expr, shape):
        """Is ``expr`` a product with a factor that has the full ``shape``?"""
        if shape is None or shape[0] != "array":
            return False
        for factor in _factors(expr):
            if self._array_factor(factor, shape):
                return True
        return False

    def _array_factor(self, node, shape):
        if isinstance(node, gast.Name):
            return same(self.shape(node), shape)
        if isinstance(node, gast.BinOp) and not isinstance(node.op, gast.MatMult):
            return (self._array_factor(node.left, shape) and self._plain(node.right)) or \
                (self._array_factor(node.right, shape) and self._plain(node.left))
        if isinstance(node, gast.UnaryOp):
            return self._array_factor(node.operand, shape)
        if isinstance(node, gast.Call):
            fn = resolve(node.func, self.env.namespace)
            if registry.is_elementwise(fn):
                return any(self._array_factor(a, shape) for a in node.args)
        return False

    def _plain(self, node):
        """Elementwise arithmetic of names and constants (no reductions)."""
        if isinstance(node, (gast.Name, gast.Constant)):
            return self.shape(node) is not None
        if isinstance(node, gast.BinOp) and not isinstance(node.op, gast.MatMult):
            return self._plain(node.left) and self._plain(node.right)
        if isinstance(node, gast.UnaryOp):
            return self._plain(node.operand)
        return False


class KnownUnbroadcast(gast.NodeTransformer):
    """``unbroadcast(g, x)`` where the shapes pass knows how ``x`` broadcast to the result:
    ``g`` when the two shapes are the same; with ``sums``, ``np.sum(g, axis=0)`` (the axes
    ``x`` lacks), ``np.sum(g, axis=1, keepdims=True)`` (its axes of length 1) or ``np.sum(g)``
    (``x`` a number). ``summed`` says whether a sum was written: its ``g`` must then be an
    array of the result's shape (the reverse pass guards it with ``_rt.dense``)."""

    def __init__(self, env, shape, result, sums=False):
        self.env, self.shape, self.result, self.sums = env, shape, result, sums
        self.summed = False

    def visit_Call(self, node):
        self.generic_visit(node)
        helper = resolve(node.func, self.env.namespace)
        if helper is not registry.unbroadcast or len(node.args) != 2 or node.keywords:
            return node
        g, operand = node.args
        if same(self.shape(operand), self.result):
            return g
        reduction = registry.op(helper).sum_form
        axes = summed_axes(self.result, self.shape(operand)) if self.sums else None
        if axes is None or reduction is None:
            return node
        func = buffers.numpy_ref(self.env, reduction)
        if axes == "all":
            return gast.Call(func=func, args=[g], keywords=[])
        lead, kept = axes
        if lead:
            g = gast.Call(func=func, args=[g], keywords=[gast.keyword(arg="axis",
                                                                      value=_axis(lead))])
            self.summed = True
        if kept:
            g = gast.Call(func=clone(func), args=[g], keywords=[
                gast.keyword(arg="axis", value=_axis(kept)),
                gast.keyword(arg="keepdims", value=gast.Constant(value=True, kind=None))])
            self.summed = True
        return g


def _axis(axes):
    if len(axes) == 1:
        return gast.Constant(value=axes[0], kind=None)
    return gast.Tuple(elts=[gast.Constant(value=a, kind=None) for a in axes], ctx=gast.Load())


def _strip_unbroadcast(expr, operand, env):
    if isinstance(expr, gast.Call) and resolve(expr.func, env.namespace) is registry.unbroadcast \
            and len(expr.args) == 2 and isinstance(expr.args[1], gast.Name) \
            and expr.args[1].id == operand.id:
        return expr.args[0]
    return expr


def _factors(expr):
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, (gast.Mult, gast.Div)):
        return _factors(expr.left) + _factors(expr.right)
    if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub):
        return _factors(expr.operand)
    return [expr]


def _linear_in(expr, g, shape):
    """Is ``expr`` the name ``g`` times scalars (so it keeps ``g``'s shape)?"""
    count = 0
    for f in _factors(expr):
        if isinstance(f, gast.Name) and f.id == g:
            count += 1
        elif not (isinstance(f, gast.Constant) or shape(f) == ("scalar",)):
            return False
    return count == 1 and not (isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Div)
                               and isinstance(expr.right, gast.Name) and expr.right.id == g)



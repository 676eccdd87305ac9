"""Which names carry derivatives for the chosen ``wrt``.

Before: an SSA function and ``wrt = {"w"}``::

    def loss(w, X):
        n = X.shape        # depends on X only: inactive
        z = X @ w          # active: varies with w and reaches the output
        c = z > 0          # a comparison: carries no derivative
        return np.sum(z * z)

After: ``Activity(active={"w", "z", "t", ...}, kinds={...})``. A name is active
when it varies with a ``wrt`` argument and the output depends on it; only
active names get adjoint (or tangent) code. ``kinds`` says which names surely
hold numbers (scalars or arrays), so cotangents can be added with ``+``.
"""
from dataclasses import dataclass

import gast

from srcad.transforms.blocks import walk
from srcad.transforms.kinds import BINOPS
from srcad.transforms.parse import resolve
from srcad.transforms.rules import registry


@dataclass(frozen=True)
class Activity:
    active: frozenset
    varied: frozenset
    useful: frozenset
    numeric: frozenset       # names known to hold a number or an array


def _names(node):
    return {n.id for n in walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)}


def _statements(body):
    for s in body:
        yield s
        for field in ("body", "orelse"):
            yield from _statements(getattr(s, field, []) or [])


def _is_nondiff_value(value, namespace):
    if isinstance(value, (gast.Compare, gast.Constant)):
        return True
    if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.Not):
        return True
    if isinstance(value, gast.BinOp):         # ``a // b``: a piecewise-constant operator
        return registry.is_nondiff(BINOPS.get(type(value.op)))
    if isinstance(value, gast.Attribute) and value.attr in registry.INACTIVE_ATTRIBUTES:
        return True
    if isinstance(value, gast.Call):
        fn = resolve(value.func, namespace)
        if registry.is_nondiff(fn) or registry.SPECIAL.get(fn) == "stop_gradient" \
                if registry.hashable(fn) else False:
            return True
    return False


def _checked_only(call, namespace):
    """The names passed to ``call`` only to be inspected (``Op.checked_only``)."""
    fn = resolve(call.func, namespace)
    positions = registry.op(fn).checked_only
    if not positions:
        return set()
    inspected = set().union(*[_names(a) for k, a in enumerate(call.args) if k in positions])
    return inspected - set().union(*[_names(a) for k, a in enumerate(call.args)
                                     if k not in positions], set())


def _edges(fn, namespace):
    """(target, sources) for every statement that defines or mutates a name."""
    edges = []
    for s in _statements(fn.body):
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            if isinstance(target, gast.Name):
                sources = set() if _is_nondiff_value(s.value, namespace) else _names(s.value)
                if isinstance(s.value, gast.Call):
                    sources -= _names(s.value.func)
                    sources -= _checked_only(s.value, namespace)
                edges.append((target.id, sources, s.value))
            else:
                edges.append((target.value.id, _names(s.value) | {target.value.id}, None))
        elif isinstance(s, gast.Expr) and isinstance(s.value, gast.Call) \
                and isinstance(s.value.func, gast.Attribute) and s.value.func.attr == "append":
            lst = s.value.func.value.id
            edges.append((lst, _names(s.value.args[0]) | {lst}, None))
    return edges


def analyse(fn, wrt, namespace, numeric_params=()):
    edges = _edges(fn, namespace)
    varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for target, sources, _ in edges:
            if target not in varied and sources & varied:
                varied.add(target)
                changed = True
    ret = fn.body[-1]
    useful = _names(ret.value) if isinstance(ret, gast.Return) and ret.value is not None else set()
    changed = True
    while changed:
        changed = False
        for target, sources, _ in edges:
            if target in useful and not sources <= useful:
                useful |= sources
                changed = True
    numeric = set(numeric_params)
    other = set()
    for target, _, value in edges:
        if value is None or not _numeric_value(value, namespace, numeric):
            other.add(target)
        else:
            numeric.add(target)
    numeric -= other
    return Activity(frozenset(varied & useful), frozenset(varied), frozenset(useful),
                    frozenset(numeric))


def _numeric_value(value, namespace, numeric):
    if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Constant, gast.Compare)):
        return True
    if isinstance(value, gast.Name):
        return value.id in numeric
    if isinstance(value, gast.Subscript):
        return isinstance(value.value, gast.Name) and value.value.id in numeric
    if isinstance(value, gast.Attribute):          # a numeric field of a typed argument
        return isinstance(value.value, gast.Name) \
            and f"{value.value.id}.{value.attr}" in numeric
    if isinstance(value, gast.Call):
        fn = resolve(value.func, namespace)
        return registry.op(fn).reverse is not None or registry.is_nondiff(fn)
    return False

"""Zero cotangents of arrays reach shape-changing rules as arrays of zeros.

``0.0`` is the zero cotangent of anything, and elementwise rules take it as
it is (``0.0 * np.cos(x)``). A rule that reshapes, transposes or multiplies
matrices cannot: ``np.reshape(0.0, (3, 3))`` raises. Such a cotangent is zero
when its name is an unread slot of a tuple, a branch not taken or an
iteration that did not contribute. The reverse pass puts a guard before every
rule that is not elementwise and whose result may be an array::

    t3_bar = _rt.dense(t3_bar, t3)          # zeros shaped like t3 for a 0.0
    x_bar = np.reshape(t3_bar @ np.ravel(x), np.shape(x))

and ``prune`` (after simplify) drops the guards whose cotangent is never
zero: only names assigned ``0.0``, an item of a structured cotangent
(``_rt.index_cot`` and friends), or an expression of such names keep one. A
name read after its guard, or after another helper that gives an array, in
the same block and with no other binding between, counts as dense there.
"""
import operator

import gast

from srcad.transforms import blocks, simplify
from srcad.transforms.blocks import each_block as _each_block, walk
from srcad.transforms.exits import _assign
from srcad.transforms.rules import registry

# operators whose rules broadcast a 0.0 cotangent (matrix product excepted)
_ELEMENTWISE_OPERATORS = {operator.add, operator.sub, operator.mul, operator.truediv,
                          operator.pow, operator.floordiv, operator.mod, operator.neg,
                          operator.pos}
# runtime helpers that may give an item's cotangent as 0.0
_MAY_BE_ZERO = {"index_cot", "field_cot", "pop_cot", "take_cot", "gather_cot", "call_back"}
# runtime helpers that give an array's cotangent as an array
_DENSE = {"dense", "item_acc", "zeros_cot"}


def guard(target, result_shape, g, y, rt_call, summed=False):
    """The guard before the rule of ``target`` (``y = target(...)``, cotangent ``g``),
    or None when the rule takes a 0.0 cotangent as it is (an elementwise rule does,
    unless its contribution sums ``g`` over known axes: ``np.sum(g, axis=0)``)."""
    if result_shape == ("scalar",) or not summed and (
            target in _ELEMENTWISE_OPERATORS or registry.is_elementwise(target)):
        return None
    return _assign(g.id, rt_call("dense", g, y))


def _helper(call):
    if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
            and isinstance(call.func.value, gast.Name) and call.func.value.id == "_rt":
        return call.func.attr
    return None


def _is_guard(s):
    return isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
        and _helper(s.value) == "dense" and isinstance(s.value.args[0], gast.Name) \
        and s.value.args[0].id == s.targets[0].id


def _assignments(stmts, out):
    """``(name, value, dense)`` for each ``name = value`` under ``stmts``: ``dense`` holds
    the names whose last binding before it in its own block is a guard or another dense
    helper (a guarded name read after its guard is an array, wherever else it is 0.0)."""
    dense = set()
    for s in stmts:
        if isinstance(s, gast.Assign) and len(s.targets) == 1 \
                and isinstance(s.targets[0], gast.Name):
            name = s.targets[0].id
            out.append((name, s.value, frozenset(dense)))
            if _helper(s.value) in _DENSE:
                dense.add(name)
            else:
                dense.discard(name)
            continue
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                _assignments(inner, out)
        dense -= blocks.stores(s)
    return out


def may_be_zero(fn, cotangents):
    """Names whose value may be the zero cotangent 0.0 (over-approximated): ``cotangents``
    assigned 0.0 or an item of another, a runtime helper's item cotangent, and any
    expression of such a name that no guard made dense before it."""
    assigns = _assignments(fn.body, [])
    zero = set()
    for name, value, _ in assigns:
        if any(_helper(n) in _MAY_BE_ZERO for n in walk(value)) or name in cotangents and (
                isinstance(value, gast.Constant) and value.value == 0
                or isinstance(value, gast.Subscript)):
            zero.add(name)
    changed = True
    while changed:
        changed = False
        for name, value, dense in assigns:
            if name in zero or _helper(value) in _DENSE:
                continue
            if any(isinstance(n, gast.Name) and n.id in zero and n.id not in dense
                   for n in walk(value)):
                zero.add(name)
                changed = True
    return zero


def prune(fn, cotangents, named=frozenset()):
    """Drop the guards of cotangents that are never 0.0. A guard that simplify merged with
    a copy (``t3_bar = _rt.dense(pred_bar, t3)``) is a copy then, and a copy of a
    cotangent left by a dropped guard (``t_bar = t2_bar``) goes: the two names become one
    (the earlier one's definition takes the later name when nothing else reads it, else
    the later name's readers read the earlier one); ``named`` (the gradients' own names)
    keep theirs."""
    zero = may_be_zero(fn, set(cotangents))

    def drop(stmts):
        out = []
        for s in stmts:
            if _is_guard(s) and s.targets[0].id not in zero:
                continue
            if _is_copy_guard(s) and s.value.args[0].id not in zero:
                s.value = s.value.args[0]
            _each_block(s, drop)
            out.append(s)
        return out or [gast.Pass()]

    fn.body = drop(fn.body)
    _join_copies(fn, cotangents, named)
    return fn


def _join_copies(fn, cotangents, named):
    """``b_bar = e; a_bar = b_bar`` (cotangents bound once) -> one name."""
    stores, loads = blocks.counts(fn)
    owned = simplify.owned_names(fn)
    rename = {}

    def one(name):
        return stores.get(name) == 1 and name not in owned and name in cotangents

    def visit(stmts):
        out = []
        for s in stmts:
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                    and isinstance(s.value, gast.Name) and one(s.targets[0].id) \
                    and one(s.value.id):
                a, b = s.targets[0].id, s.value.id
                k = simplify.definition(out, b)
                if loads.get(b) == 1 and k is not None and b not in named:
                    out[k].targets[0].id = a           # b's definition takes a's name
                    continue
                if a not in named:
                    rename[a] = b                      # a's readers read b
                    continue
            _each_block(s, visit)
            out.append(s)
        return out or [gast.Pass()]

    fn.body = visit(fn.body)
    if rename:
        while any(b in rename for b in rename.values()):
            rename = {a: rename.get(b, b) for a, b in rename.items()}
        fn.body = [simplify.substitute(s, rename) for s in fn.body]


def _is_copy_guard(s):
    return isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
        and _helper(s.value) == "dense" and isinstance(s.value.args[0], gast.Name)

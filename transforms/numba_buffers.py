"""The numba entry's buffers: what it passes the core, what it returns itself.

``transforms/numba_form.py`` moves the work buffers and the ``out=`` slots of the
generated function into the Python entry, so the core always writes into arrays
(numba's ufuncs take the output positionally). This module finds those slots and,
where the core's gradient is provably the out buffer itself, has the entry return the
buffer (numba would box the same array again on every call)::

    def f_vjp_core(x, y, seed, work, x_out, y_out):
        x_bar = np.multiply(2.0 * seed2, x, x_out)
        x_acc = x_out                         # was: x_out if x_out is not None else ...
        x_bar = np.add(x_bar, t8, x_acc)
        y_bar = unbroadcast_into(y_out, g, y)
        return t6                             # was: (t6, (finalize_array(x_bar, x), ...))

    def f_vjp(x, y, seed, out=None):
        work = _ws.take(0, x.shape, x.dtype)
        x_out = _rt.out_or_new(out, 0, x)
        y_out = _rt.out_or_new(out, 1, y)
        value = f_vjp_core(x, y, _rt.seed_value(seed), work, x_out, y_out)
        return (value, (x_out, y_out))
"""
import inspect
from collections import Counter

import gast
import numpy as np

from srcad.transforms.blocks import walk
from srcad.transforms.kinds import BINOPS
from srcad.transforms.parse import resolve
from srcad.transforms.rules import registry
from srcad.transforms.exits import _assign, _const, _load


class Unsupported(Exception):
    """The generated code has a form the numba lowering cannot give to numba."""

    def __init__(self, reason, node=None):
        super().__init__(reason)
        self.reason = reason
        self.node = node


def store_name(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def call(fn, *args):
    return gast.Call(func=fn, args=list(args), keywords=[])


def rt_call(attr, *args):
    """``_rt.attr(*args)``: a call of the numba runtime."""
    return call(gast.Attribute(value=_load("_rt"), attr=attr, ctx=gast.Load()), *args)


def arguments(names):
    """The positional parameters ``names`` of a generated function."""
    return gast.arguments(
        args=[gast.Name(id=n, ctx=gast.Param(), annotation=None, type_comment=None)
              for n in names],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def is_comment(s):
    """A ``# file:line`` marker (a string statement until the source is printed)."""
    return isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant) \
        and isinstance(s.value.value, str)


def out_slot(s, out_param):
    """k for ``NAME = None if out is None else out[k]`` (the gradient's out= buffer)."""
    v = s.value if isinstance(s, gast.Assign) and len(s.targets) == 1 \
        and isinstance(s.targets[0], gast.Name) else None
    if not (isinstance(v, gast.IfExp) and isinstance(v.test, gast.Compare)
            and isinstance(v.test.left, gast.Name) and v.test.left.id == out_param
            and isinstance(v.test.ops[0], gast.Is) and isinstance(v.body, gast.Constant)
            and v.body.value is None and isinstance(v.orelse, gast.Subscript)
            and isinstance(v.orelse.value, gast.Name) and v.orelse.value.id == out_param
            and isinstance(v.orelse.slice, gast.Constant)
            and type(v.orelse.slice.value) is int):
        return None
    return v.orelse.slice.value


def _ufunc_out(node, namespace):
    """The name ``X`` of ``ufunc(args..., out=X)`` (all inputs given), else None."""
    if not (isinstance(node, gast.Call) and len(node.keywords) == 1
            and node.keywords[0].arg == "out" and isinstance(node.keywords[0].value, gast.Name)):
        return None
    f = node.func
    obj = namespace.get(f.value.id) if isinstance(f, gast.Attribute) \
        and isinstance(f.value, gast.Name) else None
    obj = getattr(obj, f.attr, None) if obj is not None else namespace.get(getattr(f, "id", None))
    if isinstance(obj, np.ufunc) and len(node.args) == obj.nin:
        return node.keywords[0].value.id
    return None


_INTO = {("srcad.kernels.broadcast", "unbroadcast_into"),
         ("srcad.kernels.linalg", "matmul_back_a_into"),
         ("srcad.kernels.linalg", "matmul_back_b_into")}


def _into_out(node, namespace):
    """The name ``X`` of ``kernel(X, ...)`` for a kernel that writes into its first
    argument when that is an array (``unbroadcast_into``, the matrix product's cotangents
    ``matmul_back_a_into``/``_b_into``), else None."""
    if not (isinstance(node, gast.Call) and node.args and isinstance(node.args[0], gast.Name)):
        return None
    f = node.func
    name = f.attr if isinstance(f, gast.Attribute) else getattr(f, "id", None)
    obj = namespace.get(name) if isinstance(f, gast.Name) else None
    into = (getattr(obj, "__module__", None), getattr(obj, "__name__", None)) in _INTO \
        or isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) \
        and f.value.id == "_rt" and f.attr in ("sum_kept", "sum_axes", "matmul_into")
    return node.args[0].id if into else None


def _accumulator_of(s):
    """(acc, X) for ``acc = X if X is not None else helper(...)`` (the buffer a gradient is
    accumulated into: ``X`` itself when the out buffer ``X`` is never None), else None."""
    if not (isinstance(s, gast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.IfExp)):
        return None
    v = s.value
    if isinstance(v.test, gast.Compare) and isinstance(v.test.left, gast.Name) \
            and len(v.test.ops) == 1 and isinstance(v.test.ops[0], gast.IsNot) \
            and isinstance(v.test.comparators[0], gast.Constant) \
            and v.test.comparators[0].value is None \
            and isinstance(v.body, gast.Name) and v.body.id == v.test.left.id:
        return s.targets[0].id, v.body.id
    return None


def only_ufunc_out(name, stmts, namespace):
    """Is ``name`` read only as the ``out=`` of ufunc calls, the buffer of an ``_into``
    kernel or an accumulator's choice (``_accumulator_of``) in ``stmts``?"""
    nodes = [n for s in stmts for n in walk(s)]
    reads = sum(isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Load)
                for n in nodes)
    accs = [a for a in map(_accumulator_of, nodes) if a is not None and a[1] == name]
    return reads == sum((_ufunc_out(n, namespace) == name) + (_into_out(n, namespace) == name)
                        for n in nodes) + 2 * len(accs) \
        and all(only_ufunc_out(acc, stmts, namespace) for acc, _ in accs)


def accumulators(body, buffers):
    """``acc = X if X is not None else ...`` as ``acc = X`` for each buffer ``X`` the entry
    passes; {acc: X} (each acc is then a buffer too)."""
    found = {}
    for node in [n for s in body for n in walk(s)]:
        a = _accumulator_of(node)
        if a is not None and a[1] in buffers:
            node.value = _load(a[1])
            found[a[0]] = a[1]
    return found


def _writes_into(node, names, param, namespace):
    """Is ``node`` (after ``ufunc_outs``) a ufunc call whose output argument is one of
    ``names``, or ``unbroadcast_into(X, g, param)`` with ``X`` one of them? (It then
    returns that very array: the buffers are shaped like ``param``.)"""
    if _into_out(node, namespace) in names and len(node.args) == 3 \
            and isinstance(node.args[2], gast.Name) and node.args[2].id == param:
        return True
    if not (isinstance(node, gast.Call) and not node.keywords and node.args
            and isinstance(node.args[-1], gast.Name) and node.args[-1].id in names):
        return False
    f = node.func
    obj = namespace.get(f.value.id) if isinstance(f, gast.Attribute) \
        and isinstance(f.value, gast.Name) else None
    obj = getattr(obj, f.attr, None) if obj is not None else namespace.get(getattr(f, "id", None))
    return isinstance(obj, np.ufunc) and len(node.args) == obj.nin + 1


def returned_outs(body, slots, out_of, namespace, aliases):
    """{k: buffer} for the gradients the core returns as ``finalize_array(N, p)`` where
    every definition of ``N`` is a ufunc writing into ``p``'s out buffer: that gradient
    is the buffer itself (same shape and dtype), which the entry returns without the
    core boxing it again. The core's returns are then ``(value, (g0, g1, ...))``."""
    returns = [n for s in body for n in walk(s) if isinstance(n, gast.Return)]
    if not returns or not all(isinstance(r.value, gast.Tuple) and len(r.value.elts) == 2
                              and isinstance(r.value.elts[1], gast.Tuple)
                              and len(r.value.elts[1].elts) == len(out_of)
                              for r in returns):
        return {}
    nodes = [n for s in body for n in walk(s)]
    assigned = {id(n.targets[0]): n.value for n in nodes if isinstance(n, gast.Assign)
                and len(n.targets) == 1 and isinstance(n.targets[0], gast.Name)}
    defs = {}                   # name -> the value of each store (None: not `name = value`)
    for n in nodes:
        if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load):
            defs.setdefault(n.id, []).append(assigned.get(id(n)))
    by_slot = {k: name for name, k in slots.items()}
    found = {}
    for k, buffer in by_slot.items():
        ok = True
        for r in returns:
            item = r.value.elts[1].elts[k]
            if not (isinstance(item, gast.Call) and isinstance(item.func, gast.Attribute)
                    and item.func.attr == "finalize_array" and len(item.args) == 2
                    and all(isinstance(a, gast.Name) for a in item.args)
                    and item.args[1].id == out_of[k]):
                ok = False
                break
            ds = defs.get(item.args[0].id, [])
            same = {buffer} | {a for a, b in aliases.items() if b == buffer}
            if not ds or not all(_writes_into(d, same, out_of[k], namespace) for d in ds):
                ok = False
                break
        if ok:
            found[k] = buffer
    return found


def ufunc_outs(tree, namespace, buffers):
    """``np.add(a, b, out=work)`` as ``np.add(a, b, work)`` (numba's ufuncs take the output
    positionally) where ``work`` is a buffer the entry passes (never None)."""
    for node in walk(tree):
        if _ufunc_out(node, namespace) in buffers:
            node.args.append(node.keywords.pop().value)


def _bound(fn, call):
    """``(first argument, {name: argument} of the others)`` of ``call`` by ``fn``'s
    parameter names (a method form passes its axis by position: ``prod(x, 1)``), or
    None when they do not bind."""
    try:
        sig = inspect.signature(fn)
        given = dict(sig.bind(*call.args, **{k.arg: k.value for k in call.keywords}).arguments)
    except (TypeError, ValueError):
        return None
    first = given.pop(next(iter(sig.parameters)), None)
    return None if first is None else (first, given)


def numpy_calls(tree, namespace):
    """The NumPy calls numba's own functions do not take, as the runtime's twins:
    ``np.sum(g, axis=A, keepdims=True, out=o)`` (a cotangent summed back to an operand
    that broadcast along axes A) as ``_rt.sum_kept(o, g, A)``, and without ``keepdims``
    (a bias's cotangent) as ``_rt.sum_axes(o, g, A)``: numba's ``sum`` takes neither
    ``keepdims`` nor ``out``. ``np.matmul(a, b, out=o)`` (a weight's cotangent written
    into ``out``) as ``_rt.matmul_into(o, a, b)``, and without ``out`` as ``_rt.matmul``:
    numba has no ``np.matmul``, only ``@``.
    A reduction whose rule names an ``axes_twin`` (``np.mean(a, axis=A)``, ``np.max``...,
    with or without a literal ``keepdims``; ``np.var``/``np.std`` with ``ddof``) as that
    twin: numba's own take none of these; one declared without keywords (``np.ndim``)
    always."""
    sums = {id(r.sum_form) for r in registry.OPS.values() if r.sum_form is not None}
    product = registry.op(BINOPS[gast.MatMult]).out_form
    for node in walk(tree):
        if not isinstance(node, gast.Call):
            continue
        fn = resolve(node.func, namespace)    # (a method form is bound by name: ``mean(x, 1)``)
        keys = {k.arg: k.value for k in node.keywords}
        twin = registry.op(fn).axes_twin
        a, given = _bound(fn, node) or (None, {}) if twin is not None else (None, {})
        kept = given.pop("keepdims", _const(False)) if twin and twin[2] else _const(False)
        if twin is not None and isinstance(kept, gast.Constant) \
                and (given or kept.value or not twin[1]) and set(given) <= set(twin[1]):
            into = rt_call(twin[2] if kept.value else twin[0], a, *(   # np.mean(a, axis=0)
                given[k] if k in given else _const(registry.TWIN_DEFAULTS[k]) for k in twin[1]))
            node.func, node.args, node.keywords = into.func, into.args, []
            continue
        if fn is product and product is not None and len(node.args) == 2 \
                and set(keys) <= {"out"}:
            into = rt_call("matmul_into", keys["out"], *node.args) if keys \
                else rt_call("matmul", *node.args)
            node.func, node.args, node.keywords = into.func, into.args, []
            continue
        if id(fn) not in sums or len(node.args) != 1 or "axis" not in keys \
                or not set(keys) <= {"axis", "keepdims", "out"}:
            continue
        kept = keys.get("keepdims")
        if (kept is None or isinstance(kept, gast.Constant) and kept.value is False) \
                and "out" in keys:     # (without out=, numba's own sum takes an axis)
            helper = "sum_axes"
        elif isinstance(kept, gast.Constant) and kept.value is True:
            helper = "sum_kept"
        else:
            continue
        into = rt_call(helper, keys.get("out", _const(None)), node.args[0], keys["axis"])
        node.func, node.args, node.keywords = into.func, into.args, []


def own_work(s, workspace_names):
    """``work = x_out if x_out is not None else _ws.take(...)`` (the NumPy code's work
    buffer that may be the caller's ``out``: transforms/buffers.py) takes a buffer of its
    own here: the compiled core's fused loops already stream through memory once."""
    value = s.value if isinstance(s, gast.Assign) else None
    if isinstance(value, gast.IfExp) and isinstance(value.orelse, gast.Call) \
            and isinstance(value.orelse.func, gast.Attribute) \
            and isinstance(value.orelse.func.value, gast.Name) \
            and value.orelse.func.value.id in workspace_names \
            and value.orelse.func.attr == "take":
        s.value = value.orelse


def value_unread(body, keep):
    """Each ``return (value, grads)`` of the core as ``return (_rt.kept(value, keep),
    grads)`` (srcad/numba_entry.py): the core compiled for ``keep=None`` (``grad``, which
    does not read the value) never reads it, and the compiler drops the work that only
    computes it. False (nothing changed) when a return has another form."""
    returns = [n for s in body for n in walk(s) if isinstance(n, gast.Return)]
    if not returns or not all(isinstance(r.value, gast.Tuple) and len(r.value.elts) == 2
                              and isinstance(r.value.elts[1], gast.Tuple) for r in returns):
        return False
    for r in returns:
        r.value.elts[0] = rt_call("kept", r.value.elts[0], _load(keep))
    return True


def drop_returned(body, returned):
    """The core's returns without the gradients the entry returns itself: ``value`` when
    it returns them all, else ``(value, (the others...))``."""
    for r in [n for s in body for n in walk(s) if isinstance(n, gast.Return)]:
        value, grads = r.value.elts
        rest = [g for k, g in enumerate(grads.elts) if k not in returned]
        r.value = value if not rest else gast.Tuple(
            elts=[value, gast.Tuple(elts=rest, ctx=gast.Load())], ctx=gast.Load())


def entry_return(call, returned, n, fresh):
    """``return core(...)``, or with gradients written into out buffers::

        value = f_vjp_core(...)              # (value, rest) when the core returns others
        return (value, (x_out, rest[0]))
    """
    if not returned:
        return [gast.Return(value=call)]
    value = fresh("value")
    if len(returned) == n:
        first = _assign(value, call)
        grads, k_rest = [_load(returned[k]) for k in range(n)], None
    else:
        rest = fresh("rest")
        first = gast.Assign(targets=[gast.Tuple(elts=[store_name(value), store_name(rest)],
                                                ctx=gast.Store())], value=call,
                            type_comment=None)
        grads, k_rest = [], 0
        for k in range(n):
            if k in returned:
                grads.append(_load(returned[k]))
            else:
                grads.append(gast.Subscript(value=_load(rest), slice=_const(k_rest),
                                            ctx=gast.Load()))
                k_rest += 1
    out = gast.Tuple(elts=[_load(value), gast.Tuple(elts=grads, ctx=gast.Load())],
                     ctx=gast.Load())
    return [first, gast.Return(value=out)]


def own_tangents(body):
    """``_rt.tangent_out(t, y, v)`` of a tangent ``t`` bound once, by ``t = a + b`` (any
    operator but ``@``) or ``t = -a``, and read nowhere else, as ``_rt.tangent_own``:
    numba makes a new array for that expression alone, so the output may be that array
    (``tangent_out`` copies it)."""
    nodes = [n for s in body for n in walk(s)]
    stores = Counter(n.id for n in nodes if isinstance(n, gast.Name)
                     and not isinstance(n.ctx, gast.Load))
    loads = Counter(n.id for n in nodes if isinstance(n, gast.Name)
                    and isinstance(n.ctx, gast.Load))
    made = {n.targets[0].id: n.value for n in nodes if isinstance(n, gast.Assign)
            and len(n.targets) == 1 and isinstance(n.targets[0], gast.Name)}
    for n in nodes:
        if not (isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute)
                and isinstance(n.func.value, gast.Name) and n.func.value.id == "_rt"
                and n.func.attr == "tangent_out" and n.args
                and isinstance(n.args[0], gast.Name)):
            continue
        t = n.args[0].id
        v = made.get(t)
        new = isinstance(v, gast.BinOp) and not isinstance(v.op, gast.MatMult) \
            or isinstance(v, gast.UnaryOp) and isinstance(v.op, gast.USub)
        if new and stores[t] == 1 and loads[t] == 1:
            n.func.attr = "tangent_own"

"""Buffer plan: elementwise intermediates live in a reused workspace; results go to ``out``.

Before (a simplified gradient, ``x: float64[1d]``)::

    def eam_vjp(x, seed):
        t = x + 1.0
        t2 = -3.0 * t
        t3 = np.exp(t2)
        p = np.sum(t3)
        ...
        x_bar = s * t3
        return p2, (_rt.finalize_array(x_bar, x),)

After::

    def eam_vjp(x, seed, out=None):
        w0 = _ws.take(0, x.shape, x.dtype)
        x_out = None if out is None else out[0]
        t = np.add(x, 1.0, out=w0)
        t2 = np.multiply(-3.0, t, out=w0)      # t is dead: its buffer is reused
        t3 = np.exp(t2, out=w0)
        p = np.sum(t3)
        ...
        x_bar = np.multiply(s, t3, out=x_out)  # a new array, or the caller's buffer
        return p2, (_rt.finalize_array(x_bar, x),)

A later ``x_bar = x_bar + t`` adds into ``out``, or else into the array the first
statement made (``x_acc``, when it is an array of ``x``'s shape and dtype), so no
second result-sized array is made.

Only top-level statements (not in a loop or a branch) whose value has a known
array shape and whose every reader is elementwise or a reduction take part, so a
buffer never escapes: nothing returned, recorded or passed to other code is a
workspace buffer. Workspaces are per thread and keyed by shape (``runtime.Workspace``).
"""
import builtins
import numbers
import types

import gast
import numpy as np

from srcad.transforms.blocks import walk
from srcad.transforms.exits import _assign, _const, _load
from srcad.transforms.parse import MISSING, resolve
from srcad.transforms.kinds import BINOPS
from srcad.transforms import zero_guards
from srcad.transforms.rules import registry
from srcad.transforms.simplify import method_call


def _ufunc_of(value, namespace):
    """The out=-capable elementwise function computing ``value``, or None."""
    if isinstance(value, gast.BinOp) and not isinstance(value.op, gast.MatMult):
        target = BINOPS.get(type(value.op))
        return registry.op(target).out_form, [value.left, value.right]
    if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub):
        import operator
        return registry.op(operator.neg).out_form, [value.operand]
    if isinstance(value, gast.Call) and not value.keywords:
        fn = resolve(value.func, namespace)
        if fn is not MISSING and registry.is_elementwise(fn) and _is_ufunc(fn):
            return fn, list(value.args)
    return None, None


def _is_ufunc(fn):
    return hasattr(fn, "nin") and hasattr(fn, "nout") and fn.nout == 1


def _safe_readers(fn, namespace):
    """Names whose every read is an operand of elementwise code or of a reduction."""
    unsafe = set()
    safe_calls = {t for t, o in registry.OPS.items() if o.whole is not None}

    def visit(node, safe):
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, gast.Load) and not safe:
                unsafe.add(node.id)
            return
        if isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare)):
            for child in gast.iter_child_nodes(node):
                visit(child, not isinstance(node, gast.BinOp)
                      or not isinstance(node.op, gast.MatMult))
            return
        if isinstance(node, gast.Call):
            target = resolve(node.func, namespace)
            ok = target is not MISSING and (_is_ufunc(target) or _in(target, safe_calls))
            visit(node.func, False)
            for a in node.args:
                visit(a, ok)
            for k in node.keywords:
                visit(k.value, False)
            return
        for child in gast.iter_child_nodes(node):
            visit(child, False)

    for stmt in fn.body:
        visit(stmt, False)
    return unsafe


def _in(target, table):
    try:
        return target in table
    except TypeError:
        return False


def _flatten(fn, namespace, namer, shapes, param_kinds):
    """Give nested elementwise operands of top-level statements names of their own
    (``x_bar = x_bar + seed * x`` -> ``t = seed * x; x_bar = x_bar + t``) so that
    each can get a buffer; return the extended shape lookup."""
    extra = {}

    def shape(node):
        if isinstance(node, gast.Name):
            return extra.get(node.id) or shapes(node.id)
        if isinstance(node, gast.Constant):
            return ("scalar",) if isinstance(node.value, (int, float)) else None
        ufunc, args = _ufunc_of(node, namespace)
        if ufunc is None:
            return None
        found = [shape(a) for a in args]
        arrays = {f for f in found if f is not None and f[0] == "array"}
        if len(arrays) == 1 and all(f is not None for f in found):
            return arrays.pop()
        return None

    def lift(node, out):
        ufunc, args = _ufunc_of(node, namespace)
        if ufunc is None:
            return node
        for k, a in enumerate(args):
            inner, _ = _ufunc_of(a, namespace)
            sa = shape(a)
            if inner is not None and sa is not None and sa[0] == "array" \
                    and param_kinds.get(sa[1]) == "array":      # it will get a buffer
                a = lift(a, out)
                name = namer.fresh("t")
                extra[name] = shape(a)
                out.append(_assign(name, a))
                _replace_arg(node, k, _load(name))
        return node

    body = []
    for s in fn.body:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            pre = []
            s.value = lift(s.value, pre)
            body.extend(gast.copy_location(p, s) for p in pre)
        body.append(s)
    fn.body = body
    return lambda name: extra.get(name) or shapes(name)


def _replace_arg(node, k, new):
    if isinstance(node, gast.BinOp):
        if k == 0:
            node.left = new
        else:
            node.right = new
    elif isinstance(node, gast.UnaryOp):
        node.operand = new
    else:
        node.args[k] = new


def plan(fn, env, namer, shapes, wrt, param_kinds, cotangents=frozenset(), wide=True):
    """Rewrite ``fn`` (a simplified vjp) to use workspace buffers and ``out``; ``cotangents``:
    the names of cotangents (one may be a 0.0 standing for zeros whatever its shape fact);
    ``wide``: the float arrays of the signature are float64 (see ``_method_form``)."""
    namespace = env.namespace
    shapes = _flatten(fn, namespace, namer, shapes, param_kinds)
    body = fn.body
    ret = body[-1]
    unsafe = _safe_readers(fn, namespace)
    last_use = {}
    for k, s in enumerate(body):
        for n in walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                last_use[n.id] = k
    results = _results(ret, wrt)
    array_params = {p for p in wrt if param_kinds.get(p) == "array"}
    out_names = {}
    prologue = []
    free, taken = {}, {}         # shape param -> free buffer ids; name -> buffer id
    count = 0
    buffer_names, owners = [], []
    out_param = namer.fresh("out")
    new_body = []
    in_out = {}                  # name -> param: it holds ``out`` or a fresh array for it
    acc_names = {}               # param -> the array its gradient is added into
    placeholders = zero_guards.may_be_zero(fn, set(cotangents))
    for k, s in enumerate(body[:-1]):
        rewritten = None
        wrote = None
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            name = s.targets[0].id
            rewritten = _method_form(s, namespace, shapes, param_kinds, placeholders, wide)
            ufunc, args = _ufunc_of(s.value, namespace)
            shape = shapes(name)
            if rewritten is None and ufunc is not None and shape is not None \
                    and shape[0] == "array" \
                    and param_kinds.get(shape[1]) == "array":
                owner = shape[1]
                # operands dying here give their buffers back first (ufuncs allow out == in),
                # each to the pool of its own shape (a broadcast operand's is not the result's)
                for a in args:
                    if isinstance(a, gast.Name) and a.id in taken and last_use.get(a.id) == k:
                        free.setdefault(shapes(a.id)[1], []).append(taken.pop(a.id))
                target = None
                if name in results and results[name] in array_params \
                        and shapes(results[name]) == shape and last_use.get(name) == len(body) - 1:
                    param = results[name]
                    if param not in out_names:
                        out_names[param] = namer.fresh(param + "_out")
                    target = _load(out_names[param])
                    wrote = (name, param)
                    if in_out.get(name) == param and any(
                            isinstance(a, gast.Name) and a.id == name for a in args):
                        if param not in acc_names:
                            acc_names[param] = namer.fresh(param + "_acc")
                            new_body.append(_accumulator(env, acc_names[param], name, param,
                                                         out_names[param]))
                        target = _load(acc_names[param])    # add in place
                elif name not in unsafe and name not in results:
                    pool = free.setdefault(owner, [])
                    if pool:
                        buf = pool.pop()
                    else:
                        buf = count
                        count += 1
                        buffer_names.append(namer.fresh("work"))
                        owners.append(owner)
                        prologue.append(_assign(buffer_names[buf], gast.Call(
                            func=gast.Attribute(value=_load("_ws"), attr="take", ctx=gast.Load()),
                            args=[_const(buf), gast.Attribute(value=_load(owner), attr="shape",
                                                              ctx=gast.Load()),
                                  gast.Attribute(value=_load(owner), attr="dtype",
                                                 ctx=gast.Load())], keywords=[])))
                    taken[name] = buf
                    target = _load(buffer_names[buf])
                if target is not None:
                    func = numpy_ref(env, ufunc)
                    rewritten = gast.copy_location(_assign(name, gast.Call(
                        func=func, args=args, keywords=[gast.keyword(arg="out", value=target)])), s)
        if rewritten is None:
            rewritten = _into_form(s, namespace, env, results, array_params, out_names, namer,
                                   last_use, len(body) - 1, shapes)
        new_body.append(rewritten or s)
        for n in walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                in_out.pop(n.id, None)
        if wrote is not None:
            in_out[wrote[0]] = wrote[1]
        for name in [n for n, b in taken.items() if last_use.get(n, -1) <= k]:
            shape = shapes(name)
            free.setdefault(shape[1], []).append(taken.pop(name))
    if count:
        env.bind("_ws", registry.HOST.runtime.Workspace(), ("<workspace>", None))
    outs = []
    for p, name in sorted(out_names.items(), key=lambda item: wrt.index(item[0])):
        index = wrt.index(p)
        outs.append(_assign(name, gast.IfExp(
            test=gast.Compare(left=_load(out_param), ops=[gast.Is()],
                              comparators=[_const(None)]),
            body=_const(None),
            orelse=gast.Subscript(value=_load(out_param), slice=_const(index), ctx=gast.Load()))))
    late = _out_as_work(new_body, ret, prologue, buffer_names, owners, out_names, namespace,
                        param_kinds, fn)
    _returned_out(ret, wrt, out_names)
    fn.body = prologue + outs + late + new_body + [ret]
    fn.args.args.append(gast.Name(id=out_param, ctx=gast.Param(), annotation=None,
                                  type_comment=None))
    fn.args.defaults.append(_const(None))
    return fn


def _returned_out(ret, wrt, out_names):
    """``_rt.finalize_array(x_bar, x)`` -> ``x_bar if x_bar is x_out else
    _rt.finalize_array(x_bar, x)`` for a gradient that may be written into ``out``: the
    caller checked that buffer (shape, dtype, writeable, apart from the arguments), so it
    is returned as it is, without a second look (``finalize`` keeps its other cases)."""
    grads = ret.value.elts[1] if isinstance(ret.value, gast.Tuple) \
        and len(ret.value.elts) == 2 and isinstance(ret.value.elts[1], gast.Tuple) else None
    if grads is None:
        return
    for k, (p, e) in enumerate(zip(wrt, grads.elts, strict=False)):
        if p in out_names and isinstance(e, gast.Call) and isinstance(e.func, gast.Attribute) \
                and e.func.attr == "finalize_array" and isinstance(e.args[0], gast.Name):
            grads.elts[k] = gast.IfExp(
                test=gast.Compare(left=_load(e.args[0].id), ops=[gast.Is()],
                                  comparators=[_load(out_names[p])]),
                body=_load(e.args[0].id), orelse=e)


def plain_returns(body):
    """Undo ``_returned_out`` in ``body`` (the compiled backend returns its ``out`` buffers
    by its own rule: transforms/numba_buffers.py ``returned_outs``)."""
    for r in (n for s in body for n in walk(s) if isinstance(n, gast.Return)):
        grads = r.value.elts[1] if isinstance(r.value, gast.Tuple) \
            and len(r.value.elts) == 2 and isinstance(r.value.elts[1], gast.Tuple) else None
        for k, e in enumerate(grads.elts if grads is not None else ()):
            if isinstance(e, gast.IfExp) and isinstance(e.orelse, gast.Call) \
                    and isinstance(e.orelse.func, gast.Attribute) \
                    and e.orelse.func.attr == "finalize_array":
                grads.elts[k] = e.orelse


def _out_as_work(body, ret, prologue, buffer_names, owners, out_names, namespace, param_kinds,
                 fn):
    """Let a work buffer be the caller's ``out`` buffer of the same parameter when the
    buffer's last reader is the ufunc that writes that gradient into ``out``, as a hand
    gradient into buffers does (``np.exp(t, out=out); ...; np.multiply(s, out, out=out)``):
    one array of the argument's size less to stream through at large sizes.

    Taken only when nothing else can see ``out`` early: ``out`` is first named by that
    ufunc (in place on its operand, entry by entry), no name of the buffer is read after
    it or bound twice, every parameter is a float or a float array (``out`` shares memory
    with none: checked at the call) and the code reads no array from outside (a module's
    array may be the caller's ``out``). The buffer's statement moves out of ``prologue``
    and is returned, to follow the ``out`` slots': ``work = x_out if x_out is not None
    else _ws.take(...)``."""
    if not param_kinds or any(k not in ("float", "array") for k in param_kinds.values()):
        return []
    local = {a.id for a in fn.args.args} | set(buffer_names) | set(out_names.values())
    local |= {n.id for s in body for n in walk(s)
              if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    if any(_outside_array(n, local, namespace) for s in body + [ret] for n in walk(s)):
        return []
    stores = {}
    for s in body:
        for n in walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                stores[n.id] = stores.get(n.id, 0) + 1
    late = []
    for param, out_name in out_names.items():
        k = next((i for i, s in enumerate(body) if out_name in _loads(s)), None)
        if k is None or _out_keyword(body[k]) != out_name:
            continue
        ufunc = resolve(body[k].value.func, namespace)
        if ufunc is MISSING or not _is_ufunc(ufunc) or not registry.is_elementwise(ufunc):
            continue                    # (in place on its operand: entry by entry only)
        for b, work in enumerate(buffer_names):
            held = {s.targets[0].id for s in body if _out_keyword(s) == work}
            if owners[b] != param or prologue[b] is None or not held \
                    or any(stores.get(h, 0) != 1 for h in held) \
                    or not held & {a.id for a in body[k].value.args
                                   if isinstance(a, gast.Name)} \
                    or any((held | {work}) & _loads(s) for s in body[k + 1:] + [ret]):
                continue
            take = prologue[b].value
            prologue[b].value = gast.IfExp(
                test=gast.Compare(left=_load(out_name), ops=[gast.IsNot()],
                                  comparators=[_const(None)]),
                body=_load(out_name), orelse=take)
            late.append(prologue[b])
            prologue[b] = None
            break
    prologue[:] = [s for s in prologue if s is not None]
    return late


def _outside_array(node, local, namespace):
    """May ``node`` (a name or attribute read from outside the function) be an array, or
    hold one? Modules, functions, ufuncs, classes and numbers may not."""
    if isinstance(node, gast.Attribute):
        base = node
        while isinstance(base, gast.Attribute):
            base = base.value
        if not isinstance(base, gast.Name) or base.id in local:
            return False
        obj = resolve(node, namespace)
    elif isinstance(node, gast.Name) and node.id not in local:
        obj = namespace.get(node.id, getattr(builtins, node.id, MISSING))
    else:
        return False
    return obj is MISSING or not (
        isinstance(obj, (types.ModuleType, type, numbers.Number, str, type(None)))
        or isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)))


def _loads(s):
    return {n.id for n in walk(s) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _out_keyword(s):
    """``name`` of a statement ``t = f(..., out=name)``, else None."""
    if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
            and isinstance(s.value, gast.Call) and len(s.value.keywords) == 1 \
            and s.value.keywords[0].arg == "out" \
            and isinstance(s.value.keywords[0].value, gast.Name):
        return s.value.keywords[0].value.id
    return None


def _accumulator(env, acc, name, param, out_name):
    """``x_acc = x_out if x_out is not None else owned_array(x_bar, x)``: what a later
    ``x_bar = x_bar + t`` is written into (None when ``x_bar`` is not an array of
    ``x``'s shape and dtype, a zero placeholder say: a new array then, as before)."""
    runtime = registry.HOST.runtime
    helper = env.bind("owned_array", runtime.owned_array, (runtime.__name__, "owned_array"))
    return _assign(acc, gast.IfExp(
        test=gast.Compare(left=_load(out_name), ops=[gast.IsNot()], comparators=[_const(None)]),
        body=_load(out_name),
        orelse=gast.Call(func=_load(helper), args=[_load(name), _load(param)], keywords=[])))


def _into_form(s, namespace, env, results, array_params, out_names, namer, last_use, ret_index,
               shapes):
    """A gradient computed by a helper with an ``into`` form, or as a product of two
    matrices (``h.T @ g``), is written into ``out``."""
    if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
        return None
    name = s.targets[0].id
    if results.get(name) not in array_params or last_use.get(name) != ret_index:
        return None
    if _matrix_product(s.value, shapes):
        product = registry.op(BINOPS[gast.MatMult]).out_form
        param = results[name]
        if product is None or shapes(name) != shapes(param):
            return None
        if param not in out_names:
            out_names[param] = namer.fresh(param + "_out")
        return gast.copy_location(_assign(name, gast.Call(
            func=numpy_ref(env, product), args=[s.value.left, s.value.right],
            keywords=[gast.keyword(arg="out", value=_load(out_names[param]))])), s)
    if not isinstance(s.value, gast.Call):
        return None
    fn = resolve(s.value.func, namespace)
    if _known_sum(fn, s.value) and shapes(name) is not None and shapes(name) == shapes(
            results[name]):       # np.sum(t_bar, axis=0) of a bias: summed into ``out``
        param = results[name]
        if param not in out_names:
            out_names[param] = namer.fresh(param + "_out")
        return gast.copy_location(_assign(name, gast.Call(
            func=s.value.func, args=s.value.args, keywords=s.value.keywords + [
                gast.keyword(arg="out", value=_load(out_names[param]))])), s)
    if s.value.keywords:
        return None
    try:
        into = registry.op(fn).into
    except TypeError:
        return None
    if into is None:
        return None
    param = results[name]
    if param not in out_names:
        out_names[param] = namer.fresh(param + "_out")
    func = _load(env.bind(into.__name__, into, (into.__module__, into.__name__)))
    return gast.copy_location(_assign(name, gast.Call(
        func=func, args=[_load(out_names[param])] + list(s.value.args), keywords=[])), s)


def _known_sum(fn, call):
    """A sum over known axes that the reverse pass wrote for ``unbroadcast`` (its
    ``sum_form``), whose result has exactly the operand's shape."""
    keywords = {k.arg for k in call.keywords}
    return fn is not MISSING and len(call.args) == 1 and "axis" in keywords \
        and keywords <= {"axis", "keepdims"} \
        and any(o.sum_form is fn for o in registry.OPS.values() if o.sum_form is not None)


def _matrix_product(value, shapes):
    """``a @ b`` of two matrices (names, or ``.T`` of names, of 2-d arrays): its result has
    exactly the shape the operands give it, so it may be written into ``out``."""
    def matrix(node):
        if isinstance(node, gast.Attribute) and node.attr == "T":
            node = node.value
        shape = shapes(node.id) if isinstance(node, gast.Name) else None
        return shape is not None and shape[0] == "array" and shape[2] == 2
    return isinstance(value, gast.BinOp) and isinstance(value.op, gast.MatMult) \
        and matrix(value.left) and matrix(value.right)


def _method_form(s, namespace, shapes, param_kinds, placeholders=frozenset(), wide=True):
    """``p = np.sum(a)`` on a float array -> ``p = float(a.sum())``: a Python float is
    the cheapest scalar for the arithmetic that follows (``a.sum()`` only where a
    signature's float array is not float64, ``wide`` false: a float32 sum and what
    follows it stay float32, as in the user's function). Not for a name that may be a
    0.0 standing for zeros (``placeholders``): ``np.sum`` takes both."""
    value = s.value
    if not (isinstance(value, gast.Call) and len(value.args) == 1 and not value.keywords
            and isinstance(value.args[0], gast.Name)) or value.args[0].id in placeholders:
        return None
    fn = resolve(value.func, namespace)
    try:
        method = registry.op(fn).method_form
    except TypeError:
        return None
    shape = shapes(value.args[0].id)
    if method is None or shape is None or shape[0] != "array":
        return None
    call = method_call(value.args[0], method)
    if wide and param_kinds.get(shape[1]) == "array":   # surely a float64 array: a Python float
        call = gast.Call(func=_load("float"), args=[call], keywords=[])
    return gast.copy_location(_assign(s.targets[0].id, call), s)


def numpy_ref(env, ufunc):
    """``np.add`` when NumPy is bound as ``np`` (as it nearly always is)."""
    import numpy
    name = ufunc.__name__
    if getattr(numpy, name, None) is ufunc:
        mod = env.bind("np", numpy, ("numpy", None))
        return gast.Attribute(value=_load(mod), attr=name, ctx=gast.Load())
    return _load(env.bind(name, ufunc, ("numpy", name)))


def _results(ret, wrt):
    """Names handed to finalize in the return statement -> the parameter they belong to."""
    out = {}
    value = ret.value
    if not isinstance(value, gast.Tuple) or len(value.elts) != 2:
        return out
    grads = value.elts[1]
    if not isinstance(grads, gast.Tuple):
        return out
    for p, e in zip(wrt, grads.elts, strict=False):
        if isinstance(e, gast.Call) and e.args and isinstance(e.args[0], gast.Name):
            out[e.args[0].id] = p
    return out

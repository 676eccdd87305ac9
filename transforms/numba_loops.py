"""Elementwise runs as one loop in the numba core.

The NumPy backend writes an elementwise chain as one ufunc call per operation
into a work buffer; compiled, each call is its own pass over memory. At large
sizes the passes, not the arithmetic, cost the time. A run of two or more such
calls (``NAME = ufunc(operands..., OUT)``, after ``numba_buffers.ufunc_outs``),
optionally ended by the sum of one of them, becomes one loop over the entries,
guarded at run time: every array it reads or writes must have the shape of the
first output and be C-contiguous (no broadcasting, flat indexing is the entry
order); otherwise the original calls run. Before::

    rho_t = np.add(x, 1.0, work)
    rho_t2 = np.multiply(-3.0, rho_t, work)
    rho_t3 = np.exp(rho_t2, work)
    p = float(rho_t3.sum())

After::

    if _rt.fits(work, work) and _rt.fits(x, work):
        x_f = _rt.flat(x)
        work_f = _rt.flat(work)
        p_acc = _rt.acc_zero(work_f)
        for i_f in range(work.size):
            work_f[i_f] = np.add(_rt.item(x_f, i_f), 1.0)
            work_f[i_f] = np.multiply(-3.0, _rt.item(work_f, i_f))
            work_f[i_f] = np.exp(_rt.item(work_f, i_f))
            p_acc += work_f[i_f]
        rho_t = work
        rho_t2 = work
        rho_t3 = work
        p = float(p_acc)
    else:
        ... the four statements as they were

Entry i of each call reads only entry i of its operands, so running all calls
for entry i before entry i + 1 gives the same values (a sum adds in another
order: to rounding).

With ``parallel=True`` (``srcad.differentiate(..., backend="numba", parallel=True)``)
a run outside any loop becomes a kernel of its own, compiled with
``numba.njit(parallel=True)`` and called from the (serial) core with the flat
views: its loop is a ``prange`` and its sum a reduction. Only these kernels, whose
whole text is written here, are compiled for threads: numba's parallel
transformation of code that writes through a view another function returned
loses the writes (seen with ``_rt.flat`` inside a ``prange``), so it never sees the
rest of the core::

    @_njit_parallel
    def rho_t_loop(x_f, work_f):
        p_acc = _rt.acc_zero(work_f)
        for i_f in _prange(work_f.size):
            ...
        return p_acc
"""
import gast
import numpy as np

from srcad.transforms.blocks import clone
from srcad.transforms.exits import _assign, _const, _load
from srcad.transforms.numba_buffers import arguments, call as _call, is_comment as _is_comment
from srcad.transforms.numba_buffers import rt_call as _rt
from srcad.transforms.parse import resolve
from srcad.transforms.rules import registry


def _target(s):
    if isinstance(s, gast.Assign) and len(s.targets) == 1 \
            and isinstance(s.targets[0], gast.Name):
        return s.targets[0].id
    return None


def _ufunc_call(s, namespace):
    """(ufunc node, operands, out name) of ``NAME = ufunc(a, b, OUT)``, else None."""
    if _target(s) is None or not isinstance(s.value, gast.Call) or s.value.keywords:
        return None
    f = s.value.func
    obj = None
    if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name):
        obj = getattr(namespace.get(f.value.id), f.attr, None)
    if not isinstance(obj, np.ufunc) or obj.nout != 1 or len(s.value.args) != obj.nin + 1:
        return None
    *operands, out = s.value.args
    if not isinstance(out, gast.Name) or not all(
            isinstance(a, gast.Name) or isinstance(a, gast.Constant)
            and type(a.value) in (int, float) for a in operands):
        return None
    return f, operands, out.id


def _summed(s, names):
    """The name summed by ``NAME = float(A.sum())`` or ``NAME = A.sum()`` (A in names)."""
    v = summed_expr(s)
    return v.id if isinstance(v, gast.Name) and v.id in names else None


def summed_expr(s, namespace=None):
    """The expression ``NAME = s`` sums whole: ``e.sum()``, ``float(e.sum())``, and with
    ``namespace`` also ``np.sum(e)`` (a function whose rule names the method form
    ``sum``); else None."""
    v = s.value if _target(s) is not None else None
    if isinstance(v, gast.Call) and isinstance(v.func, gast.Name) and v.func.id == "float" \
            and len(v.args) == 1 and not v.keywords \
            and (namespace is None or namespace.get("float", float) is float):
        v = v.args[0]
    if not isinstance(v, gast.Call) or v.keywords:
        return None
    if not v.args and isinstance(v.func, gast.Attribute) and v.func.attr == "sum":
        return v.func.value
    if namespace is not None and len(v.args) == 1:
        try:
            method = registry.op(resolve(v.func, namespace)).method_form
        except Exception:       # noqa: BLE001 -- not a function this code resolves
            return None
        if method is not None and method[0] == "sum" and not method[1]:
            return v.args[0]
    return None


def fuse(stmts, namespace, fresh, kernels=None):
    """``stmts`` with each elementwise run of two or more ufunc calls as a guarded loop
    (in nested blocks too). ``kernels``: a list, for parallel kernels (see the module
    text): the runs outside loops call a kernel appended to it (inside a loop, a
    kernel would start its threads on every trip: those stay loops)."""
    out, k = [], 0
    while k < len(stmts):
        s = stmts[k]
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                in_loop = isinstance(s, (gast.For, gast.While))
                setattr(s, field, fuse(inner, namespace, fresh, None if in_loop else kernels))
        run, comments, j = [], [], k
        while j < len(stmts):
            if _is_comment(stmts[j]):
                comments.append(stmts[j])
            elif _ufunc_call(stmts[j], namespace) is not None:
                run.append(stmts[j])
            else:
                break
            j += 1
        summed = None
        if run and j < len(stmts) and _summed(stmts[j], {_target(r) for r in run}):
            summed = stmts[j]
            j += 1
        if len(run) + (summed is not None) >= 2:
            out.extend(comments)
            out.append(_loop(run, summed, namespace, fresh, kernels))
            k = j
            continue
        out.append(s)
        k += 1
    return out


def _for(i, over, size, body):
    return gast.For(target=gast.Name(id=i, ctx=gast.Store(), annotation=None,
                                     type_comment=None),
                    iter=_call(_load(over), size), body=body, orelse=[], type_comment=None)


def _loop(run, summed, namespace, fresh, kernels=None):
    alias = {}                         # a result name -> the buffer it is
    arrays = []                        # every name read or written, in order of first use
    for s in run:
        _, operands, buf = _ufunc_call(s, namespace)
        for a in operands:
            if isinstance(a, gast.Name):
                name = alias.get(a.id, a.id)
                if name not in arrays:
                    arrays.append(name)
        if buf not in arrays:
            arrays.append(buf)
        alias[_target(s)] = buf
    first = _ufunc_call(run[0], namespace)[2]
    test = _rt("fits", _load(first), _load(first))     # the first output: its layout
    for name in arrays:
        if name == first:
            continue
        check = _rt("fits", _load(name), _load(first))
        test = gast.BoolOp(op=gast.And(), values=[test, check])
    flat = {name: fresh(f"{name}_f") for name in arrays}
    i = fresh("i_f")
    body = [_assign(flat[name], _rt("flat", _load(name))) for name in arrays]
    acc = None
    if summed is not None:
        acc = fresh(f"{_target(summed)}_acc")
        total = flat[alias[_summed(summed, set(alias))]]
        body.append(_assign(acc, _rt("acc_zero", _load(total))))
    trip, now = [], {}                  # now: the aliases as of the statement
    for s in run:
        func, operands, buf = _ufunc_call(s, namespace)
        args = [_rt("item", _load(flat[now.get(a.id, a.id)]), _load(i))
                if isinstance(a, gast.Name) else clone(a) for a in operands]
        now[_target(s)] = buf
        trip.append(gast.Assign(
            targets=[gast.Subscript(value=_load(flat[buf]), slice=_load(i), ctx=gast.Store())],
            value=_call(clone(func), *args), type_comment=None))
    if summed is not None:
        trip.append(gast.AugAssign(target=gast.Name(id=acc, ctx=gast.Store(), annotation=None,
                                                    type_comment=None), op=gast.Add(),
                                   value=gast.Subscript(value=_load(total),
                                                        slice=_load(i), ctx=gast.Load())))
    if kernels is None:
        size = gast.Attribute(value=_load(first), attr="size", ctx=gast.Load())
        body.append(_for(i, "range", size, trip))
    else:                               # the views and the sum go in, the loop in a kernel
        views, prologue = body[:len(arrays)], body[len(arrays):]
        size = gast.Attribute(value=_load(flat[first]), attr="size", ctx=gast.Load())
        result = [gast.Return(value=_load(acc) if acc is not None else _const(None))]
        kernel = gast.FunctionDef(
            name=fresh(f"{_target(run[0])}_loop"), args=arguments([flat[n] for n in arrays]),
            body=prologue + [_for(i, "_prange", size, trip)] + result, decorator_list=[],
            returns=None, type_comment=None)
        kernels.append(gast.copy_location(kernel, run[0]))
        called = _call(_load(kernel.name), *[v.value for v in views])
        body = [_assign(acc, called) if acc is not None else gast.Expr(value=called)]
    body += [_assign(_target(s), _load(alias[_target(s)])) for s in run]
    if summed is not None:
        value = _load(acc)
        if isinstance(summed.value, gast.Call) and isinstance(summed.value.func, gast.Name):
            value = _call(_load("float"), value)
        body.append(_assign(_target(summed), value))
    kept = run + ([summed] if summed is not None else [])
    node = gast.If(test=test, body=body, orelse=kept)
    return gast.copy_location(node, run[0])

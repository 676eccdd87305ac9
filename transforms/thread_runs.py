"""Elementwise runs on threads, in the NumPy code of a ``parallel=True`` function.

numba compiles ``np.exp`` and the other transcendental ufuncs to a loop calling the
scalar function; NumPy's own loops are SIMD ones, several times faster per entry. On
large arrays a function without a loop of the user's may then run faster as NumPy
code (``srcad/numba_wide.py`` picks per machine), and with ``parallel=True`` that
NumPy code runs each run of ufunc calls into buffers on all cores: NumPy releases the
interpreter lock inside its loops, so one slice of the entries per thread runs at
the same time. Before::

    rho_t = np.add(x, 1.0, out=work)
    rho_t2 = np.multiply(-3.0, rho_t, out=work)
    rho_t3 = np.exp(rho_t2, out=work)
    p = float(rho_t3.sum())

After::

    if _rt.threads_fit((work,), (x,)):
        def rho_t_part(x, work):
            rho_t = np.add(x, 1.0, out=work)
            rho_t2 = np.multiply(-3.0, rho_t, out=work)
            rho_t3 = np.exp(rho_t2, out=work)
            return rho_t3.sum()
        p_part = _rt.threads_run(rho_t_part, x, work)
        rho_t = work
        rho_t2 = work
        rho_t3 = work
        p = float(p_part)
    else:
        ... the four statements as they were

The part is the run's own statements, called on one slice of every array at a time
(each array a flat view of the same entries; numbers are passed whole). Entry i of
each call reads only entry i of its operands, so running the calls slice by slice
gives the same values; the sum adds its slices' sums in a fixed order (to rounding).
``threads_fit`` says when that holds at run time (``srcad/threads.py``): large
arrays, every array of the first buffer's shape and C-contiguous, numbers otherwise,
and no buffer sharing memory with another array unless it is that very array;
otherwise the statements run as they were. Runs inside a loop stay as they are
(starting threads on every trip costs more than it gains).
"""
import gast
import numpy as np

from srcad.transforms.blocks import clone, fresh_names, walk
from srcad.transforms.exits import _assign, _load, rt_call
from srcad.transforms.numba_buffers import arguments, call, is_comment
from srcad.transforms.numba_loops import _summed, _target


def split(fn_node, env):
    """A copy of ``fn_node`` (a generated NumPy function) with its elementwise runs
    outside loops run on threads when they fit (see the module text)."""
    fn_node = clone(fn_node)
    taken = {n.id for n in walk(fn_node) if isinstance(n, gast.Name)} | set(env.namespace)
    fn_node.body = _runs(fn_node.body, env, fresh_names(taken, "_"))
    return fn_node


def _ufunc_call(s, namespace):
    """(operands, out name) of ``NAME = ufunc(a, b, out=OUT)`` (the operands names or
    numbers, the ufunc one of one output), else None."""
    v = s.value if _target(s) is not None else None
    if not isinstance(v, gast.Call) or not isinstance(v.func, gast.Attribute) \
            or not isinstance(v.func.value, gast.Name):
        return None
    obj = getattr(namespace.get(v.func.value.id), v.func.attr, None)
    if not isinstance(obj, np.ufunc) or obj.nout != 1 or len(v.args) != obj.nin \
            or len(v.keywords) != 1 or v.keywords[0].arg != "out" \
            or not isinstance(v.keywords[0].value, gast.Name):
        return None
    if not all(isinstance(a, gast.Name) or isinstance(a, gast.Constant)
               and type(a.value) in (int, float) for a in v.args):
        return None
    return v.args, v.keywords[0].value.id


def _runs(stmts, env, fresh):
    out, k = [], 0
    while k < len(stmts):
        s = stmts[k]
        if not isinstance(s, (gast.For, gast.While, gast.FunctionDef)):
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                    setattr(s, field, _runs(inner, env, fresh))
        run, j = [], k
        while j < len(stmts) and (is_comment(stmts[j])
                                  or _ufunc_call(stmts[j], env.namespace) is not None):
            run.append(stmts[j])
            j += 1
        while run and is_comment(run[-1]):          # trailing comments belong to what follows
            run.pop()
            j -= 1
        calls = [r for r in run if not is_comment(r)]
        ahead = j
        while ahead < len(stmts) and is_comment(stmts[ahead]):
            ahead += 1
        if calls and ahead < len(stmts) and _summed(stmts[ahead], {_target(r) for r in calls}):
            run += stmts[j:ahead + 1]               # the sum ending the run, its comments
            j = ahead + 1
        if calls:
            out.append(_threaded(run, env, fresh))
            k = j
            continue
        out.append(s)
        k += 1
    return out


def _threaded(run, env, fresh):
    """The guarded form of one run (its statements, comments included, the sum last)."""
    calls = [r for r in run if not is_comment(r) and _ufunc_call(r, env.namespace)]
    summed = run[-1] if run[-1] not in calls else None
    alias, outs, reads, params = {}, [], [], []   # alias: a run target -> its buffer
    for s in calls:
        operands, buf = _ufunc_call(s, env.namespace)
        for a in operands:
            if isinstance(a, gast.Name) and a.id not in alias and a.id not in params:
                params.append(a.id)
                reads.append(a.id)
        buf = alias.get(buf, buf)
        if buf not in params:
            params.append(buf)
        if buf not in outs:
            outs.append(buf)
        alias[_target(s)] = buf
    part = fresh(f"{_target(calls[0])}_part")
    body = [clone(s) for s in run if s is not summed]
    result = None
    wrapped = summed is not None and isinstance(summed.value.func, gast.Name)  # float(A.sum())
    if summed is not None:
        sum_call = summed.value.args[0] if wrapped else summed.value
        body.append(gast.Return(value=clone(sum_call)))
        result = fresh(f"{_target(summed)}_part")
    fn = gast.FunctionDef(name=part, args=arguments(params), body=body, decorator_list=[],
                          returns=None, type_comment=None)
    ran = rt_call(env, "threads_run", _load(part), *[_load(p) for p in params])
    then = [gast.copy_location(fn, calls[0]),
            _assign(result, ran) if result is not None else gast.Expr(value=ran)]
    then += [_assign(_target(s), _load(alias[_target(s)])) for s in calls]
    if summed is not None:
        value = call(_load("float"), _load(result)) if wrapped else _load(result)
        then.append(_assign(_target(summed), value))
    test = rt_call(env, "threads_fit", _tuple(outs), _tuple([r for r in reads if r not in outs]))
    return gast.copy_location(gast.If(test=test, body=then, orelse=run), calls[0])


def _tuple(names):
    return gast.Tuple(elts=[_load(n) for n in names], ctx=gast.Load())

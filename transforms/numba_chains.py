"""Elementwise chains that allocate, as one loop in the numba core.

A forward pass (and any code the buffer plan leaves allocating) computes an
elementwise chain one array expression per statement; compiled, each statement
is a pass over memory and a new array, which at small sizes costs more than the
arithmetic. A run of such statements at the top of the core, with the sums that
end it, becomes one loop over the entries that keeps each intermediate a number
and writes only the arrays read after the run. Guarded at run time: every array
it reads must be a C-contiguous float64, int64 or bool array of one shape and
every other operand a real number (``_rt.wide``), else the statements run as
they were. Before::

    f_t = xs - m
    f_t_dot = -m_dot
    f_t2 = f_t ** 2
    f_t4 = np.exp(-1.5 * f_t2)
    t = d * f_t4
    t2 = t.sum()

After (``f_t_dot`` reads nothing the run binds: it moves before it)::

    f_t_dot = -m_dot
    if _rt.wide(xs, xs) and _rt.wide(d, xs):
        xs_f = _rt.flat(xs)
        d_f = _rt.flat(d)
        f_t4 = _rt.floats_like(xs)             # read after the run
        f_t4_f = _rt.flat(f_t4)
        t2_acc = 0.0
        for i_c in range(xs.size):
            f_t_e = _rt.item(xs_f, i_c) - m
            f_t2_e = f_t_e * f_t_e
            f_t4_e = np.exp(-1.5 * f_t2_e)
            f_t4_f[i_c] = f_t4_e
            t_e = _rt.item(d_f, i_c) * f_t4_e
            t2_acc += t_e
        t2 = t2_acc
    else:
        ... the statements as they were

Entry i of each statement reads only entry i of its operands, so computing every
statement for entry i before entry i + 1 gives the same numbers; a sum adds in
another order (to rounding). ``a / b`` and ``a ** b`` become NumPy's ufuncs on
numbers (``_rt.np_divide``, ``_rt.np_power``: inf and nan as NumPy's arrays give
them, not ZeroDivisionError); ``a ** 2``, ``a ** 0.5`` and ``a ** -1`` what NumPy
computes for them on arrays (``a * a``, ``np.sqrt(a)``, ``1.0 / a``).

What a run holds: statements ``NAME = e`` where ``e`` is built from names, int and
float constants, ``+ - * / **``, unary minus and ufuncs (one output, float64 for
float64 inputs), with an operand known as an array and one known to be a float
(so the result is a float64 array of the guarded shape); sums (``a.sum()``,
``float(a.sum())``, ``np.sum(a)``) of such a result; and statements of that form
that read nothing the run binds (moved before it). Every name the run binds is
bound once in the core. Arrays of other ranks (broadcasting), names no fact
covers, and a specialisation that may meet float32 or complex numbers
(``srcad/numba_dtypes.py``) keep their statements.
"""
import builtins
import collections

import gast
import numpy as np

from srcad.transforms.blocks import clone, walk
from srcad.transforms.exits import _assign, _const, _load
from srcad.transforms.numba_buffers import call as _call, is_comment as _is_comment
from srcad.transforms.numba_buffers import rt_call as _rt
from srcad.transforms.numba_loops import _for, _target, summed_expr
from srcad.transforms.parse import resolve

_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)
_F64 = np.dtype(np.float64)


def fuse(body, namespace, fresh, shapes, floats, params, primals=None):
    """``body`` (a numba core's statements) with each run of allocating elementwise
    statements at its top level as a guarded loop (see the module text).

    ``shapes``: name -> shape fact (transforms/shapes.py); ``floats``: (parameters, names
    of ``namespace``) that hold a float or a float64 array (a name the core binds itself
    is its own); ``params``: the core's parameters; ``primals``: tangent
    or cotangent name -> its primal (a tangent has its primal's rank, or is a number)."""
    stores = collections.Counter(n.id for s in body for n in walk(s)
                                 if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load))
    own, outer = floats
    reals = {n for n in own if not stores[n]} | {n for n in outer
                                                 if not stores[n] and n not in params}
    stores.update(params)
    plan = _Plan(namespace, shapes, reals, stores, primals or {})
    out, k = [], 0
    while k < len(body):
        taken = plan.take(body, k)
        if taken is not None:
            *parts, j = taken
            out.extend(plan.lower(*parts, body[j:], fresh))
            k = j
            continue
        plan.learn(body[k])
        out.append(body[k])
        k += 1
    return out


class _Plan:
    def __init__(self, namespace, shapes, reals, stores, primals):
        self.namespace, self.shapes, self.reals = namespace, shapes, reals
        self.stores, self.primals = stores, primals

    # ------------------------------------------------------------ what names are
    def rank(self, name):
        """The rank of ``name``'s array, 0 for a number, None when not known; a tangent
        without a fact: its primal's rank, or a number (("tangent", rank))."""
        if name in self.primals:     # (its fact may say array where it is a 0.0)
            base = self.rank(self.primals[name])
            return None if base is None else ("tangent", base if isinstance(base, int) else None)
        fact = self.shapes.get(name)
        if fact == ("scalar",):
            return 0
        if fact and fact[0] == "array" and isinstance(fact[2], int) and fact[2] > 0:
            return fact[2]
        return None                     # (unknown, or a 0-d array: no entry of its own)

    def is_float(self, node, bound):
        """Is the number or array ``node`` surely a float (a float64 array or a float)?"""
        if isinstance(node, gast.Constant):
            return type(node.value) is float
        if isinstance(node, gast.Name):
            return node.id in bound or node.id in self.reals
        return False

    def ufunc(self, node):
        """The float-valued ufunc a call node calls with positional operands, else None."""
        if not isinstance(node, gast.Call) or node.keywords:
            return None
        try:
            obj = resolve(node.func, self.namespace)
        except Exception:       # noqa: BLE001 -- not a name this code can resolve
            return None
        if not isinstance(obj, np.ufunc) or obj.nout != 1 or obj.nin != len(node.args):
            return None
        try:
            out = obj.resolve_dtypes((_F64,) * obj.nin + (None,))[-1]
        except (TypeError, ValueError, AttributeError):
            return None
        return obj if out == _F64 else None

    def leaves(self, node, bound=()):
        """The operand leaves of an elementwise expression, or None if it is not one."""
        if isinstance(node, gast.Name):
            return [node]
        if isinstance(node, gast.Constant):
            return [node] if type(node.value) in (int, float) else None
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
            return self.leaves(node.operand, bound)
        if isinstance(node, gast.BinOp) and isinstance(node.op, _OPS):
            left, right = self.leaves(node.left, bound), self.leaves(node.right, bound)
            if left is None or right is None:
                return None
            if isinstance(node.op, gast.Pow) and not any(self.is_float(n, bound) for n in left):
                return None             # (an int to a negative int power: NumPy raises)
            return left + right
        if self.ufunc(node) is not None:
            parts = [self.leaves(a, bound) for a in node.args]
            return None if any(p is None for p in parts) else [n for p in parts for n in p]
        return None

    # ------------------------------------------------------------ a run
    def take(self, body, k):
        """(comments, hoisted, run, ref, outside, j) of the run starting at ``body[k]``, or
        None when there is none worth a loop."""
        bound = {}                      # a name the run binds -> "array" or "sum"
        comments, hoisted, run, ref, rank = [], [], [], None, None
        for s in body[k:]:
            if _is_comment(s):
                comments.append(s)
                continue
            name = _target(s)
            if name is None or self.stores[name] != 1:
                break
            leaves = self.leaves(s.value, bound)
            if isinstance(s.value, (gast.Name, gast.Constant)):
                leaves = None           # (a copy of a name computes nothing)
            summed = self._summed(s) if leaves is None else None
            if leaves is not None:
                reads = {n.id for n in leaves if isinstance(n, gast.Name)}
                if any(bound.get(n) == "sum" for n in reads):
                    break                       # a sum is whole only after the loop
                fit = self._fits(leaves, rank, bound)
                if fit is not None:
                    ref, rank = ref or fit[0], fit[1]
                    bound[name] = "array"
                    run.append(s)
                elif not reads & set(bound):
                    hoisted.append(s)           # reads nothing of the run: before it
                else:
                    break
            elif summed is not None and self._fits(self.leaves(summed, bound) or (), rank,
                                                   bound) is not None:
                fit = self._fits(self.leaves(summed, bound), rank, bound)
                ref, rank = ref or fit[0], fit[1]
                bound[name] = "sum"
                run.append(s)
            else:
                break
        whole = [s for s in run if not isinstance(self._summed(s), (gast.Name, type(None)))]
        if ref is None or len(run) < 2 and not whole:
            return None                 # (a loop saves an array only then)
        j = body.index(run[-1]) + 1
        hoisted = [h for h in hoisted if body.index(h) < j]
        comments = [c for c in comments if body.index(c) < j]
        outside = []
        for s in run:
            leaves = self.leaves(s.value, bound) or self.leaves(self._summed(s), bound)
            reads = [n.id for n in leaves if isinstance(n, gast.Name)]
            outside += [n for n in reads if n not in bound and n not in outside]
        self.bound = bound
        return comments, hoisted, run, ref, outside, j

    def _fits(self, leaves, rank, bound):
        """(the first array among ``leaves`` bound outside the run or None, the rank) when
        the statement makes a float64 array of the run's rank, else None."""
        first, ranks, has_array, has_float = None, [], False, False
        for n in leaves:
            has_float = has_float or self.is_float(n, bound)
            if not isinstance(n, gast.Name):
                continue
            if n.id in bound:
                has_array = True
                continue
            r = self.rank(n.id)
            if r is None:
                return None
            if isinstance(r, tuple):            # a tangent: a number or its primal's rank
                if r[1] is None:
                    return None
                if r[1]:
                    ranks.append(r[1])
                continue
            if r:
                ranks.append(r)
                has_array = True
                first = first or n.id
        ranks += [rank] if rank is not None else []
        if not (has_array and has_float) or not ranks or len(set(ranks)) != 1:
            return None
        return first, ranks[0]

    def _summed(self, s):
        return summed_expr(s, self.namespace)

    def learn(self, s):
        """Names a statement outside any run surely binds to a float (a real number)."""
        name = _target(s)
        if name is None or self.stores[name] != 1:
            return
        v = s.value
        if isinstance(v, gast.Call) and isinstance(v.func, gast.Name) and v.func.id == "float" \
                and self.namespace.get("float", float) is float:
            self.reals.add(name)
        elif self.rank(name) == 0 and self.leaves(v) is not None and (
                isinstance(v, gast.BinOp) and isinstance(v.op, gast.Div)
                or any(self.is_float(n, ()) for n in self.leaves(v))):
            self.reals.add(name)

    # ------------------------------------------------------------ the loop
    def lower(self, comments, hoisted, run, ref, outside, rest, fresh):
        later = {n.id for s in rest for n in walk(s)
                 if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        plain = {n for n in outside if self.rank(n) == 0 and n in self.reals}
        viewed = [n for n in outside if n not in plain]
        test = _rt("wide", _load(ref), _load(ref))
        for n in viewed:
            if n != ref:
                test = gast.BoolOp(op=gast.And(), values=[test, _rt("wide", _load(n), _load(ref))])
        flat = {n: fresh(f"{n}_f") for n in viewed}
        i = fresh("i_c")
        body = [_assign(flat[n], _rt("flat", _load(n))) for n in viewed]
        entry, kept, accs = {}, {}, {}
        for s in run:
            name = _target(s)
            if self.bound[name] == "array":
                entry[name] = fresh(f"{name}_e")
                if name in later:
                    kept[name] = fresh(f"{name}_f")
                    body += [_assign(name, _rt("floats_like", _load(ref))),
                             _assign(kept[name], _rt("flat", _load(name)))]
            else:
                accs[name] = fresh(f"{name}_acc")
                body.append(_assign(accs[name], _const(0.0)))
        trip = []
        for s in run:
            name = _target(s)
            if name in entry:
                trip.append(_assign(entry[name], self._entry(s.value, entry, flat, i)))
                if name in kept:
                    trip.append(gast.Assign(targets=[gast.Subscript(
                        value=_load(kept[name]), slice=_load(i), ctx=gast.Store())],
                        value=_load(entry[name]), type_comment=None))
            else:
                trip.append(gast.AugAssign(
                    target=gast.Name(id=accs[name], ctx=gast.Store(), annotation=None,
                                     type_comment=None),
                    op=gast.Add(), value=self._entry(self._summed(s), entry, flat, i)))
        body.append(_for(i, "range", gast.Attribute(value=_load(ref), attr="size",
                                                    ctx=gast.Load()), trip))
        for s in run:
            name = _target(s)
            if name in accs:
                body.append(_assign(name, _load(accs[name])))
        node = gast.copy_location(gast.If(test=test, body=body, orelse=list(run)), run[0])
        return comments + hoisted + [node]

    def _entry(self, node, entry, flat, i):
        """``node`` computed for entry ``i``: the run's names as their numbers, the
        other arrays as their entry."""
        if isinstance(node, gast.Name):
            if node.id in entry:
                return _load(entry[node.id])
            if node.id in flat:
                return _rt("item", _load(flat[node.id]), _load(i))
            return _load(node.id)
        if isinstance(node, gast.Constant):
            return clone(node)
        if isinstance(node, gast.UnaryOp):
            return gast.UnaryOp(op=gast.USub(), operand=self._entry(node.operand, entry, flat, i))
        if isinstance(node, gast.BinOp):
            left = self._entry(node.left, entry, flat, i)
            right = self._entry(node.right, entry, flat, i)
            if isinstance(node.op, gast.Div):
                return _rt("np_divide", left, right)
            if isinstance(node.op, gast.Pow):   # NumPy's own forms of these powers
                p = node.right.value if isinstance(node.right, gast.Constant) else None
                if p == 2 and isinstance(node.left, gast.Name):
                    return gast.BinOp(left=left, op=gast.Mult(), right=clone(left))
                if p == 0.5:
                    return _rt("np_sqrt", left)
                if p == -1:
                    return _rt("np_divide", _const(1.0), left)
                return _rt("np_power", left, right)
            return gast.BinOp(left=left, op=node.op.__class__(), right=right)
        return _call(clone(node.func), *[self._entry(a, entry, flat, i) for a in node.args])


def negative_powers(fn, namespace=None):
    """``a ** -1`` (an int constant below 0) in the numba core ``fn`` as
    ``_rt.neg_power(a, -1)``: numba's integer power of a float raises ZeroDivisionError
    at a zero base, where NumPy gives inf, and of an int gives an int (0 for ``2 ** -2``,
    a float in Python); ``a ** k`` for an exponent that is no constant as
    ``_rt.py_power(a, k)``, which compiles an int to an int power nowhere (Python's
    result is a float or an exact integer of any size, numba's an int64). The builtin
    ``pow(a, k)`` (``namespace`` does not rebind it) the same."""
    fn_pow = (namespace or {}).get("pow", builtins.pow)
    def lowered(v):
        if isinstance(v, gast.Call) and isinstance(v.func, gast.Name) and v.func.id == "pow" \
                and len(v.args) == 2 and not v.keywords and fn_pow is builtins.pow:
            v = gast.BinOp(left=v.args[0], op=gast.Pow(), right=v.args[1])   # (the same)
        if not (isinstance(v, gast.BinOp) and isinstance(v.op, gast.Pow)):
            return v
        if _negative_int(v.right):
            return _rt("neg_power", v.left, v.right)
        if not _constant(v.right):
            return _rt("py_power", v.left, v.right)
        return v
    for node in walk(fn):
        for field, value in gast.iter_fields(node):
            if isinstance(value, list):
                value[:] = [lowered(v) for v in value]
            else:
                setattr(node, field, lowered(value))
    return fn


def _constant(node):
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        node = node.operand
    return isinstance(node, gast.Constant)


def _negative_int(node):
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        node = node.operand
        return isinstance(node, gast.Constant) and type(node.value) is int and node.value > 0
    return isinstance(node, gast.Constant) and type(node.value) is int and node.value < 0

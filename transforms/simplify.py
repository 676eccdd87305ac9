"""Tidy the generated function: first contributions assign, dead code goes.

Before::

    p_bar = 0.0
    t_bar = seed
    p_bar = p_bar + t_bar * 2.0
    unused = x * 3.0

After::

    t_bar = seed
    p_bar = t_bar * 2.0

- ``c = 0.0`` followed in the same block by ``c = c + e`` (nothing reading ``c``
  in between) becomes ``c = e`` -- unless ``c`` is updated in place later
  (``_rt.item_acc``/``_rt.zero_item``), which needs an array of its own;
- ``t_bar = e`` then ``x_bar = t_bar`` (``t_bar`` read nowhere else) is ``x_bar = e``;
- ``t_bar = -a`` then ``x_bar[i] += t_bar`` is ``x_bar[i] -= a``, and ``c = c + t_bar * e``
  is ``c = c - a * e``;
- ``a = b`` then ``b = a`` (``b`` not rebound between) is one name (a loop's carried
  cotangent through an ``if``);
- ``c = e1`` then ``c = c + e2`` on one user line, for a number ``c``, is one sum;
- ``c = c + 0.0``-style no-ops and copies of a name to itself go;
- assignments to names nobody reads, of values without side effects, go.
"""

from collections import Counter

import gast

from srcad.transforms import dead_stores, negations
from srcad.transforms.blocks import accumulation as _accumulation, clone, counts, \
    each_block as _each_block, children_fields, loads as _loads, rewrite, statement_owners, \
    stores as _stores, walk

_PURE = (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp, gast.Tuple, gast.List,
         gast.Compare, gast.Attribute, gast.Subscript)


def owned_names(fn):
    """Cotangents that are updated in place and must not alias another value."""
    out = set()
    for n in walk(fn):
        if isinstance(n, (gast.AugAssign, gast.Assign)):
            for t in (n.targets if isinstance(n, gast.Assign) else [n.target]):
                if isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name):
                    out.add(t.value.id)
        if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) \
                and n.func.attr in ("item_acc", "zero_item", "attr_acc", "pop_cot") \
                and n.args and isinstance(n.args[0], gast.Name):
            out.add(n.args[0].id)
    return out


def _is_zero_init(s):
    return isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
        and isinstance(s.value, gast.Constant) and s.value.value == 0.0 \
        and not isinstance(s.value.value, bool)


def _first_assign(stmts, owned):
    zero = {}         # name -> index of its pending `= 0.0`
    drop = set()
    for k, s in enumerate(stmts):
        acc = _accumulation(s)
        if acc is not None and acc[0] in zero and acc[0] not in owned \
                and acc[0] not in _loads(acc[1]):
            name, expr = acc
            s.value = expr
            drop.add(zero.pop(name))
            continue
        for name in _loads(s):
            zero.pop(name, None)
        if isinstance(s, (gast.If, gast.For, gast.While)):
            for n in walk(s):
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                    zero.pop(n.id, None)
            for field in ("body", "orelse"):
                setattr(s, field, _first_assign(getattr(s, field), owned) or
                        ([gast.Pass()] if field == "body" else []))
        if _is_zero_init(s):
            zero[s.targets[0].id] = k
    return [s for k, s in enumerate(stmts) if k not in drop]


def substitute(node, mapping):
    """``node`` with each name it reads that ``mapping`` maps replaced: by the name a
    string gives, or by the constant of a ``gast.Constant`` (in place; a bare name read is
    returned replaced)."""
    def change(n):
        if n.__class__ is gast.Name and n.id in mapping and isinstance(n.ctx, gast.Load):
            new = mapping[n.id]
            if isinstance(new, str):
                return gast.copy_location(gast.Name(id=new, ctx=gast.Load(), annotation=None,
                                                   type_comment=None), n)
            return gast.copy_location(gast.Constant(value=new.value, kind=None), n)
        return None
    return rewrite(node, change) if mapping else node


def _propagate(stmts, protected):
    """Forward-substitute copies (``a = b``, ``a = 1.0``) within one straight block."""
    copies = {}
    out = []
    for s in stmts:
        compound = isinstance(s, (gast.If, gast.For, gast.While))
        if compound:
            for field in ("body", "orelse"):
                setattr(s, field, _propagate(getattr(s, field), protected) or
                        ([gast.Pass()] if field == "body" else []))
            stored = _stores(s)
            live = {a: b for a, b in copies.items()
                    if a not in stored and (not isinstance(b, str) or b not in stored)}
            s = substitute(s, live)
        elif copies:
            s = substitute(s, copies)
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                and isinstance(s.value, gast.Name) and s.value.id == s.targets[0].id:
            continue                                  # a = a
        for name in _stores(s):
            copies.pop(name, None)
            for a in [a for a, b in copies.items() if b == name]:
                del copies[a]
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                and s.targets[0].id not in protected:
            v = s.value
            if isinstance(v, gast.Name) or (isinstance(v, gast.Constant)
                                            and isinstance(v.value, (int, float))
                                            and not isinstance(v.value, bool)):
                copies[s.targets[0].id] = v.id if isinstance(v, gast.Name) else v
        out.append(s)
    return out


def _coalesce(fn, named, cotangents, protected):
    """``t_bar = e`` ... ``x_bar = t_bar`` (each name bound once, ``t_bar`` a cotangent read
    only by the copy, ``x_bar`` in ``named``) -> ``x_bar = e``: a gradient keeps its own
    name (``x_bar``), not the name of an inlined helper's temporary (``rho_t_bar``)."""
    stores, loads = counts(fn)

    def visit(stmts):
        out = []
        for s in stmts:
            _each_block(s, visit)
            k = takes_over(out, s)
            if k is None:
                out.append(s)
                continue
            while True:         # the definition renamed may be a copy itself: x_bar = t2_bar
                out[k].targets[0].id = s.targets[0].id
                s, j = out[k], k
                k = takes_over(out[:j], s)
                if k is None:
                    break
                del out[j]
        return out

    def takes_over(before, s):
        """The index in ``before`` of the definition that the copy ``s`` may take over."""
        if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                and isinstance(s.value, gast.Name)):
            return None
        a, b = s.targets[0].id, s.value.id
        k = definition(before, b)
        if a != b and a in named and b in cotangents and b not in protected \
                and k is not None and stores.get(a) == 1 and stores.get(b) == 1 \
                and loads.get(b) == 1 and not any(a in _loads(t) for t in before[k:]):
            return k
        return None

    fn.body = visit(fn.body)


def definition(stmts, name):
    """The index of the statement of ``stmts`` that binds ``name`` (a plain assignment)."""
    for k in range(len(stmts) - 1, -1, -1):
        s = stmts[k]
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                and s.targets[0].id == name:
            return k
    return None


def _dead_tail(stmts, live_after):
    """Drop top-level pure assignments whose names are not read afterwards."""
    live = set(live_after)
    keep = []
    for s in reversed(stmts):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                and s.targets[0].id not in live and isinstance(s.value, _PURE) \
                and not isinstance(s.value, gast.Subscript):
            continue
        if isinstance(s, (gast.For, gast.While)):
            live |= set(_loads(s)) | _stores(s)
        else:
            live -= {t.id for t in getattr(s, "targets", []) if isinstance(t, gast.Name)}
            live |= set(_loads(s))
        keep.append(s)
    return keep[::-1]


def _dead(fn):
    """Drop pure assignments to names nothing reads, until none is left (a dropped
    statement's reads no longer count)."""
    used = Counter(_loads(fn))
    changed = True
    while changed:
        changed = False
        for node in statement_owners(fn):
            for field in ("body", "orelse"):
                stmts = getattr(node, field, None)
                if not isinstance(stmts, list) or not stmts or not isinstance(stmts[0], gast.stmt):
                    continue
                keep = []
                for s in stmts:
                    if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                            and not used[s.targets[0].id] and isinstance(s.value, _PURE) \
                            and not isinstance(s.value, gast.Subscript):
                        changed = True
                        used.subtract(_loads(s))
                        continue
                    keep.append(s)
                if len(keep) != len(stmts):
                    setattr(node, field, keep or ([gast.Pass()] if field == "body" else []))


def _scalar_first(stmts, shape, namer):
    """``b = s1 * A`` then ``c = b * s2`` (b used once) -> ``k = s1 * s2; c = k * A``.

    Scalar factors are multiplied together before they touch the array, so an
    adjoint chain like ``(p_bar * t) * -3.0`` makes one pass over memory, not two.
    """
    uses = {}
    for s in stmts:
        for name in _loads(s):
            uses[name] = uses.get(name, 0) + 1
    out = []
    k = 0
    while k < len(stmts):
        s = stmts[k]
        nxt = stmts[k + 1] if k + 1 < len(stmts) else None
        split = _scalar_times_array(s, shape)
        if split is not None and nxt is not None and uses.get(s.targets[0].id) == 1:
            s1, arr = split
            b = s.targets[0].id
            other = _other_factor(nxt, b, shape)
            if other is not None:
                op, s2 = other
                name = namer.fresh("s")
                out.append(gast.copy_location(gast.Assign(
                    targets=[gast.Name(id=name, ctx=gast.Store(), annotation=None,
                                       type_comment=None)],
                    value=gast.BinOp(left=s1, op=op, right=s2), type_comment=None), nxt))
                nxt.value = gast.BinOp(left=gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                                      type_comment=None),
                                       op=gast.Mult(), right=arr)
                out.append(nxt)
                k += 2
                continue
        out.append(s)
        k += 1
    return out


def _is_scalar(node, shape):
    if isinstance(node, gast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    return isinstance(node, gast.Name) and shape(node.id) == ("scalar",)


def _is_array(node, shape):
    if not isinstance(node, gast.Name):
        return False
    s = shape(node.id)
    return s is not None and s[0] == "array"


def _scalar_times_array(s, shape):
    if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
            and isinstance(s.value, gast.BinOp) and isinstance(s.value.op, gast.Mult)):
        return None
    left, right = s.value.left, s.value.right
    if _is_scalar(left, shape) and _is_array(right, shape):
        return left, right
    if _is_array(left, shape) and _is_scalar(right, shape):
        return right, left
    return None


def _other_factor(s, b, shape):
    if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
            and isinstance(s.value, gast.BinOp)):
        return None
    v = s.value
    is_b = lambda n: isinstance(n, gast.Name) and n.id == b
    if isinstance(v.op, gast.Mult):
        if is_b(v.left) and _is_scalar(v.right, shape):
            return gast.Mult(), v.right
        if is_b(v.right) and _is_scalar(v.left, shape):
            return gast.Mult(), v.left
    if isinstance(v.op, gast.Div) and is_b(v.left) and _is_scalar(v.right, shape):
        return gast.Div(), v.right
    return None


class _MethodForms(gast.NodeTransformer):
    """``np.sum(a)`` (or with ``axis=None, keepdims=False``) on an array -> ``a.sum()``:
    the array method skips NumPy's Python-level dispatch."""

    def __init__(self, shape, namespace):
        self.shape, self.namespace = shape, namespace

    def visit_Call(self, node):
        self.generic_visit(node)
        from srcad.transforms.parse import resolve
        from srcad.transforms.rules import registry
        if len(node.args) != 1 or not isinstance(node.args[0], (gast.Name, gast.BinOp,
                                                                 gast.UnaryOp)):
            return node
        defaults = {"axis": None, "keepdims": False}
        if any(not (k.arg in defaults and isinstance(k.value, gast.Constant)
                    and k.value.value is defaults[k.arg]) for k in node.keywords):
            return node
        try:
            method = registry.op(resolve(node.func, self.namespace)).method_form
        except TypeError:
            return node
        if method is None or not _surely_array(node.args[0], self.shape) or (
                method[1] and not isinstance(node.args[0], gast.Name)):
            return node                 # (a per-entry form names its operand twice)
        return method_call(node.args[0], method)


def _surely_array(node, shape):
    """A name ``shape`` knows as an array, or a product (``*``, ``/``, unary minus) with such
    a factor: an ndarray or a NumPy scalar, which has the array methods."""
    if isinstance(node, gast.Name):
        s = shape(node.id)
        return s is not None and s[0] == "array"
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Mult, gast.Div)):
        return _surely_array(node.left, shape) or _surely_array(node.right, shape)
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return _surely_array(node.operand, shape)
    return False


def _symmetric(fn):
    """``a * b + b * a`` -> ``2.0 * (a * b)`` (exact in floating point: one product less)."""
    def change(node):
        if node.__class__ is not gast.BinOp or not isinstance(node.op, gast.Add):
            return None
        left, right = node.left, node.right
        if all(isinstance(t, gast.BinOp) and isinstance(t.op, gast.Mult)
               and isinstance(t.left, gast.Name) and isinstance(t.right, gast.Name)
               for t in (left, right)) and left.left.id == right.right.id \
                and left.right.id == right.left.id:
            return gast.BinOp(left=gast.Constant(value=2.0, kind=None), op=gast.Mult(), right=left)
        return None
    return rewrite(fn, change)


class _Defaults(gast.NodeTransformer):
    """``np.sum(t_dot, axis=None, keepdims=False)`` -> ``np.sum(t_dot)``: keywords at the
    values the op record says are the defaults (``Op.defaults``) are left out."""

    def __init__(self, namespace):
        self.namespace = namespace

    def visit_Call(self, node):
        self.generic_visit(node)
        from srcad.transforms.parse import resolve
        from srcad.transforms.rules import registry
        if not node.keywords:
            return node
        defaults = dict(registry.op(resolve(node.func, self.namespace)).defaults)
        node.keywords = [k for k in node.keywords if not (
            k.arg in defaults and isinstance(k.value, gast.Constant)
            and k.value.value is defaults[k.arg])]
        return node


def default_keywords(fn, namespace):
    return _Defaults(namespace).visit(fn)


def method_call(array, form):
    """``a.sum()``, or ``a.sum() / a.size`` for a per-entry form (see registry.method_form)."""
    name, per_entry = form
    call = gast.Call(func=gast.Attribute(value=array, attr=name, ctx=gast.Load()),
                     args=[], keywords=[])
    if per_entry:
        size = gast.Attribute(value=gast.Name(id=array.id, ctx=gast.Load(), annotation=None,
                                              type_comment=None), attr="size", ctx=gast.Load())
        call = gast.BinOp(left=call, op=gast.Div(), right=size)
    return call


def method_forms(fn, shape, namespace):
    return _MethodForms(shape, namespace).visit(fn)


def with_products(fn, shape):
    """``shape``, which also calls "array" each name that every assignment sets to a product
    with a factor known as an array (``t_dot = d * f_dot``): an ndarray or a NumPy scalar,
    never a Python number, so ``t_dot.sum()`` may stand for ``np.sum(t_dot)``. (Forward mode:
    a tangent of an array may otherwise be a broadcasting Python float, ``f_dot = -m_dot``.)"""
    values, single = {}, set()
    for node in walk(fn):
        if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], gast.Name):
            values.setdefault(node.targets[0].id, []).append(node.value)
            single.add(id(node.targets[0]))
    for node in walk(fn):      # a parameter, a loop target, an unpacked or deleted name
        if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load) \
                and id(node) not in single:
            values.pop(node.id, None)
    arrays = set()

    def known(n):
        return ("array",) if n in arrays else shape(n)
    changed = True
    while changed:
        changed = False
        for name, exprs in values.items():
            if name not in arrays and all(_surely_array(e, known) for e in exprs):
                arrays.add(name)
                changed = True
    return known


def _merge_chains(stmts, shape):
    """``c = e1`` then ``c = c + e2`` (one user line, ``c`` a number not read by ``e2``)
    -> ``c = e1 + e2``: the same additions in the same order, one line."""
    out = []
    for s in stmts:
        _each_block(s, lambda inner: _merge_chains(inner, shape))
        acc = _accumulation(s)
        last = out[-1] if out else None
        if acc is not None and isinstance(s.value, gast.BinOp) and isinstance(last, gast.Assign) \
                and isinstance(last.targets[0], gast.Name) and last.targets[0].id == acc[0] \
                and shape(acc[0]) == ("scalar",) and acc[0] not in _loads(acc[1]) \
                and getattr(last, "lineno", None) == getattr(s, "lineno", None):
            last.value = gast.BinOp(left=last.value, op=gast.Add(), right=acc[1])
            continue
        out.append(s)
    return out


def _unshare(fn):
    """A node that appears twice in the tree (a sweep may reuse the primal's index
    expression, ``x[i1, 1]`` and ``x_bar[i1, 1] += g``) becomes two copies: the passes below
    rewrite nodes in place, and a copy substituted in one statement must not change the
    other (``i1`` replaced by the primal loop's ``i`` inside the adjoint loop). The first
    place in source order keeps the node, a later one gets a copy."""
    seen = set()
    todo = [(None, None, fn)]       # (owner, field name or index, node), in source order
    while todo:
        owner, slot, node = todo.pop()
        if id(node) in seen:
            if isinstance(slot, str):
                setattr(owner, slot, clone(node))
            else:
                owner[slot] = clone(node)
            continue
        seen.add(id(node))
        slots = []
        for name in children_fields(node.__class__):
            value = getattr(node, name, None)
            if isinstance(value, gast.AST):
                slots.append((node, name, value))
            elif value.__class__ is list:
                slots.extend((value, i, item) for i, item in enumerate(value)
                             if isinstance(item, gast.AST))
        todo.extend(reversed(slots))
    return fn


def simplify(fn, shape=None, namer=None, cotangents=frozenset(), named=frozenset()):
    """``cotangents``: the names of cotangents; ``named``: the gradients' own names (of the
    ``wrt`` arguments), which a copy of a temporary cotangent takes over."""
    fn = _unshare(fn)
    owned = owned_names(fn)
    fn = _symmetric(fn)
    if cotangents:
        dead_stores.drop(fn, cotangents)
    fn.body = _first_assign(fn.body, owned)
    protected = owned | {a.id for a in fn.args.args}
    _coalesce(fn, named, cotangents, protected)
    fn.body = _propagate(fn.body, protected | set(named))   # x_bar = y2_bar stays x_bar
    _copy_back(fn)
    _dead(fn)
    fn.body = _dead_tail(fn.body, ())
    if shape is not None:
        fn.body = _merge_chains(fn.body, shape)
    fn.body = negations.subtract(fn.body, cotangents)
    fn.body = negations.negated_terms(fn.body, cotangents)
    if shape is not None and namer is not None:
        fn.body = _scalar_first(fn.body, shape, namer)
    return fn


def _copy_back(fn):
    """``a = b`` then, with ``b`` not otherwise rebound, ``b = a`` (in the block or at the
    head of a branch of an ``if`` in it) is a no-op: it goes, and ``a`` (bound once) is
    ``b`` from there on. A loop's carried cotangent then keeps one name::

        s5_bar = s2_bar                 ->      if t4:
        if t4:                                      k_bar = k_bar + s2_bar * t6
            s2_bar = s5_bar
            k_bar = k_bar + s5_bar * t6
    """
    stores, loads = counts(fn)

    def no_op(t, a, b):
        return isinstance(t, gast.Assign) and isinstance(t.targets[0], gast.Name) \
            and t.targets[0].id == b and isinstance(t.value, gast.Name) and t.value.id == a

    def visit(stmts):
        for s in stmts:
            _each_block(s, visit)
        k = 0
        while k < len(stmts):
            s = stmts[k]
            k += 1
            if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                    and isinstance(s.value, gast.Name)) or stores.get(s.targets[0].id) != 1:
                continue
            a, b = s.targets[0].id, s.value.id
            rest, found, ok = stmts[k:], [], True
            if not any(no_op(t, a, b) or isinstance(t, gast.If) and any(
                    no_op(u, a, b) for branch in (t.body, t.orelse) for u in branch)
                    for t in rest):
                continue        # (the cheap half of the test below first)
            for t in rest:
                if no_op(t, a, b):
                    found.append((stmts, t))
                    continue
                if isinstance(t, gast.If):
                    for branch in (t.body, t.orelse):
                        for u in branch:
                            if no_op(u, a, b):
                                found.append((branch, u))
                            elif b in _stores(u):
                                ok = False
                    continue
                if b in _stores(t):
                    ok = False
            inside = sum(1 for t in rest for n in walk(t)
                         if isinstance(n, gast.Name) and n.id == a and isinstance(n.ctx, gast.Load))
            if not ok or not found or inside != loads.get(a, 0):
                continue
            for block, t in found:
                block.remove(t)
            for block, _ in found:
                if not block:
                    block.append(gast.Pass())
            rest = stmts[k:]
            stmts[k:] = [substitute(t, {a: b}) for t in rest]
            stmts.remove(s)
            k -= 1
        return stmts

    fn.body = visit(fn.body)


"""In-place updates of arrays that another name may share.

srcad treats ``a += x`` and ``a[i] = v`` as new values (the SSA form). NumPy
changes the array in place, so another name for the same array (``b = a``,
``v = a[::2]``, ``r = a.reshape(...)``, a list holding it, a loop row) would see
the change in the plain function and not in srcad's. Such code gets a guard
before the update:

    _rt.not_shared(a, 'a', 'model.py', 12, b)

which raises a located ``TransformError`` at run time when ``a`` may share memory
with a name still read afterwards. The candidates are chosen generously here
(``alias_groups``); the run-time check (``np.may_share_memory``) decides.
"""
import gast

from srcad.errors import TransformError
from srcad.transforms.blocks import walk
from srcad.transforms.exits import _const, _load
from srcad.transforms.forms import is_ufunc
from srcad.transforms.parse import resolve
from srcad.transforms.rules import registry


def alias_groups(fn, scope, fresh=None):
    """name -> the names that may refer to the same array (or to an array inside it).

    Deliberately generous: the parameters may share with one another (one array passed
    twice), every assignment or ``for`` target may share with every name its value reads,
    unless the value is arithmetic or a call ``fresh(call)``
    says returns a new array, and sharing is closed transitively. The guard that
    uses this checks at run time (``np.may_share_memory``), so a generous guess
    costs a check, not an error.
    """
    parent = {}
    own = {a.id for a in fn.args.args + fn.args.kwonlyargs} | {
        n.id for n in walk(fn) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    scope = {name for name in scope if name not in own}   # a local may shadow a global

    def find(n):
        while parent.setdefault(n, n) != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    def union(a, b):
        parent[find(a)] = find(b)

    def reads(value):
        if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp,
                              gast.Constant)):
            return set()
        if fresh is not None and isinstance(value, gast.Call) and fresh(value):
            return set()
        return {n.id for n in walk(value) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Load) and n.id not in scope}

    params = [a.id for a in fn.args.args + fn.args.kwonlyargs]
    for a, b in zip(params, params[1:], strict=False):   # one array passed for two of them
        union(a, b)
    for node in walk(fn):
        if isinstance(node, gast.Assign):
            targets = {n.id for t in node.targets for n in walk(t)
                       if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
            sources = reads(node.value)
        elif isinstance(node, gast.For):
            targets = {n.id for n in walk(node.target) if isinstance(n, gast.Name)}
            sources = reads(node.iter)
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and node.func.attr == "append":       # the list holds the item
            targets = reads(node.func.value)
            sources = {n for a in node.args for n in reads(a)}
        else:
            continue
        for t in targets:
            for src in sources:
                union(t, src)
    groups = {}
    for n in list(parent):
        groups.setdefault(find(n), set()).add(n)
    return {n: groups[find(n)] for n in parent}


def _adjoint_reads(fn, primal_length, namespace):
    """(names the adjoint sweep reads, alias groups of the primal sweep)."""
    reads = set()
    for s in fn.body[primal_length:]:
        for n in walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                reads.add(n.id)
    primal = gast.FunctionDef(name=fn.name, args=fn.args, body=fn.body[:primal_length],
                              decorator_list=[], returns=None, type_comment=None)
    # an elementwise function returns a new array, never a view
    fresh = lambda call: registry.is_elementwise(resolve(call.func, namespace))
    return reads, alias_groups(primal, (), fresh)


def restore_set(fn, primal_length, namespace):
    """Arrays written into (``x[i] = v``) and lists appended to (``lst.append(v)``) whose
    values the adjoint sweep reads, itself or through another name that may share its
    memory (a view, a container): their overwritten elements are saved and put back (the
    appended item taken off again) as the adjoint sweep passes the write."""
    written = set()
    for n in walk(fn):
        if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Subscript) \
                and isinstance(n.targets[0].value, gast.Name):
            written.add(n.targets[0].value.id)
    written |= _appended_after_use(fn.body[:primal_length], namespace)
    if not written:
        return frozenset()
    reads, aliases = _adjoint_reads(fn, primal_length, namespace)
    return frozenset(w for w in written if (aliases.get(w, set()) | {w}) & reads)


def _is_append(s):
    return isinstance(s, gast.Expr) and isinstance(s.value, gast.Call) \
        and isinstance(s.value.func, gast.Attribute) and s.value.func.attr == "append" \
        and isinstance(s.value.func.value, gast.Name)


def aliased_lists(fn):
    """Lists appended to that another name is bound to (``lst = items``): their
    cotangents cannot start as one zero per final item (the names share the appends),
    so the sweep restores the list instead when an item is read before an append."""
    appended = {s.value.func.value.id for s in walk(fn) if _is_append(s)}
    out = set()
    for n in walk(fn):
        if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name) \
                and isinstance(n.value, gast.Name):
            pair = {n.targets[0].id, n.value.id}
            if pair & appended:
                out |= pair
    return out


def _appended_after_use(primal, namespace):
    """Lists appended to after (or in a loop around) a statement that reads them (an
    aliased list's item read counts: see ``aliased_lists``)."""
    aliased = aliased_lists(gast.Module(body=primal, type_ignores=[]))
    flat = []

    def collect(stmts, loops):
        for s in stmts:
            if isinstance(s, (gast.For, gast.While)):
                collect(s.body, loops + (s,))
            elif isinstance(s, gast.If):
                collect(s.body, loops)
                collect(s.orelse, loops)
            else:
                flat.append((s, loops))
    collect(primal, ())
    out = set()
    for k, (a, a_loops) in enumerate(flat):
        if not _is_append(a):
            continue
        lst = a.value.func.value.id
        for j, (s, s_loops) in enumerate(flat):
            if _is_append(s) or (isinstance(s, gast.Expr) and is_guard(s.value, namespace)):
                continue
            if (j < k or set(s_loops) & set(a_loops)) and (
                    lst in _whole_reads(s) or lst in aliased and _reads(s, lst)):
                out.add(lst)
    return out


def _reads(stmt, name):
    return any(isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Load)
               for n in walk(stmt))


def _whole_reads(stmt):
    """Names ``stmt`` reads as a whole (``np.stack(lst)``, ``v = lst``): not only an item
    (``lst[k]``, not a slice) or the length (``len(lst)``), which stay right on a longer list."""
    parts = set()
    for n in walk(stmt):
        if isinstance(n, gast.Subscript) and not any(
                isinstance(i, gast.Slice) for i in walk(n.slice)):
            parts.add(id(n.value))
        elif isinstance(n, gast.Call) and isinstance(n.func, gast.Name) \
                and n.func.id == "len" and len(n.args) == 1:
            parts.add(id(n.args[0]))
    return {n.id for n in walk(stmt) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load) and id(n) not in parts}


def check_calls_in_place(fn, primal_length, namespace, filename):
    """A call whose result is dropped can only act by changing its arguments in place
    (``np.copyto(b, v)``); when the adjoint sweep reads such an argument afterwards (or
    a view of it), it would read the changed values: refuse."""
    calls = []
    for s in fn.body[:primal_length]:
        for n in walk(s):
            if isinstance(n, gast.Expr) and isinstance(n.value, gast.Call):
                call = n.value
                if isinstance(call.func, gast.Attribute) and call.func.attr == "append":
                    continue
                target = resolve(call.func, namespace)
                if registry.is_effect(target) or getattr(target, "__module__", None) in \
                        registry.RUNTIME_MODULES or registry.op(target).reverse is not None \
                        or registry.is_nondiff(target):
                    continue
                calls.append((n, call))
    if not calls:
        return
    reads, aliases = _adjoint_reads(fn, primal_length, namespace)
    for stmt, call in calls:
        args = list(call.args) + [k.value for k in call.keywords]
        if isinstance(call.func, gast.Attribute):
            args.append(call.func.value)
        for a in args:
            if isinstance(a, gast.Name) and (aliases.get(a.id, set()) | {a.id}) & reads:
                raise TransformError(
                    f"this call may change `{a.id}` in place, and the derivative code reads "
                    f"`{a.id}` afterwards", filename=filename,
                    lineno=getattr(stmt, "lineno", None), col=getattr(stmt, "col_offset", 0),
                    why="the reverse sweep runs after the whole function and would see the "
                        "changed values",
                    hint=f"give the call a copy (`{a.id}.copy()`), or compute the new values "
                         f"as a new array (`{a.id} = ...`)")


def _start(node):
    return (getattr(node, "lineno", 0) or 0, getattr(node, "col_offset", 0) or 0)


def _end(node):
    end = getattr(node, "end_lineno", None)
    if end is None:
        return (getattr(node, "lineno", 0) or 0, 1 << 30)
    return (end, getattr(node, "end_col_offset", None) or 0)


def reads_after(fn):
    """statement -> names read after it (later in the source, also on the same line after a
    ``;``, or anywhere in a loop around it)."""
    loads = [(_start(n), n.id) for n in walk(fn)
             if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]
    loops = [(_start(node), _end(node),
              {n.id for n in walk(node) if isinstance(n, gast.Name)
               and isinstance(n.ctx, gast.Load)})
             for node in walk(fn) if isinstance(node, (gast.For, gast.While))]

    def after(stmt):
        start, end = _start(stmt), _end(stmt)
        out = {n for at, n in loads if at >= end}
        for first, last, names in loops:
            if first <= start and end <= last:
                out |= names
        return out
    return after


def is_guard(call, namespace):
    """Is ``call`` a guard that ``guard`` made (its extra arguments are the other names)?"""
    runtime = registry.HOST.runtime
    fn = resolve(call.func, namespace) if isinstance(call, gast.Call) else None
    return fn is runtime.not_shared or fn is runtime.not_shared_item


def live_after(frames, params):
    """Names bound when a statement runs and read after it before being rebound.

    ``frames``: from the innermost block out, ``(stmts, i, loop)``: the block, the
    statement's position in it, the loop whose body the block is (or None). A loop body
    is read again from its start (the next iteration)."""
    loads = lambda st: {n.id for n in walk(st) if isinstance(n, gast.Name)
                        and isinstance(n.ctx, gast.Load)}
    stored = lambda st: st.targets[0].id if isinstance(st, gast.Assign) \
        and isinstance(st.targets[0], gast.Name) else None
    live, killed, bound = set(), set(), set(params)

    def scan(stmts, killed):
        for st in stmts:
            live.update(loads(st) - killed)
            if stored(st):
                killed.add(stored(st))
    for stmts, i, loop in frames:
        bound.update(stored(st) for st in stmts[:i] if stored(st))
        scan(stmts[i + 1:], killed)
        if loop is not None:           # the next iteration, up to this statement
            scan(stmts[:i + 1], set(killed))
            live.update(loads(loop.test) if isinstance(loop, gast.While) else set())
    return live & bound


def held_keyword(held, same=()):
    """The guard's keywords: ``held=((d, 'a'), ...)``, ``same=(b, ...)``."""
    pairs = gast.Tuple(elts=[gast.Tuple(elts=[_load(c), _const(k)], ctx=gast.Load())
                             for c, keys in held for k in keys], ctx=gast.Load())
    out = [gast.keyword(arg="held", value=pairs)]
    if same:
        out.append(gast.keyword(arg="same", value=gast.Tuple(
            elts=[_load(n) for n in same], ctx=gast.Load())))
    return out


def guard(norm, name, s, index=None, held=(), same=(), group=None, label=None):
    """Before an in-place update of ``name`` (or of the array ``name[index]`` inside a
    container): fail clearly if, at run time, another name still read later refers to
    the same array (srcad treats the update as a new value). The containers ``held``
    and names ``same`` that the generated code follows (transforms/holders.py) are
    checked to hold the array itself; ``group``: the names that may share it (default:
    ``name``'s alias group)."""
    line = getattr(s, "lineno", 0)
    group = norm.aliases.get(name, set()) if group is None else group
    followed = {c for c, _, _ in held} | set(same)
    after = norm.reads_after(s)
    others = sorted(group & norm.assigned & after - {name} - followed)
    # an item updated in place may be held by the container's other items too: a guard
    # whenever the container is read afterwards (the run-time check looks at its items)
    if not others and not norm.helper and not held and not same and not (
            index is not None and name in after and not _surely_array(norm, name)):
        return
    label = label or name
    runtime = registry.HOST.runtime
    guard = _load(norm.env.bind("_rt", runtime, (runtime.__name__, None)))
    head = [_load(name), _const(label), _const(norm.parsed.filename), _const(line)]
    if index is not None:
        head = [_load(name), index, _const(label + "[...]"), _const(norm.parsed.filename),
                _const(line)]
    call = gast.Call(func=gast.Attribute(value=guard, attr="not_shared_item" if index is not
                                         None else "not_shared", ctx=gast.Load()),
                     args=head + [_load(o) for o in others],
                     keywords=held_keyword([(c, keys) for c, keys, _ in held], same)
                     if held or same else [])
    return gast.Expr(value=call)


_MAKERS = {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
           "full_like", "array", "arange", "linspace", "eye", "identity", "outer", "dot"}


def _surely_array(norm, name, seen=()):
    """Is every binding of ``name`` a NumPy function's result, or arithmetic of such results,
    numbers and such names (an array or a number: no items that could hold one array
    twice, as ``[a] * 2`` does)?"""
    tree = norm.parsed.tree
    if name in seen or name in {a.id for a in tree.args.args + tree.args.kwonlyargs}:
        return False
    seen = seen + (name,)

    def plain(v):
        if isinstance(v, gast.Constant):
            return isinstance(v.value, (int, float, complex))
        if isinstance(v, gast.BinOp):
            return plain(v.left) and plain(v.right)
        if isinstance(v, gast.UnaryOp):
            return plain(v.operand)
        if isinstance(v, gast.Name):
            return _surely_array(norm, v.id, seen)
        callee = norm.callee(v.func) if isinstance(v, gast.Call) else None
        # (NumPy functions that give lists, np.atleast_1d(a, a) one array twice, are not)
        return (getattr(callee, "__module__", None) or "").split(".")[0] == "numpy" and (
            is_ufunc(callee) or getattr(callee, "__name__", None) in _MAKERS)

    stores = sum(isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Store)
                 for n in walk(tree))
    bound = [n.value for n in walk(tree) if isinstance(n, gast.Assign) and len(n.targets) == 1
             and isinstance(n.targets[0], gast.Name) and n.targets[0].id == name]
    # (``a += v`` keeps an array an array, and a number a number or an array)
    augmented = sum(isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Name)
                    and n.target.id == name for n in walk(tree))
    return stores == len(bound) + augmented and all(map(plain, bound))


def check_restore(norm, s):
    """Differentiating srcad's own code again: ``_rt.restore_item(b, i, old)`` puts an item
    back in place in a list or array a container holds (otherwise the first-derivative
    code writes ``b[i] = old``, which is followed). Nothing follows it, so when the
    code reads ``b`` afterwards, refuse at the user's line."""
    runtime = registry.HOST.runtime
    call = s.value
    if not isinstance(call, gast.Call) or norm.callee(call.func) is not runtime.restore_item \
            or not isinstance(call.args[0], gast.Name):
        return
    tree = norm.parsed.tree
    inside = {id(n) for st in walk(tree) if isinstance(st, gast.Expr)
              and isinstance(st.value, gast.Call) and isinstance(st.value.func, gast.Attribute)
              and st.value.func.attr == "restore_item" for n in walk(st)}
    for c in walk(tree):       # srcad's helpers read a value's structure and shape
        if isinstance(c, gast.Call) and _is_helper(norm.callee(c.func)):
            inside.update(id(a) for a in c.args)
    loops = [{id(n) for n in walk(loop)} for loop in walk(tree)
             if isinstance(loop, (gast.For, gast.While))
             and _start(loop) <= _start(s) and _end(s) <= _end(loop)]
    later = {n.id for n in walk(tree) if isinstance(n, gast.Name)
             and isinstance(n.ctx, gast.Load) and id(n) not in inside
             and (_start(n) >= _end(s) or any(id(n) in ids for ids in loops))}
    if call.args[0].id in later:
        from srcad.errors import user_line_error
        raise user_line_error(
            "second derivatives through an in-place update of an array that a list, tuple "
            "or dict also holds are not supported yet", norm.parsed.filename,
            getattr(s, "lineno", 0),
            why="the first-derivative code puts the array's old items back in place for "
                "its reverse sweep, and the container would not follow",
            hint="hold a copy in the container (`d = {\"a\": b.copy()}`), or write the update "
                 "as a new value (`b = b + ...`)")



def _is_helper(fn):
    return fn is registry.unbroadcast or getattr(fn, "__module__", None) in \
        registry.RUNTIME_MODULES

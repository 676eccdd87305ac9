"""Inline calls to small, non-recursive user helpers.

Before (normal form)::

    def eam(x):
        t = rho(x)
        p = np.sum(t)
        ...

with ``def rho(r): return np.exp(-3.0 * (r + 1.0))``. After::

    def eam(x):
        rho_r = x
        rho_t = rho_r + 1.0
        rho_t2 = -3.0 * rho_t
        rho_t3 = np.exp(rho_t2)
        t = rho_t3
        p = np.sum(t)
        ...

The helper's locals get the helper's name as a prefix; its free names are
bound in the shared namespace (renamed if they clash). A recursive call, or a
helper too large to inline, stays a call: the reverse pass then calls the
helper's own generated pullback.
"""
import inspect
import types

import gast

from srcad.errors import TransformError
from srcad.transforms import exits, fence, normalize, operators, sharing
from srcad.transforms.blocks import walk
from srcad.transforms.exits import _assign
from srcad.transforms.parse import MISSING, code_hash, parse_function, resolve
from srcad.transforms.rules import registry
from srcad.transforms.template import constant_node

MAX_STATEMENTS = 400


def _inlinable(obj):
    if not isinstance(obj, types.FunctionType):
        return False
    try:
        hash(obj)
    except TypeError:
        return False
    if obj in registry.CUSTOM_REVERSE or obj in registry.CUSTOM_FORWARD \
            or obj in registry.SPECIAL or registry.is_nondiff(obj) \
            or registry.op(obj).reverse is not None:
        return False
    module = (getattr(obj, "__module__", "") or "").split(".")[0]
    return module not in ("srcad", "numpy")


class _Rename(gast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            node.id = self.mapping[node.id]
        return node


def _count(stmts):
    return sum(1 for s in stmts for n in walk(s) if isinstance(n, gast.stmt))


def prepare(fn, env, namer, level, types=None):
    """parse -> fence -> exits -> normalize for a helper; its own names, unprefixed."""
    parsed = fence.check(parse_function(fn))
    # the helper's own locals must not be taken by names bound in the shared namespace
    env.taken.update(n.id for n in walk(parsed.tree) if isinstance(n, gast.Name)
                     and isinstance(n.ctx, (gast.Store, gast.Param)))
    local_namer = exits.Namer(exits.names_in(parsed.tree))
    exits.remove_exits(parsed.tree, local_namer)
    tree = normalize.normalize(parsed, env, local_namer, level, types, helper=True)
    env.deps.append((fn, code_hash(fn)))
    return tree


class _Scope:
    """What the inliner knows of one function body: the names it stores once, the
    items of the tuples an inlined helper returned (``t = h(x)`` then ``a = t[0]``
    reads the helper's item directly, so an unread item gets no derivative code), and
    the layout of every name (``operators``: user types and their operators)."""

    def __init__(self, tree, env, namer, initial, in_play, filename):
        stores = [n.id for n in walk(tree) if isinstance(n, gast.Name)
                  and isinstance(n.ctx, (gast.Store, gast.Param))]
        self.once = {n for n in stores if stores.count(n) == 1}
        self.params = [a.id for a in tree.args.args + tree.args.kwonlyargs]
        self.frames = []                # (block, position, loop) of the statement at hand
        self.loop = None
        self.items = {}                 # name -> the atoms of the tuple it holds
        params = {a.id: operators.PLAIN for a in tree.args.args + tree.args.kwonlyargs}
        self.layouts = operators.Layouts(env, namer, dict(params, **initial), in_play,
                                         filename)

    def forward(self, s):
        """``a = t[k]`` of a tuple of known items -> ``a = item``."""
        v = s.value
        if isinstance(v, gast.Subscript) and isinstance(v.value, gast.Name) \
                and v.value.id in self.items and isinstance(v.slice, gast.Constant) \
                and type(v.slice.value) is int:
            items = self.items[v.value.id]
            if -len(items) <= v.slice.value < len(items):
                item = items[v.slice.value]
                s.value = gast.Name(id=item.id, ctx=gast.Load(), annotation=None,
                                    type_comment=None) if isinstance(item, gast.Name) \
                    else gast.Constant(value=item.value, kind=None)

    def returned(self, target, spliced, ret):
        """Remember the items when ``target`` (stored once) gets a tuple built once, of
        names stored once, by the helper just spliced in."""
        if target not in self.once or not isinstance(ret, gast.Name):
            return
        stores = [n.id for st in spliced for n in walk(st)
                  if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]
        built = [st.value for st in spliced if isinstance(st, gast.Assign)
                 and isinstance(st.targets[0], gast.Name) and st.targets[0].id == ret.id]
        if stores.count(ret.id) != 1 or len(built) != 1 or not isinstance(built[0], gast.Tuple):
            return
        items = built[0].elts
        if all(isinstance(e, gast.Constant) or (isinstance(e, gast.Name)
                                                 and stores.count(e.id) <= 1) for e in items):
            self.items[target] = items


def inline_calls(tree, env, namer, level, stack=(), filename="<unknown>"):
    in_play = {fn for fn in env.namespace.values() if operators.is_struct_class(fn)}
    scope = _Scope(tree, env, namer, env.layouts, in_play, filename)
    tree.body = _block(tree.body, env, namer, level, stack, filename, scope)
    return tree


def _block(stmts, env, namer, level, stack, filename, scope):
    out = []
    layouts = scope.layouts
    frame = [stmts, 0, scope.loop]
    scope.frames.insert(0, frame)
    for i, s in enumerate(stmts):
        frame[1] = i
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            scope.forward(s)
        if isinstance(s, gast.Assign):
            *prelude, s = layouts.dispatch(s)      # an operator of a user type: its method
            for p in prelude:
                out.append(p)
                layouts.assigned(p)
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                and isinstance(s.value, gast.Call):
            fn = resolve(s.value.func, env.namespace)
            if fn is not MISSING and _inlinable(fn) and fn not in stack:
                env.inlined.append((fn, filename, getattr(s, "lineno", None),
                                    getattr(s, "col_offset", 0)))
                try:
                    spliced = _inline(s, fn, env, namer, level, stack, scope, filename)
                except TransformError as exc:
                    if exc.lineno is not None:
                        raise
                    name = getattr(fn, "__qualname__", repr(fn))
                    raise TransformError(
                        f"no derivative rule for `{name}` and its source is not available",
                        filename=filename, lineno=s.lineno, col=s.col_offset,
                        why=exc.why or exc.what,
                        hint=f"register a rule with @srcad.adjoint({name})") from None
                if spliced is not None:
                    out.extend(spliced)
                    continue
        if isinstance(s, gast.If):
            before = layouts.snapshot()
            s.body = _block(s.body, env, namer, level, stack, filename, scope)
            after_body, layouts.names = layouts.snapshot(), before
            s.orelse = _block(s.orelse, env, namer, level, stack, filename, scope)
            layouts.merge(after_body)
        elif isinstance(s, (gast.For, gast.While)):
            if isinstance(s, gast.For) and isinstance(s.target, gast.Name):
                layouts.names[s.target.id] = operators.PLAIN     # a range index
            entry = layouts.snapshot()
            saved, scope.loop = scope.loop, s
            s.body = _block(s.body, env, namer, level, stack, filename, scope)
            scope.loop = saved
            s.orelse = _block(s.orelse, env, namer, level, stack, filename, scope)
            layouts.loop_done(entry, s.body, s)
        out.append(s)
        layouts.assigned(s)
    scope.frames.pop(0)
    return out


def _located_at_call(tree, s):
    """A helper from another file is located at the caller's line that calls it: the
    passes after this one know one file, the caller's (its statements' own lines would
    be read in the caller's file: comments and errors at a wrong line)."""
    for node in walk(tree):
        if hasattr(node, "lineno"):
            node.lineno, node.col_offset = s.lineno, s.col_offset
            node.end_lineno = getattr(s, "end_lineno", None)
            node.end_col_offset = getattr(s, "end_col_offset", None)


def _guard_callers_names(body, s, scope, env):
    """A helper's in-place update is guarded against the caller's names still read after
    the call (a parameter updated in place is the caller's array); a guard left with no
    name to compare is dropped."""
    live = sorted(sharing.live_after(scope.frames, scope.params) - {s.targets[0].id})
    out = []
    for st in body:
        call = st.value if isinstance(st, gast.Expr) else None
        if call is not None and sharing.is_guard(call, env.namespace):
            fixed = 4 if call.func.attr == "not_shared" else 5
            known = {a.id for a in call.args[fixed:] if isinstance(a, gast.Name)}
            call.args.extend(gast.Name(id=n, ctx=gast.Load(), annotation=None,
                                       type_comment=None) for n in live if n not in known)
            if len(call.args) == fixed:
                continue
        out.append(st)
    return out


def _inline(s, fn, env, namer, level, stack, scope, filename):
    call = s.value
    index = len(env.inlined) - 1        # this call's record (comments name it: codegen)
    sig = inspect.signature(fn)
    bound = sig.bind(*call.args, **{k.arg: k.value for k in call.keywords})
    initial = {p: scope.layouts.of(a) for p, a in bound.arguments.items()}
    initial.update({p: operators.layout_of(q.default) for p, q in sig.parameters.items()
                    if p not in bound.arguments and q.default is not q.empty})
    types = {p: env.types[a.id] for p, a in bound.arguments.items()
             if isinstance(a, gast.Name) and a.id in env.types}
    types.update({p: lay[1] for p, lay in initial.items() if lay[0] == "struct"})
    tree = prepare(fn, env, namer, level, types)
    saved = dict(env.types)
    env.types.update(types)             # the helper's own typed parameters (``self``)
    inner = _Scope(tree, env, namer, initial, scope.layouts.in_play, fn.__code__.co_filename)
    tree.body = _block(tree.body, env, namer, level, stack + (fn,), fn.__code__.co_filename,
                       inner)
    env.types = saved
    if _count(tree.body) > MAX_STATEMENTS:
        return None
    if fn.__code__.co_filename != filename and getattr(s, "lineno", None) is not None:
        _located_at_call(tree, s)
    local_names = {a.id for a in tree.args.args} | {a.id for a in tree.args.kwonlyargs}
    for node in walk(tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            local_names.add(node.id)
    prefix = fn.__name__
    if prefix.startswith("__") and prefix.endswith("__") and "." in fn.__qualname__:
        prefix = f"{fn.__qualname__.rsplit('.', 2)[-2]}_{prefix.strip('_')}"  # Point_add
    mapping = {name: namer.fresh(f"{prefix}_{name}") for name in sorted(local_names)}
    for p, cls in types.items():
        env.types[mapping[p]] = cls
    env.taken.update(mapping.values())
    env.inlined_names.update({name: index for name in mapping.values()})
    out = []
    for pname, param in sig.parameters.items():
        if pname in bound.arguments:
            value = bound.arguments[pname]
        else:
            value = constant_node(param.default, env, pname)
        out.append(gast.copy_location(_assign(mapping[pname], value), s))
    body = [_Rename(mapping).visit(stmt) for stmt in tree.body]
    ret = body.pop()
    body = _guard_callers_names(body, s, scope, env)
    out.extend(body)
    out.append(gast.copy_location(_assign(s.targets[0].id, ret.value), s))
    scope.returned(s.targets[0].id, out, ret.value)
    scope.layouts.names.update({mapping[n]: lay for n, lay in inner.layouts.names.items()
                                if n in mapping})
    scope.layouts.names[s.targets[0].id] = scope.layouts.of(ret.value)
    return out

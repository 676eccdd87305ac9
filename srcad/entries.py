"""Compiled specialisations: their fingerprints, guards and rebuilding from the disk cache.

Whatever generated code took from outside the user's function (a global, a closure
cell, a module attribute, an inlined helper) is part of the cache key or of a guard:

- ``__srcad_guards__`` on a compiled function: (scope, name, value) triples, where a
  scope is a module's dict or a closure cell (``_Cell``). Dispatch checks
  ``scope.get(name) is value`` for each: rebinding any of them recompiles.
- the disk key holds the fingerprints of the globals and cells the function's own code
  names (``_code_key``); an entry records the fingerprint of every object its
  generated code binds and every global it read, and ``_from_entry`` rebuilds the
  function only when all of them match the live objects. It finds modules among those
  the live function reaches (and srcad's own, NumPy, math): nothing read from disk
  makes srcad import a module.
``own_rule`` wraps a user rule registered on the differentiated function itself.
"""
import functools
import importlib
import inspect
import sys
import types

from srcad import codegen, runtime
from srcad.transforms.fingerprint import code_hash, value_fingerprint
from srcad.transforms.rules import registry as _REG

# modules whose attributes are not watched: srcad's own, and what its rules are made of
_TRUSTED = ("srcad", "numpy", "math", "builtins")


def _trusted(module_name):
    return module_name.split(".")[0] in _TRUSTED


_EMPTY = type("_Empty", (), {"__repr__": lambda self: "<empty>"})()


class _Cell:
    """A closure cell seen as a scope of one name (guards call ``scope.get(name)``)."""
    __slots__ = ("cell",)

    def __init__(self, cell):
        self.cell = cell

    def get(self, name, default=None):
        try:
            return self.cell.cell_contents
        except ValueError:                  # emptied
            return default


def _getter(obj):
    """``obj``'s attributes seen as a scope (``get`` is ``getattr``: a call into C)."""
    return types.SimpleNamespace(get=functools.partial(getattr, obj))


def _function_attrs(functions):
    """(function, attribute, value) for the code and defaults of inlined helpers: a new
    ``__code__`` or new defaults recompile."""
    out = []
    for d in functions:
        if isinstance(d, types.FunctionType):
            out += [(d, a, getattr(d, a)) for a in ("__code__", "__defaults__", "__kwdefaults__")
                    if getattr(d, a) is not None]
    return out


def _guard_list(candidates, cells, attrs=()):
    """(scope, name, value) for every watched user name that still holds its value."""
    out, seen = [], set()
    for owner, name, obj in attrs:
        if isinstance(owner, type) and _trusted(owner.__module__):
            continue
        if getattr(owner, name, None) is obj and (id(owner), name) not in seen:
            seen.add((id(owner), name))
            out.append((_getter(owner), name, obj))
    for module_name, name, obj in candidates:
        if not isinstance(module_name, str) or not name or _trusted(module_name):
            continue
        module = sys.modules.get(module_name)
        if module is not None and vars(module).get(name) is obj \
                and (module_name, name) not in seen:
            seen.add((module_name, name))
            out.append((vars(module), name, obj))
    for cell, name, obj in cells:
        if id(cell) not in seen and _Cell(cell).get(name) is obj:
            seen.add(id(cell))
            out.append((_Cell(cell), name, obj))
    return tuple(out)


def _guards(env):
    """The guards of freshly generated code: every user function it inlined or calls,
    every global, module attribute and closure cell it read."""
    candidates = [(getattr(d, "__module__", None), getattr(d, "__name__", None), d)
                  for d, _ in env.deps[1:]]
    for name, obj in env.namespace.items():
        recipe = env.recipes.get(name)
        if isinstance(obj, types.FunctionType) and recipe and recipe[0] not in (
                "<closure>", "<workspace>", "builtins"):
            candidates.append((recipe[0], recipe[1], obj))
    candidates += env.watched
    return _guard_list(candidates, env.cells,
                       env.attrs + _function_attrs(d for d, _ in env.deps[1:]))


def entry_of(env, params):
    """What the disk entry records beside the source, or None when some object cannot
    be found again from the user's function alone."""
    recipes = {name: env.recipes.get(name) for name in params}
    if any(r is None for r in recipes.values()):
        return None
    deps = [[d.__module__, d.__qualname__, value_fingerprint(d)] for d, _ in env.deps[1:]]
    callees = []
    for c in env.callees + [d for d, _ in env.deps]:
        mod, qual = getattr(c, "__module__", None), getattr(c, "__qualname__", None)
        if isinstance(mod, str) and isinstance(qual, str):
            callees.append([mod, qual] + _rule_hashes(c))
    watched, seen = [], set()
    for module_name, name, value in env.watched:
        if isinstance(module_name, str) and not _trusted(module_name) \
                and (module_name, name) not in seen:
            seen.add((module_name, name))
            watched.append([module_name, name, value_fingerprint(value)])
    fingerprints = {name: value_fingerprint(env.namespace[name]) for name in params
                    if recipes[name][0] != "<workspace>"}
    attrs = [[c.__module__, c.__qualname__, n, value_fingerprint(v)] for c, n, v in env.attrs
             if not _trusted(c.__module__)]
    return {"recipes": recipes, "deps": deps, "callees": callees, "watched": watched,
            "fingerprints": fingerprints, "attrs": attrs}


def _rule_hashes(c):
    """Fingerprints of the user rules registered for ``c`` (None where there is none)."""
    reg = _REG
    out = []
    for table in (reg.CUSTOM_REVERSE, reg.CUSTOM_FORWARD):
        try:
            rule = table.get(c)
        except TypeError:
            rule = None
        rule = getattr(rule, "__srcad_rule__", rule)      # the user's, not its wrapper
        out.append(code_hash(rule) if rule is not None else None)
    return out


def _code_key(fn):
    """The function's code and what its code names outside itself: a global or cell
    rebound to another ufunc or helper (``act = np.cos``) gives another key."""
    code = fn.__code__      # file and line too: they appear in the generated comments
    return (fn.__module__, fn.__qualname__, code.co_filename, code.co_firstlineno,
            code_hash(fn), _closure_key(fn), _globals_key(fn))


def _closure_key(fn):
    """The fingerprint of each closure cell (a scalar's value, an array's dtype and shape,
    a helper's code, a ufunc's name)."""
    out = []
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
        out.append((name, value_fingerprint(_Cell(cell).get(name, _EMPTY))))
    return tuple(out)


def _code_names(code, out):
    out.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_names(const, out)
    return out


def _home(v):
    """The module a module or class belongs to."""
    return v.__name__ if isinstance(v, types.ModuleType) else v.__module__


def _globals_key(fn, depth=0, seen=None):
    """The fingerprint of each global the function's code names, and of those its helpers
    name (a helper's ``act`` chosen by a flag gives another key, not a rejected entry)."""
    seen = set() if seen is None else seen
    seen.add(id(fn))
    names = _code_names(fn.__code__, set())
    g = fn.__globals__
    out = []
    for n in sorted(names):
        if n in g:
            v = g[n]
            out.append((n, value_fingerprint(v)))
            if isinstance(v, types.FunctionType) and depth < 3 and id(v) not in seen:
                out.append(_globals_key(v, depth + 1, seen))
            elif isinstance(v, (types.ModuleType, type)) and not _trusted(_home(v)):
                out += [(n, a, value_fingerprint(vars(v)[a])) for a in sorted(names)
                        if a in vars(v)]           # lib.act, Config.scale
    return tuple(out)


def _arg_classes(args):
    """The user classes of the arguments (dataclasses, named tuples, nested ones)."""
    classes, todo = [], [(a, 0) for a in args]
    while todo:
        a, depth = todo.pop()
        t = type(a)
        if depth > 4:
            continue
        if t in (tuple, list):
            todo += [(v, depth + 1) for v in a]
        elif t is dict:
            todo += [(v, depth + 1) for v in a.values()]
        elif t.__module__ != "builtins" and t.__module__.split(".")[0] != "numpy":
            if t not in classes:
                classes.append(t)
            fields = getattr(t, "__dataclass_fields__", None) or getattr(t, "_fields", ())
            todo += [(getattr(a, f, None), depth + 1) for f in fields]
    return classes


def _types_key(args):
    """The code of the methods of the argument classes (a dataclass's ``act`` rebound on
    its class gives another key): generated code calls or inlines them."""
    out = []
    for t in _arg_classes(args):
        methods = tuple((n, value_fingerprint(v)) for n in sorted(dir(t))
                        if isinstance(v := inspect.getattr_static(t, n, None),
                                      types.FunctionType))
        out.append((f"{t.__module__}.{t.__qualname__}", methods))
    return tuple(sorted(out))


def _reachable_modules(fn, args=(), limit=4000):
    """Names of the modules the live function (and its arguments' classes) reaches
    through its globals, closure cells and the helpers those hold: the only user modules
    a disk entry may name."""
    out, seen, todo = {fn.__module__}, set(), [fn] + _arg_classes(args)
    while todo and len(seen) < limit:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, types.ModuleType):
            out.add(obj.__name__)
            continue
        module = getattr(obj, "__module__", None)
        if isinstance(module, str):
            out.add(module)
        if not isinstance(obj, types.FunctionType):
            continue
        names = _code_names(obj.__code__, set())
        g = obj.__globals__
        for n in names:
            value = g.get(n)
            if value is None:
                continue
            todo.append(value)
            if isinstance(value, types.ModuleType):      # lib.helper: its attributes named here
                todo += [getattr(value, a) for a in names if a in vars(value)]
        for cell in obj.__closure__ or ():
            value = _Cell(cell).get("")
            if value is not None:
                todo.append(value)
        todo += [v for v in (obj.__defaults__ or ()) if callable(v)]
    return out


def _module(name, reachable):
    """The module ``name`` if the live function reaches it (or it is srcad's own or NumPy),
    else None; only those of srcad and NumPy are ever imported here."""
    if name in reachable:
        return sys.modules.get(name)
    if _trusted(name):
        try:
            return importlib.import_module(name)
        except Exception:
            return None
    return None


def _lookup(module, qualname, reachable):
    obj = _module(module, reachable) if isinstance(module, str) else None
    if obj is None or not isinstance(qualname, str):
        return None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _load_numpy(entry, namespace, fn):
    if entry.get("backend", "numpy") != "numpy":
        raise ValueError("an entry of another backend")
    return codegen.load(entry["source"], namespace, fn.__globals__, fn.__qualname__)


def _from_entry(entry, fn, args=(), load=None):
    """Rebuild a compiled function from a disk entry, or None if anything differs from
    the live objects (a helper's code, a global's value, a method, a rule). ``load``
    (entry, namespace) builds it for a backend other than NumPy."""
    try:
        reachable = _reachable_modules(fn, args)
        helpers, attrs = [], []
        for module, qualname, fingerprint in entry["deps"]:
            dep = _lookup(module, qualname, reachable)
            if dep is None or value_fingerprint(dep) != fingerprint:
                return None                 # a helper's code or defaults differ
            helpers.append((module, qualname, dep))
            owner = _lookup(module, qualname.rpartition(".")[0], reachable)
            if isinstance(owner, type):     # a method: rebinding it on its class recompiles
                attrs.append((owner, qualname.rpartition(".")[2], dep))
        for module, owner_name, name, fingerprint in entry["attrs"]:
            owner = _lookup(module, owner_name, reachable)
            value = getattr(owner, name, None) if isinstance(owner, type) else None
            if value is None or value_fingerprint(value) != fingerprint:
                return None                 # a method of an argument's class was rebound
            attrs.append((owner, name, value))
        candidates = []
        for module, name, fingerprint in entry["watched"]:
            mod = _module(module, reachable)
            value = vars(mod).get(name, _EMPTY) if mod is not None else _EMPTY
            if value is _EMPTY or value_fingerprint(value) != fingerprint:
                return None                 # a global now holds another value
            candidates.append((module, name, value))
        for module, qualname, rev, fwd in entry["callees"]:
            obj = _lookup(module, qualname, reachable)
            if obj is not None and _rule_hashes(obj) != [rev, fwd]:
                return None
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True))
        namespace, closure_reads = {}, []
        for name, (module, attr) in entry["recipes"].items():
            if module == "<workspace>":
                namespace[name] = runtime.Workspace()
                continue
            if module == "<closure>":
                obj = _Cell(cells[attr]).get(attr, _EMPTY)
                closure_reads.append((cells[attr], attr, obj))
            elif attr is None:
                obj = _module(module, reachable)
            else:
                obj = _lookup(module, attr, reachable)
                if isinstance(obj, types.FunctionType) and module != "builtins":
                    candidates.append((module, attr, obj))
            if obj is None or obj is _EMPTY \
                    or value_fingerprint(obj) != entry["fingerprints"][name]:
                return None
            namespace[name] = obj
        compiled = load(entry, namespace) if load is not None else \
            _load_numpy(entry, namespace, fn)
        compiled.__srcad_text__ = entry["source"]
        compiled.__srcad_guards__ = _guard_list(
            candidates + helpers, closure_reads,
            attrs + _function_attrs(d for _, _, d in helpers))
        return compiled
    except Exception:           # a corrupt or foreign entry is regenerated
        return None


def own_rule(fn, kind, positions):
    """A user rule registered on the differentiated function itself is used as is."""
    if kind in ("vjp", "vjp_plain") and fn in _REG.CUSTOM_REVERSE:
        rule = _REG.CUSTOM_REVERSE[fn]

        def vjp(*args_seed_out):
            args, seed = args_seed_out[:len(inspect.signature(fn).parameters)], \
                args_seed_out[len(inspect.signature(fn).parameters)]
            value, back = rule(*args)
            seed = runtime.grad_seed(seed, value)      # grad's: checked before the rule's back
            cots = runtime.call_back(back, seed, args, fn.__name__, True)
            return value, tuple(runtime.finalize(cots[p], args[p]) for p in positions)
        vjp.__srcad_text__ = f"# `{fn.__qualname__}` has a user rule: {rule.__qualname__}\n"
        vjp.__srcad_guards__ = ()
        return vjp
    if kind in ("jvp", "jvpvec") and fn in _REG.CUSTOM_FORWARD:
        if kind == "jvpvec":        # the rule takes one tangent per argument
            from srcad.transforms.forward import _no_vector_rule  # (passes load on first use)
            raise _no_vector_rule(fn, {"filename": inspect.getsourcefile(fn) or "<unknown>",
                                       "lineno": fn.__code__.co_firstlineno, "col": 0})
        rule = _REG.CUSTOM_FORWARD[fn]
        n = len(inspect.signature(fn).parameters)

        def jvp(*args_tangents):
            args, tans = args_tangents[:n], args_tangents[n:]
            full = [runtime.zero_tangent(a) for a in args]
            for p, t in zip(positions, tans, strict=True):
                full[p] = t
            return rule(tuple(args), tuple(full))
        jvp.__srcad_text__ = f"# `{fn.__qualname__}` has a user rule: {rule.__qualname__}\n"
        jvp.__srcad_guards__ = ()
        return jvp
    return None

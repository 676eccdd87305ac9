"""Compiled specialisations: their fingerprints, guards and rebuilding from the disk cache.

A compiled function carries ``__srcad_guards__``: (module dict, name, function)
for every user function it inlined or calls, so rebinding one of those names
makes the next call recompile. A disk entry records the helpers it inlined and
the user rules of the callables it classified; ``from_entry`` rebuilds the
function only when all of them are unchanged, and returns None otherwise.
``own_rule`` wraps a user rule registered on the differentiated function itself.
"""
import importlib
import inspect

from srcad import codegen
from transforms.rules import registry as _REG


def _guards(env):
    """(module dict, name, function) for every user function the generated code
    inlined or calls: rebinding one of those names makes the next call recompile."""
    import sys
    import types
    out, seen = [], set()
    candidates = [(getattr(d, "__module__", None), getattr(d, "__name__", None), d)
                  for d, _ in env.deps[1:]]
    for name, obj in env.namespace.items():
        recipe = env.recipes.get(name)
        if isinstance(obj, types.FunctionType) and recipe and recipe[0] not in (
                "<closure>", "<workspace>", "builtins"):
            candidates.append((recipe[0], recipe[1], obj))
    candidates += [(m, n, v) for m, n, v in env.watched if not isinstance(v, types.ModuleType)]
    for module_name, name, obj in candidates:
        if not module_name or module_name.split(".")[0] in ("srcad", "transforms", "numpy"):
            continue
        module = sys.modules.get(module_name)
        if module is not None and name and vars(module).get(name) is obj \
                and (module_name, name) not in seen:
            seen.add((module_name, name))
            out.append((vars(module), name, obj))
    return tuple(out)


def constants_of(env):
    """Module-level scalars the generated source has inlined (they are checked on load)."""
    return [[m, n, repr(v)] for m, n, v in env.watched
            if isinstance(v, (bool, int, float, complex, str)) or v is None]


def _guards_from(deps):
    import sys
    out = []
    for module, qualname, _ in deps:
        mod = sys.modules.get(module)
        if mod is not None and "." not in qualname and qualname in vars(mod):
            out.append((vars(mod), qualname, vars(mod)[qualname]))
    return tuple(out)


def _rule_hashes(c):
    """Fingerprints of the user rules registered for ``c`` (None where there is none)."""
    from transforms.fingerprint import code_hash
    reg = _REG
    out = []
    for table in (reg.CUSTOM_REVERSE, reg.CUSTOM_FORWARD):
        try:
            rule = table.get(c)
        except TypeError:
            rule = None
        out.append(code_hash(rule) if rule is not None else None)
    return out


def _code_key(fn):
    from transforms.fingerprint import code_hash
    code = fn.__code__      # file and line too: they appear in the generated comments
    return (fn.__module__, fn.__qualname__, code.co_filename, code.co_firstlineno,
            code_hash(fn), _closure_key(fn))


def _closure_key(fn):
    """What the generated code takes from the closure's cells: scalars are inlined (their
    value), captured arrays fix a shape (their dtype and shape)."""
    import numpy as np
    out = []
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
        try:
            v = cell.cell_contents
        except ValueError:                 # an empty cell
            out.append((name, "<empty>"))
            continue
        if isinstance(v, (bool, int, float, complex, str)) or v is None:
            out.append((name, repr(v)))
        elif isinstance(v, np.ndarray):
            out.append((name, str(v.dtype), v.shape))
        elif hasattr(v, "__code__"):       # a captured helper is inlined: its code counts
            from transforms.fingerprint import code_hash
            out.append((name, v.__qualname__, code_hash(v), _closure_key(v)))
        else:
            out.append((name, type(v).__qualname__))
    return tuple(out)


def _from_entry(entry, fn):
    """Rebuild a compiled function from a disk entry, or None if anything is off."""
    from transforms.fingerprint import code_hash
    try:
        for module, qualname, h in entry.get("deps", []):
            dep = _lookup(module, qualname)
            if dep is None or code_hash(dep) != h:
                return None
        for module, name, text in entry.get("constants", []):
            mod = importlib.import_module(module)
            if name not in vars(mod) or repr(vars(mod)[name]) != text:
                return None                 # a module-level constant has a new value
        for module, qualname, rev, fwd in entry.get("callees", []):
            obj = _lookup(module, qualname)
            if obj is not None and _rule_hashes(obj) != [rev, fwd]:
                return None
        namespace = {}
        closure = {}
        if fn.__closure__:
            closure = {n: c.cell_contents for n, c in
                       zip(fn.__code__.co_freevars, fn.__closure__, strict=True)}
        for name, recipe in entry["recipes"].items():
            module, attr = recipe
            if module == "<closure>":
                namespace[name] = closure[attr]
            elif module == "<workspace>":
                from srcad.runtime import Workspace
                namespace[name] = Workspace()
            elif attr is None:
                namespace[name] = importlib.import_module(module)
            else:
                obj = _lookup(module, attr)
                if obj is None:
                    return None
                namespace[name] = obj
        compiled = codegen.load(entry["source"], namespace, fn.__globals__, fn.__qualname__)
        compiled.__srcad_text__ = entry["source"]
        compiled.__srcad_guards__ = _guards_from(entry.get("deps", []))
        return compiled
    except Exception:           # a corrupt or foreign entry is regenerated
        return None


def _lookup(module, qualname):
    try:
        obj = importlib.import_module(module)
    except Exception:
        return None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def own_rule(fn, kind, positions):
    """A user rule registered on the differentiated function itself is used as is."""
    from srcad import runtime
    if kind in ("vjp", "vjp_plain") and fn in _REG.CUSTOM_REVERSE:
        rule = _REG.CUSTOM_REVERSE[fn]

        def vjp(*args_seed_out):
            args, seed = args_seed_out[:len(inspect.signature(fn).parameters)], \
                args_seed_out[len(inspect.signature(fn).parameters)]
            value, back = rule(*args)
            cots = runtime.call_back(back, seed, args, fn.__name__, True)
            return value, tuple(runtime.finalize(cots[p], args[p]) for p in positions)
        vjp.__srcad_text__ = f"# `{fn.__qualname__}` has a user rule: {rule.__qualname__}\n"
        vjp.__srcad_guards__ = ()
        return vjp
    if kind in ("jvp", "jvpvec") and fn in _REG.CUSTOM_FORWARD:
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

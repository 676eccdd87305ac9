"""Callees that are not a dotted name of a module or class, resolved at transform time.

Before (a statement of the user's function)::

    n = RNG.normal(size=3)              # a method of a module-level object
    log.info("x = %s", x)
    g = srcad.grad(f)(x)                # a derivative taken inside differentiated code
    h = F.grad(x)                       # the same through a Differentiable's method

After: the call's function is a name bound in the generated code's namespace to
the object it stands for (``RNG.normal``, ``log.info``, ``srcad.grad(f)``). The
root name is watched like any global read (rebinding ``RNG`` or ``f``
recompiles). A derivative made here is an ordinary callee of the generated code,
which differentiates through it (its own derivative code, a second-order one,
comes from the runtime pullback). A bound method has no rule: called on values
that carry derivatives it is refused like any callable without one; on
constants (a logger, a random draw, ``print``) it runs in the primal sweep.
Such code is kept in memory only (a bound object cannot be found again from the
function in another process), never in the disk cache.
"""
import inspect
import sysconfig
import types

import gast

from srcad.transforms.exits import _load
from srcad.transforms.parse import MISSING, resolve
from srcad.transforms.rules import registry


def resolve_callee(norm, func):
    """(object, node naming it in the generated code[, leading arguments]) for ``func``,
    or None."""
    if isinstance(func, gast.Call):
        return _derivative_made_here(norm, func)
    if isinstance(func, gast.Attribute) and norm._is_global(func):
        return _method_of_global(norm, func)
    return None


def _transform_time_value(norm, node):
    """The value of an argument of ``srcad.grad(...)`` known at transform time, or MISSING."""
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, (gast.Tuple, gast.List)):
        items = [_transform_time_value(norm, e) for e in node.elts]
        return MISSING if any(v is MISSING for v in items) else tuple(items)
    if isinstance(node, (gast.Name, gast.Attribute)) and norm._is_global(node):
        value = resolve(node, norm.parsed.scope)
        if value is MISSING and isinstance(node, gast.Attribute):
            found = _method_of_global(norm, node)
            value = found[0] if found else MISSING
        if value is not MISSING:
            if isinstance(node, gast.Name):
                norm.watch_name(node.id, value)
            else:
                norm.watch_chain(node)
        return value
    return MISSING


def _derivative_made_here(norm, call):
    """``srcad.grad(f, wrt=...)`` as a callee: the gradient function, made now."""
    maker = norm.callee(call.func) if not isinstance(call.func, gast.Call) else MISSING
    if maker is MISSING and isinstance(call.func, gast.Attribute):
        found = _method_of_global(norm, call.func)
        maker = found[0] if found else MISSING
    make = registry.DERIVATIVE_MAKERS.get(_plain(maker)) if registry.hashable(_plain(maker)) \
        else None
    if make is None:
        return None
    args = [_transform_time_value(norm, a) for a in call.args]
    keywords = {k.arg: _transform_time_value(norm, k.value) for k in call.keywords}
    if any(v is MISSING for v in args + list(keywords.values())):
        norm.error(call, "a derivative taken inside differentiated code must be of a "
                         "function known when srcad transforms the code",
                   "srcad builds the inner derivative's code at transform time, so its "
                   "function and options must be module-level names, closure values or "
                   "constants",
                   "define the inner function at module level (or in the enclosing "
                   "function) and pass wrt as a constant")
    if isinstance(maker, types.MethodType):
        args = [maker.__self__] + args
    made = make(*args, **keywords)
    name = norm.env.bind(getattr(made, "__name__", "derivative"), made, None)
    return made, _load(name)


def _plain(obj):
    return obj.__func__ if isinstance(obj, types.MethodType) else obj


def _method_of_global(norm, func):
    """``RNG.normal``, ``log.info``, ``F.grad``: an attribute of a module-level object
    that is neither a module nor a class, read now; None when it is not a plain method
    (a property or another descriptor would run code srcad cannot see)."""
    base = _global_object(norm, func.value)
    if base is MISSING or isinstance(base, (types.ModuleType, type)):
        return None
    static = inspect.getattr_static(base, func.attr, MISSING)
    if not (inspect.isfunction(static) or inspect.isbuiltin(static)
            or inspect.ismethoddescriptor(static) and not inspect.isdatadescriptor(static)
            or isinstance(static, (staticmethod, classmethod))):
        return None
    try:
        obj = getattr(base, func.attr)
    except Exception:
        return None
    maker = registry.DERIVATIVE_MAKERS.get(_plain(obj)) if registry.hashable(_plain(obj)) \
        else None
    norm.watch_chain(func)
    if maker is not None and isinstance(obj, types.MethodType):
        made = maker(obj.__self__)          # F.grad: the gradient function of F
        name = norm.env.bind(getattr(made, "__name__", "derivative"), made, None)
        return made, _load(name)
    owner = getattr(obj, "__srcad_bound__", None)     # ``model.loss`` of a decorated method
    if owner is None and isinstance(obj, types.MethodType) and _users(obj.__func__) \
            and not isinstance(obj.__self__, type):
        owner = (obj.__func__, (obj.__self__,))
        norm.env.attrs.append((type(obj.__self__), obj.__func__.__name__, obj.__func__))
    if owner is not None and len(owner[1]) == 1:
        # ``OBJ.transform(x)`` is ``T.transform(OBJ, x)``: the method's source is inlined,
        # the object is a constant read when the code runs
        fn, (this,) = owner
        name = norm.env.bind(_root(func), this, None)
        if type(this).__module__.split(".")[0] not in ("builtins", "numpy"):
            norm.env.types[name] = type(this)
        ref = norm.env.bind(fn.__name__, fn, None)
        return fn, _load(ref), [_load(name)]
    name = norm.env.bind(f"{_root(func)}_{func.attr}", obj, None)
    return obj, _load(name)


def _users(fn):
    """Is ``fn`` the user's own code (not srcad's, the standard library's or a package's)?
    A method of the user's class is inlined; any other stays a call (run as is on
    constants, refused on values that carry derivatives)."""
    if not inspect.isfunction(fn) or registry.is_effect(fn):
        return False
    root = (getattr(fn, "__module__", "") or "").split(".")[0]
    filename = fn.__code__.co_filename
    return root not in ("srcad", "numpy") and not any(
        part in filename for part in ("site-packages", "dist-packages", _STDLIB))


_STDLIB = sysconfig.get_paths()["stdlib"]


def _global_object(norm, node):
    """The module-level object ``node`` (a dotted name) stands for, or MISSING."""
    if isinstance(node, gast.Name):
        if node.id in norm.locals:
            return MISSING
        return norm.parsed.scope.get(node.id, MISSING)
    if isinstance(node, gast.Attribute):
        found = resolve(node, norm.parsed.scope)
        if found is not MISSING:
            return found
        base = _global_object(norm, node.value)
        if base is MISSING:
            return MISSING
        static = inspect.getattr_static(base, node.attr, MISSING)
        if static is MISSING or inspect.isdatadescriptor(static) and not isinstance(
                static, types.MemberDescriptorType):
            return MISSING              # a property: reading it runs code
        return getattr(base, node.attr, MISSING)
    return MISSING


def _root(node):
    while isinstance(node, gast.Attribute):
        node = node.value
    return node.id if isinstance(node, gast.Name) else "obj"


def refuse(norm, call):
    """The located TransformError for a callee srcad cannot tell at transform time."""
    import ast
    func = call.func
    text = ast.unparse(gast.gast_to_ast(gast.Expression(body=func)).body)
    if isinstance(func, gast.Attribute) and norm._is_global(func):
        norm.error(call, f"`{text}` is not a function or method srcad can read",
                   "srcad resolves every callee when it transforms the code, and this "
                   "attribute is not a plain function or method (a property, a builtin "
                   "descriptor, or missing)",
                   f"call a module-level function, or give `{text}` a rule with "
                   f"@srcad.adjoint")
    if isinstance(func, gast.Call):
        maker = norm.callee(func.func)
        if (getattr(maker, "__module__", None) or "").split(".")[0] == "srcad":
            shown = ast.unparse(gast.gast_to_ast(gast.Expression(body=func.func)).body)
            norm.error(call, f"`{shown}(...)` cannot be differentiated through inside "
                             f"differentiated code",
                       "of the derivatives srcad makes, only a gradient (srcad.grad(f), "
                       "F.grad) has a derivative of its own",
                       "take this derivative outside the differentiated function, or write "
                       "it with srcad.grad")
    root = func
    while isinstance(root, (gast.Attribute, gast.Subscript, gast.Call)):
        root = root.func if isinstance(root, gast.Call) else root.value
    params = {a.id for a in norm.parsed.tree.args.args + norm.parsed.tree.args.kwonlyargs}
    what = "a value computed at run time"
    if isinstance(root, gast.Name) and root.id in params:
        what = f"`{root.id}`, a parameter of the function"
    elif isinstance(root, gast.Name) and root.id in norm.locals:
        what = f"`{root.id}`, a value computed inside the function"
    norm.error(call, f"calls to {what} (`{text}(...)`) are not supported",
               "srcad resolves every callee when it transforms the code, before the "
               "function runs",
               "call the function by its module-level (or enclosing function's) name")

"""Standalone source: a compiled derivative as a module that runs on its own.

``f.source("grad", x, standalone=True)`` gives the generated function with
everything it names made explicit: imports of NumPy, of srcad's runtime helpers
and of the user's helpers (each by module and name), constants written as
literals, a fresh workspace, and a wrapper with the meaning of ``f.grad``::

    # srcad: reverse mode (vector-Jacobian product) of eam (model.py:10)
    # standalone module: ...
    import numpy as np
    import srcad.runtime as _rt
    from srcad.runtime import Workspace
    from srcad.kernels.broadcast import unbroadcast
    W = np.array([0.0, 1.0, 2.0], dtype='float64').reshape((3,))
    _ws = Workspace()

    def eam_vjp(x, seed, out=None):
        ...

    def eam_grad(x):
        value, grads = eam_vjp(x, 1.0)
        return grads[0]

The module imports srcad's runtime helpers (not its compiler: nothing is
transformed when it runs). What cannot be written down (an object with no
importable name and no literal, a helper defined in ``__main__``) raises
``ValueError`` naming it.
"""
import ast
import builtins
import math
import sys
import types

import numpy as np

from srcad import codegen
from srcad.transforms.blocks import walk

LITERAL_LIMIT = 10_000      # arrays with more entries are imported from their module


def module_source(d, fn, kind):
    """The standalone module for ``fn``, the compiled function of ``d`` of ``kind``
    ("grad", "pullback", "jvp")."""
    text = getattr(fn, "__srcad_text__", "")
    if not text.startswith("def _srcad_factory("):
        raise ValueError(f"`{d.fn.__qualname__}` has a rule of its own (@srcad.adjoint or "
                         f"@srcad.tangent): there is no generated source to write out; the "
                         f"rule is the derivative")
    body = codegen.inner_source(text)
    tree = ast.parse(body)
    func = next(node for node in tree.body if isinstance(node, ast.FunctionDef))
    bound = dict(zip(fn.__code__.co_freevars, [c.cell_contents for c in fn.__closure__ or ()],
                     strict=True))
    imports, assignments, defined = set(), [], set()
    for name in sorted(_free_names(func)):
        if name in bound:
            value = bound[name]
        elif name in fn.__globals__:
            value = fn.__globals__[name]
        elif hasattr(builtins, name):
            continue
        else:
            raise ValueError(f"standalone source: the generated code names `{name}`, which "
                             f"is bound nowhere")
        if getattr(builtins, name, None) is value:
            continue
        new_imports, assignment = _binding(name, value, d.fn)
        imports.update(new_imports)
        if assignment:
            assignments.append(assignment)
        defined.add(name)
    header, code = _split_header(body)
    wrapper, entry = _wrapper(d, func, kind, defined)
    names = func.name if entry == func.name else f"{func.name} and {entry}"
    note = [f"# a standalone module written by srcad: {names} use only what is imported",
            "# and bound below (NumPy, srcad's runtime helpers, the user's own helpers)"]
    parts = ["\n".join(header + note), "\n".join(sorted(imports, key=_import_order))]
    if assignments:
        parts.append("\n".join(assignments))
    parts += [code.strip("\n"), wrapper.strip("\n")]
    return "\n\n\n".join(p for p in parts if p) + "\n"


def _import_order(line):
    """``import x`` lines first, then ``from x import y``; each group by module."""
    return (line.startswith("from "), line)


def _split_header(body):
    lines = body.splitlines()
    k = 0
    while k < len(lines) and lines[k].startswith("#"):
        k += 1
    return lines[:k], "\n".join(lines[k:]) + "\n\n"


def _free_names(func):
    """Names the function reads that it does not define itself."""
    local = {a.arg for a in walk(func.args) if isinstance(a, ast.arg)}
    reads = set()
    for node in walk(func):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else local).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)) and node is not func:
            local |= {a.arg for a in walk(node.args) if isinstance(a, ast.arg)}
            if isinstance(node, ast.FunctionDef):
                local.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            local.add(node.name)
    return reads - local


def _wrapper(d, func, kind, defined):
    """The function with the meaning of ``d.<kind>`` and its name."""
    params = [a.arg for a in func.args.args]
    base = d.fn.__name__ if d.fn.__name__.isidentifier() else "fn"
    if kind not in ("grad", "pullback"):     # jvp: the generated function is the product
        return "", func.name
    n = len(params) - 2                      # the arguments, then seed and out
    args = params[:n]
    name = f"{base}_{kind}"
    if name in defined or name == func.name or name in args:
        raise ValueError(f"standalone source: `{name}` is already a name in the generated "
                         f"code")
    call = ", ".join(args)
    if kind == "pullback":
        text = (f"def {name}({call}):\n"
                f'    """(value, back): back(cotangent) is the tuple of gradients."""\n'
                f"    value, _ = {func.name}({call}{', ' if call else ''}0.0)\n\n"
                f"    def back(cotangent):\n"
                f"        return {func.name}({call}{', ' if call else ''}cotangent)[1]\n"
                f"    return value, back\n")
        return text, name
    result = "grads[0]" if d.single else "grads"
    doc = f'    """What `{d.fn.__qualname__}.grad({call})` returns."""\n'
    if d.has_aux:
        text = (f"def {name}({call}):\n{doc}"
                f"    (value, aux, n), grads = {func.name}({call}, (1.0, 0.0, 0.0))\n"
                f"    return {result}, aux\n")
    else:
        text = (f"def {name}({call}):\n{doc}"
                f"    value, grads = {func.name}({call}{', ' if call else ''}1.0)\n"
                f"    return {result}\n")
    return text, name


def _binding(name, value, user_fn):
    """The import lines and the assignment (or None) that bind ``name`` to ``value``."""
    from srcad.runtime import Workspace
    if isinstance(value, types.ModuleType):
        if value.__name__ == name:
            return [f"import {name}"], None
        return [f"import {value.__name__} as {name}"], None
    if isinstance(value, Workspace):
        cls = type(value)
        return [f"from {cls.__module__} import {cls.__name__}"], f"{name} = {cls.__name__}()"
    literal = _literal(value)
    if literal is not None:
        return [], f"{name} = {literal}"
    where = _importable(value) or _global_of(value, user_fn)
    if where is None:
        raise ValueError(f"standalone source: `{name}` ({_describe(value)}) has no importable "
                         f"name and no literal form; give it a module-level name in an "
                         f"importable module")
    module, qualname = where
    if module == "__main__":
        raise ValueError(f"standalone source: `{name}` is defined in __main__, which another "
                         f"process cannot import; move it to a module")
    head, _, rest = qualname.partition(".")
    line = f"from {module} import {head}" + ("" if head == name else f" as {name}")
    return [line], (f"{name} = {name}.{rest}" if rest else None)


def _describe(value):
    return f"a {type(value).__module__}.{type(value).__qualname__}"


def _importable(value):
    """(module, qualified name) under which ``value`` is found again, or None."""
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    obj = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return (module, qualname) if obj is value else None


def _global_of(value, user_fn):
    """A module-level name of the user's module holding ``value``, or None."""
    g = getattr(user_fn, "__globals__", {})
    module = g.get("__name__")
    for key, v in g.items():
        if v is value and key.isidentifier() and isinstance(module, str):
            return module, key
    return None


def _literal(value):
    """Python source that evaluates to ``value`` (a number, a small numeric array, a tuple
    or list of them, None), or None."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return repr(value)
    if type(value) in (int, float, complex):
        return _number(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return f"np.{value.dtype.name}({_number(value.item())})"
    if type(value) is np.ndarray and value.dtype.kind in "biufc" \
            and value.size <= LITERAL_LIMIT:
        items = ", ".join(_number(v) for v in value.ravel().tolist())
        return (f"np.array([{items}], dtype={value.dtype.str!r})"
                f".reshape({tuple(value.shape)!r})")
    if type(value) in (tuple, list):
        items = [_literal(v) for v in value]
        if any(i is None for i in items):
            return None
        inner = ", ".join(items) + ("," if type(value) is tuple and len(items) == 1 else "")
        return f"({inner})" if type(value) is tuple else f"[{inner}]"
    return None


def _number(v):
    if isinstance(v, bool) or isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "float('-inf')"
        return repr(v)
    return f"complex({_number(v.real)}, {_number(v.imag)})"

"""Read a Python function into a gast tree and an environment.

Before::

    @srcad.differentiate
    def eam(x):
        p = np.sum(rho(x))
        ...

After: ``Parsed(tree=<gast FunctionDef eam, decorators stripped, line
numbers of the user's file>, env=Env(...))``. The environment resolves free
names against the function's closure, globals and builtins at transform time;
every object the generated code needs is bound by name in ``env.namespace``.
"""
import ast
import builtins
import inspect
import textwrap
import types
import weakref
from dataclasses import dataclass, field

import gast

from srcad.errors import TransformError
from srcad.transforms import lambdas
from srcad.transforms.blocks import clone, walk
from srcad.transforms.fingerprint import code_hash, code_shape  # noqa: F401  (re-exported)


@dataclass
class Env:
    """Names the generated code may reference, and where each came from."""
    namespace: dict = field(default_factory=dict)   # generated name -> object
    recipes: dict = field(default_factory=dict)     # generated name -> (module, attr) or None
    deps: list = field(default_factory=list)       # (function, code hash) it depends on
    taken: set = field(default_factory=set)         # local names of the generated function
    callees: list = field(default_factory=list)     # every callable the derivative code classified
    types: dict = field(default_factory=dict)       # local name -> class of a structured argument
    layouts: dict = field(default_factory=dict)     # parameter -> its layout (transforms/operators)
    watched: list = field(default_factory=list)     # (module, name, value) of globals read
    cells: list = field(default_factory=list)       # (cell, name, value) of closure cells read
    attrs: list = field(default_factory=list)       # (class, name, value) of class attributes read
    inlined: list = field(default_factory=list)     # (helper, caller's file, line, col) per call
    inlined_names: dict = field(default_factory=dict)  # an inlined helper's local -> its call
                                                    # (the index in ``inlined``)

    def bind(self, preferred, obj, recipe=None):
        """Bind ``obj`` under ``preferred`` (or a fresh variant); return the name."""
        from srcad.transforms.exits import identifier
        preferred = identifier(preferred)
        name = preferred
        k = 1
        while (name in self.namespace and self.namespace[name] is not obj) or \
                (name in self.taken and name not in self.namespace):
            k += 1
            name = f"{preferred}_{k}"
        self.namespace[name] = obj
        self.recipes.setdefault(name, recipe)
        self.taken.add(name)
        return name


@dataclass
class Parsed:
    fn: object
    tree: object            # gast.FunctionDef
    filename: str
    scope: dict             # free name -> object (closure, globals, builtins)
    recipes: dict           # free name -> (module, attr) for the disk cache, None when unknown


_MISSING = object()


def source_of(fn):
    """Source text, filename and first line of ``fn``."""
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise lambdas.no_source_error(fn, str(exc)) from None
    filename = fn.__code__.co_filename
    return "".join(lines), filename, start


# id(code object) -> (a weak reference to it, its gast tree, its file): a function is read
# once per code object (every kind and signature of it and every inlining of a helper
# transforms a copy). A new code object (an edit reloaded, ``__code__`` replaced) is read
# afresh; the source found later for the same code object (its file edited since) is not.
_TREES = {}


def parse_function(fn):
    code = fn.__code__
    hit = _TREES.get(id(code))
    if hit is not None and hit[0]() is code:
        tree, filename = clone(hit[1]), hit[2]
    else:
        tree, filename = _read(fn)
        key = id(code)
        ref = weakref.ref(code, lambda _: _TREES.pop(key, None))
        _TREES[key] = (ref, clone(tree), filename)
    scope, recipes = free_names(fn)
    return Parsed(fn, tree, filename, scope, recipes)


def _read(fn):
    """(the gast tree of ``fn``'s ``def`` or lambda, its file), from the source."""
    if fn.__code__.co_name == "<lambda>":
        node, filename = lambdas.lambda_def(fn)
        return gast.ast_to_gast(node), filename
    source, filename, start = source_of(fn)
    text = textwrap.dedent(source)
    indent = len(source) - len(source.lstrip()) - (len(text) - len(text.lstrip()))
    try:
        module = ast.parse(text)
    except SyntaxError as exc:
        raise TransformError(f"cannot parse the source of `{fn.__qualname__}`: {exc.msg}",
                             filename=filename, lineno=(exc.lineno or 1) + start - 1) from None
    ast.increment_lineno(module, start - 1)
    if indent:
        for node in walk(module):
            if hasattr(node, "col_offset"):
                node.col_offset += indent
    node = module.body[0]
    if not _runs(fn.__code__, module, node):
        raise TransformError(
            f"the source found for `{fn.__qualname__}` is not the code that runs",
            filename=filename, lineno=start,
            why=f"the text at {filename.rsplit('/', 1)[-1]}:{start} does not compile to "
                f"`{fn.__qualname__}`'s code object (the file was edited after the function "
                f"was defined, or its code was replaced)",
            hint="reload the module or re-run the cell that defines it, so the source and "
                 "the running code agree")
    if isinstance(node, ast.AsyncFunctionDef):
        raise TransformError("async functions cannot be differentiated", filename=filename,
                             lineno=node.lineno, col=node.col_offset,
                             why="srcad transforms plain synchronous functions",
                             hint="differentiate a synchronous function that the coroutine calls")
    if not isinstance(node, ast.FunctionDef):
        raise TransformError(f"`{fn.__qualname__}` is not a `def` function (lambdas are not "
                             "supported)", filename=filename, lineno=start,
                             hint="write it as a `def`")
    node.decorator_list = []
    return gast.ast_to_gast(node), filename


def _runs(code, module, node):
    """Does the source ``module`` (a ``def`` first) compile to ``code``? Compared: the
    name, the parameters and locals, the names read and the constants, nested code
    included (not the bytecode: a closure compiled alone reads its free names as
    globals)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name != code.co_name:
        return False
    try:
        compiled = compile(module, code.co_filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return True                     # judged by the passes that follow
    found = [c for c in compiled.co_consts
             if isinstance(c, types.CodeType) and c.co_name == code.co_name]
    return bool(found) and code_shape(found[0]) == code_shape(code)


def free_names(fn):
    """Everything a function body can name that is not a local."""
    scope, recipes = {}, {}
    module = getattr(fn, "__module__", None)
    for name, value in vars(builtins).items():
        scope[name] = value
        recipes[name] = ("builtins", name)
    for name, value in fn.__globals__.items():
        scope[name] = value
        recipes[name] = (module, name) if module else None
    if fn.__closure__:
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__, strict=True):
            try:
                scope[name] = cell.cell_contents
            except ValueError:
                continue
            recipes[name] = ("<closure>", name)
    return scope, recipes


def resolve(node, scope):
    """The object a dotted name (``np.linalg.solve``) refers to, or _MISSING."""
    if isinstance(node, gast.Name):
        return scope.get(node.id, _MISSING)
    if isinstance(node, gast.Attribute):
        base = resolve(node.value, scope)
        if base is _MISSING or not (isinstance(base, (types.ModuleType, type))
                                    or type(base).__name__ == "ufunc"):
            return _MISSING
        return getattr(base, node.attr, _MISSING)
    return _MISSING


MISSING = _MISSING


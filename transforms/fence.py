"""Reject what cannot be differentiated, with a located error.

Before: any parsed function. After: the same tree, unchanged, or a
``TransformError`` pointing at the first unsupported statement::

    srcad.TransformError: model.py:4:4: `with` statements cannot be differentiated
        with open(path) as fh:
        ^
    why: ...
    try: ...

This is an allow-list: a node type not listed here is rejected.
"""
import gast

from srcad.errors import TransformError
from srcad.transforms.blocks import walk

_ADJOINT_HINT = "move this code into a helper function and give it a rule with @srcad.adjoint"

REJECTED = {
    gast.Try: ("`try` statements cannot be differentiated",
               "the reverse sweep must replay exactly the statements that ran, and an "
               "exception handler makes that unknowable", _ADJOINT_HINT),
    gast.With: ("`with` statements cannot be differentiated",
                "context managers run code srcad cannot see", _ADJOINT_HINT),
    gast.AsyncWith: ("`async with` cannot be differentiated", None, _ADJOINT_HINT),
    gast.AsyncFor: ("`async for` cannot be differentiated", None, _ADJOINT_HINT),
    gast.AsyncFunctionDef: ("async functions cannot be differentiated", None, _ADJOINT_HINT),
    gast.Await: ("`await` cannot be differentiated", None, _ADJOINT_HINT),
    gast.Yield: ("generators (`yield`) cannot be differentiated",
                 "a generator's body runs lazily, outside the differentiated call",
                 "return a list or an array instead"),
    gast.YieldFrom: ("generators (`yield from`) cannot be differentiated", None,
                     "return a list or an array instead"),
    gast.Global: ("`global` statements cannot be differentiated",
                  "writes to module state escape the gradient",
                  "pass the value in as an argument and return the new value"),
    gast.Nonlocal: ("`nonlocal` statements cannot be differentiated",
                    "writes to an enclosing scope escape the gradient",
                    "pass the value in as an argument and return the new value"),
    gast.ClassDef: ("class definitions inside a differentiated function are not supported",
                    None, "define the class at module level"),
    gast.Delete: ("`del` statements cannot be differentiated",
                  "the reverse sweep may still need the deleted value",
                  "let the name go out of scope or rebind it"),
    gast.Import: ("imports inside a differentiated function are not supported", None,
                  "import at module level"),
    gast.ImportFrom: ("imports inside a differentiated function are not supported", None,
                      "import at module level"),
    gast.Lambda: ("lambdas inside a differentiated function are not supported", None,
                  "define a named helper function with `def` at module level"),
    gast.FunctionDef: ("nested function definitions are not supported", None,
                       "define the helper at module level (srcad inlines it)"),
    gast.Starred: ("star-arguments (`*args`) are not supported",
                   "srcad binds every argument by position or name at transform time",
                   "pass the elements explicitly or pass the tuple itself"),
    gast.NamedExpr: ("assignment expressions (`:=`) are not supported", None,
                     "assign on a separate line"),
    gast.SetComp: ("set comprehensions cannot be differentiated", None, "build a list"),
    gast.DictComp: ("dict comprehensions cannot be differentiated", None,
                    "build the dict with explicit keys"),
    gast.Set: ("sets cannot be differentiated", None, "use a list or a tuple"),
    gast.Match: ("`match` statements are not supported", None, "use if/elif/else"),
}


RESERVED = {"_rt", "_ws"}       # the runtime and the work buffers in generated code


def check(parsed):
    """Raise TransformError for the first unsupported construct of ``parsed``."""
    fn_node = parsed.tree
    args = fn_node.args
    if args.vararg is not None or args.kwarg is not None:
        _raise(parsed, fn_node, "functions with `*args` or `**kwargs` parameters are not "
               "supported", "srcad specialises on each named parameter",
               "give every parameter a name")
    own = parsed.filename.startswith("<srcad")      # srcad's own code, differentiated again
    for node in walk(fn_node) if not own else ():
        if isinstance(node, gast.Name) and node.id in RESERVED:
            _raise(parsed, node if getattr(node, "lineno", None) else fn_node,
                   f"the name `{node.id}` is srcad's own in the code it generates",
                   "generated code reads srcad's runtime and work buffers under these names",
                   f"rename `{node.id}`")
    for stmt in fn_node.body:
        for node in walk(stmt):
            entry = REJECTED.get(type(node))
            if entry is not None:
                _raise(parsed, node, *entry)
            if isinstance(node, gast.Call) and any(kw.arg is None for kw in node.keywords):
                _raise(parsed, node, "`**kwargs` in a call is not supported",
                       "srcad binds every argument by position or name at transform time",
                       "pass the keywords explicitly")
    return parsed


def _raise(parsed, node, what, why, hint):
    raise TransformError(what, filename=parsed.filename, lineno=getattr(node, "lineno", None),
                         col=getattr(node, "col_offset", 0), why=why, hint=hint)

"""gast -> Python source -> a callable, with the source visible to debuggers.

The generated module is a factory whose parameters are the objects the
generated function names (``np``, ``_rt``, user helpers, rules)::

    def _srcad_factory(np, _rt):
        # srcad: reverse mode of eam (model.py:12), wrt ('x',), signature (float64[1],)
        def eam_vjp(x, seed):
            # model.py:13  p = np.sum(rho(x))
            ...
        return eam_vjp

It is compiled under a ``<srcad ...>`` file name registered in ``linecache``,
so tracebacks, ``pdb`` and ``inspect.getsource`` show the generated lines.
"""
import ast
import hashlib
import linecache
import re
import textwrap

import astunparse
import gast

COMMENT = "#srcad#"
_COMMENT_LINE = re.compile(r"^(\s*)(?:'|\"|\"\"\")" + COMMENT + r" ?(.*?)(?:'|\"|\"\"\")$")


def _comment(text):
    return gast.Expr(value=gast.Constant(value=f"{COMMENT} {text}", kind=None))


def annotate(stmts, filename, seen=None):
    """Put a ``# file:line  source`` comment before each new user line."""
    import os
    seen = set() if seen is None else seen
    out = []
    for s in stmts:
        line = getattr(s, "lineno", None)
        if line is not None and (filename, line) not in seen:
            seen.add((filename, line))
            text = linecache.getline(filename, line).strip()
            out.append(_comment(f"{os.path.basename(filename)}:{line}  {text}"))
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                setattr(s, field, annotate(inner, filename, seen))
        out.append(s)
    return out


def to_source(fn_node, params, header):
    """The factory module's source text for one generated function."""
    fn_ast = gast.gast_to_ast(fn_node)
    ast.fix_missing_locations(fn_ast)
    unparse = getattr(ast, "unparse", None) or astunparse.unparse
    body = unparse(fn_ast).strip("\n")
    lines = []
    for line in body.splitlines():
        m = _COMMENT_LINE.match(line)
        if m:
            lines.append(f"{m.group(1)}# {m.group(2)}")
        elif line.strip():
            lines.append(line)
    inner = textwrap.indent("\n".join(lines), "    ")
    head = "\n".join("    # " + h for h in header)
    return (f"def _srcad_factory({', '.join(params)}):\n{head}\n{inner}\n"
            f"    return {fn_node.name}\n")


def inner_source(text):
    """The generated function alone (what users read), from the factory text."""
    lines = text.splitlines()[1:-1]
    return textwrap.dedent("\n".join(lines)) + "\n"


def load(text, namespace, module_globals, name_hint):
    """Compile the factory text, register it for debuggers, return the function."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    filename = f"<srcad {name_hint} {digest}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    code = compile(text, filename, "exec")
    scope = {}
    exec(code, module_globals, scope)
    factory = scope["_srcad_factory"]
    params = factory.__code__.co_varnames[:factory.__code__.co_argcount]
    return factory(*[namespace[p] for p in params])

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
import math
import re
import textwrap

import astunparse
import gast

COMMENT = "#srcad#"
_COMMENT_LINE = re.compile(r"^(\s*)(?:'|\"|\"\"\")" + COMMENT + r" ?(.*?)(?:'|\"|\"\"\")$")


def comment_safe(text):
    """``text`` with every character that is not printable (a newline, a carriage
    return, a line or paragraph separator, any control character) written as its escape:
    a file name or a qualified name from outside can never end a comment and become code."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in str(text))


def _comment(text):
    return gast.Expr(value=gast.Constant(value=f"{COMMENT} {comment_safe(text)}", kind=None))


def annotate(stmts, filename):
    """Put a ``# file:line  source`` comment before each run of statements that comes
    from one user line (the adjoint sweep's too): every generated line is read back to
    the user's line above it (tracebacks, ``srcad.tracebacks.origin``)."""
    import os
    out = []
    last = None
    for s in stmts:
        line = getattr(s, "lineno", None)
        if line is not None and line != last:
            text = linecache.getline(filename, line).strip()
            out.append(_comment(f"{os.path.basename(filename)}:{line}  {text}"))
        last = line     # after a line of srcad's own (seed2 = ...) the user's line is named again
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                setattr(s, field, annotate(inner, filename))
        out.append(s)
    return out


def _literal(value):
    """An expression that evaluates to ``value`` wherever it is printed, or None.

    The unparser prints a number by its ``repr``, so ``Constant(-2.0)`` under
    ``**`` reads ``-2.0 ** 2`` (that is ``-(2.0 ** 2)``). A negative number
    (and ``-0.0``) becomes a unary minus of a non-negative literal, which the
    unparser parenthesises by precedence: ``(-2.0) ** 2``. NaN is ``inf - inf``;
    a complex number is arithmetic on its parts that keeps NaNs and signed zeros.
    NumPy scalars and non-numbers are left as they are.
    """
    kind = type(value)
    if kind is int:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value)) if value < 0 else None
    if kind is float:
        if math.isnan(value):
            inf = float("inf")
            return ast.BinOp(left=ast.Constant(inf), op=ast.Sub(), right=ast.Constant(inf))
        if math.copysign(1.0, value) < 0:
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
        return None
    if kind is complex:
        return _complex(value)
    return None


def _complex(z):
    """``z`` as ``re + im*1j`` arithmetic that keeps NaNs and signed zeros."""
    def imag(i):                    # an imaginary literal for i >= 0 or NaN
        if math.isnan(i):
            inf = complex(0, math.inf)
            return ast.BinOp(left=ast.Constant(inf), op=ast.Sub(), right=ast.Constant(inf))
        return ast.Constant(complex(0, i))

    def real(r):
        return _literal(r) or ast.Constant(r)

    def negated(r, i):              # -(-re - i*1j): exact real part, imaginary -(0.0 - i)
        inner = ast.BinOp(left=real(-r), op=ast.Sub(), right=imag(i))
        return ast.UnaryOp(op=ast.USub(), operand=inner)

    re, im = z.real, z.imag
    re_minus_zero = re == 0 and math.copysign(1.0, re) < 0
    if math.isnan(im):
        return negated(re, im)
    if re == 0 and not re_minus_zero and math.copysign(1.0, im) > 0:
        return None                 # an imaginary literal prints as itself: 2j
    if math.copysign(1.0, im) < 0:
        if im == 0:
            return negated(re, 0.0)
        return ast.BinOp(left=real(re), op=ast.Sub(), right=imag(-im))
    if not re_minus_zero:
        return ast.BinOp(left=real(re), op=ast.Add(), right=imag(im))
    if im > 0:
        return negated(re, im)
    minus_zero = ast.UnaryOp(op=ast.USub(), operand=ast.Constant(0j))     # (-0.0, -0.0)
    return ast.Call(func=ast.Attribute(value=minus_zero, attr="conjugate", ctx=ast.Load()),
                    args=[], keywords=[])


class _Literals(ast.NodeTransformer):
    def visit_Constant(self, node):
        new = _literal(node.value)
        return node if new is None else ast.copy_location(new, node)


def unparse(tree):
    """Python source for a gast tree; every number reads back as the same number."""
    py = _Literals().visit(gast.gast_to_ast(tree))
    ast.fix_missing_locations(py)
    return (getattr(ast, "unparse", None) or astunparse.unparse)(py)


def readable(fn_node):
    """The source of one generated function, its ``file:line`` markers as comments."""
    body = unparse(fn_node).strip("\n")
    lines = []
    for line in body.splitlines():
        m = _COMMENT_LINE.match(line)
        if m:
            lines.append(f"{m.group(1)}# {m.group(2)}")
        elif line.strip():
            lines.append(line)
    return "\n".join(lines)


def to_source(fn_node, params, header):
    """The factory module's source text for one generated function."""
    inner = textwrap.indent(readable(fn_node), "    ")
    head = "\n".join("    # " + comment_safe(h) for h in header)
    return (f"def _srcad_factory({', '.join(params)}):\n{head}\n{inner}\n"
            f"    return {fn_node.name}\n")


def inner_source(text):
    """The generated function alone (what users read), from the factory text (a module
    of the numba backend is read as it is)."""
    if not text.startswith("def _srcad_factory("):
        return text
    lines = text.splitlines()[1:-1]
    return textwrap.dedent("\n".join(lines)) + "\n"


def load(text, namespace, module_globals, name_hint):
    """Compile the factory text, register it for debuggers, return the function."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    filename = f"<srcad {comment_safe(name_hint)} {digest}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    code = compile(text, filename, "exec")
    scope = {}
    exec(code, module_globals, scope)
    factory = scope["_srcad_factory"]
    params = factory.__code__.co_varnames[:factory.__code__.co_argcount]
    return factory(*[namespace[p] for p in params])

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

from srcad.transforms.blocks import walk

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


def annotate(stmts, filename, env=None):
    """Put a ``# file:line  source`` comment before each run of statements that comes
    from one user line (the adjoint sweep's too): every generated line is read back to
    the user's line above it (tracebacks, ``srcad.tracebacks.origin``). A run of an
    inlined helper's lines starts with the call it came from (``env``: the inliner's
    record), in both sweeps::

        # inlined rho(...) from model.py:17
        # model.py:13  return np.exp(-3.0 * (r + 1.0))
    """
    calls = _InlinedCalls(filename, env)
    return _annotate(stmts, filename, calls)


def _annotate(stmts, filename, calls):
    import os
    out = []
    last = None
    current = None                  # the inlined call of the run at hand
    for k, s in enumerate(stmts):
        line = getattr(s, "lineno", None)
        if line is not None and line != last:
            run = []
            for t in stmts[k:]:
                if getattr(t, "lineno", None) != line:
                    break
                run.append(t)
            call = calls.of(run, line, current)
            if call is not None and call != current:
                out.append(_comment(calls.describe(call)))
            current = call
            text = linecache.getline(filename, line).strip()
            out.append(_comment(f"{os.path.basename(filename)}:{line}  {text}"))
        last = line     # after a line of srcad's own (seed2 = ...) the user's line is named again
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                setattr(s, field, _annotate(inner, filename, calls))
        out.append(s)
    return out


class _InlinedCalls:
    """Which inlined call a statement on a helper's line came from: the helper's source
    holds the line; of several calls of one helper, the one whose locals (``rho_t2``,
    ``rho_t2_bar``) the statement names, else the call of the run at hand."""

    def __init__(self, filename, env):
        self.records = list(getattr(env, "inlined", None) or ())
        self.names = dict(getattr(env, "inlined_names", None) or {})
        self.spans = []
        for k, (fn, *_) in enumerate(self.records):
            code = getattr(fn, "__code__", None)
            if code is None or code.co_filename != filename:
                continue        # (a helper from another file is located at its call)
            last = max([n for _, _, n in code.co_lines() if n is not None],
                       default=code.co_firstlineno)
            self.spans.append((code.co_firstlineno, last, k))

    def of(self, run, line, current):
        """The call (an index, or a tuple of them when it is not known which) of the
        statements ``run`` on ``line``, or None when the line is not a helper's."""
        if not self.spans:
            return None
        candidates = [k for first, last, k in self.spans if first <= line <= last]
        if not candidates:
            return None
        for n in (n for s in run for n in walk(s)):
            if isinstance(n, gast.Name):
                k = self.names.get(n.id, self.names.get(re.sub(r"_bar\d*$", "", n.id)))
                if k in candidates:
                    return k
        if current in candidates:
            return current
        if len(candidates) == 1:
            return candidates[0]
        inner = self.records[candidates[-1]][0]        # the innermost helper: its calls
        return tuple(k for k in candidates if self.records[k][0] is inner)

    def describe(self, call):
        import os
        ks = call if isinstance(call, tuple) else (call,)
        fn = self.records[ks[0]][0]
        where = ", ".join(f"{os.path.basename(self.records[k][1])}:{self.records[k][2]}"
                          for k in ks)
        return f"inlined {getattr(fn, '__name__', 'helper')}(...) from {where}"


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


def _fix_literals(py):
    """Replace in the ast tree ``py`` each constant that would not read back as itself by
    ``_literal``'s expression (constants are leaves: one pass over the others). A statement
    made by the passes gets the line number the unparser reads (for type comments: none)."""
    todo = [py]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.stmt) and "lineno" not in node.__dict__:
            node.lineno = 0
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                if value.__class__ is not ast.Constant:
                    todo.append(value)
                elif (new := _literal(value.value)) is not None:
                    setattr(node, name, ast.copy_location(new, value))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if not isinstance(item, ast.AST):
                        continue
                    if item.__class__ is not ast.Constant:
                        todo.append(item)
                    elif (new := _literal(item.value)) is not None:
                        value[i] = ast.copy_location(new, item)
    return py


_LISTS = frozenset(("type_params",))     # list fields of newer Pythons' nodes gast lacks
_ABSENT = object()


def _to_ast(node):
    """The ast tree of the gast tree ``node`` as ``gast.gast_to_ast`` makes it, without
    locations (the unparser reads none) and at a fraction of its cost: a node converts
    field by field, but a name (``ast.Name``, or ``ast.arg`` as a parameter) and an
    ``except ... as`` name; a kind of node ``ast`` lacks is left to gast."""
    cls = node.__class__
    if cls is gast.Name:
        return ast.Name(id=node.id, ctx=_to_ast(node.ctx))
    if cls is gast.arguments:
        return ast.arguments(posonlyargs=[_arg(a) for a in node.posonlyargs],
                             args=[_arg(a) for a in node.args], vararg=_arg(node.vararg),
                             kwonlyargs=[_arg(a) for a in node.kwonlyargs],
                             kw_defaults=_convert(node.kw_defaults), kwarg=_arg(node.kwarg),
                             defaults=_convert(node.defaults))
    if cls is gast.ExceptHandler and node.name:
        return ast.ExceptHandler(type=_convert(node.type), name=node.name.id,
                                 body=_convert(node.body))
    target = getattr(ast, cls.__name__, None)
    if target is None or not issubclass(target, ast.AST):
        return gast.gast_to_ast(node)
    new = target.__new__(target)
    for name in target._fields:
        value = getattr(node, name, _ABSENT)
        if value is _ABSENT:
            value = [] if name in _LISTS else None
        setattr(new, name, _convert(value))
    return new


def _convert(value):
    if isinstance(value, gast.AST):
        return _to_ast(value)
    if value.__class__ is list:
        return [_to_ast(v) if isinstance(v, gast.AST) else v for v in value]
    return value


def _arg(name):
    """A parameter (a gast ``Name``) as an ``ast.arg``."""
    if name is None:
        return None
    return ast.arg(arg=name.id, annotation=_convert(name.annotation),
                   type_comment=name.type_comment)


def unparse(tree):
    """Python source for a gast tree; every number reads back as the same number."""
    py = _fix_literals(_to_ast(tree))
    if not hasattr(ast, "unparse"):
        ast.fix_missing_locations(py)
        return astunparse.unparse(py)
    return ast.unparse(py)


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

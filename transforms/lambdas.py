"""Find a lambda's own source and read it as a ``def``.

A lambda has no source of its own: its code object knows only its line, and the
line may hold several lambdas (``f, g = lambda x: x**2, lambda x: x**3``). The
lambda is the one whose body spans the columns its instructions point at
(``co_positions``) and whose text compiles to its code object; when no column
information exists and several lambdas of the line compile alike, srcad refuses.

Before: ``srcad.grad(lambda z: rs(d, z))``, the line ``J = srcad.jacobian(lambda z: rs(d, z))(m)``.

After: the ``ast.FunctionDef``::

    def lambda_line12(z):
        return rs(d, z)

with the user's lines and columns (errors point into the lambda).
"""
import ast
import dis
import inspect
import linecache
import textwrap

from srcad.errors import TransformError
from srcad.transforms.blocks import walk
from srcad.transforms.fingerprint import code_shape


def no_source_error(fn, why=None):
    """The TransformError for a function whose source Python did not keep."""
    code = fn.__code__
    filename = code.co_filename
    name = getattr(fn, "__qualname__", "the function")
    if filename in ("<string>", "<stdin>") or not linecache.getlines(filename):
        where = {"<string>": "with `python -c` or `exec` of a string",
                 "<stdin>": "at the interactive prompt"}.get(filename, f"in `{filename}`")
        return TransformError(
            f"the source of `{name}` is not available: it was defined {where}, and Python "
            f"keeps no source text there", filename=filename,
            why="srcad differentiates a function by reading its source",
            hint="define the function in a .py file and import it, or in an IPython/Jupyter "
                 "cell (which keeps the source); for a string given to exec, register it "
                 "first: `linecache.cache[name] = (len(text), None, text.splitlines(True), "
                 "name)` and compile it with that file name")
    return TransformError(f"the source of `{name}` is not available", filename=filename,
                          why=why, hint="define it in a file, or give it a rule with "
                                        "@srcad.adjoint")


def lambda_def(fn):
    """``(ast.FunctionDef, filename)`` for the lambda ``fn``, with the user's positions."""
    code = fn.__code__
    filename = code.co_filename
    module = _module_of(fn)
    found = [n for n in walk(module) if isinstance(n, ast.Lambda)
             and n.lineno == code.co_firstlineno]
    span = _span(code)
    if span is not None:
        found = [n for n in found if _contains(n.body, span)]
        found.sort(key=lambda n: (n.body.end_lineno - n.body.lineno, n.body.end_col_offset
                                  - n.body.col_offset))
        found = found[:1]               # the innermost: an outer lambda's body holds it
    matches = [n for n in found if _compiles_to(n, code)]
    if not matches:
        raise TransformError(
            "the source found for this lambda is not the code that runs",
            filename=filename, lineno=code.co_firstlineno,
            why="no lambda on this line compiles to the lambda's code object (the file was "
                "edited after the lambda was made)",
            hint="reload the module or re-run the cell that defines it")
    if len({ast.dump(n) for n in matches}) > 1:
        raise TransformError(
            f"{len(matches)} lambdas on this line cannot be told apart",
            filename=filename, lineno=code.co_firstlineno, col=matches[0].col_offset,
            why="Python records no column for this lambda's code (column information "
                "is off), and several lambdas of the line compile alike",
            hint="write each lambda on a line of its own, or as a `def`")
    node = matches[0]
    body = ast.Return(value=node.body)
    ast.copy_location(body, node.body)
    fdef = ast.FunctionDef(name=f"lambda_line{code.co_firstlineno}", args=node.args,
                           body=[body], decorator_list=[], returns=None, type_comment=None)
    ast.copy_location(fdef, node)
    fdef.end_lineno, fdef.end_col_offset = node.end_lineno, node.end_col_offset
    return fdef, filename


def _module_of(fn):
    """The parsed file holding ``fn`` (or the statement around it when the whole file
    does not parse), with absolute line numbers and columns."""
    code = fn.__code__
    lines = linecache.getlines(code.co_filename, fn.__globals__)
    if not lines:
        raise no_source_error(fn)
    try:
        return ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        pass
    try:
        block, start = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise no_source_error(fn, str(exc)) from None
    text = "".join(block)
    dedented = textwrap.dedent(text)
    indent = len(text) - len(text.lstrip()) - (len(dedented) - len(dedented.lstrip()))
    try:
        module = ast.parse(dedented)
    except SyntaxError:
        raise TransformError(
            "cannot read this lambda's source", filename=code.co_filename,
            lineno=code.co_firstlineno,
            why="the lambda sits inside a statement srcad cannot parse on its own",
            hint="write it as a `def`") from None
    ast.increment_lineno(module, start - 1)
    for node in walk(module):
        if hasattr(node, "col_offset"):
            node.col_offset += indent
            node.end_col_offset = (node.end_col_offset or 0) + indent
    return module


def _span(code):
    """((line, col), (end line, end col)) of the lambda's body instructions, or None
    when Python kept no column information."""
    points = []
    for ins in dis.get_instructions(code):
        if ins.opname in ("RESUME", "COPY_FREE_VARS", "MAKE_CELL", "NOP"):
            continue
        p = ins.positions
        if p is None or None in (p.lineno, p.end_lineno, p.col_offset, p.end_col_offset) \
                or (p.lineno, p.col_offset) == (p.end_lineno, p.end_col_offset):
            continue                    # none, or the empty span of the implicit return
        points.append(((p.lineno, p.col_offset), (p.end_lineno, p.end_col_offset)))
    if not points:
        return None
    return min(a for a, _ in points), max(b for _, b in points)


def _contains(node, span):
    start, end = span
    return (node.lineno, node.col_offset) <= start and end <= (node.end_lineno,
                                                               node.end_col_offset)


def _compiles_to(node, code):
    """Does the lambda ``node`` compile to ``code`` (names, parameters, constants)?"""
    try:
        compiled = compile(ast.Expression(body=node), code.co_filename, "eval",
                           dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return False
    inner = [c for c in compiled.co_consts if hasattr(c, "co_code")]
    return len(inner) == 1 and code_shape(inner[0]) == code_shape(code)

"""Reduce a failing program to a small one that fails the same way.

Greedy delta debugging on the module's syntax tree: delete a statement,
replace an ``if``/loop by its body, replace an expression by one of its
operands, a float constant by 1.0, drop ``wrt`` names. A candidate is kept
when it still runs plainly (finite value, stable finite differences) and the
same mode still gives the same outcome class (WRONG/CRASH and the same key).
``as_pytest`` prints the result as a test ready to paste.
"""
import ast
import dataclasses
import time

from .run import check_program


def same_class(a, b):
    return a is not None and b is not None and a[0] == b[0] and a[1] == b[1]


def still_fails(program, mode, outcome):
    result = check_program(program, only=(mode,))
    return result.status == "valid" and same_class(result.outcomes.get(mode), outcome)


# ---------------------------------------------------------------------------- edits

def _edits(tree):
    """Every edit of ``tree``: (node index, field, position, what), the biggest first."""
    nodes = list(ast.walk(tree))
    stmt_edits, flat_edits, expr_edits = [], [], []
    for i, node in enumerate(nodes):
        for field in ("body", "orelse"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                for j, st in enumerate(stmts):
                    if not isinstance(st, ast.Pass):
                        stmt_edits.append((i, field, j, "delete"))
                    if isinstance(st, ast.If):
                        flat_edits.append((i, field, j, "body"))
                        if st.orelse:
                            flat_edits.append((i, field, j, "orelse"))
                    elif isinstance(st, (ast.For, ast.While)):
                        flat_edits.append((i, field, j, "body"))
        for field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for j, child in enumerate(children):
                if not isinstance(child, ast.expr) or isinstance(node, ast.Attribute):
                    continue
                pos = j if isinstance(value, list) else None
                for k, _ in enumerate(_replacements(child)):
                    expr_edits.append((i, field, pos, ("expr", k)))
    # statements of the function body (deeper ones) before module-level definitions
    stmt_edits.sort(key=lambda e: e[0] == 0)
    return stmt_edits + flat_edits + expr_edits


def _replacements(node):
    """Simpler expressions that may stand for ``node``: never a tuple or list literal (a
    shape or a container: the program would leave the grammar), never the list inside
    ``np.array(...)``."""
    return [r for r in _candidates(node) if not isinstance(r, (ast.Tuple, ast.List))]


def _candidates(node):
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.IfExp):
        return [node.body, node.orelse]
    if isinstance(node, ast.Call):
        return [a for a in node.args if not isinstance(a, ast.Constant)]
    if isinstance(node, ast.Subscript):
        return [node.value]
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.Constant) and isinstance(node.value, float) and node.value != 1.0:
        return [ast.Constant(1.0)]
    return []


def _apply(source, edit):
    tree = ast.parse(source)
    nodes = list(ast.walk(tree))
    i, field, pos, what = edit
    node = nodes[i]
    if what in ("delete", "body", "orelse"):
        stmts = getattr(node, field)
        st = stmts[pos]
        new = [] if what == "delete" else getattr(st, what)
        stmts[pos:pos + 1] = new
        if not stmts and field == "body":
            stmts.append(ast.Pass())
    else:
        value = getattr(node, field)
        child = value[pos] if pos is not None else value
        repl = _replacements(child)[what[1]]
        if pos is not None:
            value[pos] = repl
        else:
            setattr(node, field, repl)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def shrink(program, mode, outcome, budget=120.0, log=None):
    """The smallest program found (within ``budget`` seconds) failing like ``outcome``."""
    deadline = time.monotonic() + budget
    best = dataclasses.replace(program, source=ast.unparse(ast.parse(program.source)) + "\n")
    if not still_fails(best, mode, outcome):
        best = program
    for wrt in ([w] for w in program.wrt):
        if len(program.wrt) > 1:
            cand = dataclasses.replace(best, wrt=tuple(wrt))
            if still_fails(cand, mode, outcome):
                best = cand
                break
    progress = True
    while progress and time.monotonic() < deadline:
        progress = False
        for edit in _edits(ast.parse(best.source)):
            if time.monotonic() > deadline:
                break
            try:
                source = _apply(best.source, edit)
            except (IndexError, AttributeError, TypeError, ValueError):
                continue
            if source == best.source:
                continue
            cand = dataclasses.replace(best, source=source)
            if still_fails(cand, mode, outcome):
                best = cand
                progress = True
                if log:
                    log(f"  shrunk to {len(source)} characters")
                break
    return best


def as_pytest(program, mode, name):
    """A test ready to paste into tests/ (it imports the fuzzer's checker)."""
    body = program.source.rstrip("\n").replace("\\", "\\\\").replace("'''", "\\'\\'\\'")
    return (f"def test_{name}():\n"
            f"    source = '''\\\n{body}\n'''\n"
            f"    check_case(source, {program.args!r}, wrt={program.wrt!r}, "
            f"scalar={program.scalar!r}, mode={mode!r})\n")


PYTEST_HEADER = "from tests.fuzz.run import check_case\n"

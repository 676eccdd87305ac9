"""Every number srcad writes into generated source reads back as the same number.

The property test builds random expression trees (gast) whose leaves are
constants of every kind (negative, -0.0, inf, nan, huge and tiny floats, big
ints, bools, complex) under operators of every precedence, prints each through
srcad's code generation (``codegen.to_source`` + ``codegen.load``) and checks
the compiled function returns what the tree evaluates to directly -- the same
value, type and sign of zero, or the same exception class.

Then end to end: a negative constant raised to a power keeps its parentheses,
so values and gradients (reverse and forward mode) match central differences.
"""
import ast
import math
import operator
import pathlib
import random
import warnings

import gast
import numpy as np
import pytest

import srcad
from srcad import codegen
from conftest import fd_check, fd_check_forward

# --------------------------------------------------------------------------- the trees

CONSTANTS = [
    0, 1, 3, -1, -7, 10 ** 30, -(10 ** 30), True, False,
    0.0, -0.0, 0.5, -0.5, -2.0, 2.5, 1e300, -1e300, 1e-300, -1e-300, 5e-324, -5e-324,
    math.inf, -math.inf, math.nan,
    1j, -1j, 2.5 - 1j, -1.5 + 2j, complex(-0.0, 0.0), complex(-0.0, -0.0), complex(0.0, -0.0),
    complex(math.nan, -1.0), complex(-1.0, math.nan), complex(math.inf, -math.inf),
    complex(-0.0, 3.0),
]

BINARY = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
          gast.Div: operator.truediv, gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod,
          gast.Pow: None, gast.BitAnd: operator.and_, gast.BitOr: operator.or_,
          gast.BitXor: operator.xor}
UNARY = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Invert: operator.invert,
         gast.Not: operator.not_}
COMPARE = {gast.Lt: operator.lt, gast.Eq: operator.eq, gast.NotEq: operator.ne}


class _TooBig(Exception):
    """An integer power too large to compute in a test."""


def _pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 \
            and (b > 64 or abs(a).bit_length() * b > 4096):
        raise _TooBig
    return a ** b


def _tree(rnd, depth):
    if depth == 0 or rnd.random() < 0.25:
        return gast.Constant(value=rnd.choice(CONSTANTS), kind=None)
    kind = rnd.randrange(6)
    if kind == 0:
        return gast.UnaryOp(op=rnd.choice(list(UNARY))(), operand=_tree(rnd, depth - 1))
    if kind == 1:
        return gast.Compare(left=_tree(rnd, depth - 1), ops=[rnd.choice(list(COMPARE))()],
                            comparators=[_tree(rnd, depth - 1)])
    if kind == 2:
        op = rnd.choice([gast.And, gast.Or])()
        return gast.BoolOp(op=op, values=[_tree(rnd, depth - 1), _tree(rnd, depth - 1)])
    if kind == 3:
        return gast.IfExp(test=_tree(rnd, depth - 1), body=_tree(rnd, depth - 1),
                          orelse=_tree(rnd, depth - 1))
    if kind == 4:
        return gast.Attribute(value=_tree(rnd, depth - 1), attr="real", ctx=gast.Load())
    return gast.BinOp(left=_tree(rnd, depth - 1), op=rnd.choice(list(BINARY))(),
                      right=_tree(rnd, depth - 1))


def _evaluate(node):
    """The tree's value, computed without printing it."""
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, gast.UnaryOp):
        return UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, gast.BinOp):
        fn = BINARY[type(node.op)] or _pow
        return fn(_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, gast.Compare):
        return COMPARE[type(node.ops[0])](_evaluate(node.left), _evaluate(node.comparators[0]))
    if isinstance(node, gast.BoolOp):
        first = _evaluate(node.values[0])
        if isinstance(node.op, gast.And):
            return _evaluate(node.values[1]) if first else first
        return first if first else _evaluate(node.values[1])
    if isinstance(node, gast.IfExp):
        return _evaluate(node.body) if _evaluate(node.test) else _evaluate(node.orelse)
    if isinstance(node, gast.Attribute):
        return _evaluate(node.value).real
    raise AssertionError(f"no evaluator for {node!r}")


def _outcome(thunk):
    """(type, value) or (exception class, None); NaN and signed zeros made comparable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = thunk()
    except _TooBig:
        raise
    except Exception as exc:        # the same exception class is the same outcome
        return type(exc), None
    return type(value), _key(value)


def _key(v):
    if isinstance(v, complex):
        return _key(v.real), _key(v.imag)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else (v, math.copysign(1.0, v))
    return v


def _compiled(expr):
    fn = gast.FunctionDef(name="roundtrip", args=gast.arguments(
        args=[], posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
        defaults=[]), body=[gast.Return(value=expr)], decorator_list=[], returns=None,
        type_comment=None, type_params=[])
    text = codegen.to_source(fn, [], ["round trip test"])
    return codegen.load(text, {}, {}, "roundtrip"), text


def test_random_constant_expressions_round_trip():
    rnd = random.Random(20261130)
    checked = 0
    while checked < 1500:
        expr = _tree(rnd, rnd.randrange(1, 5))
        try:
            want = _outcome(lambda: _evaluate(expr))
        except _TooBig:
            continue
        fn, text = _compiled(expr)
        got = _outcome(fn)
        assert got == want, f"{text}\nprinted {got}, tree {want}"
        checked += 1


@pytest.mark.parametrize("value", CONSTANTS, ids=repr)
@pytest.mark.parametrize("context", ["({}) ** 2", "0.5 ** ({})", "-({})", "({}).real",
                                     "not ({})", "({}) * 3"])
def test_each_constant_in_each_context(value, context):
    """A constant under ``**``, unary minus, attribute access and so on."""
    template = gast.parse(context.format("PLACE")).body[0].value

    class Place(gast.NodeTransformer):
        def visit_Name(self, node):
            return gast.Constant(value=value, kind=None)

    expr = Place().visit(template)
    want = _outcome(lambda: _evaluate(expr))
    fn, text = _compiled(expr)
    assert _outcome(fn) == want, text


def test_negative_constant_prints_parenthesised_under_power():
    expr = gast.BinOp(left=gast.Constant(value=-2.0, kind=None), op=gast.Pow(),
                      right=gast.Constant(value=2, kind=None))
    fn, text = _compiled(expr)
    assert "(-2.0) ** 2" in text
    assert fn() == 4.0


# --------------------------------------------------------------------------- end to end

NEG = -0.5


def neg_pow_literal(x):
    return x[0] * (-2.0) ** 2


def neg_pow_global(x):
    return np.sum(NEG ** 2 * x)


def neg_pow_loop(x):
    s = 0.0
    for k in range(3):
        s = s + (-1.0) ** k * x[k]
    return s


def neg_pow_unary(x):
    return np.sum(-(-1.5) ** 3 * x ** 2) + (-x[1]) ** 2


NEG_POW = [neg_pow_literal, neg_pow_global, neg_pow_loop, neg_pow_unary]
X = np.array([0.3, 0.5, 0.7])


@pytest.mark.parametrize("fn", NEG_POW, ids=lambda f: f.__name__)
def test_negative_constant_power_reverse(fn, rng):
    value, _ = srcad.pullback(fn, X)
    assert value == pytest.approx(fn(X), rel=1e-12)
    fd_check(fn, (X,), 0, rng)


@pytest.mark.parametrize("fn", NEG_POW, ids=lambda f: f.__name__)
def test_negative_constant_power_forward(fn, rng):
    value, _ = srcad.jvp(fn, (X,), (np.ones(3),))
    assert value == pytest.approx(fn(X), rel=1e-12)
    fd_check_forward(fn, (X,), 0, rng)


def test_negative_constant_power_hessian():
    def cubic(x):
        return (-2.0) ** 2 * x[0] ** 3 + (-1.0) ** 3 * x[1] * x[2]
    g = srcad.grad(cubic)
    h = srcad.hessian(cubic)(X)
    eps = 1e-6
    fd = np.array([(g(X + eps * e) - g(X - eps * e)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(h, fd, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- the converter

def test_the_unparser_writes_what_gasts_own_conversion_writes():
    """codegen converts gast trees to ast trees itself (no locations, a fraction of the
    cost): every statement of the compiler's sources and the tests' helpers prints exactly
    as through ``gast.gast_to_ast``, parameters, ``except ... as``, lambdas, comprehensions
    and f-strings included."""
    root = pathlib.Path(__file__).resolve().parent.parent
    files = sorted(root.glob("transforms/rules/*.py")) + [root / "tests" / "conftest.py",
                                                          root / "srcad" / "api.py"]
    count = 0
    for path in files:
        for node in gast.parse(path.read_text()).body:
            py = gast.gast_to_ast(node)
            ast.fix_missing_locations(py)
            assert codegen.unparse(node) == ast.unparse(_literals(py)), f"{path}:{node.lineno}"
            count += 1
    assert count > 500


class _Literals(ast.NodeTransformer):
    """The constants of an ast tree replaced as codegen writes them (its own rule)."""
    def visit_Constant(self, node):
        new = codegen._literal(node.value)
        return node if new is None else ast.copy_location(new, node)


def _literals(py):
    return _Literals().visit(py)

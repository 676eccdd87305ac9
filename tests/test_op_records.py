"""Rules as data: one frozen record per op (``registry.OPS``), one-line rules, and machinery
that names no NumPy or ``math`` function."""
import ast
import dataclasses
import glob
import inspect
import math
import operator
import os

import gast
import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward
from srcad import transforms
from srcad.kernels.scalar import math_recip  # noqa: F401  (the math templates below name it)
from srcad.transforms import shapes
from srcad.transforms.rules import registry
from srcad.transforms.rules.templates import scalar_rule

MACHINERY = sorted(glob.glob(os.path.join(os.path.dirname(transforms.__file__), "*.py")))


def _references(path):
    """(line, module alias, attribute) of every ``np.X`` / ``numpy.X`` / ``math.X`` in code
    (docstrings and comments are not code)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    return [(n.lineno, n.value.id, n.attr) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id in ("np", "numpy", "math")]


def test_the_machinery_modules_are_found():
    names = {os.path.basename(p) for p in MACHINERY}
    assert {"reverse.py", "forward.py", "shapes.py", "buffers.py", "normalize.py"} <= names
    assert not any("rules" in p.split(os.sep)[-2] for p in MACHINERY)


def test_the_scan_sees_a_numpy_function(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""np.exp in a docstring is prose."""\nimport numpy as np\nF = {np.sum}\n')
    assert _references(str(bad)) == [(3, "np", "sum")]


@pytest.mark.parametrize("path", MACHINERY, ids=os.path.basename)
def test_machinery_names_no_numpy_or_math_function(path):
    """A pass may name NumPy's *types* (``isinstance(v, np.ndarray)``, ``np.ufunc``,
    ``np.dtype(...)`` for a dtype test): they say what a value is. It never names a NumPy
    or ``math`` function or constant: what an op does is in its record."""
    wrong = [(line, f"{alias}.{attr}") for line, alias, attr in _references(path)
             if alias == "math" or not isinstance(getattr(np, attr, None), type)]
    assert not wrong, f"{os.path.basename(path)} names {wrong}"


def test_one_frozen_record_per_op():
    rec = registry.OPS[np.tanh]
    assert rec.target is np.tanh and rec.reverse is not None and rec.forward is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.linear = True
    assert all(r.target is t or t is r.target for t, r in registry.OPS.items())
    assert registry.op([1, 2]) is registry.NO_OP            # unhashable: no record
    assert registry.op(print).reverse is None


def test_the_parallel_tables_are_gone():
    for old in ("VIEWS", "VIEW_METHODS", "METHOD_FORMS", "INTO_FORMS", "OUT_FORMS",
                "ELEMENTWISE", "NONDIFF", "VECTOR_HELPERS", "INDEX_FORMS", "REVERSE_WHOLE",
                "EFFECTS", "lookup", "is_view", "template_signature", "constant"):
        assert not hasattr(registry, old), old
    # REVERSE/FORWARD/VARIANTS/CONSTANT_WHY are read-only views of the records
    assert registry.REVERSE[np.exp] is registry.OPS[np.exp].reverse
    assert np.exp in registry.FORWARD and np.sign not in registry.REVERSE
    assert registry.CONSTANT_WHY[np.sign] == registry.OPS[np.sign].constant
    with pytest.raises(TypeError):
        registry.REVERSE[np.exp] = None


def test_records_hold_the_flags_the_passes_read():
    assert registry.op(operator.add).out_form is np.add
    assert registry.op(np.sum).method_form == ("sum", False)
    assert registry.op(np.mean).method_form == ("sum", True)
    assert registry.op(np.sum).whole is not None
    assert registry.op(np.sign).nondiff and registry.op(np.sign).constant
    assert registry.op(np.negative).linear and registry.op(operator.neg).linear
    assert registry.op(np.reshape).view
    assert registry.op(registry.lift_tangent).vector == "lift"
    assert registry.is_effect(print) and not registry.is_effect(np.sum)


def test_shapes_come_from_the_records():
    assert registry.op(np.sum).shape([("array", "x", 1)], []) == shapes.SCALAR
    key = lambda name, value: gast.keyword(arg=name, value=value)
    axis = lambda *ks: key("axis", gast.Tuple(elts=[gast.Constant(value=k, kind=None)
                                                    for k in ks], ctx=gast.Load()))
    x = ("array", "x", 3, ("x:0", 1, "x:2"))
    reduce = registry.op(np.sum).shape
    assert reduce([x], [key("axis", gast.Name(id="a", ctx=gast.Load(), annotation=None,
                                              type_comment=None))], "s") is None
    assert reduce([x], [axis(0, -1)], "s") == ("array", "?s", 1, (1,))
    kept = key("keepdims", gast.Constant(value=True, kind=None))
    assert reduce([x], [axis(2), kept], "s") == ("array", "?s", 3, ("x:0", 1, 1))
    assert reduce([("array", "v", 1, ("v:0",))], [axis(0)], "s") == shapes.SCALAR
    assert reduce([x], [axis(0, 3)], "s") is None                # (NumPy raises)
    assert reduce([x], [axis(1, -2)], "s") is None               # one axis twice
    assert registry.op(math.exp).shape([shapes.SCALAR], []) == shapes.SCALAR
    assert registry.op(math.floor).shape is not None        # every math function: a number
    assert registry.op(len).shape([("array", "x", 1)], []) == shapes.SCALAR


def test_scalar_rule_writes_both_modes_for_both_namespaces():
    src = lambda f, kind: inspect.getsource(getattr(registry.OPS[f], kind).template)
    assert "return (g * (1.0 - y * y),)" in src(np.tanh, "reverse")
    assert "return (lambda dx: dx * (1.0 - y * y),)" in src(np.tanh, "forward")
    assert "return (g * (1.0 - y * y),)" in src(math.tanh, "reverse")
    assert "return (-g * np.sin(x),)" in src(np.cos, "reverse")
    assert "return (-g * math.sin(x),)" in src(math.cos, "reverse")
    # a division by the operand: NumPy divides, math multiplies by math_recip (inf at 0)
    assert "return (-g / np.sqrt(1.0 - x * x),)" in src(np.arccos, "reverse")
    assert "return (-g * math_recip(math.sqrt(1.0 - x * x)),)" in src(math.acos, "reverse")
    assert registry.op(math.tanh).shape is not None


def softsign(x):
    return x / (1.0 + np.abs(x))


def softsign_math(x):
    return x / (1.0 + abs(x))


@pytest.fixture
def one_line_rule():
    """A new unary op, in one line; its records are dropped afterwards."""
    scalar_rule(softsign, softsign_math, "1.0 / ((1.0 + abs(x)) * (1.0 + abs(x)))")
    yield
    for f in (softsign, softsign_math):
        del registry.OPS[f]
    registry.VERSION.bump()


def test_a_one_line_rule_differentiates_in_both_modes_against_differences(one_line_rule, rng):
    assert registry.op(softsign).reverse is not None and registry.op(softsign).forward is not None

    def model(x):
        return np.sum(softsign(x * x) * np.cos(x))

    def scalar_model(t):
        return softsign_math(t * t) * math.cos(t) + softsign_math(t)

    x = np.array([0.3, -1.2, 0.7, 2.0])
    fd_check(model, (x,), 0, rng)
    fd_check_forward(model, (x,), 0, rng)
    assert "softsign" in srcad.source(model, x)
    fd_check(scalar_model, (0.4,), 0, rng)
    fd_check_forward(scalar_model, (-0.9,), 0, rng)
    # the rule is used (not the function's own source): math_recip comes from the record
    assert "math_recip" in srcad.source(scalar_model, 0.4)


def test_math_twin_is_inf_where_the_derivative_is_not_zero_division():
    g = srcad.grad(_acos)(1.0)
    assert g == -math.inf


def _acos(t):
    return math.acos(t)


def test_a_rule_registered_while_another_thread_loads_deferred_rules_bumps_the_version():
    """Deferred rule modules (``registry.defer``) add records without a version bump; a
    rule another thread registers meanwhile must still invalidate compiled code."""
    import threading
    loading = threading.Event()
    done = threading.Event()

    def importing():
        registry._LOADING.depth = 1          # as load_deferred does around the import
        loading.set()
        done.wait(10)
        registry._LOADING.depth = 0

    t = threading.Thread(target=importing)
    t.start()
    try:
        assert loading.wait(10)
        before = registry.VERSION.number
        registry._set([_thread_probe], nondiff=True)
        assert registry.VERSION.number > before
    finally:
        done.set()
        t.join()
        registry.OPS.pop(_thread_probe, None)


def _thread_probe(x):
    return x

"""Errors: rejected constructs, bad arguments, tracebacks through generated code.

Each rejected construct is a module-level function whose offending statement
carries the marker comment ``# <- rejected``; the expected line number is found
from the function's source, never hard-coded. srcad may raise at decoration
time or, at the latest, on the first call of ``.grad``: the helper accepts both.
"""
import inspect
import os
import re
import traceback

import numpy as np
import pytest

import srcad

MARKER = "# <- rejected"
THIS_FILE = os.path.basename(__file__)


# =========================================================================== rejected constructs

def uses_try_except(x):
    try:  # <- rejected
        y = np.log(x)
    except ValueError:
        y = x
    return np.sum(y)


def uses_try_finally(x):
    y = x * 2.0
    try:  # <- rejected
        y = np.sin(y)
    finally:
        y = y + 1.0
    return np.sum(y)


def uses_with(x):
    with np.errstate(all="ignore"):  # <- rejected
        y = np.log(x)
    return np.sum(y)


def uses_yield(x):
    s = np.sum(x)
    yield s * 2.0  # <- rejected


async def uses_async(x):  # <- rejected
    return np.sum(x)


_COUNT = 0


def uses_global(x):
    global _COUNT  # <- rejected
    _COUNT = _COUNT + 1
    return np.sum(x ** 2)


def make_uses_nonlocal():
    calls = 0

    def uses_nonlocal(x):
        nonlocal calls  # <- rejected
        calls = calls + 1
        return np.sum(x ** 2)
    return uses_nonlocal


uses_nonlocal = make_uses_nonlocal()


def uses_class(x):
    class Box:  # <- rejected
        scale = 2.0
    return np.sum(x * Box.scale)


def uses_del(x):
    y = x * 2.0
    z = y + 1.0
    del y  # <- rejected
    return np.sum(z ** 2)


def _pair_product(a, b):
    return a * b


def uses_star_call(x):
    parts = (x, x)
    return np.sum(_pair_product(*parts))  # <- rejected


def uses_star_args(x, *rest):  # <- rejected
    return np.sum(x ** 2)


_namespace = {"np": np}
exec("def opaque_helper(x):\n    return x * 2.0\n", _namespace)
opaque_helper = _namespace["opaque_helper"]


def uses_opaque_helper(x):
    y = x + 1.0
    z = opaque_helper(y)  # <- rejected
    return np.sum(z ** 2)


REJECTED = [
    uses_try_except, uses_try_finally, uses_with, uses_yield, uses_async, uses_global,
    uses_nonlocal, uses_class, uses_del, uses_star_call, uses_star_args, uses_opaque_helper,
]


def marked_line(fn):
    """(line number in this file, source text) of the statement marked in ``fn``."""
    lines, start = inspect.getsourcelines(fn)
    hits = [i for i, line in enumerate(lines) if MARKER in line]
    assert len(hits) == 1, f"{fn.__name__} must mark exactly one line"
    code = lines[hits[0]].split("#")[0].strip()
    return start + hits[0], code


def transform_error(fn, *args, **options):
    """The TransformError srcad raises for ``fn``, at decoration or first ``.grad`` call."""
    with pytest.raises(srcad.TransformError) as info:
        f = srcad.differentiate(fn, **options)
        f.grad(*args)
    return info.value


def test_opaque_helper_really_has_no_source():
    with pytest.raises(OSError):
        inspect.getsource(opaque_helper)


@pytest.mark.parametrize("fn", REJECTED, ids=[f.__name__ for f in REJECTED])
def test_rejected_construct(fn):
    x = np.linspace(0.5, 1.5, 5)
    err = transform_error(fn, x)
    lineno, code = marked_line(fn)
    message = str(err)

    assert err.lineno == lineno, f"reported line {err.lineno}, the offending line is {lineno}"
    assert THIS_FILE in message
    assert code in message, f"the offending line {code!r} is not shown in:\n{message}"
    # Beyond the location and the line itself, the message explains and suggests.
    rest = message.replace(code, " ")
    rest = re.sub(r"\S*" + re.escape(THIS_FILE) + r"\S*", " ", rest)
    assert len(re.findall(r"[A-Za-z]{3,}", rest)) >= 4, f"no explanation or hint in:\n{message}"


def test_unknown_call_names_the_callable_and_the_fix():
    message = str(transform_error(uses_opaque_helper, np.ones(3)))
    assert "opaque_helper" in message
    assert "srcad.adjoint" in message


def test_rejection_also_through_the_functional_form():
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(uses_del)(np.ones(4))
    assert info.value.lineno == marked_line(uses_del)[0]


# =========================================================================== bad arguments

def scaled_sum(x, count, flag):
    return np.sum(x ** 2) * count if flag else np.sum(x)


def two_args(x, y):
    return np.sum(x * np.sin(y))


def test_wrt_naming_an_int_argument_is_a_type_error():
    with pytest.raises(TypeError, match="count"):
        f = srcad.differentiate(scaled_sum, wrt="count")
        f.grad(np.ones(3), 4, True)


def test_wrt_naming_a_bool_argument_is_a_type_error():
    with pytest.raises(TypeError, match="flag"):
        f = srcad.differentiate(scaled_sum, wrt=("x", "flag"))
        f.grad(np.ones(3), 4, True)


def test_wrt_by_position_naming_an_int_argument_is_a_type_error():
    with pytest.raises(TypeError, match="count"):
        srcad.grad(scaled_sum, wrt=1)(np.ones(3), 4, True)


def test_wrt_naming_a_non_parameter_is_a_value_error():
    with pytest.raises(ValueError, match="nope"):
        f = srcad.differentiate(two_args, wrt="nope")
        f.grad(np.ones(3), np.ones(3))


SENTINEL = 12345.0


def _sentinel(shape, dtype=np.float64):
    return np.full(shape, SENTINEL, dtype=dtype)


@pytest.mark.parametrize("out", [
    pytest.param(_sentinel(4), id="wrong-shape"),
    pytest.param(_sentinel((5, 1)), id="wrong-ndim"),
    pytest.param(_sentinel(5, np.float32), id="wrong-dtype"),
    pytest.param((_sentinel(5), _sentinel(5)), id="tuple-for-one-wrt"),
])
def test_bad_out_for_one_wrt(out):
    f = srcad.differentiate(two_args)
    with pytest.raises(ValueError, match="out"):
        f.grad(np.linspace(0.1, 0.5, 5), np.linspace(1.0, 2.0, 5), out=out)
    for buf in (out if isinstance(out, tuple) else (out,)):
        assert np.all(buf == SENTINEL), "a rejected out buffer was written"


@pytest.mark.parametrize("out", [
    pytest.param(_sentinel(5), id="one-array-for-two-wrt"),
    pytest.param((_sentinel(5),), id="too-short"),
    pytest.param((_sentinel(5), _sentinel(5), _sentinel(5)), id="too-long"),
    pytest.param((_sentinel(5), _sentinel(3)), id="second-wrong-shape"),
    pytest.param((_sentinel(5), _sentinel(5, np.float32)), id="second-wrong-dtype"),
])
def test_bad_out_for_two_wrt(out):
    f = srcad.differentiate(two_args, wrt=("x", "y"))
    with pytest.raises(ValueError, match="out"):
        f.grad(np.linspace(0.1, 0.5, 5), np.linspace(1.0, 2.0, 5), out=out)
    for buf in (out if isinstance(out, tuple) else (out,)):
        assert np.all(buf == SENTINEL), "a rejected out buffer was written"


def test_bad_out_is_rejected_after_a_successful_call_too():
    f = srcad.differentiate(two_args)
    x, y = np.linspace(0.1, 0.5, 5), np.linspace(1.0, 2.0, 5)
    f.grad(x, y)                      # compiled and cached for this signature
    out = _sentinel(6)
    with pytest.raises(ValueError, match="out"):
        f.grad(x, y, out=out)
    assert np.all(out == SENTINEL)


# =========================================================================== tracebacks

def singular_solve(A, b):
    s = np.sum(A) * 0.5
    z = np.linalg.solve(A * s, b)
    return np.sum(z ** 2)


def _is_ours_or_library(filename):
    """Frames of this file, NumPy, pytest or srcad's own modules (not generated code)."""
    if filename.startswith("<"):
        return False                  # a pseudo file name: generated code registered in linecache
    here = os.path.abspath(__file__)
    roots = [os.path.dirname(np.__file__), os.path.dirname(srcad.__file__),
             os.path.dirname(pytest.__file__)]
    try:
        import srcad.transforms as transforms
        roots.append(os.path.dirname(transforms.__file__))
    except ImportError:
        pass
    path = os.path.abspath(filename)
    return path == here or any(path.startswith(root + os.sep) for root in roots)


def test_traceback_shows_the_generated_line():
    A = np.array([[1.0, 2.0, 0.5], [2.0, 4.0, 1.0], [0.0, 1.0, 3.0]])   # rows 0 and 1 are dependent
    b = np.ones(3)
    with pytest.raises(np.linalg.LinAlgError) as info:
        srcad.grad(singular_solve)(A, b)
    frames = traceback.extract_tb(info.value.__traceback__)
    generated = [fr for fr in frames if not _is_ours_or_library(fr.filename)]
    assert generated, "no frame of generated code in the traceback: " + repr(
        [(fr.filename, fr.lineno) for fr in frames])
    shown = [fr for fr in generated if fr.line and "solve" in fr.line]
    assert shown, "the generated frame shows no source line with the failing call: " + repr(
        [(fr.filename, fr.lineno, fr.line) for fr in generated])
    text = "".join(traceback.format_exception(info.value))
    assert shown[-1].line.strip() in text

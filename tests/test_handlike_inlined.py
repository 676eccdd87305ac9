"""Inlined helpers name the call they came from (issue 10, section 4).

The statements of an inlined helper carry the helper's own lines (``# model.py:13
return np.exp(...)``); a run of them starts with a comment naming the call site
(``# inlined rho(...) from model.py:17``), in the primal sweep, in the adjoint sweep
and in forward mode, in the source ``f.source(...)`` shows and in the code that runs.
"""
import inspect
import os

import numpy as np
import pytest

import golden_functions as gf
import srcad
from conftest import fd_check

pytestmark = pytest.mark.numpy_backend      # reads the NumPy backend's code

HERE = os.path.basename(__file__)


def line_of(fn, text):
    """The line of ``fn``'s source that holds ``text``."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, s in enumerate(lines) if text in s)


def comment_lines(src):
    return [s.strip() for s in src.splitlines() if s.strip().startswith("#")]


def test_eam_names_the_call_in_both_sweeps(rng):
    x = np.linspace(-0.5, 0.5, 8)
    call = f"# inlined rho(...) from golden_functions.py:{line_of(gf.eam, 'rho(x)')}"
    inside = f"# golden_functions.py:{line_of(gf.rho, 'return')}  return np.exp"
    for kind, count in (("grad", 2), ("jvp", 1)):
        comments = comment_lines(srcad.source(gf.eam, x, kind=kind))
        at = [k for k, c in enumerate(comments) if c == call]
        assert len(at) == count, comments
        for k in at:                      # the call, then the helper's line
            assert comments[k + 1].startswith(inside), comments
    fd_check(gf.eam, (x,), 0, rng)


def bump(r):
    return np.exp(-3.0 * (r + 1.0))


def twice(x):
    a = np.sum(bump(x))
    b = np.sum(bump(2.0 * x))
    return a * b


def test_two_calls_of_one_helper_each_named(rng):
    x = rng.standard_normal(5)
    first = f"# inlined bump(...) from {HERE}:{line_of(twice, 'bump(x)')}"
    second = f"# inlined bump(...) from {HERE}:{line_of(twice, 'bump(2.0 * x)')}"
    d = srcad.differentiate(twice)
    comments = [c for c in comment_lines(d.source("grad", x)) if c.startswith("# inlined ")]
    # primal: first call, second call; adjoint (reversed): second call, first call
    assert comments == [first, second, second, first], comments
    fd_check(twice, (x,), 0, rng)


def scaled(r, k):
    return k * bump(r)


def nested(x):
    return np.sum(scaled(x, 2.0) ** 2)


def test_a_helper_inlined_in_a_helper_names_its_own_call(rng):
    x = rng.standard_normal(4)
    outer = f"# inlined scaled(...) from {HERE}:{line_of(nested, 'scaled(x, 2.0)')}"
    inner = f"# inlined bump(...) from {HERE}:{line_of(scaled, 'bump(r)')}"
    comments = [c for c in comment_lines(srcad.source(nested, x)) if c.startswith("# inlined ")]
    assert inner in comments and outer in comments, comments
    assert comments.index(inner) < comments.index(outer) or comments[0] == outer, comments
    fd_check(nested, (x,), 0, rng)


def test_the_code_that_runs_has_the_comments(rng):
    """The comments are in the compiled code's own source (what a traceback or a
    debugger shows), not only in the text ``source`` returns."""
    x = rng.standard_normal(5)
    d = srcad.differentiate(twice)
    d.grad(x)
    fn = d.compiled("grad", x)
    text = "".join(inspect.getsourcelines(fn)[0])
    assert f"inlined bump(...) from {HERE}:{line_of(twice, 'bump(x)')}" in text

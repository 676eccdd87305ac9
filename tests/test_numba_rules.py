"""A sample of the rule table through the numba backend: each rule inside a scalar loop
(where the backend pays), checked against central differences and against the NumPy
backend, and compiled by numba (not refused)."""
import linecache
import math

import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward, need_numba

need_numba()

# (name, body of the loop over u = x[i], y = w: the term added to s, domain of x)
RULES = [
    ("math.sin", lambda u, y: math.sin(u * y), (-2, 2)),
    ("math.cos", lambda u, y: math.cos(u) * y, (-2, 2)),
    ("math.exp", lambda u, y: math.exp(-u * y), (-1, 1)),
    ("math.log", lambda u, y: math.log(u + y), (0.5, 2)),
    ("math.sqrt", lambda u, y: math.sqrt(u * u + y), (-2, 2)),
    ("math.tanh", lambda u, y: math.tanh(u - y), (-2, 2)),
    ("math.atan", lambda u, y: math.atan(u * y), (-2, 2)),
    ("math.hypot", lambda u, y: math.hypot(u, y), (0.5, 2)),
    ("math.pow", lambda u, y: math.pow(u, y), (0.5, 2)),
    ("np.sin", lambda u, y: np.sin(u) * y, (-2, 2)),
    ("np.exp", lambda u, y: np.exp(u * y), (-1, 1)),
    ("np.log1p", lambda u, y: np.log1p(u * u * y), (-1, 1)),
    ("np.arctan2", lambda u, y: np.arctan2(u, y), (-2, 2)),
    ("np.sinh", lambda u, y: np.sinh(u) + y, (-1, 1)),
    ("abs", lambda u, y: abs(u - 0.05) * y, (-2, 2)),
    ("pow int", lambda u, y: u ** 3 * y, (-2, 2)),
    ("pow float", lambda u, y: (u * u + 1.0) ** y, (-2, 2)),
    ("pow of a constant", lambda u, y: 2.0 ** (u * y), (-1, 1)),
    ("division", lambda u, y: y / (1.0 + u * u), (-2, 2)),
    ("max", lambda u, y: max(u, y), (-2, 2)),
    ("min", lambda u, y: min(u * y, 0.3), (-2, 2)),
]


def _loop(terms, tag):
    """``f(x, w)``: a loop adding every term of ``terms`` (written out: srcad resolves a
    callee by its name), from a source registered with linecache."""
    names = [f"term{k}" for k in range(len(terms))]
    total = " + ".join(f"{n}(x[i], w)" for n in names)
    text = ("def f(x, w):\n    s = 0.0\n    for i in range(x.shape[0]):\n"
            f"        s = s + ({total}) * (1.0 + 0.1 * s)\n    return s\n")
    filename = f"<numba rules {tag}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope = dict(zip(names, terms), math=math, np=np)
    exec(compile(text, filename, "exec"), scope)
    return scope["f"]


# one function per domain and at most 7 rules: numba compiles 4 functions, not 21 (its
# compile time is most of this test's); a failure names the rules of its group, each of
# them can be run alone with GROUPS = [[rule]]
GROUPS = [g[k:k + 7] for g in ([r for r in RULES if r[2] == d]
                                for d in dict.fromkeys(r[2] for r in RULES))
          for k in range(0, len(g), 7)]


@pytest.mark.parametrize("group", GROUPS, ids=[",".join(r[0] for r in g) for g in GROUPS])
def test_rules_in_a_loop(group, rng, monkeypatch):
    names = [r[0] for r in group]
    f = _loop([r[1] for r in group], names[0])
    x = rng.uniform(*group[0][2], 7)
    w = 0.8
    fast = srcad.differentiate(f, wrt=("x", "w"), backend="numba")
    gx, gw = fast.grad(x, w)
    assert fast.compiled("grad", x, w).__srcad_backend__ == "numba", names
    rx, rw = srcad.differentiate(f, wrt=("x", "w"), backend="numpy").grad(x, w)
    np.testing.assert_allclose(gx, rx, rtol=1e-12, atol=1e-13, err_msg=str(names))
    assert gw == pytest.approx(rw, rel=1e-12, abs=1e-13), names
    monkeypatch.setenv("SRCAD_BACKEND", "numba")
    fd_check(f, (x, w), ("x", "w"), rng)
    fd_check_forward(f, (x, w), ("x", "w"), rng)

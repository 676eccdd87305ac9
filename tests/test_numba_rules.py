"""A sample of the rule table through the numba backend: each rule inside a scalar loop
(where the backend pays), checked against central differences and against the NumPy
backend, and compiled by numba (not refused)."""
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


def _loop(term):
    def f(x, w):
        s = 0.0
        for i in range(x.shape[0]):
            s = s + term(x[i], w) * (1.0 + 0.1 * s)
        return s
    return f


@pytest.mark.parametrize("name,term,domain", RULES, ids=[r[0] for r in RULES])
def test_rule_in_a_loop(name, term, domain, rng, monkeypatch):
    f = _loop(term)
    x = rng.uniform(*domain, 7)
    w = 0.8
    fast = srcad.differentiate(f, wrt=("x", "w"), backend="numba")
    gx, gw = fast.grad(x, w)
    assert fast.compiled("grad", x, w).__srcad_backend__ == "numba", name
    rx, rw = srcad.differentiate(f, wrt=("x", "w"), backend="numpy").grad(x, w)
    np.testing.assert_allclose(gx, rx, rtol=1e-12, atol=1e-13, err_msg=name)
    assert gw == pytest.approx(rw, rel=1e-12, abs=1e-13), name
    monkeypatch.setenv("SRCAD_BACKEND", "numba")
    fd_check(f, (x, w), ("x", "w"), rng)
    fd_check_forward(f, (x, w), ("x", "w"), rng)

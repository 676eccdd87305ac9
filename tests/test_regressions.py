"""Bugs found by review, each with the test that failed before its fix.

Derivatives are checked against central differences (``fd_check``); errors by
class and line.
"""
import dataclasses
import inspect
from typing import NamedTuple

import numpy as np
import pytest
from conftest import assert_grad_close, assert_same_value, fd_check, fd_check_forward

import srcad

IDX = np.array([0, 2, 2])


def write_repeated_index(x):
    out = np.zeros(3)
    out[IDX] = x            # NumPy: the last write to position 2 wins
    return np.sum(out ** 2)


def add_repeated_index(x):
    out = np.zeros(3)
    out[IDX] += x           # also last-write-wins in NumPy (not an accumulation)
    return np.sum(out ** 2)


def new_key_in_local_dict(d):
    e = {"w": d["w"] ** 2}
    e["c"] = np.sin(d["b"])
    return np.sum(e["w"] * e["c"])


def enumerate_of_zip(x, y):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        s = s + (i + 1) * a * np.sin(b)
    return s


def zip_of_enumerate(x, y):
    s = 0.0
    for (i, a), b in zip(enumerate(x, 1), y):
        s = s + i * a * b
    return s


def ufunc_at(x):
    out = np.zeros(3)
    np.add.at(out, IDX, x)
    return np.sum(out ** 2)


@pytest.mark.parametrize("fn", [write_repeated_index, add_repeated_index])
def test_writes_through_repeated_indices(fn, rng):
    x = rng.uniform(0.2, 0.8, 3)
    fd_check(fn, (x,), 0, rng)
    fd_check_forward(fn, (x,), 0, rng)


def test_new_key_in_a_local_dict(rng):
    d = {"w": rng.uniform(0.2, 0.8, 2), "b": rng.uniform(0.2, 0.8, 2)}
    fd_check(new_key_in_local_dict, (d,), 0, rng)


@pytest.mark.parametrize("fn", [enumerate_of_zip, zip_of_enumerate])
def test_nested_zip_and_enumerate(fn, rng):
    x, y = rng.uniform(0.2, 0.8, 4), rng.uniform(0.2, 0.8, 5)
    fd_check(fn, (x, y), (0, 1), rng)
    fd_check_forward(fn, (x, y), (0, 1), rng)


def test_in_place_ufunc_method_is_rejected_not_ignored():
    with pytest.raises(srcad.TransformError) as err:
        srcad.grad(ufunc_at)(np.ones(3))
    lines, start = inspect.getsourcelines(ufunc_at)
    expected = start + next(k for k, line in enumerate(lines) if "np.add.at" in line)
    assert err.value.lineno == expected
    assert "in place" in str(err.value) and "np.add.at(out, IDX, x)" in str(err.value)


# ---- methods of structured arguments (found missing by review) ---------------------

@dataclasses.dataclass
class Model:
    W: np.ndarray
    b: np.ndarray
    name: str = "m"

    def predict(self, X):
        return np.tanh(X @ self.W + self.b)

    def loss(self, X, y):
        r = self.predict(X) - y          # a method calling a method
        return np.mean(r * r)


def model_objective(m, X, y):
    return m.loss(X, y)


class Vec(NamedTuple):
    x: float
    y: float

    def norm2(self):
        return self.x * self.x + self.y * self.y


def vec_length(p):
    return np.sqrt(p.norm2())


def test_methods_of_a_dataclass_argument(rng):
    m = Model(rng.normal(size=(3, 2)), rng.normal(size=2))
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    fd_check(model_objective, (m, X, y), 0, rng)
    fd_check_forward(model_objective, (m, X, y), 0, rng)
    g = srcad.grad(model_objective)(m, X, y)
    assert type(g) is Model and g.name == "m"


def test_methods_of_a_namedtuple_argument(rng):
    p = Vec(float(rng.uniform(1, 2)), float(rng.uniform(1, 2)))
    fd_check(vec_length, (p,), 0, rng)
    assert type(srcad.grad(vec_length)(p)) is Vec


# ---- second review round ---------------------------------------------------------

def residuals(x):
    r = np.zeros(3)
    r[0] = x[0] * x[1]
    r[1] = x[1] - 1.0
    r[2] = x[0] ** 2
    return r


def test_pullback_leaves_the_cotangent_alone(rng):
    x = rng.uniform(0.5, 1.5, 2)
    _, back = srcad.pullback(residuals, x)
    c = rng.standard_normal(3)
    kept = c.copy()
    first = back(c)[0]
    second = back(c)[0]
    np.testing.assert_array_equal(c, kept)
    np.testing.assert_array_equal(first, second)
    fd_check(residuals, (x,), 0, rng)


def break_in_inner_loop(x):
    s = 0.0
    for i in range(3):
        for j in range(3):
            if j > i:
                break
            s = s + x[j] * (i + 1)
    return s


def continue_in_inner_loop(x):
    s = 0.0
    for i in range(3):
        for j in range(3):
            if j == i:
                continue
            s = s + x[j] * x[i]
    return s


@pytest.mark.parametrize("fn", [break_in_inner_loop, continue_in_inner_loop])
def test_break_and_continue_in_nested_loops(fn, rng):
    x = rng.uniform(0.2, 0.8, 3)
    fd_check(fn, (x,), 0, rng)
    fd_check_forward(fn, (x,), 0, rng)


def weighted(w, b):
    return np.sum(w * w) * b


def test_float_gradient_into_a_one_entry_out_array(rng):
    w = rng.uniform(0.5, 1.5, 2)
    ow, ob = np.zeros(2), np.full((), 99.0)
    gw, gb = srcad.differentiate(weighted, wrt=(0, 1)).grad(w, 2.0, out=(ow, ob))
    assert gw is ow and gb is ob
    assert float(ob) == pytest.approx(float(np.sum(w * w)))   # d/db of sum(w*w)*b, exact


def alias_then_update(x):
    a = x * 2.0
    b = a
    a += x                   # NumPy changes b too
    return np.sum(b * b)


def view_then_update(x):
    a = x * 1.0
    v = a[::2]
    v *= 3.0
    return np.sum(a * a)


def view_then_write(x):
    a = np.zeros(3)
    b = a[1:]
    b[0] = x[0] * x[1]
    return np.sum(a * x[:3])


def float_alias_is_fine(x):
    s = 0.0
    prev = s
    for i in range(3):
        prev = s
        s += x[i] * prev + x[i]
    return s


@pytest.mark.parametrize("fn", [alias_then_update, view_then_update, view_then_write])
def test_in_place_update_of_a_shared_array_is_an_error(fn):
    with pytest.raises(srcad.TransformError) as err:
        srcad.grad(fn)(np.array([0.3, -0.7, 1.2, 0.5]))
    assert "in place while another name refers to the same array" in str(err.value)
    lines, start = inspect.getsourcelines(fn)
    marker = next(k for k, line in enumerate(lines) if "=" in line and (
        "+=" in line or "*=" in line or "b[0]" in line))
    assert err.value.lineno == start + marker


def test_a_float_alias_updated_in_place_is_fine(rng):
    fd_check(float_alias_is_fine, (rng.uniform(0.2, 0.8, 3),), 0, rng)


def with_defaults(x, scale=2.0, k=3):
    return np.sum(np.sin(x) * scale) ** k


def test_defaults_and_keywords(rng):
    x = rng.uniform(0.1, 0.5, 3)
    f = srcad.differentiate(with_defaults)
    np.testing.assert_array_equal(f.grad(x), f.grad(x, 2.0, 3))
    np.testing.assert_array_equal(f.grad(x, k=2), srcad.grad(with_defaults)(x, 2.0, 2))
    fd_check(with_defaults, (x, 2.0, 3), 0, rng)
    fd_check(with_defaults, (x, 1.5, 2), 0, rng)


def clipped_square(x):
    return np.sum(np.clip(x, 0.2, 0.8) ** 3) + np.sum(np.maximum(x, 0.1) ** 2)


def test_hessian_through_piecewise_rules(rng):
    x = np.array([0.05, 0.3, 0.6, 0.9])
    H = srcad.hessian(clipped_square)(x)
    g = srcad.grad(clipped_square)
    eps = 1e-6
    fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-8)


def three_outputs(x):
    return (x * 2.0, np.sum(x * x), x[0])


def test_tuple_cotangents_are_checked_and_none_means_zero(rng):
    x = rng.uniform(0.5, 1.5, 3)
    _, back = srcad.pullback(three_outputs, x)
    c0 = rng.standard_normal(3)
    with_none = back((c0, 0.7, None))[0]
    with_zero = back((c0, 0.7, 0.0))[0]
    np.testing.assert_allclose(with_none, with_zero)
    for bad in (np.ones(3), (np.ones(3), 1.0), (np.ones(2), 1.0, 1.0)):
        with pytest.raises(ValueError, match="cotangent"):
            back(bad)


def det_of(A):
    return np.linalg.det(A)


def inv_sq(A):
    return np.sum(np.linalg.inv(A) ** 2)


def solve_sq(A):
    return np.sum(np.linalg.solve(A, np.ones(3)) ** 2)


def trace_sq(A):
    return np.trace(A @ A)


@pytest.mark.parametrize("fn", [det_of, inv_sq, solve_sq, trace_sq])
def test_hessians_through_linear_algebra(fn, rng):
    A = np.eye(3) * 2.0 + rng.uniform(-0.3, 0.3, (3, 3))
    H = srcad.hessian(fn)(A)
    g = srcad.grad(fn)
    eps = 1e-6
    cols = [((g(A + eps * e.reshape(3, 3)) - g(A - eps * e.reshape(3, 3))) / (2 * eps)).ravel()
            for e in np.eye(9)]
    fd = np.stack(cols, axis=1).reshape(3, 3, 3, 3)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)


# ---- third review round ------------------------------------------------------------

def _ident(z):
    return z


def shared_through_list(a):
    c = a * 1.0
    lst = [c, a]
    lst[0] += 1.0
    return np.sum(c * c)


def shared_through_unpacking(a):
    c = a * 1.0
    b, k = (c, 2.0)
    b *= k
    return np.sum(c * c)


def shared_through_ternary(a):
    c = a * 1.0
    b = c if a[0] > 0 else a * 2.0
    b += 1.0
    return np.sum(c * c)


def shared_through_helper(a):
    c = a * 1.0
    b = _ident(c)
    b += a
    return np.sum(c * c)


def shared_rows(a):
    C = np.outer(a, a) * 1.0
    for row in C:
        row *= 2.0
    return np.sum(C)


@pytest.mark.parametrize("fn", [shared_through_list, shared_through_unpacking,
                                shared_through_ternary, shared_through_helper, shared_rows])
def test_more_kinds_of_sharing_are_caught(fn):
    with pytest.raises(srcad.TransformError, match="refers to the same array"):
        srcad.grad(fn)(np.array([0.3, -0.7, 1.1, 0.5]))


def dead_alias(a):
    b = a * 1.0
    c = b
    s = np.sum(c)
    b += 1.0                 # c is never read again: no observable difference
    return np.sum(b * b) + s


def test_an_alias_no_longer_read_is_fine(rng):
    fd_check(dead_alias, (rng.uniform(0.2, 0.8, 4),), 0, rng)


def out_keyword(a):
    b = a * 1.0
    np.multiply(b, 2.0, out=b)
    return np.sum(b)


def test_out_keyword_in_user_code_is_rejected():
    with pytest.raises(srcad.TransformError, match="out="):
        srcad.grad(out_keyword)(np.ones(3))


def repeated_list_index(x):
    out = np.zeros(3)
    out[[1, 1, 2, 1, 0]] += x ** 2
    return np.sum(np.sin(out))


def test_repeated_indices_given_as_a_list(rng):
    x = rng.uniform(0.1, 0.6, 5)
    fd_check(repeated_list_index, (x,), 0, rng)
    fd_check_forward(repeated_list_index, (x,), 0, rng)


@dataclasses.dataclass
class Layered:
    w: np.ndarray

    def a(self, x):
        return np.sum(self.w * x)

    def b(self, x):
        return self.a(x) ** 2

    def c(self, x):
        return self.b(x) + self.a(x)


def three_levels(m, x):
    return m.c(x)


def test_three_levels_of_methods(rng):
    m, x = Layered(rng.uniform(0.5, 1.5, 2)), rng.uniform(0.1, 0.5, 2)
    fd_check(three_levels, (m, x), (0, 1), rng)


def test_cotangent_of_a_scalar_output_must_be_scalar():
    _, back = srcad.pullback(three_outputs, np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        back((np.ones(3), np.ones(3), 1.0))


def zip_reversed(x, y):
    s = 0.0
    for a, b in zip(reversed(x), y):
        s = s * 0.5 + a * b
    return s


def test_reversed_inside_zip(rng):
    x, y = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 4)
    fd_check(zip_reversed, (x, y), (0, 1), rng)
    fd_check_forward(zip_reversed, (x, y), (0, 1), rng)


def stacked(x):
    return np.sum(np.stack([x, x * x]) ** 2) + np.sum(np.concatenate([x, x ** 3]) ** 2)


def inner_sq(x):
    return np.inner(x, x * 2.0) ** 2


@pytest.mark.parametrize("fn", [stacked, inner_sq])
def test_hessians_through_stacks_and_inner(fn, rng):
    x = rng.uniform(0.5, 1.5, 4)
    H = srcad.hessian(fn)(x)
    g = srcad.grad(fn)
    eps = 1e-6
    fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)


def diag_sq(x):
    return np.sum(np.diag(x) @ np.diag(x) * 1.5)


def norm_cubed(x):
    return np.linalg.norm(x) ** 3


@pytest.mark.parametrize("fn", [diag_sq, norm_cubed])
def test_hessians_through_diag_and_norm(fn, rng):
    x = rng.uniform(0.5, 1.5, 4)
    H = srcad.hessian(fn)(x)
    g = srcad.grad(fn)
    eps = 1e-6
    fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)


# ---- realistic-code review ----------------------------------------------------------

def _centred_energy(X):
    mean = X.mean(axis=0)            # a local named like the array method it calls
    return np.sum(mean ** 2)


def uses_centred_energy(X):
    return _centred_energy(X)


def test_local_named_like_a_method_in_a_helper(rng):
    fd_check(uses_centred_energy, (rng.uniform(0.1, 0.9, (4, 3)),), 0, rng)


def rnn(W, h0):
    h = h0
    for _ in range(3):
        h = np.tanh(W @ h)
    return np.sum(h)


def test_forward_mode_with_a_constant_initial_state(rng):
    W, h0 = rng.uniform(-0.5, 0.5, (2, 2)), rng.uniform(0.1, 0.9, 2)
    fd_check_forward(rnn, (W, h0), 0, rng)


def two_products(W, h0):
    return np.sum(W @ (W @ h0))


def variance_sum(X):
    return np.sum(np.var(X, axis=0))


@pytest.mark.parametrize("fn, shape", [(two_products, (2, 2)), (variance_sum, (3, 3))])
def test_hessians_with_zero_cotangents(fn, shape, rng):
    args = (rng.uniform(0.1, 0.9, shape),) + ((rng.uniform(0.1, 0.9, 2),)
                                               if fn is two_products else ())
    H = srcad.hessian(fn)(*args)
    g = srcad.grad(fn)
    x, eps, n = args[0], 1e-6, args[0].size
    cols = [((g(x + eps * e.reshape(shape), *args[1:]) - g(x - eps * e.reshape(shape), *args[1:]))
             / (2 * eps)).ravel() for e in np.eye(n)]
    fd = np.stack(cols, axis=1).reshape(shape + shape)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)


def scaled(x, a=2.0):
    return x * a


def test_source_with_a_default_argument():
    assert "def scaled_vjp" in srcad.source(scaled, 3.0)


@dataclasses.dataclass
class Decay:
    k: float
    name: str = "decay"


def decay(p, x):
    for _ in range(50):
        x = x - 0.01 * p.k * x          # a field read inside the loop: hoisted, plain floats
    return x


def test_float_fields_in_loops_use_plain_arithmetic(rng):
    p, x = Decay(float(rng.uniform(0.5, 1.0))), float(rng.uniform(0.5, 1.5))
    fd_check(decay, (p, x), (0, 1), rng)
    text = srcad.source(decay, p, x, wrt=(0, 1))
    assert "unbroadcast" not in text and "add_cot" not in text


# ---- final sweep ---------------------------------------------------------------------

@dataclasses.dataclass
class Spring:
    w: np.ndarray
    k: float


def spring_energy(s):
    return np.sum(s.w ** 2) * s.k


def built_inside(x, k):
    return spring_energy(Spring(x, k))


@pytest.fixture
def rules_snapshot():
    """Restore the user rule tables after a test that registers one."""
    from srcad.transforms.rules import registry
    saved = dict(registry.CUSTOM_FORWARD)
    yield
    registry.CUSTOM_FORWARD.clear()
    registry.CUSTOM_FORWARD.update(saved)


def test_forward_rule_receives_a_dataclass_tangent(rng, rules_snapshot):
    seen = []

    @srcad.tangent(spring_energy)
    def spring_energy_tangent(args, tangents):
        (s,), (ds,) = args, tangents
        seen.append(type(ds))
        return (np.sum(s.w ** 2) * s.k,
                np.sum(2.0 * s.w * ds.w) * s.k + np.sum(s.w ** 2) * ds.k)

    x, k = rng.uniform(0.5, 1.5, 2), float(rng.uniform(0.5, 1.5))
    fd_check_forward(built_inside, (x, k), (0, 1), rng)
    assert seen and all(t is Spring for t in seen)


def carried_unused(x, y):
    s = 0.0
    for _ in range(2):
        s = s + np.sum(x * x)
        x = x + y          # broadcasts; the last value of x is never used
    return s


def test_loop_carried_broadcast_with_unused_final_value(rng):
    fd_check(carried_unused, (rng.uniform(0.2, 0.8, 3), rng.uniform(0.2, 0.8, 1)), (0, 1), rng)


# ---- error-clarity review --------------------------------------------------------------

def test_out_may_not_overlap_arguments_or_each_other():
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="shares memory with an argument"):
        srcad.grad(write_repeated_index)(x, out=x)
    with pytest.raises(ValueError, match="share memory"):
        buf = np.empty(3)
        srcad.grad(zip_reversed, wrt=(0, 1))(x, x + 1.0, out=(buf, buf))
    buf = np.empty(6)
    with pytest.raises(ValueError, match="share memory"):
        srcad.grad(zip_reversed, wrt=(0, 1))(x, x + 1.0, out=(buf[:3], buf[2:5]))
    with pytest.raises(ValueError, match="shares memory with an argument"):
        srcad.grad(zip_reversed, wrt=(0, 1))(buf[:3], buf[3:], out=(buf[1:4], np.empty(3)))
    gx, gy = srcad.grad(zip_reversed, wrt=(0, 1))(x, x + 1.0, out=(buf[:3], buf[3:]))
    assert np.shares_memory(gx, buf) and np.shares_memory(gy, buf)   # halves of one buffer
    want = srcad.grad(zip_reversed, wrt=(0, 1))(x, x + 1.0)
    np.testing.assert_allclose(buf, np.concatenate(want))


def test_rebinding_a_module_constant_recompiles(tmp_path, monkeypatch, rng):
    import importlib
    import sys as _sys
    (tmp_path / "srcad_globals_mod.py").write_text(
        "import numpy as np\nSCALE = 2.0\nW = np.ones(3)\n\n\n"
        "def energy(x):\n    return np.sum(SCALE * W * x ** 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("srcad_globals_mod")
    try:
        x = rng.uniform(0.5, 1.5, 3)
        f = srcad.differentiate(mod.energy)
        f.grad(x)
        mod.SCALE = 10.0
        mod.W = rng.uniform(0.5, 1.5, 3)
        fd_check(mod.energy, (x,), 0, rng)
        np.testing.assert_allclose(f.grad(x), 2.0 * mod.SCALE * mod.W * x)  # linear check of
        # the rebinding only (the derivative itself is checked by fd_check above)
    finally:
        _sys.modules.pop("srcad_globals_mod", None)


# ---- second error-clarity review ----------------------------------------------------

def keyword_only(x, a=1.5, *, s):
    return np.sum(np.sin(x * a)) * s


def test_keyword_only_parameters(rng):
    x, a, s = rng.uniform(0.2, 0.9, 5), 1.3, 0.7
    gx, ga, gs = srcad.grad(keyword_only, wrt=("x", "a", "s"))(x, a, s=s)
    eps = 1e-6
    v = rng.standard_normal(5)
    fd = (keyword_only(x + eps * v, a, s=s) - keyword_only(x - eps * v, a, s=s)) / (2 * eps)
    np.testing.assert_allclose(gx @ v, fd, rtol=1e-6)
    fd = (keyword_only(x, a + eps, s=s) - keyword_only(x, a - eps, s=s)) / (2 * eps)
    np.testing.assert_allclose(ga, fd, rtol=1e-6)
    fd = (keyword_only(x, a, s=s + eps) - keyword_only(x, a, s=s - eps)) / (2 * eps)
    np.testing.assert_allclose(gs, fd, rtol=1e-6)
    # forward mode and the jacobian take the same parameters
    value, t = srcad.jvp(keyword_only, (x, a, s), (v, 0.0, 0.0), wrt=("x", "a", "s"))
    np.testing.assert_allclose(value, keyword_only(x, a, s=s))
    np.testing.assert_allclose(t, gx @ v, rtol=1e-9)
    np.testing.assert_allclose(srcad.jacobian(keyword_only, wrt="s")(x, a, s=s), gs, rtol=1e-9)


def real_parts(x):
    return x.real * 2.0 + np.sin(x).imag + np.conj(x) * x.conj() + np.real(x) * np.imag(x)


def test_real_imag_conj_of_real_arrays(rng):
    x = rng.uniform(0.2, 0.9, 4)
    fd_check(real_parts, (x,), 0, rng)
    fd_check_forward(real_parts, (x,), 0, rng)


def identity_copy(x):
    return x * 1.0


def test_pullback_never_returns_the_callers_cotangent(rng):
    x = rng.uniform(0.2, 0.9, 4)
    _, back = srcad.pullback(identity_copy, x)
    c = rng.standard_normal(4)
    (g,) = back(c)
    assert not np.may_share_memory(g, c)
    np.testing.assert_allclose(g, c)


def two_outputs(x):
    return np.sin(x), x * 2.0


def sum_xyy(x, y):
    return np.sum(x * y * y)


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
def test_misuse_of_the_derivative_forms_is_a_clear_error(rng):
    x = rng.uniform(0.2, 0.9, 4)
    with pytest.raises(TypeError, match="complex"):
        srcad.pullback(identity_copy, x)[1](x * 1j)
    with pytest.raises(TypeError, match="tuple"):
        srcad.jvp(identity_copy, x, x)
    with pytest.raises(TypeError, match="is None"):
        srcad.jvp(sum_xyy, (x, x), (x, None), wrt=(0, 1))
    with pytest.raises(ValueError, match="one wrt argument"):
        srcad.hessian(sum_xyy, wrt=(0, 1))(x, x)
    with pytest.raises(ValueError, match="returned a tuple"):
        srcad.jacobian(two_outputs)(x)
    with pytest.raises(srcad.TransformError, match="complex numbers are not supported"):
        srcad.grad(lambda_free_complex)(x)     # (complex values are refused where they appear)


def lambda_free_complex(x):
    return np.sum(x) * 1j


@pytest.mark.parametrize("fn", [np.sin])      # (a functools.partial is accepted now:
def test_only_def_functions_are_accepted(fn):   # tests/test_user_code.py)
    with pytest.raises(TypeError, match="written with def"):
        srcad.grad(fn)(1.0)


def test_array_subclasses_are_refused(rng):
    x = rng.uniform(0.2, 0.9, 4)
    with pytest.raises(TypeError, match="`x` is a numpy.ma.MaskedArray"):
        srcad.grad(lambda_free_sum)(np.ma.masked_array(x, mask=[0, 1, 0, 0]))
    srcad.grad(lambda_free_sum)(x)           # a plain array still works after the refusal


def lambda_free_sum(x):
    return np.sum(np.sin(x) ** 2)


def test_a_lambda_is_differentiated():     # (refused before: tests/test_user_code.py)
    table = {"square": lambda x: x * np.sin(x)}
    assert_grad_close(srcad.grad(table["square"])(1.5), table["square"], (1.5,), 0)


def carried_to_the_end(x):
    s = 1.0
    for i in range(len(x)):
        s = s * np.sin(x[i]) + x[i]
    return s


def test_value_and_grad_returns_a_loop_carried_value(rng):
    x = rng.uniform(0.2, 0.9, 5)
    value, _ = srcad.value_and_grad(carried_to_the_end)(x)
    assert value == carried_to_the_end(x)
    fd_check(carried_to_the_end, (x,), 0, rng)      # also compares value_and_grad's value


def write_a_row(X, v):
    Y = X * 1.0
    Y[0] = v[0] * X[0]
    Y[1] += v * X[0]
    return np.sum(Y ** 2)


def scale_rows_in_a_loop(X, v):
    Y = X * 1.0
    for i in range(X.shape[0]):
        Y[i] = Y[i] * v
    return np.sum(np.sin(Y))


def test_writing_whole_rows_with_an_integer_index(rng):
    X, v = rng.uniform(0.2, 0.9, (3, 2)), rng.uniform(0.2, 0.9, 2)
    fd_check(write_a_row, (X, v), (0, 1), rng)
    fd_check(scale_rows_in_a_loop, (X, v), (0, 1), rng)
    fd_check_forward(write_a_row, (X, v), (0, 1), rng)


def make_weighted(a, W, helper):
    def inner(x):
        return np.sum(a * W * helper(x) ** 2)
    return inner


def cube(x):
    return x ** 3


def test_closures_with_other_cell_values_get_their_own_code(rng, tmp_path, monkeypatch):
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path))
    srcad.clear_cache()
    x = rng.uniform(0.2, 0.9, 3)
    ones, w = np.ones(3), rng.uniform(1, 2, 3)
    variants = [make_weighted(2.0, ones, np.sin), make_weighted(3.0, ones, np.sin),
                make_weighted(3.0, ones, cube), make_weighted(3.0, w, cube)]
    for fn in variants:
        value, _ = srcad.value_and_grad(fn)(x)
        assert_same_value(value, fn(x))
        fd_check(fn, (x,), 0, rng)


def scaled_by_a_loop_sum(x):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] ** 2
    return x * s


def test_forward_jacobian_through_a_loop_carried_scalar(rng):
    x = rng.uniform(0.2, 0.9, 4)
    J = srcad.jacobian(scaled_by_a_loop_sum, mode="forward")(x)
    np.testing.assert_allclose(J, srcad.jacobian(scaled_by_a_loop_sum, mode="reverse")(x),
                               rtol=1e-12)
    fd_check_forward(scaled_by_a_loop_sum, (x,), 0, rng)
    fd_check(scaled_by_a_loop_sum, (x,), 0, rng)


def trace_by_einsum(A):
    return np.einsum("ii", A @ A.T)


def spectral_norm(M):
    return np.linalg.norm(M, 2)


def cubic(x):
    return x ** 3 + np.sin(x) * x


def test_rules_without_a_case_raise_at_the_users_line(rng):
    A = rng.uniform(0.2, 0.9, (3, 3))
    with pytest.raises(srcad.TransformError, match="register one with") as info:
        srcad.grad(trace_by_einsum)(A)
    line = inspect.getsourcelines(trace_by_einsum)[1] + 1
    assert info.value.filename == __file__ and info.value.lineno == line
    fd_check(spectral_norm, (A,), 0, rng)        # ord=2 of a matrix has a rule now


def test_a_derivative_function_is_not_differentiated_again():
    with pytest.raises(TypeError, match="cannot be differentiated again"):
        srcad.grad(srcad.derivative(cubic))(0.7)
    h = srcad.derivative(srcad.grad(cubic))(0.7)
    eps = 1e-4
    fd = (cubic(0.7 + eps) - 2 * cubic(0.7) + cubic(0.7 - eps)) / eps ** 2
    np.testing.assert_allclose(h, fd, rtol=1e-6)


def cumulative_products(x):
    return np.sum(np.cumprod(x, axis=1) ** 2) * np.sum(np.cumprod(np.sin(x)))


def prod_twice_differentiable(x):
    return np.prod(x) + np.sum(np.cumprod(x) ** 2)


def test_cumprod_with_and_without_zeros(rng):
    x = rng.uniform(0.5, 1.5, (3, 4))
    fd_check(cumulative_products, (x,), 0, rng)
    fd_check_forward(cumulative_products, (x,), 0, rng)
    x[1, 2] = 0.0                 # an exact zero: the zero-safe recurrences are used
    x[0, 0] = 0.0
    fd_check(cumulative_products, (x,), 0, rng)
    fd_check_forward(cumulative_products, (x,), 0, rng)
    J = srcad.jacobian(cumprod_rows, mode="forward")(x[0])
    np.testing.assert_allclose(J, srcad.jacobian(cumprod_rows, mode="reverse")(x[0]),
                               rtol=1e-12, atol=1e-15)


def cumprod_rows(v):
    return np.cumprod(v * 2.0)


def update_in_one_branch(a, k):
    a2 = np.asarray(a)
    if k > 0:
        out = a2 * 3.0
    else:
        s = np.array(a2)
        s[0] += a2[1] * s[1]
        out = s * a2
    r = np.reshape(out, np.shape(a))
    return np.sum(r ** 2)


def test_the_in_place_guard_names_only_locals_bound_on_its_path(rng):
    a = rng.uniform(0.2, 0.9, 3)
    fd_check(update_in_one_branch, (a, 1), 0, rng)
    fd_check(update_in_one_branch, (a, -1), 0, rng)
    fd_check_forward(update_in_one_branch, (a, -1), 0, rng)


shadowed = None         # a module-level name that the function below shadows with a local


def view_then_update_a_shadowing_local(x):
    shadowed = x.copy()
    v = shadowed[1:]
    shadowed[1:] = shadowed[1:] * 2.0      # NumPy: `v` sees the update
    return np.sum(v * x[1:])


def test_a_local_shadowing_a_global_is_still_guarded(rng):
    x = rng.uniform(0.2, 0.9, 4)
    with pytest.raises(srcad.TransformError, match="updated in place"):
        srcad.grad(view_then_update_a_shadowing_local)(x)


def heat_stencil(u0, nu):
    u = u0.copy()
    for _ in range(4):
        u[1:-1] = u[1:-1] + nu * (u[:-2] - 2 * u[1:-1] + u[2:])
    return np.sum(u ** 3)


def test_second_derivative_through_a_stencil_update_is_refused_at_the_users_line(rng):
    u0 = rng.uniform(0.2, 0.9, 6)
    fd_check(heat_stencil, (u0, 0.2), (0, 1), rng)           # first order is fine
    with pytest.raises(srcad.TransformError, match="second derivatives through an in-place"
                       ) as info:
        srcad.hessian(heat_stencil)(u0, 0.2)
    assert info.value.lineno == inspect.getsourcelines(heat_stencil)[1] + 3


def test_out_checks_are_redone_for_new_arguments(rng):
    x, y = rng.uniform(0.2, 0.9, 3), rng.uniform(0.2, 0.9, 3)
    out = (np.empty(3), np.empty(3))
    g = srcad.grad(zip_reversed, wrt=(0, 1))
    g(x, y, out=out)
    g(x, y, out=out)                       # the same objects: checked once
    with pytest.raises(ValueError, match="shares memory with an argument"):
        g(x, out[1][::-1], out=out)        # a new argument viewing an out= buffer
    np.testing.assert_allclose(g(x, y, out=out)[0], g(x, y)[0])


def through_layers(layers, x):
    h = x
    for W in layers:
        h = np.sin(h * W)
    return np.sum(h)


def test_hvp_with_a_list_of_arrays_that_a_loop_runs_over(rng):
    layers = [rng.uniform(0.5, 1.5, 3), rng.uniform(0.5, 1.5, 3)]
    x = rng.uniform(0.2, 0.9, 3)
    v = [rng.standard_normal(3), rng.standard_normal(3)]
    hv = srcad.hvp(through_layers, (layers, x), v)
    g = srcad.grad(through_layers)
    eps = 1e-6
    plus = g([a + eps * d for a, d in zip(layers, v)], x)
    minus = g([a - eps * d for a, d in zip(layers, v)], x)
    for got, p, m in zip(hv, plus, minus):
        np.testing.assert_allclose(got, (p - m) / (2 * eps), rtol=1e-5, atol=1e-8)


def two_argument_energy(x, y):
    return x ** 2 * y + np.sin(y)


def test_grad_of_a_gradient_with_several_wrt_is_refused():
    with pytest.raises(ValueError, match="returns a tuple"):
        srcad.grad(srcad.grad(two_argument_energy, wrt=(0, 1)), wrt=1)(2.0, 3.0)


def tanh_step(x, w):
    return np.tanh(x * w)


def checkpointed(x, w):
    return np.sum(srcad.checkpoint(tanh_step, x, w))


def test_second_derivative_through_checkpoint_is_a_transform_error(rng):
    x, w = rng.uniform(0.2, 0.9, 3), rng.uniform(0.5, 1.5, 3)
    fd_check(checkpointed, (x, w), (0, 1), rng)
    with pytest.raises(srcad.TransformError, match="higher derivatives through srcad's own"):
        srcad.hvp(checkpointed, (x, w), np.ones(3))

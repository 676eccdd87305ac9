"""Processes, depth and edge inputs (issue 9, section 4) and grad's scalar-output check.

- zero-size arrays get empty Jacobians of the right shape, forward and reverse;
- the tangent of a jvp has the type of the primal output (np.float64 for np.float64);
- np.memmap arguments hold plain data: accepted, their gradients are plain ndarrays.
"""
import importlib.util
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

import srcad
import srcad.depth
import srcad.locks
from conftest import assert_grad_close, fd_check, fd_check_forward, fd_gradient


# --------------------------------------------------------------------------- zero-size arrays

def elementwise(x):
    return np.sin(x) * 2.0


def total(x):
    return np.sum(x ** 2)


def gram(x):
    return x @ x.T


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4)])
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_of_an_empty_input_is_empty(shape, mode):
    x = np.zeros(shape)
    J = srcad.jacobian(elementwise, mode=mode)(x)
    assert type(J) is np.ndarray and J.shape == shape + shape and J.dtype == np.float64
    g = srcad.jacobian(total, mode=mode)(x)
    assert type(g) is np.ndarray and g.shape == shape


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_with_an_empty_input_and_a_non_empty_output(mode):
    x = np.zeros((3, 0))
    J = srcad.jacobian(gram, mode=mode)(x)         # (3, 3) output of zeros
    assert J.shape == (3, 3, 3, 0)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_with_an_empty_output_and_a_non_empty_input(mode):
    def head(x):
        return x[:0] * 3.0
    J = srcad.jacobian(head, mode=mode)(np.arange(4.0))
    assert J.shape == (0, 4)


def test_empty_jacobian_keeps_float32():
    J = srcad.jacobian(elementwise, mode="reverse")(np.zeros((0, 2), dtype=np.float32))
    assert J.shape == (0, 2, 0, 2) and J.dtype == np.float32


# --------------------------------------------------------------------------- 0-d tangents

def sine_twice(x):
    return np.sin(x) * 2.0


def copied(x):
    return x.copy() * 1.5


@pytest.mark.numpy_backend      # compiled code returns Python floats
def test_jvp_tangent_of_an_npfloat_output_is_an_npfloat(rng):
    x = np.array(0.4)
    value, tangent = fd_check_forward(sine_twice, (x,), 0, rng)
    assert type(value) is np.float64 and type(tangent) is np.float64


def test_jvp_tangent_follows_the_output_type(rng):
    for fn, x in [(sine_twice, 0.4), (sine_twice, np.float64(0.4)), (copied, np.array(0.4))]:
        value, tangent = fd_check_forward(fn, (x,), 0, rng)
        assert type(tangent) is type(value), (fn.__name__, type(x), type(value), type(tangent))


@pytest.mark.numpy_backend      # compiled code returns Python floats
def test_jvp_of_a_constant_npfloat_output_is_an_npfloat():
    def const(x):
        return np.float64(2.0)
    value, tangent = srcad.jvp(const, (np.array(0.4),), (np.array(1.0),))
    assert type(tangent) is np.float64 and tangent == 0.0


# --------------------------------------------------------------------------- memmap

def sum_sin(x):
    return np.sum(np.sin(x) * x)


def scaled(x, w):
    return np.sin(x) * w


@pytest.fixture
def mapped(tmp_path):
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=(4,))
    mm[:] = [0.3, -0.5, 0.7, 1.1]
    yield mm
    del mm


def test_memmap_gradients_are_plain_arrays(mapped, rng):
    x = np.array(mapped)
    want = srcad.grad(sum_sin)(x)
    for got in [srcad.grad(sum_sin)(mapped), srcad.value_and_grad(sum_sin)(mapped)[1],
                srcad.differentiate(sum_sin).grad(mapped),
                srcad.pullback(sum_sin, mapped)[1](1.0)[0]]:
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, want)
    fd_check(sum_sin, (mapped,), 0, rng)
    np.testing.assert_array_equal(mapped, x)        # the file's data is untouched


def test_memmap_in_forward_mode_and_jacobians(mapped, rng):
    w = np.linspace(0.5, 1.5, 4)
    value, tangent = fd_check_forward(scaled, (mapped, w), 0, rng)
    assert type(value) is np.ndarray and type(tangent) is np.ndarray
    J = srcad.jacobian(scaled)(mapped, w)
    assert type(J) is np.ndarray
    np.testing.assert_allclose(J, srcad.jacobian(scaled)(np.array(mapped), w), rtol=0, atol=0)
    H = srcad.hessian(sum_sin)(mapped)
    assert type(H) is np.ndarray and H.shape == (4, 4)


def test_memmap_inside_a_tuple(mapped, rng):
    def pair(p):
        a, b = p
        return np.sum(a * b)
    g = srcad.grad(pair)((mapped, np.ones(4)))
    assert type(g[0]) is np.ndarray and type(g[1]) is np.ndarray
    fd_check(pair, ((mapped, np.ones(4)),), 0, rng)


def test_a_masked_array_is_still_refused():
    x = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    with pytest.raises(TypeError, match="numpy.ma.MaskedArray: srcad takes plain ndarrays"):
        srcad.grad(sum_sin)(x)


# --------------------------------------------------------------------------- locks and fork

def fresh_functions():
    """New function objects (nothing compiled for them yet in this process)."""
    def big(x):
        s = 0.0
        for k in range(4):
            y = np.sin(x * (k + 1.0)) + np.cos(x) ** 2
            s = s + np.sum(y * x) / (k + 2.0)
        return s + np.sum(np.tanh(x) * np.exp(-x ** 2))

    def small(x):
        return np.sum(x ** 3)
    return big, small


class CompileGate:
    """Holds the compiling thread inside the compiler (in ``pipeline.reverse_mode``) until
    released: the test then knows, without timing, that a compile lock is held."""

    def __init__(self, monkeypatch, held_fn):
        from srcad.transforms import pipeline
        self.inside, self.release = threading.Event(), threading.Event()
        self.pid, self.held_fn, real = os.getpid(), held_fn, pipeline.reverse_mode

        def gated(fn, *args, **kwargs):
            if os.getpid() == self.pid and fn is held_fn:
                self.inside.set()
                assert self.release.wait(120), "the test never released the compile gate"
            return real(fn, *args, **kwargs)
        monkeypatch.setattr(pipeline, "reverse_mode", gated)
        monkeypatch.setenv("SRCAD_DISK_CACHE", "0")     # every compile runs the compiler


def _start(target):
    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t


def test_a_small_function_does_not_wait_for_a_big_one_compiling(monkeypatch):
    big, small = fresh_functions()
    gate = CompileGate(monkeypatch, big)
    x = np.linspace(0.1, 0.9, 5)
    results = {}
    slow = _start(lambda: results.__setitem__("big", srcad.grad(big)(x)))
    try:
        assert gate.inside.wait(60)
        quick = _start(lambda: results.__setitem__("small", srcad.grad(small)(x)))
        quick.join(60)          # returns at once unless it waits for the big compile
        assert "small" in results and "big" not in results
        assert_grad_close(results["small"], small, (x,), 0)
    finally:
        gate.release.set()
        slow.join(60)
    assert_grad_close(results["big"], big, (x,), 0)


def test_one_signature_compiles_once_across_threads(monkeypatch):
    big, small = fresh_functions()
    gate = CompileGate(monkeypatch, big)
    d = srcad.differentiate(big)
    x = np.linspace(0.1, 0.9, 5)
    results = []
    first = _start(lambda: results.append(d.grad(x)))
    try:
        assert gate.inside.wait(60)
        others = [_start(lambda: results.append(d.grad(x + 0.0))) for _ in range(3)]
    finally:
        gate.release.set()
    for t in [first] + others:
        t.join(60)
    assert len(results) == 4 and d.compiles == 1
    for g in results:
        assert_grad_close(g, big, (x,), 0)
    assert srcad.locks.in_use() == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_while_another_thread_compiles(monkeypatch):
    big, small = fresh_functions()
    gate = CompileGate(monkeypatch, big)
    x = np.linspace(0.1, 0.9, 5)
    want = fd_gradient(big, (x,), 0)
    compiling = _start(lambda: srcad.grad(big)(x))
    try:
        assert gate.inside.wait(60)      # the other thread holds big's compile lock
        pid = os.fork()
        if pid == 0:                     # the child: compile and differentiate the same
            status = 1
            try:
                got = srcad.grad(big)(x)
                status = 0 if np.allclose(got, want, rtol=1e-5, atol=1e-7) else 2
            finally:
                os._exit(status)
        deadline = time.monotonic() + 120
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not done:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        assert done, "the forked child hung on srcad's compile lock"
        assert os.waitstatus_to_exitcode(status) == 0, "the child's gradient is wrong"
    finally:
        gate.release.set()
        compiling.join(60)


# --------------------------------------------------------------------------- grad's output check

REVERSE_CALLS = []


def outer_rule_target(x):
    return np.outer(x, x)


@srcad.adjoint(outer_rule_target)
def _outer_rule(x):
    def back(g):
        REVERSE_CALLS.append(np.shape(g))       # the reverse sweep reached this rule
        g = np.asarray(g)
        return (g @ x + x @ g,)
    return np.outer(x, x), back


def matrix_valued(x):
    return outer_rule_target(np.sin(x))         # the rule's back is the first reverse step


def matrix_and_aux(x):
    return outer_rule_target(x), np.sum(x)


def vector_of_scalar(t):
    return np.sin(t) * np.array([1.0, 2.0])


def plain_matrix_valued(x):
    return np.moveaxis(np.outer(x, x), 0, 1)


SCALAR_MESSAGE = r"grad needs a real scalar output; `{}` returned a value of shape \({}\)"

X3 = np.array([0.3, 0.5, 0.7])


@pytest.mark.parametrize("entry", [
    lambda: srcad.grad(matrix_valued)(X3),
    lambda: srcad.value_and_grad(matrix_valued)(X3),
    lambda: srcad.grad(matrix_valued)(X3, out=np.zeros(3)),
    lambda: srcad.differentiate(matrix_valued).grad(X3),
    lambda: srcad.differentiate(matrix_valued).value_and_grad(X3, out=np.zeros(3)),
    lambda: srcad.jacobian(srcad.grad(matrix_valued))(X3),
], ids=["grad", "value_and_grad", "grad_out", "method", "method_vag_out", "jacobian_of_grad"])
def test_grad_of_a_matrix_output_fails_before_the_reverse_sweep(entry):
    REVERSE_CALLS.clear()
    with pytest.raises(ValueError, match=SCALAR_MESSAGE.format("matrix_valued", "3, 3")):
        entry()
    assert REVERSE_CALLS == []


def test_grad_with_aux_of_a_matrix_value_fails_before_the_reverse_sweep():
    REVERSE_CALLS.clear()
    with pytest.raises(ValueError, match=SCALAR_MESSAGE.format("matrix_and_aux", "3, 3")):
        srcad.grad(matrix_and_aux, has_aux=True)(X3)
    assert REVERSE_CALLS == []


@pytest.mark.parametrize("what", ["hessian", "hvp"])
def test_hessian_of_a_matrix_output_fails_before_any_sweep(what):
    REVERSE_CALLS.clear()
    with pytest.raises(ValueError, match=f"{what} needs a scalar function; `matrix_valued` "
                                         r"returned a value of shape \(3, 3\)"):
        if what == "hessian":
            srcad.hessian(matrix_valued)(X3)
        else:
            srcad.hvp(matrix_valued, (X3,), X3)
    assert REVERSE_CALLS == []


def test_derivative_of_the_grad_of_a_vector_function_is_refused():
    # the inner gradient is taken inside generated code: its seed is checked there too
    with pytest.raises(ValueError, match=SCALAR_MESSAGE.format("vector_of_scalar", "2,")):
        srcad.derivative(srcad.grad(vector_of_scalar))(0.3)


def test_generated_code_raises_no_numpy_error_for_a_matrix_output():
    # no crash of the generated reverse code first (it used to be "axes don't match array")
    with pytest.raises(ValueError) as info:
        srcad.grad(plain_matrix_valued)(X3)
    assert str(info.value).startswith("grad needs a real scalar output")
    assert info.value.__context__ is None and info.value.__cause__ is None
    frames = [f.name for f in __import__("traceback").extract_tb(info.value.__traceback__)]
    assert "grad_seed" in frames or "checked" in frames       # raised by the seed check


def test_pullback_and_jacobian_of_the_same_function_still_work(rng):
    fd_check(plain_matrix_valued, (X3,), 0, rng)
    REVERSE_CALLS.clear()
    fd_check(matrix_valued, (X3,), 0, rng)
    assert REVERSE_CALLS                                       # the rule's back ran
    J = srcad.jacobian(plain_matrix_valued, mode="reverse")(X3)
    assert J.shape == (3, 3, 3)
    _, back = srcad.pullback(plain_matrix_valued, X3)
    np.testing.assert_allclose(back(2.0)[0], back(np.full((3, 3), 2.0))[0], rtol=1e-12)


def test_scalar_gradients_through_the_checked_seed(rng):
    def f(x):
        return np.sum(np.sin(x) * x) ** 2
    fd_check(f, (X3,), 0, rng)
    H = srcad.hessian(f)(X3)
    for k in range(3):
        e = np.zeros(3)
        e[k] = 1e-6
        col = (srcad.grad(f)(X3 + e) - srcad.grad(f)(X3 - e)) / 2e-6
        np.testing.assert_allclose(H[:, k], col, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- depth

@pytest.fixture
def recursion_limit():
    """Sets a lower recursion limit for the test (so that deep cases stay fast), then puts
    the suite's back."""
    saved = sys.getrecursionlimit()
    yield sys.setrecursionlimit
    sys.setrecursionlimit(saved)


def _module_from(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(f"{name}_{id(path):x}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _chain(n):
    lines = ["import numpy as np\n\n", "def h0(x):\n    return x * 1.01\n\n"]
    lines += [f"def h{k}(x):\n    return h{k - 1}(x) * 1.01 + 0.001 * x\n\n" for k in range(1, n)]
    lines.append(f"def f(x):\n    return np.sum(np.sin(h{n - 1}(x)))\n")
    return "".join(lines)


def _sum(n):
    terms = " + ".join(f"x * {1.0 + k / n}" for k in range(n))
    return f"import numpy as np\n\ndef f(x):\n    return np.sum(np.sin({terms}))\n"


def test_a_chain_of_helpers_deeper_than_the_recursion_limit(tmp_path, recursion_limit, rng):
    m = _module_from(tmp_path, "chain", _chain(60))
    recursion_limit(200)            # the inliner needs more than this for 60 levels
    x = np.array([0.3, -0.5, 0.7])
    assert_grad_close(srcad.grad(m.f)(x), m.f, (x,), 0)
    assert sys.getrecursionlimit() == 200          # put back after the deep thread


def test_a_sum_of_many_terms_deeper_than_the_recursion_limit(tmp_path, recursion_limit, rng):
    m = _module_from(tmp_path, "many", _sum(200))
    recursion_limit(200)
    x = np.array([0.03, -0.05, 0.07])
    assert_grad_close(srcad.grad(m.f)(x), m.f, (x,), 0)
    fd_check_forward(m.f, (x,), 0, rng)


RECURSIVE = """
import numpy as np

def r(x, n):
    if n == 0:
        return x
    return r(np.sin(x) * 1.001 + 0.01, n - 1)

def f(x, n):
    return np.sum(r(x, n) ** 2)
"""


def _deepest(f, x, top):
    """The largest n <= top for which the plain function does not run out of frames."""
    n = top
    while True:
        try:
            f(x, n)
            return n
        except RecursionError:
            n -= 10


def test_the_gradient_of_a_recursion_reaches_the_primal_depth(tmp_path, recursion_limit, rng):
    m = _module_from(tmp_path, "recursive", RECURSIVE)
    recursion_limit(400)
    x = np.array([0.2, -0.4])
    n = _deepest(m.f, x, 400)
    assert n > 300
    g = srcad.grad(m.f)(x, n)
    assert_grad_close(g, m.f, (x, n), 0)
    value, t = srcad.jvp(m.f, (x, n), (np.array([1.0, -2.0]),))
    np.testing.assert_allclose(t, g @ np.array([1.0, -2.0]), rtol=1e-9)


def test_a_tree_deeper_than_srcad_supports_is_a_located_error(tmp_path, recursion_limit,
                                                             monkeypatch):
    m = _module_from(tmp_path, "toodeep", _sum(400))
    recursion_limit(350)
    monkeypatch.setattr(srcad.depth, "frames", lambda: 600)   # a small deep thread
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(m.f)(np.array([0.1, 0.2]))
    error = info.value
    assert error.filename == str(tmp_path / "toodeep.py") and error.lineno == 3
    assert "`f` is nested too deeply to differentiate: srcad's passes handle about 30 " \
           "levels" in str(error)
    assert "def f(x):" in str(error)


def test_a_runaway_recursion_raises_the_functions_own_error(tmp_path):
    m = _module_from(tmp_path, "runaway", "def g(x):\n    return g(x) * 1.0\n")
    with pytest.raises(RecursionError):
        srcad.grad(m.g)(0.3)

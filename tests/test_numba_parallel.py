"""``differentiate(..., backend="numba", parallel=True)``: the elementwise runs outside
loops are kernels compiled with ``numba.njit(parallel=True)`` (transforms/numba_loops.py).

Checked against central differences and against the NumPy backend to rounding (a sum
adds in another order; a strided input takes the calls as they were, as without the
option: tests/test_numba_loops.py); the source shows the kernel; the option is refused
where it has no meaning.
"""
import pickle
import textwrap

import gast

import numpy as np
import pytest

import srcad
from conftest import fd_check, need_numba
from srcad.transforms import numba_loops

need_numba()


def chained(x, y):
    t = np.sin(x) * y + 0.5
    u = np.tanh(t * t - y)
    return np.sum(u * t) + np.sum(np.cos(u))


PARALLEL = srcad.differentiate(chained, wrt=(0, 1), backend="numba", parallel=True)
NUMPY = srcad.differentiate(chained, wrt=(0, 1), backend="numpy")


def _close(got, want, rtol):
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * np.max(np.abs(w)))


def test_parallel_kernels_agree_with_differences_and_the_other_backends(rng):
    x, y = rng.uniform(-1, 1, (6, 7)), rng.uniform(-1, 1, (6, 7))
    fd_check(PARALLEL, (x, y), (0, 1), rng)
    _close(PARALLEL.grad(x, y), NUMPY.grad(x, y), 1e-12)
    outs = (np.empty_like(x), np.empty_like(y))
    assert PARALLEL.grad(x, y, out=outs) is outs
    _close(outs, NUMPY.grad(x, y), 1e-12)


def test_the_source_shows_the_kernels_and_the_core_stays_serial(rng):
    x, y = rng.uniform(-1, 1, 9), rng.uniform(-1, 1, 9)
    text = PARALLEL.source("grad", x, y)
    assert "@_njit_parallel\ndef " in text and "in _prange(" in text
    assert "@_njit\ndef chained_vjp_core(" in text
    assert "_prange" not in text[text.index("def chained_vjp_core("):]
    assert "_njit_parallel" not in srcad.source(chained, x, y, wrt=(0, 1), backend="numba")


def _fused(code, kernels):
    names = iter(f"n{k}" for k in range(100))
    stmts = gast.parse(textwrap.dedent(code)).body
    return numba_loops.fuse(stmts, {"np": np}, lambda base: f"{base}_{next(names)}", kernels)


def test_a_run_inside_a_loop_stays_a_loop_of_the_core():
    """A kernel called on every trip of a loop would start its threads each time."""
    run = """
        a = np.add(x, 1.0, w)
        b = np.exp(a, w)
    """
    kernels = []
    body = _fused("for k in range(3):\n" + textwrap.indent(textwrap.dedent(run), "    "),
                  kernels)
    assert kernels == []
    inner = [n for n in gast.walk(body[0]) if isinstance(n, gast.For)]
    assert len(inner) == 2 and inner[1].iter.func.id == "range"
    top = _fused(run, kernels)
    assert len(kernels) == 1 and kernels[0].body[-2].iter.func.id == "_prange"
    assert isinstance(top[0], gast.If)


def test_the_option_is_checked_and_kept():
    with pytest.raises(ValueError, match="parallel=True needs backend='numba'"):
        srcad.differentiate(chained, backend="numpy", parallel=True)
    with pytest.raises(TypeError, match="parallel must be True or False"):
        srcad.differentiate(chained, backend="numba", parallel=1)
    again = pickle.loads(pickle.dumps(PARALLEL))
    assert again.parallel and again.backend == "numba"
    assert srcad.grad(PARALLEL, wrt=(0, 1))._d is PARALLEL   # the functional forms keep it
    from srcad import api, pickling
    twin = api._differentiable(chained, (0, 1), backend="numba", parallel=True)
    assert twin.parallel and twin is api._differentiable(chained, (0, 1), backend="numba",
                                                         parallel=True)
    assert not api._differentiable(chained, (0, 1), backend="numba").parallel
    # unpickled where the module holds no such object: the same twin, not a new one
    assert pickling._by_name(__name__, "chained", (0, 1), "numba", False, True) is twin


def eam_like(x, y):
    t = np.exp(-3.0 * (x + 1.0))
    p = np.sum(t)
    return p ** 2 + 0.5 * p ** 3 + np.sum(np.sin(y) * x)


def test_large_calls_may_take_numpy_code_with_its_runs_on_threads(rng, monkeypatch):
    """Large calls of loop-free code may take the NumPy backend's code (numba_wide); with
    parallel=True its runs of ufuncs into buffers run on threads (threads.py)."""
    from srcad import numba_wide, runtime, threads
    monkeypatch.setattr(threads, "SPLIT", 2000)
    monkeypatch.setattr(threads, "CHUNK", 700)
    monkeypatch.setattr(numba_wide, "MARGIN", 1e9)      # the NumPy code wins, whatever times
    calls = []
    real = runtime.threads_run

    def spy(part, *args):
        calls.append(part.__name__)
        return real(part, *args)

    monkeypatch.setattr(runtime, "threads_run", spy)
    f = srcad.differentiate(eam_like, wrt=(0, 1), backend="numba", parallel=True)
    plain = srcad.differentiate(eam_like, wrt=(0, 1), backend="numpy")
    x, y = rng.uniform(0, 1, (60, 90)), rng.uniform(-1, 1, (60, 90))
    for _ in range(2 + 2 * numba_wide.SAMPLES):          # the calls that decide
        f.grad(x, y)
    assert f._hot["vjp"].chooser.of(x.size).choice == "numpy"
    calls.clear()
    _close(f.grad(x, y), plain.grad(x, y), 1e-12)
    assert calls                                          # the threaded runs ran
    outs = (np.empty_like(x), np.empty_like(y))
    assert f.grad(x, y, out=outs) is outs
    _close(outs, plain.grad(x, y), 1e-12)
    fd_check(f, (x, y), (0, 1), rng)
    assert "srcad/threads.py" in f.source("grad", x, y)
    text = f.source("grad", x, y, backend="numpy")
    assert "_rt.threads_fit(" in text and "_rt.threads_run(" in text
    assert "threads_fit" not in plain.source("grad", x, y)
    with pytest.raises(ValueError, match="example arguments"):
        f.source("grad", backend="numpy")

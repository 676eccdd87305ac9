"""The buffer plan seen from outside: allocations, aliasing, threads.

DESIGN.md, "Preallocated buffers": with ``out=`` a call allocates no NumPy
array after the first one; without it only the returned gradient is new; a
returned array never aliases a workspace buffer; workspaces are per thread.

Allocations are measured with tracemalloc: the NumPy domain
(``np.lib.tracemalloc_domain``) of a snapshot after the call against one
before it gives what the call left allocated; the traced peak during the call
(all domains: the Python objects of a call add about 1 KB) catches arrays
that lived only inside it. A wrong ``out=`` (shape, dtype) is covered by
tests/test_errors.py.
"""
import threading
import tracemalloc

import numpy as np
import pytest

import golden_functions as gf
import srcad
from conftest import assert_grad_close


def _numpy_bytes(snapshot):
    domain = tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)
    return sum(trace.size for trace in snapshot.filter_traces([domain]).traces)


def measure(call):
    """``(result, NumPy bytes the call left allocated, peak traced bytes during it)``."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = _numpy_bytes(tracemalloc.take_snapshot())
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = call()
        peak = tracemalloc.get_traced_memory()[1] - base
        after = _numpy_bytes(tracemalloc.take_snapshot())
    finally:
        if started:
            tracemalloc.stop()
    return result, after - before, peak


def _x(n, seed=0):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, n)


# =========================================================================== out=

def test_out_is_returned_and_filled_with_the_gradient():
    x = _x(7)
    g = np.full(7, np.nan)
    result = srcad.grad(gf.eam)(x, out=g)
    assert result is g
    assert_grad_close(g, gf.eam, (x,), 0)


def test_with_out_a_call_allocates_no_numpy_memory():
    grad = srcad.grad(gf.eam)
    x = _x(10_000)
    g = np.empty_like(x)
    grad(x, out=g)                                # warm-up: compiles, fills the workspace
    expected = grad(x)
    result, kept, peak = measure(lambda: grad(x, out=g))
    assert result is g
    np.testing.assert_array_equal(g, expected)
    assert kept == 0, f"a call with out= left {kept} bytes of NumPy memory allocated"
    assert peak < x.nbytes // 20, f"a call with out= peaked at {peak} bytes (x: {x.nbytes})"
    # The same measurement sees a new array: without out=, the returned gradient.
    fresh, kept, peak = measure(lambda: grad(x))
    assert kept == fresh.nbytes == x.nbytes
    assert peak >= x.nbytes


def sum_of_squares(x):
    return np.sum(x * x)


def softplus_sum(x):
    return np.sum(np.log(1.0 + np.exp(x)))


def exp_times_sin(x):
    u = np.exp(x)
    v = np.sin(x)
    return np.sum(u * v)


@pytest.mark.parametrize("fn", [
    softplus_sum,
    sum_of_squares,      # nested operands in adjoint statements get buffers of their own
    exp_times_sin,
])
def test_with_out_elementwise_gradients_allocate_nothing(fn):
    grad = srcad.grad(fn)
    x = _x(10_000)
    g = np.empty_like(x)
    grad(x, out=g)                                # warm-up
    _, kept, peak = measure(lambda: grad(x, out=g))
    assert kept == 0
    assert peak < x.nbytes // 20, f"a call with out= peaked at {peak} bytes (x: {x.nbytes})"
    assert_grad_close(grad(x[:5], out=np.empty(5)), fn, (x[:5],), 0)


def test_without_out_a_call_allocates_about_one_gradient():
    grad = srcad.grad(gf.eam)
    x = _x(200_000)
    grad(x)                                       # warm-up: compiles, fills the workspace
    g, kept, peak = measure(lambda: grad(x))
    assert kept == g.nbytes == x.nbytes           # only the returned gradient stays
    assert x.nbytes <= peak <= 1.1 * x.nbytes, f"peak {peak} bytes for a {x.nbytes}-byte gradient"


# =========================================================================== aliasing

@pytest.mark.parametrize("same_input", [True, False], ids=["same-x", "other-x"])
def test_results_never_alias_each_other_the_workspace_or_the_input(same_input):
    grad = srcad.grad(gf.eam)
    x1 = _x(1000, seed=1)
    x2 = x1 if same_input else _x(1000, seed=2)
    g1 = grad(x1)
    kept = g1.copy()
    g2 = grad(x2)
    np.testing.assert_array_equal(g1, kept, err_msg="the second call overwrote the first result")
    assert not np.shares_memory(g1, g2)
    assert not np.shares_memory(g1, x1) and not np.shares_memory(g2, x2)
    assert not np.shares_memory(g1, x2) and not np.shares_memory(g2, x1)
    want2 = g2.copy()
    g1[:] = np.nan                                # mutating one result changes nothing else
    np.testing.assert_array_equal(g2, want2)
    np.testing.assert_array_equal(grad(x2), want2)
    assert np.all(np.isfinite(x1)) and np.all(np.isfinite(x2))


# =========================================================================== threads

def test_two_threads_share_a_gradient_but_not_its_workspace():
    grad = srcad.grad(gf.eam)
    inputs = [_x(10_000, seed=3), _x(10_000, seed=4) + 0.25]
    expected = [grad(x) for x in inputs]          # single-threaded, before
    assert not np.allclose(expected[0], expected[1])
    errors = []
    start = threading.Barrier(len(inputs))

    def work(k):
        x, want, g = inputs[k], expected[k], np.empty_like(inputs[k])
        start.wait()
        for i in range(200):
            got = grad(x, out=g) if i % 2 else grad(x)
            if not np.array_equal(got, want):
                errors.append((k, i))
                return

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"wrong gradients (thread, iteration): {errors}"

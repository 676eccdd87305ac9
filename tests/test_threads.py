"""Runs of ufuncs on threads (srcad/threads.py, transforms/thread_runs.py): when a run
may be cut into slices, and that the slices on several threads give the run's values.

The derivatives of functions whose NumPy code takes these runs are checked against
central differences in tests/test_numba_parallel.py (``parallel=True``)."""
import textwrap

import gast
import numpy as np
import pytest

from srcad import threads
from srcad.transforms import thread_runs
from srcad.transforms.parse import Env


@pytest.fixture
def small(monkeypatch):
    """Runs of a few thousand entries are cut, in slices of a few hundred."""
    monkeypatch.setattr(threads, "SPLIT", 1000)
    monkeypatch.setattr(threads, "CHUNK", 333)


def test_fit_takes_same_shaped_contiguous_arrays_and_numbers(small):
    a, b, out = np.ones(2000), np.ones(2000), np.empty(2000)
    assert threads.threads_fit((out,), (a, b, 2.0, np.float32(1), np.array(3.0)))
    assert threads.threads_fit((out, out), (out,))               # the very same buffer
    assert threads.threads_fit((out,), (out[:],))                # a view of all of it
    assert not threads.threads_fit((np.empty(999),), (np.ones(999),))      # small
    assert not threads.threads_fit((None,), (a,))                 # no buffer (out=None)
    assert not threads.threads_fit((out,), (np.ones(1000),))      # another shape
    assert not threads.threads_fit((out,), (np.ones((2000, 1)),))   # broadcasts
    assert not threads.threads_fit((out,), (np.ones(4000)[::2],))   # strided
    assert not threads.threads_fit((out,), (None,))
    assert not threads.threads_fit((out,), ([1.0] * 2000,))
    frozen = np.empty(2000)
    frozen.flags.writeable = False
    assert not threads.threads_fit((frozen,), (a,))


def test_fit_refuses_a_buffer_that_overlaps_another_array_elsewhere(small):
    base = np.zeros(4001)
    x, out = base[:2000], base[1:2001]             # entry i of out is entry i + 1 of x
    assert not threads.threads_fit((out,), (x,))
    assert not threads.threads_fit((out, base[2001:4001]), (base[2000:4000],))
    assert threads.threads_fit((base[:2000],), (base[2000:4000],))   # apart
    assert not threads.threads_fit((out,), (base[1:2001].view(np.int64),))   # same bytes,
    # another dtype


def _part(x, y, out):
    np.multiply(x, 2.0, out=out)
    np.add(out, y, out=out)
    return out.sum()


@pytest.mark.parametrize("n", [1000, 2500, 7001])
def test_run_gives_the_values_of_the_whole_run(small, rng, n):
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    out = np.full(n, np.nan)
    total = threads.threads_run(_part, x, y, out)
    np.testing.assert_array_equal(out, 2.0 * x + y)       # every entry written, once
    assert total == pytest.approx(float(np.sum(2.0 * x + y)), rel=1e-12, abs=1e-12)
    again = np.empty(n)
    assert threads.threads_run(_part, x, y, again) == total    # the same order every call


def test_run_passes_numbers_whole_and_returns_none_without_a_sum(small, rng):
    x, out = rng.standard_normal((50, 60)), np.empty((50, 60))
    seen = []

    def part(x, s, out):
        seen.append((x.ndim, x.size, s))
        np.multiply(x, s, out=out)

    assert threads.threads_run(part, x, 1.5, out) is None
    np.testing.assert_array_equal(out, 1.5 * x)
    assert all(d == 1 and k <= threads.CHUNK and s == 1.5 for d, k, s in seen)
    assert sum(k for _, k, _ in seen) == x.size


def _square(a, o):
    np.multiply(a, a, out=o)


def test_errstate_holds_in_every_thread(small):
    x = np.ones(6000)
    x[-1] = 1e300                                   # overflows in the last slice only
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            threads.threads_run(_square, x, np.empty(6000))
    with np.errstate(over="ignore"):
        out = np.empty(6000)
        threads.threads_run(_square, x, out)
    assert np.isinf(out[-1]) and out[0] == 1.0


def test_an_error_in_a_share_is_raised_after_every_share_stopped(small):
    x, out = np.arange(6000.0), np.zeros(6000)

    def part(a, o):
        np.add(a, 1.0, out=o)
        if a[0] >= 3000:
            raise RuntimeError("a later slice")

    with pytest.raises(RuntimeError, match="a later slice"):
        threads.threads_run(part, x, out)
    assert out[0] == 1.0


def _split(code, namespace):
    fn = gast.parse(textwrap.dedent(code)).body[0]
    env = Env(namespace=dict(namespace))
    return thread_runs.split(fn, env), env


def _text(tree):
    import astunparse
    return astunparse.unparse(gast.gast_to_ast(tree))


def test_the_transform_guards_a_run_and_leaves_loops_alone():
    tree, env = _split('''
        def f(x, work, out, s, n):
            a = np.add(x, 1.0, out=work)
            b = np.exp(a, out=work)
            t = float(b.sum())
            c = np.multiply(s, b, out=out)
            for i in range(n):
                d = np.exp(x, out=work)
            e = x * 2.0
            return t, c, e
        ''', {"np": np})
    text = _text(tree)
    assert "_rt.threads_fit((work,), (x,))" in text
    assert "def a_part(x, work):" in text and "return b.sum()" in text
    assert "t_part = _rt.threads_run(a_part, x, work)" in text and "t = float(t_part)" in text
    assert "a = work" in text and "b = work" in text
    # the second run reads b, which the first bound: the buffer it is, a guard of its own
    assert "_rt.threads_fit((out,), (s, b))" in text
    assert text.count("threads_fit") == 2                 # not the loop's run
    assert "_rt" in env.namespace


def test_the_threaded_run_computes_what_the_run_computes(small, rng):
    from srcad import runtime
    tree, env = _split('''
        def f(x, y, work, out, s):
            a = np.add(x, y, out=work)
            b = np.tanh(a, out=work)
            c = np.multiply(b, s, out=out)
            t = c.sum()
            return t
        ''', {"np": np, "_rt": runtime})
    scope = dict(env.namespace)
    exec(compile(_text(tree), "<t>", "exec"), scope)
    x, y = rng.standard_normal(5000), rng.standard_normal(5000)
    work, out = np.empty(5000), np.empty(5000)
    t = scope["f"](x, y, work, out, 0.5)
    np.testing.assert_allclose(out, 0.5 * np.tanh(x + y), rtol=1e-15)
    assert t == pytest.approx(np.sum(0.5 * np.tanh(x + y)), rel=1e-12)
    # an out= that overlaps an input elsewhere: the run as it was (NumPy's own overlap rules)
    base = np.concatenate([x, [0.0]])
    shifted = base[1:]
    want = 0.5 * np.tanh(base[:5000] + y)
    scope["f"](base[:5000], y, work, shifted, 0.5)
    np.testing.assert_allclose(shifted, want, rtol=1e-15)

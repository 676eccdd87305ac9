"""``grad(out=)``: the caller's buffer doubles as the work buffer of the intermediates
whose last reader writes the gradient into it (transforms/buffers.py), as a hand-written
gradient into buffers does; never where anything else could see the buffer early.

Each gradient is checked against central differences along random directions, into
``out`` and without it.
"""
import numpy as np
import pytest

import srcad

SHARED = "if x_out is not None else _ws.take"
G0 = np.linspace(0.5, 1.5, 7)


def density(x):
    return np.sum(np.exp(-3.0 * (x + 1.0))) ** 2


def two(x, y):
    return np.sum(np.tanh(x * 0.5 + 1.0)) * np.sum(np.sin(y) ** 2)


def reused(x):
    t = np.exp(x * 0.3)
    return np.sum(t) + np.sum(t * t)


def with_global(x):
    return np.sum(np.exp(x * 0.7 + 0.1) * G0)


def _slope(fn, args, dirs, eps=1e-6):
    plus = [a + eps * d for a, d in zip(args, dirs, strict=True)]
    minus = [a - eps * d for a, d in zip(args, dirs, strict=True)]
    return (fn(*plus) - fn(*minus)) / (2 * eps)


def _check(fn, args, grads, rng):
    dirs = [rng.standard_normal(a.shape) for a in args]
    got = sum(np.sum(g * d) for g, d in zip(grads, dirs, strict=True))
    assert got == pytest.approx(_slope(fn, args, dirs), rel=1e-6, abs=1e-9)


@pytest.mark.numpy_backend
def test_the_out_buffer_is_the_work_buffer(rng):
    f = srcad.differentiate(density)
    x = rng.uniform(0.0, 1.0, 7)
    assert SHARED in f.source("grad", x)
    buf = np.full(7, np.nan)
    for _ in range(2):                      # a second call reuses the filled buffer
        g = f.grad(x, out=buf)
        assert g is buf
        _check(density, (x,), (g,), rng)
    np.testing.assert_allclose(f.grad(x), buf, rtol=1e-14)
    v, g2 = f.value_and_grad(x, out=np.empty(7))
    assert v == pytest.approx(density(x), rel=1e-14)
    np.testing.assert_allclose(g2, buf, rtol=1e-14)


@pytest.mark.numpy_backend
def test_two_arguments_each_into_its_own_buffer(rng):
    f = srcad.differentiate(two, wrt=(0, 1))
    x, y = rng.uniform(-1.0, 1.0, 5), rng.uniform(-1.0, 1.0, 5)
    bx, by = np.empty(5), np.empty(5)
    gx, gy = f.grad(x, y, out=(bx, by))
    assert gx is bx and gy is by
    _check(two, (x, y), (gx, gy), rng)
    with pytest.raises(ValueError, match="shares memory with an argument"):
        f.grad(x, y, out=(bx, x))


@pytest.mark.numpy_backend
@pytest.mark.parametrize("fn", ["reused", "both", "cross", "twice", "mixed"])
def test_buffers_shared_with_out_hold_what_later_statements_read(fn, rng):
    """Intermediates in the buffer that becomes ``out`` are read by other gradients' and
    by the cotangents' statements before ``out`` is written: each gradient still agrees
    with central differences, ``out`` starting as NaNs."""
    fn = globals()[fn]
    wrt = tuple(range(fn.__code__.co_argcount))
    f = srcad.differentiate(fn, wrt=wrt if len(wrt) > 1 else 0)
    args = tuple(rng.uniform(0.1, 1.0, 6) for _ in wrt)
    assert SHARED in f.source("grad", *args)
    outs = tuple(np.full(6, np.nan) for _ in wrt)
    grads = f.grad(*args, out=outs if len(wrt) > 1 else outs[0])
    grads = grads if len(wrt) > 1 else (grads,)
    assert all(g is o for g, o in zip(grads, outs, strict=True))
    _check(fn, args, grads, rng)


@pytest.mark.numpy_backend
def test_not_shared_where_the_code_reads_a_module_array(rng):
    """A module's array may be the caller's ``out``: nothing is written early there."""
    f = srcad.differentiate(with_global)
    x = rng.uniform(0.0, 1.0, 7)
    assert SHARED not in f.source("grad", x)
    buf = np.empty(7)
    assert f.grad(x, out=buf) is buf
    _check(with_global, (x,), (buf,), rng)


def test_the_module_array_as_out_is_read_before_it_is_written(rng):
    f = srcad.differentiate(with_global)
    x = rng.uniform(0.0, 1.0, 7)
    want = f.grad(x)
    saved = G0.copy()
    try:
        got = f.grad(x, out=G0)
        np.testing.assert_allclose(got, want, rtol=1e-14)
    finally:
        G0[:] = saved


def both(x, y):
    return np.sum(np.exp(x * 0.3) * np.cos(y))


def cross(x, y):
    return np.sum(np.cos(y) * np.exp(x * 0.3))


def twice(x, y):
    t = np.exp(x * 0.3)
    return np.sum(t * y) + np.sum(t)


def mixed(x, y):
    t = np.exp(x * 0.3)
    return np.sum(t * np.sin(y) + t * t)


def test_a_hot_call_still_checks_every_out(rng):
    """Once a specialisation is hot, ``grad(x, out=)`` checks the argument and the buffer
    in one go (srcad/dispatch.py ``fits_into``); whatever that check does not pass takes
    the long way, with its errors naming the argument, and a view is written as it is."""
    f = srcad.differentiate(density)
    x = rng.uniform(0.0, 1.0, 7)
    own = np.empty(7)
    for _ in range(3):
        assert f.grad(x, out=own) is own
    _check(density, (x,), (own,), rng)
    read_only = np.empty(7)
    read_only.flags.writeable = False
    bad = [(x, "shares memory"), (x[:], "shares memory"), (np.empty(7, np.float32), "dtype"),
           (np.empty(8), "shape"), (own[None], "shape"), (read_only, "read-only"),
           ([0.0] * 7, "must be an ndarray")]
    for out, message in bad:
        with pytest.raises((ValueError, TypeError), match=message):
            f.grad(x, out=out)
    for out in (np.full(14, np.nan)[::2], np.full(7, np.nan), own):
        assert f.grad(x, out=out) is out
        _check(density, (x,), (out,), rng)
    y = x.copy()                            # the same signature, another argument
    g = f.grad(y[::-1], out=np.empty(7))
    _check(density, (y[::-1],), (g,), rng)

"""Second derivatives under the numba backend: ``hessian`` and ``hvp`` compiled.

numba compiles the forward pass over the gradient's code (transforms/numba_nested.py
puts the inner gradient's loop records back in the form the lowering takes; the twins
of the forward runtime are in srcad/numba_tangents.py); a Hessian is one such pass per
column. Each case is a function written here the way a user writes one (loops over
entries, nested loops, a ``while`` with a data-dependent exit, matrix products, arrays
carried through a loop) and is checked against central differences of srcad's
gradient, column by column and along a random direction, and against the NumPy
backend's Hessian to rounding; the compiled code must be numba's. What numba does not
compile is refused at the user's ``def`` line, or runs as NumPy code under "auto".
"""
import warnings

import numba
import numpy as np
import pytest

import srcad
from srcad import derivatives, numba_runtime
from srcad.errors import TransformError
from conftest import need_numba

need_numba()


def rosen_loop(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        s = s + 100.0 * a * a + b * b
    return s


def pair_energy(x):
    e = 0.0
    n = x.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            d = x[i] - x[j]
            e = e + 1.0 / (1.0 + d * d)
    return e


def damped(x):
    s = 0.0
    k = 0
    v = x[0]
    while k < 30 and abs(v) > 1e-3:
        v = 0.7 * v + 0.1 * np.sin(x[1] * v)
        s = s + v * v
        k = k + 1
    return s


def logistic(w, X, y):
    z = X @ w
    return np.sum(np.log1p(np.exp(-y * z))) + 0.5 * np.sum(w * w)


def recurrent(x, W):
    h = x
    for _ in range(3):
        h = np.tanh(W @ h)
    return np.sum(h * h)


def spring(k, c):
    x, v = 1.0, 0.0
    for _ in range(40):
        a = -k * x - c * v
        x = x + 0.01 * v
        v = v + 0.01 * a
    return x * x + v * v


def running_sum(x):
    c = np.cumsum(x * x)
    return np.sum(np.sin(c))


def _args(name, rng):
    X = rng.standard_normal((7, 4))
    return {"rosen_loop": (rng.uniform(-1, 1, 6),),
            "pair_energy": (rng.standard_normal(5),),
            "damped": (np.array([0.9, 0.5]) + rng.uniform(-0.05, 0.05, 2),),
            "logistic": (rng.standard_normal(4), X, np.sign(rng.standard_normal(7))),
            "recurrent": (rng.standard_normal(4), 0.5 * rng.standard_normal((4, 4)))}[name]


def _grad_numpy(fn, args):
    return srcad.differentiate(fn, wrt=0, backend="numpy").grad(*args)


def _fd_along(fn, args, v, eps=1e-6):
    up = (args[0] + eps * v,) + args[1:]
    down = (args[0] - eps * v,) + args[1:]
    return (_grad_numpy(fn, up) - _grad_numpy(fn, down)) / (2 * eps)


def _compiled(f, args):
    return derivatives._gradient_of(f)._specialise("jvp", args).__srcad_backend__


@pytest.mark.parametrize("fn", [rosen_loop, pair_energy, damped, logistic, recurrent],
                         ids=lambda fn: fn.__name__)
def test_hessian_and_hvp_compile_and_agree(fn, rng):
    args = _args(fn.__name__, rng)
    f = srcad.differentiate(fn, wrt=0, backend="numba")
    H = f.hessian(*args)
    assert _compiled(f, args) == "numba"
    n = args[0].size
    want = np.stack([_fd_along(fn, args, np.eye(n)[j]) for j in range(n)], axis=1)
    scale = np.abs(want).max()
    np.testing.assert_allclose(H, want, rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-12 * scale)
    numpy_H = srcad.differentiate(fn, wrt=0, backend="numpy").hessian(*args)
    np.testing.assert_allclose(H, numpy_H, rtol=1e-11, atol=1e-13 * scale)
    v = rng.standard_normal(args[0].shape)
    hv = f.hvp(args, v)
    np.testing.assert_allclose(hv, _fd_along(fn, args, v), rtol=1e-5, atol=1e-6 * scale)
    assert hv is not f.hvp(args, v) and not np.shares_memory(hv, v)


def test_hvp_of_two_parameters_and_float32(rng):
    f = srcad.differentiate(spring, wrt=("k", "c"), backend="numba")
    k, c = 2.0 + 0.1 * rng.standard_normal(), 0.1
    vk, vc = rng.standard_normal(2)
    hk, hc = f.hvp((k, c), (vk, vc))
    assert _compiled(f, (k, c)) == "numba"
    eps = 1e-6
    g = srcad.differentiate(spring, wrt=("k", "c"), backend="numpy")
    up, down = g.grad(k + eps * vk, c + eps * vc), g.grad(k - eps * vk, c - eps * vc)
    np.testing.assert_allclose([hk, hc], (np.array(up) - np.array(down)) / (2 * eps),
                               rtol=1e-5)
    x = rng.uniform(-1, 1, 5).astype(np.float32)
    H32 = srcad.differentiate(rosen_loop, backend="numba").hessian(x)
    assert H32.dtype == np.float32
    H64 = srcad.differentiate(rosen_loop, backend="numpy").hessian(x.astype(np.float64))
    np.testing.assert_allclose(H32, H64, rtol=1e-4, atol=1e-3)


def test_what_numba_does_not_compile_is_refused_at_the_def_line(rng):
    x = rng.standard_normal(4)
    with pytest.raises(TransformError) as info:
        srcad.differentiate(running_sum, backend="numba").hessian(x)
    assert info.value.lineno == running_sum.__code__.co_firstlineno
    assert "running_sum" in str(info.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        H = srcad.differentiate(running_sum, backend="auto").hessian(x)
    assert any("running_sum" in str(w.message) for w in caught)
    want = np.stack([_fd_along(running_sum, (x,), np.eye(4)[j]) for j in range(4)], axis=1)
    np.testing.assert_allclose(H, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


@numba.njit
def _guard(x, a, b):
    numba_runtime.not_shared(x, "x", "f.py", 1, 1.0, (a, 2), b)


def test_the_in_place_guard_finds_shared_memory_as_numpy_does(rng):
    """The compiled guard of an in-place update raises exactly where NumPy's bounds test
    (np.may_share_memory) says the memory may overlap (views of one buffer, strided and
    reversed ones, and separate arrays)."""
    base = rng.standard_normal(40)
    other = rng.standard_normal(10)
    views = [base[:10], base[10:20], base[5:15], base[::3], base[::-2], base[30:],
             base[39:40], base[:0], base.reshape(8, 5)[:, 1], other]
    for x in views:
        for a in views:
            shared = np.may_share_memory(x, a) or np.may_share_memory(x, other)
            if shared:
                with pytest.raises(ValueError):
                    _guard(x, a, other)
            else:
                _guard(x, a, other)


def huber_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        a = x[i]
        if abs(a) < 1.0:
            s = s + 0.5 * a * a
        else:
            s = s + abs(a) - 0.5
    return s


def horner(c, x):
    s = 0.0
    for k in range(c.shape[0]):
        s = s * x + c[k]
    return s * s


def series(x):
    total = 0.0
    term = 1.0
    k = 1
    while k < 25:
        term = term * (-x[0] * x[0] / (4.0 * k * k))
        total = total + term * x[1]
        k = k + 1
    return total


@pytest.mark.parametrize("fn, make", [
    (huber_loop, lambda rng: (np.array([0.3, -1.7, 0.8, 2.1]) + 0.01 * rng.standard_normal(4),)),
    (horner, lambda rng: (rng.standard_normal(5), 0.7)),
    (series, lambda rng: (np.array([1.3, 0.8]) + 0.01 * rng.standard_normal(2),))],
    ids=["branch-in-loop", "replayed-index", "while-counter"])
def test_loops_with_branches_replays_and_counters(fn, make, rng):
    """A branch whose values a loop record keeps only on one path (None on the other), a
    reverse loop that replays its index instead of keeping it, a ``while`` loop with a
    counter: compiled, and equal to central differences and to the NumPy backend."""
    args = make(rng)
    f = srcad.differentiate(fn, wrt=0, backend="numba")
    v = rng.standard_normal(args[0].shape)
    hv = f.hvp(args, v)
    assert _compiled(f, args) == "numba"
    want = _fd_along(fn, args, v)
    scale = max(np.abs(want).max(), 1e-3)
    np.testing.assert_allclose(hv, want, rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(f.hessian(*args),
                               srcad.differentiate(fn, wrt=0, backend="numpy").hessian(*args),
                               rtol=1e-11, atol=1e-13 * scale)


@numba.njit
def _add(a, b):
    return numba_runtime.add_cot(a, b)


def test_cotangent_sums_give_the_runtimes_values(rng):
    """``add_cot``'s twin against the NumPy runtime's on numbers and arrays, zeros on
    either side included; an array it returns for a zero number is a copy of its own."""
    from srcad import runtime
    x, y = rng.standard_normal(4), rng.standard_normal((3, 4))
    for a, b in [(0.0, x), (1.5, x), (x, 0.0), (x, 2.5), (x, y), (0.0, 0.0), (0.5, -1.0)]:
        got, want = _add(a, b), runtime.add_cot(a, b)
        np.testing.assert_array_equal(got, want)
        if isinstance(got, np.ndarray) and isinstance(b, np.ndarray) and np.isscalar(a):
            assert not np.shares_memory(got, b)


@numba.njit
def _zero(x):
    return numba_runtime.zero_tangent(x)


@numba.njit
def _set(t, x, v):
    return numba_runtime.tangent_setitem(t, x, slice(1, 3), v, False)


def test_zero_tangents_and_item_writes_give_the_runtimes_values(rng):
    """``zero_tangent`` keeps the array's own float dtype (ints get float64) and
    ``tangent_setitem`` writes into a copy, from a number or an array tangent, as the
    NumPy runtime does."""
    from srcad import runtime
    for x in (rng.standard_normal(5).astype(np.float32), rng.standard_normal(5),
              np.arange(5), rng.standard_normal(5) + 1j):
        got, want = _zero(x), runtime.zero_tangent(x)
        assert got.dtype == want.dtype and got.shape == want.shape and not got.any()
    x, v = rng.standard_normal(5), rng.standard_normal(2)
    for t in (0.5, rng.standard_normal(5)):
        before = np.copy(t)
        got, want = _set(t, x, v), runtime.tangent_setitem(np.copy(t), x, slice(1, 3), v, False)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(t, before)        # the tangent given is not written

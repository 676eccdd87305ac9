"""The numba backend on loops whose records hold arrays: a recurrent network over a
sequence, an explicit integrator with a vector state, a ``while`` loop iterating a
vector to a tolerance, nested loops, records mixing numbers and arrays, a Kalman
filter, Runge-Kutta steps, an unrolled inner optimisation.

The NumPy backend keeps what a loop's adjoint reads in a list of tuples; the numba
core keeps each number in a typed stack and each array in a list of its own
(``append`` forward, ``pop`` backward: transforms/numba_form.py), and a loop-carried
cotangent that starts as the number 0.0 starts as zeros of its primal's shape
(``_rt.zero_like``: numba gives a name one type around a loop); so does a tangent in
forward mode.

Each gradient is checked against central differences with the backend required
(``backend="numba"``: a function numba cannot compile raises instead of falling back),
against the NumPy backend to rounding, on a strided and a float32 input, and with a
loop that runs no trip.
"""
import numpy as np
import pytest

import srcad
from conftest import need_numba, numba_agrees

need_numba()


def rnn(W, U, h0, xs):
    h = h0
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        loss = loss + np.sum(h * h)
    return loss


def oscillators(x0, v0, k, c):
    """Damped springs, one per entry, stepped by explicit Euler."""
    x, v = x0, v0
    dt = 0.05
    for _ in range(40):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return np.sum(x * x) + 0.5 * np.sum(v * v)


def relax(A, b):
    """Jacobi-like sweeps until the update is small (a data-dependent exit)."""
    y = b
    i = 0
    step = 1.0
    while step > 1e-6 and i < 60:
        y_new = 0.5 * (b + A @ np.tanh(y))
        step = np.max(np.abs(y_new - y))
        y = y_new
        i += 1
    return np.sum(y ** 2)


def epochs(W, xs):
    """Nested loops: the inner record's arrays, for every outer trip, on one list."""
    h = np.zeros(W.shape[0])
    total = 0.0
    for e in range(2):
        for i in range(xs.shape[0]):
            h = np.sin(W @ h + xs[i]) * 0.9
        total = total + np.sum(h) * (e + 1.0)
    return total


def mixed(x, s):
    """A number and an array carried together (one typed stack, one list)."""
    acc = s
    y = x
    for i in range(5):
        acc = acc * 0.9 + np.sum(y * y)
        y = np.cos(y * acc * 0.1)
    return acc + np.sum(y)


def kalman(q, r, ys):
    """A Kalman filter's negative log-likelihood: a matrix and a vector carried."""
    A = np.array([[1.0, 0.1], [0.0, 1.0]])
    H = np.array([1.0, 0.0])
    x = np.zeros(2)
    P = np.eye(2)
    nll = 0.0
    for t in range(ys.shape[0]):
        x = A @ x
        P = A @ P @ A.T + q * np.eye(2)
        s = H @ P @ H + r
        k = P @ H / s
        e = ys[t] - H @ x
        x = x + k * e
        P = P - np.outer(k, H @ P)
        nll = nll + 0.5 * (np.log(s) + e * e / s)
    return nll


def rk4(W, y0):
    """Classic Runge-Kutta steps of a small neural ODE."""
    y = y0
    h = 0.1
    for _ in range(10):
        k1 = np.tanh(W @ y)
        k2 = np.tanh(W @ (y + 0.5 * h * k1))
        k3 = np.tanh(W @ (y + 0.5 * h * k2))
        k4 = np.tanh(W @ (y + h * k3))
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return np.sum(y ** 2)


def unrolled(w0, X, y):
    """A loss after five inner gradient steps (a meta-gradient)."""
    w = w0
    for _ in range(5):
        r = X @ w - y
        w = w - 0.1 * (X.T @ r) / y.size
    r = X @ w - y
    return np.sum(r * r)


def _cases(rng):
    n = 4
    W = rng.uniform(-0.4, 0.4, (n, n))
    return {
        "rnn": (rnn, (W, rng.uniform(-0.4, 0.4, (n, 3)), rng.uniform(-1, 1, n),
                      rng.uniform(-1, 1, (6, 3))), (0, 1, 2)),
        "oscillators": (oscillators, (rng.uniform(-1, 1, 5), rng.uniform(-1, 1, 5), 1.3, 0.2),
                        (0, 1, 2, 3)),
        "relax": (relax, (W * 0.5, rng.uniform(-1, 1, n)), (0, 1)),
        "epochs": (epochs, (W, rng.uniform(-1, 1, (3, n))), (0, 1)),
        "mixed": (mixed, (rng.uniform(-1, 1, 3), 0.7), (0, 1)),
        "kalman": (kalman, (0.1, 0.5, rng.standard_normal(8)), (0, 1)),
        "rk4": (rk4, (rng.uniform(-0.5, 0.5, (3, 3)), rng.uniform(-1, 1, 3)), (0, 1)),
        "unrolled": (unrolled, (rng.uniform(-1, 1, 3), rng.uniform(-1, 1, (6, 3)),
                                rng.uniform(-1, 1, 6)), (0, 1, 2)),
    }


NAMES = ["rnn", "oscillators", "relax", "epochs", "mixed", "kalman", "rk4", "unrolled"]


def _agree(got, want, rtol):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("name", NAMES)
def test_array_records_compile_and_agree(numba_default, name, rng):
    fn, args, wrt = _cases(rng)[name]
    f = numba_agrees(fn, args, wrt, rng, 1e-11, 1e-13)
    text = f.source("grad", *args, backend="numba")
    assert ".append(" in text and ".pop()" in text      # arrays on lists, not on a stack


@pytest.mark.parametrize("name", ["rnn", "oscillators", "epochs"])
@pytest.mark.filterwarnings("ignore:srcad:RuntimeWarning")
def test_strided_and_float32_arrays(name, rng):
    """A strided view is another numba type of the same code. float32 arrays: the
    recurrent network compiles (its float64 cotangents meet float32 weights in the
    matrix products' twins); the integrator and the nested loops do not (``x + dt * v``
    is float64 in numba, float32 in NumPy: their own primal loops change type), so
    "auto" runs them as NumPy code. Either way the gradients are float32."""
    fn, args, wrt = _cases(rng)[name]
    f = srcad.differentiate(fn, wrt=wrt, backend="numba")
    strided = tuple(np.repeat(a, 2, axis=-1)[..., ::2] if isinstance(a, np.ndarray) else a
                    for a in args)
    assert any(isinstance(a, np.ndarray) and not a.flags.c_contiguous for a in strided)
    _agree(f.grad(*strided), srcad.grad(fn, wrt=wrt, backend="numpy")(*args), 1e-11)
    single = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args)
    auto = srcad.differentiate(fn, wrt=wrt, backend="auto")
    got = auto.grad(*single)
    compiled = auto._specialise("vjp", single).__srcad_backend__
    assert compiled == ("numba" if name == "rnn" else "numpy")
    want = srcad.grad(fn, wrt=wrt, backend="numpy")(*single)
    for g, w, a in zip(got, want, [single[p] for p in wrt], strict=True):
        if isinstance(a, np.ndarray):
            assert g.dtype == np.float32 == w.dtype
    _agree(got, want, 2e-4)


def test_a_loop_without_trips(rng):
    fn, args, wrt = _cases(rng)["rnn"]
    args = args[:3] + (args[3][:0],)
    got = srcad.grad(fn, wrt=wrt, backend="numba")(*args)
    want = srcad.grad(fn, wrt=wrt, backend="numpy")(*args)
    _agree(got, want, 1e-14)
    for g, p in zip(got, wrt, strict=True):
        assert g.shape == args[p].shape and not np.shares_memory(g, args[p])


def test_the_returned_gradients_are_apart(rng):
    """The zero a cotangent starts from is returned only as a new array of its own."""
    fn, args, wrt = _cases(rng)["rnn"]
    args = args[:3] + (args[3][:0],)
    f = srcad.differentiate(fn, wrt=wrt, backend="numba")
    a, b = f.grad(*args), f.grad(*args)
    for g, h in zip(a, b, strict=True):
        assert not np.shares_memory(g, h)
    gW, gU, gh = a
    assert not np.shares_memory(gW, gh) and not np.shares_memory(gU, gh)

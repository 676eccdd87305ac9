"""The numba backend on sums, means, maxima and minima along axes (with and without
``keepdims``), row statistics read back as columns (``mu[:, None]``), a bias that broadcasts
along the batch axis and matrix products: the compiled twins of ``np.sum(..., axis=,
out=)``, ``np.mean``/``np.max``/``np.min`` along axes, a reduction's cotangent expanded
back along its axes and ``np.matmul(..., out=)`` (srcad/numba_axes.py).

Each gradient is checked against central differences with the backend required
(``backend="numba"``: a function numba cannot compile raises instead of falling back),
against the NumPy backend to rounding, and into ``out=`` buffers.
"""
import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward, need_numba
from test_index_shapes import layer_norm  # row statistics read back as columns

need_numba()


def columns(x):
    return np.sum(np.sum(x, axis=0) ** 2)


def last_axis(x):
    return np.sum(np.sin(np.sum(x, axis=-1)))


def two_axes(x):
    return np.sum(np.sum(x * x, axis=(0, 2)) ** 3)


def normalised(x):
    return np.sum(x / np.sum(x, axis=1, keepdims=True) * x)


def means_and_extremes(x):
    return np.sum(np.mean(x, axis=0) * np.max(x, axis=0)) + np.sum(np.min(x, axis=(1,)) ** 2)


def counts(x):
    """Sums of a bool mask along axes (counts: int64 in NumPy, never bools or floats)."""
    m = x > 1.0
    return np.sum(x * np.sum(m, axis=0)) + np.sum(x * np.sum(m, axis=1, keepdims=True))


def softmax_xent(z, y):
    """A softmax cross-entropy, shifted by the row maxima kept as a column."""
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(z - m)
    return -np.sum(y * np.log(e / np.sum(e, axis=1, keepdims=True)))


def pooled(x):
    return np.sum(np.mean(x, axis=0, keepdims=True) ** 2 * x) \
        + np.sum(np.min(x, axis=(0, 1), keepdims=True) * x)


def spreads(x):
    """Variances, deviations and products along axes and whole, ``ddof`` and ``keepdims``
    among them (an entry of ``x`` is 0: the product's cotangent there is no quotient)."""
    return np.sum(np.var(x, axis=0) * np.std(x, axis=1, keepdims=True)) \
        + np.sum(np.prod(x, axis=1) ** 2) + np.var(x, ddof=1) + np.std(x, axis=(0, 1)) \
        + np.prod(x) + np.sum(np.std(x, axis=-1, ddof=1) * np.prod(x, axis=0, keepdims=True).T)


def methods(x):
    """The method forms, an axis by position among them."""
    return np.sum(x.mean(axis=-1) * x.prod(1)) + np.sum(x.var(0)) + x.max(1).sum() \
        + x.std(axis=1, keepdims=True).sum() + np.min(x, 0).sum()


def clipped(x, w):
    """np.maximum, np.minimum, np.clip and transposes."""
    h = np.maximum(x @ w, 0.0)
    return np.sum(np.clip(h, 0.1, 0.9) * (h @ np.minimum(w, 0.2).T)) \
        + np.sum(np.transpose(x) @ np.maximum(x, 1.0))


def bias(x, b):
    return np.sum(np.tanh(x + b) ** 2)


def mlp(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    pred = h @ W2 + b2
    return np.sum((pred - y) ** 2) / y.size


def _cases(rng):
    X = rng.uniform(0.5, 1.5, (4, 3))
    return {
        "columns": (columns, (X,), 0),
        "last_axis": (last_axis, (X,), 0),
        "two_axes": (two_axes, (rng.uniform(0.5, 1.5, (3, 2, 4)),), 0),
        "normalised": (normalised, (X,), 0),
        "means_and_extremes": (means_and_extremes, (X,), 0),
        "counts": (counts, (X,), 0),
        "softmax_xent": (softmax_xent, (X, np.eye(3)[rng.integers(0, 3, 4)]), 0),
        "layer_norm": (layer_norm, (X, rng.uniform(-1, 1, 3)), (0, 1)),
        "pooled": (pooled, (X,), 0),
        "spreads": (spreads, (np.where(np.arange(12).reshape(4, 3) == 4, 0.0, X),), 0),
        "methods": (methods, (X,), 0),
        "clipped": (clipped, (X, rng.uniform(-1, 1, (3, 3))), (0, 1)),
        "bias": (bias, (X, rng.uniform(-1, 1, 3)), (0, 1)),
        "mlp": (mlp, (rng.uniform(-1, 1, (3, 5)), rng.uniform(-1, 1, 5),
                      rng.uniform(-1, 1, (5, 1)), rng.uniform(-1, 1, 1), X,
                      rng.uniform(-1, 1, (4, 1))), (0, 1, 2, 3)),
    }


# the cases whose forward code calls twins of their own (a numba compile per mode: the
# others' tangents are NumPy expressions numba compiles as it does the primal's)
FORWARD = {"spreads", "methods", "clipped", "layer_norm"}


@pytest.mark.parametrize("name", ["columns", "last_axis", "two_axes", "normalised",
                                  "means_and_extremes", "counts", "softmax_xent",
                                  "layer_norm", "pooled", "spreads", "methods", "clipped",
                                  "bias", "mlp"])
def test_axes_compile_and_agree(numba_default, name, rng):
    fn, args, wrt = _cases(rng)[name]
    fd_check(fn, args, wrt, rng)                  # (SRCAD_BACKEND=numba: compiled or raises)
    if name in FORWARD:
        fd_check_forward(fn, args, wrt, rng)
    f = srcad.differentiate(fn, wrt=wrt, backend="numba")
    got = f.grad(*args)
    want = srcad.grad(fn, wrt=wrt, backend="numpy")(*args)
    got, want = (got, want) if isinstance(wrt, tuple) else ((got,), (want,))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    assert f._specialise("vjp", args).__srcad_backend__ == "numba"     # compiled
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    outs = tuple(np.full(np.shape(args[p]), np.nan) for p in positions)
    into = f.grad(*args, out=outs if isinstance(wrt, tuple) else outs[0])
    into = into if isinstance(wrt, tuple) else (into,)
    for g, o, w in zip(into, outs, want, strict=True):
        assert g is o
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_the_reduced_cotangent_expands_along_its_axes(rng):
    """The twin of ``reduce_expand`` against the NumPy kernel, axes and keepdims."""
    import numba

    from srcad import numba_runtime
    from srcad.kernels import reductions

    @numba.njit
    def expand(g, a, axis, keepdims):
        return numba_runtime.reduce_expand(g, a, axis, keepdims)

    a = rng.standard_normal((3, 4, 2))
    for axis, keepdims in [(0, False), (-1, False), ((0, 2), False), (1, True), ((0, 1), True)]:
        g = np.sum(a, axis=axis, keepdims=keepdims) * 1.5
        np.testing.assert_array_equal(expand(g, a, axis, keepdims),
                                      reductions.reduce_expand(g, a, axis, keepdims))


def test_reductions_along_axes_give_numpys_values(rng):
    """The compiled ``np.mean``, ``np.max`` and ``np.min`` along axes, with and without
    ``keepdims``, against NumPy's, ties and a NaN included; a zero-size reduction raises
    as NumPy does."""
    import numba

    from srcad import numba_runtime as rt

    @numba.njit
    def reduce(a, axis):
        return rt.mean_axes(a, axis), rt.max_axes(a, axis), rt.min_axes(a, axis)

    @numba.njit
    def reduce_kept(a, axis):
        return rt.mean_kept(a, axis), rt.max_kept(a, axis), rt.min_kept(a, axis)

    a = rng.integers(0, 3, (3, 4, 2)).astype(float)          # ties
    a[1, 2, 0] = np.nan
    for axis in (0, 1, -1, (0, 2), (1, 2), (0, 1, 2)):
        for keepdims, compiled in ((False, reduce), (True, reduce_kept)):
            if axis == (0, 1, 2) and not keepdims:
                continue                          # a number: numba's own reductions
            want = [f(a, axis=axis, keepdims=keepdims) for f in (np.mean, np.max, np.min)]
            for got, w in zip(compiled(a, axis), want, strict=True):
                assert got.shape == w.shape
                np.testing.assert_array_equal(got, w)
    with pytest.raises(ValueError, match="zero-size"):
        reduce(np.zeros((0, 3)), 0)
    b = rng.uniform(-1.0, 1.0, (5, 3)).astype(np.float32)      # float32 stays float32
    for compiled, keepdims in ((reduce, False), (reduce_kept, True)):
        want = [f(b, axis=0, keepdims=keepdims) for f in (np.mean, np.max, np.min)]
        for got, w in zip(compiled(b, 0), want, strict=True):
            assert got.dtype == np.float32 and got.shape == w.shape
            np.testing.assert_allclose(got, w, rtol=1e-6)

"""A forward pass that meets float32 is not compiled by numba: numba computes NumPy's
float32 arithmetic with Python numbers in float64 (``x32 * 1.5``, ``np.exp(x32[0])``),
and a forward pass returns what it computes. With ``backend="auto"`` it runs as NumPy
code (float32 stays float32, the values agree with the NumPy backend and the tangents
with central differences); with ``backend="numba"`` it is a ``TransformError``. float64
forward passes still compile."""
import dataclasses
import warnings

import numpy as np
import pytest

import srcad
from conftest import need_numba
from srcad import numba_dtypes

need_numba()

HALF = np.float32(0.5)
TABLE = np.linspace(0.0, 1.0, 7).astype(np.float32)


def scaled(x, k):
    return np.exp(-1.5 * x * k) * x


def clipped(x, k):
    return np.where(x > 0.0, x * k, 0.5) + np.maximum(x, 0.1) * k + x ** 2


def looped(x, k):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * k * 0.5
    return s * x


def summed(x, k):
    t = x.sum()
    return t * x * 3.0 + np.exp(x[0]) * k


def cast_inside(x, k):
    return (x * k).astype(np.float32) * 2.0


FUNCTIONS = (scaled, clipped, looped, summed)


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return call()


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_float32_forward_pass_runs_as_numpy_code_under_auto(fn, rng):
    x = rng.uniform(-1.0, 1.0, 7).astype(np.float32)
    k = float(rng.uniform(0.2, 0.8))
    want_value, want_tangent = srcad.differentiate(fn, wrt="k").jvp((x, k), (1.0,))
    f = srcad.differentiate(fn, wrt="k", backend="auto")
    with pytest.warns(RuntimeWarning, match="float32"):
        value, tangent = f.jvp((x, k), (1.0,))
    assert getattr(f._specialise("jvp", (x, k)), "__srcad_backend__", "numpy") == "numpy"
    assert value.dtype == want_value.dtype == np.float32
    assert tangent.dtype == want_tangent.dtype == np.float32
    np.testing.assert_array_equal(value, want_value)
    np.testing.assert_array_equal(tangent, want_tangent)
    column = _quiet(lambda: srcad.jacobian(fn, wrt="k", backend="auto")(x, k))
    assert column.dtype == srcad.jacobian(fn, wrt="k")(x, k).dtype


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_float32_forward_pass_is_refused_under_numba(fn, rng):
    x = rng.uniform(-1.0, 1.0, 7).astype(np.float32)
    f = srcad.differentiate(fn, wrt="k", backend="numba")
    with pytest.raises(srcad.TransformError, match="float32"):
        f.jvp((x, 0.4), (1.0,))


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_float64_forward_pass_still_compiles(fn, rng):
    x = rng.uniform(-1.0, 1.0, 6)
    k = float(rng.uniform(0.2, 0.8))
    f = srcad.differentiate(fn, wrt="k", backend="numba")
    value, tangent = f.jvp((x, k), (1.0,))
    assert f._specialise("jvp", (x, k)).__srcad_backend__ == "numba"
    assert value.dtype == tangent.dtype == np.float64
    h = 1e-6                            # against a central difference along k
    want = (fn(x, k + h) - fn(x, k - h)) / (2 * h)
    np.testing.assert_allclose(tangent, want, rtol=1e-6, atol=1e-7 * (1 + np.abs(value).max()))


def test_float32_gradients_still_compile(rng):
    """Reverse mode writes the gradient into arrays of the argument's dtype: numba
    compiles it for float32 too, and it agrees with the NumPy backend to rounding."""
    x = rng.uniform(-1.0, 1.0, 7).astype(np.float32)

    f = srcad.differentiate(total, backend="numba")
    g = f.grad(x, 0.4)
    assert f._specialise("vjp", (x, 0.4)).__srcad_backend__ == "numba"
    want = srcad.differentiate(total).grad(x, 0.4)
    assert g.dtype == want.dtype == np.float32
    np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


def total(x, k):
    return np.sum(scaled(x, k))


@dataclasses.dataclass
class Box:
    w: np.ndarray


def uses_table(x, k):
    return x * TABLE[: x.shape[0]] * k


def uses_half(x, k):
    return x * HALF * k


def names_dtype(x, k):
    return (x * k).astype("f4")


def test_narrow_finds_the_dtypes_a_pass_may_meet(rng):
    """What ``narrow`` looks at: the signature (arrays, NumPy scalars, dataclass
    fields), arrays and NumPy scalars the code reads, and dtypes the code names."""
    import gast

    from srcad.signature import signature_of
    plain = gast.parse("def f(x):\n    return x * 2.0\n")
    wide = signature_of((np.ones(3), 1.0, Box(np.ones(2))))
    assert not numba_dtypes.narrow(wide, {"np": np}, plain)
    assert numba_dtypes.narrow(signature_of((np.ones(3, np.float32),)), {}, plain)
    assert numba_dtypes.narrow(signature_of((np.float32(1.0),)), {}, plain)
    assert numba_dtypes.narrow(signature_of((Box(np.ones(2, np.float32)),)), {}, plain)
    assert numba_dtypes.narrow(signature_of((np.ones(3, np.int32),)), {}, plain)
    assert numba_dtypes.narrow(wide, {"TABLE": TABLE}, gast.parse("y = x * TABLE"))
    assert not numba_dtypes.narrow(wide, {"TABLE": TABLE}, plain)      # not read: not met
    assert numba_dtypes.narrow(wide, {"box": Box(TABLE)}, gast.parse("y = x * box.w"))
    assert numba_dtypes.narrow(wide, {"np": np}, gast.parse("y = x.astype(np.float32)"))
    assert numba_dtypes.narrow(wide, {}, gast.parse("y = x.astype('f4')"))
    assert not numba_dtypes.narrow(wide, {}, gast.parse("y = x.astype('float64')"))


@pytest.mark.parametrize("fn", (uses_table, uses_half, names_dtype, cast_inside),
                         ids=lambda f: f.__name__)
def test_float32_read_or_named_in_a_float64_function(fn, rng):
    """float64 arguments, float32 from a global array or scalar, or a dtype named in the
    code: the forward pass runs as NumPy code and gives the NumPy backend's dtypes."""
    x = rng.uniform(-1.0, 1.0, 7)
    want_value, want_tangent = srcad.differentiate(fn, wrt="k").jvp((x, 0.3), (1.0,))
    f = srcad.differentiate(fn, wrt="k", backend="auto")
    value, tangent = _quiet(lambda: f.jvp((x, 0.3), (1.0,)))
    assert getattr(f._specialise("jvp", (x, 0.3)), "__srcad_backend__", "numpy") == "numpy"
    assert value.dtype == want_value.dtype and tangent.dtype == want_tangent.dtype
    np.testing.assert_array_equal(tangent, want_tangent)


def rosen(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def mixed(x):
    t = np.tanh(x * 0.5)
    return np.sum(t * t) * 2.0 + np.sum(x) ** 2


@pytest.mark.parametrize("fn", (rosen, mixed), ids=lambda f: f.__name__)
def test_float32_hessians_compile_and_keep_float32(fn, rng):
    """A forward pass over a gradient's code (hessian, hvp, jvp of grad) writes into arrays
    of the argument's dtype: numba compiles it for float32, and its dtypes and values
    are the NumPy backend's (to float32 rounding)."""
    x = rng.uniform(-1.0, 1.0, 6).astype(np.float32)
    v = rng.standard_normal(6).astype(np.float32)
    f = srcad.differentiate(fn, backend="numba")
    ref = srcad.differentiate(fn)
    H, want = f.hessian(x), ref.hessian(x)
    assert H.dtype == want.dtype == np.float32
    np.testing.assert_allclose(H, want, rtol=2e-4, atol=2e-4 * np.abs(want).max())
    hv, want_hv = f.hvp((x,), v), ref.hvp((x,), v)
    assert hv.dtype == want_hv.dtype
    np.testing.assert_allclose(hv, want_hv, rtol=2e-4, atol=2e-4 * np.abs(want_hv).max())
    if fn is rosen:                     # the gradient's value and tangent too
        g = srcad.differentiate(srcad.grad(fn, backend="numba"), backend="numba")
        value, tangent = g.jvp((x,), (v,))
        want_value, want_tangent = srcad.differentiate(srcad.grad(fn)).jvp((x,), (v,))
        assert value.dtype == want_value.dtype and tangent.dtype == want_tangent.dtype
    H64 = srcad.differentiate(fn).hessian(x.astype(np.float64))      # and the derivative
    np.testing.assert_allclose(H, H64, rtol=1e-3, atol=1e-3 * np.abs(H64).max())


# ------------------------------------------------ the value of a float32 gradient

def cumulative(x):
    return np.sum(np.cumsum(x) ** 2)


def squashed(x):
    return np.sum(np.tanh(x) * x)


def stepped(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * x[i] * 0.5
    return s


@pytest.mark.parametrize("fn", (cumulative, squashed, stepped), ids=lambda f: f.__name__)
@pytest.mark.parametrize("backend", ("numpy", "numba"))
def test_a_float32_gradients_value_has_the_functions_type(fn, backend, rng):
    """``value_and_grad`` of float32 code: the value is the NumPy float32 the function
    gives (numba boxes its numbers as Python floats; the NumPy backend's sum of a float
    array was a Python float), on the first call and the later ones; the gradient is
    float32 and agrees with central differences (in float64) to float32 precision."""
    x = rng.uniform(-1.0, 1.0, 6).astype(np.float32)
    d = srcad.differentiate(fn, backend=backend)
    for _ in range(2):
        value, g = _quiet(lambda: d.value_and_grad(x))
        assert type(value) is type(fn(x)) is np.float32
        assert value == pytest.approx(fn(x), rel=1e-5)
        assert g.dtype == np.float32
    v = rng.standard_normal(6)
    x64, h = x.astype(np.float64), 1e-6
    slope = (fn(x64 + h * v) - fn(x64 - h * v)) / (2 * h)
    assert float(np.dot(g, v)) == pytest.approx(slope, rel=1e-4, abs=1e-5)

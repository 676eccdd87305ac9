"""Python's integer powers under the numba backend: ``2 ** -2`` is 0.25 in Python and
0 as numba's integer power; ``2 ** k`` is an exact integer of any size in Python and an
int64 in numba (0 from k = 64 on: a division by zero). An int to a negative constant
power is now a float, as in Python; an int to a power that is no constant is not
compiled (``backend="auto"`` runs the NumPy code, ``backend="numba"`` refuses); a float
to an int power is NumPy's. Checked against central differences and the plain function."""
import warnings

import pytest

import srcad
from conftest import need_numba

need_numba()


def negative_exponent(x, k):
    return x * 2 ** -k


def builtin_pow(x, k):
    return x * pow(2, -k)


def constant_negative(x):
    return x * 2 ** -2 + x * x * 10 ** -1


def halving(x):
    s = 0.0
    for k in range(70):
        s = s + x / 2 ** k
    return s


def float_base(x):
    s = 0.0
    for k in range(-3, 4):
        s = s + (x * 0.5) ** k
    return s


CASES = [(negative_exponent, (0.7, 2)), (builtin_pow, (0.7, 3)), (constant_negative, (0.7,)),
         (halving, (0.7,)), (float_base, (0.7,))]


@pytest.mark.parametrize("fn, args", CASES, ids=[c[0].__name__ for c in CASES])
def test_integer_powers_are_pythons_under_auto(fn, args):
    h = 1e-6
    slope = (fn(args[0] + h, *args[1:]) - fn(args[0] - h, *args[1:])) / (2 * h)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, g = srcad.differentiate(fn, wrt=0, backend="auto").value_and_grad(*args)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    assert g == pytest.approx(slope, rel=1e-6)


def test_an_int_to_a_power_that_is_no_constant_is_not_compiled():
    with pytest.raises(srcad.TransformError, match="integer"):
        srcad.differentiate(negative_exponent, wrt=0, backend="numba").grad(0.7, 2)
    g = srcad.differentiate(constant_negative, backend="numba").grad(0.7)   # compiles
    h = 1e-6
    assert g == pytest.approx((constant_negative(0.7 + h) - constant_negative(0.7 - h))
                              / (2 * h), rel=1e-6)

"""NumPy coverage: what the coverage rules (tests/test_coverage_rules.py) do not
differentiate is refused at the user's line, in both modes: arguments they give no
derivative (spacings, sample points, weights, ``q``, pad's constants) when those carry
one, and the cases they have no rule for (pad modes that compute values, quantile methods,
cross products along another axis)."""

import numpy as np
import pytest

import srcad

from tests.test_refusal_policy import marked_line


def refused(fn, x, mode="reverse"):
    with pytest.raises(srcad.TransformError) as info:
        if mode == "reverse":
            srcad.grad(fn)(x)
        else:
            srcad.jvp(fn, (x,), (np.ones_like(x),))
    err = info.value
    assert err.lineno == marked_line(fn) and err.filename == __file__, str(err)
    return str(err)


def pad_mean(x):
    return np.sum(np.pad(x, 1, mode="mean"))  # <- refused


def pad_active_constant(x):
    return np.sum(np.pad(x, 1, constant_values=x[0]))  # <- refused


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_pad_refusals(mode):
    x = np.array([0.3, 0.5, 0.8])
    assert "mode='mean'" in refused(pad_mean, x, mode)
    assert "constant_values of np.pad" in refused(pad_active_constant, x, mode)


def gradient_active_spacing(x):
    return np.sum(np.gradient(x, x[0] * 2.0 + 1.0))  # <- refused


def interp_active_xp(x):
    return np.sum(np.interp(x, x * 2.0, x))  # <- refused


def interp_active_left(x):
    return np.sum(np.interp(x, [0.0, 1.0], x[:2], left=x[0]))  # <- refused


def cross_along_axis(x):
    return np.sum(np.cross(x, x ** 2, axis=0))  # <- refused


def average_active_weights(x):
    return np.average(x, weights=x ** 2)  # <- refused


def quantile_active_q(x):
    return np.sum(np.quantile(x, x[0] * 0.5))  # <- refused


def median_of_weighted_method(x):
    return np.quantile(x, 0.5, method="hazen")  # <- refused


def cholesky_upper(x):
    return np.sum(np.linalg.cholesky(np.outer(x, x) + np.eye(3), upper=True))  # <- refused


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_arguments_without_a_derivative_are_refused(mode):
    x = np.array([0.3, 0.5, 0.8])
    assert "no derivative for this many arguments" in refused(gradient_active_spacing, x, mode)
    assert "np.interp's xp has no derivative rule" in refused(interp_active_xp, x, mode)
    assert "np.interp's left has no derivative rule" in refused(interp_active_left, x, mode)
    assert "3-vectors along the last axis" in refused(cross_along_axis, x, mode)
    assert "the argument weights of np.average" in refused(average_active_weights, x, mode)
    assert "np.quantile's q has no derivative rule" in refused(quantile_active_q, x, mode)
    assert "not method='hazen'" in refused(median_of_weighted_method, x, mode)
    assert "upper=True has no derivative rule" in refused(cholesky_upper, x, mode)

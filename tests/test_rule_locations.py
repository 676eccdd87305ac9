"""A second derivative through a user's reverse rule is refused at the user's rule, never
at a line inside srcad."""
import numpy as np
import pytest

import srcad


def scaled(a, b):
    return a * b


@srcad.adjoint(scaled)
def scaled_adjoint(a, b):
    def back(g):
        return (g * b, g * a)
    return a * b, back


def uses_rule(x):
    return np.sum(scaled(x, x) ** 2)


def test_first_derivative_through_the_rule(rng):
    x = rng.uniform(0.2, 0.8, 3)
    assert srcad.check_grad(uses_rule, x) < 1e-6


def test_second_derivative_refusal_points_at_the_rule(rng):
    x = rng.uniform(0.2, 0.8, 3)
    with pytest.raises(srcad.TransformError) as info:
        srcad.hessian(uses_rule)(x)
    err = info.value
    assert err.filename == __file__
    # the decorator, the def, then `def back`
    assert err.lineno == scaled_adjoint.__code__.co_firstlineno + 2
    assert "nested function definitions are not supported" in str(err)

"""Parameters srcad's generated code could read as its own names: a keyword-only
parameter named like a temporary (``t``), the seed or the output (``seed``, ``out``) was
not reserved (a wrong value and a zero gradient, or a SyntaxError); ``_rt`` and ``_ws``
are refused. A keyword-only argument of a function with an ``@srcad.adjoint`` rule is
passed to the rule (it ran with its defaults: a wrong value and gradient), and refused
where it carries a derivative. ``srcad.checkpoint`` of a partial is refused (an internal
error). Checked against central differences."""
import functools

import numpy as np
import pytest

import srcad


def with_t(x, *, t=2.0):
    return (x * x - t) ** 2


def with_seed(x, y, *, seed=2.0, out=0.5):
    return (x * y - seed) ** 2 + out * x


def _slope(fn, x, h=1e-6, **kw):
    return (fn(x + h, **kw) - fn(x - h, **kw)) / (2 * h)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_keyword_only_parameters_named_like_generated_names(backend):
    value, g = srcad.value_and_grad(with_t, backend=backend)(1.5)
    assert value == pytest.approx(with_t(1.5)) and g == pytest.approx(_slope(with_t, 1.5))
    _, t = srcad.jvp(with_t, (1.5,), (1.0,), backend=backend)
    assert t == pytest.approx(_slope(with_t, 1.5))
    f = lambda y: with_seed(0.7, y, seed=1.1)                 # noqa: E731
    # (``out`` keeps its default: ``out=`` of value_and_grad is srcad's own buffer)
    value, g = srcad.value_and_grad(with_seed, wrt=1, backend=backend)(0.7, 1.5, seed=1.1)
    assert value == pytest.approx(f(1.5)) and g == pytest.approx(_slope(f, 1.5), rel=1e-6)


def reserved(x, _rt):
    return x * _rt


def test_srcads_own_names_are_refused():
    with pytest.raises(srcad.TransformError, match="srcad's own"):
        srcad.grad(reserved)(1.5, 2.0)


def softplus(x, *, beta=1.0):
    return np.log1p(np.exp(beta * x)) / beta


@srcad.adjoint(softplus)
def softplus_adjoint(x, *, beta=1.0):
    def back(y_bar):
        return (y_bar / (1.0 + np.exp(-beta * x)),)
    return np.log1p(np.exp(beta * x)) / beta, back


def sharp(x):
    return np.sum(softplus(x, beta=2.5) * x)


def sharp_by(x, b):
    return np.sum(softplus(x, beta=b))


def test_an_adjoint_rule_gets_keyword_only_arguments(rng):
    x = rng.uniform(-1.0, 1.0, 4)
    v = rng.standard_normal(4)
    h = 1e-6
    value, g = srcad.value_and_grad(sharp)(x)
    assert value == pytest.approx(sharp(x))
    assert np.dot(g, v) == pytest.approx((sharp(x + h * v) - sharp(x - h * v)) / (2 * h),
                                         rel=1e-6)
    with pytest.raises(srcad.TransformError, match="keyword-only argument"):
        srcad.grad(sharp_by, wrt=1)(x, 1.3)


def block(a, b):
    return np.sin(a) * b


def checkpointed(x):
    return srcad.checkpoint(functools.partial(block, b=2.0), x)


def test_checkpoint_of_a_partial_is_refused():
    with pytest.raises(srcad.TransformError, match="plain function"):
        srcad.grad(checkpointed)(0.3)

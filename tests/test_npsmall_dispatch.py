"""The hot call: a call with the signature used last makes one check (srcad/dispatch.py), and
the check never serves a specialisation the long way would refuse.

Each case makes a specialisation hot (two calls), changes what the call or the function
depends on (the argument's dtype, rank, kind or container; a helper's code; a global; a
rule), and checks the gradient against central differences.
"""
import numpy as np
import pytest

import srcad
from conftest import assert_grad_close
from srcad import api, signature


def _counting_signature(monkeypatch):
    """Count the calls of ``signature_of`` made by the dispatch in srcad/api.py."""
    calls = []

    def counted(args):
        calls.append(args)
        return signature.signature_of(args)
    monkeypatch.setattr(api, "signature_of", counted)
    return calls


def _sq_sum(x):
    return np.sum(np.sin(x) * x)


def test_a_hot_grad_computes_no_signature(monkeypatch):
    f = srcad.differentiate(_sq_sum)
    x = np.linspace(0.1, 1.0, 7)
    f.grad(x), f.grad(x)                     # compiled, then hot
    calls = _counting_signature(monkeypatch)
    out = np.empty_like(x)
    g = f.grad(x)
    assert f.grad(x, out=out) is out
    assert calls == []
    assert_grad_close(g, _sq_sum, (x,), 0)
    assert_grad_close(out, _sq_sum, (x,), 0)


def _rs(d, m):
    d0 = np.exp(-1.5 * (np.arange(-3.0, 4.0) - m) ** 2)
    return d - np.sum(d * d0) / np.sum(d0 * d0) * d0


def test_a_hot_jacobian_computes_no_signature(monkeypatch):
    d = np.linspace(-1.0, 1.0, 7)
    jac = srcad.jacobian(_rs, wrt=1)
    jac(d, 0.3), jac(d, 0.3)
    calls = _counting_signature(monkeypatch)
    J = jac(d, 0.3)
    assert calls == []
    h = 1e-6
    np.testing.assert_allclose(J, (_rs(d, 0.3 + h) - _rs(d, 0.3 - h)) / (2 * h),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("other", [
    np.linspace(0.1, 1.0, 7).astype(np.float32),            # another dtype
    np.linspace(0.1, 1.0, 6).reshape(2, 3),                 # another rank
    np.linspace(0.1, 1.0, 7).astype(">f8"),                 # an equal-valued foreign dtype
    0.7,                                                     # a float
    np.linspace(0.1, 1.0, 1),                                # an axis of length 1
], ids=["float32", "2d", "big-endian", "float", "length-1"])
def test_another_signature_after_a_hot_one(other):
    f = srcad.differentiate(_sq_sum)
    x = np.linspace(0.1, 1.0, 7)
    f.grad(x), f.grad(x)
    g = f.grad(other)
    assert np.shape(g) == np.shape(other)
    if isinstance(other, np.ndarray):
        assert g.dtype == other.dtype
    assert_grad_close(g, _sq_sum, (np.asarray(other, np.float64),), 0)
    f.grad(x)                                                # and back to the first
    assert_grad_close(f.grad(x), _sq_sum, (x,), 0)


def test_a_memmap_after_a_hot_array(tmp_path):
    f = srcad.differentiate(_sq_sum)
    x = np.linspace(0.1, 1.0, 7)
    f.grad(x), f.grad(x)
    m = np.memmap(tmp_path / "x.bin", dtype=np.float64, mode="w+", shape=(7,))
    m[:] = x
    g = f.grad(m)
    assert type(g) is np.ndarray
    assert_grad_close(g, _sq_sum, (x,), 0)


def test_a_wrong_argument_count_after_a_hot_call():
    f = srcad.differentiate(_sq_sum)
    x = np.linspace(0.1, 1.0, 7)
    f.grad(x), f.grad(x)
    with pytest.raises(TypeError, match="_sq_sum"):
        f.grad(x, x)


def _scale(x):
    return np.sin(x)


def _uses_helper(x):
    return np.sum(_scale(x) * x)


def test_a_redefined_helper_after_a_hot_call():
    global _scale
    x = np.linspace(0.1, 1.0, 7)
    f = srcad.differentiate(_uses_helper)
    f.grad(x), f.grad(x)
    before = _scale
    try:
        def _scale(x):                                       # noqa: F811 -- rebound
            return np.cos(x)
        g = f.grad(x)
        assert_grad_close(g, _uses_helper, (x,), 0)
        before.__code__ = (lambda x: np.exp(x)).__code__     # the old one's code changes
        _scale = before
        g = f.grad(x)
        assert_grad_close(g, _uses_helper, (x,), 0)
    finally:
        _scale = before
        _scale.__code__ = (lambda x: np.sin(x)).__code__


def _my_op(x):
    return x * x


def _uses_op(x):
    return np.sum(_my_op(x))


def test_a_rule_registered_after_a_hot_call():
    x = np.linspace(0.1, 1.0, 7)
    f = srcad.differentiate(_uses_op)
    f.grad(x), f.grad(x)
    assert_grad_close(f.grad(x), _uses_op, (x,), 0)

    @srcad.adjoint(_my_op)
    def _my_op_rule(x):                      # a wrong rule on purpose: its effect is visible
        return x * x, lambda g: (3.0 * g * x,)
    try:
        np.testing.assert_allclose(f.grad(x), 3.0 * x)
    finally:
        from srcad.transforms.rules import registry
        registry.CUSTOM_REVERSE.pop(_my_op, None)
        registry.VERSION.bump()
    assert_grad_close(f.grad(x), _uses_op, (x,), 0)


def _bias_loss(h, b):
    return np.sum(np.tanh(h + b) * h)


@pytest.mark.parametrize("b_shape", [(1, 3), (4, 1), (1, 1), (4, 3)])
def test_length_1_axes_after_a_hot_call(rng, b_shape):
    """The signature records the axes of length 1 (a bias's gradient is summed over
    them): a call with other ones never gets the hot specialisation."""
    h = rng.uniform(-1.0, 1.0, (4, 3))
    f = srcad.differentiate(_bias_loss, wrt="b")
    b0 = rng.uniform(-1.0, 1.0, (4, 3))
    f.grad(h, b0), f.grad(h, b0)
    b = rng.uniform(-1.0, 1.0, b_shape)
    g = f.grad(h, b)
    assert g.shape == b_shape
    assert_grad_close(g, _bias_loss, (h, b), 1)
    out = np.empty(b_shape)
    assert f.grad(h, b, out=out) is out
    assert_grad_close(out, _bias_loss, (h, b), 1)


def _with_default(x, k=2.0):
    return np.sin(k * x)


def _uses_default(x):
    return np.sum(_with_default(x) * x)


def test_a_helper_default_changed_after_a_hot_call():
    """A guard on an attribute of an object (here a helper's ``__defaults__``)."""
    x = np.linspace(0.1, 1.0, 7)
    f = srcad.differentiate(_uses_default)
    f.grad(x), f.grad(x)
    before = _with_default.__defaults__
    try:
        _with_default.__defaults__ = (3.0,)
        assert_grad_close(f.grad(x), _uses_default, (x,), 0)
    finally:
        _with_default.__defaults__ = before
    assert_grad_close(f.grad(x), _uses_default, (x,), 0)


def test_a_closure_cell_rebound_after_a_hot_call():
    act = np.sin

    def inner(x):
        return np.sum(act(x) * x)
    x = np.linspace(0.1, 1.0, 7)
    f = srcad.differentiate(inner)
    f.grad(x), f.grad(x)
    act = np.cos                                             # noqa: F841 -- read by inner
    assert_grad_close(f.grad(x), inner, (x,), 0)


SCALE = 2.0


def _uses_global(x):
    return np.sum(np.sin(SCALE * x))


def test_a_global_rebound_after_a_hot_call():
    global SCALE
    x = np.linspace(0.1, 1.0, 7)
    f = srcad.differentiate(_uses_global)
    f.grad(x), f.grad(x)
    try:
        SCALE = 3.0
        assert_grad_close(f.grad(x), _uses_global, (x,), 0)
    finally:
        SCALE = 2.0
    assert_grad_close(f.grad(x), _uses_global, (x,), 0)


def test_the_check_reads_guards_directly():
    """Module globals by subscription, object attributes by attribute access: no call
    per guard; a helper's code is tested once (the guard on its ``__code__`` is the
    helper test itself), and redefining the helper still sends the call the long way."""
    x = np.linspace(0.1, 1.0, 7)
    f = srcad.differentiate(_uses_helper)
    g = f.grad(x)
    fn = f.compiled("grad", x)
    text = fn.__srcad_fits__.__srcad_text__
    assert "get0(" not in text and "[name" in text and "helper0.__code__ is helper_code0" \
        in text and text.count(".__code__ is") == 2, text      # (user's and the helper's)
    assert fn.__srcad_fits__((x,))
    helper = fn.__srcad_helpers__[0][0]
    original = helper.__code__
    try:
        helper.__code__ = (lambda v: np.cos(v)).__code__
        assert not fn.__srcad_fits__((x,))
    finally:
        helper.__code__ = original
    np.testing.assert_array_equal(f.grad(x), g)


def _bump(m):
    return np.sin(m)


def _through_bump(d, m):
    return d * _bump(m) + m * m


def _scalar_of_number(m):
    return np.exp(m) * m


def _pair_of_number(m):
    return np.sin(m), m * 2.0


def _fd_column(fn, args, h=1e-6):
    d, m = args
    return (fn(d, m + h) - fn(d, m - h)) / (2 * h)


def test_a_hot_jacobian_of_a_number_argument():
    """``jacobian`` wrt one float argument calls the hot forward code directly once it is
    hot; it still sees a redefined helper, a scalar output, and refuses a tuple output."""
    global _bump
    d = np.linspace(-1.0, 1.0, 5)
    jac = srcad.jacobian(_through_bump, wrt=1)
    for m in (0.3, 0.5, 0.7, 0.9):                     # compiled, then hot
        np.testing.assert_allclose(jac(d, m), _fd_column(_through_bump, (d, m)), rtol=1e-6,
                                   atol=1e-8)
    before = _bump
    try:
        def _bump(m):                                    # noqa: F811 -- rebound
            return np.cos(3.0 * m)
        np.testing.assert_allclose(jac(d, 0.4), _fd_column(_through_bump, (d, 0.4)),
                                   rtol=1e-6, atol=1e-8)
    finally:
        _bump = before
    one = srcad.jacobian(_scalar_of_number)
    for m in (0.2, 0.6, 1.1):
        J = one(m)
        assert type(J) is np.ndarray and J.shape == ()
        h = 1e-6
        want = (_scalar_of_number(m + h) - _scalar_of_number(m - h)) / (2 * h)
        np.testing.assert_allclose(J, want, rtol=1e-6)
    for m in (0.2, 0.6, 1.1):
        srcad.jvp(_pair_of_number, (m,), (1.0,))          # the forward code is hot
    with pytest.raises(ValueError, match="jacobian needs a function returning a float"):
        srcad.jacobian(_pair_of_number)(0.5)

"""Small problems: no helper work where the shape is plain.

- the cotangent of a whole-array sum is one fill (``reduce_expand`` without ``reduce_keep``
  and ``np.broadcast_to``), of the cotangent's dtype, a new array;
- a cotangent summed down to a float argument is a Python float;
- in forward mode, the tangent of a product with an array is an array, so its whole sum
  is ``t_dot.sum()``; a tangent that may be a Python float keeps ``np.sum``.

Every gradient is checked against central differences.
"""
import re

import numpy as np
import pytest

import srcad
from conftest import assert_grad_close, fd_check, fd_check_forward
from srcad.kernels import reductions

XS = np.arange(-4.0, 5.0)


def _rs_loss(d, m):
    d0 = np.exp(-1.5 * (XS - m) ** 2)
    r = d - np.sum(d * d0) / np.sum(d0 * d0) * d0
    return 0.5 * np.sum(r ** 2)


def test_a_whole_sum_cotangent_is_one_fill(monkeypatch, rng):
    calls = []
    keep = reductions.reduce_keep
    monkeypatch.setattr(reductions, "reduce_keep", lambda *a: calls.append(a) or keep(*a))
    d = rng.uniform(-1.0, 1.0, XS.size)
    g = srcad.grad(_rs_loss, wrt=1)(d, 0.3)
    assert calls == []
    assert type(g) is float
    assert_grad_close(g, _rs_loss, (d, 0.3), 1)
    fd_check(_rs_loss, (d, 0.3), (0, 1), rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduce_expand_of_a_whole_sum(dtype):
    a = np.ones((2, 3), dtype)
    for g in (dtype(2.5), np.array(2.5, dtype)):
        out = reductions.reduce_expand(g, a, None, False)
        assert out.shape == a.shape and out.dtype == dtype and np.all(out == 2.5)
        out[0, 0] = 7.0                          # a new array: nothing else changes
        assert np.all(a == 1.0) and np.all(reductions.reduce_expand(g, a, None, False) == 2.5)
    assert reductions.reduce_expand(2.5, a, None, False).dtype == np.float64


def _float32_loss(x):
    return np.sum(x * np.sum(x * x))


def test_float32_stays_float32(rng):
    x = rng.uniform(0.5, 1.5, 6).astype(np.float32)
    g = srcad.grad(_float32_loss)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, srcad.grad(_float32_loss)(x.astype(np.float64)), rtol=1e-5)


def _shifted(d, m):
    return np.sum(d * (d - m)) + np.sum(d - m)


def test_a_float_tangent_keeps_np_sum(rng):
    d = rng.uniform(-1.0, 1.0, 5)
    text = srcad.source(_shifted, d, 0.3, kind="jvp", wrt=1)
    assert "np.sum(" in text                     # t_dot = -m_dot is a Python float
    fd_check_forward(_shifted, (d, 0.3), 1, rng)
    fd_check(_shifted, (d, 0.3), 1, rng)


def _rs(d, m):
    d0 = np.exp(-1.5 * (XS - m) ** 2)
    return d - np.sum(d * d0) / np.sum(d0 * d0) * d0


def test_the_tangent_of_a_product_with_an_array_is_summed_by_its_method(rng):
    d = rng.uniform(-1.0, 1.0, XS.size)
    text = srcad.source(_rs, d, 0.3, kind="jvp", wrt=1)
    product = re.search(r"(\w+_dot) = d \* \w+_dot\n", text)
    assert product and f"_dot = {product.group(1)}.sum()" in text, text
    fd_check_forward(_rs, (d, 0.3), 1, rng)
    J = srcad.jacobian(_rs, wrt=1)(d, 0.3)
    h = 1e-6
    np.testing.assert_allclose(J, (_rs(d, 0.3 + h) - _rs(d, 0.3 - h)) / (2 * h),
                               rtol=1e-6, atol=1e-8)


def test_a_cotangent_product_is_summed_by_its_method(rng):
    """The adjoint's sum down to the float ``m`` of a product with an array is written
    ``(a * b).sum()``: the array method, without ``np.sum``'s Python-level dispatch."""
    d = rng.uniform(-1.0, 1.0, XS.size)
    text = srcad.source(_rs_loss, d, 0.3, wrt=1)
    adjoint = "\n".join(line for line in text.split("seed2 = ", 1)[1].splitlines()
                        if not line.strip().startswith("#"))
    assert "np.sum(" not in adjoint and ").sum()" in adjoint, text
    fd_check(_rs_loss, (d, 0.3), 1, rng)


def _scaled_mean(d, m):
    return np.mean(d * m) + np.sum(m * d * d) + np.sum((d - m) ** 2)


def _number_times_sum(d, m):
    s = m * 2.0
    return np.sum(d) * s + np.sum(s * d)


@pytest.mark.parametrize("fn", [_scaled_mean, _number_times_sum])
def test_sums_of_products_with_a_float(fn, rng):
    d = rng.uniform(-1.0, 1.0, 6)
    fd_check(fn, (d, 0.3), (0, 1), rng)
    fd_check(fn, (d, 0.3), 1, rng)
    fd_check_forward(fn, (d, 0.3), 1, rng)
    fd_check_forward(fn, (d, 0.3), (0, 1), rng)

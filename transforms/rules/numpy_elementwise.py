"""Derivative rules for the elementwise NumPy functions ``sinc``, ``logaddexp2``,
``copysign``, ``nan_to_num`` and ``real_if_close`` (the other elementwise functions are in
numpy_rules.py).

``nan_to_num`` passes finite entries through: its derivative is 1 there and 0 at the
entries it replaces. ``real_if_close`` of a real array is that array.
"""
import numpy as np

from srcad.transforms.rules.registry import elementwise, forward, reverse, view
from srcad.transforms.rules.templates import binary_rule, linear, scalar_rule
from srcad.kernels.broadcast import lift_tangent, unbroadcast  # noqa: F401  (binary_rule)
from srcad.kernels.elementwise import sinc_curve, sinc_slope  # noqa: F401 (named by scalar_rule)
from srcad.kernels.moves import not_differentiated

scalar_rule(np.sinc, None, "sinc_slope(x)")
elementwise(np.sinc)            # (a list operand is taken as its array: normalize.py)
scalar_rule(sinc_slope, None, "sinc_curve(x)")     # for second derivatives
binary_rule(np.logaddexp2, "np.exp2(a - y)", "np.exp2(b - y)")
binary_rule(np.copysign, "np.sign(a) * np.copysign(1.0, b)", "0.0 * np.sign(b)")  # b: its sign
linear(np.real_if_close, apply="d", params="a, tol=100")
view(np.real_if_close)


@reverse(np.nan_to_num)
def nan_to_num_bar(y, g, x, copy=True, nan=0.0, posinf=None, neginf=None):
    return (np.where(np.isfinite(x), g, 0.0), None, not_differentiated("np.nan_to_num's nan"),
            not_differentiated("np.nan_to_num's posinf"),
            not_differentiated("np.nan_to_num's neginf"))


@forward(np.nan_to_num)
def nan_to_num_dot(y, x, copy=True, nan=0.0, posinf=None, neginf=None):
    return (lambda dx: np.where(np.isfinite(x), dx, 0.0), None,
            lambda dn: not_differentiated("np.nan_to_num's nan"),
            lambda dp: not_differentiated("np.nan_to_num's posinf"),
            lambda dn: not_differentiated("np.nan_to_num's neginf"))

"""Derivative rules for NumPy elementwise functions, and the kink policy of all rules.

The NumPy rules are split by topic: elementwise functions here, reductions
in numpy_reductions.py, products and solves in numpy_linalg.py, shapes,
sequences, construction and array methods in numpy_shapes.py. Arithmetic
ufuncs (``np.add``, ``np.multiply``, ``np.power``...) share the operator
rules in operators.py. Binary functions broadcast: reverse contributions are
summed back with ``unbroadcast``, forward terms aligned with ``lift_tangent``.
Every forward rule supports vector mode (a tangent with one extra leading
axis).

Kink policy: at a point where a function is not differentiable, its rule
returns a one-sided or zero subgradient, never NaN and never an error:

- ``abs``/``fabs`` at 0, ``norm`` and ``std`` where they are 0, ``arctan2``
  and ``hypot`` at the origin: 0;
- ``maximum``/``minimum`` at a tie: the cotangent is split 0.5 / 0.5;
  ``max``/``min``/``amax``/``amin`` reductions split it evenly between ties;
- ``clip`` at a bound: the clipped operand gets the cotangent (the bound does
  not); strictly beyond a bound, the bound gets it;
- ``prod`` with zeros: the exact product of the other entries (no division);
- ``a ** b``: 0 to ``b`` where ``a <= 0``, 0 to ``a`` where ``b == 0``;
- where the derivative itself is infinite (``sqrt`` and ``cbrt`` at 0,
  ``arcsin`` at +-1) it is ``inf``: that is the mathematics, not a kink; a zero
  cotangent or tangent times it is NaN (``0 * inf``), and so are second
  derivatives involving such an entry (its row and column of a Hessian);
- ``hypot`` and ``arctan2`` at the origin: second derivatives 0 as well.
"""
import math

import numpy as np

from srcad.kernels.broadcast import broadcast_tangent, lift_tangent, unbroadcast
from srcad.transforms.rules.registry import forward, nondiff, reverse
from srcad.kernels.scalar import math_recip, math_sign  # noqa: F401  (named by scalar_rule)
from srcad.transforms.rules.templates import binary_rule, scalar_rule
from srcad.kernels.elementwise import (
    clip_bound_back, clip_inside, clip_outside, clip_pick, inverse_or_zero, maximum_weight,
    ratio_or_zero)

# ---- unary elementwise functions and their math twins: one line each --------
# scalar_rule(numpy function(s), math function(s), derivative in x and y): see templates.py

scalar_rule(np.exp, math.exp, "y")
scalar_rule(np.exp2, math.exp2, "y * log(2.0)")
scalar_rule(np.expm1, math.expm1, "y + 1.0")
scalar_rule(np.log2, math.log2, "1.0 / (x * log(2.0))")
scalar_rule(np.log10, math.log10, "1.0 / (x * log(10.0))")
scalar_rule(None, math.log1p, "1.0 / (1.0 + x)")
scalar_rule(np.sqrt, math.sqrt, "0.5 / y")
scalar_rule(np.cbrt, math.cbrt, "1.0 / (3.0 * y * y)")
scalar_rule(np.square, None, "2.0 * x")
scalar_rule(np.reciprocal, None, "-(y * y)")
scalar_rule(np.sin, math.sin, "cos(x)")
scalar_rule(np.cos, math.cos, "-sin(x)")
scalar_rule(np.tan, math.tan, "1.0 + y * y")
scalar_rule(np.arcsin, math.asin, "1.0 / sqrt(1.0 - x * x)")
scalar_rule(np.arccos, math.acos, "-1.0 / sqrt(1.0 - x * x)")
scalar_rule(np.arctan, math.atan, "1.0 / (1.0 + x * x)")
scalar_rule(np.sinh, math.sinh, "cosh(x)")
scalar_rule(np.cosh, math.cosh, "sinh(x)")
scalar_rule(np.tanh, math.tanh, "1.0 - y * y")
scalar_rule(np.arcsinh, math.asinh, "1.0 / sqrt(x * x + 1.0)")
scalar_rule(np.arccosh, math.acosh, "1.0 / sqrt(x * x - 1.0)")
scalar_rule(np.arctanh, math.atanh, "1.0 / (1.0 - x * x)")
scalar_rule((np.deg2rad, np.radians), math.radians, "pi / 180.0")
scalar_rule((np.rad2deg, np.degrees), math.degrees, "180.0 / pi")
scalar_rule(None, math.erf, "2.0 / sqrt(pi) * exp(-x * x)")
scalar_rule(None, math.erfc, "-2.0 / sqrt(pi) * exp(-x * x)")
scalar_rule((np.abs, np.fabs), None, "sign(x)")
scalar_rule(None, math.fabs, "math_sign(x)")       # (math has no sign)


# ---- elementwise: exponentials and logarithms -------------------------------

@reverse(np.log)
def log_bar(y, g, x):
    return (np.divide(g, x),)           # NumPy's inf at 0 where Python floats would raise


@forward(np.log)
def log_dot(y, x):
    return (lambda dx: np.divide(dx, x),)


@reverse(np.log1p)
def log1p_bar(y, g, x):
    return (np.divide(g, 1.0 + x),)


@forward(np.log1p)
def log1p_dot(y, x):
    return (lambda dx: np.divide(dx, 1.0 + x),)


binary_rule(np.logaddexp, "np.exp(a - y)", "np.exp(b - y)")


# ---- elementwise: powers and roots ------------------------------------------

@reverse(np.hypot)
def hypot_bar(y, g, a, b):
    return (unbroadcast(g * ratio_or_zero(a, y), a), unbroadcast(g * ratio_or_zero(b, y), b))


@forward(np.hypot)
def hypot_dot(y, a, b):
    return (lambda da: lift_tangent(da, a, y) * ratio_or_zero(a, y),
            lambda db: lift_tangent(db, b, y) * ratio_or_zero(b, y))


# n / d taken as 0 where d == 0 (hypot and arctan2 at the origin): its derivatives are 0
# there too, so that a second derivative follows the same kink policy
@reverse(ratio_or_zero)
def ratio_or_zero_bar(y, g, n, d):
    c = inverse_or_zero(d)
    return (unbroadcast(g * c, n), unbroadcast(-g * y * c, d))


@forward(ratio_or_zero)
def ratio_or_zero_dot(y, n, d):
    c = inverse_or_zero(d)
    return (lambda dn: lift_tangent(dn, n, y) * c, lambda dd: -lift_tangent(dd, d, y) * (y * c))


# ---- elementwise: trigonometric and hyperbolic ------------------------------

@reverse(np.arctan2)
def arctan2_bar(y, g, a, b):
    r = a * a + b * b
    return (unbroadcast(g * ratio_or_zero(b, r), a), unbroadcast(-g * ratio_or_zero(a, r), b))


@forward(np.arctan2)
def arctan2_dot(y, a, b):
    r = a * a + b * b
    return (lambda da: lift_tangent(da, a, y) * ratio_or_zero(b, r),
            lambda db: -lift_tangent(db, b, y) * ratio_or_zero(a, r))


# ---- elementwise: kinks and selection ---------------------------------------

@reverse(np.maximum, np.fmax)
def maximum_bar(y, g, a, b):
    w = maximum_weight(a, b)
    return (unbroadcast(g * w, a), unbroadcast(g * (1.0 - w), b))


@forward(np.maximum, np.fmax)
def maximum_dot(y, a, b):
    w = maximum_weight(a, b)
    return (lambda da: lift_tangent(da, a, y) * w, lambda db: lift_tangent(db, b, y) * (1.0 - w))


@reverse(np.minimum, np.fmin)
def minimum_bar(y, g, a, b):
    w = maximum_weight(b, a)
    return (unbroadcast(g * w, a), unbroadcast(g * (1.0 - w), b))


@forward(np.minimum, np.fmin)
def minimum_dot(y, a, b):
    w = maximum_weight(b, a)
    return (lambda da: lift_tangent(da, a, y) * w, lambda db: lift_tangent(db, b, y) * (1.0 - w))


@reverse(np.where)
def where_bar(y, g, condition, a, b):
    return (None, unbroadcast(np.where(condition, g, 0.0), a),
            unbroadcast(np.where(condition, 0.0, g), b))


@forward(np.where)
def where_dot(y, condition, a, b):
    return (None, lambda da: np.where(condition, broadcast_tangent(da, a, y), 0.0),
            lambda db: np.where(condition, 0.0, broadcast_tangent(db, b, y)))


@reverse(np.clip)
def clip_bar(y, g, a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    lo = clip_pick(a_min, min)
    hi = clip_pick(a_max, max)
    return (unbroadcast(g * clip_inside(a, lo, hi), a),
            clip_bound_back(g, a, a_min, True), clip_bound_back(g, a, a_max, False), None,
            clip_bound_back(g, a, min, True), clip_bound_back(g, a, max, False))


@forward(np.clip)
def clip_dot(y, a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    lo = clip_pick(a_min, min)
    hi = clip_pick(a_max, max)
    return (lambda da: broadcast_tangent(da, a, y) * clip_inside(a, lo, hi),
            lambda dlo: broadcast_tangent(dlo, a_min, y) * clip_outside(a, a_min, True),
            lambda dhi: broadcast_tangent(dhi, a_max, y) * clip_outside(a, a_max, False), None,
            lambda dlo: broadcast_tangent(dlo, min, y) * clip_outside(a, min, True),
            lambda dhi: broadcast_tangent(dhi, max, y) * clip_outside(a, max, False))


# piecewise-constant helpers (weights, masks, axes): zero derivative where defined
nondiff(maximum_weight, clip_pick, clip_inside, clip_outside)

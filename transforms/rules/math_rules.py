"""Derivative rules for the ``math`` module (scalar arguments).

Each derivative factor is a Python float computed with ``math``, multiplied
into the cotangent (reverse) or the tangent (forward), so forward rules also
work on a vector-mode tangent of shape ``(k,)``.

Kinks: ``fabs`` and ``copysign`` have derivative 0 at 0; ``atan2`` and
``hypot`` have derivative 0 at the origin. Where the derivative is infinite
(``sqrt``, ``cbrt``, ``asin``, ``acos`` at the edge of their domain) it is
``inf``, never a ZeroDivisionError.

The unary functions (``exp``, ``sin``, ``sqrt``, ``erf``...) are one line each in
numpy_rules.py, beside their NumPy twins (``scalar_rule``); the others are here.
"""
import math

from srcad.transforms.rules.registry import forward, nondiff, reverse, scalar_result, shape
from srcad.kernels.scalar import math_pow_dbase, math_pow_log, math_ratio, math_recip, math_sign


@reverse(math_recip)
def math_recip_bar(y, g, v):
    return (-g * (y * y),)          # -inf at 0: the one-sided limit, as NumPy's 1 / v


@forward(math_recip)
def math_recip_dot(y, v):
    return (lambda dv: -dv * (y * y),)


# ---- exponentials and logarithms --------------------------------------------

@reverse(math.log)
def log_bar(y, g, x, base=math.e):
    return (g / (x * math.log(base)), -g * y / (base * math.log(base)))


@forward(math.log)
def log_dot(y, x, base=math.e):
    return (lambda dx: dx / (x * math.log(base)), lambda db: -db * y / (base * math.log(base)))


# ---- powers and roots -------------------------------------------------------

@reverse(math.pow)
def pow_bar(y, g, a, b):
    return (g * math_pow_dbase(a, b), g * (y * math_pow_log(a)))


@forward(math.pow)
def pow_dot(y, a, b):
    return (lambda da: da * math_pow_dbase(a, b), lambda db: db * (y * math_pow_log(a)))


@reverse(math.hypot)
def hypot_bar(y, g, a, b):
    return (g * math_ratio(a, y), g * math_ratio(b, y))


@forward(math.hypot)
def hypot_dot(y, a, b):
    return (lambda da: da * math_ratio(a, y), lambda db: db * math_ratio(b, y))


# ---- trigonometric and hyperbolic -------------------------------------------

@reverse(math.atan2)
def atan2_bar(y, g, a, b):
    r = a * a + b * b
    return (g * math_ratio(b, r), -g * math_ratio(a, r))


@forward(math.atan2)
def atan2_dot(y, a, b):
    r = a * a + b * b
    return (lambda da: da * math_ratio(b, r), lambda db: -db * math_ratio(a, r))


# ---- sign-like --------------------------------------------------------------

@reverse(math.copysign)
def copysign_bar(y, g, x, s):
    return (g * (math_sign(x) * math.copysign(1.0, s)), None)


@forward(math.copysign)
def copysign_dot(y, x, s):
    return (lambda dx: dx * (math_sign(x) * math.copysign(1.0, s)), None)


# piecewise-constant helpers (weights, masks, axes): zero derivative where defined
nondiff(math_sign)

# every function of math returns a number
shape(scalar_result, *(f for f in vars(math).values() if callable(f)))

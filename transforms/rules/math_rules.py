"""Derivative rules for the ``math`` module (scalar arguments).

Each derivative factor is a Python float computed with ``math``, multiplied
into the cotangent (reverse) or the tangent (forward), so forward rules also
work on a vector-mode tangent of shape ``(k,)``.

Kinks: ``fabs`` and ``copysign`` have derivative 0 at 0; ``atan2`` and
``hypot`` have derivative 0 at the origin. Where the derivative is infinite
(``sqrt``, ``cbrt``, ``asin``, ``acos`` at the edge of their domain) it is
``inf``, never a ZeroDivisionError.
"""
import math

from srcad.transforms.rules.registry import forward, nondiff, reverse
from srcad.kernels.scalar import math_pow_dbase, math_pow_log, math_ratio, math_recip, math_sign



@reverse(math_recip)
def math_recip_bar(y, g, v):
    return (-g * (y * y),)          # -inf at 0: the one-sided limit, as NumPy's 1 / v


@forward(math_recip)
def math_recip_dot(y, v):
    return (lambda dv: -dv * (y * y),)


# ---- exponentials and logarithms --------------------------------------------

@reverse(math.exp)
def exp_bar(y, g, x):
    return (g * y,)


@forward(math.exp)
def exp_dot(y, x):
    return (lambda dx: dx * y,)


@reverse(math.exp2)
def exp2_bar(y, g, x):
    return (g * (y * math.log(2.0)),)


@forward(math.exp2)
def exp2_dot(y, x):
    return (lambda dx: dx * (y * math.log(2.0)),)


@reverse(math.expm1)
def expm1_bar(y, g, x):
    return (g * (y + 1.0),)


@forward(math.expm1)
def expm1_dot(y, x):
    return (lambda dx: dx * (y + 1.0),)


@reverse(math.log)
def log_bar(y, g, x, base=math.e):
    return (g / (x * math.log(base)), -g * y / (base * math.log(base)))


@forward(math.log)
def log_dot(y, x, base=math.e):
    return (lambda dx: dx / (x * math.log(base)), lambda db: -db * y / (base * math.log(base)))


@reverse(math.log2)
def log2_bar(y, g, x):
    return (g / (x * math.log(2.0)),)


@forward(math.log2)
def log2_dot(y, x):
    return (lambda dx: dx / (x * math.log(2.0)),)


@reverse(math.log10)
def log10_bar(y, g, x):
    return (g / (x * math.log(10.0)),)


@forward(math.log10)
def log10_dot(y, x):
    return (lambda dx: dx / (x * math.log(10.0)),)


@reverse(math.log1p)
def log1p_bar(y, g, x):
    return (g / (1.0 + x),)


@forward(math.log1p)
def log1p_dot(y, x):
    return (lambda dx: dx / (1.0 + x),)


# ---- powers and roots -------------------------------------------------------

@reverse(math.sqrt)
def sqrt_bar(y, g, x):
    return (g * (0.5 * math_recip(y)),)


@forward(math.sqrt)
def sqrt_dot(y, x):
    return (lambda dx: dx * (0.5 * math_recip(y)),)


@reverse(math.cbrt)
def cbrt_bar(y, g, x):
    return (g * math_recip(3.0 * y * y),)


@forward(math.cbrt)
def cbrt_dot(y, x):
    return (lambda dx: dx * math_recip(3.0 * y * y),)


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

@reverse(math.sin)
def sin_bar(y, g, x):
    return (g * math.cos(x),)


@forward(math.sin)
def sin_dot(y, x):
    return (lambda dx: dx * math.cos(x),)


@reverse(math.cos)
def cos_bar(y, g, x):
    return (-g * math.sin(x),)


@forward(math.cos)
def cos_dot(y, x):
    return (lambda dx: -dx * math.sin(x),)


@reverse(math.tan)
def tan_bar(y, g, x):
    return (g * (1.0 + y * y),)


@forward(math.tan)
def tan_dot(y, x):
    return (lambda dx: dx * (1.0 + y * y),)


@reverse(math.asin)
def asin_bar(y, g, x):
    return (g * math_recip(math.sqrt(1.0 - x * x)),)


@forward(math.asin)
def asin_dot(y, x):
    return (lambda dx: dx * math_recip(math.sqrt(1.0 - x * x)),)


@reverse(math.acos)
def acos_bar(y, g, x):
    return (-g * math_recip(math.sqrt(1.0 - x * x)),)


@forward(math.acos)
def acos_dot(y, x):
    return (lambda dx: -dx * math_recip(math.sqrt(1.0 - x * x)),)


@reverse(math.atan)
def atan_bar(y, g, x):
    return (g / (1.0 + x * x),)


@forward(math.atan)
def atan_dot(y, x):
    return (lambda dx: dx / (1.0 + x * x),)


@reverse(math.atan2)
def atan2_bar(y, g, a, b):
    r = a * a + b * b
    return (g * math_ratio(b, r), -g * math_ratio(a, r))


@forward(math.atan2)
def atan2_dot(y, a, b):
    r = a * a + b * b
    return (lambda da: da * math_ratio(b, r), lambda db: -db * math_ratio(a, r))


@reverse(math.sinh)
def sinh_bar(y, g, x):
    return (g * math.cosh(x),)


@forward(math.sinh)
def sinh_dot(y, x):
    return (lambda dx: dx * math.cosh(x),)


@reverse(math.cosh)
def cosh_bar(y, g, x):
    return (g * math.sinh(x),)


@forward(math.cosh)
def cosh_dot(y, x):
    return (lambda dx: dx * math.sinh(x),)


@reverse(math.tanh)
def tanh_bar(y, g, x):
    return (g * (1.0 - y * y),)


@forward(math.tanh)
def tanh_dot(y, x):
    return (lambda dx: dx * (1.0 - y * y),)


@reverse(math.asinh)
def asinh_bar(y, g, x):
    return (g / math.sqrt(x * x + 1.0),)


@forward(math.asinh)
def asinh_dot(y, x):
    return (lambda dx: dx / math.sqrt(x * x + 1.0),)


@reverse(math.acosh)
def acosh_bar(y, g, x):
    return (g * math_recip(math.sqrt(x * x - 1.0)),)


@forward(math.acosh)
def acosh_dot(y, x):
    return (lambda dx: dx * math_recip(math.sqrt(x * x - 1.0)),)


@reverse(math.atanh)
def atanh_bar(y, g, x):
    return (g * math_recip(1.0 - x * x),)


@forward(math.atanh)
def atanh_dot(y, x):
    return (lambda dx: dx * math_recip(1.0 - x * x),)


@reverse(math.degrees)
def degrees_bar(y, g, x):
    return (g * (180.0 / math.pi),)


@forward(math.degrees)
def degrees_dot(y, x):
    return (lambda dx: dx * (180.0 / math.pi),)


@reverse(math.radians)
def radians_bar(y, g, x):
    return (g * (math.pi / 180.0),)


@forward(math.radians)
def radians_dot(y, x):
    return (lambda dx: dx * (math.pi / 180.0),)


# ---- special functions ------------------------------------------------------

@reverse(math.erf)
def erf_bar(y, g, x):
    return (g * (2.0 / math.sqrt(math.pi) * math.exp(-x * x)),)


@forward(math.erf)
def erf_dot(y, x):
    return (lambda dx: dx * (2.0 / math.sqrt(math.pi) * math.exp(-x * x)),)


@reverse(math.erfc)
def erfc_bar(y, g, x):
    return (g * (-2.0 / math.sqrt(math.pi) * math.exp(-x * x)),)


@forward(math.erfc)
def erfc_dot(y, x):
    return (lambda dx: dx * (-2.0 / math.sqrt(math.pi) * math.exp(-x * x)),)


# ---- sign-like --------------------------------------------------------------

@reverse(math.fabs)
def fabs_bar(y, g, x):
    return (g * math_sign(x),)


@forward(math.fabs)
def fabs_dot(y, x):
    return (lambda dx: dx * math_sign(x),)


@reverse(math.copysign)
def copysign_bar(y, g, x, s):
    return (g * (math_sign(x) * math.copysign(1.0, s)), None)


@forward(math.copysign)
def copysign_dot(y, x, s):
    return (lambda dx: dx * (math_sign(x) * math.copysign(1.0, s)), None)


# piecewise-constant helpers (weights, masks, axes): zero derivative where defined
nondiff(math_sign)

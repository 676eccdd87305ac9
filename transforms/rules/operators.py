"""Derivative rules for arithmetic: Python operators and their NumPy ufuncs.

``a + b`` reaches the passes as ``operator.add(a, b)``; ``np.add(a, b)``,
``np.power`` and ``pow`` mean the same arithmetic and share the rules here.
Operands broadcast: reverse contributions are summed back to each operand's
shape with ``unbroadcast``; forward terms align a lower-rank operand's tangent
with ``lift_tangent`` (or ``broadcast_tangent`` when nothing else in the term
has the result's shape), so every forward rule here supports vector mode.

``a @ b`` (``operator.matmul``) shares ``np.matmul``'s rule in numpy_rules.py.

Kinks: ``a ** b`` contributes ``0`` to ``b`` where ``a <= 0`` (the log of the
base is taken only where it is real) and ``0`` to ``a`` where ``b == 0``.
"""
import builtins
import math
import operator

import numpy as np

from srcad.kernels.broadcast import (
    broadcast_tangent, broadcast_tangent_as, lift_tangent, lift_tangent_as, tangent_lead,
    unbroadcast, unbroadcast_into)
from srcad.transforms.rules.registry import (
    constant_number, elementwise, forward, into_form, nondiff, out_form, reverse, sum_form)
from srcad.kernels.power import pow_dbase, pow_dbase_db, pow_ddbase, pow_log
from srcad.transforms.rules.templates import linear


# ---- sums and differences ---------------------------------------------------

@reverse(operator.add, np.add)
def add_bar(y, g, a, b, out=None):
    return (unbroadcast(g, a), unbroadcast(g, b))


@forward(operator.add, np.add)
def add_dot(y, a, b, out=None):
    return (lambda da: broadcast_tangent(da, a, y), lambda db: broadcast_tangent(db, b, y))


@reverse(operator.sub, np.subtract)
def sub_bar(y, g, a, b, out=None):
    return (unbroadcast(g, a), unbroadcast(-g, b))


@forward(operator.sub, np.subtract)
def sub_dot(y, a, b, out=None):
    return (lambda da: broadcast_tangent(da, a, y), lambda db: -broadcast_tangent(db, b, y))


# a % b is a - floor(a / b) * b (np.fmod and math.fmod truncate instead): the quotient is
# piecewise constant (a // b is on the list in piecewise.py)
@reverse(operator.mod, np.remainder)
def mod_bar(y, g, a, b, out=None):
    return (unbroadcast(g, a), unbroadcast(-g * np.floor_divide(a, b), b))


@forward(operator.mod, np.remainder)
def mod_dot(y, a, b, out=None):
    return (lambda da: broadcast_tangent(da, a, y),
            lambda db: -lift_tangent(db, b, y) * np.floor_divide(a, b))


@reverse(np.fmod, math.fmod)
def fmod_bar(y, g, a, b, out=None):
    return (unbroadcast(g, a), unbroadcast(-g * np.trunc(np.divide(a, b)), b))


@forward(np.fmod, math.fmod)
def fmod_dot(y, a, b, out=None):
    return (lambda da: broadcast_tangent(da, a, y),
            lambda db: -lift_tangent(db, b, y) * np.trunc(np.divide(a, b)))


linear(operator.neg, np.negative, apply="-d", params="a, out=None")
linear(operator.pos, np.positive, apply="+d", params="a, out=None")


# ---- products and quotients -------------------------------------------------

@reverse(operator.mul, np.multiply)
def mul_bar(y, g, a, b, out=None):
    return (unbroadcast(g * b, a), unbroadcast(g * a, b))


@forward(operator.mul, np.multiply)
def mul_dot(y, a, b, out=None):
    return (lambda da: lift_tangent(da, a, y) * b, lambda db: a * lift_tangent(db, b, y))


@reverse(operator.truediv)
def truediv_bar(y, g, a, b, out=None):
    return (unbroadcast(g / b, a), unbroadcast(-g * y / b, b))


@forward(operator.truediv)
def truediv_dot(y, a, b, out=None):
    return (lambda da: lift_tangent(da, a, y) / b, lambda db: -lift_tangent(db, b, y) * (y / b))


# np.divide of Python floats by 0 gives inf where ``/`` raises: so do its derivatives

@reverse(np.divide)
def divide_bar(y, g, a, b, out=None):
    return (unbroadcast(np.divide(g, b), a), unbroadcast(-g * np.divide(y, b), b))


@forward(np.divide)
def divide_dot(y, a, b, out=None):
    return (lambda da: np.divide(lift_tangent(da, a, y), b),
            lambda db: -lift_tangent(db, b, y) * np.divide(y, b))


# ---- powers -----------------------------------------------------------------

@reverse(operator.pow, np.power, builtins.pow, when={"b": 2})
@reverse(operator.pow, np.power, builtins.pow, when={"b": 2.0})
def pow_bar_square(y, g, a, b, out=None):
    return (unbroadcast(g * 2.0 * a, a), None)


# a constant exponent of at least 2 is written into the derivative: 4.0 * a ** 3 (a
# smaller or negative one keeps pow_dbase: 0 ** -1 raises in Python, pow_dbase gives inf)
@reverse(operator.pow, np.power, builtins.pow, when={"b": constant_number(lambda b: b >= 2)})
def pow_bar_constant(y, g, a, b, out=None):
    return (unbroadcast(g * (b * 1.0) * a ** (b - 1), a), None)


@forward(operator.pow, np.power, builtins.pow, when={"b": 2})
@forward(operator.pow, np.power, builtins.pow, when={"b": 2.0})
def pow_dot_square(y, a, b, out=None):
    return (lambda da: lift_tangent(da, a, y) * (2.0 * a), None)


@forward(operator.pow, np.power, builtins.pow, when={"b": constant_number(lambda b: b >= 2)})
def pow_dot_constant(y, a, b, out=None):
    return (lambda da: lift_tangent(da, a, y) * ((b * 1.0) * a ** (b - 1)), None)


@reverse(operator.pow, np.power, builtins.pow)
def pow_bar(y, g, a, b, out=None):
    return (unbroadcast(g * pow_dbase(a, b), a), unbroadcast(g * y * pow_log(a), b))


@forward(operator.pow, np.power, builtins.pow)
def pow_dot(y, a, b, out=None):
    return (lambda da: lift_tangent(da, a, y) * pow_dbase(a, b),
            lambda db: lift_tangent(db, b, y) * (y * pow_log(a)))


# ---- out= forms of the operators (used by the buffer plan) -------------------

into_form(unbroadcast, unbroadcast_into)
sum_form(unbroadcast, np.sum)
out_form(operator.add, np.add)
out_form(operator.sub, np.subtract)
out_form(operator.mul, np.multiply)
out_form(operator.truediv, np.divide)
out_form(operator.neg, np.negative)


# ---- rules for the helpers above, so generated code can be differentiated again --

@reverse(pow_dbase)
def pow_dbase_bar(y, g, a, b):
    return (unbroadcast(g * pow_ddbase(a, b), a), unbroadcast(g * pow_dbase_db(a, b), b))


@forward(pow_dbase)
def pow_dbase_dot(y, a, b):
    return (lambda da: lift_tangent(da, a, y) * pow_ddbase(a, b),
            lambda db: lift_tangent(db, b, y) * pow_dbase_db(a, b))


@reverse(unbroadcast)
def unbroadcast_bar(y, g, c, x):
    return (np.broadcast_to(g, np.shape(c)) + 0.0, None)


@forward(unbroadcast, vector=False)
def unbroadcast_dot(y, c, x):
    return (lambda dc: unbroadcast(dc, x), None)


@reverse(lift_tangent)
def lift_tangent_bar(y, g, dx, x, z):
    return (np.reshape(g, np.shape(dx)), None, None)


@forward(lift_tangent, vector=False)
def lift_tangent_dot(y, dx, x, z):
    return (lambda d: lift_tangent_as(d, dx, x, z), None, None)


@reverse(broadcast_tangent)
def broadcast_tangent_bar(y, g, dx, x, z):
    return (np.reshape(unbroadcast(g, lift_tangent(dx, x, z)), np.shape(dx)), None, None)


@forward(broadcast_tangent, vector=False)
def broadcast_tangent_dot(y, dx, x, z):
    return (lambda d: broadcast_tangent_as(d, dx, x, z), None, None)


nondiff(tangent_lead)

elementwise(pow_dbase)

"""Kernels that generated code calls for the rules in srcad.transforms.rules.math_rules."""
import math


def math_recip(v):
    """1 / v, with 1 / 0 = inf instead of ZeroDivisionError."""
    return 1.0 / v if v != 0 else math.inf


def math_sign(v):
    """The sign of v as a float, 0 at 0."""
    return float(v > 0) - float(v < 0)


def math_ratio(n, d):
    """n / d, taken as 0 where d == 0 (a kink at the origin)."""
    return n / d if d != 0 else 0.0


def math_pow_dbase(a, b):
    """d(a**b)/da = b * a**(b-1): 0 where b == 0, inf at a == 0 when b < 1."""
    if b == 0:
        return 0.0
    if a == 0 and b < 1:
        return math.inf
    return b * a ** (b - 1)


def math_pow_log(a):
    """log(a) where a > 0, else 0."""
    return math.log(a) if a > 0 else 0.0

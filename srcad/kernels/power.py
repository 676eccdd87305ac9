"""Kernels that generated code calls for the rules in srcad.transforms.rules.operators."""
import math

import numpy as np


def power(a, e):
    """``a ** e``; a zero Python base under a negative exponent gives inf (or -inf) as in
    NumPy, where Python raises ZeroDivisionError (the one-sided derivative of sqrt at 0)."""
    if type(a) in (float, int) and a == 0 and np.ndim(e) == 0 and e < 0:
        with np.errstate(divide="ignore"):
            return float(np.power(float(a), e))
    return a ** e


def pow_dbase(a, b):
    """d(a**b)/da = b * a**(b-1), taken as 0 where b == 0."""
    if type(b) is int or type(b) is float or np.ndim(b) == 0:
        if b == 2:
            return 2.0 * a
        if b == 3:
            return 3.0 * (a * a)
        return b * power(a, b - 1) if b != 0 else a * 0.0
    return np.where(b == 0, 0.0, b * a ** np.where(b == 0, 1.0, b - 1.0))


def pow_log(a):
    """log(a) where a > 0, else 0: the exponent's derivative is a**b * log(a)."""
    if isinstance(a, np.ndarray):
        return np.log(np.where(a > 0, a, 1.0))
    return math.log(a) if a > 0 else 0.0


def pow_ddbase(a, b):
    """d/da of b * a**(b-1); exactly 0 where b == 0 (``pow_dbase`` is 0 there)."""
    if type(b) is int or type(b) is float or np.ndim(b) == 0:
        return pow_dbase(a, b - 1) * b if b != 0 else a * 0.0
    return np.where(b == 0, 0.0, pow_dbase(a, b - 1) * b)


def pow_dbase_db(a, b):
    """d/db of b * a**(b-1) = a**(b-1) * (1 + b log a), with log a taken as 0 where a <= 0."""
    return power(a, b - 1) * (1 + b * pow_log(a))

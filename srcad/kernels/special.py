"""Kernels for the rules of ``scipy.special`` (srcad.transforms.rules.scipy_special);
``special`` is None when SciPy is not installed (no rules are registered then)."""
import numpy as np

from srcad.errors import unsupported_here

try:
    from scipy import special
except ImportError:          # SciPy is optional
    special = None


def special_polygamma(x, n):
    """``polygamma(n, x)``: the derivative of ``gammaln`` (n = 0), of ``digamma`` (n = 1)..."""
    return special.polygamma(n, x)


def logsumexp_scale(b, return_sign):
    """The constant weights ``b`` of ``logsumexp`` (1.0 when there are none)."""
    if return_sign:
        raise unsupported_here("scipy.special.logsumexp with return_sign=True has no "
                               "derivative rule")
    return 1.0 if b is None else np.asarray(b)

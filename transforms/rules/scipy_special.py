"""Derivative rules for ``scipy.special`` (registered only when SciPy is installed):
``expit``, ``logit``, ``erf``, ``erfc``, ``gammaln``, ``psi``/``digamma``, ``xlogy``,
``logsumexp`` (its ``b`` weights constant, ``return_sign=False``); and ``math.gamma``,
``math.lgamma``, whose derivatives need SciPy's digamma.

``xlogy(x, y)`` is ``x * log(y)``, 0 where ``x`` is 0: ``d/dx = log(y)``, ``d/dy = x / y``.
``logsumexp`` is a reduction (its ``axis`` and ``keepdims`` like ``np.sum``'s): the cotangent
spreads back with the weights ``b * exp(a - y)``.
"""
import math

import numpy as np

from srcad.transforms.rules.registry import forward, nondiff, reverse
from srcad.transforms.rules.templates import binary_rule, scalar_rule
from srcad.kernels.broadcast import lift_tangent, unbroadcast  # noqa: F401  (binary_rule)
from srcad.kernels.moves import not_differentiated
from srcad.kernels.reductions import reduce_expand, reduce_keep, reduce_tangent_axis
from srcad.kernels.special import (  # noqa: F401  (named by scalar_rule)
    logsumexp_scale, special, special_polygamma)

if special is not None:
    scalar_rule(special.expit, None, "y * (1.0 - y)")
    scalar_rule(special.logit, None, "1.0 / (x * (1.0 - x))")
    scalar_rule(special.erf, None, "2.0 / sqrt(pi) * exp(-x * x)")
    scalar_rule(special.erfc, None, "-2.0 / sqrt(pi) * exp(-x * x)")
    scalar_rule(special.gammaln, None, "special_polygamma(x, 0)")
    scalar_rule(special.psi, None, "special_polygamma(x, 1)")
    scalar_rule(None, math.lgamma, "special_polygamma(x, 0)")       # (math has no digamma)
    scalar_rule(None, math.gamma, "y * special_polygamma(x, 0)")

    @reverse(special_polygamma)
    def special_polygamma_bar(y, g, x, n):
        return (g * special_polygamma(x, n + 1),)

    @forward(special_polygamma)
    def special_polygamma_dot(y, x, n):
        return (lambda dx: dx * special_polygamma(x, n + 1),)

    binary_rule(special.xlogy, "np.log(b)", "a / b")

    @reverse(special.logsumexp)
    def logsumexp_bar(y, g, a, axis=None, b=None, keepdims=False, return_sign=False):
        w = np.exp(a - reduce_keep(y, a, axis, keepdims)) * logsumexp_scale(b, return_sign)
        return (reduce_expand(g, a, axis, keepdims) * w, None,
                not_differentiated("scipy.special.logsumexp's b"))

    @forward(special.logsumexp)
    def logsumexp_dot(y, a, axis=None, b=None, keepdims=False, return_sign=False):
        w = np.exp(a - reduce_keep(y, a, axis, keepdims)) * logsumexp_scale(b, return_sign)
        return (lambda da: np.sum(da * w, axis=reduce_tangent_axis(axis, da, a),
                                  keepdims=keepdims), None,
                lambda db: not_differentiated("scipy.special.logsumexp's b"))

nondiff(logsumexp_scale)

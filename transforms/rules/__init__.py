"""The derivative rules. Importing this package fills the tables in ``registry``.

One module per topic; each registers its rules at import time. ``scipy_special`` is
deferred (``registry.defer``): imported when a lookup misses with ``scipy.special``
imported, for ``math.gamma``/``math.lgamma`` (their derivatives need SciPy's digamma),
or when every rule is listed; ``MODULES`` (every rule module) imports it too.
"""
import math
from srcad.transforms.rules import (  # noqa: F401
    builtins_rules,
    math_rules,
    numpy_builders,
    numpy_curves,
    numpy_decompositions,
    numpy_einsum,
    numpy_elementwise,
    numpy_linalg,
    numpy_moves,
    numpy_products,
    numpy_reductions,
    numpy_reorder,
    numpy_rules,
    numpy_shapes,
    numpy_statistics,
    operators,
    piecewise,
    registry,
)

registry.defer(__name__ + ".scipy_special", modules=("scipy.special",),
               targets=(math.gamma, math.lgamma))

_EAGER = (operators, math_rules, numpy_rules, numpy_reductions, numpy_linalg, numpy_shapes,
          builtins_rules, numpy_builders, numpy_reorder, piecewise,
          numpy_einsum, numpy_moves, numpy_products, numpy_curves,
          numpy_elementwise, numpy_decompositions, numpy_statistics)


def __getattr__(name):
    if name == "MODULES":           # every rule module, the deferred ones imported
        registry.load_deferred()
        from srcad.transforms.rules import scipy_special
        return _EAGER + (scipy_special,)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

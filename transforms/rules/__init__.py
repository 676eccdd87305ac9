"""The derivative rules. Importing this package fills the tables in ``registry``.

One module per topic; each registers its rules at import time.
"""
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
    scipy_special,
)

MODULES = (operators, math_rules, numpy_rules, numpy_reductions, numpy_linalg, numpy_shapes,
           builtins_rules, numpy_builders, numpy_reorder, piecewise,
           numpy_einsum, numpy_moves, numpy_products, numpy_curves,
           numpy_elementwise, numpy_decompositions, scipy_special,
           numpy_statistics)

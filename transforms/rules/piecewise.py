"""The reviewed list of piecewise-constant functions: no derivative code, a zero gradient.

A function belongs here only when its result does not change as its float
arguments move by a small amount (almost everywhere): integer or boolean
results, shapes and sizes, results that depend on the arguments' shapes and
not on their values. Each entry says why. Anything not here and without a
rule is refused (``TransformError``) when a differentiated value flows into
it: put a function here only after checking that claim, and give anything
else a rule (``@srcad.adjoint`` / ``@srcad.tangent``).

(Rule modules mark their own internal helpers -- weights, masks, axes -- with
``nondiff`` beside the helper; those never see user values directly.)
"""
import builtins
import math
import operator

import numpy as np

from srcad.transforms.rules.registry import piecewise_constant

# ---- integer-valued: steps --------------------------------------------------
piecewise_constant("integer-valued: a step function of its argument",
                   np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix,
                   np.floor_divide, operator.floordiv,
                   math.floor, math.ceil, math.trunc, builtins.int, builtins.round)
piecewise_constant("the sign: -1, 0 or 1", np.sign, np.signbit)
piecewise_constant("0 or 1 (or its second argument exactly at 0)", np.heaviside)
piecewise_constant("integer arithmetic on integer arguments (a float argument raises)",
                   math.factorial, math.comb, math.perm, math.gcd)

# ---- indices and counts -----------------------------------------------------
piecewise_constant("an index or a permutation: integers",
                   np.argmax, np.argmin, np.argsort, np.nonzero, np.flatnonzero, np.argwhere,
                   np.searchsorted, np.digitize, np.lexsort)
piecewise_constant("a count: an integer", np.count_nonzero, np.bincount, np.linalg.matrix_rank)
piecewise_constant("index arrays built from a size", np.diag_indices, np.tril_indices,
                   np.triu_indices, np.indices)

# ---- shapes, sizes, types ---------------------------------------------------
piecewise_constant("depends on the shape only", np.shape, np.ndim, np.size, builtins.len)
piecewise_constant("an array of the argument's shape whose values do not depend on the argument's "
                   "values", np.zeros_like, np.ones_like, np.empty_like)
piecewise_constant("built from a shape or a size (integers)", np.zeros, np.ones, np.empty, np.eye,
                   np.identity)
piecewise_constant("a range of integers", builtins.range)
piecewise_constant("a type or kind test", builtins.isinstance, builtins.type, np.isscalar,
                   np.iterable, np.isfortran, np.isrealobj, np.iscomplexobj)
piecewise_constant("a dtype", np.result_type)
piecewise_constant("an index object", builtins.slice)

# ---- booleans ---------------------------------------------------------------
piecewise_constant("a boolean: a comparison",
                   np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
                   np.isclose, np.allclose, np.array_equal, np.array_equiv, math.isclose)
piecewise_constant("a boolean: a test of the value's class",
                   np.isfinite, np.isnan, np.isinf, np.isneginf, np.isposinf, np.isreal,
                   np.iscomplex,
                   math.isnan, math.isfinite, math.isinf)
piecewise_constant("a boolean: logic on truth values",
                   np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.any, np.all,
                   builtins.bool)

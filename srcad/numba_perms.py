"""numba twins of the permutations of ``np.swapaxes``, ``np.moveaxis`` and
``x.transpose(...)`` (srcad/kernels/shapes.py), for the cotangents and tangents of
those calls in the numba core, and of ``np.sort`` of a vector (srcad/kernels/reorder.py).

NumPy's kernels return the permutation as a tuple of ``ndim`` ints; here it is a 1-d
int array of the same entries (numba cannot make a tuple whose length is a run-time
value), which ``shape_transpose_back``/``shape_transpose_tangent`` (srcad/numba_kernels.py)
take and turn into a tuple of the array argument's rank. Axes given as tuples
(``np.moveaxis(x, (0, 1), (2, 0))``) are left to NumPy: typing returns None and the
backend refuses or falls back.
"""
import numba
import numpy as np
from numba.extending import overload

from srcad.kernels import reorder, shapes
from srcad.numba_arrays import absent


def _ints(*ts):
    return all(isinstance(t, numba.types.Integer) for t in ts)


def shape_swap_perm(axis1, axis2, ndim):
    raise NotImplementedError("njit only")


@overload(shape_swap_perm)
def _shape_swap_perm(axis1, axis2, ndim):
    if not _ints(axis1, axis2, ndim):
        return None

    def impl(axis1, axis2, ndim):
        perm = np.arange(ndim)
        i, j = axis1 % ndim, axis2 % ndim
        perm[i], perm[j] = j, i
        return perm
    return impl


def shape_move_perm(source, destination, ndim):
    raise NotImplementedError("njit only")


@overload(shape_move_perm)
def _shape_move_perm(source, destination, ndim):
    """Entry ``destination`` is ``source``; the other axes follow in their order."""
    if not _ints(source, destination, ndim):
        return None

    def impl(source, destination, ndim):
        s, d = source % ndim, destination % ndim
        perm = np.empty(ndim, np.int64)
        rest = 0
        for k in range(ndim):
            if k == d:
                perm[k] = s
                continue
            if rest == s:
                rest += 1
            perm[k] = rest
            rest += 1
        return perm
    return impl


def shape_method_axes(axes):
    raise NotImplementedError("njit only")


@overload(shape_method_axes)
def _shape_method_axes(axes):
    """``x.transpose()``, ``x.transpose(1, 0)`` and ``x.transpose((1, 0))`` as one
    ``axes`` (None, or a tuple of ints)."""
    if not isinstance(axes, numba.types.BaseTuple):
        return None
    if axes.count == 0:
        return lambda axes: None
    if axes.count == 1 and isinstance(axes.types[0], numba.types.BaseTuple):
        return lambda axes: axes[0]
    if _ints(*axes.types):
        return lambda axes: axes
    return None


def array_transpose(a, *axes):
    raise NotImplementedError("njit only")


@overload(array_transpose)
def _array_transpose(a, *axes):
    """``a.transpose(*axes)``."""
    if not isinstance(a, numba.types.Array):
        return None
    if len(axes) == 0:
        return lambda a, *axes: np.transpose(a)
    if len(axes) == 1 and isinstance(axes[0], numba.types.BaseTuple) \
            and axes[0].count == a.ndim and _ints(*axes[0].types):
        return lambda a, *axes: np.transpose(a, axes[0])
    if len(axes) == a.ndim and _ints(*axes):
        return lambda a, *axes: np.transpose(a, axes)
    return None


def _sorted_vector(a, axis):
    """A 1-d array sorted along its one axis (``axis`` -1, 0 or None)."""
    return isinstance(a, numba.types.Array) and a.ndim == 1 \
        and isinstance(a.dtype, (numba.types.Float, numba.types.Integer)) \
        and (absent(axis) or isinstance(axis, numba.types.Integer))


def sort_back(g, a, axis):
    raise NotImplementedError("njit only")


@overload(sort_back)
def _sort_back(g, a, axis):
    """The cotangent of ``np.sort`` of a vector: ``g`` put back where each entry came
    from (numba's stable argsort orders ties, nan and inf as NumPy's does)."""
    if not (_sorted_vector(a, axis) and isinstance(g, numba.types.Array) and g.ndim == 1):
        return None

    def impl(g, a, axis):
        out = np.zeros(a.shape[0])          # (float64, as the NumPy kernel's)
        out[np.argsort(a, kind="mergesort")] = g
        return out
    return impl


def sort_tangent(d, a, axis):
    raise NotImplementedError("njit only")


@overload(sort_tangent)
def _sort_tangent(d, a, axis):
    """The tangent of ``np.sort`` of a vector (one direction: ``d`` shaped like ``a``)."""
    if not (_sorted_vector(a, axis) and isinstance(d, numba.types.Array) and d.ndim == 1):
        return None
    return lambda d, a, axis: d[np.argsort(a, kind="mergesort")]


# the NumPy kernels and their twins (by identity); see srcad/numba_runtime.py
TWINS = {shapes.shape_swap_perm: shape_swap_perm, shapes.shape_move_perm: shape_move_perm,
         shapes.shape_method_axes: shape_method_axes, shapes.array_transpose: array_transpose,
         reorder.sort_back: sort_back, reorder.sort_tangent: sort_tangent}

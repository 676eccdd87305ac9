"""What the Python entry in front of a numba core hands it, and the core's value.

The entry (``transforms/numba_form.py``) runs before the compiled core:
``seed_value`` makes ``grad``'s seed object 1.0 (the core checks the output is a
scalar before the reverse sweep), ``seed_pair`` also says whether the caller reads the
value (``keep``: None for ``grad``, which does not), and ``out_or_new`` gives the core
an array to write each gradient into. In the core, ``kept(value, keep)`` is the value
returned: with ``keep`` None it is a zero of the value's type that never reads the
value, so the compiler drops the work that only computed it (a loss summed up in the
loop the gradient runs in). numba compiles the core once per type of ``keep``.
"""
import numba
import numpy as np
from numba.extending import overload
from numba.np.numpy_support import as_dtype

from srcad import seeds


def seed_value(seed):
    """The seed as a value the core can take: ``grad``'s seed object is 1.0."""
    return seed.one if type(seed) is seeds.GradSeed else seed


def seed_pair(seed):
    """(the seed's value, ``keep``): ``keep`` is None when the caller (``grad``) drops the
    value, True otherwise."""
    if type(seed) is seeds.GradSeed:
        return seed.one, (True if seed.keep else None)
    return seed, True


def out_or_new(out, k, x):
    """The array the core writes the gradient of ``x`` into: ``out[k]``, else a new one
    like ``x`` (a float array), else None (numba then refuses what it cannot take)."""
    if out is not None:
        return out[k]
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return np.empty_like(x)
    return None


def kept(value, keep):
    """``value``, or a zero of its type when ``keep`` is None (see the module docstring)."""
    raise NotImplementedError("njit only")


@overload(kept)
def _kept(value, keep):
    if isinstance(keep, numba.types.NoneType) and isinstance(
            value, (numba.types.Float, numba.types.Integer)) \
            and not isinstance(value, numba.types.Literal):
        zero = as_dtype(value).type(0)
        return lambda value, keep: zero
    return lambda value, keep: value

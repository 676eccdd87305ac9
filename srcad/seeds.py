"""The seed ``grad`` passes to the generated reverse code, checked before the reverse sweep.

Generated reverse code reads its seed through ``_rt.grad_seed`` once the primal
sweep has computed the output, before any adjoint statement runs::

    def f_vjp(x, seed, out=None):
        t = np.outer(x, x)                      # primal sweep
        seed2 = _rt.grad_seed(seed, t)          # grad: ValueError here for a matrix output
        t_bar = seed2 ...                       # adjoint sweep

A pullback, a jacobian row or a nested sweep passes its cotangent, which
``grad_seed`` returns unchanged (one class comparison). ``grad`` passes its
``GradSeed``: ``grad_seed`` returns 1.0 (``(1.0, 0.0, 0.0)`` with has_aux) for a
real scalar output and otherwise raises grad's documented ValueError, so no
reverse sweep ever runs on an output grad cannot seed.
"""
import numpy as np


class GradSeed:
    """``grad``'s seed for the function named ``name`` (two per Differentiable).

    ``keep`` is False for the seed of a ``grad`` that reads its value only to know it is
    a scalar: compiled code (the numba backend) may then leave out the work that only
    computes the value (srcad/numba_entry.py ``seed_pair``)."""
    __slots__ = ("name", "has_aux", "one", "keep")

    def __init__(self, name, has_aux=False, keep=True):
        self.name = name
        self.has_aux = has_aux
        self.one = (1.0, 0.0, 0.0) if has_aux else 1.0
        self.keep = keep

    def __repr__(self):
        return f"<grad seed of {self.name}>"

    def checked(self, value):
        if self.has_aux:    # the value is (value, aux, len(result)) (srcad/outputs.py)
            if type(value) is not tuple or len(value) != 3 or value[2] != 2:
                return self.one                  # not a pair: grad reports it after the call
            error = scalar_error(self.name, (value[0], None), True)
        else:
            error = scalar_error(self.name, value)
        if error is not None:
            raise error
        return self.one


def grad_seed(seed, value):
    """The seed of the reverse sweep for the output ``value`` (see the module docstring)."""
    if seed.__class__ is not GradSeed:
        return seed
    if value.__class__ is float or value.__class__ is np.float64:
        return seed.one
    return seed.checked(value)


def scalar_error(name, value, has_aux=False):
    """The ValueError for a ``grad`` output that is not a real scalar, or None."""
    if has_aux:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            what = (f"a {len(value)}-tuple" if isinstance(value, (tuple, list))
                    else f"a {type(value).__name__}")
            return _flagged(ValueError(f"has_aux=True needs `{name}` to return a pair (value, "
                                       f"aux); it returned {what}"))
        value = value[0]
    if isinstance(value, (float, np.floating)):
        return None
    if isinstance(value, (tuple, list, dict)):
        hint = "" if has_aux else ("; if it returns (value, aux), pass has_aux=True")
        return _flagged(ValueError(f"grad needs a real scalar output; `{name}` returned a "
                                   f"{type(value).__name__}{hint}; otherwise use pullback or "
                                   f"jacobian"))
    if np.ndim(value) != 0 or np.asarray(value).dtype.kind not in "fiub":
        what = ("a complex value" if np.iscomplexobj(value) else
                f"a value of shape {np.shape(value)}" if np.ndim(value) else
                f"a {type(value).__name__}")
        return _flagged(ValueError(f"grad needs a real scalar output; `{name}` returned "
                                   f"{what}: use pullback or jacobian"))
    return None


def _flagged(error):
    error.srcad_scalar_output = True
    return error

"""Derivatives that travel between processes by reference, never as compiled code.

A ``Differentiable`` and the callables the functional forms return
(``srcad.grad(fn)``, ``value_and_grad``, ``jacobian``, ``hessian``,
``derivative``) pickle as the user function's module and qualified name plus
``wrt`` and the options, so they can be handed to worker processes::

    @srcad.differentiate
    def loss(w, X, y): ...                     # a module-level def

    with multiprocessing.Pool() as pool:
        grads = pool.map(loss.grad, batches)    # or pool.map(srcad.grad(energy), xs)

The receiving process imports the module, finds the function by name and
compiles the derivative itself, or loads it from its own disk cache. A function
that another process cannot find by name (a lambda, a function defined inside
another one, a name rebound since) cannot be pickled: ``pickle.PicklingError``
names it and says what to do.
"""
import importlib
import inspect
import pickle
import sys

import numpy as np


def _is_differentiable(obj):
    from srcad.api import Differentiable
    return isinstance(obj, Differentiable)


def _where(fn):
    code = getattr(fn, "__code__", None)
    return f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""


def _locate(fn):
    """(module, qualified name) under which another process finds ``fn``; raises
    ``pickle.PicklingError`` naming it when there is none."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "?")
    shown = f"`{qualname}`" + (f" of module {module}" if module else "") + _where(fn)
    if "<lambda>" in qualname:
        why = "a lambda has no name another process can import"
    elif "<locals>" in qualname:
        why = "a function defined inside another function has no name another process can import"
    elif not isinstance(module, str) or module not in sys.modules:
        why = "its module is not imported here"
    else:
        found = _walk(sys.modules[module], qualname)
        if found is fn or (_is_differentiable(found) and found.fn is fn):
            return module, qualname
        why = f"the name {module}.{qualname} now holds another object"
    raise pickle.PicklingError(
        f"cannot pickle the srcad derivative of {shown}: srcad pickles a function by reference "
        f"(module and qualified name) and {why}; define it with `def` at module level, "
        f"in a module the worker processes can import")


def _walk(obj, qualname):
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _wrt_spec(d):
    return d.wrt[0] if d.single else tuple(d.wrt)


def reduce_differentiable(d):
    """``Differentiable.__reduce__``: the function by name (or, for a derivative of a
    derivative, the inner derivative's callable, itself pickled by name) and the options."""
    options = (_wrt_spec(d), d.backend, d.has_aux, d.parallel)
    if d.inner is not None:
        return _nested, (d.fn,) + options
    return _by_name, _locate(d.fn) + options


def _by_name(module, qualname, wrt, backend, has_aux, parallel=False):
    """The Differentiable of ``module.qualname`` with these options, in this process: the
    decorated object itself when the module holds one with the same options."""
    found = _walk(importlib.import_module(module), qualname)
    if found is None:
        raise pickle.UnpicklingError(f"srcad: {module} has no function {qualname} to "
                                     f"differentiate in this process")
    from srcad.api import _differentiable
    if _is_differentiable(found):
        if (found.inner is None and _wrt_spec(found) == wrt and found.backend == backend
                and found.has_aux == has_aux and found.parallel == parallel):
            return found
        found = found.fn
    return _differentiable(found, wrt, has_aux, backend, parallel)


def _nested(fn, wrt, backend, has_aux, parallel=False):
    from srcad.api import _differentiable
    return _differentiable(fn, wrt, has_aux, backend, parallel)


class Derived:
    """What ``srcad.grad(fn)``, ``value_and_grad``, ``jacobian``, ``hessian`` and
    ``derivative`` return: one derivative of a ``Differentiable``, called like a function
    and pickled by reference."""

    def __init__(self, d, method, **options):
        self._d = d
        self._method = method
        self._options = options
        # the Differentiable's own method, taken once: a call is one more call, no lookup
        self._call = getattr(d, method) if method != "derivative" else None
        # options that are the method's defaults are not passed (no keywords on a call)
        self._passed = {k: v for k, v in options.items()
                        if self._call is None or not _default(self._call, k, v)}
        name = getattr(d.fn, "__name__", "f")
        self.__name__ = f"{name}_{method}"
        self.__qualname__ = f"{getattr(d.fn, '__qualname__', name)}_{method}"
        self.__module__ = getattr(d.fn, "__module__", None)
        self.__doc__ = f"srcad.{method} of {name} (wrt {', '.join(d.wrt)})."
        if method == "grad" and not d.has_aux and not getattr(d, "bound", False):
            self.__srcad_derivative__ = (d, "grad")     # grad(grad(f)) and calls in code
        else:
            shown = name + (", has_aux=True" if d.has_aux else "")
            self.__srcad_opaque__ = (f"srcad.{method}", shown)

    def __call__(self, *args, **kwargs):
        if self._call is None:
            return _derivative(self._d, *args, **kwargs)
        if kwargs:
            return self._call(*args, **self._options, **kwargs)
        if self._passed:
            return self._call(*args, **self._passed)
        return self._call(*args)

    def __reduce__(self):
        return _derived, (self._d, self._method, tuple(self._options.items()))

    def __repr__(self):
        return f"<srcad.{self._method} of {self._d.fn.__qualname__} wrt={self._d.wrt}>"


def _default(method, name, value):
    """Is ``value`` the default of ``method``'s parameter ``name`` (a plain constant)?"""
    p = inspect.signature(method).parameters.get(name)
    return p is not None and type(value) in (str, int, float, bool, type(None)) \
        and type(p.default) is type(value) and p.default == value


def _derived(d, method, options):
    return Derived(d, method, **dict(options))


def _derivative(d, x, *rest):
    """d fn / dx for a function of one scalar (forward mode; the value may be an array)."""
    if np.ndim(x) != 0:
        raise ValueError(f"derivative needs a scalar input, got shape {np.shape(x)}: "
                         "use jacobian")
    return d.jvp((x,) + rest, (1.0 if isinstance(x, float) else np.ones_like(x),))[1]

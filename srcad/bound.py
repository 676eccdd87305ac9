"""Derivatives of callables with arguments bound in advance: methods and ``functools.partial``.

    class Model:
        @srcad.differentiate
        def loss(self, x): ...

    Model().loss.grad(x)                              # d loss / d x; ``self`` is a constant
    srcad.grad(functools.partial(loss, data=X))(w)    # d loss / d w at data=X
    srcad.grad(model.predict)(x)                      # a bound method: its first parameter

A ``Bound`` calls the Differentiable of the underlying function with the bound
arguments put back in their places. ``self`` and a partial's values are ordinary
arguments of the compiled code: read when it runs, part of the argument
signature, never frozen into the generated source. ``wrt`` names (or counts)
the parameters the caller still passes; naming ``self`` differentiates with
respect to the object (a dataclass gets a dataclass of gradients).
"""
import functools
import inspect
import types

from srcad.arguments import wrt_names


def is_bound_callable(fn):
    return isinstance(fn, (functools.partial, types.MethodType, Bound))


def _label(fn):
    if isinstance(fn, functools.partial):
        return f"functools.partial({getattr(fn.func, '__name__', 'f')}, ...)"
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "f")


def _parts(fn):
    """(underlying plain function, positional prefix, keywords) of a partial or method."""
    from srcad.api import Differentiable
    prefix, keywords = (), {}
    if isinstance(fn, functools.partial):
        prefix, keywords, fn = tuple(fn.args), dict(fn.keywords), fn.func
    if isinstance(fn, types.MethodType):
        prefix, fn = (fn.__self__,) + prefix, fn.__func__
    if isinstance(fn, Bound):
        keywords = {**fn.keywords, **keywords}
        prefix, fn = fn.prefix + prefix, fn.d.fn
    if isinstance(fn, Differentiable):
        fn = fn.fn
    if isinstance(fn, (functools.partial, types.MethodType)):
        inner, more, kw = _parts(fn)           # a partial of a bound method
        return inner, more + prefix, {**kw, **keywords}
    return fn, prefix, keywords


def _visible(fn, prefix, keywords):
    """The parameters a caller still passes, by name."""
    params = list(inspect.signature(fn).parameters)
    return params[len(prefix):]


def bind(fn, wrt=None, has_aux=False, backend=None, parallel=False):
    """The Bound for a partial, a bound method or a Bound, differentiated w.r.t. ``wrt``
    (names or positions among the parameters a caller still passes)."""
    from srcad.api import Differentiable
    func, prefix, keywords = _parts(fn)
    if not inspect.isfunction(func):
        kind = type(func).__module__ + "." + type(func).__qualname__
        raise TypeError(f"srcad differentiates Python functions; `{_label(fn)}` wraps a "
                        f"{kind}")
    underlying = list(inspect.signature(func).parameters)
    visible = _visible(func, prefix, keywords)
    names, single = wrt_names(_label(fn), visible, wrt, bound=underlying)
    names = names[0] if single else names
    d = Differentiable(func, wrt=names, backend=backend, has_aux=has_aux, parallel=parallel)
    return Bound(fn, d, prefix, keywords, visible)


def method(d, obj):
    """``obj.loss`` for a Differentiable ``loss`` defined in a class body: a Bound whose
    ``wrt`` defaults to the first parameter after ``self``."""
    from srcad.api import Differentiable
    forms = d.__dict__.setdefault("_method_forms", {})
    inner = forms.get("d")
    if inner is None:
        wrt = d._wrt_given
        if wrt is None:
            if len(d.params) < 2:
                raise TypeError(f"`{d.fn.__qualname__}` takes no argument besides "
                                f"`{d.params[0]}`: there is nothing to differentiate")
            wrt = d.params[1]
        inner = forms["d"] = Differentiable(d.fn, wrt=wrt, backend=d.backend,
                                            has_aux=d.has_aux, parallel=d.parallel)
    return Bound(types.MethodType(d.fn, obj), inner, (obj,), {}, d.params[1:])


class Bound:
    """A Differentiable with leading (or keyword) arguments bound: the same methods, taking
    only the arguments the caller still passes."""

    bound = True        # its gradient has no gradient of its own (srcad/pickling.py)

    def __init__(self, fn, d, prefix, keywords, visible):
        self.callable = fn
        self.d = d
        self.fn = d.fn                  # the underlying function (its first parameters bound)
        self.prefix = prefix
        self.keywords = keywords
        self.params = visible
        self.wrt = d.wrt
        self.single = d.single
        self.has_aux = d.has_aux
        self.backend = d.backend
        self.__name__ = getattr(fn, "__name__", None) or d.fn.__name__
        self.__qualname__ = getattr(fn, "__qualname__", None) or d.fn.__qualname__
        self.__doc__ = d.fn.__doc__
        # called from differentiated code: the function and its bound leading arguments
        self.__srcad_bound__ = (d.fn, prefix) if not keywords else None

    def __repr__(self):
        return f"<srcad.Differentiable {_label(self.callable)} wrt={self.wrt}>"

    def _full(self, args, kwargs):
        return self.d._bind(self.prefix + tuple(args), {**self.keywords, **kwargs})

    def __call__(self, *args, **kwargs):
        return self.d.fn(*self.prefix, *args, **{**self.keywords, **kwargs})

    def grad(self, *args, out=None, **kwargs):
        return self.d.grad(*self._full(args, kwargs), out=out)

    def value_and_grad(self, *args, out=None, **kwargs):
        return self.d.value_and_grad(*self._full(args, kwargs), out=out)

    def pullback(self, *args, **kwargs):
        return self.d.pullback(*self._full(args, kwargs))

    def jvp(self, args, tangents):
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"jvp takes the arguments as a tuple, got {type(args).__name__}: "
                            f"write jvp((x,), (t,)) for one argument")
        return self.d.jvp(self._full(args, {}), tangents)

    def jacobian(self, *args, mode="auto", **kwargs):
        return self.d.jacobian(*self._full(args, kwargs), mode=mode)

    def hessian(self, *args, **kwargs):
        return self.d.hessian(*self._full(args, kwargs))

    def hvp(self, args, v):
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"hvp takes the arguments as a tuple, got {type(args).__name__}: "
                            f"write hvp((x,), v) for one argument")
        return self.d.hvp(self._full(args, {}), v)

    def source(self, kind="grad", *args, **options):
        if not isinstance(kind, str):
            kind, args = "grad", (kind,) + args
        if not args:
            return self.d.source(kind, **options)
        return self.d.source(kind, *self._full(args, {}), **options)

    def compiled(self, kind="grad", *args):
        return self.d.compiled(kind, *self._full(args, {}))

    @property
    def signatures(self):
        return self.d.signatures

"""The public API: ``@srcad.differentiate`` and the functional forms.

A ``Differentiable`` keeps one compiled function per (kind, argument
signature), in memory and on disk, and calls it directly on a hit::

    @srcad.differentiate
    def eam(x): ...

    eam.grad(x)                 # compiles once for float64[1d], then reuses
    print(eam.source("grad", x))
"""
import functools
import inspect
import threading

import numpy as np

from srcad import cache as disk
from srcad import codegen
from srcad.arguments import (_apart_from, _check_cotangent, _check_out, _check_tangents,
                             _write_out)
from srcad.entries import _code_key, _from_entry, _guards, entry_of, own_rule
from srcad.signature import (abstract, describe, fields_of, is_differentiable, is_numeric,
                              signature_of, struct_types)
from transforms.rules import registry as _REG

_VERSION = _REG.VERSION

STATS = {"transforms": 0, "memory_hits": 0, "disk_hits": 0}
_LOCK = threading.RLock()


def stats():
    """Counters: transforms run, memory-cache hits, disk-cache hits (this process)."""
    return dict(STATS)


def _registry():
    from transforms.rules import registry
    return registry


def _resolve_wrt(fn, wrt):
    params = list(inspect.signature(fn).parameters)
    single = wrt is None or not isinstance(wrt, (tuple, list))
    items = [0] if wrt is None else ([wrt] if single else list(wrt))
    names = []
    for w in items:
        if isinstance(w, bool) or not isinstance(w, (int, str)):
            raise TypeError(f"wrt must name parameters by name or position, got {w!r}")
        if isinstance(w, int):
            if not -len(params) <= w < len(params):
                raise ValueError(f"wrt={w} is out of range: `{fn.__name__}` has "
                                 f"{len(params)} parameters {params}")
            names.append(params[w])
        else:
            if w not in params:
                raise ValueError(f"wrt names `{w}`, which is not a parameter of "
                                 f"`{fn.__name__}` (parameters: {params})")
            names.append(w)
    if len(set(names)) != len(names):
        raise ValueError(f"wrt names a parameter twice: {names}")
    return params, tuple(names), single


class Differentiable:
    """A function with its derivatives; calling it calls the function unchanged."""

    def __init__(self, fn, wrt=None, backend="numpy"):
        if isinstance(fn, Differentiable):
            fn = fn.fn
        opaque = getattr(fn, "__srcad_opaque__", None)
        if opaque is not None:
            raise TypeError(f"{opaque[0]}({opaque[1]}) cannot be differentiated again: for a "
                            f"second derivative of a scalar function use "
                            f"srcad.derivative(srcad.grad({opaque[1]})) or srcad.hessian")
        if not inspect.isfunction(fn):
            kind = type(fn).__module__ + "." + type(fn).__qualname__
            hint = ("decorate the function in the class body instead"
                    if inspect.ismethod(fn) else
                    "wrap it in a def, e.g. `def f(x): return np.sin(x)`")
            raise TypeError(f"srcad differentiates Python functions written with def; "
                            f"got a {kind}: {hint}")
        if backend not in ("numpy", "numba"):
            raise ValueError(f"unknown backend {backend!r}: use 'numpy' or 'numba'")
        if backend == "numba":
            raise NotImplementedError(
                "backend='numba' is not available yet: the generated NumPy code is the only "
                "backend; use backend='numpy'")
        self.fn = fn
        self.__srcad_wrapped__ = fn
        functools.update_wrapper(self, fn)
        self.backend = backend
        self.inner = getattr(fn, "__srcad_derivative__", None)   # (Differentiable, "grad")
        self.params, self.wrt, self.single = _resolve_wrt(self.base_fn, wrt)
        self.positions = tuple(self.params.index(n) for n in self.wrt)
        # the gradient of several arguments is a tuple: it has no gradient of its own
        self._tuple_valued = self.inner is not None and not self.inner[0].single
        self._npositional = len(self.params) if self.inner is not None else sum(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            for p in inspect.signature(fn).parameters.values())
        self.compiles = 0
        self._compiled = {}
        self._version = -1
        self._last = {}
        self._hot = {}                   # kind -> the specialisation used last
        self.last_jacobian_mode = None   # "forward" or "reverse": what the last jacobian used
        self._jacobian_plans = {}        # argument shapes -> (mode taken, output shape, inputs)
        self._out_shapes = {}            # argument shapes -> the output's shape, learned once

    @property
    def base_fn(self):
        """The user's function at the bottom of a derivative of a derivative."""
        d = self
        while d.inner is not None:
            d = d.inner[0]
        return d.fn

    def __repr__(self):
        return f"<srcad.Differentiable {self.fn.__qualname__} wrt={self.wrt}>"

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def _primal(self, args):
        """The user's function on the full argument tuple (keyword-only ones by name)."""
        n = self._npositional
        if n == len(args):
            return self.fn(*args)
        return self.fn(*args[:n], **dict(zip(self.params[n:], args[n:], strict=True)))

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    # ------------------------------------------------------------- dispatch
    def _specialise(self, kind, args):
        sig = signature_of(args)
        fn = self._hot.get(kind)            # the last hit of this kind: one comparison
        if fn is not None and fn.__srcad_sig__ == sig and self._version == _VERSION.number:
            guards = fn.__srcad_guards__
            if not guards or all(scope.get(name) is obj for scope, name, obj in guards):
                return fn
        fn = self._compiled.get((kind, sig))
        if fn is not None and self._version == _REG.VERSION.number:
            guards = fn.__srcad_guards__
            if not guards or all(scope.get(name) is obj for scope, name, obj in guards):
                STATS["memory_hits"] += 1
                self._last[kind] = sig
                fn.__srcad_sig__ = sig
                self._hot[kind] = fn
                return fn
        self._hot.pop(kind, None)
        if _REG.VERSION.number != self._version:
            self._compiled.clear()
            self._hot.clear()
            self._version = _REG.VERSION.number
        fn = self._compiled.get((kind, sig))
        if fn is not None and not all(scope.get(name) is obj
                                      for scope, name, obj in fn.__srcad_guards__):
            fn = None                        # an inlined helper was redefined
        if fn is None:
            with _LOCK:
                fn = self._compile(kind, sig, args)
                self._compiled[(kind, sig)] = fn
        else:
            STATS["memory_hits"] += 1
        self._last[kind] = sig
        return fn

    def _check_args(self, args):
        base = self.base_fn
        kinds = [p.kind for p in inspect.signature(base).parameters.values()]
        if inspect.Parameter.VAR_POSITIONAL in kinds or inspect.Parameter.VAR_KEYWORD in kinds:
            from transforms import pipeline
            pipeline.check(base)
        if len(args) != len(self.params):
            raise TypeError(f"`{self.fn.__name__}` takes {len(self.params)} arguments "
                            f"{self.params}, got {len(args)}")
        for name, a in zip(self.params, args, strict=True):
            if abstract(a)[0] == "subclass":
                raise TypeError(f"`{name}` is a {type(a).__module__}.{type(a).__name__}: srcad "
                                f"takes plain ndarrays (a mask or a matrix product would be "
                                f"lost); pass np.asarray({name}), or fill or compress a "
                                f"masked array first")
        for name, pos in zip(self.wrt, self.positions, strict=True):
            a = abstract(args[pos])
            if a[0] in ("int", "bool") or (a[0] in ("array", "npscalar")
                                           and np.dtype(a[1]).kind in "biu"):
                raise TypeError(f"cannot differentiate with respect to `{name}`: it is an "
                                f"integer or boolean ({type(args[pos]).__name__}); pass a float")
            if not is_differentiable(a):
                raise TypeError(f"cannot differentiate with respect to `{name}`: a "
                                f"{type(args[pos]).__name__} holds no float values")

    def _compile(self, kind, sig, args):
        if getattr(self.base_fn, "__module__", None) == "srcad.runtime":
            from srcad.errors import unsupported_here   # reached from generated code
            raise unsupported_here(f"higher derivatives through srcad's own "
                                   f"`{self.base_fn.__name__}` are not supported yet",
                                   hint="second derivatives through srcad.checkpoint and "
                                        "recursive helpers are not available; take them "
                                        "of the function without checkpoint")
        self._check_args(args)
        own = own_rule(self.fn, kind, self.positions)
        if own is not None:
            return own
        key = disk.key_of(_code_key(self.base_fn), self._nesting(), kind, self.wrt, sig,
                          self.backend)
        entry = disk.load(key)
        if entry is not None:
            fn = _from_entry(entry, self.fn)
            if fn is not None:
                STATS["disk_hits"] += 1
                return fn
        from transforms import pipeline
        numeric = [p for p, s in zip(self.params, sig, strict=True) if is_numeric(s)]
        fields = fields_of(self.params, args)
        numeric += [f"{p}.{f}" for p, items in fields.items() for f, s in items
                    if is_numeric(s)]
        if kind in ("vjp", "vjp_plain"):
            from transforms.shapes import param_shapes
            kinds = {p: ("float" if s[0] == "float" else "array" if s[0] == "array" and
                         np.dtype(s[1]).kind == "f" else None)
                     for p, s in zip(self.params, sig, strict=True)}
            gen = pipeline.reverse_mode(self._target(args), self.wrt, numeric,
                                        param_shapes=param_shapes(self.params, sig, fields),
                                        param_kinds=kinds, optimize=(kind == "vjp"),
                                        types=struct_types(self.params, args))
            what = "reverse mode (vector-Jacobian product)"
        else:
            from transforms.shapes import param_shapes
            gen = pipeline.forward_mode(self._target(args), self.wrt, numeric,
                                        vector=(kind == "jvpvec"),
                                        param_shapes=param_shapes(self.params, sig, fields),
                                        types=struct_types(self.params, args))
            what = "forward mode (Jacobian-vector product" + (
                ", vector mode)" if kind == "jvpvec" else ")")
        STATS["transforms"] += 1
        self.compiles += 1
        gen.tree.body = codegen.annotate(gen.tree.body, gen.filename)
        params = sorted(gen.env.namespace)
        header = [f"srcad: {what} of {self.fn.__qualname__}"
                  f" ({gen.filename.rsplit('/', 1)[-1]}:{gen.lineno})",
                  f"wrt {self.wrt}, signature {describe(sig)}"]
        text = codegen.to_source(gen.tree, params, header)
        fn = codegen.load(text, gen.env.namespace, self.fn.__globals__, self.fn.__qualname__)
        fn.__srcad_text__ = text
        fn.__srcad_guards__ = _guards(gen.env)
        record = entry_of(gen.env, params)
        if record is not None:
            disk.store(key, dict(record, source=text))
        return fn

    def _nesting(self):
        out, d = [], self
        while d.inner is not None:
            out.append((d.inner[1], d.inner[0].wrt))
            d = d.inner[0]
        return tuple(out)

    def _target(self, args):
        """The Python function to transform: the user's, or for a derivative of a
        derivative, a small function calling the inner derivative's generated code."""
        if self.inner is None:
            return self.fn
        inner, kind = self.inner
        plain = inner._specialise("vjp_plain", args)
        names = ", ".join(self.params)
        result = "grads[0]" if inner.single else "grads"
        from transforms.exits import identifier
        name = identifier(f"{inner.base_fn.__name__}_{kind}{len(self._nesting())}")
        text = (f"def {name}({names}):\n"
                f"    value, grads = {plain.__name__}({names}, 1.0)\n"
                f"    return {result}\n")
        filename = f"<srcad {name} {id(plain):x}>"
        import linecache
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        scope = {"__name__": inner.base_fn.__module__, plain.__name__: plain}
        exec(compile(text, filename, "exec"), scope)
        return scope[name]

    # ------------------------------------------------------------- reverse
    def _vjp(self, args, seed, out=None):
        fn = self._specialise("vjp", args)
        return fn(*args, seed, out)

    def _vjp_plain(self, args, seed):
        """The un-optimised gradient: no workspace, so calls may nest (recursion)."""
        fn = self._specialise("vjp_plain", args)
        return fn(*args, seed)

    def _bind(self, args, kwargs):
        """Positional arguments, keywords and defaults -> the full argument tuple."""
        try:
            bound = inspect.signature(self.base_fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"`{self.base_fn.__name__}`: {exc}") from None
        bound.apply_defaults()
        return tuple(bound.arguments[p] for p in self.params)

    def _refuse_tuple_valued(self):
        raise ValueError(f"grad needs a real scalar output; `{self.fn.__name__}` returns a "
                         f"tuple (the gradient with respect to {self.inner[0].wrt}): take "
                         f"the gradient of one wrt at a time, or use jacobian / hvp")

    def value_and_grad(self, *args, out=None, **kwargs):
        if self._tuple_valued:
            self._refuse_tuple_valued()
        if kwargs or len(args) != len(self.params):
            args = self._bind(args, kwargs)
        fn = self._specialise("vjp", args)
        if out is not None:
            outs = _check_out(out, args, self.positions, self.wrt, self.single)
            value, grads = fn(*args, 1.0, outs)
        else:
            value, grads = fn(*args, 1.0, None)
        if not isinstance(value, (float, np.floating)) and (
                np.ndim(value) != 0 or not np.isrealobj(value)):
            what = ("a complex value" if np.iscomplexobj(value)
                    else f"a value of shape {np.shape(value)}")
            raise ValueError(f"grad needs a real scalar output; `{self.fn.__name__}` returned "
                             f"{what}: use pullback or jacobian")
        if type(value) is np.ndarray:       # a 0-d array: maybe an argument itself
            value = _apart_from(value, args)
        if out is not None:
            return value, self._into_out(out, outs, grads)
        return value, (grads[0] if self.single else tuple(grads))

    def _into_out(self, out, outs, grads):
        """``out`` holding ``grads`` (most were written in place by the generated code)."""
        if all([type(o) is np.ndarray and type(g) is np.ndarray and g.shape == o.shape
                for g, o in zip(grads, outs, strict=True)]):
            for g, o in zip(grads, outs, strict=True):
                if g is not o:              # not written in place by the generated code
                    np.copyto(o, g)
            return out
        return _write_out(out, grads, self.wrt, self.single)

    def grad(self, *args, out=None, **kwargs):
        if self._tuple_valued:
            self._refuse_tuple_valued()
        if kwargs or len(args) != len(self.params):
            args = self._bind(args, kwargs)
        fn = self._hot.get("vjp")
        if fn is None or fn.__srcad_sig__ != signature_of(args) \
                or self._version != _VERSION.number:
            fn = self._specialise("vjp", args)
        else:
            for scope, name, obj in fn.__srcad_guards__:
                if scope.get(name) is not obj:       # a helper was redefined: recompile
                    fn = self._specialise("vjp", args)
                    break
        if out is None:
            value, grads = fn(*args, 1.0, None)
            if isinstance(value, (float, np.floating)):     # the common case, kept short
                return grads[0] if self.single else grads
        elif self.single and type(out) is np.ndarray and len(args) == 1:
            a = args[0]
            if type(a) is np.ndarray and out.shape == a.shape and out.dtype == a.dtype \
                    and out.flags.writeable and out is not a and (
                        (out.base is None and a.base is None)      # two owners: apart
                        or not np.may_share_memory(out, a)):
                value, grads = fn(*args, 1.0, (out,))
                if isinstance(value, (float, np.floating)):
                    if grads[0] is not out:          # not written in place: copy it over
                        np.copyto(out, grads[0])
                    return out
        else:
            outs = _check_out(out, args, self.positions, self.wrt, self.single)
            value, grads = fn(*args, 1.0, outs)
            if isinstance(value, (float, np.floating)):
                return self._into_out(out, outs, grads)
        return self.value_and_grad(*args, out=out)[1]

    def pullback(self, *args, **kwargs):
        if kwargs or len(args) != len(self.params):
            args = self._bind(args, kwargs)
        value = _apart_from(self._primal(args), args)

        def back(cotangent):
            _, grads = self._vjp(args, _check_cotangent(cotangent, value, "cotangent"))
            seeds = [c for c in (cotangent if isinstance(cotangent, (tuple, list))
                                 else (cotangent,)) if isinstance(c, np.ndarray)]
            # a gradient that passed straight through is the caller's own cotangent: copy it
            return tuple(g.copy() if isinstance(g, np.ndarray)
                         and any(np.may_share_memory(g, c) for c in seeds) else g
                         for g in grads)
        return value, back

    @property
    def signatures(self):
        """The (kind, signature) pairs compiled so far, readable: ``[("vjp", "(float64[1d])")]``."""
        return [(kind, describe(sig)) for kind, sig in self._compiled]

    def compiled(self, kind="grad", *args):
        """The generated function itself for the signature of ``args`` (what ``grad`` calls:
        ``fn(*args, seed, out)`` for "grad", ``fn(*args, *tangents)`` for "jvp")."""
        kinds = {"grad": "vjp", "pullback": "vjp", "jvp": "jvp"}
        if kind not in kinds:
            raise ValueError(f"unknown kind {kind!r}: use 'grad', 'pullback' or 'jvp'")
        return self._specialise(kinds[kind], args)

    def source(self, kind="grad", *args):
        kinds = {"grad": "vjp", "pullback": "vjp", "vjp": "vjp", "jvp": "jvp",
                 "jvpvec": "jvpvec"}
        if kind not in kinds:
            raise ValueError(f"unknown kind {kind!r}: use 'grad', 'pullback' or 'jvp'")
        k = kinds[kind]
        if args:
            if len(args) != len(self.params):
                args = self._bind(args, {})
            fn = self._specialise(k, args)
        else:
            sig = self._last.get(k)
            if sig is None:
                raise ValueError("no compiled signature yet: pass example arguments, "
                                 "e.g. f.source('grad', x)")
            fn = self._compiled[(k, sig)]
        return codegen.inner_source(fn.__srcad_text__)

    # ------------------------------------------------------------- forward
    def jvp(self, args, tangents):
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"jvp takes the arguments as a tuple, got {type(args).__name__}: "
                            f"write jvp((x,), (t,)) for one argument")
        args = tuple(args)
        if len(args) != len(self.params):
            args = self._bind(args, {})
        tangents = _check_tangents(self, args, tangents)
        fn = self._specialise("jvp", args)
        return _apart_from(fn(*args, *tangents), (args, tangents))

    def jacobian(self, *args, mode="auto", **kwargs):
        if kwargs or len(args) != len(self.params):
            args = self._bind(args, kwargs)
        return _DERIVATIVES.jacobian(self, args, mode)

    def hessian(self, *args, **kwargs):
        if kwargs or len(args) != len(self.params):
            args = self._bind(args, kwargs)
        from srcad import derivatives
        return derivatives.hessian(self, args)

    def hvp(self, args, v):
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"hvp takes the arguments as a tuple, got {type(args).__name__}: "
                            f"write hvp((x,), v) for one argument")
        from srcad import derivatives
        return derivatives.hvp(self, tuple(args), v)


def _derivatives():
    return _DERIVATIVES


# ------------------------------------------------------------ functional API

def differentiate(fn=None, *, wrt=None, backend="numpy"):
    if fn is None:
        return lambda f: Differentiable(f, wrt=wrt, backend=backend)
    return Differentiable(fn, wrt=wrt, backend=backend)


_BY_FN = {}


def _differentiable(fn, wrt):
    if isinstance(fn, Differentiable) and (wrt is None or fn.wrt == _resolve_wrt(fn.fn, wrt)[1]):
        return fn
    base = fn.fn if isinstance(fn, Differentiable) else fn
    key = (base, wrt if not isinstance(wrt, list) else tuple(wrt))
    d = _BY_FN.get(key)
    if d is None:
        d = _BY_FN[key] = Differentiable(base, wrt=wrt)
    return d


def grad(fn, wrt=0):
    d = _differentiable(fn, wrt)

    def gradient(*args, out=None, **kwargs):
        return d.grad(*args, out=out, **kwargs)
    gradient.__srcad_derivative__ = (d, "grad")
    gradient.__name__ = f"{getattr(d.fn, '__name__', 'f')}_grad"
    return gradient


def hessian(fn, wrt=0):
    d = _differentiable(fn, wrt)

    def hess(*args, **kwargs):
        return d.hessian(*args, **kwargs)
    return hess


def hvp(fn, args, v, wrt=0):
    return _differentiable(fn, wrt).hvp(args, v)


def value_and_grad(fn, wrt=0):
    d = _differentiable(fn, wrt)

    def value_and_gradient(*args, out=None, **kwargs):
        return d.value_and_grad(*args, out=out, **kwargs)
    return value_and_gradient


def pullback(fn, *args, wrt=0):
    return _differentiable(fn, wrt).pullback(*args)


def jacobian(fn, wrt=0, mode="auto"):
    d = _differentiable(fn, wrt)

    def jac(*args, **kwargs):
        return d.jacobian(*args, mode=mode, **kwargs)
    return jac


def jvp(fn, args, tangents, wrt=0):
    return _differentiable(fn, wrt).jvp(args, tangents)


def derivative(fn):
    """d fn / dx for a function of one scalar (forward mode; the value may be an array)."""
    d = _differentiable(fn, 0)

    def deriv(x, *rest):
        if np.ndim(x) != 0:
            raise ValueError(f"derivative needs a scalar input, got shape {np.shape(x)}: "
                             "use jacobian")
        return d.jvp((x,) + rest, (1.0 if isinstance(x, float) else np.ones_like(x),))[1]
    deriv.__srcad_opaque__ = ("srcad.derivative", fn.__name__)
    return deriv


def jvp_positions(fn, args, tangents):
    """Used by generated code: (value, tangent) with None for constant arguments."""
    positions = tuple(k for k, t in enumerate(tangents) if t is not None)
    if not positions:
        return fn(*args), 0.0
    d = _differentiable(fn, positions)
    return d.jvp(args, tuple(tangents[k] for k in positions))


def source(fn, *args, kind="grad", wrt=0):
    return _differentiable(fn, wrt).source(kind, *args)


def pullback_positions(fn, args, positions, value=True):
    """Used by generated code: (value, back) with one entry per argument.

    With ``value=False`` (a checkpoint's reverse sweep, never re-entered) the
    pullback runs the optimised gradient and its workspace; otherwise the plain
    one, which a recursive function may re-enter safely.
    """
    positions = tuple(positions)
    d = _differentiable(fn, positions if positions else (0,))
    run = d._vjp_plain if value else d._vjp

    def back(g):
        _, gs = run(args, g)
        full = [None] * len(args)
        for p, c in zip(positions, gs, strict=True):
            full[p] = c
        return tuple(full)
    return (fn(*args) if value else None), back


def clear_cache():
    """Drop every compiled specialisation, in memory and on disk."""
    for d in list(_BY_FN.values()):
        d._compiled.clear()
    _BY_FN.clear()
    _registry().VERSION.bump()
    disk.clear()


from srcad import derivatives as _DERIVATIVES  # noqa: E402  (it needs this module's names lazily)

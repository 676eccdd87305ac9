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
import types

import numpy as np

from srcad import cache as disk
from srcad import (backends, bound, codegen, depth, dispatch, grad_out, locks, logs, outputs,
                   pickling, sources, tracebacks, workspace)
from srcad.bounds import CompiledTable, derivative_for
from srcad.arguments import (_apart_from, _check_cotangent, _check_out, _check_tangents,
                             _fresh_arrays, _resolve_wrt, check_args, plain_data)
from srcad.entries import _code_key, _from_entry, _guards, _types_key, entry_of, own_rule
from srcad.errors import InternalError, TransformError
from srcad.seeds import GradSeed
from srcad.signature import (describe, fields_of, is_numeric, param_kinds, signature_of,
                             struct_layouts, struct_types)
from srcad.transforms.blocks import clone
from srcad.transforms import thread_runs
from srcad.transforms.rules import registry as _REG

_VERSION = _REG.VERSION

STATS = {"transforms": 0, "memory_hits": 0, "disk_hits": 0}


def stats():
    """Counters: transforms run, memory-cache hits, disk-cache hits (this process); and
    what is held: compiled specialisations, bytes of work buffers and their bound."""
    from srcad import bounds
    return dict(STATS, compiled=bounds.compiled_count(),
                workspace_bytes=workspace.held_bytes(),
                workspace_limit=workspace.workspace_limit())


class Differentiable:
    """A function with its derivatives; calling it calls the function unchanged."""

    def __init__(self, fn, wrt=None, backend=None, has_aux=False, parallel=False):
        if isinstance(fn, Differentiable):
            fn = fn.fn
        opaque = getattr(fn, "__srcad_opaque__", None)
        if opaque is not None:
            raise TypeError(f"{opaque[0]}({opaque[1]}) cannot be differentiated again: for a "
                            f"second derivative of a scalar function use "
                            f"srcad.derivative(srcad.grad({opaque[1]})) or srcad.hessian")
        if not inspect.isfunction(fn) and getattr(fn, "__srcad_derivative__", None) is None:
            kind = type(fn).__module__ + "." + type(fn).__qualname__
            hint = ("decorate the function in the class body instead"
                    if inspect.ismethod(fn) else
                    "wrap it in a def, e.g. `def f(x): return np.sin(x)`")
            raise TypeError(f"srcad differentiates Python functions written with def; "
                            f"got a {kind}: {hint}")
        self.backend = backends.resolve(backend)      # "numpy", "numba" or "auto"
        self.parallel = backends.parallel_option(parallel, self.backend, backend)
        self.fn = fn
        self._wrt_given = wrt
        self.__srcad_wrapped__ = fn
        functools.update_wrapper(self, fn)
        self.has_aux = bool(has_aux)
        if self.has_aux and getattr(fn, "__srcad_derivative__", None) is not None:
            raise TypeError("has_aux=True takes a function returning (value, aux); a "
                            "gradient function returns no aux")
        self.inner = getattr(fn, "__srcad_derivative__", None)   # (Differentiable, "grad")
        self._user = self.base_fn       # its __code__ is part of every compiled function's key
        self._varargs = any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in
                            inspect.signature(self._user).parameters.values())
        self.params, self.wrt, self.single = _resolve_wrt(self.base_fn, wrt)
        self.positions = tuple(self.params.index(n) for n in self.wrt)
        # (a gradient of several arguments is a tuple: no gradient of its own)
        self._tuple_valued = self.inner is not None and not self.inner[0].single
        # grad calls the hot specialisation itself (no has_aux, *args or tuple-valued inner)
        self._direct = not (self.has_aux or self._varargs or self._tuple_valued)
        self._into = self._direct and self.single      # grad(x, out=): fn.__srcad_into__
        self._column = self.positions[0] if self._into else None  # jacobian
        self._npositional = len(self.params) if self.inner is not None else sum(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            for p in inspect.signature(fn).parameters.values())
        self.compiles = 0
        self._hot = {}                   # kind -> the specialisation used last
        self._compiled = CompiledTable(self._hot)     # (kind, sig) -> fn, bounded
        self._version = -1
        self._last = {}
        self.last_jacobian_mode = None   # "forward" or "reverse": what the last jacobian used
        self._jacobian_plans = {}        # argument shapes -> (mode taken, output shape, inputs)
        self.grad_seed = GradSeed(self.fn.__name__, self.has_aux)    # srcad/seeds.py
        self._value_unread = GradSeed(self.fn.__name__, keep=False)   # grad's own call

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

    def __reduce__(self):       # by reference: module, qualified name, wrt, options
        return pickling.reduce_differentiable(self)

    def _primal(self, args):
        """The user's function on the full argument tuple (keyword-only ones by name), given
        copies of the arrays: a function that updates an argument in place must not change
        the arguments the derivative is then taken at."""
        args = tuple(_fresh_arrays(a) for a in args)
        n = self._npositional
        if n == len(args):
            return self.fn(*args)
        return self.fn(*args[:n], **dict(zip(self.params[n:], args[n:], strict=True)))

    def __get__(self, obj, objtype=None):
        """``model.loss``: a Differentiable with ``self`` bound (srcad/bound.py)."""
        return self if obj is None else bound.method(self, obj)

    # ------------------------------------------------------------- dispatch
    def _specialise(self, kind, args):
        fn = self._hot.get(kind)            # the last hit of this kind: one check
        if fn is not None and fn.__srcad_fits__(args):
            return fn
        sig = signature_of(args)
        fn = self._compiled.get((kind, sig))
        if fn is not None and self._version == _REG.VERSION.number:
            if self._current(fn):
                STATS["memory_hits"] += 1
                self._last[kind] = sig
                fn.__srcad_sig__ = sig
                dispatch.hot_check(fn, sig, self._user, _VERSION, self._version)
                self._hot[kind] = fn
                return fn
        self._hot.pop(kind, None)
        if _REG.VERSION.number != self._version:
            self._compiled.clear()
            self._hot.clear()
            self._version = _REG.VERSION.number
        fn = self._compiled.get((kind, sig))
        if fn is not None and not self._current(fn):
            fn = None                        # an inlined helper was redefined
        if fn is None:
            try:
                fn = self._compile_once(kind, sig, args)
            except TransformError as exc:     # raised at the user's line, not in srcad
                raise tracebacks.at_user_line(exc, self._error_site(exc)) from None
        else:
            STATS["memory_hits"] += 1
        self._last[kind] = sig
        return fn

    def _error_site(self, exc):
        """The name of the user's function a TransformError's line is in, if it is."""
        code = self.base_fn.__code__
        return self.base_fn.__name__ if exc.filename == code.co_filename else None

    def _compile_once(self, kind, sig, args):
        """Compile (kind, sig) under its own lock (srcad/locks.py): a thread that waited
        finds the other thread's result instead of compiling it again."""
        with locks.compiling((self, kind, sig)):
            fn = self._compiled.get((kind, sig))
            if fn is not None and self._current(fn):
                return fn
            try:
                with logs.transforming(self.base_fn, kind, describe(sig), self._nesting()):
                    code = self._user.__code__          # a deep tree: again with room
                    fn = depth.with_room(lambda: self._compile(kind, sig, args))
            except (RecursionError, InternalError) as exc:
                if not depth.ran_out(exc) or depth.inside():
                    raise                     # (the outermost with_room retries)
                raise depth.too_deep(self.base_fn) from None
            fn.__srcad_code__ = code
            fn.__srcad_helpers__ = tuple((o, o.__code__) for _, _, o in fn.__srcad_guards__
                                         if isinstance(o, types.FunctionType))
            # its one-call check, written now: the next call only runs it (srcad/dispatch.py)
            dispatch.hot_check(fn, sig, self._user, _VERSION, self._version)
            self._compiled[(kind, sig)] = fn
            return fn

    def _current(self, fn):
        """Is the compiled ``fn`` still that of the function's code and helpers? (A new
        ``__code__``, as a notebook's autoreload assigns, or a rebound helper: no.)"""
        if fn.__srcad_code__ is not self._user.__code__:
            return False
        for o, c in fn.__srcad_helpers__:       # loops, not all(...): this runs every call
            if o.__code__ is not c:
                return False
        for scope, name, obj in fn.__srcad_guards__:
            if scope.get(name) is not obj:
                return False
        return True

    def _refuse(self, form):
        """What ``form`` (``"pullback"``, ``"jvp"``...) cannot take: ``*args`` parameters,
        ``has_aux`` (grad and value_and_grad only)."""
        if self.has_aux:
            raise TypeError(f"has_aux=True is supported by grad and value_and_grad only, not "
                            f"by {form}: differentiate a function returning the value alone "
                            f"(`lambda *a: {self._user.__name__}(*a)[0]`)")
        if self._varargs:
            self._refuse_varargs()

    def _refuse_varargs(self):
        """``*args``/``**kwargs`` parameters: the located TransformError, before any call."""
        from srcad.transforms import pipeline
        pipeline.check(self._user)
        raise TypeError(f"`{self._user.__name__}` takes *args or **kwargs, which srcad "
                        f"cannot differentiate: name the parameters")

    def _check_args(self, args):
        if self._varargs:
            self._refuse_varargs()
        check_args(self, args)

    def _compile(self, kind, sig, args, backend=None):
        if getattr(self.base_fn, "__module__", None) in _REG.RUNTIME_MODULES:
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
        backend = backend or backends.for_kind(self, kind)
        key = disk.key_of(_code_key(self.base_fn), self._nesting(), kind, self.wrt, sig,
                          backend + ("+parallel" if self.parallel else ""), _types_key(args))
        load = None
        if backend != "numpy":
            from srcad import numba_backend
            load = numba_backend.loader(self, key, lambda: self._compile(kind, sig, args,
                                                                         "numpy"))
        entry = disk.load(key)
        if entry is not None:
            fn = _from_entry(entry, self.fn, args, load)
            if fn is not None:
                STATS["disk_hits"] += 1
                logs.note(disk="hit")
                return fn
        logs.note(disk="miss" if disk.enabled() else "off")
        from srcad.transforms import pipeline
        numeric = [p for p, s in zip(self.params, sig, strict=True) if is_numeric(s)]
        fields = fields_of(self.params, args)
        numeric += [f"{p}.{f}" for p, items in fields.items() for f, s in items
                    if is_numeric(s)]
        if kind in ("vjp", "vjp_plain", "vjp_aux"):
            from srcad.transforms.shapes import param_shapes
            kinds = param_kinds(self.params, sig, fields)
            gen = pipeline.reverse_mode(self._target(args, kind), self.wrt, numeric,
                                        param_shapes=param_shapes(self.params, sig, fields),
                                        param_kinds=kinds, optimize=(kind != "vjp_plain"),
                                        types=struct_types(self.params, args),
                                        layouts=struct_layouts(self.params, args))
            what = "reverse mode (vector-Jacobian product)"
        else:
            from srcad.transforms.shapes import param_shapes
            gen = pipeline.forward_mode(self._target(args, kind), self.wrt, numeric,
                                        vector=(kind == "jvpvec"),
                                        param_shapes=param_shapes(self.params, sig, fields),
                                        types=struct_types(self.params, args),
                                        layouts=struct_layouts(self.params, args))
            what = "forward mode (Jacobian-vector product" + (
                ", vector mode)" if kind == "jvpvec" else ")")
        STATS["transforms"] += 1
        self.compiles += 1
        logs.note(timings=gen.timings)
        gen.tree.body = codegen.annotate(gen.tree.body, gen.filename, gen.env)
        # the NumPy code (numba's lowering rewrites gen.tree: a copy), its runs on threads
        tree = thread_runs.split(gen.tree, gen.env) if self.parallel \
            else gen.tree if backend == "numpy" else clone(gen.tree)
        params = sorted(gen.env.namespace)
        header = [f"srcad: {what} of {self.fn.__qualname__}"
                  f" ({gen.filename.rsplit('/', 1)[-1]}:{gen.lineno})",
                  f"wrt {self.wrt}, signature {describe(sig)}"]
        if backend != "numpy":
            fn = numba_backend.build(self, kind, gen, header, key,
                                     lambda: self._numpy_fn(tree, gen.env, params, header), sig)
        else:
            fn = self._numpy_fn(tree, gen.env, params, header)
        fn.__srcad_guards__ = tuple(_guards(gen.env)) + self._inner_guards(args)
        record = entry_of(gen.env, params)
        if record is not None and (backend == "numpy" or hasattr(fn, "__srcad_entry__")):
            disk.store(key, dict(record, source=fn.__srcad_text__,
                                 **getattr(fn, "__srcad_entry__", {})))
        return fn

    def _numpy_fn(self, tree, env, params, header):
        """The NumPy backend's function of the generated ``tree``."""
        text = codegen.to_source(tree, params, header)
        fn = codegen.load(text, env.namespace, self.base_fn.__globals__, self.fn.__qualname__)
        fn.__srcad_text__ = text
        return fn

    def _inner_guards(self, args):
        """A derivative of a derivative inlines the inner derivative's generated code, in
        which module constants are already literals: its guards (the globals, cells and
        helpers the user's function read) guard this code too."""
        if self.inner is None:
            return ()
        return tuple(self.inner[0]._specialise("vjp_plain", args).__srcad_guards__)

    def _nesting(self):
        out, d = [], self
        while d.inner is not None:
            out.append((d.inner[1], d.inner[0].wrt))
            d = d.inner[0]
        return tuple(out)

    def _target(self, args, kind):
        """The Python function to transform: the user's, the ``has_aux`` wrapper, or (a
        derivative of a derivative) one calling the inner derivative's generated code."""
        if kind == "vjp_aux":
            return outputs.aux_target(self.fn, self.params)
        if self.inner is None:
            return self.fn
        inner, kind = self.inner
        return outputs.gradient_target(inner, kind, self.params, len(self._nesting()),
                                       inner._specialise("vjp_plain", args))

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
        value, grads = self._value_and_grad(args, kwargs, out)
        return value, grads

    def _value_and_grad(self, args, kwargs, out):
        """(value, gradient) with ``value`` checked to be a real scalar (``(value, aux)``
        with has_aux)."""
        if self._tuple_valued:
            self._refuse_tuple_valued()
        if self._varargs:
            self._refuse_varargs()
        if kwargs or len(args) != len(self.params):
            args = self._bind(args, kwargs)
        args = plain_data(args)
        fn = self._specialise("vjp_aux" if self.has_aux else "vjp", args)
        outs = None if out is None else _check_out(out, args, self.positions, self.wrt,
                                                   self.single)
        value, grads = outputs.run_checked(self, fn, args, outs)
        if not isinstance(value, (float, np.floating)):
            self._scalar(value)
            if self.has_aux:
                value = (value[0], outputs.detach(value[1]))
        if type(value) is np.ndarray:       # a 0-d array: maybe an argument itself
            value = _apart_from(value, args)
        if out is not None:
            return value, grad_out.into_out(out, outs, grads, self)
        return value, (grads[0] if self.single else tuple(grads))

    def grad(self, *args, out=None, **kwargs):
        fn = self._hot.get("vjp")       # the specialisation used last: one check, then the call
        if out is None or fn is None or kwargs or not self._into or not fn.__srcad_into__(
                args, out):
            if fn is None or kwargs or not self._direct or not fn.__srcad_fits__(args):
                if not self._direct:
                    value, g = self._value_and_grad(args, kwargs, out)
                    return (g, value[1]) if self.has_aux else g
                if kwargs or len(args) != len(self.params):
                    args = self._bind(args, kwargs)
                args = plain_data(args)         # (a memmap never fits: plain data)
                fn = self._specialise("vjp", args)
            if out is not None and not (   # one array argument, its own out: written in place
                    self.single and len(args) == 1 and grad_out.apart(out, args[0])):
                return grad_out.grad_into(self, fn, args, out)
        outs = None if out is None else (out,)
        try:
            value, grads = fn(*args, self._value_unread, outs)
        except Exception as exc:
            outputs.explain(self, args, exc)
            raise
        if value.__class__ is not float and not isinstance(value, np.floating):
            self._scalar(value)
        if out is None:
            return grads[0] if self.single else grads
        if grads[0] is not out:              # not written in place: copy it over
            np.copyto(out, grads[0])
        return out

    def _scalar(self, value):
        error = outputs.scalar_error(self.fn.__name__, value, self.has_aux)
        if error is not None:
            raise error

    def pullback(self, *args, **kwargs):
        self._refuse("pullback")
        if kwargs or len(args) != len(self.params):
            args = self._bind(args, kwargs)
        args = plain_data(args)
        value = _apart_from(self._primal(args), args)

        def back(cotangent):
            try:
                _, grads = self._vjp(args, _check_cotangent(cotangent, value, "cotangent"))
            except Exception as exc:
                tracebacks.note_origin(exc)
                raise
            # a gradient that passed straight through is the caller's own cotangent (also
            # inside a dataclass or a container): copy it
            return tuple(_apart_from(tuple(grads), cotangent))
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

    def source(self, kind="grad", *args, backend=None, standalone=False):
        return sources.source(self, kind, args, backend, standalone)

    # ------------------------------------------------------------- forward
    def jvp(self, args, tangents):
        self._refuse("jvp")
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"jvp takes the arguments as a tuple, got {type(args).__name__}: "
                            f"write jvp((x,), (t,)) for one argument")
        args = tuple(args)
        if len(args) != len(self.params):
            args = self._bind(args, {})
        args = plain_data(args)
        tangents = _check_tangents(self, args, plain_data(tuple(tangents) if isinstance(
            tangents, (tuple, list)) else (tangents,)))
        fn = self._specialise("jvp", args)
        try:
            result = fn(*args, *tangents)
        except Exception as exc:
            tracebacks.note_origin(exc)
            raise
        return _apart_from(result, (args, tangents))

    def jacobian(self, *args, mode="auto", **kwargs):
        fn = self._hot.get("jvp")      # one float wrt argument: one forward pass, no plan
        if fn is not None and self._column is not None and mode in ("auto", "forward") \
                and not kwargs and fn.__srcad_fits__(args) and type(args[self._column]) is float:
            try:
                value, tan = fn(*args, 1.0)
            except Exception as exc:
                tracebacks.note_origin(exc)
                raise
            same = value.__class__ is np.ndarray and tan.__class__ is np.ndarray  # (first)
            if same or isinstance(value, (float, int, np.ndarray, np.number)) or self.inner:
                self.last_jacobian_mode = "forward"
                return tan if same and tan.shape == value.shape else \
                    _DERIVATIVES.number_column(value, tan)
        self._refuse("jacobian")          # (a value jacobian refuses: its error, below)
        if kwargs or len(args) != len(self.params):
            args = self._bind(args, kwargs)
        try:
            return _DERIVATIVES.jacobian(self, plain_data(args), mode)
        except Exception as exc:
            tracebacks.note_origin(exc)
            raise

    def hessian(self, *args, **kwargs):
        self._refuse("hessian")
        if kwargs or len(args) != len(self.params):
            args = self._bind(args, kwargs)
        from srcad import derivatives
        try:
            return derivatives.hessian(self, plain_data(args))
        except Exception as exc:
            tracebacks.note_origin(exc)
            raise

    def hvp(self, args, v):
        self._refuse("hvp")
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"hvp takes the arguments as a tuple, got {type(args).__name__}: "
                            f"write hvp((x,), v) for one argument")
        from srcad import derivatives
        try:
            return derivatives.hvp(self, plain_data(tuple(args)), v)
        except Exception as exc:
            tracebacks.note_origin(exc)
            raise


# ------------------------------------------------------------ functional API

def differentiate(fn=None, *, wrt=None, backend=None, has_aux=False, parallel=False):
    if fn is None:
        return lambda f: differentiate(f, wrt=wrt, backend=backend, has_aux=has_aux,
                                       parallel=parallel)
    if bound.is_bound_callable(fn):
        return bound.bind(fn, wrt, has_aux, backend, parallel)
    return Differentiable(fn, wrt=wrt, backend=backend, has_aux=has_aux, parallel=parallel)


def _differentiable(fn, wrt, has_aux=False, backend=None, parallel=False):
    """The Differentiable of ``fn`` with these options: ``fn`` itself when it is one that
    has them (a functional form of a ``parallel`` one keeps it), else one per options."""
    if isinstance(fn, Differentiable) and fn.has_aux == has_aux and backend in (
            None, fn.backend) and (wrt is None or fn.wrt == _resolve_wrt(fn.fn, wrt)[1]) \
            and (not parallel or fn.parallel):
        return fn
    base = fn.fn if isinstance(fn, Differentiable) else fn
    backend = backends.resolve(backend)
    key = (wrt if not isinstance(wrt, list) else tuple(wrt), has_aux, backend, parallel)
    if bound.is_bound_callable(base):       # a functools.partial or a bound method
        return derivative_for(base, key, lambda: bound.bind(base, wrt, has_aux, backend,
                                                            parallel))
    return derivative_for(base, key, lambda: Differentiable(base, wrt=wrt, backend=backend,
                                                            has_aux=has_aux,
                                                            parallel=parallel))


def grad(fn, wrt=0, has_aux=False, backend=None):
    return pickling.Derived(_differentiable(fn, wrt, has_aux, backend), "grad")


def hessian(fn, wrt=0, backend=None):
    return pickling.Derived(_differentiable(fn, wrt, backend=backend), "hessian")


def hvp(fn, args, v, wrt=0, backend=None):
    return _differentiable(fn, wrt, backend=backend).hvp(args, v)


def value_and_grad(fn, wrt=0, has_aux=False, backend=None):
    return pickling.Derived(_differentiable(fn, wrt, has_aux, backend), "value_and_grad")


def pullback(fn, *args, wrt=0, backend=None):
    return _differentiable(fn, wrt, backend=backend).pullback(*args)


def jacobian(fn, wrt=0, mode="auto", backend=None):
    return pickling.Derived(_differentiable(fn, wrt, backend=backend), "jacobian", mode=mode)


def jvp(fn, args, tangents, wrt=0, backend=None):
    return _differentiable(fn, wrt, backend=backend).jvp(args, tangents)


def derivative(fn):
    """d fn / dx for a function of one scalar (forward mode; the value may be an array)."""
    return pickling.Derived(_differentiable(fn, 0), "derivative")


def source(fn, *args, kind="grad", wrt=0, standalone=False, backend=None):
    return _differentiable(fn, wrt, backend=backend).source(kind, *args, standalone=standalone)


def clear_cache():
    """Drop every compiled specialisation, in memory and on disk, and every work buffer."""
    from srcad import bounds
    bounds.clear()
    workspace.clear()
    _VERSION.bump()
    disk.clear()


from srcad import derivatives as _DERIVATIVES, pullbacks as _PULLBACKS  # noqa: E402 (lazy users)

# generated code calls user functions' own derivatives through the runtime, which sits
# below this module: it is given the lookup of a function's Differentiable instead
_PULLBACKS.API.update(differentiable=_differentiable)

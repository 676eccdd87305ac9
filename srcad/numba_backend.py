"""The numba backend: the generated code of one specialisation compiled with ``numba.njit``.

``transforms/numba_form.py`` splits the optimised generated function into a core
(loop records in typed arrays) and a Python entry (work buffers, the seed). This
module writes both as one module, the core under ``@_njit``, and loads it::

    # srcad: reverse mode (vector-Jacobian product) of euler (model.py:3)
    # wrt ('k', 'c'), signature (float, float)
    # backend numba: numba.njit compiles euler_vjp_core (its disk cache signed); euler_vjp calls it
    @_njit
    def euler_vjp_core(k, c, seed, out):
        ...

    def euler_vjp(k, c, seed, out=None):
        return euler_vjp_core(k, c, _rt.seed_value(seed), out)

That text is what ``f.source("grad", *args)`` shows for the backend. With the disk
cache on it is written to ``<cache dir>/numba/<name>-<digest>.py`` (the digest covers
the srcad cache key and the text) so numba's on-disk cache lets another process skip
the JIT: that cache is signed and checked like srcad's entries (``srcad/numba_cache.py``);
with the disk cache off the module lives in memory only.

numba compiles lazily, on the first call of each argument type. Where it refuses
(an unsupported call, a value it cannot type) the failure is said once, at the user's
line the generated line came from: ``backend="numba"`` raises ``TransformError``,
``backend="auto"`` warns and uses the NumPy backend's code for that specialisation.
"""
import builtins
import functools
import hashlib
import inspect
import linecache
import os
import re
import sys
import traceback
import types
import warnings

import gast
import numba
import numpy as np

from srcad import cache as disk
from srcad import codegen, numba_cache, numba_dtypes, numba_runtime, numba_wide, runtime, seeds
from srcad.errors import TransformError
from srcad.transforms import numba_chains, numba_form
from srcad.transforms.blocks import fresh_names
from srcad.workspace import Workspace

_LINE = re.compile(r"^\s*# (.+?):(\d+)  ")


def _bindings(namespace):
    """The generated module's globals: the namespace with the runtime's numba twins."""
    out = {}
    for name, obj in namespace.items():
        if obj is runtime:
            obj = numba_runtime
        else:
            try:
                obj = numba_runtime.TWINS.get(obj, obj)
            except TypeError:               # an unhashable constant
                pass
        out[name] = obj
    return out


def module_text(core, entry, header, kernels=(), loop_free=False, parallel=False):
    """The module numba compiles (and users read); ``kernels``: the elementwise loops of
    ``parallel=True``, compiled with ``numba.njit(parallel=True)`` (``_njit_parallel``);
    ``loop_free``: no loop of the user's (large calls may take NumPy's loops)."""
    note = (f"backend numba: numba.njit compiles {core.name} (its disk cache signed); "
            f"{entry.name} calls it from Python")
    if kernels:
        note += (f"; numba.njit(parallel=True) compiles {', '.join(k.name for k in kernels)}, "
                 f"the elementwise loops it calls, on threads")
    notes = [note]
    if loop_free:
        notes.append(f"no loop of the user's: calls with an array of {numba_wide.LARGE}+ "
                     f"elements take this code or the NumPy backend's, whichever ran faster "
                     f"on the first of them (srcad/numba_wide.py)")
        if parallel:
            notes.append("parallel=True: that NumPy code runs its runs of ufuncs into buffers "
                         "on threads (srcad/threads.py); f.source(..., backend='numpy') "
                         "prints it")
    head = "\n".join("# " + codegen.comment_safe(h) for h in header + notes)
    parts = [f"@_njit_parallel\n{codegen.readable(k)}\n\n\n" for k in kernels]
    return (f"{head}\n{''.join(parts)}@_njit\n{codegen.readable(core)}\n\n\n"
            f"{codegen.readable(entry)}\n")


def _file_for(key, text, name):
    """(the module's file in the disk cache, written once; the folder; its key), or
    Nones when the disk cache is off or its directory is not a private one of ours."""
    top = disk._folder(create=True)
    where = numba_cache.folder(top) if top is not None else None
    secret = disk._secret(top) if where is not None else None
    if secret is None:
        return None, None, None
    digest = hashlib.sha256((key + "\n" + text).encode()).hexdigest()[:20]
    safe = re.sub(r"\W", "_", name)[:40]
    path = where / f"{safe}-{digest}.py"
    try:
        if disk._read(path) != text.encode():
            os.replace(disk._write_new(where, text.encode()), path)
    except OSError:
        return None, None, None
    return str(path), where, secret


def build(d, kind, gen, header, key, fallback, sig=()):
    """The compiled specialisation of ``d`` of ``kind`` for the generated ``gen`` (its tree
    annotated) and the argument signature ``sig``: a Python entry calling the njit core,
    or ``fallback()`` (the NumPy backend's) when ``d.backend`` is "auto" and numba cannot
    take it."""
    seed = gen.tree.args.args[len(d.params)].id if kind == "vjp" else None
    workspaces = [n for n, o in gen.env.namespace.items() if isinstance(o, Workspace)]
    names = dict(d.base_fn.__globals__, **gen.env.namespace)   # as the module binds them
    if kind == "jvp" and d.inner is None and numba_dtypes.narrow(sig, names, gen.tree):
        return refuse(d, gen.filename, gen.lineno, "a forward pass meeting float32 (or another "
                      "dtype narrower than float64/int64): numba computes NumPy's float32 "
                      "arithmetic with Python numbers in float64, and this pass returns what "
                      "it computes (srcad/numba_dtypes.py)", fallback)
    try:
        core, entry, *kernels = numba_form.lower(gen.tree, names, seed, workspaces,
                                                 d.wrt if kind == "vjp" else (),
                                                 parallel=d.parallel, shapes=gen.shapes,
                                                 primals=gen.primals)
    except numba_form.Unsupported as exc:
        line = getattr(exc.node, "lineno", None) or gen.lineno
        return refuse(d, gen.filename, line, exc.reason, fallback)
    if numba_dtypes.real(sig, names, gen.tree):
        _chains(d, sig, core, entry, names, gen)
    numba_chains.negative_powers(core, names)
    loop_free = not any(isinstance(n, (gast.For, gast.While)) for n in gast.walk(gen.tree))
    text = module_text(core, entry, header, kernels[0] if kernels else (), loop_free,
                       d.parallel)
    fn = _load(d, key, text, gen.env.namespace, (core.name, entry.name),
               (gen.filename, gen.lineno), fallback, loop_free)
    valued = numba_dtypes.value_type(sig) if kind.startswith("vjp") else None
    if valued is not None:
        fn.entry = _valued_as(fn.entry, valued)
        fn.__srcad_entry__["valued"] = valued.__name__     # (a disk entry's load does it too)
    return fn


def _valued_as(entry, kind):
    """``entry`` of a gradient whose value (a number) numba boxes as a Python float where
    NumPy gives a ``kind`` (float32) scalar (``numba_dtypes.value_type``)."""
    def call(*args):
        value, grads = entry(*args)
        return (kind(value) if type(value) is float else value), grads
    call.__name__ = entry.__name__
    return call


def _chains(d, sig, core, entry, names, gen):
    """The core's allocating elementwise runs as loops (transforms/numba_chains.py), in a
    specialisation that meets only float64, int64 and bool."""
    fresh = fresh_names(set(names) | {n.id for f in (core, entry) for n in gast.walk(f)
                                      if isinstance(n, gast.Name)})
    own = {p for p, s in zip(d.params, sig, strict=False) if s == ("float",) or s[0] in (
        "array", "npscalar") and s[1] == np.float64}
    outer = {n for n, v in names.items() if type(v) is float or isinstance(
        v, (np.ndarray, np.float64)) and v.dtype == np.float64}
    core.body = numba_chains.fuse(core.body, names, fresh, gen.shapes or {}, (own, outer),
                                  [a.id for a in core.args.args], gen.primals)


def _load(d, key, text, namespace, names, where, fallback, loop_free):
    """Execute the module ``text`` (its file in the disk cache when that is on) and wrap
    its entry."""
    fallback = functools.cache(fallback)    # one NumPy function, for a refusal and Wide
    path, folder, secret = _file_for(key, text, d.fn.__qualname__)
    filename = path or f"<srcad numba {codegen.comment_safe(d.fn.__qualname__)} " \
                       f"{hashlib.sha256(text.encode()).hexdigest()[:12]}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    module = _module(filename, path)
    scope = module.__dict__
    scope.update({k: v for k, v in d.base_fn.__globals__.items() if not k.startswith("__")})
    scope.update(_bindings(namespace))
    scope.update(__builtins__=builtins, _njit=numba_cache.njit(folder, secret),
                 _njit_parallel=numba_cache.njit(folder, secret, parallel=True),
                 _prange=numba.prange)
    exec(compile(text, filename, "exec"), scope)
    core, entry = (scope[n] for n in names)
    fn = _calling(Wide if loop_free else Guarded, entry)(d, entry, core, text, where,
                                                           fallback)
    fn.__srcad_entry__ = {"backend": "numba", "names": list(names), "where": list(where),
                          "loop_free": loop_free}
    return fn


def loader(d, key, fallback):
    """``load(entry, namespace)`` for ``entries._from_entry``: a disk entry of this backend
    rebuilt without transforming again (numba's own cache then skips the JIT)."""
    def load(entry, namespace):
        if entry.get("backend") != "numba":
            raise ValueError("not an entry of the numba backend")
        fn = _load(d, key, entry["source"], namespace, tuple(entry["names"]),
                   tuple(entry["where"]), fallback, entry.get("loop_free") is True)
        if entry.get("valued") in ("float32", "float16"):
            fn.entry = _valued_as(fn.entry, getattr(np, entry["valued"]))
        return fn
    return load


def _module(filename, path):
    """The generated module, registered in ``sys.modules`` under a name of its text's
    digest: numba's cache finds a cached function's globals again by module name (in
    another process too, once this process has built the same module)."""
    name = "srcad_numba_" + hashlib.sha256(filename.encode()).hexdigest()[:20]
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name)
        module.__file__ = path or filename
        sys.modules[name] = module
    return module


def _calling(cls, entry):
    """A subclass of ``cls`` whose ``__call__`` takes ``entry``'s own parameters, written
    out (the one layer between the caller and the entry: no ``*args`` tuple, and for
    ``Wide`` one size test per argument instead of a loop)::

        def __call__(self, a0, a1, a2=d2, /):
            if type(a0) is ndarray and a0.size >= LARGE:      # (Wide only)
                return self.chooser.call((a0, a1, a2), a0.size)
            try:
                return self.entry(a0, a1, a2)
            except Exception as exc:
                if not compiling(exc):
                    raise
                refused = exc
            self.entry = switch(self, refused, (a0, a1, a2))
            return self.entry(a0, a1, a2)
    """
    scope = {"ndarray": np.ndarray, "LARGE": numba_wide.LARGE, "compiling": _compiling,
             "switch": _switch, "numpy_error": _numpy_error}
    params = list(inspect.signature(entry).parameters.values())
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        return cls
    head, names = [], [f"a{i}" for i in range(len(params))]
    for i, p in enumerate(params):
        if p.default is p.empty:
            head.append(names[i])
        else:
            scope[f"d{i}"] = p.default
            head.append(f"{names[i]}=d{i}")
    args = ", ".join(names)
    lines = [f"def __call__(self, {', '.join(head + ['/'])}):"]
    if cls is Wide:
        for a in names:
            lines += [f"    if type({a}) is ndarray and {a}.size >= LARGE:",
                      f"        return self.chooser.call(({args},), {a}.size)"]
    lines += ["    try:", f"        return self.entry({args})", "    except Exception as exc:",
              "        if not compiling(exc):",
              f"            raise numpy_error(self, exc, ({args},)) from None",
              "        refused = exc", f"    self.entry = switch(self, refused, ({args},))",
              f"    return self.entry({args})"]
    exec(compile("\n".join(lines) + "\n", "<srcad numba call>", "exec"), scope)
    return type(cls.__name__, (cls,), {"__call__": scope["__call__"],
                                       "__module__": cls.__module__})


class Guarded:
    """The entry, with numba's refusal (at its lazy compile) turned into srcad's report.

    Calling it calls the entry; a numba typing or lowering failure of the core becomes
    a ``TransformError`` at the user's line, or with ``backend="auto"`` a warning and
    the NumPy backend's function, which is then called for good."""

    def __init__(self, d, entry, core, text, where, fallback):
        self.d, self.entry, self.core, self.where, self.fallback = d, entry, core, where, fallback
        self.__srcad_text__ = text
        self.__srcad_backend__ = "numba"
        self.__name__ = entry.__name__

    def __call__(self, *args):
        try:
            return self.entry(*args)
        except Exception as exc:
            if not _compiling(exc):
                raise _numpy_error(self, exc, args) from None
            refused = exc
        # outside the handler: an error of the NumPy function is not chained to numba's
        self.entry = _switch(self, refused, args)
        return self.entry(*args)


class Wide(Guarded):
    """``Guarded`` for code without a loop of the user's: calls with large arrays take the
    core or the NumPy backend's function, whichever this machine runs faster
    (srcad/numba_wide.py)."""

    def __init__(self, d, entry, core, text, where, fallback):
        super().__init__(d, entry, core, text, where, fallback)
        self.chooser = numba_wide.Sizes(super().__call__, fallback)

    def __call__(self, *args):
        for a in args:
            if type(a) is np.ndarray and a.size >= numba_wide.LARGE:
                return self.chooser.call(args, a.size)
        return Guarded.__call__(self, *args)


def _numpy_error(g, exc, args):
    """The error to raise where the compiled core raised ``exc`` at run time: the NumPy
    code's own for these arguments (numba's exceptions carry no line of the core, the
    NumPy code's name the user's line), else ``exc`` itself (loud: the core and the
    NumPy code disagree). Runs on the error path only."""
    if g.__srcad_backend__ != "numba":
        return exc                      # (already the NumPy code)
    try:
        g.fallback()(*args)
    except Exception as own:            # noqa: BLE001 -- whatever the NumPy code raises
        return own
    return exc


def _compiling(exc):
    """Was ``exc`` raised while numba compiled (typing, lowering), not by compiled code?
    (Compiled code raises from the dispatcher's C call: no frame of numba's compiler.)"""
    if isinstance(exc, numba.core.errors.NumbaError):
        return True
    inside = os.path.join("numba", "core", "")
    return any(inside in frame.filename for frame in traceback.extract_tb(exc.__traceback__))


_HELPER = re.compile(r"module 'srcad\.numba_runtime' has no attribute '(\w+)'"
                     r"|Untyped global name '(\w+)'")


def _switch(g, exc, args=None):
    """What ``g`` calls after numba refused: the NumPy function (auto), else raise. With
    ``backend="numba"``, a ``grad`` (its seed object among ``args``) whose NumPy code
    refuses the call itself (a value that is no scalar) raises that error: numba's typing
    failure would only be its symptom."""
    if g.d.backend != "auto" and args is not None \
            and any(type(a) is seeds.GradSeed for a in args):
        try:
            g.fallback()(*args)
        except ValueError as own:
            if getattr(own, "srcad_scalar_output", False):
                raise own from None
    filename, line = _user_line(g.__srcad_text__, str(exc), g.where)
    reason = _reason(exc)
    helper = _HELPER.search(str(exc))
    name = helper and (helper.group(1) or helper.group(2))
    if name and _srcad_helper(name):    # a runtime helper or kernel without a twin
        filename, line = _helper_line(g.__srcad_text__, name, (filename, line))
        reason = (f"the derivative here calls srcad's `{name}`, which has no numba twin: "
                  f"this construct runs on the NumPy backend only")
    fn = refuse(g.d, filename, line, reason, g.fallback)
    g.__srcad_text__ = fn.__srcad_text__
    g.__srcad_backend__ = "numpy"
    return fn


def _reason(exc):
    """The first informative line of numba's message."""
    if not isinstance(exc, numba.core.errors.NumbaError):
        return f"{type(exc).__name__}: {exc}"
    own = re.search(r"srcad refuses: ([^\n]+)", str(exc))     # a twin's own refusal
    if own:
        return re.sub(r"\x1b\[[0-9;]*m", "", own.group(1)).strip()
    for line in str(exc).splitlines():
        line = line.strip()
        if line and not line.startswith(("During:", "File ", "^", "Failed in")):
            return re.sub(r"\x1b\[[0-9;]*m", "", line)
    return "numba could not compile it"


def _srcad_helper(name):
    """Is ``name`` a function of srcad's own (a kernel or runtime helper), not a name of
    the user's that numba cannot type?"""
    return any(inspect.isfunction(getattr(m, name, None))
               and getattr(m, name).__module__.startswith("srcad.")
               for k, m in list(sys.modules.items()) if k.startswith("srcad."))


def _helper_line(text, name, where):
    """(file, line) of the user's line whose generated code first calls ``name``."""
    lines = text.splitlines()
    for k, line in enumerate(lines):
        if re.search(rf"\b{name}\(", line) and not line.lstrip().startswith("#"):
            while k >= 0:
                m = _LINE.match(lines[k])
                if m:
                    return where[0], int(m.group(2))
                k -= 1
    return where


def _user_line(text, message, where):
    """(file, line) of the user's line that the generated line named in ``message``
    comes from (the nearest ``# file:line`` comment above it), else the function's."""
    lines = text.splitlines()
    found = re.findall(r'File "[^"]*", line (\d+)', message)
    for number in reversed(found):
        k = int(number) - 1
        while 0 <= k < len(lines):
            m = _LINE.match(lines[k])
            if m:
                return where[0], int(m.group(2))
            k -= 1
    return where


def refuse_nested(d, fallback):
    """A derivative of a derivative of a kind numba does not compile (a Hessian's
    vector-mode pass, a third derivative's plain gradient): refused at the user's
    ``def`` line."""
    return refuse(d, "", 0, "numba compiles a derivative of a derivative as one forward "
                  "pass over the gradient's code (hvp, jvp, each column of a hessian), not "
                  "this kind", fallback)


def refuse(d, filename, line, reason, fallback, name=None):
    """Say once that numba cannot compile ``d``'s code at ``filename:line`` and why; the
    NumPy backend's function (auto) or raise (numba). A derivative of a derivative is
    named at the user's ``def`` line (its code is srcad's own, inlined)."""
    if d.inner is not None:
        code = d.base_fn.__code__
        filename, line, name = code.co_filename, code.co_firstlineno, d.base_fn.__qualname__
        reason = f"in the code of a derivative of a derivative: {reason}"
    error = TransformError(
        f"the numba backend cannot compile the derivative of `{name or d.fn.__qualname__}`",
        filename=filename, lineno=line, why=reason,
        hint="use backend='auto' (the NumPy backend where numba cannot compile) or "
             "backend='numpy'")
    if d.backend != "auto":
        raise error
    warnings.warn(f"srcad: {error}\n(backend='auto': using the NumPy backend for this "
                  f"signature)", RuntimeWarning, stacklevel=2)
    return fallback()

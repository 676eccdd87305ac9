"""``f.source(kind, *args)``: the generated source of one specialisation, for reading.

For the NumPy backend it is the generated function; for the numba backend the module
numba compiles (the njit core and the Python entry that calls it). ``backend=`` names
another backend than the function's: the source is that of the same function, wrt and
options compiled for it; for a ``parallel=True`` function, ``backend="numpy"`` gives the
NumPy code its large calls may take (srcad/numba_wide.py), with its runs of ufuncs into
buffers on threads (transforms/thread_runs.py). ``standalone=True`` writes the NumPy
backend's code (a module that runs with NumPy alone), whatever the function's backend;
asking for it with ``backend="numba"`` is an error.
"""
from srcad import backends, codegen
from srcad.arguments import plain_data
from srcad.signature import signature_of


def source(d, kind, args, backend, standalone):
    if standalone:                        # a standalone module is the NumPy backend's code
        if backend is not None and backends.resolve(backend) != "numpy":
            raise ValueError("standalone=True writes the NumPy backend's code: pass "
                             "backend='numpy' or no backend")
        backend = "numpy"
    threaded = backend is not None and d.parallel and backends.resolve(backend) == "numpy" \
        and not standalone              # a parallel function's NumPy code: its runs on threads
    if backend is not None and backends.resolve(backend) != d.backend and not threaded:
        from srcad.api import _differentiable
        other = _differentiable(d.fn, d._wrt_given, d.has_aux, backend)
        return other.source(kind, *args, standalone=standalone)
    if not isinstance(kind, str):         # f.source(x): the arguments, kind "grad"
        kind, args = "grad", (kind,) + args
    kinds = {"grad": "vjp", "pullback": "vjp", "vjp": "vjp", "jvp": "jvp",
             "jvpvec": "jvpvec"}
    if kind not in kinds:
        raise ValueError(f"unknown kind {kind!r}: use 'grad', 'pullback' or 'jvp'")
    k = "vjp_aux" if d.has_aux and kind == "grad" else kinds[kind]
    if args:
        if len(args) != len(d.params):
            args = d._bind(args, {})
        args = plain_data(args)
        fn = d._compile(k, signature_of(args), args, "numpy") if threaded \
            else d._specialise(k, args)
    elif threaded:
        raise ValueError("pass example arguments for the NumPy code of a parallel function, "
                         "e.g. f.source('grad', x, backend='numpy')")
    else:
        sig = d._last.get(k)
        if sig is None:
            raise ValueError("no compiled signature yet: pass example arguments, "
                             "e.g. f.source('grad', x)")
        fn = d._compiled[(k, sig)]
    if standalone:
        from srcad.standalone import module_source
        return module_source(d, fn, kind)
    return codegen.inner_source(fn.__srcad_text__)

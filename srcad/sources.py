"""``f.source(kind, *args)``: the generated source of one specialisation, for reading.

For the NumPy backend it is the generated function; for the numba backend the module
numba compiles (the njit core and the Python entry that calls it). ``backend=`` names
another backend than the function's: the source is that of the same function, wrt and
options compiled for it. ``standalone=True`` writes the NumPy backend's code (a module
that runs with NumPy alone), whatever the function's backend; asking for it with
``backend="numba"`` is an error.
"""
from srcad import backends, codegen
from srcad.arguments import plain_data


def source(d, kind, args, backend, standalone):
    if standalone:                        # a standalone module is the NumPy backend's code
        if backend is not None and backends.resolve(backend) != "numpy":
            raise ValueError("standalone=True writes the NumPy backend's code: pass "
                             "backend='numpy' or no backend")
        backend = "numpy"
    if backend is not None and backends.resolve(backend) != d.backend:
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
        fn = d._specialise(k, plain_data(args))
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

"""Fingerprints of user code, cheap enough for every cache lookup.

Kept free of the compiler's heavier imports: a process that finds its
gradients in the disk cache never loads the passes.
"""
import hashlib
import types


def code_hash(fn):
    """A fingerprint of a function's code (changes when its body is redefined).

    Built from the code object itself (bytecode, names, constants, nested code),
    so it is cheap and the same in every process for the same source.
    """
    h = hashlib.sha256()
    code = getattr(fn, "__code__", None)
    if code is None:
        h.update(repr(fn).encode())
    else:
        _hash_code(h, code)
    return h.hexdigest()[:16]


def _hash_code(h, code):
    h.update(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_name)).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _hash_code(h, const)
        else:
            h.update(repr(const).encode())


def value_fingerprint(value, depth=0):
    """What generated code took from an outside value, as text that is the same in
    every process: a scalar by value, an array by dtype and shape, a module by name,
    a function by its code, defaults and closure, anything else by its qualified name
    (``numpy.sin`` and ``numpy.cos`` differ; a rebound name is noticed)."""
    import numpy as np
    if isinstance(value, (bool, int, float, complex, str, bytes)) or value is None:
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, np.ndarray):
        return f"array:{value.dtype.str}:{value.shape}"
    if isinstance(value, types.ModuleType):
        return f"module:{value.__name__}"
    if depth > 4:
        return f"deep:{type(value).__qualname__}"
    if isinstance(value, tuple) and len(value) <= 16:
        return "(" + ",".join(value_fingerprint(v, depth + 1) for v in value) + ")"
    if isinstance(value, types.FunctionType):
        parts = [value.__module__, value.__qualname__, code_hash(value),
                 value_fingerprint(value.__defaults__, depth + 1),
                 value_fingerprint(tuple(sorted((value.__kwdefaults__ or {}).items())),
                                   depth + 1)]
        for cell in value.__closure__ or ():
            try:
                parts.append(value_fingerprint(cell.cell_contents, depth + 1))
            except ValueError:                   # an empty cell
                parts.append("<empty>")
        return "function:" + ":".join(str(p) for p in parts)
    kind = type(value)
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    module = getattr(value, "__module__", None)
    if isinstance(name, str) and (callable(value) or isinstance(value, type)):
        return f"{kind.__module__}.{kind.__qualname__}:{module}.{name}"
    return f"instance:{kind.__module__}.{kind.__qualname__}"


def code_shape(code):
    """What two compilations of the same source share (names, arguments, constants)."""
    names = (set(code.co_names) | set(code.co_freevars)) - {"__class__"}
    consts = tuple(code_shape(c) if isinstance(c, types.CodeType) else repr(c)
                   for c in code.co_consts)
    return (code.co_name, code.co_argcount, code.co_kwonlyargcount, code.co_varnames,
            frozenset(names), consts)

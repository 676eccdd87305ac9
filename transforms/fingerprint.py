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

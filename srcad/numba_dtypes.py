"""Which specialisations may compute in a dtype narrower than numba's defaults.

NumPy lets a Python number take the type of the array or NumPy scalar it meets
(``x32 * 1.5`` is float32; ``x32[0] * 2`` is a float32 scalar), and its ufuncs
keep a float32 scalar float32 (``np.exp(x32[0])``). numba types every Python
float as float64 and computes float32 scalars in float64, so the same
expression in a core can come out float64. Where the core writes into buffers of
the argument's dtype (a gradient) that is rounding; where it returns what it
computed (a forward pass's value and tangent) it would hand a float64 array for
a float32 one. The numba backend therefore does not compile a forward pass of a
specialisation that may meet such a dtype: ``narrow`` says whether it may. (A
forward pass over a gradient's code, a Hessian's, writes the gradient and its
tangent into arrays of the argument's dtype, as the gradient does: compiled;
tests/test_numba_dtypes.py compares its dtypes with the NumPy backend's.)

It may when a dtype other than float64, complex128, int64 or bool is in the
argument signature (arrays, NumPy scalars, fields of containers and dataclasses),
in an array or NumPy scalar the code reads by name from outside (one level into lists,
tuples, dicts and objects' attributes), or named in the code (``np.float32``,
``dtype="f4"``, ``.astype("float32")``).
"""
import types
import warnings

import gast
import numpy as np

WIDE = frozenset(np.dtype(t) for t in (np.float64, np.complex128, np.int64, np.bool_))
REAL = WIDE - {np.dtype(np.complex128)}


def narrow(sig, namespace, tree, wide=WIDE):
    """May the specialisation of signature ``sig`` (``srcad.signature``), whose generated
    ``tree`` reads ``namespace``, meet a dtype outside ``wide`` (numba's defaults)?"""
    nodes = list(gast.walk(tree))
    read = {n.id for n in nodes if isinstance(n, gast.Name)}
    return _in_signature(sig, wide) or any(_narrow_value(namespace[n], 1, wide) for n in read
                                           if n in namespace) \
        or any(_names_narrow(n, namespace, wide) for n in nodes)


def real(sig, namespace, tree):
    """Does the specialisation surely meet only float64, int64 and bool (no float32, no
    complex number: no complex argument, constant or dtype named)?"""
    return not narrow(sig, namespace, tree, REAL) and not _complex_in(sig) and not any(
        isinstance(n, gast.Constant) and isinstance(n.value, complex) for n in gast.walk(tree))


def _complex_in(s):
    return s == ("complex",) or isinstance(s, (tuple, list)) and any(_complex_in(v) for v in s)


def _in_signature(s, wide):
    if isinstance(s, np.dtype):
        return s not in wide
    if isinstance(s, (tuple, list)):
        return any(_in_signature(v, wide) for v in s)
    return False


def _is_narrow_dtype(obj, wide):
    try:
        with warnings.catch_warnings():         # (a deprecated alias: "a")
            warnings.simplefilter("ignore")
            dtype = np.dtype(obj)
    except (TypeError, ValueError, DeprecationWarning):
        return False
    return dtype.kind in "biufc" and dtype not in wide


def _narrow_value(v, depth, wide):
    if isinstance(v, (np.ndarray, np.generic)):
        return v.dtype not in wide and v.dtype.kind in "biufc"
    if isinstance(v, complex):
        return np.dtype(complex) not in wide
    if isinstance(v, type) and issubclass(v, np.generic):
        return _is_narrow_dtype(v, wide)
    if isinstance(v, np.dtype):
        return _is_narrow_dtype(v, wide)
    if depth == 0:
        return False
    if isinstance(v, (list, tuple)):
        return any(_narrow_value(x, depth - 1, wide) for x in v)
    if isinstance(v, dict):
        return any(_narrow_value(x, depth - 1, wide) for x in v.values())
    fields = getattr(v, "__dict__", None)
    if isinstance(fields, dict) and not isinstance(v, (type, types.ModuleType)) \
            and not callable(v):
        return any(_narrow_value(x, depth - 1, wide) for x in list(fields.values()))
    return False


def _names_narrow(node, namespace, wide):
    """A dtype named in the code: ``np.float32`` (an attribute of a module the code
    names), a name bound to one, or a string that is one (``"f4"``)."""
    if isinstance(node, gast.Constant) and isinstance(node.value, str):
        return len(node.value) <= 12 and _is_narrow_dtype(node.value, wide)
    if isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name):
        owner = namespace.get(node.value.id)
        return owner is not None and _narrow_value(getattr(owner, node.attr, None), 0, wide)
    if isinstance(node, gast.Name):
        return _narrow_value(namespace.get(node.id), 0, wide)
    return False


def value_type(sig):
    """The NumPy scalar type a gradient's number value has where it is narrower than
    float64: the result type of the float arrays and NumPy floats of the signature (Python
    floats are weak, as in NumPy), when that is float32 or float16; else None."""
    found = []

    def walk(s):
        if isinstance(s, np.dtype):
            if s.kind == "f":
                found.append(s)
        elif isinstance(s, (tuple, list)):
            for v in s:
                walk(v)
    walk(sig)
    if not found:
        return None
    kind = np.result_type(*found)
    return kind.type if kind in (np.float32, np.float16) else None

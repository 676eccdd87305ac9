"""What srcad does not know, it refuses: the checks an active statement passes.

An *active* value (it varies with a ``wrt`` argument and reaches the output)
may flow only into an operation srcad has a derivative for: an operator or a
function with a rule, a user function it reads the source of, or a function
on the reviewed list of piecewise-constant ones (``registry.nondiff``). The
reverse and forward passes refuse unknown callables themselves; this module
holds the checks on the other forms of a statement::

    n = idx[x]            # an index computed from a differentiated value: refused
    f = x.flags           # an attribute of an array that is not a rule: refused
    b = a + 1j            # a complex value on the differentiated path: refused

Complex numbers are not supported: a complex constant, a complex global array,
or a complex ``dtype`` on the differentiated path is refused where it appears.
"""
import gast
import numpy as np

from srcad.errors import TransformError
from srcad.transforms import classes
from srcad.transforms.blocks import walk
from srcad.transforms.rules import registry

COMPLEX_WHY = ("srcad differentiates real-valued code; complex derivatives (Wirtinger "
               "calculus) are not implemented")


def _loads(node):
    return [n for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]


def is_complex_value(obj):
    """Is ``obj`` a complex number or array, or a complex type or dtype?"""
    if isinstance(obj, (complex, np.complexfloating)):
        return True
    if isinstance(obj, np.ndarray):
        return obj.dtype.kind == "c"
    if isinstance(obj, type):
        return issubclass(obj, (complex, np.complexfloating))
    if isinstance(obj, np.dtype):
        return obj.kind == "c"
    return False


def _complex_atom(node, namespace):
    """A node of ``node`` that is a complex constant, a complex global, or a complex
    dtype given as a string (``dtype="complex128"``), else None."""
    for n in walk(node):
        if isinstance(n, gast.Constant) and isinstance(n.value, complex):
            return n
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id in namespace \
                and is_complex_value(namespace[n.id]):
            return n
        if isinstance(n, gast.keyword) and n.arg == "dtype" \
                and isinstance(n.value, gast.Constant) and isinstance(n.value.value, str):
            try:
                if np.dtype(n.value.value).kind == "c":
                    return n.value
            except TypeError:
                pass
    return None


def complex_names(fn, namespace):
    """Names bound from a statement that holds a complex constant, global or dtype (even
    an inactive one: ``b = np.zeros(3, dtype=complex)`` before ``b[0] = x``)."""
    out = set()
    for s in walk(fn):
        if isinstance(s, gast.Assign) and _complex_atom(s.value, namespace) is not None:
            target = s.targets[0]
            while isinstance(target, gast.Subscript):
                target = target.value
            if isinstance(target, gast.Name):
                out.add(target.id)
    return out


KNOWN = 0.0


def _known_operand(obj):
    """Can an operator rule handle this global operand (a number, an array, a container
    of them, a dataclass or NamedTuple whose operators are the user's code)?"""
    import dataclasses
    if isinstance(obj, (bool, int, float, np.ndarray, np.generic, list, tuple, dict)):
        return True
    return dataclasses.is_dataclass(obj) and not isinstance(obj, type)


class Refusals:
    """The checks, for one function: ``check(statement)`` on every active statement."""

    def __init__(self, fn, env, filename, is_varied, shapes):
        self.env = env
        self.filename = filename
        self.is_varied = is_varied
        self.shapes = shapes
        self.complex = complex_names(fn, env.namespace)

    def error(self, node, what, why=None, hint=None):
        return TransformError(what, filename=self.filename, lineno=getattr(node, "lineno", None),
                              col=getattr(node, "col_offset", 0), why=why, hint=hint)

    def check(self, s):
        """``s`` assigns an active name (or writes into an active array)."""
        value = s.value
        if isinstance(value, gast.Call) and _is_rt(value.func, "struct_attribute") \
                and any(self.is_varied(a) for a in value.args[:1]):  # (transforms/classes.py)
            base = value.args[0].id if isinstance(value.args[0], gast.Name) \
                and value.args[0].id not in self.env.inlined_names else ""
            raise self.error(s, f"cannot differentiate a read of `{base}.{value.args[1].value}`"
                             ": " + classes.OPAQUE_WHAT, classes.OPAQUE_WHY,
                             classes.OPAQUE_HINT)
        bad = _complex_atom(value, self.env.namespace)
        if bad is None:
            bad = next((n for n in _loads(s) if n.id in self.complex), None)
        if bad is not None:
            raise self.error(s, "complex numbers are not supported on the differentiated path",
                             COMPLEX_WHY, "keep complex values out of the differentiated "
                             "function, or give the function a rule with @srcad.adjoint")
        if isinstance(value, gast.Subscript):
            self._index(s, value)
        if isinstance(value, (gast.BinOp, gast.UnaryOp)):
            for n in _loads(value):
                obj = self.env.namespace.get(n.id, KNOWN)
                if not _known_operand(obj):
                    raise self.error(s, f"an operator on `{n.id}`, a "
                                     f"{type(obj).__module__}.{type(obj).__qualname__}, "
                                     "with a value srcad differentiates",
                                     "srcad has derivative rules for operators on numbers "
                                     "and NumPy arrays only",
                                     "call a function with a rule from @srcad.adjoint, or "
                                     "convert the object with np.asarray")
        if isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name) \
                and self.is_varied(value.value) and self._numeric(value.value) \
                and value.attr not in registry.INACTIVE_ATTRIBUTES:
            raise self.error(s, f"no derivative rule for the array attribute `.{value.attr}`",
                             "srcad differentiates the array attributes it has rules for "
                             "(`.T`, `.real`, `.imag`) and reads `.shape`, `.size`, `.dtype`... "
                             "as constants",
                             "compute it with a NumPy function that has a rule, or wrap the "
                             "array in srcad.stop_gradient")

    def _index(self, s, sub):
        """``sub`` reads an object that does not vary at an index that does: unless the
        object is an array (whose indices are integers or booleans, piecewise constant),
        its ``__getitem__`` computes something srcad knows nothing about (``np.r_[0:2, x]``).
        (An index that varies into a varied object is an integer taken from a record of
        mixed values, as in generated code.)"""
        base = sub.value
        if self.is_varied(base) or self._numeric(base) or (
                isinstance(base, gast.Name)
                and isinstance(self.env.namespace.get(base.id), np.ndarray)):
            return
        varied = [n for n in _loads(sub.slice) if self.is_varied(n)]
        if varied:
            raise self.error(s, f"an index computed from `{varied[0].id}`, a value srcad "
                             "differentiates",
                             "an index or key is piecewise constant in the values it comes "
                             "from, and srcad cannot tell how it was meant",
                             "compute the index with a piecewise-constant function "
                             "(np.argmax, int(...), np.floor...) or srcad.stop_gradient")

    def _numeric(self, name):
        shape = self.shapes.get(name.id) if isinstance(name, gast.Name) else None
        return shape is not None and shape[0] in ("array", "scalar")


def uncovered_error(exp, is_active, target, where):
    """A differentiated value passed where the rule gives no entry (past its last one)."""
    for atom in exp.uncovered:
        if is_active(atom):
            name = getattr(target, "__name__", repr(target))
            raise TransformError(f"the rule for `{name}` gives no derivative for this many "
                                 "arguments", **where,
                                 hint=f"register a rule with @srcad.adjoint({name})")


def ufunc_method_error(ufunc, method, where):
    """A method of a ufunc (``maximum.reduce``, ``add.at``) on a differentiated value."""
    name = f"{ufunc.__name__}.{method.__name__}"
    if method.__name__ == "at":
        return TransformError(
            f"`{name}` updates its first argument in place", **where,
            why="srcad follows in-place writes only as `x[i] = v`",
            hint="write the update with indexing (`out[i] = out[i] + v`), or put it in a "
                 "helper function with a rule from @srcad.adjoint")
    return TransformError(
        f"`{name}` has no derivative rule", **where,
        why="srcad differentiates a ufunc called directly and the functions of their own "
            "for its reductions, not the ufunc methods reduce, accumulate, reduceat and outer",
        hint="call the function of its own: `maximum.reduce(x)` is `max(x, axis=0)`, "
             "`add.reduce` is `sum`, `multiply.accumulate` is `cumprod`, `multiply.outer(a, "
             "b)` is `outer(a, b)` (or `a[:, None] * b`); or give it a rule with "
             "@srcad.adjoint")


def _is_rt(func, name):
    return isinstance(func, gast.Attribute) and func.attr == name \
        and isinstance(func.value, gast.Name) and func.value.id == "_rt"

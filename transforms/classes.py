"""Dataclasses and NamedTuples in differentiated code: what is a field, what is not.

srcad follows a dataclass or NamedTuple value field by field: building one binds the
call's arguments to its fields, reading ``p.k`` reads a field, and its gradient is an
instance whose fields are the fields' cotangents. Everything else about the class is
code srcad does not see unless it is pointed at it:

- a ``@property`` read (``r.area``) is a call of its getter on the value: inlined and
  differentiated like a method;
- an attribute that is no field of the class and no constant of the class itself (one
  that ``__post_init__`` or a method sets, a ``functools.cached_property``, another
  descriptor) and an ``init=False`` field hold values made from the fields in a way srcad
  cannot follow: reading one from a value that carries derivatives is refused;
- building, in the function, a class whose construction runs code of its own (a
  ``__post_init__``, an ``__init__`` the decorator did not write) with values that carry
  derivatives is refused: its fields need not be the call's arguments.
"""
import dataclasses
import inspect
import types

from srcad.errors import TransformError

_MISSING = object()
_CONSTANTS = (int, float, complex, str, bool, bytes, type(None))


def is_struct(cls):
    return isinstance(cls, type) and (dataclasses.is_dataclass(cls) or (
        issubclass(cls, tuple) and hasattr(cls, "_fields")))


def _fields(cls):
    if dataclasses.is_dataclass(cls):
        return {f.name: f.init for f in dataclasses.fields(cls)}
    return dict.fromkeys(cls._fields, True)


def attribute(cls, attr):
    """What ``value.attr`` is on an instance of the struct class ``cls``: ("field", None),
    ("property", its getter), ("constant", None) or ("opaque", why)."""
    fields = _fields(cls)
    if fields.get(attr) is True:
        return "field", None
    if attr in fields:
        return "opaque", (f"`{attr}` is a field that `{cls.__name__}(...)` does not set "
                          "(init=False): its value is made from other fields")
    static = inspect.getattr_static(cls, attr, _MISSING)
    if isinstance(static, property) and isinstance(static.fget, types.FunctionType):
        return "property", static.fget
    if isinstance(static, (types.FunctionType, staticmethod, classmethod) + _CONSTANTS):
        return "constant", None         # (a method is called through srcad's method calls)
    if static is _MISSING:
        return "opaque", (f"`{attr}` is no field of `{cls.__name__}`: an attribute that "
                          "`__post_init__` or a method sets, made from the fields in code "
                          "srcad does not follow")
    return "opaque", (f"`{attr}` of `{cls.__name__}` is a {type(static).__name__}, code "
                      "that makes its value from the fields out of srcad's sight")


def runs_code(cls):
    """Does building ``cls`` run code of its own (``__post_init__``, a written ``__init__``)?"""
    params = getattr(cls, "__dataclass_params__", None)
    return params is not None and (hasattr(cls, "__post_init__") or not params.init)


def check_construct(cls, where):
    """Before differentiating ``cls(...)`` built from values that carry derivatives."""
    if runs_code(cls):
        own = "`__post_init__`" if hasattr(cls, "__post_init__") else "an `__init__` of its own"
        raise TransformError(
            f"cannot differentiate building a `{cls.__name__}` here: its construction runs "
            f"code of its own ({own})",
            **where, why="srcad takes the fields of a dataclass built in the function to be "
            "the call's arguments; code that changes or derives them is not followed",
            hint="build it outside the function and pass it in, or compute the derived "
                 "values in the function from the fields")


OPAQUE_WHAT = ("it is no field of the dataclass or NamedTuple (an attribute `__post_init__` or "
               "a method sets, a cached_property, an init=False field)")
OPAQUE_WHY = ("srcad follows the fields of a dataclass or NamedTuple; this value comes from "
              "code it does not see, so its derivative would be lost")
OPAQUE_HINT = "compute the value in the function from the fields it is made of"

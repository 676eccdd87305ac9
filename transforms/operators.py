"""Operators on user types: ``a + b`` on a dataclass calls its ``__add__``.

Before (normal form; ``a`` and ``b`` are ``Point`` arguments)::

    c = a + b
    t = 2.0 * c

After (the inliner then inlines the methods like any helper)::

    c = Point_add(a, b)
    t = Point_rmul(c, 2.0)

The inliner follows the *layout* of every name through a body: plain (a
number, an array, anything without user operators), a user type
``("struct", cls, fields)``, a sequence ``("seq", items, more)`` or a dict
``("dict", items, more)``, or unknown. Arguments come with their layout (from
the signature), ``Point(...)`` builds one, copies, fields and items pass it
on, and an inlined helper hands back the layout of what it returns. Binary
operators, unary minus and indexing of a user type become calls of its
methods, picked as Python picks them (the left operand's method, else the
right one's reflected method). When an operand's layout is unknown and a
user type in play defines that operator, the operator is refused with a
located TransformError rather than guessed.
"""
import dataclasses
import inspect
import types

import gast

from srcad.errors import TransformError
from srcad.transforms.blocks import walk
from srcad.transforms.exits import _assign, _load
from srcad.transforms.parse import MISSING, resolve

PLAIN = ("plain",)
UNKNOWN = ("unknown",)

BINARY = {gast.Add: ("__add__", "__radd__", "+"), gast.Sub: ("__sub__", "__rsub__", "-"),
          gast.Mult: ("__mul__", "__rmul__", "*"), gast.Div: ("__truediv__", "__rtruediv__", "/"),
          gast.FloorDiv: ("__floordiv__", "__rfloordiv__", "//"),
          gast.Mod: ("__mod__", "__rmod__", "%"), gast.Pow: ("__pow__", "__rpow__", "**"),
          gast.MatMult: ("__matmul__", "__rmatmul__", "@")}
UNARY = {gast.USub: ("__neg__", "-"), gast.Invert: ("__invert__", "~")}
# builtins whose result may hold what their arguments hold
_PASSING = {"list", "tuple", "sorted", "reversed", "min", "max", "next", "iter", "getattr",
            "dict", "zip", "enumerate", "copy", "deepcopy", "replace"}


def is_struct_class(obj):
    return isinstance(obj, type) and (dataclasses.is_dataclass(obj)
                                      or (issubclass(obj, tuple) and hasattr(obj, "_fields")))


def method(cls, name):
    """The plain function ``cls`` defines for ``name`` (inherited too), or None."""
    attr = inspect.getattr_static(cls, name, None)
    return attr if isinstance(attr, types.FunctionType) else None


def layout_of(value):
    """The layout of a Python value (an argument, a default, a bound global)."""
    t = type(value)
    if is_struct_class(t):
        names = t._fields if issubclass(t, tuple) else [f.name for f in dataclasses.fields(t)]
        return ("struct", t, {n: layout_of(getattr(value, n, None)) for n in names})
    if t in (tuple, list):
        return ("seq", tuple(layout_of(v) for v in value), None)
    if t is dict:
        return ("dict", {k: layout_of(v) for k, v in value.items()}, None)
    return PLAIN


def join(a, b):
    """The layout of a name that may hold ``a`` or ``b``."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if a[0] == b[0] == "struct" and a[1] is b[1]:
        fields = None
        if a[2] is not None and b[2] is not None:
            fields = {n: join(a[2].get(n), b[2].get(n)) for n in set(a[2]) | set(b[2])}
        return ("struct", a[1], fields)
    if a[0] == b[0] == "seq":
        if len(a[1]) == len(b[1]) and a[2] == b[2]:
            return ("seq", tuple(join(x, y) for x, y in zip(a[1], b[1], strict=True)), a[2])
        return ("seq", (), common(a[1] + b[1] + (a[2], b[2])))
    if a[0] == b[0] == "dict":
        return ("dict", {}, common(tuple(a[1].values()) + tuple(b[1].values()) + (a[2], b[2])))
    return UNKNOWN


def common(layouts):
    out = None
    for x in layouts:
        out = join(out, x)
    return PLAIN if out is None else out


def holds_struct(layout):
    if layout[0] == "struct":
        return True
    if layout[0] in ("seq", "dict"):
        items = layout[1] if layout[0] == "seq" else tuple(layout[1].values())
        return any(holds_struct(x) for x in items + ((layout[2],) if layout[2] else ()))
    return layout == UNKNOWN


def classes_in(layout, out):
    if layout[0] == "struct":
        out.add(layout[1])
        for f in (layout[2] or {}).values():
            classes_in(f, out)
    elif layout[0] in ("seq", "dict"):
        items = layout[1] if layout[0] == "seq" else tuple(layout[1].values())
        for x in items + ((layout[2],) if layout[2] else ()):
            classes_in(x, out)
    return out


class Layouts:
    """The layouts of the names of one body as the inliner walks it in order."""

    def __init__(self, env, namer, initial, in_play, filename):
        self.env = env
        self.namer = namer
        self.names = dict(initial)
        self.in_play = in_play              # user types met so far (shared with helpers)
        self.filename = filename
        for layout in initial.values():
            classes_in(layout, in_play)

    # ----------------------------------------------------------- reading
    def of(self, node):
        if isinstance(node, gast.Constant):
            return PLAIN
        if isinstance(node, gast.Name):
            if node.id in self.names:
                return self.names[node.id]
            if node.id in self.env.namespace:        # a global: its layout, once
                self.names[node.id] = layout_of(self.env.namespace[node.id])
                return self.names[node.id]
            return UNKNOWN
        return UNKNOWN

    def defines(self, name):
        """Does a user type in play define ``name``?"""
        return any(method(cls, name) is not None for cls in self.in_play)

    def error(self, s, what, why=None, hint=None):
        raise TransformError(what, filename=self.filename, lineno=getattr(s, "lineno", None),
                             col=getattr(s, "col_offset", 0), why=why, hint=hint)

    # ----------------------------------------------------------- operators
    def dispatch(self, s):
        """Statements replacing ``s`` (an Assign) when it applies an operator of a user
        type: the operator becomes a call of the method; otherwise ``[s]``."""
        v = s.value
        if isinstance(s.targets[0], gast.Subscript):
            base = self.of(s.targets[0].value)
            if base[0] == "struct":
                self.error(s, f"item assignment into a `{base[1].__name__}` is not supported",
                           "srcad does not follow mutation of objects",
                           "build a new object instead")
            return [s]
        if isinstance(v, gast.BinOp) and type(v.op) in BINARY:
            return self.binary(s, v)
        if isinstance(v, gast.UnaryOp) and type(v.op) in UNARY:
            name, sym = UNARY[type(v.op)]
            lay = self.of(v.operand)
            if lay[0] == "struct":
                fn = method(lay[1], name)
                if fn is None:
                    self.error(s, f"`{sym}` of a `{lay[1].__name__}`: it defines no `{name}`",
                               hint=f"define `{name}` as a plain method")
                return [self.call(s, fn, [v.operand])]
            if lay == UNKNOWN and self.defines(name):
                self.unknown(s, sym, v.operand)
            return [s]
        if isinstance(v, gast.Subscript):
            lay = self.of(v.value)
            if lay[0] == "struct" and method(lay[1], "__getitem__") is not None:
                prelude, index = self.index_value(v.slice, s)
                return prelude + [self.call(s, method(lay[1], "__getitem__"), [v.value, index])]
            if lay == UNKNOWN and self.defines("__getitem__"):
                self.unknown(s, "[]", v.value)
        return [s]

    def binary(self, s, v):
        name, rname, sym = BINARY[type(v.op)]
        left, right = self.of(v.left), self.of(v.right)
        lcls = left[1] if left[0] == "struct" else None
        rcls = right[1] if right[0] == "struct" else None
        if lcls is None and rcls is None:
            if (left == UNKNOWN or right == UNKNOWN) and (self.defines(name)
                                                          or self.defines(rname)):
                self.unknown(s, sym, v.left if left == UNKNOWN else v.right)
            return [s]
        if lcls is None and left == UNKNOWN and self.defines(name):
            self.unknown(s, sym, v.left)           # the left one's method would come first
        reflected_first = (rcls is not None and lcls is not None and rcls is not lcls
                           and issubclass(rcls, lcls) and rname in vars(rcls))
        if lcls is not None and method(lcls, name) is not None and not reflected_first:
            return [self.call(s, method(lcls, name), [v.left, v.right])]
        if rcls is None and right == UNKNOWN and self.defines(rname):
            self.unknown(s, sym, v.right)
        if rcls is not None and method(rcls, rname) is not None:
            return [self.call(s, method(rcls, rname), [v.right, v.left])]
        cls = lcls or rcls
        self.error(s, f"`{sym}` on a `{cls.__name__}`: it defines no `{name}`"
                   + (f" or `{rname}`" if rcls is not None else ""),
                   "srcad calls a user type's operator methods (plain `def` methods)",
                   f"define `{name}` (and `{rname}` for a {cls.__name__} on the right)")

    def unknown(self, s, sym, operand):
        what = operand.id if isinstance(operand, gast.Name) else "an operand"
        kinds = ", ".join(sorted(c.__name__ for c in self.in_play))
        self.error(s, f"the type of `{what}` under `{sym}` is not known when the function is "
                      f"transformed", f"it may be a {kinds}, whose `{sym}` is a method srcad "
                      f"must inline, or a number or array", "compute it from the function's "
                      "arguments or a constructor call directly (not through a value whose "
                      "type changes, or a call that is not inlined)")

    def call(self, s, fn, args):
        cls = fn.__qualname__.rsplit(".", 2)[-2] if "." in fn.__qualname__ else "user"
        name = self.env.bind(f"{cls}_{fn.__name__.strip('_')}", fn,
                             (fn.__module__, fn.__qualname__) if fn.__module__ else None)
        return gast.copy_location(gast.Assign(
            targets=s.targets, value=gast.Call(func=_load(name), args=list(args), keywords=[]),
            type_comment=None), s)

    def index_value(self, index, s):
        """(statements, atom) building an index as a value: ``1:3`` -> ``slice(1, 3, None)``."""
        if isinstance(index, (gast.Name, gast.Constant)):
            return [], index
        import builtins
        from srcad.transforms.exits import _const
        prelude, parts = [], []
        if isinstance(index, gast.Slice):
            parts = [p if p is not None else _const(None) for p in (index.lower, index.upper,
                                                                     index.step)]
            func = _load(self.env.bind("slice", builtins.slice, ("builtins", "slice")))
            value = gast.Call(func=func, args=parts, keywords=[])
        elif isinstance(index, gast.Tuple):
            elts = []
            for e in index.elts:
                pre, atom = self.index_value(e, s)
                prelude += pre
                elts.append(atom)
            value = gast.Tuple(elts=elts, ctx=gast.Load())
        else:
            self.error(s, "this index of a user type is not supported")
        name = self.namer.fresh(f"{s.targets[0].id}_index")
        stmt = gast.copy_location(_assign(name, value), s)
        self.names[name] = PLAIN
        return prelude + [stmt], _load(name)

    # ----------------------------------------------------------- assignments
    def assigned(self, s):
        """Record the layout of an ``Assign`` (or ``lst.append(v)``) just kept."""
        if isinstance(s, gast.Expr):
            call = s.value
            if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
                    and call.func.attr == "append" and isinstance(call.func.value, gast.Name) \
                    and len(call.args) == 1:
                lst = self.of(call.func.value)
                item = self.of(call.args[0])
                if lst[0] == "seq":
                    self.names[call.func.value.id] = ("seq", lst[1], join(lst[2], item))
            return
        if not isinstance(s, gast.Assign) or not isinstance(s.targets[0], gast.Name):
            return
        self.names[s.targets[0].id] = self.value(s.value)

    def value(self, v):
        if isinstance(v, (gast.Name, gast.Constant)):
            return self.of(v)
        if isinstance(v, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp)):
            return PLAIN
        if isinstance(v, (gast.Tuple, gast.List)):
            return ("seq", tuple(self.of(e) for e in v.elts), None)
        if isinstance(v, gast.Dict):
            if all(isinstance(k, gast.Constant) for k in v.keys):
                return ("dict", {k.value: self.of(x) for k, x in zip(v.keys, v.values,
                                                                      strict=True)}, None)
            return ("dict", {}, common(tuple(self.of(x) for x in v.values)))
        if isinstance(v, gast.Attribute):
            return self.attribute(self.of(v.value), v.attr)
        if isinstance(v, gast.Subscript):
            return self.item(self.of(v.value), v.slice)
        if isinstance(v, gast.Call):
            return self.result(v)
        return UNKNOWN

    def attribute(self, base, attr):
        if base[0] == "struct":
            if base[2] is not None and attr in base[2]:
                return base[2][attr]
            return UNKNOWN
        return UNKNOWN if base == UNKNOWN else PLAIN

    def item(self, base, index):
        if base[0] == "seq":
            items, more = base[1], base[2]
            if isinstance(index, gast.Constant) and type(index.value) is int and more is None \
                    and -len(items) <= index.value < len(items):
                return items[index.value]
            whole = common(items + ((more,) if more else ()))
            return ("seq", (), whole) if isinstance(index, gast.Slice) else whole
        if base[0] == "dict":
            if isinstance(index, gast.Constant) and index.value in base[1]:
                return base[1][index.value]
            return common(tuple(base[1].values()) + ((base[2],) if base[2] else ()))
        if base[0] == "struct":
            cls = base[1]
            if issubclass(cls, tuple) and base[2] is not None and isinstance(
                    index, gast.Constant) and type(index.value) is int:
                fields = list(cls._fields)
                if -len(fields) <= index.value < len(fields):
                    return base[2].get(fields[index.value], UNKNOWN)
            return UNKNOWN
        return UNKNOWN if base == UNKNOWN else PLAIN

    def result(self, call):
        fn = resolve(call.func, self.env.namespace)
        if fn is MISSING:
            return UNKNOWN
        if is_struct_class(fn):
            self.in_play.add(fn)
            return ("struct", fn, self.fields(fn, call))
        args = [self.of(a) for a in call.args] + [self.of(k.value) for k in call.keywords]
        name = getattr(fn, "__name__", "")
        if name in _PASSING and any(a != PLAIN for a in args):
            if name in ("copy", "deepcopy", "replace") and args and args[0][0] == "struct":
                return args[0] if name != "replace" else ("struct", args[0][1], None)
            return UNKNOWN
        if isinstance(fn, types.FunctionType) and (getattr(fn, "__module__", "") or "") \
                .split(".")[0] not in ("srcad", "numpy"):
            return UNKNOWN              # a user function that stays a call
        return PLAIN

    def fields(self, cls, call):
        try:
            bound = inspect.signature(cls).bind(*call.args, **{k.arg: k.value
                                                               for k in call.keywords})
        except (TypeError, ValueError):
            return None
        out = {n: self.of(a) for n, a in bound.arguments.items()}
        if dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                if f.name not in out:
                    out[f.name] = layout_of(f.default) if f.default is not dataclasses.MISSING \
                        else UNKNOWN
        else:
            for n in cls._fields:
                if n not in out:
                    out[n] = layout_of(cls._field_defaults.get(n))
        return out

    # ----------------------------------------------------------- control flow
    def snapshot(self):
        return dict(self.names)

    def merge(self, other):
        """After an ``if``: a name holds what either branch left in it."""
        for n in set(self.names) | set(other):
            self.names[n] = join(self.names.get(n), other.get(n))

    def loop_done(self, entry, body, s):
        """After a loop: a name whose layout changes between iterations is unknown, and
        refused when the body applied an operator to it under its first layout."""
        read = {n.id for st in body for n in walk(st)
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        for n in set(self.names) | set(entry):
            before, after = entry.get(n), self.names.get(n)
            merged = join(before, after)
            if before is not None and merged != before and n in read \
                    and (holds_struct(before) or holds_struct(after)) and self.in_play:
                self.error(s, f"the type of `{n}` changes from one iteration to the next",
                           "srcad picks a user type's operator methods when it transforms "
                           "the loop, once for every iteration",
                           f"give `{n}` one type before the loop (e.g. start from a "
                           f"`{sorted(c.__name__ for c in self.in_play)[0]}`)")
            self.names[n] = merged

"""Helpers that generated code calls (spelled ``_rt.name`` there).

Cotangent conventions inside a generated sweep:
- ``0.0`` is the zero cotangent of anything (a float, an array, a structure);
- a number or an array is the cotangent of a number or an array; the cotangent
  of an array may be a number (or a smaller array) standing for its broadcast
  to the array's shape: helpers that index it expand it first;
- a list is the cotangent of a tuple or a list (one entry per item), a dict
  the cotangent of a dict or of an object's attributes (one entry per field).
``finalize`` turns these into the gradient the user sees: the same structure
and type as the argument, arrays of the argument's dtype, never an alias of an
internal value.
"""
import dataclasses

import numpy as np

# generated code calls these as _rt.<name>, like every helper here
from srcad.indexed import last_writes
from srcad.instances import rebuilt, struct_attribute  # noqa: F401
from srcad.pullbacks import call_back, call_full, jvp_call, vjp_back, vjp_call  # noqa: F401
from srcad.seeds import GradSeed, grad_seed  # noqa: F401
from srcad.statements import show, text, throw  # noqa: F401
from srcad.threads import threads_fit, threads_run  # noqa: F401


def is_zero(c):
    return c is None or (type(c) is float and c == 0.0)


def _fields(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [f.name for f in dataclasses.fields(obj)]
    return list(obj._fields)


def _as_cot(c):
    """A user-visible structured cotangent (dataclass, namedtuple) as a dict or list."""
    if isinstance(c, tuple) and hasattr(c, "_fields"):
        return {f: getattr(c, f) for f in c._fields}
    if dataclasses.is_dataclass(c) and not isinstance(c, type):
        return {f: getattr(c, f) for f in _fields(c)}
    if isinstance(c, tuple):
        return list(c)
    return c


def add_cot(a, b):
    """a + b for cotangents of any structure (a fresh container when one side is zero)."""
    if is_zero(a):
        b = _as_cot(b)
        if isinstance(b, list):
            return list(b)
        if isinstance(b, dict):
            return dict(b)
        if isinstance(b, np.ndarray):
            return b.copy()     # the sweep may update it in place: never alias the caller's
        return b
    if is_zero(b):
        return a
    a, b = _as_cot(a), _as_cot(b)
    if isinstance(a, list):
        return [add_cot(x, y) for x, y in zip(a, b, strict=True)]
    if isinstance(a, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = add_cot(out.get(k, 0.0), v)
        return out
    return a + b


def index_cot(c, k):
    """The cotangent of item ``k`` of a value whose cotangent is ``c``."""
    if is_zero(c):
        return 0.0
    c = _as_cot(c)
    if isinstance(c, dict):
        return c.get(k, 0.0)
    return c[k]


def field_cot(c, name):
    if is_zero(c):
        return 0.0
    if isinstance(c, dict):
        return c.get(name, 0.0)
    return getattr(c, name)


def attr_acc(c, name, g):
    if is_zero(g):
        return c
    out = {} if is_zero(c) else dict(_as_cot(c))
    out[name] = add_cot(out.get(name, 0.0), g)
    return out


def _fancy(idx):
    if isinstance(idx, np.ndarray):
        return idx.dtype != bool
    if isinstance(idx, (list,)):
        return True
    if isinstance(idx, tuple):
        return any(_fancy(i) for i in idx)
    return False


def item_acc(c, x, idx, g):
    """Add ``g`` into the cotangent ``c`` of ``x`` at ``x[idx]``."""
    if is_zero(g) and not (is_zero(c) and isinstance(x, np.ndarray)):
        return c
    if isinstance(x, np.ndarray):     # an array's cotangent is an array: rules reshape it
        if is_zero(g):
            return np.zeros(x.shape, dtype=x.dtype if x.dtype.kind in "fc" else np.float64)
        dtype = x.dtype if x.dtype.kind in "fc" else np.result_type(x.dtype, np.float32)
        if is_zero(c):
            c = np.zeros(x.shape, dtype=dtype)
        elif not (isinstance(c, np.ndarray) and c.shape == x.shape):
            c = np.array(np.broadcast_to(c, x.shape), dtype=np.result_type(c, dtype))
        if _fancy(idx):
            np.add.at(c, idx, g)
        else:
            c[idx] += g
        return c
    if isinstance(x, dict):
        out = {} if is_zero(c) else dict(c)
        out[idx] = add_cot(out.get(idx, 0.0), g)
        return out
    if isinstance(x, (list, tuple)):
        out = [0.0] * len(x) if is_zero(c) else list(_as_cot(c))
        if isinstance(idx, slice):
            for k, gk in zip(range(*idx.indices(len(x))), _as_cot(g), strict=True):
                out[k] = add_cot(out[k], gk)
        else:
            out[idx] = add_cot(out[idx], g)
        return out
    raise TypeError(f"cannot index the cotangent of a {type(x).__name__}")


def gather_cot(c, idx):
    """``c[idx]`` as a cotangent (a copy; 0.0 for a zero or a missing key)."""
    if is_zero(c):
        return 0.0
    if isinstance(c, dict):
        return c.get(idx, 0.0)
    item = c[idx]
    return item.copy() if isinstance(item, np.ndarray) else item


def take_cot(c, idx):
    """The cotangent of the value written by ``x[idx] = v`` (a copy). With repeated
    integer indices only the last write of each position survives, as in NumPy, so
    the earlier duplicates get a zero cotangent."""
    if is_zero(c):
        return 0.0
    if isinstance(c, dict):
        return c.get(idx, 0.0)
    if isinstance(idx, list) and idx and all(isinstance(i, (int, np.integer)) for i in idx):
        idx = np.asarray(idx)
    item = last_writes(c[idx], idx, c.shape if isinstance(c, np.ndarray) else None)
    return item.copy() if isinstance(item, np.ndarray) else item


def seq_operand(x):
    """A list or tuple operand of an elementwise function as the array it stands for (the
    rules compute with their operands: ``1 - x * x`` is no arithmetic on a list)."""
    return np.asarray(x)


def zero_item(c, idx):
    if is_zero(c):
        return c
    c[idx] = 0.0
    return c


def list_cot(c):
    """The cotangent of a list, as a list: a rule gives an array for a list operand
    (``np.sum(items)``), and the reverse sweep pops the list's items one by one."""
    if isinstance(c, np.ndarray) and c.ndim:
        return list(np.array(c))
    return c


def pop_cot(c):
    if is_zero(c) or not c:
        return 0.0
    return c.pop()


_ABSENT = object()      # what copy_item saw for a key a dict did not have


def copy_item(x, idx):
    if isinstance(x, dict) and idx not in x:
        return _ABSENT
    item = x[idx]
    return item.copy() if isinstance(item, np.ndarray) else item


def restore_item(x, idx, old):
    """Undo ``x[idx] = v`` in the reverse sweep (``old`` from ``copy_item``)."""
    if old is _ABSENT:
        del x[idx]
    else:
        x[idx] = old


def copy_value(v):
    return v.copy() if isinstance(v, np.ndarray) else v


def not_shared(x, name, filename, lineno, *others, held=(), same=()):
    """Guard before an in-place update of ``x``: no other live name may see the array (or
    the list or dict: ``b = a; b.append(v)`` while ``a`` is read later). The containers
    ``held`` (pairs ``(c, key)``) and the names ``same`` are followed by the generated
    code (transforms/holders.py): they must still hold ``x`` itself there."""
    if held or same:
        if any(c[k] is not x for c, k in held) or any(n is not x for n in same):
            _refuse_shared(name, filename, lineno)
        at = {(id(c), k) for c, k in held}
        others = others + tuple(v for c in {id(c): c for c, _ in held}.values()
                                for k, v in (c.items() if isinstance(c, dict) else enumerate(c))
                                if (id(c), k) not in at)
    if isinstance(x, (list, dict)) and any(_holds(o, x) for o in others):
        from srcad.errors import TransformError
        kind = type(x).__name__
        raise TransformError(
            f"`{name}` is changed in place while another name refers to the same {kind}",
            filename=filename, lineno=lineno,
            why="srcad treats the change as a new value, so the other name would not see it "
                "and the derivative would be wrong",
            hint=f"make one of them a copy (`{name} = {name}[:]` for a list, a new dict "
                 "literal for a dict)")
    if isinstance(x, np.ndarray):
        for o in _arrays_in(others):
            if np.may_share_memory(x, o):
                _refuse_shared(name, filename, lineno)


def _refuse_shared(name, filename, lineno):
    from srcad.errors import TransformError, user_line_error
    if filename.startswith("<srcad"):       # srcad's own first-derivative code
        raise user_line_error(
            "second derivatives through an in-place update of an array that a "
            "view still reads are not supported yet", filename, lineno,
            why="the first-derivative code keeps views of the array for its "
                "reverse sweep",
            hint="write the update as a new value (`u = np.concatenate(...)` or "
                 "`u = u + ...`) to take second derivatives")
    raise TransformError(
        f"`{name}` is updated in place while another name refers to the same "
        "array", filename=filename, lineno=lineno,
        why="srcad treats the update as a new value, so the other name would not "
            "see it and the derivative would be wrong",
        hint=f"copy first (`{name} = {name}.copy()`; a list, tuple or dict holding "
             f"it should hold `{name}.copy()`), or write the update as a new value "
             f"(`{name} = {name} + ...`)")


def _holds(v, x, depth=0):
    """Is the container ``x`` the value ``v`` or inside it?"""
    if v is x:
        return True
    if depth < 8 and isinstance(v, (list, tuple)):
        return any(_holds(u, x, depth + 1) for u in v)
    if depth < 8 and isinstance(v, dict):
        return any(_holds(u, x, depth + 1) for u in v.values())
    return False


def _arrays_in(values, depth=0):
    """The arrays among ``values`` and inside the lists, tuples, dicts and dataclasses
    among them."""
    for v in values:
        if isinstance(v, np.ndarray):
            yield v
        elif depth < 8 and isinstance(v, (list, tuple)):
            yield from _arrays_in(v, depth + 1)
        elif depth < 8 and isinstance(v, dict):
            yield from _arrays_in(v.values(), depth + 1)
        elif depth < 8 and hasattr(v, "__dataclass_fields__") and not isinstance(v, type):
            yield from _arrays_in([getattr(v, f) for f in v.__dataclass_fields__], depth + 1)


def numbers_only(a, b, op, filename, lineno):
    """Guard before ``a + b`` or ``a * b`` on values that may be lists or tuples: their
    derivative rules are those of arithmetic, not of joining or repeating sequences."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        from srcad.errors import TransformError
        what = "joined with `+`" if op == "+" else "repeated with `*`"
        raise TransformError(
            f"a list or tuple that carries derivatives is {what} here", filename=filename,
            lineno=lineno, why="srcad differentiates `+` and `*` as arithmetic; it follows "
            "joining and repeating only when the items are written out",
            hint="write the items out (`[a, b] * 2` or `[a] + [b]` in one expression), or "
                 "build the list with `append` in a loop")


def not_shared_item(container, idx, name, filename, lineno, *others, held=(), same=()):
    """Guard before ``container[idx] += ...``: the array updated in place is the container
    itself (an ndarray) or the array stored at ``idx``, which the container's other items
    may hold too (``l = [a, a]; l[0] += 1.0`` changes ``l[1]``)."""
    if isinstance(container, np.ndarray):
        not_shared(container, name, filename, lineno, *others, held=held, same=same)
        return
    x = container[idx]
    if isinstance(x, np.ndarray):
        items = container.items() if isinstance(container, dict) else enumerate(container)
        others = others + tuple(v for k, v in items if k != idx)
    not_shared(x, name, filename, lineno, *others, held=held, same=same)


def zeros_cot(x):
    """A zero cotangent of its own for ``x`` (updated in place by the sweep): an array, or
    a list of one zero per item."""
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, dtype=x.dtype if x.dtype.kind in "fc" else np.float64)
    if isinstance(x, list):
        return [0.0] * len(x)
    return 0.0


def dense(g, y):
    """The cotangent ``g`` of ``y``, shaped like ``y`` (for rules that reshape or transpose
    it): zeros when it is the zero 0.0, expanded when it is a smaller stand-in that
    broadcasts to ``y``'s shape (0.0 * t with t (3, 1); 0.0 / c with c a NumPy float)."""
    if type(g) is float and isinstance(y, np.ndarray):     # a number stands for its broadcast
        return zeros_cot(y) if g == 0.0 else np.full(y.shape, g)
    if isinstance(g, (np.ndarray, np.floating)) and isinstance(y, np.ndarray) \
            and np.shape(g) != y.shape and np.ndim(g) <= y.ndim:
        return np.array(np.broadcast_to(g, y.shape))
    return g


def own(c):
    return c.copy() if isinstance(c, np.ndarray) else c


def kept_0d(old, new):
    """``v += c`` as srcad writes it (``v = kept_0d(v, v + c)``): on a 0-d array Python
    updates it in place and it stays a (mutable) 0-d array, where ``v + c`` is a NumPy
    scalar; a later in-place update through another name must see the same kind."""
    if isinstance(old, np.ndarray) and old.ndim == 0 and not isinstance(new, np.ndarray):
        return np.array(new, dtype=np.result_type(old, new))
    return new


# ------------------------------------------------------------------ finalize

def is_float_leaf(x):
    if isinstance(x, bool):
        return False
    if isinstance(x, (float, np.floating, complex, np.complexfloating)):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fc"
    return False


def finalize(c, x):
    """The gradient the user sees for argument ``x`` from its cotangent ``c``."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "fc":
            return x
        if is_zero(c):
            return np.zeros_like(x)
        c = np.asarray(c)
        if c.shape != x.shape:
            c = np.broadcast_to(c, x.shape)
        if c.dtype != x.dtype or c.base is not None or not c.flags.writeable:
            return np.array(c, dtype=x.dtype)
        return c
    if isinstance(x, bool) or x is None or isinstance(x, (int, str, np.integer)):
        return x
    if isinstance(x, float):
        return 0.0 if is_zero(c) else float(np.real(c)) if not isinstance(c, complex) else c
    if isinstance(x, np.floating):
        return type(x)(0.0 if is_zero(c) else c)
    if isinstance(x, complex):
        return 0j if is_zero(c) else complex(c)
    c = 0.0 if is_zero(c) else _as_cot(c)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[finalize(index_cot(c, f), getattr(x, f)) for f in x._fields])
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        values = {f.name: finalize(field_cot(c, f.name), getattr(x, f.name))
                  for f in dataclasses.fields(x) if f.init}
        return rebuilt(x, values)
    if isinstance(x, (tuple, list)):
        return type(x)(finalize(index_cot(c, k), v) for k, v in enumerate(x))
    if isinstance(x, dict):
        return {k: finalize(index_cot(c, k), v) for k, v in x.items()}
    return x


def finalize_array(c, x):
    """``finalize`` for a float ndarray argument (the common case, kept short)."""
    if type(c) is np.ndarray and c.shape == x.shape and c.dtype == x.dtype \
            and c.base is None and c.flags.writeable:
        return c
    return finalize(c, x)


def owned_array(c, x):
    """``c`` (the generated code's own new array) if a gradient of ``x`` can be added into
    it in place: an ndarray of ``x``'s shape and dtype; else None (a new array then)."""
    if type(c) is np.ndarray and c.shape == x.shape and c.dtype == x.dtype \
            and c.base is None:
        return c
    return None


def zeros_for(x):
    return finalize(0.0, x)


# ------------------------------------------------------------- forward mode

def zero_tangent(x):
    """A materialised zero tangent for ``x`` (inside containers, where 0.0 won't broadcast)."""
    if isinstance(x, np.ndarray):
        return np.zeros_like(x, dtype=x.dtype if x.dtype.kind in "fc" else np.float64)
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        return 0.0
    return 0.0


def list_tangent(t, x):
    """The tangent of the list ``x`` as a list to append to: a zero tangent (0.0, the list
    held no varied item so far) becomes a new list of zero tangents of ``x``'s items."""
    if isinstance(t, list):
        return t
    return [zero_tangent(v) for v in x]


def _carries(v):
    """Can this value carry a derivative (a float leaf or a container of some)?"""
    if is_float_leaf(v):
        return True
    if isinstance(v, (tuple, list)):
        return any(_carries(u) for u in v)
    if isinstance(v, dict):
        return any(_carries(u) for u in v.values())
    return dataclasses.is_dataclass(v) and not isinstance(v, type)


def tangent_item(t, x, idx, vector):
    if is_zero(t):
        return 0.0
    if not isinstance(x, np.ndarray) and not _carries(x[idx]):
        return 0.0
    if vector and isinstance(t, np.ndarray) and t.ndim > np.ndim(x):
        idx = idx if isinstance(idx, tuple) else (idx,)
        item = t[(slice(None),) + idx]      # (a tangent without the leading axis of
                                            # directions is the same in every direction)
        if all(isinstance(i, (int, np.integer)) for i in idx):
            return item.copy()      # the primal item is a copy: a later write into the
        return item                 # array must not reach its tangent either
    if dataclasses.is_dataclass(t) or (isinstance(t, tuple) and hasattr(t, "_fields")):
        t = _as_cot(t)
    if isinstance(t, dict):
        return t.get(idx, 0.0)
    return t[idx]


def tangent_attr(t, x, name):
    if is_zero(t) or not _carries(getattr(x, name)):
        return 0.0
    if isinstance(t, dict):
        return t.get(name, 0.0)
    return getattr(t, name)


def tangent_construct(y, fields):
    """The tangent of a dataclass or NamedTuple built in differentiated code: an instance
    of the same type (fields without a tangent keep 0.0, non-float fields their value)."""
    if dataclasses.is_dataclass(y) and not isinstance(y, type):
        init = {f.name for f in dataclasses.fields(y) if f.init}
        return rebuilt(y, {k: v for k, v in fields.items()
                           if k in init and _carries(getattr(y, k))})
    if isinstance(y, tuple) and hasattr(y, "_fields"):
        return y._replace(**{k: v for k, v in fields.items() if _carries(getattr(y, k))})
    return dict(fields) if fields else 0.0


def tangent_setitem(t, x, idx, v, vector, value=None):
    """The tangent of ``x`` after ``x[idx] = value`` (``v`` the tangent of ``value``, which
    vector mode passes; ``t`` is owned by the caller).

    A list's or a dict's tangent is a list or dict updated like ``x``; an array's
    tangent that merely broadcasts to ``x`` (a scalar, or one without the vector-mode
    leading axis) is first expanded to the full shape."""
    if not isinstance(x, np.ndarray):
        if is_zero(t):
            if is_zero(v):
                return t
            t = {} if isinstance(x, dict) else [0.0] * len(x)
        t[idx] = v
        return t
    if is_zero(t) and is_zero(v):
        return t
    lead = np.shape(v)[:np.ndim(v) - np.ndim(value)] if vector else ()
    if not is_zero(t) and vector and np.ndim(t) > x.ndim:
        lead = np.shape(t)[:np.ndim(t) - x.ndim]
    shape = lead + x.shape
    if is_zero(t):
        t = np.zeros(shape, dtype=np.result_type(x.dtype, np.float32))
    elif np.shape(t) != shape or not isinstance(t, np.ndarray):
        t = np.array(np.broadcast_to(t, shape), dtype=np.result_type(t, x.dtype, np.float32))
    else:
        # written into a copy: another tangent may be a view of this one (the tangent of
        # `x.T + 1.0` is the tangent of `x.T`, a view) where the primal values are not
        t = t.copy()
    if lead:            # vector mode; with no axis of directions anywhere (a tangent made
        # full from a zero), the tangent is the same for every direction: set it as is
        idx = (slice(None),) + (idx if isinstance(idx, tuple) else (idx,))
        vlead = np.shape(v)[:np.ndim(v) - np.ndim(value)]
        if vlead:       # unit axes after the directions, so v's own axes line up at the end
            room = t[idx].ndim - len(vlead) - np.ndim(value)
            v = np.reshape(v, vlead + (1,) * room + np.shape(value))
        t[idx] = v
    else:
        t[idx] = v
    return t


def full_tangent(t, x):
    """A tangent that may merely broadcast to ``x``'s shape, made full."""
    if not isinstance(x, (np.ndarray, float, int, np.number)):
        return t                    # a container's tangent is already structured
    shape = np.shape(x)
    tshape = np.shape(t)
    if tshape == shape:
        return t
    if len(tshape) > len(shape):    # vector mode: keep the leading axis of directions
        shape = tshape[:len(tshape) - len(shape)] + shape
        if tshape == shape:
            return t
    dtype = np.result_type(t, x) if isinstance(x, np.ndarray) else np.result_type(t, 0.0)
    return np.array(np.broadcast_to(t, shape), dtype=dtype)


def tangent_out(t, y, vector):
    """The output tangent in the structure of the output ``y``."""
    if vector:
        return t
    if type(t) is np.ndarray and type(y) is np.ndarray and t.shape == y.shape \
            and t.dtype == y.dtype and t.base is None:
        return t
    if is_zero(t):
        return zeros_for_value(y)
    if isinstance(y, np.ndarray):
        t = np.asarray(t)
        if t.shape != y.shape:
            t = np.broadcast_to(t, y.shape)
        if t.dtype != y.dtype and y.dtype.kind in "fc" or t.base is not None:
            t = np.array(t, dtype=y.dtype if y.dtype.kind in "fc" else t.dtype)
        return t
    if isinstance(y, tuple) and hasattr(y, "_fields"):
        t = _as_cot(t)
        return type(y)(*[tangent_out(index_cot(t, f), getattr(y, f), False) for f in y._fields])
    if dataclasses.is_dataclass(y) and not isinstance(y, type):
        t = _as_cot(t)
        return rebuilt(y, {f.name: tangent_out(field_cot(t, f.name), getattr(y, f.name), False)
                           for f in dataclasses.fields(y) if f.init})
    if isinstance(y, (tuple, list)):
        return type(y)(tangent_out(index_cot(t, k), v, False) for k, v in enumerate(y))
    if isinstance(y, dict):
        return {k: tangent_out(index_cot(t, k), v, False) for k, v in y.items()}
    if type(y) is float:
        return float(np.real(t)) if np.ndim(t) == 0 else t
    if isinstance(y, np.floating) and np.ndim(t) == 0:     # np.float32 in, np.float32 out
        return y.dtype.type(np.real(t))
    return t


def zeros_for_value(y):
    if isinstance(y, np.ndarray):
        return np.zeros_like(y, dtype=y.dtype if y.dtype.kind in "fc" else np.float64)
    if isinstance(y, (tuple, list)) and not hasattr(y, "_fields"):
        return type(y)(zeros_for_value(v) for v in y)
    if isinstance(y, dict):
        return {k: zeros_for_value(v) for k, v in y.items()}
    if isinstance(y, np.floating):
        return y.dtype.type(0.0)
    if isinstance(y, (float, int, np.number)) and not isinstance(y, bool):
        return 0.0
    return finalize(0.0, y)


# ---------------------------------------------------------------- workspaces

from srcad.workspace import Workspace  # noqa: E402,F401  (generated code's ``_ws``)

"""What callers hand in: the arguments and ``wrt``, ``out=`` buffers, cotangents, tangents.

Each is checked before anything is computed or written; a mismatch is a
ValueError naming the argument and the shapes, never a broadcast accident.
"""
import copy
import dataclasses
import inspect
import operator

import numpy as np

from srcad.instances import rebuilt
from srcad.runtime import zeros_for_value
from srcad.signature import abstract, holds_complex, is_differentiable


def _check_cotangent(c, value, label):
    """A cotangent with the structure and shapes of ``value`` (None -> zeros), or a
    ValueError saying where it does not fit."""
    if c is None:
        return zeros_for_value(value)
    if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):
        if not isinstance(c, (tuple, list)) or len(c) != len(value):
            raise ValueError(f"the {label} of a {len(value)}-tuple output must be a tuple of "
                             f"{len(value)} entries, got {type(c).__name__}"
                             + (f" of {len(c)}" if isinstance(c, (tuple, list)) else ""))
        return type(value)(_check_cotangent(ci, vi, f"{label}[{k}]")
                           for k, (ci, vi) in enumerate(zip(c, value, strict=True)))
    if isinstance(value, dict):
        if not isinstance(c, dict) or set(c) - set(value):
            raise ValueError(f"the {label} of a dict output must be a dict with keys among "
                             f"{sorted(value)}")
        return {k: _check_cotangent(c.get(k), v, f"{label}[{k!r}]") for k, v in value.items()}
    if np.iscomplexobj(c) and not np.iscomplexobj(value):
        raise TypeError(f"the {label} is complex but the output is real: pass a real "
                        f"{label}")
    if c is not None and not isinstance(c, (float, int, np.ndarray, np.number)):
        if isinstance(value, (np.ndarray, float, int, np.number)):
            raise TypeError(f"the {label} must be a float or an ndarray, got "
                            f"{type(c).__name__}")
    if isinstance(value, np.ndarray):
        if np.shape(c) != value.shape and np.ndim(c) != 0:
            raise ValueError(f"the {label} has shape {np.shape(c)}, the output has shape "
                             f"{value.shape}")
        if np.ndim(c) == 0 and value.ndim:      # a number stands for its broadcast
            return np.full(value.shape, c, dtype=np.result_type(
                c, value.dtype if value.dtype.kind in "fc" else np.float64))
    elif isinstance(value, (float, int, np.number)) and np.ndim(c) != 0:
        raise ValueError(f"the {label} has shape {np.shape(c)}, the output is a scalar")
    return c


def _check_tangents(d, args, tangents):
    if not isinstance(tangents, (tuple, list)):
        tangents = (tangents,)
    tangents = tuple(tangents)
    if len(tangents) != len(d.wrt):
        raise ValueError(f"jvp needs one tangent per wrt argument {d.wrt}, got {len(tangents)}")
    for name, pos, t in zip(d.wrt, d.positions, tangents, strict=True):
        a = args[pos]
        if t is None:
            raise TypeError(f"the tangent for `{name}` is None: pass zeros shaped like the "
                            f"argument, or leave `{name}` out of wrt")
        if isinstance(a, (np.ndarray, float, np.floating)) and np.iscomplexobj(t) \
                and not np.iscomplexobj(a):
            raise TypeError(f"the tangent for `{name}` is complex but the argument is real")
        if isinstance(a, (np.ndarray, float, np.floating)) and np.shape(t) != np.shape(a):
            raise ValueError(f"the tangent for `{name}` has shape {np.shape(t)}, the argument "
                             f"has shape {np.shape(a)}")
    return tangents


def _leaves(x, path):
    if isinstance(x, np.ndarray):
        yield path, x
    elif isinstance(x, (tuple, list)) and not hasattr(x, "_fields"):
        for k, v in enumerate(x):
            yield from _leaves(v, f"{path}[{k}]")
    elif isinstance(x, tuple):
        for f in x._fields:
            yield from _leaves(getattr(x, f), f"{path}.{f}")
    elif dataclasses.is_dataclass(x) and not isinstance(x, type):
        for f in dataclasses.fields(x):
            yield from _leaves(getattr(x, f.name), f"{path}.{f.name}")
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, f"{path}[{k!r}]")
    else:
        yield path, x


_LAST_OUT = (None, (), None, None)     # (out, args, names, result) of the last check


def _check_out(out, args, positions, names, single):
    """The tuple of top-level buffers to hand to generated code (after checking all of ``out``).

    A loop that passes the same ``out`` and the same argument objects again is checked
    once: an array's memory, and so every overlap, is fixed for its lifetime."""
    global _LAST_OUT
    last = _LAST_OUT
    if out is last[0] and names is last[2] and len(args) == len(last[1]) \
            and all(map(operator.is_, args, last[1])):
        return last[3]
    result = _check_out_fresh(out, args, positions, names, single)
    _LAST_OUT = (out, args, names, result)
    return result


def _check_out_fresh(out, args, positions, names, single):
    outs = (out,) if single else out
    if not isinstance(outs, (tuple, list)) or len(outs) != len(names):
        raise ValueError(f"out= must be {'one buffer' if single else f'a tuple of {len(names)}'}"
                         f" for wrt {names}")
    top = []
    for name, pos, o in zip(names, positions, outs, strict=True):
        a = args[pos]
        if type(a) is np.ndarray and type(o) is np.ndarray and o.shape == a.shape \
                and o.dtype == a.dtype and o.flags.writeable:
            top.append(o)                       # the common case, checked in one line
        elif isinstance(a, np.ndarray):
            _check_buffer(name, o, a)
            top.append(o)
        else:
            top.append(None)
    _check_no_overlap(outs, args, names)
    return tuple(top)


def _check_no_overlap(outs, args, names):
    """``out=`` buffers may share memory neither with an argument nor with each other:
    the generated code reads the arguments while it writes the gradients."""
    by_root = {}                    # id of an owning root array -> the arrays viewing it
    for a in args:
        if isinstance(a, np.ndarray):
            r = _root(a)
            if r is None:           # memory NumPy did not allocate: compare everything
                return _check_no_overlap_pairwise(outs, args, names)
            by_root.setdefault(id(r), []).append(a)
    seen = {}
    for name, o in zip(names, outs, strict=True):
        if not isinstance(o, np.ndarray):
            continue
        r = _root(o)
        if r is None:
            return _check_no_overlap_pairwise(outs, args, names)
        if any(np.may_share_memory(o, a) for a in by_root.get(id(r), ())):
            raise ValueError(f"out= for `{name}` shares memory with an argument; pass a "
                             "separate buffer")
        for other_name, other in seen.get(id(r), ()):
            if np.may_share_memory(o, other):
                raise ValueError(f"out= buffers for `{other_name}` and `{name}` share memory")
        seen.setdefault(id(r), []).append((name, o))


def _check_no_overlap_pairwise(outs, args, names):
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    buffers = [(name, o) for name, o in zip(names, outs, strict=True)
               if isinstance(o, np.ndarray)]
    for k, (name, o) in enumerate(buffers):
        if any(np.may_share_memory(o, a) for a in arrays):
            raise ValueError(f"out= for `{name}` shares memory with an argument; pass a "
                             "separate buffer")
        for other_name, other in buffers[k + 1:]:
            if np.may_share_memory(o, other):
                raise ValueError(f"out= buffers for `{name}` and `{other_name}` share memory")


def _root(x):
    """The array at the bottom of ``x``'s chain of views, or None when that array does
    not own its memory (a buffer NumPy did not allocate)."""
    while isinstance(x.base, np.ndarray):
        x = x.base
    return x if x.base is None else None


def _check_buffer(label, buffer, like):
    """``buffer`` can take a gradient shaped like ``like``, or a ValueError naming ``label``."""
    if not isinstance(buffer, np.ndarray):
        raise ValueError(f"out= for `{label}` must be an ndarray, got {type(buffer).__name__}")
    if buffer.shape != like.shape:
        raise ValueError(f"out= for `{label}` has shape {buffer.shape}, the gradient has "
                         f"shape {like.shape}")
    if buffer.dtype != like.dtype:
        raise ValueError(f"out= for `{label}` has dtype {buffer.dtype}, the gradient has "
                         f"dtype {like.dtype}")
    if not buffer.flags.writeable:
        raise ValueError(f"out= for `{label}` is read-only")


def _write_out(out, grads, names, single):
    """Copy ``grads`` into the caller's buffers after checking every one of them."""
    outs = (out,) if single else out
    if not isinstance(outs, (tuple, list)) or len(outs) != len(grads):
        raise ValueError(f"out= must be {'one buffer' if single else f'a tuple of {len(grads)}'}"
                         f" for wrt {names}")
    pairs = []
    for name, o, g in zip(names, outs, grads, strict=True):
        gl, ol = list(_leaves(g, name)), list(_leaves(o, "out"))
        if len(gl) != len(ol):
            raise ValueError(f"out= for `{name}` does not have the structure of its gradient")
        for (gp, gv), (_, ov) in zip(gl, ol, strict=True):
            if not isinstance(gv, np.ndarray):
                if not isinstance(gv, (float, np.floating)):
                    continue                    # a non-differentiable field keeps its value
                if isinstance(ov, np.ndarray) and ov.size == 1 and ov.flags.writeable \
                        and ov.dtype.kind in "fc":
                    pairs.append((ov, gv))      # a float gradient into a one-entry array
                    continue
                raise ValueError(f"out= for `{gp}`: a float gradient needs a one-entry float "
                                 "array to be written into; pass one or omit out=")
            _check_buffer(gp, ov, gv)
            pairs.append((ov, gv))
    for ov, gv in pairs:
        if ov is not gv:
            np.copyto(ov, gv)
    return out


def _apart_from(result, inputs):
    """``result`` with every array that may share memory with an array in ``inputs`` (the
    caller's arguments, tangents) copied: nothing returned aliases what the caller passed,
    so a later in-place change of either does not reach the other."""
    arrays = [a for _, a in _leaves(inputs, "") if isinstance(a, np.ndarray)]
    if not arrays:
        return result
    return _copy_shared(result, arrays)


def _copy_shared(x, arrays):
    if isinstance(x, np.ndarray):
        return x.copy() if any(np.may_share_memory(x, a) for a in arrays) else x
    if isinstance(x, (tuple, list)) and not hasattr(x, "_fields"):
        new = [_copy_shared(v, arrays) for v in x]
        return x if all(map(operator.is_, new, x)) else type(x)(new)
    if isinstance(x, tuple):
        new = [_copy_shared(v, arrays) for v in x]
        return x if all(map(operator.is_, new, x)) else type(x)(*new)
    if isinstance(x, dict):
        new = {k: _copy_shared(v, arrays) for k, v in x.items()}
        return x if all(new[k] is v for k, v in x.items()) else new
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        changed = {f.name: _copy_shared(getattr(x, f.name), arrays)
                   for f in dataclasses.fields(x)}
        changed = {k: v for k, v in changed.items() if v is not getattr(x, k)}
        if not changed:
            return x
        x = copy.copy(x)
        for k, v in changed.items():
            object.__setattr__(x, k, v)
    return x


def _resolve_wrt(fn, wrt):
    params = list(inspect.signature(fn).parameters)
    names, single = wrt_names(fn.__name__, params, wrt)
    return params, names, single


def wrt_names(label, params, wrt, bound=()):
    """``wrt`` (names or positions among ``params``, the parameters a caller passes) as a
    tuple of names, and whether it named one parameter alone. ``bound``: parameters of
    the underlying function that a partial or a method binds already."""
    single = wrt is None or not isinstance(wrt, (tuple, list))
    items = [0] if wrt is None else ([wrt] if single else list(wrt))
    names = []
    for w in items:
        if isinstance(w, bool) or not isinstance(w, (int, str)):
            raise TypeError(f"wrt must name parameters by name or position, got {w!r}")
        if isinstance(w, int):
            if not -len(params) <= w < len(params):
                raise ValueError(f"wrt={w} is out of range: `{label}` takes {len(params)} "
                                 f"parameters {params}")
            names.append(params[w])
        elif w in params:
            names.append(w)
        elif w in bound:
            raise ValueError(f"wrt names `{w}`, which `{label}` binds already (its value "
                             f"is fixed); name one of the parameters it still takes: "
                             f"{params}")
        else:
            raise ValueError(f"wrt names `{w}`, which is not a parameter of `{label}` "
                             f"(parameters: {params})")
    if len(set(names)) != len(names):
        raise ValueError(f"wrt names a parameter twice: {names}")
    return tuple(names), single


def check_args(d, args):
    """The argument count, no ndarray subclass, and float values under every wrt name."""
    if len(args) != len(d.params):
        raise TypeError(f"`{d.fn.__name__}` takes {len(d.params)} arguments "
                        f"{d.params}, got {len(args)}")
    for name, a in zip(d.params, args, strict=True):
        if abstract(a)[0] == "subclass":
            raise TypeError(f"`{name}` is a {type(a).__module__}.{type(a).__name__}: srcad "
                            f"takes plain ndarrays (a mask or a matrix product would be "
                            f"lost); pass np.asarray({name}), or fill or compress a "
                            f"masked array first")
    for name, pos in zip(d.wrt, d.positions, strict=True):
        a = abstract(args[pos])
        if a[0] in ("int", "bool") or (a[0] in ("array", "npscalar")
                                       and np.dtype(a[1]).kind in "biu"):
            raise TypeError(f"cannot differentiate with respect to `{name}`: it is an "
                            f"integer or boolean ({type(args[pos]).__name__}); pass a float")
        if holds_complex(a):
            raise TypeError(f"cannot differentiate with respect to `{name}`: it holds complex "
                            f"values ({type(args[pos]).__name__}), and complex differentiation "
                            f"is not supported; pass real and imaginary parts as separate "
                            f"float arguments")
        if not is_differentiable(a):
            raise TypeError(f"cannot differentiate with respect to `{name}`: a "
                            f"{type(args[pos]).__name__} holds no float values")


def _fresh_arrays(value, depth=0):
    """``value`` with its arrays copied (inside lists, tuples and dicts too)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if depth > 8:
        return value
    if isinstance(value, list):
        return [_fresh_arrays(v, depth + 1) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_fresh_arrays(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return {k: _fresh_arrays(v, depth + 1) for k, v in value.items()}
    return value


def plain_data(args):
    """``args`` with every ``np.memmap`` seen as the plain ndarray it is (a view, no copy;
    inside lists, tuples, dicts and dataclasses too): a memory-mapped file holds plain
    data, so its gradient is a plain ndarray. ``args`` itself when there is none."""
    for a in args:                  # a loop: this runs on every call
        t = type(a)
        if t is not np.ndarray and t is not float and _holds_memmap(a, 0):
            return tuple(_plain(a, 0) for a in args)
    return args


def _holds_memmap(x, depth):
    if isinstance(x, np.memmap):
        return True
    if depth > 8 or isinstance(x, (np.ndarray, float, int, str)):
        return False
    if isinstance(x, (tuple, list)):
        return any([_holds_memmap(v, depth + 1) for v in x])
    if isinstance(x, dict):
        return any([_holds_memmap(v, depth + 1) for v in x.values()])
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return any([_holds_memmap(getattr(x, f.name), depth + 1)
                    for f in dataclasses.fields(x)])
    return False


def _plain(x, depth):
    if isinstance(x, np.memmap):
        return x.view(np.ndarray)
    if not _holds_memmap(x, depth):
        return x
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[_plain(v, depth + 1) for v in x])
    if isinstance(x, (tuple, list)):
        return type(x)(_plain(v, depth + 1) for v in x)
    if isinstance(x, dict):
        return {k: _plain(v, depth + 1) for k, v in x.items()}
    return rebuilt(x, {f.name: _plain(getattr(x, f.name), depth + 1)
                       for f in dataclasses.fields(x) if f.init})

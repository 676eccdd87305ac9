"""Gradients of a loss summed over data shards, on a Dask cluster (extra: ``srcad[dask]``).

When the data outgrows one machine, the loss is a sum over its rows, and the
rows live in the chunks of Dask arrays::

    import dask.array as da
    import srcad.dask

    def loss(w, X, y):                          # a sum over the rows of X and y
        return np.sum((np.tanh(X @ w) - y) ** 2)

    X = da.from_array(X_np, chunks=(100_000, -1))
    y = da.from_array(y_np, chunks=100_000)
    g = srcad.dask.grad(loss)(w, X, y)      # NumPy, as srcad.grad(loss)(w, X_np, y_np)
    value, g = srcad.dask.value_and_grad(loss)(w, X, y)

The contract:

- ``fn(*args)`` returns a real scalar that is a **sum over the rows** (axis 0) of
  its Dask-array arguments: for any split of the rows, ``fn`` of all the rows equals
  the sum of ``fn`` of the parts. (A mean is not: sum, and divide by the number of
  rows outside, or pass the count as a plain argument.)
- Arguments that are ``dask.array`` objects are the shards. All of them have the same
  number of rows; they are rechunked to the first one's row chunks and to one chunk
  along every other axis. Every other argument is sent to every worker as it is.
- ``wrt`` (a parameter name or position, or a tuple of them, as in ``srcad.grad``)
  names plain arguments only: the gradient is with respect to the parameters, not
  the data.
- Each shard's value and gradient are computed on a worker by srcad's compiled
  gradient (the worker compiles it, or loads it from its disk cache); the results are
  summed by Dask's tree reduction (``split_every`` partial sums per step).
- The result has the structure ``srcad.grad`` gives. With ``compute=False`` it is a
  Dask object whose ``.compute()`` gives that result.

The function travels to the workers by name when they can import it (a module-level
function of a module on their path, or of the script that started the cluster); else
(a notebook cell's function, a closure) by value, with the source lines of the function
and of the helpers it calls from its own module, which the workers differentiate.
"""
import dataclasses
import linecache
import pickle
import sys
import types

import numpy as np

from srcad.instances import rebuilt

try:
    import dask
    import dask.array as da
    import dask.bag as db
except ImportError as exc:                                          # pragma: no cover
    raise ImportError("srcad.dask needs Dask and dask.distributed, which are not installed: "
                      "pip install 'srcad[dask]'") from exc

__all__ = ["grad", "value_and_grad"]


def grad(fn, wrt=0, split_every=8, compute=True):
    """``fn``'s gradient summed over the row shards of its Dask-array arguments.

    Args:
        fn: a function returning a real scalar that is a sum over the rows of its
            Dask-array arguments (see the module's contract).
        wrt: the plain (non-Dask) parameter(s) to differentiate, as in ``srcad.grad``.
        split_every: partial sums per step of Dask's tree reduction (at least 2).
        compute: return the result (True) or a Dask object with ``.compute()``.

    Returns:
        A function ``g(*args)`` returning what ``srcad.grad(fn, wrt)`` returns on the
        whole data.

    Raises:
        ValueError: ``split_every`` below 2, shards with different numbers of rows.
        TransformError: code srcad cannot differentiate, at the user's line.

    Example::

        g = srcad.dask.grad(loss)(w, X, y)      # X, y: dask arrays chunked by rows
    """
    return _Sharded(fn, wrt, split_every, compute, with_value=False)


def value_and_grad(fn, wrt=0, split_every=8, compute=True):
    """``(value, gradient)`` of ``fn``, each summed over the row shards.

    Args:
        fn, wrt, split_every, compute: as for ``srcad.dask.grad``.

    Returns:
        A function returning ``(value, gradient)`` of the whole data.

    Raises:
        ValueError, TransformError: as for ``srcad.dask.grad``.

    Example::

        value, g = srcad.dask.value_and_grad(loss)(w, X, y)
    """
    return _Sharded(fn, wrt, split_every, compute, with_value=True)


class _Sharded:
    def __init__(self, fn, wrt, split_every, compute, with_value):
        from srcad.api import _differentiable
        self.d = _differentiable(fn, wrt)               # checks fn and wrt here, not on a worker
        self.wrt = self.d.wrt[0] if self.d.single else tuple(self.d.wrt)
        if not isinstance(split_every, int) or split_every < 2:
            raise ValueError(f"split_every must be an integer of at least 2, got {split_every!r}")
        self.split_every = split_every
        self.compute = compute
        self.with_value = with_value
        self.__name__ = f"{getattr(self.d.fn, '__name__', 'f')}_dask_grad"

    def __call__(self, *args, **kwargs):
        d = self.d
        if kwargs or len(args) != len(d.params):
            args = d._bind(args, kwargs)
        shards = [p for p, a in enumerate(args) if isinstance(a, da.Array)]
        if not shards:
            raise ValueError(f"srcad.dask: no argument of `{d.fn.__name__}` is a dask.array, "
                             f"so there are no shards: use srcad.grad for NumPy arguments")
        for name, p in zip(d.wrt, d.positions, strict=True):
            if p in shards:
                raise TypeError(f"srcad.dask: the wrt argument `{name}` is a dask.array of "
                                f"data shards; the gradient is taken with respect to the "
                                f"plain arguments (the parameters), not the sharded data")
        chunks = _aligned(d.params, args, shards)
        blocks = [list(c.to_delayed().ravel()) for c in chunks]
        # the function and the plain arguments: one task each, shared by every shard's task
        plain = dask.delayed(tuple(None if p in shards else a for p, a in enumerate(args)))
        target = dask.delayed(_shipped(d))
        partials = [dask.delayed(_shard)(target, self.wrt, self.with_value, plain,
                                                    tuple(shards), *row)
                    for row in zip(*blocks, strict=True)]
        total = db.from_delayed(partials).reduction(
            _sum_partition, _sum_partition, split_every=self.split_every)
        return total.compute() if self.compute else total


def _aligned(params, args, shards):
    """The sharded arguments, rechunked to the first one's row chunks and whole along
    every other axis."""
    first = args[shards[0]]
    if first.ndim == 0:
        raise ValueError(f"srcad.dask: `{params[shards[0]]}` is a 0-d dask.array: shards "
                         f"are split along a first axis")
    out = []
    for p in shards:
        a = args[p]
        if a.ndim == 0 or a.shape[0] != first.shape[0]:
            raise ValueError(f"srcad.dask: the sharded arguments must have the same number of "
                             f"rows; `{params[shards[0]]}` has {first.shape[0]}, "
                             f"`{params[p]}` has {a.shape[0] if a.ndim else 'none (0-d)'}")
        out.append(a.rechunk({0: first.chunks[0], **{k: -1 for k in range(1, a.ndim)}}))
    return out


def _shipped(d):
    """What a worker needs to rebuild the derivative: the Differentiable, pickled by name,
    when the worker can import the function (a module's, or a script's main module's);
    else the function by value with its source (a notebook's, a lambda, a closure)."""
    from srcad import pickling
    if d.inner is not None:
        return d
    try:
        pickling._locate(d.fn)
    except pickle.PicklingError:
        return _WithSource(d.fn)
    main = sys.modules.get("__main__")
    if d.fn.__module__ == "__main__" and not getattr(main, "__file__", None):
        return _WithSource(d.fn)            # a notebook's: its workers have no such cell
    return d


class _WithSource:
    """A function that Dask pickles by value, with the source srcad reads on the worker:
    cloudpickle drops the file name of the code it rebuilds, so the lines of the
    function and of the helpers it calls from its own module travel beside them."""

    def __init__(self, fn):
        self.fn = fn
        self.sources = {}                   # global name ("" for fn) -> (filename, lines)
        for name, f in [("", fn)] + _same_module_helpers(fn):
            filename = f.__code__.co_filename
            lines = linecache.getlines(filename)
            if lines:
                self.sources[name] = (filename, lines)

    def function(self):
        """The function, its code and its helpers' pointing at their registered lines."""
        for name, (filename, lines) in self.sources.items():
            f = self.fn.__globals__.get(name) if name else self.fn
            if isinstance(f, types.FunctionType) and f.__code__.co_filename != filename:
                linecache.cache[filename] = (sum(map(len, lines)), None, list(lines), filename)
                f.__code__ = f.__code__.replace(co_filename=filename)
        return self.fn


def _same_module_helpers(fn, depth=0, seen=None):
    """(global name, function) for the functions of ``fn``'s module that it names."""
    seen = set() if seen is None else seen
    out = []
    for name in _names(fn.__code__):
        f = fn.__globals__.get(name)
        if isinstance(f, types.FunctionType) and f.__module__ == fn.__module__ \
                and name not in seen:
            seen.add(name)
            out.append((name, f))
            if depth < 3:
                out += _same_module_helpers(f, depth + 1, seen)
    return out


def _names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _shard(target, wrt, with_value, plain, shards, *chunks):
    """One shard's (value, gradient), on a worker: a partition of one item."""
    from srcad.api import _differentiable
    args = list(plain)
    for p, c in zip(shards, chunks, strict=True):
        args[p] = c
    d = _differentiable(target.function() if isinstance(target, _WithSource) else target, wrt)
    return [d.value_and_grad(*args) if with_value else d.grad(*args)]


def _sum_partition(items):
    items = list(items)
    total = items[0]
    for item in items[1:]:
        total = _add(total, item)
    return total


def _add(a, b):
    """The sum of two gradients of the same structure (tuples, lists, dicts, dataclasses,
    NamedTuples of floats and arrays)."""
    if isinstance(a, tuple) and hasattr(type(a), "_fields"):
        return type(a)(*[_add(x, y) for x, y in zip(a, b, strict=True)])
    if isinstance(a, (tuple, list)):
        return type(a)(_add(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return {k: _add(a[k], b[k]) for k in a}
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return rebuilt(a, {f.name: _add(getattr(a, f.name), getattr(b, f.name))
                           for f in dataclasses.fields(a) if f.init})
    if isinstance(a, (float, np.floating)) and not isinstance(a, bool) or (
            isinstance(a, np.ndarray) and a.dtype.kind in "fc"):
        return a + b
    return a                    # a non-differentiable entry keeps its value

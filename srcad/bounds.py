"""Bounds on what srcad keeps: compiled specialisations in memory, and who keeps them.

- The functional forms (``srcad.grad(f)``, ``jacobian``, ...) make one
  ``Differentiable`` per (function, wrt, has_aux, backend). They are kept in a
  table in the function's own ``__dict__`` (``derivatives_of``), so the function
  decides how long they live: a redefined function, a closure of a factory, a
  lambda made in a loop is freed with its compiled code when the user drops it
  (a cycle the garbage collector frees; srcad holds no strong reference to it).
- Compiled specialisations in memory: every ``Differentiable._compiled`` is a
  ``CompiledTable``; together they hold at most ``memory_entries()``
  specialisations (``SRCAD_CACHE_ENTRIES``, ``set_cache_limits(entries=...)``,
  default ``DEFAULT_ENTRIES``); the least recently compiled or looked up is dropped
  first (it is compiled again, or read from disk, when next needed).
"""
import collections
import os
import threading
import types
import weakref

DEFAULT_ENTRIES = 512
_LOCK = threading.RLock()
_ORDER = collections.OrderedDict()     # (id(table), key) -> weakref to the table
_ENTRIES = [None]                      # set_cache_limits(entries=...), None: env or default


def _unlock_in_child():
    """A child forked while another thread held the lock starts with a free one."""
    global _LOCK
    _LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_unlock_in_child)


# ------------------------------------------------------------ Differentiables per function

_ATTR = "__srcad_derivatives__"
_FALLBACK = collections.OrderedDict()  # callables without a __dict__ (bounded, strong)
_FALLBACK_SIZE = 256


class _Derivatives(dict):
    """The Differentiables the functional forms made for one function (in its __dict__)."""
    __slots__ = ("owner",)

    def __reduce__(self):               # a pickled function carries none of them
        return (_Derivatives, ())


def derivative_for(fn, key, make):
    """The Differentiable the functional forms use for ``fn`` and ``key``, made by
    ``make()`` the first time; kept as long as ``fn`` lives, not longer."""
    if isinstance(fn, types.MethodType):
        # a bound method is a new object at each attribute access and its vars() are its
        # function's: key it by (function, instance) in the bounded table
        return _fallback(fn, key, make)
    try:
        table = vars(fn).get(_ATTR)
    except TypeError:                   # no __dict__: a small bounded table of our own
        return _fallback(fn, key, make)
    owner = getattr(table, "owner", None)
    if table is None or owner is None or owner() is not fn:   # a copy (functools.wraps)
        table = _Derivatives()
        try:
            table.owner = weakref.ref(fn)
            vars(fn)[_ATTR] = table
        except TypeError:               # not weakly referable, or a read-only __dict__
            return _fallback(fn, key, make)
    d = table.get(key)
    if d is None:
        d = table[key] = make()
    return d


def _fallback(fn, key, make):
    with _LOCK:
        full = (fn, key)
        d = _FALLBACK.get(full)
        if d is None:
            d = _FALLBACK[full] = make()
            while len(_FALLBACK) > _FALLBACK_SIZE:
                _FALLBACK.popitem(last=False)
        else:
            _FALLBACK.move_to_end(full)
        return d


# ------------------------------------------------------------ compiled specialisations

class CompiledTable(dict):
    """One Differentiable's compiled functions by (kind, signature), counted in the
    process-wide bound; ``hot`` is the Differentiable's last-hit table, emptied of an
    entry dropped here."""
    __slots__ = ("hot", "__weakref__")

    def __init__(self, hot):
        super().__init__()
        self.hot = hot
        weakref.finalize(self, _purge, id(self))

    def __setitem__(self, key, fn):
        super().__setitem__(key, fn)
        with _LOCK:
            _ORDER[(id(self), key)] = weakref.ref(self)
            _ORDER.move_to_end((id(self), key))
            _evict(memory_entries())

    def get(self, key, default=None):
        fn = super().get(key, default)
        if fn is not default:
            with _LOCK:
                if (id(self), key) in _ORDER:
                    _ORDER.move_to_end((id(self), key))
        return fn

    def drop(self, key):
        fn = self.pop(key, None)
        if fn is not None:
            for kind, hot in list(self.hot.items()):
                if hot is fn:
                    self.hot.pop(kind, None)

    def clear(self):
        super().clear()
        self.hot.clear()
        _purge(id(self))


def _purge(table_id):
    with _LOCK:
        for k in [k for k in _ORDER if k[0] == table_id]:
            del _ORDER[k]


def _evict(limit):
    while len(_ORDER) > limit:
        (_, key), ref = _ORDER.popitem(last=False)
        table = ref()
        if table is not None:
            table.drop(key)


def memory_entries():
    if _ENTRIES[0] is not None:
        return _ENTRIES[0]
    env = os.environ.get("SRCAD_CACHE_ENTRIES", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            value = -1
        if value < 0:
            raise ValueError(f"SRCAD_CACHE_ENTRIES={env!r} is not a count: give a whole "
                             f"number of compiled specialisations to keep (e.g. 512)")
        return value
    return DEFAULT_ENTRIES


def compiled_count():
    return len(_ORDER)


_KEEP = object()


def set_cache_limits(*, entries=_KEEP, disk_bytes=_KEEP, disk_age=_KEEP):
    """Bound the caches of compiled code; an argument left out keeps its bound, ``None``
    restores the default (the environment variable, else the built-in figure):

    - ``entries``: compiled specialisations kept in memory (``SRCAD_CACHE_ENTRIES``);
    - ``disk_bytes``: total size of the disk cache's entries (``SRCAD_CACHE_MAX_BYTES``);
    - ``disk_age``: seconds since an entry was last written or read
      (``SRCAD_CACHE_MAX_AGE``).

    Returns the bounds now in force. The disk cache is pruned (oldest first) when a
    write may have taken it past its size bound, and at least once a minute of writing.

    Returns:
        The bounds now in force (``entries``, ``disk_bytes``, ``disk_age``).

    Example::

        srcad.set_cache_limits(entries=256, disk_bytes=64 << 20)
    """
    from srcad import cache
    checked = {}
    for name, value in (("entries", entries), ("disk_bytes", disk_bytes),
                        ("disk_age", disk_age)):
        if value is _KEEP or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (name != "disk_age" and not isinstance(value, int)):
            raise TypeError(f"set_cache_limits: {name} must be "
                            f"{'a number of seconds' if name == 'disk_age' else 'an int'} "
                            f"or None, got {type(value).__name__}")
        if not value >= 0:
            raise ValueError(f"set_cache_limits: {name} must be >= 0, got {value}")
        checked[name] = value
    with _LOCK:
        if entries is not _KEEP:
            _ENTRIES[0] = checked.get("entries")
            _evict(memory_entries())
        if disk_bytes is not _KEEP:
            cache.LIMITS["bytes"] = checked.get("disk_bytes")
        if disk_age is not _KEEP:
            cache.LIMITS["age"] = checked.get("disk_age")
    return {"entries": memory_entries(), "disk_bytes": cache.max_bytes(),
            "disk_age": cache.max_age()}


def clear():
    """Drop every compiled specialisation held in memory."""
    with _LOCK:
        tables = [ref() for ref in _ORDER.values()]
        _ORDER.clear()
        _FALLBACK.clear()
    for table in tables:
        if table is not None:
            table.clear()

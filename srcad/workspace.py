"""Work buffers of generated gradients: per compiled function and thread, bounded in bytes.

Generated code takes its elementwise intermediates from a ``Workspace`` in its
prologue (``work = _ws.take(0, x.shape, x.dtype)``). Each thread has its own
buffers (a ``_Store``); a slot holds one flat byte buffer reused for every shape
that fits in it (an array of the asked shape is a view of its first bytes), so a
function called at 1,500 shapes keeps one buffer per slot, the largest, not 1,500.

Every byte held is counted in one pool for the whole process. When a slot must
grow and the pool would exceed its limit, the buffers of the least recently grown
stores (other functions, other threads) are dropped first; a buffer that still
does not fit is handed out for this call only and not kept. The limit is
``set_workspace_limit(nbytes)``, else ``SRCAD_WORKSPACE_LIMIT`` (bytes, or with a
K/M/G suffix: powers of 1024), else ``DEFAULT_FACTOR`` times the largest store seen
in the last ``RECENT`` growths, at least ``DEFAULT_FLOOR``.

The fast path (the same shape as last time) is one dict lookup, as before; the
pool is only consulted when a buffer is missing. Nothing returned to a caller is a
workspace buffer (the buffer plan guarantees it), so dropping a buffer never
changes a result: a call still running keeps the array it took alive.
"""
import collections
import os
import threading
import weakref

import numpy as np

DEFAULT_FLOOR = 16 << 20        # bytes the default limit allows whatever the calls
DEFAULT_FACTOR = 2              # times the largest recent store
RECENT = 32                     # growths a large store is remembered for
_VIEWS_PER_SLOT = 8             # shapes whose views are kept ready per slot

_LOCK = threading.RLock()       # a store's weakref callback may run inside it (gc)
_STORES = {}                    # id(cell) -> (weakref to a _Store, its cell)
_HELD = [0]                     # bytes held by every store
_CLOCK = [0]
_RECENT = collections.deque(maxlen=RECENT)
_LIMIT = [None]                 # set_workspace_limit's value, None for the default


def _unlock_in_child():
    """A child forked while another thread held the lock starts with a free one."""
    global _LOCK
    _LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_unlock_in_child)


class _Store:
    """One thread's buffers of one compiled function."""
    __slots__ = ("views", "flats", "stamp", "cell", "__weakref__")

    def __init__(self):
        self.views = {}         # (slot, shape, dtype) -> ndarray: the fast path
        self.flats = {}         # slot -> flat uint8 buffer the views look into
        self.stamp = 0
        self.cell = [0]         # bytes held; outlives the store for the accounting

    def drop(self, slot):
        """Forget ``slot``'s buffer and its views; return the bytes freed."""
        flat = self.flats.pop(slot, None)
        for key in [k for k in self.views if k[0] == slot]:
            del self.views[key]
        if flat is None:
            return 0
        self.cell[0] -= flat.nbytes
        _HELD[0] -= flat.nbytes
        return flat.nbytes


def _forget(cell):
    with _LOCK:
        if _STORES.pop(id(cell), None) is not None:
            _HELD[0] -= cell[0]
            cell[0] = 0


class Workspace:
    """Buffers of one compiled gradient, per thread, reused across shapes."""
    __slots__ = ("_local", "__weakref__")

    def __init__(self):
        self._local = threading.local()

    def take(self, slot, shape, dtype):
        try:
            views = self._local.views
        except AttributeError:
            views = self._new_store().views
        buf = views.get((slot, shape, dtype))
        if buf is None:
            buf = _grow(self._local.store, slot, shape, dtype)
        return buf

    def _new_store(self):
        store = _Store()
        cell = store.cell
        with _LOCK:
            _STORES[id(cell)] = (weakref.ref(store, lambda _, c=cell: _forget(c)), cell)
        self._local.store = store
        self._local.views = store.views
        return store


def _grow(store, slot, shape, dtype):
    """A buffer for ``slot`` at ``shape`` when the fast path has none: a view of the
    slot's buffer if it is large enough, else a new buffer (kept if the limit allows)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    with _LOCK:
        _CLOCK[0] += 1
        store.stamp = _CLOCK[0]
        flat = store.flats.get(slot)
        if flat is None or flat.nbytes < nbytes:
            store.drop(slot)
            _RECENT.append(store.cell[0] + nbytes)
            if not _make_room(nbytes, store):
                return np.empty(shape, dtype)       # over the limit: this call's only
            flat = store.flats[slot] = np.empty(nbytes, np.uint8)
            store.cell[0] += nbytes
            _HELD[0] += nbytes
        views = [k for k in store.views if k[0] == slot]
        if len(views) >= _VIEWS_PER_SLOT:
            del store.views[views[0]]
        view = flat[:nbytes].view(dtype).reshape(shape)
        store.views[(slot, shape, dtype)] = view
        return view


def _make_room(nbytes, keep):
    """Drop the least recently grown stores' buffers (never ``keep``'s) until ``nbytes``
    more fit under the limit; False if they cannot."""
    limit = workspace_limit()
    if _HELD[0] + nbytes <= limit:
        return True
    if nbytes > limit:
        return False
    live = sorted((s for s in (ref() for ref, _ in list(_STORES.values()))
                   if s is not None and s is not keep and s.flats),
                  key=lambda s: s.stamp)
    for s in live:
        for slot in list(s.flats):
            s.drop(slot)
        if _HELD[0] + nbytes <= limit:
            return True
    return _HELD[0] + nbytes <= limit


def parse_bytes(text, name):
    """``"1048576"``, ``"512K"``, ``"64M"``, ``"1G"`` (powers of 1024) -> bytes."""
    s = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(s[-1:], 1)
    number = s[:-1] if scale != 1 else s
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ValueError(f"{name}={text!r} is not a size: give bytes, or a number with "
                         f"K, M or G (e.g. 256M)")
    return int(value * scale)


def workspace_limit():
    """The bound in bytes on the work buffers kept (see the module docstring)."""
    if _LIMIT[0] is not None:
        return _LIMIT[0]
    env = os.environ.get("SRCAD_WORKSPACE_LIMIT", "").strip()
    if env:
        return parse_bytes(env, "SRCAD_WORKSPACE_LIMIT")
    return max(DEFAULT_FLOOR, DEFAULT_FACTOR * max(_RECENT, default=0))


def set_workspace_limit(nbytes):
    """Bound the bytes of work buffers srcad keeps between calls (all functions and
    threads); ``None`` restores the default. Buffers over the new bound are dropped now.

    Returns:
        None.

    Example::

        srcad.set_workspace_limit(256 << 20)      # SRCAD_WORKSPACE_LIMIT sets the default
    """
    if nbytes is not None:
        if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)):
            raise TypeError(f"set_workspace_limit: nbytes must be an int (bytes) or None, "
                            f"got {type(nbytes).__name__}")
        if nbytes < 0:
            raise ValueError(f"set_workspace_limit: nbytes must be >= 0, got {nbytes}")
        nbytes = int(nbytes)
    with _LOCK:
        _LIMIT[0] = nbytes
        _shrink(workspace_limit())


def _shrink(limit):
    live = sorted((s for s in (ref() for ref, _ in list(_STORES.values())) if s is not None),
                  key=lambda s: s.stamp)
    for s in live:
        if _HELD[0] <= limit:
            break
        for slot in list(s.flats):
            s.drop(slot)


def held_bytes():
    return _HELD[0]


def clear():
    """Drop every work buffer (of every thread; a call running keeps what it took)."""
    with _LOCK:
        _shrink(-1)
        _RECENT.clear()

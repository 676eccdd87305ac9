"""Runs of ufunc calls over large arrays, one slice of the entries per thread
(``parallel=True``; the code that calls these is written by transforms/thread_runs.py).

``threads_fit(outs, reads)`` is the run-time half of the proof that slicing gives the
same values: the first buffer has ``SPLIT`` entries or more; every buffer is a
writeable C-contiguous ndarray of its shape; every array read is one of that shape
and C-contiguous too, or has no axes (a number, a 0-d array: passed whole); and no
buffer shares memory with another array unless it is that very array (same start,
dtype and shape: entry i then only meets entry i). Anything else runs the statements
as they were, on one thread.

``threads_run(part, *args)`` calls ``part`` on consecutive slices of ``CHUNK`` entries
of every array with axes (flat views; the others passed as they are): the entries are
cut into one contiguous share per core, the caller's thread takes the first share and
a pool thread each of the others. Each share runs in a copy of the caller's context
(``np.errstate`` holds in every thread). What the parts return (a sum's slices) is
added in the order of the slices, whatever thread finished first; an error of any
share is raised once every share has stopped writing.
"""
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

SPLIT = 1 << 18         # entries from which a run is cut across threads
CHUNK = 1 << 18         # entries of one call of the part (a slice stays near the cache)

_LOCK = threading.Lock()
_POOL = [None, None]    # (the pool, the process it was made in: a fork starts a new one)


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:              # (no affinity on this platform)
        return os.cpu_count() or 1


def _pool(workers):
    pool, pid = _POOL
    if pool is None or pid != os.getpid():
        with _LOCK:
            if _POOL[0] is None or _POOL[1] != os.getpid():
                _POOL[:] = [ThreadPoolExecutor(workers, thread_name_prefix="srcad"),
                            os.getpid()]
            pool = _POOL[0]
    return pool


def _flat(a, shape):
    return type(a) is np.ndarray and a.shape == shape and a.flags.c_contiguous


def _same(a, b):
    return a.__array_interface__["data"][0] == b.__array_interface__["data"][0] \
        and a.dtype == b.dtype and a.shape == b.shape


def threads_fit(outs, reads):
    """True when the run whose buffers are ``outs`` and whose other operands are
    ``reads`` gives the same values slice by slice (see the module text)."""
    first = outs[0]
    if type(first) is not np.ndarray or first.size < SPLIT:
        return False
    shape = first.shape
    arrays = []
    for o in outs:
        if not _flat(o, shape) or not o.flags.writeable:
            return False
        arrays.append(o)
    for a in reads:
        if type(a) is np.ndarray:
            if a.ndim and not _flat(a, shape):
                return False
            arrays.append(a)
        elif not isinstance(a, (int, float, complex, np.generic)):
            return False
    for o in outs:
        for a in arrays:
            if a is not o and not _same(a, o) and np.may_share_memory(a, o):
                return False
    return True


def threads_run(part, *args):
    """``part`` over slices of ``args`` on all cores: the sum of what it returned (None
    when it returns nothing)."""
    flat = [a.reshape(-1) if type(a) is np.ndarray and a.ndim else None for a in args]
    pairs = list(zip(args, flat, strict=True))
    n = next(f.size for f in flat if f is not None)
    shares = max(1, min(cores(), n // (SPLIT // 2)))
    bounds = [n * k // shares for k in range(shares + 1)]

    def share(lo, hi):
        total = None
        for start in range(lo, hi, CHUNK):
            stop = min(start + CHUNK, hi)
            got = part(*[a if f is None else f[start:stop] for a, f in pairs])
            total = got if total is None else total + got
        return total

    if shares == 1:
        return share(0, n)
    pool = _pool(cores() - 1)
    futures = [pool.submit(contextvars.copy_context().run, share, bounds[k], bounds[k + 1])
               for k in range(1, shares)]
    try:
        total = share(bounds[0], bounds[1])
    finally:
        errors = [f.exception() for f in futures]       # waits for every share
    for err in errors:
        if err is not None:
            raise err
    for f in futures:
        got = f.result()
        total = got if total is None else total + got
    return total

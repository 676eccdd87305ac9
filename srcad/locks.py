"""Compile locks: one per specialisation, new ones in a forked child.

Two threads asking for the same (function, kind, signature) compile it once:
the second waits on that key's lock and then finds the first one's result.
Threads compiling different specialisations do not wait for each other, so a
one-line function is not held up by a large one compiling in another thread::

    with locks.compiling((d, "vjp", sig)):
        fn = d._compiled.get(("vjp", sig))      # compiled meanwhile by another thread?
        if fn is None:
            fn = d._compile(...)

A lock held by another thread at ``fork`` time would stay held for ever in the
child, where that thread does not exist: ``os.register_at_fork`` gives the
child a fresh, empty table (what the parent was compiling, the child compiles
again when it needs it).

Locks are re-entrant: compiling a derivative of a derivative compiles the inner
one first, in the same thread. Waits cannot form a cycle across threads: a
compilation only waits for what it needs, and what it needs never needs it back.
"""
import contextlib
import os
import threading

_TABLE = threading.Lock()       # guards _HELD
_HELD = {}                      # key -> [its RLock, threads using or waiting for it]


@contextlib.contextmanager
def compiling(key):
    """Hold the compile lock of ``key`` (a hashable specialisation key)."""
    table, held = _TABLE, _HELD
    with table:
        entry = held.get(key)
        if entry is None:
            entry = held[key] = [threading.RLock(), 0]
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with table:
            entry[1] -= 1
            if entry[1] == 0 and held.get(key) is entry:
                del held[key]           # the table holds only keys in use


def in_use():
    """How many keys have a lock now (0 when no thread compiles)."""
    with _TABLE:
        return len(_HELD)


def _after_fork_in_child():
    global _TABLE, _HELD
    _TABLE = threading.Lock()
    _HELD = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

"""What srcad says through ``logging.getLogger("srcad")``.

One INFO record per transform (a compile of one kind for one signature), when it
ends::

    transformed eam (model.py:10), grad for (float64[1d]) in 41.8 ms
    [parse 1.2 ms, normalize 6.0 ms, ..., buffers 2.1 ms]; disk cache: miss

(``loaded ...; disk cache: hit`` when the generated source came from disk, ``off``
when the disk cache is off; ``could not transform ...`` with the error's first line
when the transform raised). A transform that runs longer than ``SLOW`` seconds says so
while it runs, at WARNING, and again at each doubling of the time::

    srcad: still transforming eam (model.py:10), grad for (float64[1d]) after 1.0 s
    (in pass reverse)

Nothing is logged, and no logging call is made, when a compiled function is
found in memory: a warm call costs what it cost without logging.
"""
import logging
import threading
import time
from contextlib import contextmanager

LOG = logging.getLogger("srcad")
SLOW = 1.0                          # seconds before a running transform says so

_KINDS = {"vjp": "grad", "vjp_plain": "grad (plain, re-entrant)", "vjp_aux": "grad (has_aux)",
          "jvp": "jvp", "jvpvec": "jvp (vector mode)"}
_LOCAL = threading.local()


class _Transform:
    """One running transform: what it is, where it is, what it found."""

    def __init__(self, what):
        self.what = what
        self.start = time.perf_counter()
        self.current = None         # the pass running now
        self.timings = {}
        self.disk = None            # "hit", "miss" or "off"
        self.failed = None          # the exception that ended it


def _stack():
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


@contextmanager
def transforming(fn, kind, signature, nesting=()):
    """Report the transform run inside the ``with`` block: ``fn`` the user's function,
    ``kind`` the compiled kind, ``signature`` its readable signature, ``nesting`` the
    derivatives it is of (``(("grad", wrt), ...)``, outermost first)."""
    code = getattr(fn, "__code__", None)
    where = f" ({code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno})" if code else ""
    of = "".join(f"{k} of " for k, _ in nesting)
    what = (f"{of}{getattr(fn, '__qualname__', fn)}{where}, {_KINDS.get(kind, kind)} for "
            f"{signature}")
    record = _Transform(what)
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(record, done), daemon=True,
                               name="srcad-transform-watch")
    watcher.start()
    stack = _stack()
    stack.append(record)
    try:
        yield record
    except BaseException as exc:
        record.failed = exc
        raise
    finally:
        stack.pop()
        done.set()
        if LOG.isEnabledFor(logging.INFO):
            _report(record)


def _watch(record, done):
    """WARNING after ``SLOW`` seconds of one transform, and at each doubling after it."""
    delay = SLOW
    while not done.wait(max(0.0, record.start + delay - time.perf_counter())):
        where = f" (in pass {record.current})" if record.current else ""
        LOG.warning("srcad: still transforming %s after %.1f s%s", record.what,
                    time.perf_counter() - record.start, where)
        delay *= 2


def entering(pass_name):
    """The compiler's hook: the pass ``pass_name`` starts (named by a slow transform)."""
    stack = getattr(_LOCAL, "stack", None)
    if stack:
        stack[-1].current = pass_name


def note(**facts):
    """What the running transform found: ``disk="hit"|"miss"|"off"``, ``timings={pass: s}``."""
    stack = getattr(_LOCAL, "stack", None)
    if stack:
        for key, value in facts.items():
            setattr(stack[-1], key, value)


def _report(record):
    total = 1e3 * (time.perf_counter() - record.start)
    passes = ", ".join(f"{name} {1e3 * s:.1f} ms" for name, s in record.timings.items())
    passes = f" [{passes}]" if passes else ""
    if record.failed is not None:
        LOG.info("could not transform %s (%.1f ms): %s: %s", record.what, total,
                 type(record.failed).__name__, str(record.failed).split("\n")[0])
        return
    verb = "loaded" if record.disk == "hit" else "transformed"
    LOG.info("%s %s in %.1f ms%s; disk cache: %s", verb, record.what, total, passes,
             record.disk or "not used (a rule of its own)")

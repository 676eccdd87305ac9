"""Deep trees and deep recursion: the same work once more, in a thread with room.

Python's recursion limit (1,000 frames by default) is sized for the user's own
code. srcad's passes walk a function's tree recursively, so a chain of 500
inlined helpers or a sum of 1,000 terms runs out of frames while compiling; and
a gradient of a recursive function uses several frames per level of the user's
recursion (the generated code, its pullback, the next level's call), so it runs
out at a quarter of the depth the function itself reaches.

Both are pure computations, so when one runs out, srcad runs it again, once, in
a thread of its own whose stack holds ``frames()`` frames, with the recursion
limit raised to that for as long as such a thread runs (the limit is process
wide; it is put back when the last one ends)::

    fn = depth.with_room(lambda: d._compile(kind, sig, args))

Work that fails in that thread too is deeper than srcad supports: compiling, a
located TransformError says so (``too_deep``); a recursion that still runs out
raises the RecursionError the function itself would raise.

Only the outermost call in a thread retries (``with_room`` inside ``with_room``
runs plainly), so a failure deep in a recursion unwinds to the outermost level
before the retry, and the retry is one thread, not one per level.
"""
import sys
import threading

from srcad.errors import InternalError

_STATE = threading.local()      # .inside: a with_room call is running in this thread
_RAISED = threading.Lock()      # guards _users and _saved (the raised recursion limit)
_users = 0
_saved = None
STACK_BYTES = 512 << 20         # reserved for the deep thread; pages are used on demand


def frames():
    """How many frames the deep thread allows: 20 per frame of the user's own limit."""
    return max(20_000, 20 * (_saved or sys.getrecursionlimit()))


def ran_out(exc):
    """Did ``exc`` come from running out of frames (directly, or through a pass)?"""
    while exc is not None:
        if isinstance(exc, RecursionError):
            return True
        if not isinstance(exc, InternalError):
            return False
        exc = exc.__cause__
    return False


def with_room(call):
    """``call()``; if it runs out of frames, ``call()`` again in a thread with room."""
    if getattr(_STATE, "inside", False):
        return call()
    _STATE.inside = True
    try:
        return call()
    except (RecursionError, InternalError) as exc:
        if not ran_out(exc):
            raise
    finally:
        _STATE.inside = False
    return _in_deep_thread(call)


def _in_deep_thread(call):
    global _users, _saved
    outcome = {}

    def run():
        _STATE.inside = True
        try:
            outcome["value"] = call()
        except BaseException as exc:      # handed to the calling thread
            outcome["error"] = exc

    with _RAISED:
        if _users == 0:
            _saved = sys.getrecursionlimit()
            sys.setrecursionlimit(frames())
        _users += 1
    try:
        previous = threading.stack_size(STACK_BYTES)
        try:
            thread = threading.Thread(target=run, name="srcad-deep", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
        thread.join()
    finally:
        with _RAISED:
            _users -= 1
            if _users == 0:
                sys.setrecursionlimit(_saved)
                _saved = None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def inside():
    """Is a ``with_room`` call running in this thread (which retries, not this one)?"""
    return getattr(_STATE, "inside", False)


def too_deep(fn):
    """The located TransformError for a function nested deeper than the passes handle."""
    from srcad.errors import TransformError
    code = fn.__code__
    return TransformError(
        f"`{fn.__name__}` is nested too deeply to differentiate: srcad's passes handle "
        f"about {frames() // 20} levels of nested expressions or inlined helper calls",
        filename=code.co_filename, lineno=code.co_firstlineno, col=0,
        why="srcad walks the function's expression tree recursively, with room for "
            f"{frames()} Python frames",
        hint="split the expression into statements (s = s + term in a loop), or turn the "
             "chain of helpers into a loop")


def _after_fork_in_child():
    global _RAISED, _users, _saved
    _RAISED = threading.Lock()
    if _saved is not None:            # a deep thread of the parent: not in this child
        sys.setrecursionlimit(_saved)
    _users, _saved = 0, None


if hasattr(__import__("os"), "register_at_fork"):
    __import__("os").register_at_fork(after_in_child=_after_fork_in_child)

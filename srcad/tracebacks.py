"""Errors that point at the user's code, not at srcad's.

Three things, each for one kind of failure:

- A ``TransformError`` is raised with the user's offending line as the last frame
  of its traceback, not srcad's compiler frames (``at_user_line``)::

      File "train.py", line 30, in <module>
        g = loss.grad(w)
      File ".../srcad/api.py", line 150, in _specialise
        raise tracebacks.at_user_line(exc) from None
      File "model.py", line 12, in loss
        try:
      srcad.errors.TransformError: model.py:12:4: `try` statements cannot be differentiated

  ``SRCAD_DEBUG=1`` in the environment keeps srcad's own frames (the traceback as
  raised, for reporting a bug in srcad).
- An exception raised inside generated code (a NumPy error, a ``LinAlgError``)
  gets a note naming the user's file and line the failing generated line came
  from (``note_origin``; the ``# file:line`` comments of the generated code are
  the table from generated line to user line).
- A ``TransformError`` inside a helper that srcad inlined lists the calls that led
  there, and one inside a third-party library's source (site-packages, the standard
  library) suggests a rule for the library function the user's code called
  (``reached_through``).
"""
import linecache
import os
import sys
import sysconfig

from srcad.errors import InternalError, TransformError, origin



def debugging():
    """Is ``SRCAD_DEBUG`` set (srcad's own frames kept in tracebacks)?"""
    return os.environ.get("SRCAD_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


# ------------------------------------------------------------------ TransformError's frame

def at_user_line(exc, function=None):
    """``exc`` (a ``TransformError``) with a traceback whose only entry is the user's
    offending line, in the user's file (as if raised there in the helper the line is
    in, else in ``function``, a name); unchanged with SRCAD_DEBUG. Raise the result
    ``from None``."""
    if debugging():
        return exc
    exc = exc.with_traceback(None)
    filename, lineno = exc.filename, exc.lineno
    if not lineno or not isinstance(filename, str) or not (
            os.path.isfile(filename) or filename in linecache.cache):
        return exc
    code = compile(_raising_line(filename, lineno), filename, "exec")
    name = getattr(exc, "function", None) or function or "<the line srcad cannot differentiate>"
    code = code.replace(co_name=name, **({"co_qualname": name}
                                         if hasattr(code, "co_qualname") else {}))
    try:
        exec(code, {_ERROR: exc, "__name__": "srcad.user_line"})
    except Exception as raised:                 # exc itself
        tb = raised.__traceback__
        while tb is not None and tb.tb_frame.f_code is not code:
            tb = tb.tb_next
        return raised.with_traceback(tb)
    return exc


_ERROR = "__srcad_error__"


def _raising_line(filename, lineno):
    """Source raising ``__srcad_error__`` from line ``lineno`` of ``filename`` to the
    next (a statement over two lines: a traceback underlines no part of the user's)."""
    line = linecache.getline(filename, lineno)
    indent = len(line) - len(line.lstrip())
    text = f"raise (\n{_ERROR})\n"
    if indent and lineno >= 2:
        return "\n" * (lineno - 2) + "if 1:\n" + " " * indent + text
    return "\n" * (lineno - 1) + text


# ------------------------------------------------------------------ errors in generated code

def note_origin(exc):
    """Add to ``exc`` (raised inside generated code) a note naming the user's line it
    came from. Called on the way out of the generated code; once per exception."""
    if isinstance(exc, (TransformError, InternalError)) or getattr(exc, "__srcad_noted__", 0):
        return exc
    frame_line = None
    tb = exc.__traceback__
    while tb is not None:           # the innermost frame of generated code
        if tb.tb_frame.f_code.co_filename.startswith("<srcad"):
            frame_line = tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
    if frame_line is None:
        return exc
    frame, lineno = frame_line
    generated = frame.f_code.co_filename
    found = origin(generated, lineno, frame.f_globals.get("__file__"))
    try:
        exc.__srcad_noted__ = 1
    except AttributeError:          # a built-in exception without a __dict__
        pass
    if found is not None:
        filename, line, text = found
        note = (f"srcad: raised by the derivative code of {filename}:{line}  {text.strip()}"
                f"\n(generated line {generated}:{lineno}; `f.source(kind, *args)` shows the "
                f"generated code)")
        if hasattr(exc, "add_note"):
            exc.add_note(note)
    return exc


# ------------------------------------------------------------------ inlined helpers

def _roots():
    paths = {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(os.path.realpath(p) + os.sep for p in paths if p)


def third_party(filename):
    """Is ``filename`` a library's source (an installed package or the standard
    library), not the user's own?"""
    if not isinstance(filename, str) or filename.startswith("<"):
        return False
    path = os.path.realpath(filename)
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    return path.startswith(_roots()) and not path.startswith(here + os.sep)


def _holder(inlined, filename, lineno):
    """The last inlined call whose helper's source holds ``filename:lineno``."""
    for record in reversed(inlined):
        fn = record[0]
        code = getattr(fn, "__code__", None)
        if code is None or code.co_filename != filename:
            continue
        try:
            import inspect
            length = len(inspect.getsourcelines(fn)[0])
        except (OSError, TypeError):
            length = 1
        if code.co_firstlineno <= lineno < code.co_firstlineno + length:
            return record
    return None


def reached_through(exc, inlined):
    """Add to ``exc`` (a ``TransformError``) the calls of inlined helpers that led to
    its line, outermost first; when the line is in a third-party library's source, or
    calls library code inlined there, a hint to give the library function the user's
    code called a rule. ``inlined`` is the inliner's record: (helper, caller's file,
    line, col) per inlined call."""
    if exc.calls or not inlined or exc.lineno is None:
        return exc
    chain, where, seen = [], (exc.filename, exc.lineno), set()
    while True:
        record = _holder(inlined, *where)
        if record is None or id(record) in seen:
            break
        seen.add(id(record))
        chain.append(record)
        where = record[1], record[2]
    if chain:
        exc.function = getattr(chain[0][0], "__name__", None)   # the helper the line is in
        chain.reverse()                 # outermost call first
        exc.calls = [(filename, line, linecache.getline(filename, line).strip())
                     for _, filename, line, _ in chain]
    boundary = None
    if third_party(exc.filename):       # in the library's source: the user's call into it
        boundary = next((r for r in chain if not third_party(r[1]) and third_party(
            _file_of(r[0]))), None)
    else:                               # library code inlined at this line of the user's
        boundary = next((r for r in reversed(inlined) if (r[1], r[2]) == (
            exc.filename, exc.lineno) and third_party(_file_of(r[0]))), None)
    if boundary is not None:
        fn, filename, line, _ = boundary
        name = _dotted(fn)
        exc.hint = (f"`{name}` is library code ({_file_of(fn)}) that srcad read as "
                    f"source; your call of it at {os.path.basename(filename)}:{line} led "
                    f"here: give `{name}` a rule with @srcad.adjoint({name}) (and "
                    f"@srcad.tangent({name}) for forward mode), which srcad uses instead "
                    f"of its source")
    if chain or boundary is not None:
        exc._refresh()
    return exc


def _file_of(fn):
    code = getattr(fn, "__code__", None)
    return code.co_filename if code is not None else None


def _dotted(fn):
    module = getattr(fn, "__module__", None) or ""
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "?")
    return f"{module}.{qualname}" if module and module in sys.modules else qualname

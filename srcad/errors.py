"""Errors raised by srcad.

``TransformError`` is the user's error: code srcad cannot differentiate. It
points at the user's file, line and column, shows the line with a caret, says
what is unsupported and what to do instead::

    srcad.TransformError: model.py:12:8: `try` statements cannot be differentiated
        try:
        ^
    why: the reverse sweep must replay exactly the statements that ran
    try: move the guarded code into a helper and give it a rule with @srcad.adjoint

``InternalError`` is srcad's own bug: it names the pass that failed.
"""
import linecache
import os
import re


class TransformError(Exception):
    """Code that srcad cannot differentiate, located at the user's line.

    Raised at the latest on the first derivative call, with the user's offending
    line as the last frame of the traceback. Attributes: ``what``, ``why``,
    ``hint`` (what to do instead, often ``@srcad.adjoint``), ``filename``,
    ``lineno``, ``col``, ``source_line`` and ``calls`` (the user's calls of inlined
    helpers that led there: (file, line, source), outermost first).

    Example::

        try:
            f.grad(x)
        except srcad.TransformError as e:
            print(e.filename, e.lineno, e.hint)
    """

    def __init__(self, what, *, filename="<unknown>", lineno=None, col=None,
                 why=None, hint=None, source_line=None):
        self.what = what
        self.filename = filename
        self.lineno = lineno
        self.col = col or 0
        self.why = why
        self.hint = hint
        if source_line is None and lineno is not None:
            source_line = linecache.getline(filename, lineno).rstrip("\n")
        self.source_line = source_line or ""
        self.calls = []         # (file, line, source) of the user's calls that led here
        super().__init__(self._message())

    def _refresh(self):
        """Rebuild the message after ``calls`` or ``hint`` changed."""
        self.args = (self._message(),)

    def _message(self):
        where = self.filename
        if self.lineno is not None:
            where += f":{self.lineno}:{self.col}"
        parts = [f"{where}: {self.what}"]
        if self.source_line:
            stripped = self.source_line.lstrip()
            indent = len(self.source_line) - len(stripped)
            caret = max(0, self.col - indent)
            parts.append("    " + stripped)
            parts.append("    " + " " * caret + "^")
        if self.why:
            parts.append(f"why: {self.why}")
        if self.hint:
            parts.append(f"try: {self.hint}")
        for k, (filename, lineno, text) in enumerate(getattr(self, "calls", ())):
            lead = "reached from" if k == 0 else "        from"
            parts.append(f"{lead} {filename}:{lineno}: {text}")
        return "\n".join(parts)


class InternalError(Exception):
    """A bug in srcad: a pass produced or met something it should not.

    The message names the compiler pass (``pass_name``) and asks for a report with
    the function that triggers it; the traceback keeps srcad's frames.

    Example::

        except srcad.InternalError as e:
            print("please report:", e.pass_name, e)
    """

    def __init__(self, pass_name, message):
        self.pass_name = pass_name
        super().__init__(f"internal error in pass '{pass_name}' (this is a bug in srcad, "
                         f"please report it with the function that triggers it): {message}")


def unsupported_here(what, hint=None):
    """A ``TransformError`` for a rule that meets, at run time, arguments it has no
    derivative for: located at the user's line whose generated code called the rule
    (found from the ``# file:line  source`` comment above the generated statement)."""
    import sys
    frame = sys._getframe(1)
    while frame is not None and not frame.f_code.co_filename.startswith("<srcad"):
        frame = frame.f_back
    if frame is None:
        return TransformError(what, hint=hint)
    return user_line_error(what, frame.f_code.co_filename, frame.f_lineno,
                           frame.f_globals.get("__file__"), hint=hint)


def user_line_error(what, generated, lineno, user_file=None, **kw):
    """A ``TransformError`` at the user's line that generated line ``lineno`` of
    ``generated`` came from (the ``# file:line  source`` comment above it)."""
    found = origin(generated, lineno, user_file)
    if found is None:
        return TransformError(what, filename=generated, lineno=lineno, **kw)
    filename, line, text = found
    if filename == user_file:
        return TransformError(what, filename=user_file, lineno=line, **kw)
    return TransformError(what, filename=filename, lineno=line, source_line=text, **kw)


_COMMENT = re.compile(r"\s*# (\S+?):(\d+)  (.*)$")


def origin(generated, lineno, user_file=None):
    """(file, line, source) of the user's line that line ``lineno`` of the generated
    file ``generated`` came from (the nearest ``# file:line  source`` comment above
    it), or None. The file is ``user_file`` when its name matches the comment's."""
    for n in range(lineno, 0, -1):
        m = _COMMENT.match(linecache.getline(generated, n))
        if m:
            name, line, text = m.groups()
            if user_file and os.path.basename(user_file) == name:
                return user_file, int(line), text
            return name, int(line), text
    return None

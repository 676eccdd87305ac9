"""Runtime helpers for the statements of the user's code that run in the primal sweep
and are not differentiated: ``print`` of a value (``showgrad``), f-strings and ``raise``.
Generated code calls them as ``_rt.show``, ``_rt.text`` and ``_rt.throw`` (re-exported by
``srcad.runtime``)."""


def show(label, g):
    print(f"{label}: {g}")


def text(template, *values):
    """An f-string of the user's code: ``template.format(*values)`` (a string: no derivative)."""
    return template.format(*values)


def throw(exc, cause=None):
    """A ``raise`` of the user's code (transforms/checks.py)."""
    if cause is not None:
        raise exc from cause
    raise exc

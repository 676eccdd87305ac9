"""Library functions (NumPy's, an installed package's) that srcad reads through their source.

A function without a rule whose source srcad can read is differentiated through it,
like a user's helper. When that fails inside the library's own code, the user is
told at their own line which library function has no rule, with the reason found
in its source, rather than pointed into the library's file.
"""
from srcad.errors import TransformError, unsupported_here


def is_library(fn):
    """Is ``fn`` library code (NumPy's, an installed package's) rather than the user's?"""
    filename = getattr(getattr(fn, "__code__", None), "co_filename", "")
    root = (getattr(fn, "__module__", "") or "").split(".")[0]
    return root == "numpy" or "site-packages" in filename or "dist-packages" in filename


def through_source(run, fn):
    """Run ``run()``; a library function srcad cannot differentiate through its source
    is refused at the user's line, naming the function."""
    try:
        return run()
    except TransformError as exc:
        if not is_library(fn) or getattr(exc, "_srcad_library", False):
            raise
        module = getattr(fn, "__module__", "") or ""
        name = f"{module.split('.')[0]}.{fn.__name__}" if module else fn.__name__
        err = unsupported_here(
            f"no derivative rule for `{name}`, and srcad cannot differentiate its source "
            f"({exc.filename}:{exc.lineno}: {exc.what})",
            hint=f"register a rule with @srcad.adjoint({name}) (and @srcad.tangent for "
                 "forward mode), or wrap the value in srcad.stop_gradient")
        err._srcad_library = True
        raise err from None

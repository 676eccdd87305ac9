"""``python -m srcad``: print the generated derivative of a function, or check it.

    python -m srcad show  TARGET [--kind grad|pullback|jvp] [--wrt NAMES] ARGUMENTS
    python -m srcad check TARGET [--kind grad|jvp] [--wrt NAMES] [--rtol R] [--atol A] ARGUMENTS

TARGET is ``path/to/file.py:function`` or ``package.module:function`` (a dotted
name after the colon reaches into a class or an object). The arguments the
derivative is specialised to are given by one of

    --args "np.ones(3), 2.0"      a Python expression (NumPy as np and the target's
                                  module globals in scope): the positional arguments
    --shape x=3,4 --shape k=      random float64 arguments by parameter name, of these
                                  shapes (empty: a Python float), seeded by --seed;
                                  parameters with defaults may be left out
    --example module:callable     a callable returning the argument tuple

``show`` prints the generated Python source. ``check`` compares srcad's
derivative with Ridders-extrapolated central differences (``srcad.check_grad``
for ``grad``; for ``jvp``, a random tangent contracted with a random cotangent),
prints the worst relative error and exits 1 on a mismatch. Exit status 2 is
bad input (a target, a parameter or an argument that cannot be used), 3 a
function srcad cannot differentiate (the located TransformError is printed).
"""
import argparse
import importlib
import importlib.util
import inspect
import math
import os
import sys

import numpy as np

EXIT_MISMATCH, EXIT_USAGE, EXIT_REFUSED = 1, 2, 3

_EPILOG = """examples:
  python -m srcad show model.py:loss --shape w=3 --shape X=10,3 --shape y=10
  python -m srcad show mypkg.energy:eam --kind jvp --args "np.linspace(0, 1, 5)"
  python -m srcad check model.py:loss --wrt w,b --example model.py:example_args

exit status: 0 ok, 1 check found a mismatch, 2 bad input, 3 srcad cannot
differentiate the function (the located error is printed)."""


class UsageError(Exception):
    """Bad command-line input: printed as ``srcad: error: ...`` with exit status 2."""


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m srcad", epilog=_EPILOG, formatter_class=argparse.RawTextHelpFormatter,
        description="Print or check the derivative srcad generates for a Python/NumPy "
                    "function.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{show,check}")
    show = sub.add_parser("show", help="print the generated source of a derivative",
                          epilog=_EPILOG, formatter_class=argparse.RawTextHelpFormatter)
    check = sub.add_parser("check", help="compare a derivative with finite differences",
                           epilog=_EPILOG, formatter_class=argparse.RawTextHelpFormatter)
    for q, kinds in ((show, ("grad", "pullback", "jvp")), (check, ("grad", "jvp"))):
        q.add_argument("target", help="path/to/file.py:function or package.module:function")
        q.add_argument("--kind", "--mode", dest="kind", choices=kinds, default="grad",
                       help="which derivative (default grad: reverse mode; jvp: forward mode)")
        q.add_argument("--wrt", help="parameter names or positions, comma separated "
                                     "(default: the decorator's wrt, else the first parameter)")
        given = q.add_mutually_exclusive_group()
        given.add_argument("--args", metavar="EXPR",
                           help="Python expression giving the positional arguments "
                                "(np and the target module's globals in scope)")
        given.add_argument("--example", metavar="TARGET",
                           help="file.py:callable or module:callable returning the "
                                "argument tuple")
        q.add_argument("--shape", action="append", default=[], metavar="NAME=D1,D2",
                       help="a random float64 argument of this shape (NAME= for a float); "
                            "repeat per parameter")
        q.add_argument("--seed", type=int, default=0, help="seed of --shape's random values")
    show.add_argument("--standalone", action="store_true",
                      help="print a complete module that runs on its own (imports, constants "
                           "as literals, <function>_grad(*args))")
    check.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (1e-6)")
    check.add_argument("--atol", type=float, default=1e-8, help="absolute tolerance (1e-8)")
    return p


# ------------------------------------------------------------------ finding things

def _import_file(path):
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    name = os.path.splitext(os.path.basename(path))[0]
    known = sys.modules.get(name)
    if known is not None and os.path.abspath(getattr(known, "__file__", "") or "") == path:
        return known
    sys.path.insert(0, os.path.dirname(path))       # its sibling modules import as usual
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def locate(target, what="target"):
    """``file.py:name`` or ``module:name`` -> the object."""
    where, sep, qualname = target.rpartition(":")
    if not sep or not where or not qualname:
        raise UsageError(f"{what} {target!r} must be path/to/file.py:function or "
                         f"package.module:function")
    if where.endswith(".py") or os.sep in where:
        module = _import_file(where)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise UsageError(f"{what} {target!r}: cannot import module {where!r} ({exc})") \
                from None
    obj = module
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{what} {target!r}: {where} has no {qualname!r}")
        obj = getattr(obj, part)
    return obj


# ------------------------------------------------------------------ the arguments

def _parse_shape(text):
    name, sep, dims = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise UsageError(f"--shape {text!r}: write NAME=D1,D2,... (NAME= for a float)")
    dims = dims.strip().strip("()").replace("x", ",")
    try:
        shape = tuple(int(d) for d in dims.split(",") if d.strip())
    except ValueError:
        raise UsageError(f"--shape {text!r}: dimensions must be integers") from None
    if any(d < 0 for d in shape):
        raise UsageError(f"--shape {text!r}: dimensions must not be negative")
    return name, shape


def _random_args(fn, shapes, seed):
    params = inspect.signature(fn).parameters
    rng = np.random.default_rng(seed)
    given = dict(_parse_shape(s) for s in shapes)
    for name in given:
        if name not in params:
            raise UsageError(f"--shape names {name!r}, which is not a parameter of "
                             f"{fn.__qualname__} (parameters: {', '.join(params)})")
    values = {}
    for name, p in params.items():
        if name in given:
            shape = given[name]
            values[name] = float(rng.standard_normal()) if shape == () else \
                rng.standard_normal(shape)
        elif p.default is p.empty:
            raise UsageError(f"parameter {name!r} of {fn.__qualname__} has no value: give "
                             f"--shape {name}=D1,D2 (or --args / --example for all of them)")
    return inspect.signature(fn).bind(**values).args


def arguments(ns, fn, module_globals):
    if ns.args is not None:
        if ns.shape:
            raise UsageError("give the arguments either by --args or by --shape, not both")
        scope = dict(module_globals)
        scope.update(np=np, numpy=np, math=math)
        try:
            value = eval(ns.args, scope)       # noqa: S307 (the user's own command line)
        except Exception as exc:
            raise UsageError(f"--args {ns.args!r}: {type(exc).__name__}: {exc}") from None
        return value if isinstance(value, tuple) else (value,)
    if ns.example is not None:
        if ns.shape:
            raise UsageError("give the arguments either by --example or by --shape, not both")
        make = locate(ns.example, "--example")
        value = make() if callable(make) else make
        return tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not ns.shape and inspect.signature(fn).parameters:
        raise UsageError("no arguments: give --args EXPR, --shape NAME=D1,D2 per parameter, "
                         "or --example module:callable")
    return _random_args(fn, ns.shape, ns.seed)


def _wrt(text):
    if text is None:
        return None
    items = tuple(int(w) if w.strip().lstrip("-").isdigit() else w.strip()
                  for w in text.split(",") if w.strip())
    return items[0] if len(items) == 1 else items


# ------------------------------------------------------------------ the commands

def _differentiable(obj, wrt):
    import srcad
    if isinstance(obj, srcad.Differentiable):
        return obj if wrt is None else srcad.differentiate(obj.fn, wrt=wrt)
    if not callable(obj):
        raise UsageError(f"{obj!r} is not a function")
    return srcad.differentiate(obj, wrt=wrt)


def show(ns, d, args):
    print(d.source(ns.kind, *args, standalone=ns.standalone), end="")
    return 0


def check(ns, d, args):
    if ns.kind == "jvp":
        error, ok, detail = _check_jvp(d, args, ns.rtol, ns.atol)
        print(f"{d.fn.__qualname__}: jvp along a random tangent, relative error {error:.3e}")
        if not ok:
            print(f"mismatch: {detail}", file=sys.stderr)
            return EXIT_MISMATCH
        return 0
    import srcad
    wrt = d.wrt[0] if d.single else d.wrt
    try:
        error = srcad.check_grad(d.fn, *args, wrt=wrt, rtol=ns.rtol, atol=ns.atol)
    except AssertionError as exc:
        print(f"mismatch: {exc}", file=sys.stderr)
        return EXIT_MISMATCH
    print(f"{d.fn.__qualname__}: gradient wrt {', '.join(d.wrt)}, worst relative error "
          f"{error:.3e} (rtol {ns.rtol:g}, atol {ns.atol:g})")
    return 0


def _check_jvp(d, args, rtol, atol):
    """<c, J v> by forward mode against Ridders' differences of <c, f(x + t v)>."""
    from srcad.check import _contract, _derivative, _random_like
    rng = np.random.default_rng(0)
    tangents = []
    for name, p in zip(d.wrt, d.positions, strict=True):
        t = _random_like(args[p], rng)
        if t is None:
            raise UsageError(f"--kind jvp: the wrt argument {name!r} holds no float value")
        tangents.append(t)
    value, tan = d.jvp(args, tuple(tangents))
    c = _random_like(value, rng)
    got = _contract(c, tan)

    def along(s):
        moved = list(args)
        for p, t in zip(d.positions, tangents, strict=True):
            moved[p] = np.asarray(args[p], np.float64) + s * np.asarray(t, np.float64) \
                if isinstance(args[p], np.ndarray) else args[p] + s * t
        return _contract(c, d.fn(*moved))
    want, _ = _derivative(along, 0.0, 1.0, rtol, atol)
    error = abs(got - want) / max(abs(want), atol / rtol)
    ok = abs(got - want) <= atol + rtol * abs(want)
    return error, ok, f"srcad gives {got!r}, finite differences {want!r}"


def main(argv=None):
    ns = _parser().parse_args(argv)
    from srcad.errors import TransformError
    try:
        target = locate(ns.target)
        d = _differentiable(target, _wrt(ns.wrt))
        module = sys.modules.get(getattr(d.fn, "__module__", None))
        args = arguments(ns, d.fn, vars(module) if module is not None else {})
        return (show if ns.command == "show" else check)(ns, d, args)
    except UsageError as exc:
        print(f"srcad: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TransformError as exc:
        print(f"srcad: cannot differentiate: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (TypeError, ValueError) as exc:          # srcad's own input checks (wrt, arguments)
        print(f"srcad: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

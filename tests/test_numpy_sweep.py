"""Every public callable of ``numpy``, ``numpy.linalg`` and ``math`` on an active argument.

Each callable is called inside a tiny generated function ``f(x) = sum(W * name(x))``
(``W`` a fixed random weight per output leaf) on a float argument in (0.2, 0.8): a
1-d array first, then a scalar, then a well-conditioned 3x3 matrix, then the same
with the argument passed twice (``name(x, x)``), then values in (1.2, 1.8); the
first one the plain call accepts. srcad must then

- differentiate it: the gradient matches central differences (reverse mode, and
  forward mode when it accepts the function), or
- refuse it with a located ``TransformError``, or
- treat it as piecewise constant, only when it is on the reviewed list of
  non-differentiable functions (and the zero gradient matches central differences).

A callable whose plain call fails on all three arguments (it needs more arguments,
or another kind of argument) is "not applicable". Never a silent zero, a wrong
number or an internal error. The counts are printed (``pytest -s``).
"""
import importlib.util
import math
import sys
import warnings

import numpy as np
import pytest

import srcad
from srcad.transforms.rules import registry

MODULES = {"np": np, "np.linalg": np.linalg, "math": math}

# Callables that touch files, global state or the terminal when called: never called.
SIDE_EFFECTS = {
    "save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt",
    "fromfile", "fromregex", "memmap", "tofile", "seterr", "seterrcall", "setbufsize",
    "set_printoptions", "printoptions", "show_config", "show_runtime", "info", "test",
    "lookfor", "source", "who", "disp", "get_include", "_add_newdoc_ufunc", "add_newdoc",
    "add_docstring", "add_newdoc_ufunc", "set_string_function", "from_dlpack",
}

# values of uninitialised memory: no central differences of a list given to them
UNINITIALISED = {"np.empty_like", "np.empty"}
POINT = np.array([0.23, 0.41, 0.67])
SCALAR = 0.37
MATRIX = np.array([[0.8, 0.21, 0.33], [0.27, 0.74, 0.29], [0.31, 0.24, 0.69]])
# tried in order, the first one the plain call accepts: one argument, then the same
# argument twice (both differentiated), then values above 1 (arccosh, ...)
ARGUMENTS = ((POINT, 1), (SCALAR, 1), (MATRIX, 1), (POINT, 2), (SCALAR, 2), (MATRIX, 2),
             (POINT + 1.0, 1), (SCALAR + 1.0, 1), (POINT + 1.0, 2), (SCALAR + 1.0, 2))
EPS = 1e-6


def _public(module):
    for name in sorted(dir(module)):
        if name.startswith("_") or name in SIDE_EFFECTS:
            continue
        obj = getattr(module, name)
        if callable(obj) and not isinstance(obj, type(np)):
            yield name, obj


def _leaves(y):
    """The float leaves of an output, as (index path, value); None if it is complex
    or holds no number at all."""
    if isinstance(y, (tuple, list)) and not isinstance(y, str):
        out = []
        for k, item in enumerate(y):
            sub = _leaves(item)
            if sub is None:
                continue
            out += [((k,) + path, v) for path, v in sub]
        return out or None
    if isinstance(y, (bool, int, float, np.number, np.ndarray, np.bool_)):
        a = np.asarray(y)
        if a.dtype.kind in "biuf" and a.size and np.all(np.isfinite(a)):
            return [((), y)]
    return None


def _same_leaves(a, b):
    """Do two outputs' leaves have the same paths and shapes?"""
    return a is not None and [(p, np.shape(v)) for p, v in a] == [(p, np.shape(v))
                                                                    for p, v in b]


def _plain(fn, arg, count):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn(*[np.copy(arg) if isinstance(arg, np.ndarray) else arg] * count)
        except Exception:
            return None


def _is_complex(y):
    if isinstance(y, (tuple, list)):
        return any(_is_complex(v) for v in y)
    return isinstance(y, (complex, np.complexfloating)) or \
        (isinstance(y, np.ndarray) and y.dtype.kind == "c")


def _cases():
    """(key, object, argument, how many times it is passed, output leaves) for every
    applicable callable."""
    cases, na = [], []
    for prefix, module in MODULES.items():
        for name, obj in _public(module):
            key = f"{prefix}.{name}"
            for arg, count in ARGUMENTS:
                y = _plain(obj, arg, count)
                if y is None:
                    continue
                leaves = _leaves(y)
                if _is_complex(y):
                    cases.append((key, obj, arg, count, [((), None)]))
                    break
                if leaves is not None:
                    cases.append((key, obj, arg, count, leaves))
                    break
            else:
                na.append(key)
    return cases, na


def _source(cases, rng, listed=False):
    """One module with ``f_k(x)`` per case, and its weights; ``listed``: the argument, a
    1-d array, passed as a list of its entries (``name([x[0], x[1], x[2]])``)."""
    lines = ["import math", "import numpy as np", ""]
    weights = {}
    for k, (key, obj, arg, count, leaves) in enumerate(cases):
        lines.append(f"def f_{k}(x):")
        operand = "[x[0], x[1], x[2]]" if listed else "x"
        lines.append(f"    y = {key}({', '.join([operand] * count)})")
        if leaves[0][1] is None:       # complex: reduce its real part
            lines.append("    return np.sum(np.real(y) * np.imag(y))")
        else:
            terms = []
            for j, (path, value) in enumerate(leaves):
                item = "y" + "".join(f"[{p}]" for p in path)
                w = f"W_{k}_{j}"
                weights[w] = rng.uniform(0.5, 1.5, np.shape(value))
                if np.ndim(value) == 0:
                    weights[w] = float(weights[w])
                terms.append(f"np.sum(np.multiply({w}, {item}))")
            lines.append("    return " + " + ".join(terms))
        lines.append("")
    return "\n".join(lines), weights


def _fd(f, x):
    def at(v):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return float(f(v))
    if np.ndim(x) == 0:
        return (at(x + EPS) - at(x - EPS)) / (2 * EPS)
    g = np.zeros(np.shape(x))
    for i in np.ndindex(np.shape(x)):
        p, m = x.copy(), x.copy()
        p[i] += EPS
        m[i] -= EPS
        g[i] = (at(p) - at(m)) / (2 * EPS)
    return g


def _close(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-6)


def _outcome(key, obj, f, arg, rng):
    """'differentiated', 'refused' or 'piecewise-constant'; a failure message otherwise."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            g = srcad.grad(f)(arg)
        except srcad.TransformError as exc:
            if exc.lineno is None or exc.filename != f.__code__.co_filename:
                return f"{key}: refusal not located at the user's line: {exc}"
            return "refused"
        except Exception as exc:
            return f"{key}: {type(exc).__name__}: {exc}"
    want = _fd(f, arg)
    if not _close(g, want):
        return f"{key}: gradient {g!r}, central differences {want!r}"
    v = rng.standard_normal(np.shape(arg)) if np.ndim(arg) else 1.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            _, t = srcad.jvp(f, (arg,), (v,))
        except srcad.TransformError:
            t = None
        except Exception as exc:
            return f"{key}: forward mode: {type(exc).__name__}: {exc}"
    if t is not None and not _close(t, np.sum(want * v)):
        return f"{key}: forward tangent {t!r}, central differences {np.sum(want * v)!r}"
    constant = registry.hashable(obj) and registry.is_nondiff(obj)
    if constant:
        return "piecewise-constant"
    rule = registry.op(obj).reverse is not None
    if not rule and not np.any(want) and not np.any(g):
        # a zero derivative, without a rule, from a function not listed as piecewise constant
        return f"{key}: zero gradient but not on the reviewed piecewise-constant list"
    return "differentiated"


@pytest.fixture
def no_disk_cache(monkeypatch):
    from srcad import cache
    monkeypatch.setattr(cache, "load", lambda key: None)
    monkeypatch.setattr(cache, "store", lambda *args, **kwargs: None)


@pytest.mark.slow
@pytest.mark.parametrize("listed", [False, True], ids=["array", "list"])
def test_every_public_callable(tmp_path, no_disk_cache, capsys, listed):
    """``list``: each callable that takes the 1-d array once, given instead the list of its
    entries (each a value that carries a derivative: a list operand's cotangent is a
    list, and two of them added with ``+`` were joined, ``np.interp``'s ``fp`` lost an
    entry's part)."""
    rng = np.random.default_rng(7)
    cases, na = _cases()
    if listed:
        cases = [c for c in cases if c[2] is POINT and c[3] == 1 and c[4][0][1] is not None
                 and c[0] not in UNINITIALISED
                 and _same_leaves(_leaves(_plain(c[1], list(POINT), 1)), c[4])]
    text, weights = _source(cases, rng, listed)
    path = tmp_path / "sweep_functions.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("sweep_functions", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sweep_functions"] = module
    try:
        spec.loader.exec_module(module)
        vars(module).update(weights)
        counts = {"differentiated": 0, "refused": 0, "piecewise-constant": 0}
        failures = []
        for k, (key, obj, arg, _, _) in enumerate(cases):
            result = _outcome(key, obj, getattr(module, f"f_{k}"), arg, rng)
            if result in counts:
                counts[result] += 1
            else:
                failures.append(result)
    finally:
        sys.modules.pop("sweep_functions", None)
    with capsys.disabled():
        print(f"\nnumpy sweep ({'list' if listed else 'array'} operand): "
              f"{counts['differentiated']} differentiated, {counts['refused']} "
              f"refused, {counts['piecewise-constant']} piecewise-constant, {len(na)} not "
              f"applicable, {len(failures)} failed")
    assert not failures, "\n".join(failures)

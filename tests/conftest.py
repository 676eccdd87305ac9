"""Shared helpers: argument trees and finite-difference checks of srcad.

Every derivative in the test suite is checked against central differences
along random directions, with a random (non-trivial) cotangent, never against
a hand-derived formula.

Trees
    Arguments and outputs may be nested tuples, lists, dicts, dataclasses and
    NamedTuples. Python floats, NumPy floating scalars and float ndarrays are
    *leaves* (differentiable); everything else (ints, bools, strings, integer
    arrays, None) is a *constant* that keeps its value.

Checks
    ``fd_check(fn, args, wrt, rng)`` checks reverse mode (``srcad.pullback``,
    and ``srcad.grad`` for scalar outputs); ``fd_check_forward(fn, args, wrt,
    rng)`` checks forward mode (``srcad.jvp``). Both use float64 central
    differences with ``EPS = 1e-6`` and a relative tolerance of ``RTOL = 1e-5``
    with a small absolute floor scaled by the size of the output.
"""
import copy
import dataclasses
import inspect
import os
import shutil
import tempfile
import zlib

import numpy as np
import pytest

# Keep the suite's disk cache out of the user's cache directory, one directory per process.
# This runs before srcad is imported, in case srcad reads the variable at import time. Under
# pytest-xdist (`make test`) every worker gets its own: a worker inherits the environment of
# the controller, so the directory the controller made here (SRCAD_SUITE_CACHE_DIR says which)
# is replaced by the worker's, and a directory the user set is split into one per worker.
_SUITE_CACHE_DIR = None
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if "SRCAD_CACHE_DIR" not in os.environ or \
        os.environ["SRCAD_CACHE_DIR"] == os.environ.get("SRCAD_SUITE_CACHE_DIR"):
    _SUITE_CACHE_DIR = tempfile.mkdtemp(prefix=f"srcad-test-cache-{_WORKER or 'main'}-")
    os.environ["SRCAD_CACHE_DIR"] = os.environ["SRCAD_SUITE_CACHE_DIR"] = _SUITE_CACHE_DIR
elif _WORKER and os.environ["SRCAD_CACHE_DIR"]:
    os.environ["SRCAD_CACHE_DIR"] = os.path.join(os.environ["SRCAD_CACHE_DIR"], _WORKER)

import srcad  # noqa: E402

EPS = 1e-6
RTOL = 1e-5
ATOL = 1e-7     # times (1 + size of the output); central differences lose ~1e-10 of it


# --------------------------------------------------------------------------- pytest setup

def need_numba():
    """Skip the calling test module when the numba extra is not installed (``make test``
    installs it and sets SRCAD_REQUIRE_NUMBA=1: there a missing numba is an error)."""
    if os.environ.get("SRCAD_REQUIRE_NUMBA") != "1":
        pytest.importorskip("numba", reason="the numba extra is not installed: "
                                            "pip install -e '.[test,numba]'")


@pytest.fixture
def numba_default(monkeypatch):
    """numba as the process default backend (SRCAD_BACKEND=numba) for one test."""
    monkeypatch.setenv("SRCAD_BACKEND", "numba")


@pytest.fixture(autouse=True)
def _numpy_backend_when_marked(request):
    """``@pytest.mark.numpy_backend``: the test reads the NumPy backend's generated code
    or behaviour, so it runs with that backend as the process default whatever
    ``SRCAD_BACKEND`` says (``make test-numba`` runs the suite with ``auto``). (monkeypatch
    is taken only then: taken by every test, it would be undone after the teardowns of
    the other fixtures, not before.)"""
    if request.node.get_closest_marker("numpy_backend") is not None:
        request.getfixturevalue("monkeypatch").setenv("SRCAD_BACKEND", "numpy")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a long test (end to end, subprocesses, campaigns)")
    config.addinivalue_line("markers", "numpy_backend: the test reads the NumPy backend's "
                                       "generated code or behaviour")


def pytest_collection_modifyitems(session, config, items):
    """The tests marked ``slow`` run first (a stable sort: otherwise in file order). Under
    ``pytest-xdist`` the first tests are dealt to the workers in turn (``--dist worksteal``
    then evens out the rest), so the long ones start early on both workers instead of one
    worker ending alone on them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_unconfigure(config):
    if _SUITE_CACHE_DIR is not None:
        if os.environ.get("SRCAD_CACHE_DIR") == _SUITE_CACHE_DIR:
            del os.environ["SRCAD_CACHE_DIR"]
        os.environ.pop("SRCAD_SUITE_CACHE_DIR", None)
        shutil.rmtree(_SUITE_CACHE_DIR, ignore_errors=True)


@pytest.fixture
def rng(request):
    """A generator seeded from the test's id: fixed per test, different between tests."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


# --------------------------------------------------------------------------- trees

def is_leaf(x):
    """Float scalars and float arrays are differentiable leaves."""
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (float, np.floating)):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind == "f"


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _is_dataclass_instance(x):
    return dataclasses.is_dataclass(x) and not isinstance(x, type)


def tree_map(f, tree, *rest):
    """Apply ``f`` to the leaves of ``tree`` (and the matching leaves of ``rest``).

    The result has the structure of ``tree``; its constants are ``tree``'s.
    """
    if is_leaf(tree):
        return f(tree, *rest)
    if _is_namedtuple(tree):
        return type(tree)(*[tree_map(f, t, *[r[i] for r in rest]) for i, t in enumerate(tree)])
    if isinstance(tree, (tuple, list)):
        for r in rest:
            assert len(r) == len(tree), f"structure mismatch: {len(r)} != {len(tree)}"
        return type(tree)(tree_map(f, t, *[r[i] for r in rest]) for i, t in enumerate(tree))
    if isinstance(tree, dict):
        for r in rest:
            assert set(r) == set(tree), f"structure mismatch: keys {set(r)} != {set(tree)}"
        return {k: tree_map(f, v, *[r[k] for r in rest]) for k, v in tree.items()}
    if _is_dataclass_instance(tree):
        new = copy.copy(tree)
        for fld in dataclasses.fields(tree):
            value = getattr(tree, fld.name)
            object.__setattr__(new, fld.name,
                               tree_map(f, value, *[getattr(r, fld.name) for r in rest]))
        return new
    return tree


def tree_leaves(tree):
    out = []
    tree_map(lambda leaf: out.append(leaf), tree)
    return out


def _cast_like(value, like):
    """``value`` with the Python/NumPy type and dtype of the leaf ``like``."""
    if isinstance(like, np.ndarray):
        return np.asarray(value, dtype=like.dtype).reshape(like.shape)
    if type(like) is float:
        return float(value)
    return type(like)(value)


def tree_random_like(tree, rng):
    """Standard-normal leaves shaped like ``tree``'s; constants copied."""
    return tree_map(lambda leaf: _cast_like(rng.standard_normal(np.shape(leaf)), leaf), tree)


def tree_axpy(x, v, eps):
    """``x + eps * v`` leafwise, keeping each leaf's type and dtype."""
    def step(a, b):
        return _cast_like(np.asarray(a, np.float64) + eps * np.asarray(b, np.float64), a)
    return tree_map(step, x, v)


def tree_inner(a, b):
    """Sum over leaves of ``sum(a_leaf * b_leaf)`` in float64."""
    la, lb = tree_leaves(a), tree_leaves(b)
    assert len(la) == len(lb), f"structure mismatch: {len(la)} leaves vs {len(lb)}"
    return float(sum(np.sum(np.asarray(x, np.float64) * np.asarray(y, np.float64))
                     for x, y in zip(la, lb, strict=True)))


def tree_abs_inner(a, b):
    """``<|a|, |b|>``: the size of ``<a, b>`` before cancellation, for roundoff floors."""
    return tree_inner(tree_map(np.abs, a), tree_map(np.abs, b))


def tree_copy(tree):
    return copy.deepcopy(tree)


def assert_tree_equal(a, b, what):
    """Same structure, equal leaves and constants (used to check inputs are not modified)."""
    la, lb = tree_leaves(a), tree_leaves(b)
    assert len(la) == len(lb), what
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=what)


def assert_same_structure(g, x, what="gradient"):
    """``g`` has the structure of ``x``: same container types, same shapes and dtypes.

    A float leaf gets a float, an array leaf an array of the same shape and dtype;
    a dataclass or NamedTuple gets an instance of the same type whose constant
    fields keep their value.
    """
    if is_leaf(x):
        if isinstance(x, np.ndarray):
            assert isinstance(g, np.ndarray), f"{what}: expected an ndarray, got {type(g).__name__}"
            assert g.shape == x.shape, f"{what}: shape {g.shape} != {x.shape}"
            assert g.dtype == x.dtype, f"{what}: dtype {g.dtype} != {x.dtype}"
        else:
            assert isinstance(g, (float, np.floating)), \
                f"{what}: expected a float, got {type(g).__name__}"
        return
    if _is_namedtuple(x) or _is_dataclass_instance(x):
        assert type(g) is type(x), f"{what}: type {type(g).__name__} is not {type(x).__name__}"
        names = x._fields if _is_namedtuple(x) else [f.name for f in dataclasses.fields(x)]
        for name in names:
            xv, gv = getattr(x, name), getattr(g, name)
            if is_leaf(xv) or isinstance(xv, (tuple, list, dict)) or _is_dataclass_instance(xv):
                assert_same_structure(gv, xv, f"{what}.{name}")
            else:
                assert type(gv) is type(xv) and np.all(gv == xv), \
                    f"{what}.{name}: constant field changed from {xv!r} to {gv!r}"
        return
    if isinstance(x, (tuple, list)):
        assert type(g) is type(x), f"{what}: type {type(g).__name__} is not {type(x).__name__}"
        assert len(g) == len(x), f"{what}: length {len(g)} != {len(x)}"
        for i, (gi, xi) in enumerate(zip(g, x, strict=True)):
            if is_leaf(xi) or isinstance(xi, (tuple, list, dict)) or _is_dataclass_instance(xi):
                assert_same_structure(gi, xi, f"{what}[{i}]")
        return
    if isinstance(x, dict):
        assert isinstance(g, dict), f"{what}: expected a dict, got {type(g).__name__}"
        for k, xv in x.items():
            if is_leaf(xv) or isinstance(xv, (tuple, list, dict)) or _is_dataclass_instance(xv):
                assert k in g, f"{what}: key {k!r} missing"
                assert_same_structure(g[k], xv, f"{what}[{k!r}]")
        return
    raise AssertionError(f"{what}: the argument {x!r} has no differentiable leaves")


def assert_close_values(got, want, what="value"):
    """The differentiated function's value equals the plain call's."""
    if is_leaf(want) and not isinstance(want, np.ndarray):
        assert isinstance(got, (float, np.floating)), f"{what}: expected a float, got {got!r}"
    else:
        assert_same_structure(got, want, what)
    lg, lw = tree_leaves(got), tree_leaves(want)
    assert len(lg) == len(lw), f"{what}: {len(lg)} leaves vs {len(lw)}"
    for a, b in zip(lg, lw, strict=True):
        scale = float(np.max(np.abs(b), initial=0.0))
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * (1.0 + scale), err_msg=what)


# --------------------------------------------------------------------------- wrt

def wrt_positions(fn, wrt):
    """``wrt`` (a name, a position, or a tuple of them) as a tuple of positions."""
    names = list(inspect.signature(fn).parameters)
    items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    return tuple(names.index(w) if isinstance(w, str) else int(w) for w in items)


def _name(fn):
    """A function's name for messages (a functools.partial or a bound method has its own)."""
    return getattr(fn, "__name__", None) or repr(fn)


def _bare(wrt):
    """A one-element ``wrt`` tuple as its element: ``grad`` then returns one value."""
    if isinstance(wrt, (tuple, list)) and len(wrt) == 1:
        return wrt[0]
    return wrt


def _close(got, want, scale, what):
    tol = RTOL * max(abs(got), abs(want)) + ATOL * (1.0 + scale)
    assert abs(got - want) <= tol, (
        f"{what}: srcad gives {got!r}, central differences {want!r} "
        f"(|diff| = {abs(got - want):.3e} > tol {tol:.3e})")


def _central_difference(fn, args, positions, directions):
    """``(f(x + eps v) - f(x - eps v)) / (2 eps)`` moving every argument in ``positions``."""
    plus, minus = list(tree_copy(args)), list(tree_copy(args))
    for k, v in zip(positions, directions, strict=True):
        plus[k] = tree_axpy(args[k], v, EPS)
        minus[k] = tree_axpy(args[k], v, -EPS)
    y_plus, y_minus = fn(*plus), fn(*minus)
    def slope(a, b):
        return (np.asarray(a, np.float64) - np.asarray(b, np.float64)) / (2 * EPS)
    return tree_map(slope, y_plus, y_minus)


def fd_gradient(fn, args, k):
    """Gradient of a scalar ``fn`` w.r.t. the float (array) ``args[k]``, by central differences."""
    args = list(args)
    x = args[k]
    if not isinstance(x, np.ndarray):
        plus, minus = list(args), list(args)
        plus[k], minus[k] = x + EPS, x - EPS
        return (fn(*plus) - fn(*minus)) / (2 * EPS)
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        plus, minus = list(args), list(args)
        plus[k], minus[k] = x.astype(np.float64), x.astype(np.float64)
        plus[k][i] += EPS
        minus[k][i] -= EPS
        g[i] = (fn(*plus) - fn(*minus)) / (2 * EPS)
    return g


def assert_grad_close(got, fn, args, k):
    """``got`` is the gradient of scalar ``fn`` w.r.t. ``args[k]``, by central differences."""
    want = fd_gradient(fn, args, k)
    scale = abs(float(fn(*args)))
    np.testing.assert_allclose(np.asarray(got, np.float64), want,
                               rtol=RTOL, atol=ATOL * (1.0 + scale))


# --------------------------------------------------------------------------- the checks

def assert_same_value(got, want):
    """srcad's value is the plain call's: exactly with the NumPy backend (the same
    operations in the same order), to rounding with numba (which sums in its own order)."""
    from srcad import backends
    if backends.resolve(None) == "numpy":
        assert got == want
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-300)


def fd_check(fn, args, wrt, rng):
    """Check srcad's reverse mode for ``fn`` at ``args`` against central differences.

    For a random cotangent ``ybar`` and a random direction ``v_k`` per ``wrt``
    argument, ``<back(ybar)[k], v_k>`` must equal ``<ybar, (f(x+eps v_k) -
    f(x-eps v_k)) / (2 eps)>``. For scalar outputs ``srcad.grad`` is checked
    the same way. Gradients must have the structure of their argument, the
    value must equal the plain call, and the inputs must not be modified.
    Returns ``(value, grads)`` with ``grads`` the tuple ``back(ybar)``.
    """
    args = tuple(args)
    wrt = _bare(wrt)
    positions = wrt_positions(fn, wrt)
    original = tree_copy(args)
    y = fn(*tree_copy(args))
    ybar = tree_random_like(y, rng)
    assert tree_leaves(ybar), f"{_name(fn)} returned no float output: {y!r}"

    value, back = srcad.pullback(fn, *args, wrt=wrt)
    assert_close_values(value, y, f"{_name(fn)}: pullback value")
    grads = back(ybar)
    assert isinstance(grads, tuple) and len(grads) == len(positions), \
        f"{_name(fn)}: back() must return one entry per wrt argument, got {grads!r}"
    assert_tree_equal(args, original, f"{_name(fn)}: srcad modified its arguments")

    scalar = isinstance(y, (float, np.floating))
    if scalar:
        g = srcad.grad(fn, wrt=wrt)(*args)
        plain = (g,) if len(positions) == 1 else g
        assert isinstance(plain, tuple) and len(plain) == len(positions), \
            f"{_name(fn)}: grad with wrt={wrt!r} returned {g!r}"
        assert_tree_equal(args, original, f"{_name(fn)}: srcad.grad modified its arguments")
        vg_value, _ = srcad.value_and_grad(fn, wrt=wrt)(*args)
        assert_close_values(vg_value, y, f"{_name(fn)}: value_and_grad value")

    scale = tree_abs_inner(ybar, y)
    for i, k in enumerate(positions):
        name = f"{_name(fn)}: d/d(arg {k})"
        assert_same_structure(grads[i], args[k], f"{name} (pullback)")
        v = tree_random_like(args[k], rng)
        dy = _central_difference(fn, args, (k,), (v,))
        _close(tree_inner(grads[i], v), tree_inner(ybar, dy), scale, f"{name} <back(ybar), v>")
        if scalar:
            assert_same_structure(plain[i], args[k], f"{name} (grad)")
            _close(tree_inner(plain[i], v), float(dy), abs(float(y)), f"{name} <grad, v>")
    return value, grads


def fd_check_forward(fn, args, wrt, rng):
    """Check srcad's forward mode (``srcad.jvp``) against central differences.

    Random tangents (one per ``wrt`` argument, shaped like it) are pushed
    forward together; the output tangent must equal the central difference of
    ``fn`` along them, leaf by leaf. Returns ``(value, tangent_out)``.
    """
    args = tuple(args)
    wrt = _bare(wrt)
    positions = wrt_positions(fn, wrt)
    original = tree_copy(args)
    y = fn(*tree_copy(args))
    tangents = tuple(tree_random_like(args[k], rng) for k in positions)

    value, t_out = srcad.jvp(fn, args, tangents, wrt=wrt)
    assert_close_values(value, y, f"{_name(fn)}: jvp value")
    assert_tree_equal(args, original, f"{_name(fn)}: srcad.jvp modified its arguments")
    if is_leaf(y) and not isinstance(y, np.ndarray):
        assert isinstance(t_out, (float, np.floating)), \
            f"{_name(fn)}: a float output needs a float tangent, got {type(t_out).__name__}"
    else:
        assert_same_structure(t_out, y, f"{_name(fn)}: output tangent")

    dy = _central_difference(fn, args, positions, tangents)
    scale = max(float(np.max(np.abs(leaf), initial=0.0)) for leaf in tree_leaves(y))
    for j, (got, want) in enumerate(zip(tree_leaves(t_out), tree_leaves(dy), strict=True)):
        got = np.asarray(got, np.float64)
        want = np.asarray(want, np.float64)
        err = np.abs(got - want)
        tol = RTOL * np.maximum(np.abs(got), np.abs(want)) + ATOL * (1.0 + scale)
        worst = np.unravel_index(np.argmax(err - tol), err.shape) if err.ndim else ()
        assert np.all(err <= tol), (
            f"{_name(fn)}: output tangent leaf {j} at {worst}: srcad gives {got[worst]!r}, "
            f"central differences {want[worst]!r}")
    return value, t_out


def numba_agrees(fn, args, wrt, rng, rtol, atol):
    """Central differences in both modes with ``backend="numba"`` required (call under the
    ``numba_default`` fixture), both specialisations compiled by numba, and the gradient
    equal to the NumPy backend's to ``rtol``/``atol``. Returns the Differentiable."""
    fd_check(fn, args, wrt, rng)
    fd_check_forward(fn, args, wrt, rng)
    f = srcad.differentiate(fn, wrt=wrt, backend="numba")
    assert f._specialise("vjp", args).__srcad_backend__ == "numba"
    assert f._specialise("jvp", args).__srcad_backend__ == "numba"
    got, want = f.grad(*args), srcad.grad(fn, wrt=wrt, backend="numpy")(*args)
    got, want = (got, want) if isinstance(wrt, tuple) else ((got,), (want,))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return f

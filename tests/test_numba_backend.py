"""The numba backend: the option, loop records as typed arrays, refusal and fallback.

Gradients are checked against central differences (conftest ``fd_check``, which calls
``srcad.pullback``/``srcad.grad`` with the process default: ``SRCAD_BACKEND=numba``
here) and against the NumPy backend to rounding.
"""
import math
import os
import sys
import warnings

import numpy as np
import pytest

import srcad
from srcad import backends, derivatives
from conftest import fd_check, fd_check_forward, need_numba

need_numba()

HERE = os.path.basename(__file__)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "bench"))
import workloads  # noqa: E402


def _line(fn, text):
    """The line number of the line holding ``text`` in ``fn``'s source."""
    import inspect
    lines, start = inspect.getsourcelines(fn)
    return start + next(k for k, line in enumerate(lines) if text in line)


# ------------------------------------------------------------ user-style loop functions

def euler(k, c):
    dt = 0.01
    x, v = 1.0, 0.0
    for _ in range(200):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x * x + v * v


def pair_energy(x):
    n = x.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dx = x[i, 0] - x[j, 0]
            dy = x[i, 1] - x[j, 1]
            r2 = dx * dx + dy * dy + 0.5
            e = e + 1.0 / (r2 * r2) - math.exp(-r2)
    return e


def pair_energy_squared(x):
    """The reverse sweep reads the sum: it keeps its records (see test_numba_fuse.py)."""
    e = pair_energy(x)
    return e * e


def fixed_point(p):
    x = 1.0
    step = 1.0
    while abs(step) > 1e-13:
        x_new = np.cos(p * x)
        step = x_new - x
        x = x_new
    return x * x


def growing(p):
    """A while loop with many trips: its record grows by doubling past 16 items."""
    x = p
    k = 0
    while k < 100:
        x = x * 0.99 + 0.01 * math.sin(x)
        k = k + 1
    return x


def scan(w, x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s * w[0] + x[i] * x[i] - w[1] * math.tanh(x[i])
    return s


@pytest.mark.slow
def test_loop_workloads_against_central_differences(numba_default, rng):
    """Central differences, then: compiled by numba and equal to the NumPy backend to
    rounding (one test: the second check reuses the first's compiled functions)."""
    x = rng.uniform(0, 3, (7, 2))
    cases = [(euler, ("k", "c"), (2.0, 0.1)), (pair_energy, 0, (x,)),
             (fixed_point, 0, (0.7,)), (growing, 0, (0.3,)),
             (scan, ("w", "x"), (np.array([0.9, 0.3]), rng.standard_normal(12)))]
    for fn, wrt, args in cases:
        fd_check(fn, args, wrt, rng)
    fd_check_forward(euler, (2.0, 0.1), ("k", "c"), rng)
    fd_check_forward(scan, cases[-1][2], ("w", "x"), rng)
    for fn, wrt, args in cases:
        fast = srcad.differentiate(fn, wrt=wrt, backend="numba")
        slow = srcad.differentiate(fn, wrt=wrt, backend="numpy")
        got, want = fast.grad(*args), slow.grad(*args)
        compiled = fast.compiled("grad", *args)
        assert compiled.__srcad_backend__ == "numba", fn.__name__
        assert len(compiled.core.signatures) >= 1, fn.__name__     # numba compiled the core
        flat = [np.concatenate([np.ravel(g) for g in (t if isinstance(t, tuple) else (t,))])
                for t in (got, want)]
        np.testing.assert_allclose(*flat, rtol=1e-12, atol=1e-14, err_msg=fn.__name__)


def test_the_bench_workloads_agree_with_the_hand_gradients():
    for w in [workloads.euler_workload(), workloads.lj_workload(12),
              workloads.fixed_point_workload()]:
        f = srcad.differentiate(w.fn, wrt=w.wrt, backend="numba")
        got = f.grad(*w.args)
        rtol, atol = w.tol or (1e-10, 1e-12)
        np.testing.assert_allclose(np.asarray(got), np.asarray(w.hand(*w.args)), rtol=rtol,
                                   atol=atol, err_msg=w.name)
        assert f.compiled("grad", *w.args).__srcad_backend__ == "numba"


def test_records_are_typed_arrays_sized_by_the_range(rng):
    f = srcad.differentiate(pair_energy_squared, backend="numba")
    text = f.source("grad", rng.uniform(0, 3, (5, 2)))
    assert "append" not in text and "reversed(" not in text
    assert "_rt.reserve(" in text and "_rt.trips(" in text       # the range's trip count
    assert "_rt.ints(" in text                                   # j: an integer stack
    g = srcad.differentiate(fixed_point, backend="numba")
    assert "_rt.room(" in g.source("grad", 0.7)                  # a while loop: doubling


def test_source_is_what_numba_compiles(tmp_path, monkeypatch, rng):
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SRCAD_DISK_CACHE", raising=False)
    srcad.clear_cache()                 # compiled anew: its module is written to the cache
    f = srcad.differentiate(euler, wrt=("k", "c"))
    text = f.source("grad", 2.0, 0.1, backend="numba")
    assert text.splitlines()[3] == "@_njit"
    assert f"# {HERE}:{_line(euler, 'a = -k * x - c * v')}  a = -k * x - c * v" in text
    written = list((tmp_path / "numba").glob("euler-*.py"))
    assert [p.read_text() for p in written] == [text]          # the file numba caches from
    numpy_text = f.source("grad", 2.0, 0.1, backend="numpy")
    assert "@_njit" not in numpy_text and "loop.append" in numpy_text
    with pytest.raises(ValueError, match="standalone=True writes the NumPy backend"):
        f.source("grad", 2.0, 0.1, backend="numba", standalone=True)


def test_backend_is_part_of_the_disk_key(tmp_path, monkeypatch):
    """A NumPy entry on disk is never served to the numba backend, nor the reverse."""
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SRCAD_DISK_CACHE", raising=False)
    plain = srcad.differentiate(growing, backend="numpy")
    want = plain.grad(0.3)
    fast = srcad.differentiate(growing, backend="numba")
    assert fast.grad(0.3) == pytest.approx(want, rel=1e-12)
    assert fast.compiled("grad", 0.3).__srcad_backend__ == "numba"
    again = srcad.differentiate(growing, backend="numpy")
    assert again.grad(0.3) == want
    assert not hasattr(again.compiled("grad", 0.3), "core")


def test_out_is_written_in_place(rng):
    x = rng.uniform(0, 3, (6, 2))
    f = srcad.differentiate(pair_energy, backend="numba")
    buf = np.empty_like(x)
    assert f.grad(x, out=buf) is buf
    np.testing.assert_allclose(buf, srcad.differentiate(pair_energy).grad(x), rtol=1e-12)


def test_float32_stays_float32(rng):
    x = rng.standard_normal(10).astype(np.float32)
    w = np.array([0.9, 0.3], dtype=np.float32)
    f = srcad.differentiate(scan, wrt=("w", "x"), backend="numba")
    gw, gx = f.grad(w, x)
    assert gw.dtype == np.float32 and gx.dtype == np.float32
    rw, rx = srcad.differentiate(scan, wrt=("w", "x")).grad(w, x)
    np.testing.assert_allclose(gx, rx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gw, rw, rtol=1e-5, atol=1e-6)


def test_functional_forms_take_the_backend(rng):
    x = rng.standard_normal(8)
    w = np.array([0.9, 0.3])
    g = srcad.grad(scan, wrt=1, backend="numba")(w, x)
    np.testing.assert_allclose(g, srcad.grad(scan, wrt=1)(w, x), rtol=1e-12)
    value, g2 = srcad.value_and_grad(scan, wrt=1, backend="numba")(w, x)
    assert value == pytest.approx(scan(w, x)) and np.allclose(g2, g)
    t = rng.standard_normal(8)
    _, tan = srcad.jvp(scan, (w, x), (t,), wrt=1, backend="numba")
    assert tan == pytest.approx(float(g @ t), rel=1e-10)
    J = srcad.jacobian(scan, wrt=1, backend="numba")(w, x)
    np.testing.assert_allclose(J, g, rtol=1e-10)
    with warnings.catch_warnings():                 # compiled: nothing to say
        warnings.simplefilter("error", RuntimeWarning)
        H = srcad.hessian(scan, wrt=1, backend="numba")(w, x)
    eps = 1e-6
    for k in range(3):
        e = np.zeros(8)
        e[k] = eps
        col = (srcad.grad(scan, wrt=1)(w, x + e) - srcad.grad(scan, wrt=1)(w, x - e)) / (2 * eps)
        np.testing.assert_allclose(H[:, k], col, rtol=1e-5, atol=1e-7)
    v = rng.standard_normal(8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        hv = srcad.hvp(scan, (w, x), v, wrt=1, backend="auto")
    np.testing.assert_allclose(hv, H @ v, rtol=1e-8, atol=1e-10)


def smooth(x, y):
    return x * x * y + math.sin(x * y) / (1.0 + y * y)


def test_second_derivatives_of_numbers_compile():
    """hvp and hessian of a function of numbers (``math`` calls) compile under numba, in
    the functional and the method forms, and agree with central differences of the
    gradient; a grad of a grad (reverse over reverse) is refused at the user's ``def``
    line, named as the user's function, not the gradient's wrapper."""
    x, y, v = 0.7, -1.3, 0.4
    eps = 1e-6
    g = srcad.grad(smooth, wrt=0, backend="numpy")
    want = (g(x + eps * v, y) - g(x - eps * v, y)) / (2 * eps)
    for second in (lambda: srcad.hvp(smooth, (x, y), v, wrt=0, backend="numba"),
                   lambda: v * srcad.hessian(smooth, wrt=0, backend="numba")(x, y),
                   lambda: v * srcad.differentiate(smooth, backend="numba").hessian(x, y)):
        assert second() == pytest.approx(want, rel=1e-6)
    f = srcad.differentiate(smooth, backend="numba")
    assert derivatives._gradient_of(f)._specialise("jvp", (x, y)).__srcad_backend__ == "numba"
    with pytest.raises(srcad.TransformError, match="derivative of a derivative") as info:
        srcad.grad(srcad.grad(smooth, backend="numba"), backend="numba")(x, y)
    assert "`smooth`" in str(info.value)
    assert info.value.lineno == smooth.__code__.co_firstlineno
    assert info.value.filename == smooth.__code__.co_filename


def as_array(y):
    w = np.array(y)
    return np.sum(np.sin(w) * y)


def test_second_derivatives_under_auto_speak_of_the_users_code_only(monkeypatch, rng):
    """With ``SRCAD_BACKEND=auto`` a second derivative falls back to NumPy; the first
    derivative's code it runs calls srcad's own kernels (``np.array``'s cotangent), whose
    derivatives are NumPy code too: no warning names a file of srcad's (they used to,
    e.g. "srcad/kernels/shapes.py:73 ... `seq_leaf`"), and the result agrees with central
    differences of the gradient."""
    monkeypatch.setenv("SRCAD_BACKEND", "auto")
    y, v = rng.standard_normal(4), rng.standard_normal(4)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        H = srcad.hessian(as_array)(y)
        hv = srcad.hvp(as_array, (y,), v)
    said = [str(w.message) for w in seen if issubclass(w.category, RuntimeWarning)]
    assert said and all(__file__ in m for m in said), said
    package = os.path.dirname(srcad.__file__)
    assert not [m for m in said if package in m]
    g = srcad.grad(as_array, backend="numpy")
    eps = 1e-6
    np.testing.assert_allclose(hv, (g(y + eps * v) - g(y - eps * v)) / (2 * eps),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H @ v, hv, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ refusal and fallback

def array_code(x):
    return np.sum(np.einsum("ij->j", np.exp(x)) ** 2)    # numba has no einsum


def test_refusal_names_the_user_line_and_the_reason(rng):
    f = srcad.differentiate(array_code, backend="numba")
    with pytest.raises(srcad.TransformError) as info:
        f.grad(rng.standard_normal((3, 2)))
    e = info.value
    assert e.filename == __file__
    assert e.lineno in (_line(array_code, "def array_code"), _line(array_code, "np.einsum("))
    assert "the numba backend cannot compile the derivative of `array_code`" in str(e)
    assert "backend='auto'" in str(e) and e.why


def test_auto_falls_back_once_with_a_warning(rng):
    x = rng.standard_normal((3, 2))
    f = srcad.differentiate(array_code, backend="auto")
    with pytest.warns(RuntimeWarning, match="numba backend cannot compile.*array_code"):
        g = f.grad(x)
    np.testing.assert_allclose(g, srcad.differentiate(array_code).grad(x), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # said once: the next calls are silent
        f.grad(x)
        f.grad(2 * x)
    assert "@_njit" not in f.source("grad", x)  # the NumPy code it now runs
    h = srcad.differentiate(euler, wrt=("k", "c"), backend="auto")
    assert h.compiled("grad", 2.0, 0.1).__srcad_backend__ == "numba"   # numba where it compiles


# ------------------------------------------------------------ the option

def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match=r"backend='cuda' is not a backend: use 'numpy', "
                                         r"'numba' or 'auto'"):
        srcad.differentiate(euler, backend="cuda")
    with pytest.raises(ValueError, match="backend='jax' is not a backend"):
        srcad.grad(euler, backend="jax")


def test_process_default_from_the_environment(monkeypatch):
    monkeypatch.setenv("SRCAD_BACKEND", "numba")
    assert srcad.differentiate(euler).backend == "numba"
    assert srcad.differentiate(euler, backend="numpy").backend == "numpy"
    monkeypatch.setenv("SRCAD_BACKEND", "fortran")
    with pytest.raises(ValueError, match="SRCAD_BACKEND='fortran' is not a backend"):
        srcad.differentiate(euler)
    monkeypatch.delenv("SRCAD_BACKEND")
    assert srcad.differentiate(euler).backend == "numpy"


def test_missing_numba_names_the_extra(monkeypatch):
    monkeypatch.setattr(backends, "numba_installed", lambda: False)
    for make in (lambda: srcad.differentiate(euler, backend="numba"),
                 lambda: srcad.grad(growing, backend="numba"),
                 lambda: srcad.jacobian(growing, backend="numba")):
        with pytest.raises(ImportError, match=r"needs numba.*pip install srcad\[numba\]"):
            make()
    monkeypatch.setenv("SRCAD_BACKEND", "numba")
    with pytest.raises(ImportError, match=r"pip install srcad\[numba\]"):
        srcad.differentiate(euler)
    auto = srcad.differentiate(growing, backend="auto")
    assert auto.backend == "numpy"                  # auto without numba: the NumPy backend
    assert auto.grad(0.3) == pytest.approx(srcad.differentiate(growing,
                                                               backend="numpy").grad(0.3))


def changes_type(x):
    y = 0.0
    for i in range(3):
        y = np.sin(x + y) * x
    return np.sum(y)


def test_values_numba_cannot_type_are_refused_never_wrong(rng):
    """A loop-carried value that starts as a number and becomes an array: numba gives a
    name one type around a loop, so it refuses at the user's loop (which numba could
    not compile either), and auto runs the NumPy code."""
    x = rng.uniform(0.5, 1.0, 4)
    want = srcad.differentiate(changes_type).grad(x)
    with pytest.raises(srcad.TransformError, match="(?s)numba backend cannot compile.*"
                                                   "Cannot unify"):
        srcad.differentiate(changes_type, backend="numba").grad(x)
    with pytest.warns(RuntimeWarning, match="numba backend cannot compile"):
        got = srcad.differentiate(changes_type, backend="auto").grad(x)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.slow
def test_a_second_process_neither_transforms_nor_jits(tmp_path):
    """The generated module is a disk entry of its own key: another process rebuilds it
    without transforming, and numba's cache (cache=True) serves the compiled core."""
    import json
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    script = (
        "import json, sys; sys.path.insert(0, %r)\n"
        "import srcad, test_numba_backend as t\n"
        "f = srcad.differentiate(t.euler, wrt=('k', 'c'), backend='numba')\n"
        "g = f.grad(2.0, 0.1)\n"
        "fn = f.compiled('grad', 2.0, 0.1)\n"
        "stats = fn.core.stats\n"
        "print(json.dumps({'g': list(g), 'transforms': srcad.stats()['transforms'],\n"
        "                  'disk_hits': srcad.stats()['disk_hits'],\n"
        "                  'backend': fn.__srcad_backend__,\n"
        "                  'numba_hits': sum(stats.cache_hits.values()),\n"
        "                  'numba_misses': sum(stats.cache_misses.values())}))\n" % here)
    env = dict(os.environ, SRCAD_CACHE_DIR=str(tmp_path), SRCAD_BACKEND="numpy")
    env.pop("SRCAD_DISK_CACHE", None)
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], env=env, check=True,
                                      capture_output=True, text=True).stdout.splitlines()[-1])
            for _ in range(2)]
    cold, warm = runs
    assert cold["transforms"] == 1 and cold["numba_misses"] == 1 and cold["numba_hits"] == 0
    assert warm["transforms"] == 0 and warm["disk_hits"] == 1
    assert warm["numba_hits"] == 1 and warm["numba_misses"] == 0
    assert warm["backend"] == "numba" and warm["g"] == cold["g"]
    assert warm["g"] == pytest.approx(list(srcad.differentiate(euler, wrt=("k", "c")).grad(
        2.0, 0.1)), rel=1e-12)


def eam(x):
    p = np.sum(np.exp(-3.0 * (x + 1.0)))
    return p ** 2 + p ** 3 + 0.25 * p ** 4


def test_array_code_with_ufuncs_into_buffers(rng):
    """eam: ufuncs into the work buffer and into out= (positional for numba); the
    gradient lands in ``out`` itself, and without out= in a new array."""
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        x = rng.uniform(0, 1, 50).astype(dtype)
        f = srcad.differentiate(eam, backend="numba")
        want = srcad.differentiate(eam).grad(x)
        got = f.grad(x)
        assert f.compiled("grad", x).__srcad_backend__ == "numba"
        assert "np.add(x, 1.0, work)" in f.source("grad", x)
        assert got.dtype == dtype and got is not x
        np.testing.assert_allclose(got, want, rtol=rtol)
        buf = np.empty_like(x)
        assert f.grad(x, out=buf) is buf
        np.testing.assert_allclose(buf, want, rtol=rtol)
        again = f.grad(x)
        assert again is not got and again is not buf     # never a retained buffer


def test_eam_against_central_differences(numba_default, rng):
    fd_check(eam, (rng.uniform(0, 1, 20),), 0, rng)


GRID = np.linspace(-1.0, 1.0, 9)


def fit(m):
    s = 0.0
    for i in range(GRID.shape[0]):
        s = s + math.exp(-(GRID[i] - m) ** 2)
    return s


def test_module_arrays_are_read_as_they_are_now(rng):
    """numba freezes a global array into compiled code; the backend passes it instead, so
    an array changed in place gives the gradient at its new values (as the NumPy code)."""
    f = srcad.differentiate(fit, backend="numba")
    before = f.grad(0.3)
    assert "_core(m, seed, GRID" in f.source("grad", 0.3)      # an argument of the core
    old = GRID.copy()
    try:
        GRID[:] = GRID * 2.0 + 0.5
        after = f.grad(0.3)
        assert after == pytest.approx(srcad.differentiate(fit).grad(0.3), rel=1e-12)
        assert after != pytest.approx(before)
    finally:
        GRID[:] = old


def doubled_sines(x):
    return np.sin(x) * 2.0


def test_grad_of_a_vector_says_so_under_numba(rng):
    """``grad`` of a function whose value is no scalar: the error the NumPy backend gives
    (naming the shape and pullback/jacobian), not numba's typing failure it causes."""
    x = rng.standard_normal(3)
    for backend in ("numba", "auto", "numpy"):
        with pytest.raises(ValueError, match=r"grad needs a real scalar output.*shape \(3,\)"):
            srcad.grad(doubled_sines, backend=backend)(x)

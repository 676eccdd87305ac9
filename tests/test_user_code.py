"""Functions as users write them (issue 11, section 1): lambdas, closures, partials,
derivatives inside differentiated code, notebook cells and autoreload, methods, and
input checks / debugging output in the body.

Every derivative is checked against central differences (conftest fd_check,
fd_check_forward, fd_gradient); what srcad cannot do raises a located TransformError.
"""
import functools
import importlib
import linecache
import logging
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

import srcad
from conftest import EPS, assert_grad_close, fd_check, fd_check_forward
from test_cache import cache_dir, module_dir, write_module  # noqa: F401  (fixtures)


def fd_jacobian(fn, x):
    """The Jacobian of ``fn`` at the array ``x`` by central differences."""
    cols = []
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = EPS
        cols.append((np.asarray(fn(x + e)) - np.asarray(fn(x - e))) / (2 * EPS))
    return np.stack(cols, axis=-1).reshape(np.shape(fn(x)) + x.shape)


def rs(d, z):
    return d * np.sin(z) + z ** 2


# --------------------------------------------------------------------------- lambdas

def test_lambda_jacobian_grad_jvp(rng):
    d = rng.standard_normal(4)
    m = rng.standard_normal(4)
    J = srcad.jacobian(lambda z: rs(d, z))(m)
    np.testing.assert_allclose(J, fd_jacobian(lambda z: rs(d, z), m), rtol=1e-6, atol=1e-8)
    loss = lambda z: np.sum(rs(d, z) ** 2)  # noqa: E731
    fd_check(loss, (m,), 0, rng)
    fd_check_forward(loss, (m,), 0, rng)
    fd_check(lambda z, w=2.0: np.sum(np.cos(z)) * w, (m, 1.5), (0, 1), rng)


def test_several_lambdas_on_one_line_are_told_apart(rng):
    x = rng.standard_normal(3)
    f, g = (lambda x: np.sum(x - np.sin(x))), (lambda x: np.sum(np.sin(x) - x))  # noqa: E731
    gf, gg = srcad.grad(f)(x), srcad.grad(g)(x)
    assert_grad_close(gf, f, (x,), 0)
    assert_grad_close(gg, g, (x,), 0)
    assert not np.allclose(gf, gg)


def test_lambda_made_by_a_lambda_is_the_inner_one(rng):
    make = lambda a: (lambda x: np.sum(a * np.sin(x)))  # noqa: E731
    x = rng.standard_normal(3)
    for h in (make(2.0), make(-3.0)):
        fd_check(h, (x,), 0, rng)


def test_lambdas_told_apart_only_by_columns_are_refused_without_them(tmp_path):
    """Without column information (``-X no_debug_ranges``) two lambdas of one line that
    compile alike cannot be told apart: a located TransformError, never a guess. A lambda
    alone on its line still works."""
    script = tmp_path / "two.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import srcad
        x = np.array([0.3, -0.7])
        one = lambda x: np.sum(x * np.sin(x))
        print(srcad.grad(one)(x).tolist())
        f, g = (lambda x: np.sum(x - np.sin(x))), (lambda x: np.sum(np.sin(x) - x))
        try:
            srcad.grad(g)(x)
        except srcad.TransformError as exc:
            print("REFUSED", exc.lineno, exc.what)
    """))
    env = dict(os.environ, SRCAD_DISK_CACHE="0")
    out = subprocess.run([sys.executable, "-X", "no_debug_ranges", str(script)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(eval(first), [
        (np.sum((x + e) * np.sin(x + e)) - np.sum((x - e) * np.sin(x - e))) / (2 * EPS)
        for e in np.eye(2) * EPS], rtol=1e-6)
    assert second == "REFUSED 7 2 lambdas on this line cannot be told apart"


def test_lambda_inside_the_differentiated_body_is_refused_located():
    def f(x):
        h = lambda y: y * 2.0  # noqa: E731
        return np.sum(h(x))
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(f)(np.ones(2))
    assert info.value.lineno == f.__code__.co_firstlineno + 1
    assert "lambdas inside a differentiated function are not supported" in str(info.value)


# --------------------------------------------------------------------------- partial

def loss_kw(w, data, scale=1.0):
    return scale * np.sum(np.tanh(data @ w) ** 2)


def test_partial_keyword_and_positional(rng):
    X = rng.standard_normal((5, 3))
    w = rng.standard_normal(3)
    p = functools.partial(loss_kw, data=X)
    fd_check(p, (w,), 0, rng)
    fd_check_forward(p, (w,), 0, rng)
    g = srcad.grad(p)(w)
    assert_grad_close(g, lambda w: loss_kw(w, X), (w,), 0)
    np.testing.assert_allclose(srcad.grad(p, wrt="w")(w), g, rtol=1e-12)
    q = functools.partial(lambda data, w: loss_kw(w, data, 3.0), X)   # bound positionally
    fd_check(q, (w,), 0, rng)
    assert_grad_close(srcad.grad(q)(w), lambda w: loss_kw(w, X, 3.0), (w,), 0)
    # wrt names the remaining parameters: `scale` of a partial binding w and data
    r = functools.partial(loss_kw, w, X)
    assert_grad_close(srcad.grad(r, wrt="scale")(2.0), r, (2.0,), 0)
    assert_grad_close(srcad.grad(r)(2.0), r, (2.0,), 0)


def test_partial_wrt_errors_name_the_parameters():
    p = functools.partial(loss_kw, np.ones(3))
    with pytest.raises(ValueError, match=r"wrt names `w`, which `functools.partial\(loss_kw, "
                                         r"\.\.\.\)` binds already .*\['data', 'scale'\]"):
        srcad.grad(p, wrt="w")
    with pytest.raises(ValueError, match=r"wrt=5 is out of range"):
        srcad.grad(p, wrt=5)


def test_partial_keyword_may_be_given_again_and_differentiated(rng):
    X = rng.standard_normal((4, 3))
    w = rng.standard_normal(3)
    p = functools.partial(loss_kw, data=X)
    gx = srcad.grad(p, wrt="data")(w, data=2.0 * X)
    assert_grad_close(gx, lambda d: loss_kw(w, d), (2.0 * X,), 0)


# --------------------------------------------------------------------------- closures

def factory(scale, act):
    def model(x):
        return np.sum(scale * act(x))

    def set_scale(v):
        nonlocal scale
        scale = v
    return model, set_scale


def test_factory_closure_cell_changed_recompiles(rng):
    x = rng.standard_normal(4)
    model, set_scale = factory(2.0, np.tanh)
    g1 = srcad.grad(model)(x)
    assert_grad_close(g1, model, (x,), 0)
    set_scale(-5.0)
    g2 = srcad.grad(model)(x)
    assert_grad_close(g2, model, (x,), 0)
    assert not np.allclose(g1, g2)


def test_closures_of_one_factory_differ_in_memory_and_on_disk(cache_dir, rng):  # noqa: F811
    make = lambda act: (lambda x: np.sum(act(x) * x))  # noqa: E731
    x = rng.standard_normal(3)
    fs, fc = make(np.sin), make(np.cos)
    gs = srcad.grad(fs)(x)
    gc = srcad.grad(fc)(x)          # its disk key differs: the other's entry is not served
    assert_grad_close(gs, fs, (x,), 0)
    assert_grad_close(gc, fc, (x,), 0)
    assert srcad.stats()["disk_hits"] == 0 or not np.allclose(gs, gc)
    fs2 = make(np.sin)              # same code and cells: may come from disk, still right
    assert_grad_close(srcad.grad(fs2)(x), fs2, (x,), 0)


# ------------------------------------------------------------- derivatives inside derivatives

def f_inner(x):
    return np.sin(x) * x ** 2


def g_outer(x):
    return x * srcad.grad(f_inner)(x)


F_INNER = srcad.differentiate(f_inner)


def g_method(x):
    return np.cos(x) * F_INNER.grad(x)


def test_gradient_inside_differentiated_code(rng):
    a = 0.7
    for fn in (g_outer, g_method):
        fd_check(fn, (a,), 0, rng)
        fd_check_forward(fn, (a,), 0, rng)
    h = lambda x: x * srcad.grad(f_inner)(x)  # noqa: E731
    assert_grad_close(srcad.grad(h)(a), h, (a,), 0)


def test_gradient_of_an_array_function_inside(rng):
    def loss(w):
        return np.sum(np.sin(w) * w)

    def outer(w):
        return np.sum(w * srcad.grad(loss)(w) ** 2)
    fd_check(outer, (rng.standard_normal(3),), 0, rng)


def test_inner_derivative_of_a_local_value_is_refused_located():
    def g(x):
        h = np.sin
        return np.sum(srcad.grad(h)(x))
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(g)(np.ones(2))
    assert info.value.lineno == g.__code__.co_firstlineno + 2
    assert "a derivative taken inside differentiated code must be of a function known" \
        in info.value.what


def test_other_derivatives_inside_differentiated_code_are_refused_located():
    def g(x):
        return np.sum(srcad.jacobian(f_inner)(x) * x)
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(g)(np.ones(2))
    assert info.value.lineno == g.__code__.co_firstlineno + 1
    assert info.value.what == ("`srcad.jacobian(...)` cannot be differentiated through "
                               "inside differentiated code")


# --------------------------------------------------------------------------- notebooks

def _cell(text, name):
    """Run ``text`` as IPython runs a cell: its source registered with linecache."""
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    scope = {"__name__": "__main__"}
    exec(compile(text, name, "exec"), scope)
    return scope


def test_functions_defined_in_a_notebook_cell(rng):
    scope = _cell("import numpy as np\n"
                  "def cell_loss(x):\n"
                  "    return np.sum(np.cos(x) * x)\n"
                  "sq = lambda x: np.sum(x ** 3)\n", "<ipython-input-7-0123abcd>")
    x = rng.standard_normal(3)
    fd_check(scope["cell_loss"], (x,), 0, rng)
    fd_check(scope["sq"], (x,), 0, rng)


def test_autoreload_replaces_the_code_and_srcad_recompiles(module_dir, rng):  # noqa: F811
    write_module(module_dir, "reloaded_mod", """
        import numpy as np

        def f(x):
            return np.sum(np.sin(x))
    """)
    mod = importlib.import_module("reloaded_mod")
    f = mod.f
    x = rng.standard_normal(3)
    assert_grad_close(srcad.grad(f)(x), f, (x,), 0)
    write_module(module_dir, "reloaded_mod", """
        import numpy as np

        def f(x):
            return np.sum(np.exp(x) * x)
    """)
    # what %autoreload does: the old function object gets the new code
    text = (module_dir / "reloaded_mod.py").read_text()
    scope = {}
    exec(compile(text, mod.__file__, "exec"), scope)
    f.__code__ = scope["f"].__code__
    g = srcad.grad(f)(x)
    assert_grad_close(g, f, (x,), 0)


def test_no_source_at_all_says_so_and_what_to_do():
    code = ("import numpy as np, srcad\n"
            "def f(x):\n"
            "    return np.sum(x * x)\n"
            "try:\n"
            "    srcad.grad(f)(np.ones(2))\n"
            "except srcad.TransformError as exc:\n"
            "    print(str(exc))\n")
    env = dict(os.environ, SRCAD_DISK_CACHE="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("<string>: the source of `f` is not available: it was defined "
                                 "with `python -c` or `exec` of a string, and Python keeps no "
                                 "source text there")
    assert "define the function in a .py file and import it" in out.stdout


# --------------------------------------------------------------------------- methods

class Model:
    def __init__(self, scale):
        self.scale = scale

    def helper(self, x):
        return np.sin(x) * self.scale

    @srcad.differentiate
    def loss(self, x):
        return np.sum(self.helper(x) * x)

    def predict(self, x, bias):
        return np.sum(np.tanh(x) * self.scale + bias * x)


@dataclass
class Params:
    a: float
    b: np.ndarray

    @srcad.differentiate(wrt=("self", "x"))
    def energy(self, x):
        return self.a * np.sum(self.b * x ** 2)


def test_decorated_method_is_bound(rng):
    model = Model(2.0)
    x = rng.standard_normal(4)
    g = model.loss.grad(x)
    assert_grad_close(g, model.loss, (x,), 0)
    fd_check(model.loss, (x,), 0, rng)
    fd_check_forward(model.loss, (x,), 0, rng)
    v, g2 = model.loss.value_and_grad(x)
    assert v == model.loss(x) and np.allclose(g2, g)
    assert "def loss_vjp(self, x, seed" in model.loss.source("grad", x)
    model.scale = -3.0          # an attribute read when the code runs, not frozen
    assert_grad_close(model.loss.grad(x), model.loss, (x,), 0)
    np.testing.assert_allclose(model.loss.hessian(x), fd_jacobian(model.loss.grad, x),
                               rtol=1e-5, atol=1e-6)


def test_plain_bound_method_and_wrt_self(rng):
    model = Model(1.5)
    x = rng.standard_normal(3)
    fd_check(model.predict, (x, 0.3), 0, rng)
    assert_grad_close(srcad.grad(model.predict, wrt="bias")(x, 0.3), model.predict,
                      (x, 0.3), 1)
    p = Params(1.3, rng.standard_normal(3))
    gp, gx = p.energy.grad(x)
    assert type(gp) is Params
    assert_grad_close(gx, p.energy, (x,), 0)
    assert_grad_close(gp.a, lambda a: Params(a, p.b).energy(x), (p.a,), 0)
    assert_grad_close(gp.b, lambda b: Params(p.a, b).energy(x), (p.b,), 0)


class Scaler:
    def __init__(self):
        self.k = 0.5

    def transform(self, x):
        return np.exp(self.k * x)


SCALER = Scaler()


def calls_methods_of_globals(x):
    return np.sum(SCALER.transform(x) * x)


def test_method_of_a_module_level_object(rng):
    x = rng.standard_normal(3)
    fd_check(calls_methods_of_globals, (x,), 0, rng)
    fd_check_forward(calls_methods_of_globals, (x,), 0, rng)


def test_module_function_through_an_attribute(module_dir, rng):  # noqa: F811
    write_module(module_dir, "lossmod", """
        import numpy as np

        def loss(x):
            return np.sum(np.exp(x) * x)
    """)
    M = importlib.import_module("lossmod")

    def f(x):
        return 2.0 * M.loss(x)
    fd_check(f, (rng.standard_normal(3),), 0, rng)


class FixedDraws:
    def normal(self, size):
        return np.linspace(-1.0, 1.0, size)


DRAWS = FixedDraws()
LOG = logging.getLogger("srcad.tests.user_code")


def noisy(x):
    LOG.info("x = %s", x)
    print("x =", x)
    n = srcad.stop_gradient(DRAWS.normal(size=3))
    return np.sum(x ** 2 * n)


def test_logger_print_and_random_draws_are_accepted(rng, caplog, capsys):
    x = rng.standard_normal(3)
    with caplog.at_level(logging.INFO, logger="srcad.tests.user_code"):
        g = srcad.grad(noisy)(x)
    assert_grad_close(g, noisy, (x,), 0)
    assert len([r for r in caplog.records if r.getMessage().startswith("x = ")]) == 1
    assert capsys.readouterr().out.count("x =") >= 1
    fd_check_forward(noisy, (x,), 0, rng)


RNG = np.random.default_rng(0)


def drawn(x):
    n = srcad.stop_gradient(RNG.normal(size=3))
    unused = RNG.normal()       # outside the active path
    return np.sum(x ** 2 * n) + 0.0 * unused


def test_generator_draws_inside_stop_gradient(rng):
    global RNG
    x = rng.standard_normal(3)
    RNG = np.random.default_rng(5)
    g = srcad.grad(drawn)(x)
    n = np.random.default_rng(5).normal(size=3)
    assert_grad_close(g, lambda x: np.sum(x ** 2 * n), (x,), 0)


def test_method_without_rule_on_active_values_is_refused_located():
    class Opaque:
        def __call__(self, x):
            return x

        transform = np.positive.__call__     # a C method: no source, no rule
    global OPAQUE
    OPAQUE = Opaque()

    def f(x):
        return np.sum(OPAQUE.transform(x))
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(f)(np.ones(2))
    assert info.value.lineno == f.__code__.co_firstlineno + 1
    assert info.value.what == "`OPAQUE.transform` is not a function or method srcad can read"


def test_call_of_a_local_value_names_it():
    def f(x):
        h = np.sin
        return np.sum(h(x))
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(f)(np.ones(2))
    assert info.value.lineno == f.__code__.co_firstlineno + 2
    assert info.value.what == ("calls to `h`, a value computed inside the function "
                               "(`h(...)`) are not supported")


# --------------------------------------------------------------------- checks and debugging

CHECKED = """
    import numpy as np

    def checked(x, n):
        assert x.ndim == 1, f"x must be a vector, got shape {x.shape}"
        if n > 100:
            raise ValueError(f"n={n} is too large")
        print(f"first entry {x[0]:.3f} of {n!r}")
        return np.sum(np.sin(x) * n)
"""


def test_assert_raise_fstring_print_run_once_in_the_primal_sweep(module_dir, rng,  # noqa: F811
                                                                  capsys):
    # (in a module of its own: pytest rewrites the asserts of test files, and srcad then
    # refuses the function, whose code no longer matches its source)
    write_module(module_dir, "checked_mod", CHECKED)
    checked = importlib.import_module("checked_mod").checked
    x = rng.standard_normal(3)
    fd_check(checked, (x, 3), 0, rng)
    fd_check_forward(checked, (x, 3), 0, rng)
    capsys.readouterr()
    srcad.grad(checked)(x, 3)
    assert capsys.readouterr().out == f"first entry {x[0]:.3f} of 3\n"
    srcad.value_and_grad(checked)(x, 3)
    assert capsys.readouterr().out.count("first entry") == 1
    srcad.jvp(checked, (x, 3), (x,))
    assert capsys.readouterr().out.count("first entry") == 1
    with pytest.raises(ValueError, match="n=300 is too large"):
        srcad.grad(checked)(x, 300)
    with pytest.raises(AssertionError, match=r"x must be a vector, got shape \(3, 1\)"):
        srcad.grad(checked)(x[:, None], 3)
    with pytest.raises(ValueError, match="n=300 is too large"):
        srcad.jvp(checked, (x, 300), (x,))


def test_asserts_follow_python_O_also_through_the_disk_cache(tmp_path):
    """``python -O`` leaves asserts out, as Python does; a process without -O sharing the
    disk cache still checks them (-O compiles the function to other bytecode: another key)."""
    mod = tmp_path / "asserted.py"
    mod.write_text("import numpy as np\n\n\ndef f(x):\n"
                   "    assert x[0] > 0, 'x[0] must be positive'\n"
                   "    return np.sum(x * x)\n")
    run = ("import sys; sys.path.insert(0, %r)\n"
           "import numpy as np, srcad, asserted\n"
           "try:\n"
           "    print(srcad.grad(asserted.f)(np.array([-1.0, 2.0])).tolist())\n"
           "except AssertionError as exc:\n"
           "    print('AssertionError', exc)\n") % str(tmp_path)
    env = dict(os.environ, SRCAD_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("SRCAD_DISK_CACHE", None)
    outs = [subprocess.run([sys.executable, *flags, "-c", run], env=env, capture_output=True,
                           text=True, timeout=120) for flags in (["-O"], [])]
    for out in outs:
        assert out.returncode == 0, out.stderr
    assert outs[0].stdout.strip() == "[-2.0, 4.0]"
    assert outs[1].stdout.strip() == "AssertionError x[0] must be positive"


def chkfinite(x):
    return np.sum(np.asarray_chkfinite(x) ** 2)


def test_library_function_with_a_raise_in_an_if_is_differentiated_through(rng):
    x = rng.standard_normal(3)
    fd_check(chkfinite, (x,), 0, rng)
    fd_check_forward(chkfinite, (x,), 0, rng)
    with pytest.raises(ValueError, match="array must not contain infs or NaNs"):
        srcad.grad(chkfinite)(np.array([1.0, np.inf]))


def test_bare_raise_is_refused_located():
    def f(x):
        if x > 1.0:
            raise
        return x * 2.0
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(f)(0.5)
    assert info.value.lineno == f.__code__.co_firstlineno + 2
    assert "a bare `raise` is not supported" in info.value.what

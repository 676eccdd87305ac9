"""Seeing what srcad did: standalone source, logging, error locations, docstrings.

The user code of these tests is written to files in a temporary directory (a
module of the user's, importable by name), so that a standalone module and a
subprocess can import it the way a user's program would.
"""
import importlib
import inspect
import logging
import os
import re
import subprocess
import sys
import time
import traceback

import numpy as np
import pytest

import srcad
from tests.conftest import fd_check

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

USER_MODULE = '''
import dataclasses
import numpy as np
import srcad

SCALE = 3.0
W = np.linspace(0.5, 1.5, 4)
OFFSETS = (0.25, -1.5)


def rho(r):
    return np.exp(-SCALE * (r + 1.0))


def power(x, n):
    if n <= 0:
        return x
    return np.sin(power(x, n - 1))


@srcad.differentiate
def eam(x):
    p = np.sum(rho(x) * W)
    return p ** 2 + np.log(p) + np.sum(np.tanh(x)) + OFFSETS[1]


@srcad.differentiate(wrt=("w", "b"))
def loss(w, b, data):
    z = data @ w + b
    return np.mean(np.log1p(np.exp(-z))) + 0.5 * np.sum(w ** 2)


@srcad.differentiate
def recursive(x):
    return np.sum(power(x, 2) * W)


@srcad.differentiate
def looped(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(np.sin(x * (i + 1)))
    return s


@dataclasses.dataclass
class Params:
    a: np.ndarray
    b: float


@srcad.differentiate
def with_aux(p):
    r = np.sum(p.a * p.b)
    return r ** 2, r
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A user module ``seeing_model_<n>`` written to ``tmp_path`` and imported."""
    name = f"seeing_model_{abs(hash(str(tmp_path))) % 10 ** 8}"
    (tmp_path / f"{name}.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SRCAD_DISK_CACHE", "0")
    module = importlib.import_module(name)
    yield module
    sys.modules.pop(name, None)


def _write_standalone(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return importlib.import_module(name)


def _in_subprocess(tmp_path, module, call):
    """``repr`` of ``call`` evaluated in a fresh interpreter after ``import module``: the
    standalone module runs on its own."""
    script = f"import numpy as np\nimport {module} as m\nprint(repr({call}.tolist()))\n"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]),
               SRCAD_DISK_CACHE="0")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    return np.array(eval(done.stdout))


# =========================================================================== standalone source

def test_standalone_grad_runs_on_its_own(user_module, tmp_path, rng):
    m = user_module
    x = rng.uniform(0.2, 1.0, 4)
    text = m.eam.source("grad", x, standalone=True)
    assert "def eam_grad(x):" in text
    assert "import numpy as np" in text
    assert "SCALE" not in text.split("def eam_vjp")[1].split("#")[0]   # constants inlined
    mod = _write_standalone(tmp_path, "eam_standalone", text)
    want = m.eam.grad(x)
    np.testing.assert_allclose(mod.eam_grad(x), want, rtol=1e-13, atol=1e-15)
    fd_check(m.eam.fn, (x,), 0, rng)                       # and srcad's gradient is right
    got = _in_subprocess(tmp_path, "eam_standalone", f"m.eam_grad(np.array({x.tolist()}))")
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_standalone_of_several_wrt_returns_a_tuple(user_module, tmp_path, rng):
    m = user_module
    w, b, data = rng.normal(size=3), 0.3, rng.normal(size=(5, 3))
    text = m.loss.source("grad", w, b, data, standalone=True)
    mod = _write_standalone(tmp_path, "loss_standalone", text)
    got, want = mod.loss_grad(w, b, data), m.loss.grad(w, b, data)
    assert isinstance(got, tuple) and len(got) == 2
    for g, h in zip(got, want, strict=True):
        np.testing.assert_allclose(g, h, rtol=1e-13, atol=1e-15)


def test_standalone_imports_helpers_it_calls(user_module, tmp_path, rng):
    m = user_module
    x = rng.uniform(0.2, 1.0, 4)
    text = m.recursive.source("grad", x, standalone=True)
    assert f"from {m.__name__} import power" in text        # recursive: called, not inlined
    mod = _write_standalone(tmp_path, "recursive_standalone", text)
    np.testing.assert_allclose(mod.recursive_grad(x), m.recursive.grad(x), rtol=1e-13)
    got = _in_subprocess(tmp_path, "recursive_standalone",
                         f"m.recursive_grad(np.array({x.tolist()}))")
    np.testing.assert_allclose(got, m.recursive.grad(x), rtol=1e-13)


def test_standalone_jvp_and_aux(user_module, tmp_path, rng):
    m = user_module
    x, t = rng.normal(size=3), rng.normal(size=3)
    text = m.looped.source("jvp", x, 3, standalone=True)
    mod = _write_standalone(tmp_path, "looped_standalone", text)
    value, tangent = mod.looped_jvp(x, 3, t)
    want_value, want_tangent = m.looped.jvp((x, 3), (t,))
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(tangent, want_tangent, rtol=1e-13)

    p = m.Params(rng.normal(size=3), 1.5)
    d = srcad.differentiate(m.with_aux.fn, has_aux=True)
    mod = _write_standalone(tmp_path, "aux_standalone", d.source("grad", p, standalone=True))
    (g, aux), (h, aux2) = mod.with_aux_grad(p), d.grad(p)
    np.testing.assert_allclose(g.a, h.a, rtol=1e-13)
    np.testing.assert_allclose(g.b, h.b, rtol=1e-13)
    assert aux == aux2


def test_standalone_refuses_what_it_cannot_write(tmp_path, rng):
    namespace = {"np": np, "srcad": srcad, "__name__": "__main__"}
    source = "def helper(x, n):\n    return x if n <= 0 else np.sin(helper(x, n - 1))\n\n" \
             "def f(x):\n    return np.sum(helper(x, 2))\n"
    filename = str(tmp_path / "main_script.py")
    (tmp_path / "main_script.py").write_text(source)
    exec(compile(source, filename, "exec"), namespace)
    with pytest.raises(ValueError, match=r"`helper` is defined in __main__"):
        srcad.source(namespace["f"], rng.normal(size=3), standalone=True)


# =========================================================================== logging

def _srcad_records(caplog):
    return [r for r in caplog.records if r.name == "srcad"]


def test_each_transform_is_logged_with_passes_and_disk_cache(user_module, caplog, rng,
                                                             tmp_path, monkeypatch):
    monkeypatch.setenv("SRCAD_DISK_CACHE", "1")
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path / "cache"))
    m = user_module
    x = rng.uniform(0.2, 1.0, 4)
    caplog.set_level(logging.INFO, logger="srcad")
    m.eam.grad(x)
    # (INFO records only: on a loaded machine a transform past logs.SLOW also warns)
    (record,) = [r for r in _srcad_records(caplog) if "eam" in r.getMessage()
                 and r.levelno == logging.INFO]
    text = record.getMessage()
    assert text.startswith("transformed eam (") and "grad for (float64[1d])" in text
    for name in ("parse", "normalize", "reverse", "simplify"):
        assert f"{name} " in text and " ms" in text
    assert text.endswith("disk cache: miss")

    caplog.clear()
    fresh = srcad.differentiate(m.eam.fn)        # no memory cache: found on disk
    np.testing.assert_allclose(fresh.grad(x), m.eam.grad(x), rtol=1e-14)
    (record,) = [r for r in _srcad_records(caplog) if r.levelno == logging.INFO]
    assert record.getMessage().startswith("loaded eam (")
    assert record.getMessage().endswith("disk cache: hit")

    monkeypatch.setenv("SRCAD_DISK_CACHE", "0")
    caplog.clear()
    m.eam.jvp((x,), (x,))
    (record,) = [r for r in _srcad_records(caplog) if r.levelno == logging.INFO]
    assert "jvp for (float64[1d])" in record.getMessage()
    assert record.getMessage().endswith("disk cache: off")


def test_a_warm_call_makes_no_logging_call(user_module, monkeypatch, rng):
    m = user_module
    x = rng.uniform(0.2, 1.0, 4)
    m.eam.grad(x)
    m.eam.jvp((x,), (x,))
    calls = []
    for method in ("isEnabledFor", "_log", "info", "warning", "debug"):
        original = getattr(logging.Logger, method)
        monkeypatch.setattr(logging.Logger, method,
                            lambda self, *a, _o=original, _m=method, **k:
                            calls.append((self.name, _m)) or _o(self, *a, **k))
    for _ in range(3):
        m.eam.grad(x)
        m.eam.value_and_grad(x)
        m.eam.jvp((x,), (x,))
    assert [c for c in calls if c[0] == "srcad"] == []
    m.eam.grad(np.float32(x))          # a new signature: a transform, whose report is seen
    assert ("srcad", "isEnabledFor") in calls


def test_a_slow_transform_says_so_while_it_runs(user_module, caplog, monkeypatch, rng):
    from srcad import cache, logs
    m = user_module
    monkeypatch.setattr(logs, "SLOW", 0.1)
    load = cache.load

    def slow_load(key):
        time.sleep(0.5)
        return load(key)
    monkeypatch.setattr(cache, "load", slow_load)
    caplog.set_level(logging.INFO, logger="srcad")
    m.looped.grad(rng.normal(size=3), 2)
    records = _srcad_records(caplog)
    slow = [r for r in records if "still transforming" in r.getMessage()]
    assert slow and slow[0].levelno == logging.WARNING
    assert slow[0].getMessage().startswith("srcad: still transforming looped (")
    assert re.search(r"after 0\.\d s \(in pass \w+\)$|after 0\.\d s$", slow[0].getMessage())
    done = [k for k, r in enumerate(records) if r.getMessage().startswith("transformed looped")]
    assert done and records.index(slow[0]) < done[0]     # said while it ran, not after


# =========================================================================== error locations

REFUSED = '''
import numpy as np


def guarded(x):
    y = x * 2.0
    try:
        y = np.log(y)
    except ValueError:
        pass
    return np.sum(y)


def unwrapped(x):
    y = np.unwrap(x)
    return np.sum(y)


def calls_unwrapped(x):
    z = np.sin(x)
    return unwrapped(z) * 2.0


def root_sum(x):
    r = np.sqrt(x)
    return np.sum(r * x) + np.sum(r)


def singular(A, b):
    s = np.sum(A) * 0.5
    z = np.linalg.solve(A * s, b)
    return np.sum(z ** 2)
'''

LIBRARY = '''
import numpy as np


def _careful_log(x):
    try:
        return np.log(x)
    except ValueError:
        return x


def smooth(x):
    return np.sum(_careful_log(x) * 2.0)


def wrapped(x):
    y = np.unwrap(x)
    return np.sum(y * 2.0)


def plain(x):
    y = np.tanh(x)
    return np.sum(y * 2.0)
'''

USES_LIBRARY = '''
import numpy as np
import seeing_thirdlib


def helper(x):
    return seeing_thirdlib.smooth(x) + 1.0


def through_helper(x):
    y = np.sin(x)
    return helper(y) * 2.0


def calls_wrapped(x):
    y = np.sin(x)
    return seeing_thirdlib.wrapped(y) * 2.0


def calls_plain(x):
    y = np.sin(x)
    return seeing_thirdlib.plain(y) * 2.0
'''


def _module_from(tmp_path, monkeypatch, name, text, folder=None):
    folder = tmp_path if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("SRCAD_DISK_CACHE", "0")
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def _line_of(path, text):
    with open(path) as f:
        return 1 + next(k for k, line in enumerate(f) if text in line)


def _srcad_frames(frames):
    roots = [os.path.dirname(srcad.__file__) + os.sep]
    import srcad.transforms as transforms
    roots.append(os.path.dirname(transforms.__file__) + os.sep)
    return [fr for fr in frames if any(fr.filename.startswith(r) for r in roots)]


def test_transform_error_is_raised_at_the_users_line(tmp_path, monkeypatch):
    mod = _module_from(tmp_path, monkeypatch, "seeing_refused", REFUSED)
    line = _line_of(mod.__file__, "try:")
    with pytest.raises(srcad.TransformError, match="`try` statements") as info:
        srcad.grad(mod.guarded)(np.ones(3))
    frames = traceback.extract_tb(info.value.__traceback__)
    last = frames[-1]
    assert (last.filename, last.lineno, last.name) == (mod.__file__, line, "guarded")
    assert last.line == "try:"
    assert len(_srcad_frames(frames)) <= 3, [(f.filename, f.name) for f in frames]
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "try:" in "".join(traceback.format_exception(info.value))

    # in a helper srcad inlined: raised in the helper, with the call that led there
    with pytest.raises(srcad.TransformError, match="no derivative rule for `unwrap`") as info:
        srcad.grad(mod.calls_unwrapped)(np.ones(3))
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    line = _line_of(mod.__file__, "y = np.unwrap(x)")
    assert (last.filename, last.lineno, last.name) == (mod.__file__, line, "unwrapped")
    call = _line_of(mod.__file__, "return unwrapped(z) * 2.0")
    assert f"reached from {mod.__file__}:{call}: return unwrapped(z) * 2.0" in str(info.value)
    assert info.value.calls == [(mod.__file__, call, "return unwrapped(z) * 2.0")]

    monkeypatch.setenv("SRCAD_DEBUG", "1")         # srcad's own frames, for its bugs
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(mod.guarded)(np.ones(3))
    frames = traceback.extract_tb(info.value.__traceback__)
    assert any(fr.filename.endswith("fence.py") for fr in frames)
    assert frames[-1].filename != mod.__file__


def test_numpy_error_in_generated_code_names_the_users_line(tmp_path, monkeypatch):
    mod = _module_from(tmp_path, monkeypatch, "seeing_singular", REFUSED)
    line = _line_of(mod.__file__, "np.linalg.solve")
    A = np.array([[1.0, 2.0, 0.5], [2.0, 4.0, 1.0], [0.0, 1.0, 3.0]])    # singular
    b = np.ones(3)
    want = f"srcad: raised by the derivative code of {mod.__file__}:{line}  " \
           f"z = np.linalg.solve(A * s, b)"
    for run in (lambda: srcad.grad(mod.singular)(A, b),
                lambda: srcad.jvp(mod.singular, (A, b), (np.ones((3, 3)),)),
                lambda: srcad.value_and_grad(mod.singular, wrt=(0, 1))(A, b)):
        with pytest.raises(np.linalg.LinAlgError) as info:
            run()
        frames = traceback.extract_tb(info.value.__traceback__)
        notes = getattr(info.value, "__notes__", [])
        assert len(notes) == 1 and notes[0].startswith(want), (notes, frames)
        assert "generated line <srcad singular" in notes[0]
        assert want in "".join(traceback.format_exception(info.value))


@pytest.mark.numpy_backend      # compiled code does not honour np.errstate
def test_floating_point_error_in_derivative_code_names_the_users_line(tmp_path, monkeypatch):
    mod = _module_from(tmp_path, monkeypatch, "seeing_root", REFUSED)
    line = _line_of(mod.__file__, "r = np.sqrt(x)")
    x = np.array([0.0, 1.0, 2.0])                  # sqrt's derivative divides by zero at 0
    want = f"srcad: raised by the derivative code of {mod.__file__}:{line}  r = np.sqrt(x)"
    for run in (lambda: srcad.grad(mod.root_sum)(x),
                lambda: srcad.jacobian(mod.root_sum)(x),
                lambda: srcad.hessian(mod.root_sum)(x),
                lambda: srcad.pullback(mod.root_sum, x)[1](1.0)):
        with np.errstate(all="raise"), pytest.raises(FloatingPointError) as info:
            run()
        notes = getattr(info.value, "__notes__", [])
        assert len(notes) == 1 and notes[0].startswith(want), notes


def test_library_error_names_the_users_call_and_suggests_a_rule(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"              # where installed libraries live
    _module_from(tmp_path, monkeypatch, "seeing_thirdlib", LIBRARY, site)
    user = _module_from(tmp_path, monkeypatch, "seeing_uses_lib", USES_LIBRARY)
    library_file = str(site / "seeing_thirdlib.py")
    x = np.linspace(0.5, 1.5, 3)

    # refused inside the library's source: the error is there, with the calls that led there
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(user.through_helper)(x)
    error = info.value
    assert (error.filename, error.lineno) == (library_file, _line_of(library_file, "try:"))
    outer = _line_of(user.__file__, "return helper(y) * 2.0")
    inner = _line_of(user.__file__, "seeing_thirdlib.smooth(x) + 1.0")
    text = str(error)
    assert f"reached from {user.__file__}:{outer}: return helper(y) * 2.0" in text
    assert f"        from {user.__file__}:{inner}: return seeing_thirdlib.smooth(x) + 1.0" \
        in text
    assert f"your call of it at seeing_uses_lib.py:{inner} led here" in text
    assert "@srcad.adjoint(seeing_thirdlib.smooth)" in error.hint
    assert traceback.extract_tb(error.__traceback__)[-1].filename == library_file

    # refused after inlining: located at the user's call of the library function
    with pytest.raises(srcad.TransformError, match="unwrap") as info:
        srcad.grad(user.calls_wrapped)(x)
    error = info.value
    call = _line_of(user.__file__, "seeing_thirdlib.wrapped(y)")
    assert (error.filename, error.lineno) == (user.__file__, call)
    assert error.source_line.strip() == "return seeing_thirdlib.wrapped(y) * 2.0"
    assert "@srcad.adjoint(seeing_thirdlib.wrapped)" in error.hint


def test_inlined_helper_from_another_file_is_commented_at_the_call(tmp_path, monkeypatch,
                                                                    rng):
    site = tmp_path / "site-packages"
    _module_from(tmp_path, monkeypatch, "seeing_thirdlib", LIBRARY, site)
    user = _module_from(tmp_path, monkeypatch, "seeing_uses_lib", USES_LIBRARY)
    x = rng.normal(size=4)
    text = srcad.source(user.calls_plain, x)
    call = _line_of(user.__file__, "seeing_thirdlib.plain(y)")
    before_tanh = text.split("np.tanh(")[0].strip().splitlines()
    comments = [ln.strip() for ln in before_tanh if ln.strip().startswith("# seeing")]
    assert comments[-1] == f"# seeing_uses_lib.py:{call}  return seeing_thirdlib.plain(y) * 2.0"
    assert "  def calls_plain(x):" not in text                  # no comment at a wrong line
    fd_check(user.calls_plain, (x,), 0, rng)


# =========================================================================== docstrings

def _public_members():
    """Every name of ``srcad.__all__`` and every public method and property of
    ``Differentiable``, with the object whose docstring documents it."""
    out = [(name, getattr(srcad, name)) for name in srcad.__all__]
    sharded = importlib.import_module("srcad.dask")    # make test installs the extra
    out += [(f"dask.{name}", getattr(sharded, name)) for name in sharded.__all__]
    from srcad.bound import Bound        # a method of a class: model.loss.grad
    for cls in (srcad.Differentiable, Bound):
        for name, member in vars(cls).items():
            if not name.startswith("_") and (inspect.isfunction(member)
                                             or isinstance(member, property)):
                out.append((f"{cls.__name__}.{name}", member))
    return out


@pytest.mark.parametrize("name, obj", _public_members(), ids=lambda v: v if
                         isinstance(v, str) else "")
def test_every_public_name_has_a_useful_docstring(name, obj):
    doc = inspect.getdoc(obj) or ""
    lines = [ln for ln in doc.splitlines() if ln.strip()]
    assert len(lines) >= 4, f"{name}: docstring too short: {doc!r}"
    summary = lines[0]
    assert len(summary) >= 20 and not summary.startswith(" "), f"{name}: summary {summary!r}"
    assert "Example::" in doc, f"{name}: the docstring has no example"
    if inspect.isfunction(obj) or isinstance(obj, property):
        assert "Returns:" in doc, f"{name}: the docstring does not say what it returns"


def test_help_of_grad_shows_its_arguments_and_an_example():
    text = pydoc_text(srcad.grad)
    for part in ("The gradient function of a scalar-valued", "wrt:", "has_aux:", "Returns:",
                 "Raises:", "TransformError", "srcad.grad(energy)"):
        assert part in text, part


def pydoc_text(obj):
    import pydoc
    return pydoc.render_doc(obj, renderer=pydoc.plaintext)


def test_the_api_contract_lives_in_the_repository():
    path = os.path.join(ROOT, "docs", "API.md")
    text = open(path).read()
    assert text.startswith("# srcad public API (the contract)")
    for name in srcad.__all__:
        assert f"{name}" in text, f"docs/API.md does not mention {name}"
    for feature in ("standalone=True", 'logging.getLogger("srcad")', "SRCAD_DEBUG",
                    "reached from"):
        assert feature in text, feature


def test_cli_show_standalone_writes_a_module_that_runs(user_module, tmp_path, rng):
    m = user_module
    x = rng.uniform(0.2, 1.0, 4)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]),
               SRCAD_DISK_CACHE="0")
    done = subprocess.run([sys.executable, "-m", "srcad", "show", m.__file__ + ":eam",
                           "--wrt", "x", "--args", "np.ones(4)", "--standalone"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    mod = _write_standalone(tmp_path, "eam_from_cli", done.stdout)
    np.testing.assert_allclose(mod.eam_grad(x), m.eam.grad(x), rtol=1e-13, atol=1e-15)

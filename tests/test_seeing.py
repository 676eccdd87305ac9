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
import textwrap
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
    (record,) = [r for r in _srcad_records(caplog) if "eam" in r.getMessage()]
    text = record.getMessage()
    assert record.levelno == logging.INFO
    assert text.startswith("transformed eam (") and "grad for (float64[1d])" in text
    for name in ("parse", "normalize", "reverse", "simplify"):
        assert f"{name} " in text and " ms" in text
    assert text.endswith("disk cache: miss")

    caplog.clear()
    fresh = srcad.differentiate(m.eam.fn)        # no memory cache: found on disk
    np.testing.assert_allclose(fresh.grad(x), m.eam.grad(x), rtol=1e-14)
    (record,) = _srcad_records(caplog)
    assert record.getMessage().startswith("loaded eam (")
    assert record.getMessage().endswith("disk cache: hit")

    monkeypatch.setenv("SRCAD_DISK_CACHE", "0")
    caplog.clear()
    m.eam.jvp((x,), (x,))
    (record,) = _srcad_records(caplog)
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

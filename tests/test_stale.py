"""A stale derivative is never served: what the generated code took from outside the
function (a global, a closure cell, a module attribute, a helper) is part of the cache
key or of a guard, in memory and on disk.

Each case differentiates, rebinds what the function names (in this process, or in a
second process sharing the disk cache), differentiates again and checks both results
against central differences.
"""
import dataclasses
import importlib
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest

import srcad
from conftest import assert_grad_close
from test_cache import cache_dir, module_dir, write_module  # noqa: F401  (fixtures)

ACT_MODULE = """
    import numpy as np
    import srcad

    act = np.sin


    def sq(x):
        return x * x


    def cube(x):
        return x * x * x


    h = sq


    def f(x):
        return np.sum(act(x) * x)


    def g(x):
        return np.sum(h(x) + 2.0 * x)
"""


def _grad_twice(fn, x, rebind):
    """The gradient of ``fn`` at ``x`` before and after ``rebind()``, each checked."""
    g1 = srcad.grad(fn)(x)
    assert_grad_close(g1, fn, (x,), 0)
    rebind()
    g2 = srcad.grad(fn)(x)
    assert_grad_close(g2, fn, (x,), 0)
    assert not np.allclose(g1, g2)


def test_global_rebound_to_another_ufunc(cache_dir, module_dir, rng):
    write_module(module_dir, "stale_act", ACT_MODULE)
    mod = importlib.import_module("stale_act")
    _grad_twice(mod.f, rng.uniform(-1, 1, 5), lambda: setattr(mod, "act", np.cos))
    d = srcad.differentiate(mod.f)          # a new object: np.cos's entry from disk
    x = rng.uniform(-1, 1, 5)
    assert_grad_close(d.grad(x), mod.f, (x,), 0)
    mod.act = np.sin                        # back again: the first entry is right again
    assert_grad_close(d.grad(x), mod.f, (x,), 0)


def test_global_rebound_to_another_helper(cache_dir, module_dir, rng):
    write_module(module_dir, "stale_helper", ACT_MODULE)
    mod = importlib.import_module("stale_helper")
    _grad_twice(mod.g, rng.uniform(-1, 1, 5), lambda: setattr(mod, "h", mod.cube))


def test_forward_mode_sees_the_rebinding(cache_dir, module_dir, rng):
    write_module(module_dir, "stale_fwd", ACT_MODULE)
    mod = importlib.import_module("stale_fwd")
    x, v = rng.uniform(-1, 1, 5), rng.uniform(-1, 1, 5)
    for act in (np.sin, np.cos, np.tanh):
        mod.act = act
        _, t = srcad.jvp(mod.f, (x,), (v,))
        eps = 1e-6
        want = (mod.f(x + eps * v) - mod.f(x - eps * v)) / (2 * eps)
        np.testing.assert_allclose(t, want, rtol=1e-6)


LIB_MODULE = """
    import numpy as np

    act = np.sin
"""

USES_LIB = """
    import numpy as np
    import stale_lib


    def f(x):
        return np.sum(stale_lib.act(x) * x)
"""


def test_module_attribute_rebound(cache_dir, module_dir, rng):
    write_module(module_dir, "stale_lib", LIB_MODULE)
    write_module(module_dir, "stale_uses_lib", USES_LIB)
    lib = importlib.import_module("stale_lib")
    mod = importlib.import_module("stale_uses_lib")
    _grad_twice(mod.f, rng.uniform(-1, 1, 5), lambda: setattr(lib, "act", np.cos))


def test_numpy_name_rebound_to_another_module(cache_dir, rng):
    fake = types.ModuleType("fake_numpy")
    fake.sum, fake.sin = np.sum, np.tanh    # `np.sin` now means tanh

    def use_np_sin(x):
        return np.sum(np.sin(x) * x)

    x = rng.uniform(-1, 1, 5)
    g1 = srcad.grad(use_np_sin)(x)
    assert_grad_close(g1, use_np_sin, (x,), 0)
    globals()["np"] = fake                  # this module's own `np`, which use_np_sin reads
    try:
        g2 = srcad.grad(use_np_sin)(x)
        assert_grad_close(g2, use_np_sin, (x,), 0)
    finally:
        globals()["np"] = sys.modules["numpy"]
    assert not np.allclose(g1, g2)


def _factory(a):
    def k(x):
        return np.sum(a(x) * x)
    return k


def test_closures_of_one_factory_capturing_different_ufuncs(cache_dir, rng):
    x = rng.uniform(-1, 1, 5)
    for act in (np.sin, np.cos, np.tanh):
        k = _factory(act)
        assert_grad_close(srcad.grad(k)(x), k, (x,), 0)


def test_closure_cell_rebound(cache_dir, rng):
    def make():
        a = np.sin

        def k(x):
            return np.sum(a(x) * x)

        def set_a(v):
            nonlocal a
            a = v
        return k, set_a

    k, set_a = make()
    _grad_twice(k, rng.uniform(-1, 1, 5), lambda: set_a(np.cos))


@dataclasses.dataclass
class Layer:
    w: np.ndarray

    def act(self, x):
        return np.sin(self.w * x)


def _layer_sum(p, x):
    return np.sum(p.act(x))


def _layer_act_cos(self, x):
    return np.cos(self.w * x)


def test_method_rebound_on_its_class(cache_dir, rng):
    p, x = Layer(rng.uniform(0.5, 1.5, 4)), 0.7
    original = Layer.act
    try:
        for act in (original, _layer_act_cos, original):
            Layer.act = act
            for d in (srcad.differentiate(_layer_sum), srcad.grad(_layer_sum)):
                g = d.grad(p, x) if isinstance(d, srcad.Differentiable) else d(p, x)
                assert_grad_close(g.w, lambda w: _layer_sum(Layer(w), x), (p.w,), 0)
    finally:
        Layer.act = original


def _power(x, k=2.0):
    return x ** k


def _power_sum(x):
    return np.sum(_power(x) * x)


def test_helper_defaults_replaced(cache_dir, rng):
    x = rng.uniform(0.5, 1.5, 4)
    try:
        _grad_twice(_power_sum, x, lambda: setattr(_power, "__defaults__", (3.0,)))
        assert_grad_close(srcad.differentiate(_power_sum).grad(x), _power_sum, (x,), 0)
    finally:
        _power.__defaults__ = (2.0,)


class Config:
    scale = 2.0
    act = np.sin


def _configured(x):
    return np.sum(Config.scale * Config.act(x))


@pytest.mark.parametrize("attr, value", [("scale", 3.0), ("act", np.cos)])
def test_class_attribute_rebound(cache_dir, rng, attr, value):
    old = getattr(Config, attr)
    try:
        _grad_twice(_configured, rng.uniform(-1, 1, 4), lambda: setattr(Config, attr, value))
    finally:
        setattr(Config, attr, old)


FLAG_LIB = """
    import os
    import numpy as np


    def act_a(x):
        return np.sin(x) * x


    def act_b(x):
        return np.exp(-x * x)


    act = act_a if os.environ["STALE_FLAG"] == "1" else act_b


    def helper(x):
        return act(x) + x
"""

FLAG_USERS = {      # the flag-chosen `act` reached as a global, through a helper, as lib.act
    "global": """
        import numpy as np
        from stale_flag_lib import act


        def f(x):
            return np.sum(act(x))
    """,
    "helper": """
        import numpy as np
        from stale_flag_lib import helper


        def f(x):
            return np.sum(helper(x))
    """,
    "attribute": """
        import numpy as np
        import stale_flag_lib as lib


        def f(x):
            return np.sum(lib.act(x))
    """,
}

CHILD = """
import json, sys
import numpy as np
import srcad
import stale_flag as mod

x = np.array(json.loads(sys.argv[1]))
g = srcad.grad(mod.f)(x)
print(json.dumps({"g": g.tolist(), "stats": srcad.stats()}))
"""


def _child(module_dir, cache_dir, flag, x):
    env = dict(os.environ, SRCAD_CACHE_DIR=str(cache_dir), SRCAD_DISK_CACHE="1",
               STALE_FLAG=flag, PYTHONDONTWRITEBYTECODE="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(srcad.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([str(module_dir), root])
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(x.tolist())], env=env,
                          cwd=str(module_dir), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return np.array(report["g"]), report["stats"]


@pytest.mark.slow
@pytest.mark.parametrize("user", sorted(FLAG_USERS))
def test_config_flag_across_processes(cache_dir, module_dir, rng, monkeypatch, user):
    write_module(module_dir, "stale_flag_lib", FLAG_LIB)
    write_module(module_dir, "stale_flag", FLAG_USERS[user])
    x = rng.uniform(-1, 1, 5)
    ga, stats = _child(module_dir, cache_dir, "1", x)
    assert stats["transforms"] == 1
    gb, stats = _child(module_dir, cache_dir, "0", x)   # the other flag: not the first's entry
    assert stats["disk_hits"] == 0
    ga2, stats = _child(module_dir, cache_dir, "1", x)  # each flag has its own entry
    assert stats["disk_hits"] == 1 and stats["transforms"] == 0
    for flag, got in (("1", ga), ("0", gb), ("1", ga2)):
        monkeypatch.setenv("STALE_FLAG", flag)
        for name in ("stale_flag", "stale_flag_lib"):
            sys.modules.pop(name, None)
        mod = importlib.import_module("stale_flag")
        assert_grad_close(got, mod.f, (x,), 0)


def test_entry_recording_other_globals_is_not_used_under_the_right_key(cache_dir, module_dir,
                                                                       rng):
    """Defence in depth: were two settings to share a key, the globals an entry recorded
    are checked against the live ones on load."""
    from test_security import entries, read_entry, write_signed
    write_module(module_dir, "stale_recorded", ACT_MODULE)
    mod = importlib.import_module("stale_recorded")
    x = rng.uniform(-1, 1, 5)
    srcad.differentiate(mod.f).grad(x)
    (sin_path,) = entries(cache_dir)
    sin_entry = read_entry(sin_path)
    mod.act = np.cos
    srcad.differentiate(mod.f).grad(x)
    (cos_path,) = [p for p in entries(cache_dir) if p != sin_path]
    key = cos_path.name[len("srcad-"):-len(".json")]
    write_signed(cos_path, dict(sin_entry, key=key), cache_dir)   # np.sin's code, cos's key
    before = srcad.stats()["disk_hits"]
    g = srcad.differentiate(mod.f).grad(x)
    assert srcad.stats()["disk_hits"] == before
    assert_grad_close(g, mod.f, (x,), 0)


CLOSURE_CHILD = """
import json, sys
import numpy as np
import srcad


def factory(a):
    def k(x):
        return np.sum(a(x) * x)
    return k


x = np.array(json.loads(sys.argv[1]))
k = factory(getattr(np, sys.argv[2]))
print(json.dumps({"g": srcad.grad(k)(x).tolist(), "stats": srcad.stats()}))
"""


@pytest.mark.slow
def test_closures_across_processes(cache_dir, tmp_path, rng):
    x = rng.uniform(-1, 1, 5)
    script = tmp_path / "closure_child.py"
    script.write_text(CLOSURE_CHILD)
    env = dict(os.environ, SRCAD_CACHE_DIR=str(cache_dir), SRCAD_DISK_CACHE="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(srcad.__file__)))
    env["PYTHONPATH"] = root
    for name in ("sin", "cos", "sin"):
        done = subprocess.run([sys.executable, str(script), json.dumps(x.tolist()), name],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        got = np.array(json.loads(done.stdout.strip().splitlines()[-1])["g"])
        k = _factory(getattr(np, name))
        assert_grad_close(got, k, (x,), 0)

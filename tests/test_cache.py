"""The compile cache: one specialisation per signature, in memory and on disk.

Every test points ``SRCAD_CACHE_DIR`` at its own empty directory before its
first srcad call and clears the cache. Observables: ``Differentiable.compiles``
(the number of transforms the object ran), ``srcad.stats()`` (process-wide
counts ``transforms``, ``memory_hits``, ``disk_hits``) and ``f.source()``.
Redefinitions and other processes use real module files in ``tmp_path``.
"""
import importlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import srcad
from conftest import assert_grad_close


def poly(x):
    return np.sum(x ** 3 - 2.0 * x) + np.sum(np.sin(x)) ** 2


def two(x, y):
    return np.sum(np.exp(x) * y) + np.sum(y ** 2) * x[0]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "srcad-cache"
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(path))
    srcad.clear_cache()
    yield path
    srcad.clear_cache()


def transforms():
    return srcad.stats()["transforms"]


def cache_files(path):
    return [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]


# --------------------------------------------------------------------------- in one process

def test_stats_has_the_documented_counters(cache_dir):
    stats = srcad.stats()
    assert {"transforms", "memory_hits", "disk_hits"} <= set(stats)
    assert all(isinstance(stats[k], int) for k in ("transforms", "memory_hits", "disk_hits"))


def test_same_signature_does_not_recompile(cache_dir, rng):
    f = srcad.differentiate(poly)
    x = rng.uniform(-1, 1, 6)
    assert f.compiles == 0
    before = transforms()
    assert_grad_close(f.grad(x), poly, (x,), 0)
    assert f.compiles == 1
    assert transforms() == before + 1
    text = f.source("grad", x)

    x2 = rng.uniform(-1, 1, 6)
    x3 = rng.uniform(-1, 1, 11)           # shapes are not part of the code key
    assert_grad_close(f.grad(x2), poly, (x2,), 0)
    assert_grad_close(f.grad(x3), poly, (x3,), 0)
    assert f.compiles == 1
    assert transforms() == before + 1
    assert f.source("grad", x2) == text
    assert f.source("grad", x3) == text


def test_new_dtype_or_ndim_compiles_anew(cache_dir, rng):
    f = srcad.differentiate(poly)
    x = rng.uniform(-1, 1, 6)
    f.grad(x)
    assert f.compiles == 1

    g32 = f.grad(x.astype(np.float32))
    assert f.compiles == 2
    assert g32.dtype == np.float32

    X = rng.uniform(-1, 1, (3, 4))
    assert_grad_close(f.grad(X), poly, (X,), 0)
    assert f.compiles == 3

    f.grad(rng.uniform(-1, 1, 4))          # back to float64[1-D]: cached
    f.grad(x.astype(np.float32))
    assert f.compiles == 3


def test_changing_wrt_compiles_anew(cache_dir, rng):
    x, y = rng.uniform(-1, 1, 5), rng.uniform(-1, 1, 5)
    start = transforms()
    fx = srcad.differentiate(two, wrt="x")
    assert_grad_close(fx.grad(x, y), two, (x, y), 0)
    fy = srcad.differentiate(two, wrt="y")
    assert_grad_close(fy.grad(x, y), two, (x, y), 1)
    fxy = srcad.differentiate(two, wrt=("x", "y"))
    gx, gy = fxy.grad(x, y)
    assert (fx.compiles, fy.compiles, fxy.compiles) == (1, 1, 1)
    assert transforms() == start + 3
    assert_grad_close(gx, two, (x, y), 0)
    assert_grad_close(gy, two, (x, y), 1)

    # The same wrt again, on a fresh object: served from the cache.
    stats = srcad.stats()
    again = srcad.differentiate(two, wrt="y")
    assert_grad_close(again.grad(x, y), two, (x, y), 1)
    assert again.compiles == 0
    assert transforms() == start + 3
    after = srcad.stats()
    assert after["memory_hits"] + after["disk_hits"] > stats["memory_hits"] + stats["disk_hits"]


def test_clear_cache_forces_a_new_transform(cache_dir, rng):
    f = srcad.differentiate(poly)
    x = rng.uniform(-1, 1, 6)
    f.grad(x)
    assert cache_files(cache_dir), "nothing was written to SRCAD_CACHE_DIR"
    srcad.clear_cache()
    before = transforms()
    assert_grad_close(f.grad(x), poly, (x,), 0)
    assert transforms() == before + 1


# --------------------------------------------------------------------------- redefinitions

@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    """A directory on sys.path for generated modules; no stale bytecode."""
    path = tmp_path / "mods"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield path
    for name in [n for n, m in sys.modules.items()
                 if getattr(m, "__file__", None) and str(m.__file__).startswith(str(path))]:
        del sys.modules[name]


def write_module(directory, name, body):
    (directory / f"{name}.py").write_text(textwrap.dedent(body))
    importlib.invalidate_caches()


MODULE_V1 = """
    import numpy as np
    import srcad


    @srcad.differentiate
    def f(x):
        return np.sum(np.sin(x) * x)
"""

MODULE_V2 = """
    import numpy as np
    import srcad


    @srcad.differentiate
    def f(x):
        return np.sum(np.cos(x) * x ** 2) + np.sum(x) ** 2
"""


def test_redefined_function_gives_the_new_gradient(cache_dir, module_dir, rng):
    x = rng.uniform(-1, 1, 6)
    write_module(module_dir, "redef_fn", MODULE_V1)
    mod = importlib.import_module("redef_fn")
    g1 = mod.f.grad(x)
    assert_grad_close(g1, mod.f, (x,), 0)

    write_module(module_dir, "redef_fn", MODULE_V2)
    mod = importlib.reload(mod)
    g2 = mod.f.grad(x)
    assert_grad_close(g2, mod.f, (x,), 0)
    assert not np.allclose(g1, g2)


HELPER_V1 = """
    import numpy as np
    import srcad


    def rho(r):
        return np.exp(-2.0 * r)


    @srcad.differentiate
    def energy(x):
        p = np.sum(rho(x))
        return p ** 2
"""

HELPER_V2 = """
    import numpy as np
    import srcad


    def rho(r):
        return np.exp(-3.0 * r) + np.sin(r) * r


    @srcad.differentiate
    def energy(x):
        p = np.sum(rho(x))
        return p ** 2
"""


def test_redefined_helper_gives_the_new_gradient(cache_dir, module_dir, rng):
    x = rng.uniform(0.5, 1.5, 5)
    write_module(module_dir, "redef_helper", HELPER_V1)
    mod = importlib.import_module("redef_helper")
    g1 = mod.energy.grad(x)
    assert_grad_close(g1, mod.energy, (x,), 0)

    write_module(module_dir, "redef_helper", HELPER_V2)   # only the helper changed
    mod = importlib.reload(mod)
    g2 = mod.energy.grad(x)
    assert_grad_close(g2, mod.energy, (x,), 0)
    assert not np.allclose(g1, g2)


# ------------------------------------------------------------------ the disk cache, other processes

SHARED_MODULE = """
    import numpy as np


    def shared(x, y):
        z = np.tanh(x * y)
        return np.sum(z ** 2) + np.sum(x) * y[0]
"""

CHILD = """
import json, sys
import numpy as np
import srcad
import disk_shared as mod

x = np.array(json.loads(sys.argv[1]))
y = np.array(json.loads(sys.argv[2]))
f = srcad.differentiate(mod.shared, wrt=("x", "y"))
gx, gy = f.grad(x, y)
report = {"compiles": f.compiles, "stats": srcad.stats(), "gx": gx.tolist(), "gy": gy.tolist()}
print(json.dumps(report))
"""


def run_child(module_dir, cache_dir, x, y):
    """The gradient of ``disk_shared.shared`` from a fresh interpreter sharing the disk cache."""
    env = dict(os.environ)
    env["SRCAD_CACHE_DIR"] = str(cache_dir)
    srcad_root = os.path.dirname(os.path.dirname(os.path.abspath(srcad.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [str(module_dir), srcad_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(x.tolist()), json.dumps(y.tolist())],
        env=env, cwd=str(module_dir), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"child failed:\n{done.stdout}\n{done.stderr}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report, np.array(report["gx"]), np.array(report["gy"])


def _shared_setup(cache_dir, module_dir, rng):
    write_module(module_dir, "disk_shared", SHARED_MODULE)
    mod = importlib.import_module("disk_shared")
    x, y = rng.uniform(-1, 1, 6), rng.uniform(-1, 1, 6)
    f = srcad.differentiate(mod.shared, wrt=("x", "y"))
    gx, gy = f.grad(x, y)
    assert f.compiles == 1
    assert cache_files(cache_dir), "the gradient was not written to SRCAD_CACHE_DIR"
    return mod, x, y, gx, gy


@pytest.mark.slow
def test_second_process_loads_from_disk(cache_dir, module_dir, rng):
    mod, x, y, gx, gy = _shared_setup(cache_dir, module_dir, rng)
    report, cx, cy = run_child(module_dir, cache_dir, x, y)
    assert report["compiles"] == 0
    assert report["stats"]["transforms"] == 0
    assert report["stats"]["disk_hits"] >= 1
    np.testing.assert_allclose(cx, gx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cy, gy, rtol=1e-12, atol=1e-14)
    assert_grad_close(cx, mod.shared, (x, y), 0)
    assert_grad_close(cy, mod.shared, (x, y), 1)


def _garbage(data):
    return b"\x00\xff\x13 this is not a srcad cache entry \x89PNG\r\n" * 3


def _truncated(data):
    return data[: len(data) // 2]


def _foreign(data):
    return (b"import numpy as np\n\n\n"
            b"def grad(*args, **kwargs):\n    return 42.0\n\n\n"
            b"def shared_grad(*args, **kwargs):\n    return 42.0\n")


@pytest.mark.slow
@pytest.mark.parametrize("corrupt", [_garbage, _truncated, _foreign],
                         ids=["garbage", "truncated", "foreign"])
def test_corrupted_disk_entry_is_regenerated(cache_dir, module_dir, rng, corrupt):
    mod, x, y, _, _ = _shared_setup(cache_dir, module_dir, rng)
    files = cache_files(cache_dir)
    for name in files:
        with open(name, "rb") as fh:
            data = fh.read()
        with open(name, "wb") as fh:
            fh.write(corrupt(data))

    report, cx, cy = run_child(module_dir, cache_dir, x, y)
    assert report["stats"]["transforms"] >= 1, "a corrupted entry was trusted"
    assert report["compiles"] >= 1
    assert report["stats"]["disk_hits"] == 0
    assert_grad_close(cx, mod.shared, (x, y), 0)
    assert_grad_close(cy, mod.shared, (x, y), 1)

    if corrupt is _garbage:
        # The regenerated entry was written back: the next process loads it.
        report, cx, _ = run_child(module_dir, cache_dir, x, y)
        assert report["stats"]["transforms"] == 0
        assert report["stats"]["disk_hits"] >= 1
        assert_grad_close(cx, mod.shared, (x, y), 0)

"""Golden snapshots of the generated source for a few canonical functions.

The generated code is a product (STYLE.md): any change to it must show up as
a diff of ``tests/golden/`` and be said in the commit message. Each file in
``tests/golden/`` holds one ``srcad.source(...)`` text (kind "grad", or "jvp"
for the ``*_jvp`` files) of a function in ``tests/golden_functions.py``, below a fixed
three-line header; ``CASES`` says which arguments and ``wrt``.

The comparison is exact: nothing is normalised (the ``# file:line`` comments
name the file by its base name, so the text does not depend on where the
checkout lives).

To accept a deliberate change of the generated code, rewrite the snapshots
instead of comparing, then review and commit the diff::

    SRCAD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_golden.py

Besides the snapshots: generating twice (the cache cleared in between, and in
fresh processes with other hash seeds) gives the same text, and that text is
exactly what runs (a traceback through the gradient shows its lines).
"""
import difflib
import json
import linecache
import os
import pathlib
import subprocess
import sys
import traceback

import numpy as np
import pytest

import golden_functions as gf
import srcad
from srcad import codegen

pytestmark = pytest.mark.numpy_backend      # snapshots of the NumPy backend's code

GOLDEN = pathlib.Path(__file__).parent / "golden"
UPDATE = os.environ.get("SRCAD_UPDATE_GOLDEN") == "1"


def _mlp_args():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 3))
    W1, b1 = rng.standard_normal((3, 4)), rng.standard_normal(4)
    W2, b2 = rng.standard_normal((4, 2)), rng.standard_normal(2)
    y = rng.standard_normal((8, 2))
    return (W1, b1, W2, b2, X, y)


def _lj_args():
    grid = np.array([[0.0, 0.0, 0.0], [1.2, 0.0, 0.0], [0.0, 1.2, 0.0], [0.0, 0.0, 1.2]])
    return (grid + np.random.default_rng(0).uniform(-0.05, 0.05, grid.shape),)


def _spring_args():
    return (gf.Params(k=2.0, x0=np.linspace(0.0, 1.0, 5), n=5), np.linspace(0.1, 1.2, 5))


# snapshot name -> (function, kind, wrt, example arguments)
CASES = {
    "eam_grad": (gf.eam, "grad", 0, lambda: (np.linspace(-0.5, 0.5, 8),)),
    "mlp_loss_grad": (gf.mlp_loss, "grad", ("W1", "b1", "W2", "b2"), _mlp_args),
    "euler_grad": (gf.euler, "grad", ("k", "c"), lambda: (1.0, 0.1)),
    "bump_jvp": (gf.bump, "jvp", "m", lambda: (0.3, np.linspace(-1.0, 1.0, 9))),
    "eam_jvp": (gf.eam, "jvp", 0, lambda: (np.linspace(-0.5, 0.5, 8),)),
    "lj_energy_grad": (gf.lj_energy, "grad", 0, _lj_args),
    "spring_grad": (gf.spring, "grad", "p", _spring_args),
}


def generate(name):
    fn, kind, wrt, args = CASES[name]
    return srcad.source(fn, *args(), kind=kind, wrt=wrt)


def header(name):
    fn, kind, wrt, _ = CASES[name]
    return (f"# Golden snapshot: srcad.source({fn.__name__}, kind={kind!r}, wrt={wrt!r}).\n"
            f"# Generated; rewrite with SRCAD_UPDATE_GOLDEN=1 (see tests/test_golden.py).\n"
            f"# ruff: noqa\n")


@pytest.mark.parametrize("name", sorted(CASES))
def test_snapshot(name):
    source = generate(name)
    compile(source, f"<golden {name}>", "exec")        # the text is valid Python on its own
    path = GOLDEN / f"{name}.py"
    want = header(name) + source
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        if not path.exists() or path.read_text() != want:
            path.write_text(want)
        return
    assert path.exists(), f"no snapshot {path}: run with SRCAD_UPDATE_GOLDEN=1 to create it"
    have = path.read_text()
    if have != want:
        diff = "".join(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                            f"{path.name} (snapshot)", f"{path.name} (generated)"))
        pytest.fail(f"the generated source of {name} changed; if that is intended, rerun with "
                    f"SRCAD_UPDATE_GOLDEN=1 and say the change in the commit:\n{diff}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_generating_twice_gives_the_same_source(name):
    first = generate(name)
    srcad.clear_cache()
    transforms = srcad.stats()["transforms"]
    second = generate(name)
    assert srcad.stats()["transforms"] == transforms + 1, "the second text came from a cache"
    assert second == first


@pytest.mark.slow
def test_source_does_not_depend_on_the_hash_seed(tmp_path):
    here = {name: generate(name) for name in CASES}
    script = ("import json, test_golden\n"
              "print(json.dumps({n: test_golden.generate(n) for n in test_golden.CASES}))\n")
    root = pathlib.Path(__file__).parent
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, SRCAD_CACHE_DIR=str(tmp_path / seed),
                   PYTHONPATH=os.pathsep.join([str(root), str(root.parent)]))
        done = subprocess.run([sys.executable, "-c", script], env=env, cwd=root.parent,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        there = json.loads(done.stdout)
        for name in CASES:
            assert there[name] == here[name], f"{name} differs under PYTHONHASHSEED={seed}"


def test_the_generated_source_is_what_runs():
    x = np.full(4, -1000.0)                 # exp(-3 (x + 1)) overflows in the primal sweep
    with np.errstate(over="raise"), pytest.raises(FloatingPointError) as info:
        srcad.grad(gf.eam)(x)
    frames = [fr for fr in traceback.extract_tb(info.value.__traceback__)
              if fr.filename.startswith("<srcad")]
    assert frames, "no frame of generated code in the traceback"
    ran = codegen.inner_source("".join(linecache.getlines(frames[-1].filename)))
    assert ran == srcad.source(gf.eam, x)
    assert "np.exp(" in frames[-1].line
    assert frames[-1].line.strip() in [line.strip() for line in ran.splitlines()]

"""The package layers, read from every module's import statements (those inside functions too).

From the bottom up:

- the base: ``srcad.errors`` (the error classes), ``srcad.tracebacks`` (where an error
  points), ``srcad.logs`` (what each pass took): they import nothing else of srcad;
- ``srcad.kernels``: the functions generated code calls for the rules (pure NumPy);
- the compiler, ``srcad.transforms`` (the repository's ``transforms/`` folder): passes and rules;
- the runtime (``RUNTIME`` below): what generated code calls as ``_rt``, code loading, the
  compiled-entry cache;
- the API: every other module of ``srcad`` (the decorator, the derivative forms, the rules
  registered by users).

A module imports only from its own layer or the layers below it, and below the API no modules
import each other in a circle. Callbacks upward are registered at import time by the upper layer
(``registry.HOST``, ``pullbacks.API``).
"""
import ast
import functools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import srcad
from srcad import kernels, transforms

SRCAD = os.path.dirname(os.path.abspath(srcad.__file__))
COMPILER = os.path.dirname(os.path.abspath(transforms.__file__))
KERNELS = os.path.dirname(os.path.abspath(kernels.__file__))

RUNTIME = {"srcad.runtime", "srcad.pullbacks", "srcad.library", "srcad.codegen",
           "srcad.signature", "srcad.cache", "srcad.entries", "srcad.workspace", "srcad.depth",
           "srcad.seeds", "srcad.outputs", "srcad.reflect", "srcad.statements", "srcad.threads",
           "srcad.instances", "srcad.indexed"}
BASE = {"srcad.errors", "srcad.tracebacks", "srcad.logs"}
LAYERS = ("base", "kernels", "compiler", "runtime", "api")


def _modules():
    """module name -> file, for srcad (whose compiler lives in another folder)."""
    out = {}
    for package, folder in (("srcad", SRCAD), ("srcad.transforms", COMPILER)):
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "__"))]
            rel = os.path.relpath(dirpath, folder)
            prefix = package if rel == "." else package + "." + rel.replace(os.sep, ".")
            if prefix.startswith("srcad.transforms") and folder == SRCAD:
                continue        # (a srcad/transforms folder would be a second compiler)
            for f in filenames:
                if f.endswith(".py"):
                    name = prefix if f == "__init__.py" else f"{prefix}.{f[:-3]}"
                    out[name] = os.path.join(dirpath, f)
    return out


MODULES = _modules()


def layer(module):
    if module in BASE:
        return "base"
    if module == "srcad.kernels" or module.startswith("srcad.kernels."):
        return "kernels"
    if module == "srcad.transforms" or module.startswith("srcad.transforms."):
        return "compiler"
    if module in RUNTIME:
        return "runtime"
    return "api"


def _ours(name):
    """The srcad module that importing ``name`` names (an attribute's module), or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module):
    """The srcad modules that ``module`` imports, anywhere in its file."""
    path = MODULES[module]
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    is_package = path.endswith("__init__.py")
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[:len(module.split(".")) - node.level + is_package]
                base = ".".join(parts + ([node.module] if node.module else []))
            # ``from pkg import mod`` names the module; ``from pkg import name`` the package
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        else:
            continue
        out.update(t for t in map(_ours, names) if t and t != module)
    return out


@functools.cache
def graph():
    """module -> the srcad modules it imports (read when a test first needs it: every
    worker of the suite collects this file, one runs its tests)."""
    return {m: imports(m) for m in MODULES}


def test_the_modules_are_found():
    assert "srcad.api" in MODULES and "srcad.transforms.reverse" in MODULES
    assert "srcad.transforms.rules.registry" in MODULES and "srcad.kernels.broadcast" in MODULES
    assert {"srcad.transforms.rules.registry", "srcad.runtime"} <= graph()["srcad.runtime_rules"]


def test_each_module_imports_only_its_layer_and_below():
    wrong = sorted(f"{m} ({layer(m)}) imports {t} ({layer(t)})" for m, targets in graph().items()
                   for t in targets if LAYERS.index(layer(t)) > LAYERS.index(layer(m)))
    assert not wrong, "imports upward:\n" + "\n".join(wrong)


def test_the_compiler_imports_neither_the_runtime_nor_the_api():
    compiler = [m for m in MODULES if layer(m) == "compiler"]
    assert len(compiler) > 20
    for m in compiler:
        assert {layer(t) for t in graph()[m]} <= {"base", "kernels", "compiler"}, m


def test_the_runtime_does_not_import_the_api():
    for m in RUNTIME:
        assert "api" not in {layer(t) for t in graph()[m]}, (m, graph()[m])


def _circles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_modules_below_the_api_import_each_other_in_a_circle():
    below = {m: {t for t in targets if layer(t) != "api"} for m, targets in graph().items()
             if layer(m) != "api"}
    assert _circles(below) == []


def test_no_circle_among_the_layers():
    between = {a: set() for a in LAYERS}
    for m, targets in graph().items():
        between[layer(m)].update(layer(t) for t in targets if layer(t) != layer(m))
    assert _circles(between) == []


def test_the_upper_layers_register_their_callbacks():
    """What the compiler and the runtime call upward is given to them at import time."""
    from srcad import api, pullbacks, runtime
    from srcad.transforms.rules import registry
    assert registry.HOST.runtime is runtime
    assert pullbacks.API == {"differentiable": api._differentiable}


@pytest.mark.parametrize("shadow", ["transforms.py", "transforms/__init__.py"])
def test_srcad_imports_beside_a_users_transforms_module(tmp_path, shadow):
    """A folder with its own ``transforms`` module: srcad still imports and differentiates
    (the compiler is installed as ``srcad.transforms``, never as a top-level package)."""
    path = tmp_path / shadow
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("WHO = 'the user'\n")
    (tmp_path / "model.py").write_text(textwrap.dedent("""
        import numpy as np
        import srcad
        import transforms

        def energy(x):
            return np.sum(np.tanh(x) ** 2) + np.sum(np.sin(x) * x)

        x = np.array([0.3, -1.2, 0.7])
        g = srcad.grad(energy)(x)
        h = 1e-6
        fd = np.array([(energy(x + h * e) - energy(x - h * e)) / (2 * h) for e in np.eye(3)])
        assert np.allclose(g, fd, rtol=1e-6, atol=1e-8), (g, fd)
        assert transforms.WHO == "the user"
        print("ok", srcad.transforms.__name__)
        """))
    env = dict(os.environ, SRCAD_DISK_CACHE="0")
    env.pop("PYTHONPATH", None)
    done = subprocess.run([sys.executable, "model.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "srcad.transforms"]


def test_importing_srcad_loads_no_compiler_pass(tmp_path):
    """The passes load on the first transformation, not on ``import srcad`` (start-up time):
    the layers above the compiler import it lazily where they only use a pass."""
    code = ("import sys, srcad\n"
            "print(sorted(m for m in sys.modules if m.startswith('srcad.transforms.')\n"
            "             and not m.startswith('srcad.transforms.rules')))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(ast.literal_eval(done.stdout))
    assert not loaded & {"srcad.transforms.reverse", "srcad.transforms.forward",
                         "srcad.transforms.normalize", "srcad.transforms.pipeline"}, loaded


SCIPY_LATER = """
import math, sys
import numpy as np
import srcad
print("scipy" in sys.modules)
def fd(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)
def g(x):
    return math.gamma(x) * math.lgamma(x + 1.0)
print(srcad.grad(g)(2.5), fd(g, 2.5))
import scipy.special as sp
def h(x):
    return float(np.sum(sp.erf(x) * sp.expit(x * 2.0)))
print(srcad.grad(h)(0.3), fd(h, 0.3))
"""


def test_scipy_rules_load_when_first_needed(tmp_path):
    """``import srcad`` does not import SciPy (it costs more than srcad itself); its rules
    register when a SciPy function, or ``math.gamma``/``math.lgamma`` (whose derivatives
    need SciPy), is first differentiated, SciPy imported before or after srcad."""
    pytest.importorskip("scipy")
    (tmp_path / "later.py").write_text(SCIPY_LATER)
    done = subprocess.run([sys.executable, "later.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, SRCAD_DISK_CACHE="0"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert lines[0] == "False", done.stdout
    for line in lines[1:3]:
        got, want = map(float, line.split())
        assert abs(got - want) <= 1e-6 * (1 + abs(want)), done.stdout


def test_srcad_imports_from_a_checkout_that_is_not_installed(tmp_path):
    """A checkout on ``sys.path`` without an install (no package mapping): srcad finds
    its compiler in the top-level ``transforms/`` folder beside ``srcad/``."""
    root = Path(__file__).resolve().parent.parent
    (tmp_path / "model.py").write_text(textwrap.dedent(f"""
        import sys
        sys.meta_path[:] = [f for f in sys.meta_path
                            if "__editable__" not in type(f).__module__]
        sys.path.insert(0, {str(root)!r})
        import numpy as np
        import srcad

        def f(x):
            return np.sum(np.sin(x) * x)

        x = np.array([0.3, -1.2, 0.8])
        g = srcad.grad(f)(x)
        h = 1e-6
        fd = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(3)]
        assert np.allclose(g, fd, rtol=1e-6, atol=1e-8), (g, fd)
        print("ok", srcad.transforms.__file__)
    """))
    r = subprocess.run([sys.executable, "model.py"], cwd=tmp_path, capture_output=True,
                       text=True, env=dict(os.environ, SRCAD_DISK_CACHE="0"), timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok " + str(root / "transforms" / "__init__.py")), r.stdout

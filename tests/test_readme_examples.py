"""The README's examples of where users write code, run as written.

The lambda, partial, closure, method and nested-gradient block and the notebook
block of "Functions as users write them" are executed here and every gradient
they compute is checked against central finite differences; the multiprocessing
and Dask blocks must be the example files that tests/test_pickling.py and
tests/test_dask.py run.
"""
import linecache
import re
from pathlib import Path

import numpy as np


ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _section_blocks(title):
    text = README.read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, f"README.md has no `## {title}` section"
    return re.findall(r"^```python\n(.*?)^```", match.group(1), re.S | re.M)


def _run(body, filename):
    """Run ``body`` as a notebook does: its source registered in linecache."""
    linecache.cache[filename] = (len(body), None, body.splitlines(True), filename)
    namespace = {"__name__": "readme_example"}
    exec(compile(body, filename, "exec"), namespace)
    return namespace


def _central(fn, x, h=1e-6):
    """Central differences of a scalar or vector function of a float or an array."""
    x = np.asarray(x, dtype=float)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        cols.append((np.asarray(fn((x + e.reshape(x.shape)) if x.ndim else x + h))
                     - np.asarray(fn((x - e.reshape(x.shape)) if x.ndim else x - h))) / (2 * h))
    return np.stack(cols, axis=-1) if x.ndim else cols[0]


def _close(got, expected):
    assert isinstance(got, np.ndarray) and got.shape == np.shape(expected), got
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_the_functions_block_runs_as_written_and_every_result_matches_differences():
    blocks = _section_blocks("Functions as users write them")
    assert len(blocks) >= 2, "the section shows the functions block and the notebook block"
    ns = _run(blocks[0], "<readme functions block>")
    rs, d, m, X, w = ns["rs"], ns["d"], ns["m"], ns["X"], ns["w"]
    np.testing.assert_allclose(ns["J"], _central(lambda z: rs(d, z), m), rtol=1e-6, atol=1e-8)
    assert ns["J"].shape == (21, 2)
    loss = ns["loss"]
    _close(ns["g_partial"], _central(lambda v: loss(v, X), w))
    _close(ns["g_closure"], _central(ns["make_model"](np.tanh), w))
    obj = ns["Model"](2.0)
    _close(ns["g_method"], _central(lambda v: obj.loss(v), w))
    f = ns["f"]
    inner = lambda x: _central(f, x)                                   # noqa: E731
    expected = _central(lambda x: x * inner(x), 0.7, h=1e-4)
    assert abs(ns["g_nested"] - expected) < 1e-5 * max(1.0, abs(expected))


def test_the_notebook_block_runs_from_a_cell_without_a_file():
    body = _section_blocks("Functions as users write them")[1]
    filename = "<ipython-input-7-2f1a9c0d3b4e>"          # what IPython names a cell
    ns = _run(body, filename)
    assert ns["cell_loss"].__code__.co_filename == filename
    _close(ns["g_cell"], _central(ns["cell_loss"], np.array([0.1, 0.2, 0.3])))


def test_the_multiprocessing_and_dask_blocks_are_the_example_files_the_suite_runs():
    blocks = _section_blocks("Processes, clusters and the command line")
    for name in ("pool_gradients.py", "dask_gradient.py"):
        source = (ROOT / "docs" / "examples" / name).read_text()
        assert source in blocks, f"README does not show docs/examples/{name} as written"

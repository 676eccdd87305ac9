"""``srcad.dask``: the gradient of a sum over row shards, on a ``dask.distributed`` cluster.

Each result is compared with srcad's single-process gradient on the concatenated
data (to rounding: only the order of the sums differs) and with central
differences of the plain NumPy loss.
"""
import linecache
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import assert_grad_close

import pickled_functions as pf
import srcad

if os.environ.get("SRCAD_REQUIRE_DASK") != "1":     # `make test` installs and requires it
    pytest.importorskip("distributed", reason="the dask extra is not installed: "
                                              "pip install -e '.[test]'")
import dask.array as da  # noqa: E402
import distributed  # noqa: E402

import srcad.dask  # noqa: E402

ROUNDING = dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _data(rng, n=240, k=4):
    return rng.normal(size=k), rng.normal(size=(n, k)), rng.normal(size=n)


def test_grad_over_shards_equals_the_single_process_gradient(client, rng):
    w, X, y = _data(rng)
    g = srcad.dask.grad(pf.least_squares)(w, da.from_array(X, chunks=(50, 2)),
                                          da.from_array(y, chunks=30))
    assert type(g) is np.ndarray and g.shape == w.shape
    np.testing.assert_allclose(g, srcad.grad(pf.least_squares)(w, X, y), **ROUNDING)
    assert_grad_close(g, pf.least_squares, (w, X, y), 0)


def test_value_and_grad_of_several_parameters_over_uneven_shards(client, rng):
    w, X, y = _data(rng, n=203)
    value, (gw, gb) = srcad.dask.value_and_grad(pf.bias_loss, wrt=("w", "b"), split_every=2)(
        w, 0.3, da.from_array(X, chunks=37), da.from_array(y, chunks=37))
    want_value, (want_w, want_b) = srcad.value_and_grad(pf.bias_loss, wrt=("w", "b"))(
        w, 0.3, X, y)
    np.testing.assert_allclose(value, want_value, **ROUNDING)
    np.testing.assert_allclose(gw, want_w, **ROUNDING)
    np.testing.assert_allclose(gb, want_b, **ROUNDING)
    assert_grad_close(gw, pf.bias_loss, (w, 0.3, X, y), 0)
    assert_grad_close(gb, pf.bias_loss, (w, 0.3, X, y), 1)


def test_a_decorated_loss_and_a_lazy_result(client, rng):
    w, X, y = _data(rng)
    lazy = srcad.dask.grad(pf.loss, wrt=("w", "b"), compute=False)(
        w, -0.2, da.from_array(X, chunks=60), da.from_array(y, chunks=60))
    gw, gb = lazy.compute()
    want_w, want_b = pf.loss.grad(w, -0.2, X, y)
    np.testing.assert_allclose(gw, want_w, **ROUNDING)
    np.testing.assert_allclose(gb, want_b, **ROUNDING)
    assert_grad_close(gw, pf.loss.fn, (w, -0.2, X, y), 0)


def test_the_reduction_is_a_tree(client, rng):
    w, X, y = _data(rng, n=160)
    dX, dy = da.from_array(X, chunks=10), da.from_array(y, chunks=10)
    for split_every, partial_sums in ((2, 8 + 4 + 2 + 1), (4, 4 + 1), (16, 1)):
        lazy = srcad.dask.grad(pf.least_squares, split_every=split_every, compute=False)(
            w, dX, dy)
        keys = [k[0] if isinstance(k, tuple) else k for k in dict(lazy.__dask_graph__())]
        assert sum("aggregate" in str(k) for k in keys) == partial_sums, (split_every, keys)
        np.testing.assert_allclose(lazy.compute(), srcad.grad(pf.least_squares)(w, X, y),
                                   **ROUNDING)


def test_contract_errors_name_the_argument(client, rng):
    w, X, y = _data(rng)
    dX = da.from_array(X, chunks=50)
    with pytest.raises(TypeError, match=r"srcad\.dask: the wrt argument `X` is a dask\.array "
                                        r"of data shards"):
        srcad.dask.grad(pf.least_squares, wrt="X")(w, dX, y)
    with pytest.raises(ValueError, match=r"srcad\.dask: no argument of `least_squares` is a "
                                         r"dask\.array, so there are no shards: use srcad\.grad"):
        srcad.dask.grad(pf.least_squares)(w, X, y)
    with pytest.raises(ValueError, match=r"the sharded arguments must have the same number of "
                                         r"rows; `X` has 240, `y` has 239"):
        srcad.dask.grad(pf.least_squares)(w, dX, da.from_array(y[:-1], chunks=50))
    with pytest.raises(ValueError, match=r"split_every must be an integer of at least 2"):
        srcad.dask.grad(pf.least_squares, split_every=1)


CELL = """\
def residual(w, X, y):
    return np.tanh(X @ w) - y


def cell_loss(w, X, y):
    return np.sum(residual(w, X, y) ** 2)
"""


def _notebook_cell():
    """``cell_loss`` as a notebook defines it: source in linecache, no module to import."""
    filename = "<srcad-test-cell-1>"
    linecache.cache[filename] = (len(CELL), None, CELL.splitlines(True), filename)
    scope = {"__name__": "__main__", "np": np}
    exec(compile(CELL, filename, "exec"), scope)
    return scope["cell_loss"]


@pytest.mark.slow
def test_two_worker_processes_compute_the_shards(tmp_path, monkeypatch, rng):
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path))    # the workers' disk cache
    w, X, y = _data(rng, n=400)
    dX, dy = da.from_array(X, chunks=50), da.from_array(y, chunks=50)
    cell_loss = _notebook_cell()
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        g = srcad.dask.grad(pf.least_squares)(w, dX, dy)
        stats = c.run(srcad.stats)
        g_cell = srcad.dask.grad(cell_loss)(w, dX, dy)     # by value, with its source
    want = srcad.grad(pf.least_squares)(w, X, y)
    np.testing.assert_allclose(g, want, **ROUNDING)
    np.testing.assert_allclose(g_cell, want, **ROUNDING)
    assert_grad_close(g, pf.least_squares, (w, X, y), 0)
    assert len(stats) == 2
    assert all(s["transforms"] + s["disk_hits"] >= 1 for s in stats.values()), stats


@pytest.mark.slow
def test_the_dask_example_runs_as_written(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = os.path.join(root, "docs", "examples", "dask_gradient.py")
    r = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, SRCAD_CACHE_DIR=str(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("loss ") and r.stdout.endswith(
        "gradient of shape (8,), as in one process\n"), r.stdout


def test_without_dask_the_import_error_names_the_extra():
    code = ("import sys\n"
            "sys.modules['dask'] = None\n"
            "try:\n"
            "    import srcad.dask\n"
            "except ImportError as exc:\n"
            "    print(exc)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("srcad.dask needs Dask and dask.distributed, which are not "
                                "installed: pip install 'srcad[dask]'")

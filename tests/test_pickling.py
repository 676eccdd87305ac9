"""Derivatives sent to other processes: pickled by reference, compiled by the worker.

A ``Differentiable`` and the callables of the functional forms pickle as the
function's module and qualified name plus ``wrt`` and the options; a worker
process (fork or spawn) imports the function, compiles or loads its derivative
from its own disk cache, and returns what the parent would. Every derivative a
worker returns is checked against central differences.
"""
import concurrent.futures
import multiprocessing
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from conftest import assert_grad_close, assert_same_value, fd_check_forward

import pickled_functions as pf
import srcad

METHODS = ["fork", "spawn"]


def _batches(rng, n=3):
    return [(rng.normal(size=3), 0.3, rng.normal(size=(5, 3)), rng.normal(size=5))
            for _ in range(n)]


def _plain_loss(w, b, X, y):
    return pf.loss.fn(w, b, X, y)


def _check_loss_grads(batches, grads):
    assert len(grads) == len(batches)
    for args, (gw, gb) in zip(batches, grads):
        assert_grad_close(gw, _plain_loss, args, 0)
        assert_grad_close(gb, _plain_loss, args, 1)


# ------------------------------------------------------------------ in this process

def test_a_decorated_function_unpickles_as_itself():
    assert pickle.loads(pickle.dumps(pf.loss)) is pf.loss
    assert pickle.loads(pickle.dumps(pf.curve)) is pf.curve


def test_the_pickle_names_the_function_and_holds_no_generated_code(rng):
    x = rng.normal(size=4)
    pf.loss.grad(*_batches(rng, 1)[0])          # compiled here: still not in the pickle
    srcad.grad(pf.energy)(x)
    for obj in (pf.loss, pf.loss.grad, srcad.grad(pf.energy)):
        data = pickle.dumps(obj)
        assert b"pickled_functions" in data and len(data) < 400, data
        assert b"_bar" not in data and b"def " not in data


def test_functional_forms_round_trip(rng):
    x = rng.normal(size=4)
    g = pickle.loads(pickle.dumps(srcad.grad(pf.energy)))
    assert_grad_close(g(x), pf.energy, (x,), 0)
    value, gx = pickle.loads(pickle.dumps(srcad.value_and_grad(pf.energy)))(x)
    assert value == pf.energy(x)
    assert_grad_close(gx, pf.energy, (x,), 0)
    J = pickle.loads(pickle.dumps(srcad.jacobian(pf.scaled, mode="forward")))(x, 1.5)
    fd_check_forward(pf.scaled, (x, 1.5), 0, rng)
    np.testing.assert_allclose(J, np.diag(1.5 / np.cosh(1.5 * x) ** 2), rtol=1e-12)
    dcurve = pickle.loads(pickle.dumps(srcad.derivative(pf.curve)))
    t = 0.7
    fd = (pf.curve(t + 1e-6) - pf.curve(t - 1e-6)) / 2e-6
    np.testing.assert_allclose(dcurve(t), fd, rtol=1e-7)


def test_options_survive_the_round_trip(rng):
    x = rng.normal(size=3)
    jk = pickle.loads(pickle.dumps(srcad.jacobian(pf.scaled, wrt="k")))
    assert jk.__name__ == "scaled_jacobian"
    fd = (pf.scaled(x, 0.8 + 1e-6) - pf.scaled(x, 0.8 - 1e-6)) / 2e-6
    np.testing.assert_allclose(jk(x, 0.8), fd, rtol=1e-7, atol=1e-9)
    d = pickle.loads(pickle.dumps(srcad.differentiate(pf.energy, wrt=("x",))))
    assert d.wrt == ("x",) and not d.single
    (gx,) = d.grad(x)
    assert_grad_close(gx, pf.energy, (x,), 0)
    aux = pickle.loads(pickle.dumps(srcad.grad(pf.with_aux, has_aux=True)))
    gx, n = aux(x)
    assert n == 3
    assert_grad_close(gx, lambda x: pf.with_aux(x)[0], (x,), 0)


def test_a_gradient_of_a_gradient_round_trips():
    gg = pickle.loads(pickle.dumps(srcad.grad(srcad.grad(pf.wobble))))
    t = 0.4
    g = srcad.grad(pf.wobble)
    fd = (g(t + 1e-6) - g(t - 1e-6)) / 2e-6
    assert abs(gg(t) - fd) < 1e-6


# ------------------------------------------------------------------ refusals

def test_a_lambda_cannot_be_pickled_and_the_error_names_it():
    square = lambda x: np.sum(x ** 2)         # noqa: E731
    line = square.__code__.co_firstlineno
    with pytest.raises(pickle.PicklingError,
                       match=rf"cannot pickle the srcad derivative of `test_a_lambda_cannot_be_"
                             rf"pickled_and_the_error_names_it\.<locals>\.<lambda>` of module "
                             rf"test_pickling \(.*test_pickling.py:{line}\): .* a lambda has no "
                             rf"name another process can import; define it with `def`"):
        pickle.dumps(srcad.grad(square))


def test_a_local_function_cannot_be_pickled_and_the_error_names_it():
    def local_energy(x):
        return np.sum(x ** 2)
    with pytest.raises(pickle.PicklingError,
                       match=r"`test_a_local_function_cannot_be_pickled_and_the_error_names_it"
                             r"\.<locals>\.local_energy`.*defined inside another function.*"
                             r"define it with `def` at module level"):
        pickle.dumps(srcad.differentiate(local_energy).grad)


def test_a_rebound_name_cannot_be_pickled(monkeypatch):
    original = pf.energy
    monkeypatch.setattr(pf, "energy", lambda x: x)
    with pytest.raises(pickle.PicklingError,
                       match=r"`energy` of module pickled_functions.*the name "
                             r"pickled_functions\.energy now holds another object"):
        pickle.dumps(srcad.grad(original))


# ------------------------------------------------------------------ worker processes

@pytest.mark.parametrize("method", METHODS)
def test_pool_map_of_a_decorated_functions_grad(method, rng):
    batches = _batches(rng)
    with multiprocessing.get_context(method).Pool(2) as pool:
        grads = pool.starmap(pf.loss.grad, batches)
    _check_loss_grads(batches, grads)


@pytest.mark.parametrize("method", METHODS)
def test_process_pool_executor_runs_the_functional_forms(method, rng):
    xs = [rng.normal(size=4) for _ in range(3)]
    context = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as ex:
        grads = list(ex.map(srcad.grad(pf.energy), xs))
        pairs = list(ex.map(srcad.value_and_grad(pf.energy), xs))
        hessians = list(ex.map(srcad.hessian(pf.energy), xs[:1]))
    for x, g, (v, g2) in zip(xs, grads, pairs):
        assert_grad_close(g, pf.energy, (x,), 0)
        assert_same_value(v, pf.energy(x))
        np.testing.assert_array_equal(g2, g)
    gradient = srcad.grad(pf.energy)
    np.testing.assert_allclose(hessians[0], np.array(
        [(gradient(xs[0] + 1e-6 * e) - gradient(xs[0] - 1e-6 * e)) / 2e-6
         for e in np.eye(4)]), rtol=1e-6, atol=1e-8)


def test_a_spawned_worker_loads_the_gradient_from_its_own_disk_cache(
        tmp_path, monkeypatch, rng):
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SRCAD_DISK_CACHE", raising=False)
    x = rng.normal(size=5)
    srcad.clear_cache()
    srcad.grad(pf.energy)(x)                 # compiled here, stored in tmp_path
    assert list(tmp_path.rglob("*")), "the parent stored nothing on disk"
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        g, stats = pool.apply(pf.stats_after, (x,))
    assert_grad_close(g, pf.energy, (x,), 0)
    assert stats["transforms"] == 0 and stats["disk_hits"] >= 1, stats


def test_joblib_parallel_when_installed(rng):
    joblib = pytest.importorskip("joblib")
    batches = _batches(rng, 2)
    grads = joblib.Parallel(n_jobs=2)(joblib.delayed(pf.loss.grad)(*b) for b in batches)
    _check_loss_grads(batches, grads)


@pytest.mark.slow
def test_the_pool_example_runs_as_written(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = os.path.join(root, "docs", "examples", "pool_gradients.py")
    r = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, SRCAD_CACHE_DIR=str(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("gradient over 8 batches: [")

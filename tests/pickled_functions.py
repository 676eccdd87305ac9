"""Module-level functions that the pickling, CLI and Dask tests send to other processes.

Worker processes (multiprocessing's spawn, a Dask worker, ``python -m srcad``) import
this module by name, so everything here is a module-level ``def``.
"""
import numpy as np

import srcad


def energy(x):
    return np.sum(np.sin(x) ** 2 + 0.5 * x ** 3)


@srcad.differentiate(wrt=("w", "b"))
def loss(w, b, X, y):
    r = X @ w + b - y
    return np.sum(r ** 2 + 0.1 * np.cos(r))


@srcad.differentiate
def curve(t):
    return np.array([np.sin(t), t * np.cos(t), t ** 2])


def wobble(t):
    return np.sin(t) * t ** 2


def scaled(x, k):
    return np.tanh(k * x)


def with_aux(x):
    v = np.sum(np.exp(x))
    return v, x.shape[0]


def least_squares(w, X, y):
    """A loss that is a sum over rows: the Dask tests shard X and y by rows."""
    r = np.tanh(X @ w) - y
    return np.sum(r ** 2)


def bias_loss(w, b, X, y):
    r = X @ w + b - y
    return np.sum(np.log(1.0 + r ** 2))


def examples():
    """Example arguments for ``python -m srcad ... --example``."""
    rng = np.random.default_rng(0)
    return (rng.normal(size=4), rng.normal(size=(6, 4)), rng.normal(size=6))


def stats_after(x):
    """Runs in a worker: the gradient, and how it was obtained (transform or disk)."""
    g = srcad.grad(energy)(x)
    return g, srcad.stats()

"""The canonical functions whose generated source is kept as golden snapshots.

They live in a module of their own so the ``# golden_functions.py:LINE``
comments in the snapshots (tests/golden/) only move when this file does.
Used by tests/test_golden.py and tests/test_buffers.py.
"""
from dataclasses import dataclass

import numpy as np


def rho(r):
    return np.exp(-3.0 * (r + 1.0))


def eam(x):
    p = np.sum(rho(x))
    return p**2 + p**3 + 0.25 * p**4


def mlp_loss(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    pred = h @ W2 + b2
    return np.mean((pred - y) ** 2)


def euler(k, c):
    dt = 0.01
    x, v = 1.0, 0.0
    for _ in range(100):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x * x + v * v


def bump(m, xs):
    return np.exp(-1.5 * (xs - m) ** 2)


def lj_energy(x):
    """Lennard-Jones energy (sigma = epsilon = 1) of n particles, x of shape (n, 3)."""
    n = x.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dx = x[i, 0] - x[j, 0]
            dy = x[i, 1] - x[j, 1]
            dz = x[i, 2] - x[j, 2]
            r2 = dx * dx + dy * dy + dz * dz
            s6 = 1.0 / (r2 * r2 * r2)
            e = e + 4.0 * (s6 * s6 - s6)
    return e


@dataclass
class Params:
    k: float
    x0: np.ndarray
    n: int


def spring(p, xs):
    d = xs - p.x0
    return 0.5 * p.k * np.sum(d * d) / p.n

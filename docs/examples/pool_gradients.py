"""Gradients of many batches in worker processes (python docs/examples/pool_gradients.py)."""
import multiprocessing

import numpy as np

import srcad


@srcad.differentiate(wrt="w")
def loss(w, X, y):
    return np.sum((np.tanh(X @ w) - y) ** 2)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    w = rng.normal(size=3)
    batches = [(w, rng.normal(size=(100, 3)), rng.normal(size=100)) for _ in range(8)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        grads = pool.starmap(loss.grad, batches)     # loss.grad pickles by reference
    total = sum(grads)
    assert np.allclose(total, sum(loss.grad(*b) for b in batches), rtol=1e-12)
    print("gradient over 8 batches:", np.round(total, 6))

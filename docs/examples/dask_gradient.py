"""The gradient of a loss summed over row shards, on a local Dask cluster
(python docs/examples/dask_gradient.py; needs pip install 'srcad[dask]')."""
import dask.array as da
import distributed
import numpy as np

import srcad
import srcad.dask


def loss(w, X, y):
    """A sum over the rows of X and y: the contract of srcad.dask."""
    return np.sum((np.tanh(X @ w) - y) ** 2)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    w = rng.normal(size=8)
    X, y = rng.normal(size=(100_000, 8)), rng.normal(size=100_000)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        dX = da.from_array(X, chunks=(12_500, -1))     # 8 shards of 12,500 rows
        dy = da.from_array(y, chunks=12_500)
        value, g = srcad.dask.value_and_grad(loss)(w, dX, dy)
    one_process = srcad.value_and_grad(loss)(w, X, y)
    assert np.isclose(value, one_process[0], rtol=1e-12)
    assert np.allclose(g, one_process[1], rtol=1e-12)
    print(f"loss {value:.6f}, gradient of shape {g.shape}, as in one process")

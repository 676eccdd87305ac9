"""srcad.dask next to one process: the gradient of a row-sum loss over sharded data.

    python bench/dask_shards.py                    # 2 worker processes, a few sizes
    python bench/dask_shards.py --workers 4 --rows 4000000 --shards 16

For each (shards x rows per shard) the gradient of a least-squares loss with a
tanh link is computed by ``srcad.dask.grad`` on a ``LocalCluster`` of worker
processes (data already on the workers: the arrays are persisted first) and by
``srcad.grad`` on the concatenated NumPy arrays in this process; both results
are compared first (to rounding), then the median wall time of a few calls of
each is printed as a Markdown row with their ratio.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))


def loss(w, X, y):
    r = np.tanh(X @ w) - y
    return np.sum(r ** 2)


def _median_time(call, rounds):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--rows", type=int, action="append",
                   help="total rows (repeatable; default 200000 and 2000000)")
    p.add_argument("--shards", type=int, default=8)
    p.add_argument("--rounds", type=int, default=5)
    ns = p.parse_args()
    import dask.array as da
    import distributed

    import srcad
    import srcad.dask

    rng = np.random.default_rng(0)
    w = rng.normal(size=ns.features) / np.sqrt(ns.features)
    print(f"| shards x rows per shard ({ns.features} features) | one process | "
          f"srcad.dask, {ns.workers} worker processes | ratio |")
    print("|---|---|---|---|")
    with distributed.LocalCluster(n_workers=ns.workers, threads_per_worker=1,
                                  processes=True, dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        for rows in ns.rows or [200_000, 2_000_000]:
            X = rng.normal(size=(rows, ns.features))
            y = rng.normal(size=rows)
            chunk = -(-rows // ns.shards)
            dX = da.from_array(X, chunks=(chunk, -1)).persist()
            dy = da.from_array(y, chunks=chunk).persist()
            single = srcad.grad(loss)
            sharded = srcad.dask.grad(loss)
            np.testing.assert_allclose(sharded(w, dX, dy), single(w, X, y), rtol=1e-9)
            t1 = _median_time(lambda: single(w, X, y), ns.rounds)
            tn = _median_time(lambda: sharded(w, dX, dy), ns.rounds)
            print(f"| {ns.shards} x {chunk:,} | {t1 * 1e3:.1f} ms | {tn * 1e3:.1f} ms | "
                  f"{tn / t1:.2f} |")


if __name__ == "__main__":
    main()

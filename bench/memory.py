"""Memory of srcad's gradients next to hand-written ones (make bench-memory).

    python bench/memory.py              # n = 10,000,000 (76 MiB per float64 array)
    python bench/memory.py --n 1000000

For each function, in MiB above what was live before (tracemalloc: NumPy reports
its array buffers to it):

- first call: the peak of the first gradient at this size (the code is compiled at
  a small size before, so this is the work buffers and the result, not compiling);
- warm call: the peak of the next call at the same size;
- hand-written: the peak of a hand-written NumPy gradient, written plainly;
- retained: what is still allocated once the call returned and its result was
  dropped (the work buffers srcad keeps for the next call, within its bound), and
  ``srcad.stats()["workspace_bytes"]``.

Each function starts from ``srcad.clear_cache()``: no buffer of another is held.
"""
import argparse
import gc
import os
import sys
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import workloads  # noqa: E402

MIB = 2.0 ** 20


def sincos(x):
    return np.sum(np.sin(x) * np.cos(x))


def sincos_grad_hand(x):
    s = np.sin(x)
    c = np.cos(x)
    return c * c - s * s


def root(x):
    y = x * x
    z = np.sqrt(y + 1.0)
    return np.sum(z * y)


def root_grad_hand(x):
    y = x * x
    z = np.sqrt(y + 1.0)
    return 2.0 * x * (z + 0.5 * y / z)


def tanh_mix(x):
    a = np.sin(x)
    b = np.exp(a)
    return np.sum(a * b + np.tanh(x) ** 2)


def tanh_mix_grad_hand(x):
    a = np.sin(x)
    b = np.exp(a)
    t = np.tanh(x)
    return (b + a * b) * np.cos(x) + 2.0 * t * (1.0 - t * t)


FUNCTIONS = [("eam", workloads.eam, workloads.eam_grad_hand),
             ("sin*cos", sincos, sincos_grad_hand),
             ("sqrt", root, root_grad_hand),
             ("tanh mix", tanh_mix, tanh_mix_grad_hand)]


def traced(call):
    """(peak MiB during ``call()``, MiB still allocated after it, its result dropped)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    return peak / MIB, kept / MIB


def measure(fn, hand, n):
    import srcad
    srcad.clear_cache()
    x = np.random.default_rng(workloads.SEED).uniform(0.0, 1.0, n)
    grad = srcad.grad(fn)
    np.testing.assert_allclose(grad(x[:100].copy()), hand(x[:100]), rtol=1e-10, atol=1e-12)
    srcad.clear_cache()
    grad(x[:10].copy())                              # compiled, with tiny buffers
    first, retained = traced(lambda: grad(x))
    warm, _ = traced(lambda: grad(x))
    hand_peak, _ = traced(lambda: hand(x))
    held = srcad.stats()["workspace_bytes"] / MIB
    srcad.clear_cache()
    return {"first call": first, "warm call": warm, "hand-written": hand_peak,
            "retained": retained, "workspace_bytes": held}


def table(n):
    rows = [(name, measure(fn, hand, n)) for name, fn, hand in FUNCTIONS]
    cols = ["first call", "warm call", "hand-written", "retained", "workspace_bytes"]
    lines = [f"Peak extra memory of one gradient at n={n:,} (tracemalloc, MiB; one float64 "
             f"array = {8 * n / MIB:.1f} MiB)", "",
             "| function | " + " | ".join(cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for name, r in rows:
        lines.append(f"| {name} | " + " | ".join(f"{r[c]:.1f}" for c in cols) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("SRCAD_DISK_CACHE", "0")
    print(table(args.n))


if __name__ == "__main__":
    main()

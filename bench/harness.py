"""Measuring tools for the benchmark: verification, interleaved timing, memory, cold start.

Every function here takes plain callables; nothing knows about srcad or the
peers. The runner (``run.py``) decides what to measure.
"""
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

# ---------------------------------------------------------------- verification

def leaves(x):
    """Flatten a gradient (float, array, tuple/list of them) into float64 arrays."""
    if isinstance(x, (tuple, list)):
        return [leaf for item in x for leaf in leaves(item)]
    return [np.asarray(x, dtype=np.float64)]


def mismatch(result, reference, rtol=1e-7, atol=1e-12):
    """None when ``result`` matches ``reference``, else a short reason.

    ``atol`` is relative to the largest entry of each reference part.
    """
    got, want = leaves(result), leaves(reference)
    if len(got) != len(want):
        return f"{len(got)} gradient parts, expected {len(want)}"
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        if a.shape != b.shape:
            return f"part {i}: shape {a.shape}, expected {b.shape}"
        atol_abs = atol * max(1.0, float(np.max(np.abs(b)))) if b.size else 0.0
        if not np.allclose(a, b, rtol=rtol, atol=atol_abs):
            worst = float(np.max(np.abs(a - b) / (atol_abs + rtol * np.abs(b))))
            return f"part {i}: off by {worst:.3g}x the tolerance"
    return None


# ---------------------------------------------------------------- timing

def _loop(call, number):
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            call()
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def calibrate(call, target):
    """Calls per timing batch so that one batch takes about ``target`` seconds."""
    number = 1
    while True:
        elapsed = _loop(call, number)
        if elapsed >= target or number >= 1_000_000:
            break
        number = max(number * 2, int(number * target / max(elapsed, 1e-9)) + 1)
    return max(1, math.ceil(number * target / max(elapsed, 1e-9)))


def time_interleaved(calls, rounds=7, target=0.05):
    """Median seconds per call for each ``{name: call}``, rounds interleaved.

    Each round times every method once, in an order rotated from round to
    round, so slow drifts of the machine hit all methods alike.
    """
    names = list(calls)
    numbers = {name: calibrate(calls[name], target) for name in names}
    samples = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            gc.collect()
            samples[name].append(_loop(calls[name], numbers[name]) / numbers[name])
    return {name: {"median_s": statistics.median(samples[name]),
                   "min_s": min(samples[name]),
                   "calls_per_round": numbers[name],
                   "rounds": rounds} for name in names}


# ---------------------------------------------------------------- memory

def peak_extra_mib(call, warm=True):
    """Peak traced memory of one call above what was live before it, in MiB.

    NumPy reports its array buffers to tracemalloc, so this counts every array
    the call allocates, including the returned gradient. Libraries with their
    own allocators (jax, torch, numba's runtime) are invisible to it.
    """
    if warm:
        call()  # first-call compilation and workspaces are not the steady state
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return (peak - base) / 2**20


def _status_kib(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def peak_rss_mib(call):
    """Peak resident memory of one (warm) call above the resident memory before it, in MiB.

    For allocators tracemalloc cannot see (numba's runtime). Linux only: the
    high-water mark is reset through /proc/self/clear_refs; page granular, so
    a few KiB of temporaries may show as 0. None where this is not available.
    """
    try:
        gc.collect()
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        base = _status_kib("VmRSS")
        result = call()
        peak = _status_kib("VmHWM")
    except OSError:
        return None
    del result
    return max(peak - base, 0) / 1024


# ---------------------------------------------------------------- cold and warm start

def run_child(argv, cache_dir, timeout=600):
    """Run ``python argv`` with ``SRCAD_CACHE_DIR=cache_dir``; its last output line is JSON."""
    env = dict(os.environ, SRCAD_CACHE_DIR=cache_dir)
    try:
        proc = subprocess.run([sys.executable, *argv], env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": f"unreadable child output: {lines[-1][:200]}"}


def cold_and_warm(argv):
    """The child ``argv`` run twice: on an empty cache dir, then on the same dir again."""
    with tempfile.TemporaryDirectory(prefix="srcad-bench-cache-") as cache_dir:
        cold = run_child(argv, cache_dir)
        files = sum(len(fs) for _, _, fs in os.walk(cache_dir))
        warm = run_child(argv, cache_dir)
    return {"cold": cold, "warm": warm, "cache_files_after_cold": files}

"""Bounded memory (issue 9, section 3): what srcad keeps between calls has a bound.

- Work buffers: one pool for the process, capped in bytes (``set_workspace_limit``,
  ``SRCAD_WORKSPACE_LIMIT``, default a small multiple of the largest recent call);
  a buffer is reused across shapes; ``clear_cache()`` frees them; ``stats()`` reports
  the bytes held. Retained memory is measured with tracemalloc (NumPy reports its
  allocations there).
- Functions: srcad holds no strong reference to a function it differentiated; a
  redefinition or a closure dropped by the user is freed (gc + weakref).
- Compiled code: an LRU bound on the specialisations kept in memory
  (``set_cache_limits(entries=...)``), a size and an age bound on the disk cache
  that removes only files srcad wrote.

Derivatives are checked against central differences (conftest's ``fd_check``).
"""
import gc
import linecache
import os
import threading
import time
import tracemalloc
import weakref

import numpy as np
import pytest

import srcad
from conftest import fd_check
from srcad import cache as disk

MIB = 1 << 20


def work_fn(x):
    """Work buffers shaped like ``x`` in its gradient, and nothing else allocated."""
    y = x * x
    z = np.sqrt(y + 1.0)
    return np.sum(z * y)


def other_fn(x):
    y = x * x
    z = np.sqrt(y + 2.0)
    return np.sum(z * y)


@pytest.fixture(autouse=True)
def _fresh_bounds():
    srcad.set_workspace_limit(None)
    srcad.set_cache_limits(entries=None, disk_bytes=None, disk_age=None)
    srcad.clear_cache()
    yield
    srcad.set_workspace_limit(None)
    srcad.set_cache_limits(entries=None, disk_bytes=None, disk_age=None)
    srcad.clear_cache()


def _numpy_bytes():
    domain = tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)
    return sum(t.size for t in tracemalloc.take_snapshot().filter_traces([domain]).traces)


def _retained(run):
    """NumPy bytes still allocated after ``run()`` returned (its results dropped)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = _numpy_bytes()
        run()
        gc.collect()
        return _numpy_bytes() - before
    finally:
        tracemalloc.stop()


def _fd_grad(fn, x, rng):
    """``srcad.grad(fn)(x)`` checked by central differences along a random direction."""
    g = srcad.grad(fn)(x)
    v = rng.standard_normal(x.shape)
    eps = 1e-6
    fd = (fn(x + eps * v) - fn(x - eps * v)) / (2 * eps)
    assert np.isclose(np.vdot(g, v), fd, rtol=1e-5, atol=1e-7 * (1 + x.size))
    return g


# ======================================================================== work buffers

def test_work_memory_stays_under_the_configured_bound_across_1500_shapes(rng):
    limit = 256 << 10
    srcad.set_workspace_limit(limit)
    grad = srcad.grad(work_fn)
    grad(np.ones(3))                               # compiled before measuring
    held = []

    def run():
        for k in range(1500):
            n = 1 + (k * 7919) % 3000              # 1,500 shapes, up to 72 KB a buffer
            grad(np.full(n, 0.25))
            held.append(srcad.stats()["workspace_bytes"])
    retained = _retained(run)
    assert max(held) <= limit
    assert retained <= limit + (64 << 10), retained       # was 36 MiB: every shape kept
    # and the gradients are right after all that reuse, at a large and a small shape
    _fd_grad(work_fn, rng.uniform(-1, 1, 2999), rng)
    _fd_grad(work_fn, rng.uniform(-1, 1, 5), rng)


def test_default_bound_is_a_small_multiple_of_the_largest_recent_call(rng):
    grad = srcad.grad(work_fn)
    grad(np.ones(1000))
    slots = srcad.stats()["workspace_bytes"] // 8000     # buffers its gradient takes
    assert slots >= 3
    sizes = [100_000 + 37 * k for k in range(100)]     # 100 shapes of ~100k elements
    retained = _retained(lambda: [grad(np.full(n, 0.1)) for n in sizes])
    st = srcad.stats()
    largest_call = slots * 8 * max(sizes)
    assert st["workspace_limit"] == max(16 * MIB, 2 * largest_call)
    assert st["workspace_bytes"] <= st["workspace_limit"]
    assert retained <= largest_call                      # was 305 MiB: one set per shape
    _fd_grad(work_fn, rng.uniform(-1, 1, sizes[-1]), rng)


def test_a_smaller_shape_reuses_the_buffers_of_a_larger_one():
    # the NumPy backend's work buffers (under SRCAD_BACKEND=auto a loop-free numba
    # specialisation's first large calls time both codes, and the NumPy code's first call
    # of a size takes its buffers: srcad/numba_wide.py)
    grad = srcad.grad(work_fn, backend="numpy")
    big, small = np.full(4000, 0.3), np.full(1000, 0.3)
    out_big, out_small = np.empty(4000), np.empty(1000)
    grad(big, out=out_big)
    held = srcad.stats()["workspace_bytes"]
    assert held >= 3 * 8 * 4000
    tracemalloc.start()
    try:
        grad(small, out=out_small)                     # a view of the larger buffers
        grad(big, out=out_big)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(5):                             # alternating shapes, out= given
            grad(small, out=out_small)
            grad(big, out=out_big)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1000, peak                       # no array allocated per call
    assert srcad.stats()["workspace_bytes"] == held
    np.testing.assert_allclose(out_small, srcad.grad(work_fn)(small.copy()), rtol=1e-15)
    np.testing.assert_allclose(out_big, srcad.grad(work_fn)(big.copy()), rtol=1e-15)


def _peak(call):
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        return result, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def summed_fn(x):
    """``x`` reaches the result by two statements: its gradient is a sum of two arrays."""
    y = 3.0 * x
    z = np.sqrt(y + 1.0)
    return np.sum(z * x)


@pytest.mark.numpy_backend      # the NumPy backend's buffers and references
def test_a_gradient_summed_over_statements_is_added_in_place(rng):
    # x_bar = seed * z; x_bar = x_bar + t: the second adds into the first's array
    x = rng.uniform(0.1, 1.0, 100_000)
    grad = srcad.grad(summed_fn)
    grad(x[:10].copy())
    slots = srcad.stats()["workspace_bytes"] // 80
    g1, first = _peak(lambda: grad(x))
    g2, warm = _peak(lambda: grad(x))
    assert warm < 1.2 * x.nbytes, warm                 # one result (was two)
    assert first < (slots + 1.2) * x.nbytes, first     # the buffers and one result
    assert "out=x_acc" in srcad.source(summed_fn, x)
    np.testing.assert_array_equal(g1, g2)
    _fd_grad(summed_fn, x, rng)
    out = np.empty_like(x)
    assert grad(x, out=out) is out
    np.testing.assert_array_equal(out, g1)
    x32 = x.astype(np.float32)
    g32 = grad(x32)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g1, rtol=1e-5)


def early(x, y, s):
    v = (y + y) + y
    if s > 0.38:
        return np.sum(np.sin(x))
    y = y * (1.0 + 0.3 * np.tanh(y))
    return np.sum(y) + np.sum(v) + np.sum(np.sin(x)) - np.mean(v)


@pytest.mark.parametrize("s", [0.5, 0.1])
def test_adding_in_place_into_a_zero_placeholder_makes_a_new_array(s, rng):
    # y's gradient starts as 0.0 and stays a scalar when the early return is taken
    x, y = rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)
    fd_check(early, (x, y, s), (0, 1), rng)
    out = (np.full(2, np.nan), np.full(2, np.nan))
    got = srcad.grad(early, wrt=(0, 1))(x, y, s, out=out)
    assert got is out
    want = srcad.grad(early, wrt=(0, 1))(x, y, s)
    np.testing.assert_array_equal(out[0], want[0])
    np.testing.assert_array_equal(out[1], want[1])


def test_results_never_alias_the_pooled_buffers():
    grad = srcad.grad(work_fn)
    x = np.random.default_rng(1).uniform(-1, 1, 500)
    g1 = grad(x)
    g2 = grad(x[:200].copy())
    g3 = grad(x)
    assert not np.shares_memory(g1, g3) and not np.shares_memory(g2, g3)
    np.testing.assert_array_equal(g1, g3)
    np.testing.assert_allclose(g2, g1[:200], rtol=1e-15)


def test_clear_cache_frees_the_work_buffers():
    grad = srcad.grad(work_fn)
    x = np.full(50_000, 0.2)
    grad(np.ones(3))
    tracemalloc.start()
    try:
        grad(x)
        held = srcad.stats()["workspace_bytes"]
        before = _numpy_bytes()
        srcad.clear_cache()
        gc.collect()
        freed = before - _numpy_bytes()
    finally:
        tracemalloc.stop()
    assert held >= 3 * 8 * 50_000
    assert srcad.stats()["workspace_bytes"] == 0
    assert freed >= held, (freed, held)                # the memory itself is released


def test_a_call_over_the_bound_is_right_and_keeps_nothing(rng):
    srcad.set_workspace_limit(0)
    x = rng.uniform(-1, 1, 300)
    g = _fd_grad(work_fn, x, rng)
    assert srcad.stats()["workspace_bytes"] == 0
    out = np.empty(300)
    assert srcad.grad(work_fn)(x, out=out) is out
    np.testing.assert_array_equal(out, g)


def test_lowering_the_bound_drops_buffers_now():
    srcad.grad(work_fn)(np.full(20_000, 0.1))
    assert srcad.stats()["workspace_bytes"] > 100_000
    srcad.set_workspace_limit(100_000)
    assert srcad.stats()["workspace_bytes"] <= 100_000


def test_the_least_recently_grown_function_gives_its_buffers_up_first():
    srcad.grad(work_fn)(np.full(10_000, 0.1))
    one = srcad.stats()["workspace_bytes"]          # both functions take as much
    srcad.set_workspace_limit(2 * one)
    srcad.grad(other_fn)(np.full(10_000, 0.1))
    assert srcad.stats()["workspace_bytes"] == 2 * one
    srcad.grad(other_fn)(np.full(20_000, 0.1))      # grows: work_fn's buffers are dropped
    assert srcad.stats()["workspace_bytes"] == 2 * one
    for _ in range(5):      # warm (under numba: its first large calls choose their code once)
        srcad.grad(other_fn)(np.full(20_000, 0.1), out=np.empty(20_000))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        srcad.grad(other_fn)(np.full(20_000, 0.1), out=np.empty(20_000))
        srcad.grad(other_fn)(np.full(5_000, 0.1), out=np.empty(5_000))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 4096                              # other_fn kept its buffers


def test_workspace_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("SRCAD_WORKSPACE_LIMIT", "64K")
    assert srcad.stats()["workspace_limit"] == 64 << 10
    for n in (1000, 2000, 3000, 1500):
        srcad.grad(work_fn)(np.full(n, 0.4))
        assert srcad.stats()["workspace_bytes"] <= 64 << 10
    monkeypatch.setenv("SRCAD_WORKSPACE_LIMIT", "lots")
    with pytest.raises(ValueError, match="SRCAD_WORKSPACE_LIMIT='lots' is not a size"):
        srcad.stats()


def test_set_workspace_limit_names_its_argument():
    with pytest.raises(TypeError, match="nbytes must be an int"):
        srcad.set_workspace_limit(1.5)
    with pytest.raises(ValueError, match="nbytes must be >= 0"):
        srcad.set_workspace_limit(-1)


def test_threads_keep_their_own_buffers_within_the_bound():
    srcad.set_workspace_limit(1 * MIB)
    grad = srcad.grad(work_fn)
    xs = [np.random.default_rng(k).uniform(-1, 1, 2000 + 500 * k) for k in range(4)]
    expected = [grad(x) for x in xs]
    errors = []

    def worker(k):
        for _ in range(30):
            if not np.array_equal(grad(xs[k]), expected[k]):
                errors.append(k)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    gc.collect()
    assert srcad.stats()["workspace_bytes"] <= 1 * MIB


# ======================================================================== functions held weakly

def _define(name, text):
    """A function defined by running ``text`` (as a notebook cell or a reload does)."""
    filename = f"<test_memory_bounds {name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {"np": np, "__name__": __name__}
    exec(compile(text, filename, "exec"), namespace)
    return namespace[name]


def _redefine(k):
    return _define("f", "def f(x):\n    return np.sum(np.sin(x) * x)\n")


@pytest.mark.numpy_backend      # the NumPy backend's buffers and references
def test_redefined_functions_are_freed():
    x = np.linspace(0.1, 0.9, 5)
    refs = []
    for k in range(1000):
        f = _redefine(k)
        g = srcad.grad(f)(x)
        refs.append(weakref.ref(f))
    np.testing.assert_allclose(g, np.sin(x) + x * np.cos(x), rtol=1e-14)
    del f
    gc.collect()
    assert sum(r() is not None for r in refs) == 0     # was 1,000 until clear_cache()


def test_closures_of_a_factory_are_freed(rng):
    def make(c):
        def h(x):
            return np.sum(np.exp(c * x))
        return h
    refs = []
    for k in range(50):
        h = make(0.1 * k)
        if k == 49:
            _fd_grad(h, rng.uniform(-1, 1, 4), rng)
        srcad.jacobian(h)(np.ones(3))
        srcad.value_and_grad(h)(np.ones(3))
        refs.append(weakref.ref(h))
    del h
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


def test_a_live_function_keeps_its_compiled_code():
    def f(x):
        return np.sum(x ** 3)
    x = np.ones(4)
    for _ in range(20):
        srcad.grad(f)(x)
    before = srcad.stats()["transforms"]
    gc.collect()
    np.testing.assert_allclose(srcad.grad(f)(x), 3 * x ** 2)
    assert srcad.stats()["transforms"] == before         # still compiled, not redone


def test_a_copy_of_a_functions_dict_does_not_share_its_derivatives():
    def f(x):
        return np.sum(x ** 2)

    def g(x):
        return 3.0 * np.sum(x ** 2)
    srcad.grad(f)(np.ones(2))
    g.__dict__.update(f.__dict__)                   # as functools.wraps does
    np.testing.assert_allclose(srcad.grad(g)(np.ones(2)), [6.0, 6.0])
    np.testing.assert_allclose(srcad.grad(f)(np.ones(2)), [2.0, 2.0])


# ======================================================================== compiled code

def _family(k):
    return _define(f"f{k}", f"def f{k}(x):\n    return np.sum(np.cos(x) * {k + 1}.0)\n")


def test_compiled_specialisations_in_memory_are_bounded(rng):
    srcad.set_cache_limits(entries=5)
    fns = [_family(k) for k in range(20)]
    x = rng.uniform(-1, 1, 3)
    for f in fns:
        srcad.grad(f)(x)
        assert srcad.stats()["compiled"] <= 5
    d = srcad.differentiate(fns[0])
    d.grad(x)
    assert len(d.signatures) == 1
    for f in fns[1:10]:
        srcad.grad(f)(x)
    assert d.signatures == []                          # the least recently used: dropped
    st = srcad.stats()
    g = d.grad(x)                                      # compiled (or read) again, right
    after = srcad.stats()
    assert after["transforms"] + after["disk_hits"] == st["transforms"] + st["disk_hits"] + 1
    fd_check(fns[0], (x,), 0, rng)
    np.testing.assert_allclose(g, -np.sin(x), rtol=1e-14)


def test_set_cache_limits_checks_and_reports():
    got = srcad.set_cache_limits(entries=7, disk_bytes=1 << 20, disk_age=3600.0)
    assert got == {"entries": 7, "disk_bytes": 1 << 20, "disk_age": 3600.0}
    assert srcad.set_cache_limits(entries=None)["entries"] == 512
    with pytest.raises(TypeError, match="entries must be an int"):
        srcad.set_cache_limits(entries="10")
    with pytest.raises(ValueError, match="disk_bytes must be >= 0"):
        srcad.set_cache_limits(disk_bytes=-5)


def _cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(folder))
    monkeypatch.delenv("SRCAD_DISK_CACHE", raising=False)
    return folder


def _entries(folder):
    return sorted(p for p in folder.iterdir() if p.name.startswith("srcad-")
                  and p.name.endswith(".json") and p.is_file() and not p.is_symlink())


def test_disk_cache_size_is_bounded(tmp_path, monkeypatch, rng):
    folder = _cache_dir(tmp_path, monkeypatch)
    x = rng.uniform(-1, 1, 3)
    srcad.grad(_family(0))(x)
    one = sum(p.stat().st_size for p in _entries(folder))
    bound = int(4.5 * one)
    srcad.set_cache_limits(disk_bytes=bound)
    for k in range(1, 30):
        srcad.grad(_family(k))(x)
        assert sum(p.stat().st_size for p in _entries(folder)) <= bound
    assert 1 <= len(_entries(folder)) <= 4                # was one file per signature
    # the newest entry stays and is served to a new process's function
    before = srcad.stats()["disk_hits"]
    from srcad import bounds
    bounds.clear()
    fd_check(_family(29), (x,), 0, rng)
    assert srcad.stats()["disk_hits"] > before


def test_writes_scan_the_directory_only_when_a_bound_may_be_passed(tmp_path, monkeypatch,
                                                                      rng):
    """A write prunes when the process's writes may have passed the size bound, when the
    bounds or the directory change, or after a minute; not on every write (each scan
    costs in proportion to the entries already there)."""
    folder = _cache_dir(tmp_path, monkeypatch)
    scans = []
    real = disk.prune
    monkeypatch.setattr(disk, "prune", lambda f=None: (scans.append(f), real(f)))
    x = rng.uniform(-1, 1, 3)
    for k in range(8):
        srcad.grad(_family(k))(x)
    assert len(_entries(folder)) == 8
    assert len(scans) == 1                      # the first write in this directory only
    one = max(p.stat().st_size for p in _entries(folder))
    total = sum(p.stat().st_size for p in _entries(folder))
    srcad.set_cache_limits(disk_bytes=total + 2 * one)      # room for about two more
    for k in range(8, 16):
        srcad.grad(_family(k))(x)
        assert sum(p.stat().st_size for p in _entries(folder)) <= total + 2 * one
    assert 2 <= len(scans) <= 6                 # pruned to 9/10 of the bound: not every write
    monkeypatch.setattr(disk, "_PRUNE_EVERY", 0.0)          # a minute has passed
    before = len(scans)
    srcad.grad(_family(16))(x)
    assert len(scans) == before + 1
    other = _cache_dir(tmp_path / "other", monkeypatch)     # another directory
    monkeypatch.setattr(disk, "_PRUNE_EVERY", 60.0)
    srcad.grad(_family(17))(x)
    assert len(scans) == before + 2 and scans[-1] == other


def test_disk_cache_age_bound_and_stale_temporaries(tmp_path, monkeypatch, rng):
    folder = _cache_dir(tmp_path, monkeypatch)
    x = rng.uniform(-1, 1, 3)
    for k in range(3):
        srcad.grad(_family(k))(x)
    old = _entries(folder)
    assert len(old) == 3
    past = time.time() - 10 * 86400
    for p in old[:2]:
        os.utime(p, (past, past))
    stale = folder / ".srcad-tmp-crashed"
    stale.write_bytes(b"x")
    os.utime(stale, (past, past))
    fresh = folder / ".srcad-tmp-writing"
    fresh.write_bytes(b"x")
    srcad.set_cache_limits(disk_age=86400.0)
    disk.prune()
    assert _entries(folder) == old[2:]
    assert not stale.exists() and fresh.exists()        # another process may be writing it


def test_pruning_removes_only_files_srcad_wrote(tmp_path, monkeypatch, rng):
    folder = _cache_dir(tmp_path, monkeypatch)
    srcad.grad(_family(0))(rng.uniform(-1, 1, 3))
    outside = tmp_path / "precious.json"
    outside.write_text("keep me")
    name = "srcad-" + "ab" * 16 + ".json"
    (folder / name).symlink_to(outside)                         # a link with our name
    (folder / ("srcad-" + "cd" * 16 + ".json")).mkdir()         # a directory with our name
    shared = folder / ("srcad-" + "ef" * 16 + ".json")
    shared.write_text("{}")
    shared.chmod(0o666)                                         # writable by others
    user = folder / "notes.json"
    user.write_text("mine")
    past = time.time() - 400 * 86400
    for p in (outside, shared, user):
        os.utime(p, (past, past))
    os.utime(folder / name, (past, past), follow_symlinks=False)
    srcad.set_cache_limits(disk_bytes=0, disk_age=0.0)
    disk.prune()
    assert _entries(folder) == [shared]                         # srcad's own entry is gone
    assert outside.read_text() == "keep me" and user.read_text() == "mine"
    assert (folder / name).is_symlink() and (folder / ("srcad-" + "cd" * 16 + ".json")).is_dir()


def test_disk_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("SRCAD_CACHE_MAX_BYTES", "2M")
    monkeypatch.setenv("SRCAD_CACHE_MAX_AGE", "7d")
    assert (disk.max_bytes(), disk.max_age()) == (2 << 20, 7 * 86400)
    monkeypatch.setenv("SRCAD_CACHE_MAX_AGE", "soon")
    with pytest.raises(ValueError, match="SRCAD_CACHE_MAX_AGE='soon' is not a duration"):
        disk.max_age()


# ======================================================================== fork

@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_while_the_pools_are_locked_does_not_hang():
    from srcad import bounds, workspace
    held, release = threading.Event(), threading.Event()

    def holder():
        with workspace._LOCK, bounds._LOCK:
            held.set()
            release.wait(30)
    t = threading.Thread(target=holder)
    t.start()
    held.wait(30)
    pid = os.fork()
    if pid == 0:                                   # grows a buffer, compiles a function
        code = 2
        try:
            g = srcad.grad(other_fn)(np.full(777, 0.5))
            code = 0 if g.shape == (777,) and np.isfinite(g).all() else 1
        finally:
            os._exit(code)
    release.set()
    t.join()
    deadline = time.time() + 60
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on srcad's pool lock")
    assert os.waitstatus_to_exitcode(status) == 0

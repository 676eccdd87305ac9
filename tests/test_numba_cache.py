"""numba's on-disk cache of generated modules is trusted like srcad's own entries.

Each case builds the gradient once (numba compiles and writes its signed files), then
does something to the files, builds the gradient again from a clean srcad cache (a new
njit dispatcher reading the same files) and checks what numba loaded: the gradient is
checked against central differences, the dispatcher's hit/miss counters say whether a
file was used, and a pickle that runs code when loaded leaves a marker if it is ever
unpickled.
"""
import os
import pickle
import shutil

import numpy as np
import pytest

import srcad
from srcad import cache as disk
from conftest import need_numba

need_numba()


def damped(k, c):
    x, v = 1.0, 0.0
    for _ in range(50):
        a = -k * x - c * v
        v = v + 0.01 * a
        x = x + 0.01 * v
    return x * x + 0.5 * v


def other(k, c):
    return k * k * c + np.sin(c)


class Payload:
    """Unpickling this makes the folder ``path``: proof that a file was loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SRCAD_DISK_CACHE", raising=False)
    srcad.clear_cache()
    yield tmp_path / "cache"
    srcad.clear_cache()


def _build(fn=damped):
    """A fresh build of ``fn``'s numba gradient: (gradient at (2.0, 0.3), hits, misses).
    srcad's caches are cleared; numba's files (which ``clear_cache`` removes too) are
    put back as they were."""
    top = disk.directory()
    kept = top.parent / "kept-numba"
    if (top / "numba").exists():
        shutil.copytree(top / "numba", kept, symlinks=True)
    srcad.clear_cache()
    if kept.exists():
        shutil.rmtree(top / "numba")
        os.rename(kept, top / "numba")
    f = srcad.differentiate(fn, wrt=("k", "c"), backend="numba")
    g = f.grad(2.0, 0.3)
    compiled = f.compiled("grad", 2.0, 0.3)
    assert compiled.__srcad_backend__ == "numba"
    stats = compiled.core.stats
    return g, sum(stats.cache_hits.values()), sum(stats.cache_misses.values())


def _files(folder, suffix, name="damped-"):
    return sorted(p for p in (folder / "numba" / "__pycache__").glob(f"{name}*{suffix}"))


def _check(g, seed=0):
    """``g`` against a central difference of ``damped`` along a random direction."""
    v = np.random.default_rng(seed).standard_normal(2)
    eps = 1e-6
    slope = (damped(2.0 + eps * v[0], 0.3 + eps * v[1])
             - damped(2.0 - eps * v[0], 0.3 - eps * v[1])) / (2 * eps)
    assert np.dot(g, v) == pytest.approx(slope, rel=1e-6, abs=1e-9)


def test_signed_files_serve_a_new_dispatcher(cache_dir):
    g0, hits, misses = _build()
    assert (hits, misses) == (0, 1)
    g1, hits, misses = _build()
    assert (hits, misses) == (1, 0)          # the check below can see a load
    assert g1 == g0
    _check(g1)
    for path in _files(cache_dir, ".nb*"):
        assert path.read_bytes().startswith(b"srcad-numba ")
        assert oct(path.stat().st_mode & 0o077) == "0o0"


@pytest.mark.parametrize("how", ["numba's own format", "a wrong signature", "edited payload"])
def test_a_foreign_or_edited_data_file_is_never_unpickled(cache_dir, tmp_path, how):
    _build()
    marker = tmp_path / "loaded"
    evil = pickle.dumps(Payload(str(marker)))
    (data,) = _files(cache_dir, ".nbc")
    if how == "numba's own format":
        data.write_bytes(evil)
    elif how == "a wrong signature":
        data.write_bytes(b"srcad-numba " + b"0" * 64 + b"\n" + evil)
    else:
        head, _, payload = data.read_bytes().partition(b"\n")
        data.write_bytes(head + b"\n" + evil + payload[len(evil):])
    g, hits, misses = _build()
    assert not marker.exists()
    assert (hits, misses) == (0, 1)
    _check(g)


def test_a_signed_file_of_another_function_is_not_taken(cache_dir):
    """Signed by this key but written under another name: the name is signed too."""
    _build()
    _build(other)
    (mine,) = _files(cache_dir, ".nbc")
    (theirs,) = _files(cache_dir, ".nbc", name="other-")
    shutil.copyfile(theirs, mine)
    g, hits, misses = _build()
    assert (hits, misses) == (0, 1)
    _check(g)


def test_files_signed_in_another_cache_directory_are_not_taken(cache_dir, tmp_path,
                                                                monkeypatch):
    _build()
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(elsewhere))
    _build()                                    # makes elsewhere's own key
    shutil.rmtree(elsewhere / "numba")
    shutil.copytree(cache_dir / "numba", elsewhere / "numba")
    g, hits, misses = _build()
    assert (hits, misses) == (0, 1)
    _check(g)


def test_a_symlinked_index_is_not_followed(cache_dir, tmp_path):
    _build()
    (index,) = _files(cache_dir, ".nbi")
    moved = tmp_path / "index-copy"
    shutil.copyfile(index, moved)
    index.unlink()
    index.symlink_to(moved)
    g, hits, misses = _build()
    assert (hits, misses) == (0, 1)
    _check(g)


def test_a_folder_others_can_write_is_not_used(cache_dir):
    _build()
    os.chmod(cache_dir / "numba", 0o777)
    try:
        with pytest.warns(RuntimeWarning, match="numba folder writable by others"):
            g, hits, misses = _build()
    finally:
        os.chmod(cache_dir / "numba", 0o700)
    assert (hits, misses) == (0, 1)
    _check(g)


def test_numbas_cache_settings_do_not_move_the_files(cache_dir, tmp_path, monkeypatch):
    from numba.core import config
    elsewhere = tmp_path / "numba-cache-dir"
    monkeypatch.setattr(config, "CACHE_DIR", str(elsewhere))
    monkeypatch.setattr(config, "CACHE_LOCATOR_CLASSES", "UserWideCacheLocator",
                        raising=False)
    _build()
    assert not elsewhere.exists()
    assert len(_files(cache_dir, ".nbi")) == 1
    _, hits, _ = _build()
    assert hits == 1


def test_clear_cache_removes_numbas_files_and_nothing_else(cache_dir):
    _build()
    mine = cache_dir / "numba" / "notes.txt"
    mine.write_text("not srcad's")
    assert _files(cache_dir, ".nb*") and list((cache_dir / "numba").glob("damped-*.py"))
    srcad.clear_cache()
    assert not list((cache_dir / "numba").rglob("*.nb*"))
    assert not list((cache_dir / "numba").glob("damped-*.py"))
    assert mine.read_text() == "not srcad's"


def test_a_module_file_removed_before_numba_reads_it_costs_only_the_cache(cache_dir,
                                                                          monkeypatch):
    """Another process's clear_cache() may remove the generated module's file between
    its writing and numba's reading its stamp: compiled in memory, right gradient."""
    from srcad import numba_backend
    written = numba_backend._file_for

    def then_removed(*args):
        path, where, secret = written(*args)
        os.unlink(path)
        return path, where, secret

    monkeypatch.setattr(numba_backend, "_file_for", then_removed)
    g, hits, misses = _build()
    assert (hits, misses) == (0, 1)
    assert not _files(cache_dir, ".nb*")
    _check(g)


def spread(x, w):
    """Array code that calls the runtime's typed helpers (an operand broadcast along an
    axis, a loop with records) inside the compiled core."""
    y = np.tanh(x * w + 0.5)
    q = np.sum(y * y)
    t = 0.0
    for _ in range(3):
        t = np.tanh(t) + q
    return t + np.sum(y * w)


def test_nothing_is_cached_where_numbas_settings_point(tmp_path):
    """srcad's runtime helpers are compiled into the core that calls them (its files
    signed in srcad's folder) or kept in memory: a process never writes, so never
    reads, numba's unsigned pickles in ``NUMBA_CACHE_DIR`` (another user may be able to
    write there)."""
    import subprocess
    import sys
    elsewhere = tmp_path / "numba-cache-dir"
    elsewhere.mkdir()
    here = os.path.dirname(os.path.abspath(__file__))
    script = (
        "import sys; sys.path.insert(0, %r)\n"
        "import numpy as np, srcad, test_numba_cache as t\n"
        "x = np.linspace(0.1, 1.0, 12).reshape(4, 3); w = np.array([[0.5, -1.0, 2.0]])\n"
        "g = srcad.differentiate(t.spread, wrt=(0, 1), backend='numba').grad(x, w)\n"
        "d = srcad.differentiate(t.damped, wrt=('k', 'c'), backend='numba').grad(2.0, 0.3)\n"
        "print(repr([a.tolist() for a in g] + [list(d)]))\n" % here)
    env = dict(os.environ, SRCAD_CACHE_DIR=str(tmp_path / "cache"), NUMBA_CACHE_DIR=str(elsewhere))
    env.pop("SRCAD_DISK_CACHE", None)
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                         capture_output=True, text=True).stdout.splitlines()[-1]
    assert sorted(p.name for p in elsewhere.rglob("*")) == []
    assert list((tmp_path / "cache").rglob("*.nbi"))     # (the test helpers' folder per worker)
    gx, gw, gd = eval(out)
    x = np.linspace(0.1, 1.0, 12).reshape(4, 3)
    w = np.array([[0.5, -1.0, 2.0]])
    rng = np.random.default_rng(3)
    vx, vw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    eps = 1e-6
    slope = (spread(x + eps * vx, w + eps * vw) - spread(x - eps * vx, w - eps * vw)) / (2 * eps)
    assert np.sum(np.array(gx) * vx) + np.sum(np.array(gw) * vw) == pytest.approx(slope, rel=1e-6)
    _check(gd)

"""The disk cache is code: the attacks on it fail.

A cache entry holds source that srcad compiles and runs. Each test plants what an
attacker could (another user's entry or directory, a world-writable directory, an
edited or copied entry, a FIFO, a file name or function name carrying code), shows
that no planted code runs (it would create a marker file) and that the gradient is
still right; the last ones show that ``clear_cache`` deletes only srcad's own files,
that a failed write leaves no temporary behind and that the disk cache can be off.
The suite runs as root: "another user" is uid 65534 given with ``os.chown``.
"""
import hashlib
import hmac
import json
import linecache
import os
import re
import stat
import subprocess
import sys

import numpy as np
import pytest

import srcad
from srcad import cache as disk
from conftest import assert_grad_close

OTHER_UID = 65534
ENTRY = re.compile(r"srcad-[0-9a-f]{32}\.json")


def poly(x):
    return np.sum(np.sin(x) * x) + np.sum(x ** 3)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(path))
    monkeypatch.delenv("SRCAD_DISK_CACHE", raising=False)
    yield path
    srcad.clear_cache()


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "INJECTED"
    yield path
    assert not path.exists(), "code planted in the cache ran"


def entries(folder):
    return sorted(p for p in folder.iterdir() if ENTRY.fullmatch(p.name))


def read_entry(path):
    head, body = path.read_bytes().split(b"\n", 1)
    return json.loads(body)


def write_signed(path, entry, key_dir):
    """Write ``entry`` signed with the key of ``key_dir``: what srcad itself writes."""
    key = (key_dir / "srcad-key").read_bytes()
    body = json.dumps(entry, sort_keys=True).encode()
    mac = hmac.new(key, body, hashlib.sha256).hexdigest()
    path.write_bytes(b"srcad-cache %d %s\n" % (disk.FORMAT, mac.encode()) + body)


def inject(entry, marker):
    """The entry with a statement creating ``marker`` at the top of its factory."""
    first, rest = entry["source"].split("\n", 1)
    payload = f"    open({str(marker)!r}, 'w').close()\n"
    return dict(entry, source=first + "\n" + payload + rest)


def fresh_grad(fn, x):
    """The gradient from a new Differentiable: its first call looks in the disk cache."""
    before = srcad.stats()
    g = srcad.differentiate(fn).grad(x)
    after = srcad.stats()
    return g, after["disk_hits"] - before["disk_hits"], after["transforms"] - before["transforms"]


def planted(cache_dir, marker, rng):
    """A cache holding one valid entry for ``poly`` whose source would create ``marker``,
    correctly signed; returns ``x``."""
    x = rng.uniform(-1, 1, 5)
    srcad.differentiate(poly).grad(x)
    (path,) = entries(cache_dir)
    write_signed(path, inject(read_entry(path), marker), cache_dir)
    return x


@pytest.mark.numpy_backend      # the NumPy backend's disk entries
def test_the_planted_entry_would_run_if_trusted(cache_dir, tmp_path, rng):
    """The control for the tests below: an entry of ours, signed with our key, is run."""
    marker = tmp_path / "RAN"
    x = planted(cache_dir, marker, rng)
    g, hits, _ = fresh_grad(poly, x)
    assert hits == 1 and marker.exists()
    assert_grad_close(g, poly, (x,), 0)


def test_directory_key_and_entries_are_private(cache_dir, rng, monkeypatch):
    cache_dir = cache_dir / "made" / "by-srcad"
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(cache_dir))
    old = os.umask(0)
    try:
        srcad.differentiate(poly).grad(rng.uniform(-1, 1, 4))
    finally:
        os.umask(old)
    for folder in (cache_dir, cache_dir.parent, cache_dir.parent.parent):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(cache_dir / "srcad-key").st_mode) == 0o600
    (path,) = entries(cache_dir)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_entry_of_another_user_is_not_run(cache_dir, marker, rng):
    x = planted(cache_dir, marker, rng)
    (path,) = entries(cache_dir)
    os.chown(path, OTHER_UID, OTHER_UID)
    with pytest.warns(RuntimeWarning, match="owned by another user"):
        g, hits, transforms = fresh_grad(poly, x)
    assert hits == 0 and transforms == 1
    assert_grad_close(g, poly, (x,), 0)


@pytest.mark.parametrize("attack", ["other owner", "world-writable"])
def test_unsafe_directory_is_not_used(cache_dir, marker, rng, attack):
    x = planted(cache_dir, marker, rng)
    if attack == "other owner":
        os.chown(cache_dir, OTHER_UID, OTHER_UID)
    else:
        os.chmod(cache_dir, 0o777)
    before = sorted(os.listdir(cache_dir))
    with pytest.warns(RuntimeWarning, match="other") as caught:
        g, hits, _ = fresh_grad(poly, x)
        g2, _, _ = fresh_grad(poly, x)
        srcad.clear_cache()
    assert len(caught) == 1                    # one warning, not one per call
    assert hits == 0
    assert_grad_close(g, poly, (x,), 0)
    np.testing.assert_array_equal(g, g2)
    assert sorted(os.listdir(cache_dir)) == before   # nothing written nor removed there
    os.chown(cache_dir, os.geteuid(), os.getegid())
    os.chmod(cache_dir, 0o700)


def test_edited_entry_is_not_run(cache_dir, marker, rng):
    x = rng.uniform(-1, 1, 5)
    srcad.differentiate(poly).grad(x)
    (path,) = entries(cache_dir)
    head, body = path.read_bytes().split(b"\n", 1)
    edited = json.dumps(inject(json.loads(body), marker), sort_keys=True).encode()
    path.write_bytes(head + b"\n" + edited)    # the old signature, a new source
    g, hits, transforms = fresh_grad(poly, x)
    assert hits == 0 and transforms == 1
    assert_grad_close(g, poly, (x,), 0)
    g, hits, _ = fresh_grad(poly, x)           # regenerated and signed again: used
    assert hits == 1
    assert_grad_close(g, poly, (x,), 0)


def test_entry_copied_from_another_cache_directory_is_not_run(cache_dir, tmp_path, marker,
                                                              rng, monkeypatch):
    x = planted(cache_dir, marker, rng)        # signed with the key of `cache_dir`
    other = tmp_path / "other-cache"
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(other))
    srcad.differentiate(poly).grad(rng.uniform(-1, 1, 3).astype(np.float32))  # makes its key
    assert (other / "srcad-key").read_bytes() != (cache_dir / "srcad-key").read_bytes()
    (path,) = entries(cache_dir)
    (other / path.name).write_bytes(path.read_bytes())
    os.chmod(other / path.name, 0o600)
    g, hits, transforms = fresh_grad(poly, x)
    assert hits == 0 and transforms == 1
    assert_grad_close(g, poly, (x,), 0)


def test_module_named_in_a_signed_entry_is_not_imported(cache_dir, tmp_path, marker, rng,
                                                        monkeypatch):
    """Even an entry that passes the signature check never makes srcad import a module the
    function does not reach itself."""
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "planted_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nnp = None\n")
    monkeypatch.syspath_prepend(str(mods))
    x = rng.uniform(-1, 1, 5)
    srcad.differentiate(poly).grad(x)
    (path,) = entries(cache_dir)
    entry = read_entry(path)
    assert entry["recipes"]["_rt"] == ["srcad.runtime", None]
    entry["recipes"]["_rt"] = ["planted_module", None]
    entry["fingerprints"]["_rt"] = "module:planted_module"
    write_signed(path, entry, cache_dir)
    g, hits, _ = fresh_grad(poly, x)
    assert hits == 0
    assert "planted_module" not in sys.modules
    assert_grad_close(g, poly, (x,), 0)


CHILD = """
import sys
import numpy as np
import srcad


def poly(x):
    return np.sum(np.sin(x) * x) + np.sum(x ** 3)


print(srcad.differentiate(poly).grad(np.linspace(0.1, 0.9, 5)).tolist())
print(srcad.stats())
"""


def run_child(cache_dir, tmp_path, extra_env=(), preexec=None):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    root = os.path.dirname(os.path.dirname(os.path.abspath(srcad.__file__)))
    env = dict(os.environ, SRCAD_CACHE_DIR=str(cache_dir), PYTHONPATH=root)
    env.pop("SRCAD_DISK_CACHE", None)
    env.update(extra_env)
    return subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=60, preexec_fn=preexec)


def child_gradient(done):
    assert done.returncode == 0, done.stderr
    got = np.array(json.loads(done.stdout.splitlines()[0]))
    x = np.linspace(0.1, 0.9, 5)
    assert_grad_close(got, poly, (x,), 0)


@pytest.mark.parametrize("where", ["entry", "key"])
def test_fifo_in_place_of_a_file_does_not_hang(cache_dir, tmp_path, where):
    done = run_child(cache_dir, tmp_path)               # writes the key and the entry
    child_gradient(done)
    (path,) = entries(cache_dir)
    target = path if where == "entry" else cache_dir / "srcad-key"
    target.unlink()
    os.mkfifo(target)
    done = run_child(cache_dir, tmp_path)               # subprocess.run's timeout: no hang
    child_gradient(done)


def test_symlink_in_place_of_an_entry_is_not_followed(cache_dir, tmp_path):
    child_gradient(run_child(cache_dir, tmp_path))
    (path,) = entries(cache_dir)
    path.unlink()
    os.symlink("/dev/zero", path)
    child_gradient(run_child(cache_dir, tmp_path))


SOURCE = "def f(x):\n    return np.sum(np.sin(x) * x)\n"


@pytest.mark.parametrize("disk_cache", ["1", "0"])
def test_code_in_a_file_name_does_not_run(cache_dir, marker, rng, monkeypatch, disk_cache):
    monkeypatch.setenv("SRCAD_DISK_CACHE", disk_cache)
    payload = "\n    open(MARK, 'w').close()\n    #"
    filename = "model.py" + payload
    linecache.cache[filename] = (len(SOURCE), None, SOURCE.splitlines(True), filename)
    scope = {"np": np, "MARK": str(marker)}
    exec(compile(SOURCE, filename, "exec"), scope)
    f = scope["f"]
    f.__qualname__ = "f" + payload
    x = rng.uniform(-1, 1, 5)
    for _ in range(2):                          # generated, then (disk on) loaded
        g = srcad.differentiate(f).grad(x)
        assert_grad_close(g, f, (x,), 0)
    text = srcad.source(f, x)
    assert "model.py\\n    open(MARK" in text     # shown escaped, in a comment
    assert not any(line.strip().startswith("open(") for line in text.splitlines())


def test_code_in_a_function_name_does_not_run(cache_dir, marker, rng):
    """A callable's ``__name__`` names a value in generated code: it becomes an
    identifier, never code."""
    def scaled(x):
        return 2.0 * x

    @srcad.adjoint(scaled)
    def scaled_rule(x):
        return 2.0 * x, lambda g: (2.0 * g,)

    scaled.__name__ = "s=0\n    open(MARK, 'w').close()\n    t"

    def f(x):
        return np.sum(scaled(x) * x)

    f.__globals__["MARK"] = str(marker)
    try:
        x = rng.uniform(-1, 1, 5)
        assert_grad_close(srcad.differentiate(f).grad(x), f, (x,), 0)
    finally:
        del f.__globals__["MARK"]


def test_clear_cache_removes_only_srcads_files(tmp_path, monkeypatch, rng):
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    user_files = {
        "data.json": "{}", "results.json": "[1, 2]", "notes.txt": "keep me",
        "srcad-notes.json": "{}", "srcad-0123.json": "{}",
        "sub/srcad-0123456789abcdef0123456789abcdef.json": "{}", "sub/data.json": "{}",
        ".tmp-abc.json": "{}",
    }
    for name, text in user_files.items():
        (project / name).write_text(text)
    os.chmod(project, 0o700)
    monkeypatch.setenv("SRCAD_CACHE_DIR", str(project))
    srcad.differentiate(poly).grad(rng.uniform(-1, 1, 4))
    assert len(entries(project)) == 1
    srcad.clear_cache()
    assert entries(project) == []
    for name, text in user_files.items():
        assert (project / name).read_text() == text, f"{name} was deleted or changed"


@pytest.mark.numpy_backend      # the NumPy backend's disk entries
def test_failed_write_leaves_no_temporary(cache_dir, tmp_path):
    import resource

    def small_files():                  # a key fits, an entry does not
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    done = run_child(cache_dir, tmp_path, preexec=small_files)
    child_gradient(done)
    assert entries(cache_dir) == []
    assert [n for n in os.listdir(cache_dir) if n != "srcad-key"] == []


@pytest.mark.parametrize("env", [{"SRCAD_DISK_CACHE": "0"}, {"SRCAD_CACHE_DIR": ""}],
                         ids=["SRCAD_DISK_CACHE=0", "SRCAD_CACHE_DIR=empty"])
def test_disk_cache_can_be_turned_off(tmp_path, env):
    home = tmp_path / "home"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    root = os.path.dirname(os.path.dirname(os.path.abspath(srcad.__file__)))
    child_env = dict(os.environ, PYTHONPATH=root, HOME=str(home),
                     XDG_CACHE_HOME=str(home / ".cache"), SRCAD_CACHE_DIR=str(tmp_path / "c"))
    child_env.update(env)
    for _ in range(2):
        done = subprocess.run([sys.executable, str(script)], env=child_env,
                              capture_output=True, text=True, timeout=60)
        child_gradient(done)
        assert "'disk_hits': 0" in done.stdout and "'transforms': 1" in done.stdout
    assert not home.exists() and not (tmp_path / "c").exists()


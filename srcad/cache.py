"""The disk cache of generated source, treated as the code it is.

One file ``srcad-<key>.json`` per (function code and what it names, helpers reached,
compiler and NumPy version, kind, wrt, signature, backend) under ``SRCAD_CACHE_DIR``
(default: ``~/.cache/srcad``; ``SRCAD_CACHE_DIR=""`` or ``SRCAD_DISK_CACHE=0`` turn the
disk cache off). An entry holds generated source that is compiled and run on load, so:

- the directory is created 0700; a directory or entry that another user owns, or that
  others may write, is skipped with one warning;
- each entry is signed with HMAC-SHA256 under a per-user key kept 0600 in the
  directory (``srcad-key``), created atomically: an entry edited, or copied from
  another cache directory, fails the check and is regenerated;
- entries are opened with O_NOFOLLOW and O_NONBLOCK and read only if they are regular
  files (a FIFO or a symlink in their place is ignored, never waited on);
- writes go to a temporary file renamed into place, removed on any failure;
- ``clear()`` removes only files with srcad's own names, in the directory itself;
- ``prune()`` removes the entries (files of ours, with our names, regular, owned by this
  user) least recently written or read beyond the size bound ``max_bytes()`` (down to
  nine tenths of it once past it) or older than ``max_age()``, and temporaries a crash
  left an hour ago. A write runs it when this process's writes since the last one may
  have passed the size bound, when a bound or the directory changed, and otherwise at
  least once a minute (a scan on every write cost in proportion to the entries there).

File layout: one line ``srcad-cache <format> <hmac hex>`` then the JSON body it signs.
"""
import hashlib
import hmac
import json
import os
import pathlib
import re
import stat
import tempfile
import threading
import time
import warnings

from srcad import kernels, transforms
from srcad.transforms import rules

FORMAT = 3          # 3: generated reverse code checks grad's seed (srcad/seeds.py)
_COMPILER = None
_MAGIC = b"srcad-cache"
_KEY_FILE = "srcad-key"
_ENTRY = re.compile(r"srcad-[0-9a-f]{32}\.json")
_TEMPORARY = re.compile(r"\.srcad-tmp-[A-Za-z0-9_]+")
_NUMBA_MODULE = re.compile(r"\w{1,40}-[0-9a-f]{20}\.py")          # numba_backend._file_for
_NUMBA_FILE = re.compile(r"[\w.-]+-\d+\.py\d+\w*(\.\d+\.nbc|\.nbi)")  # numba's cache names
_MAX_BYTES = 64 << 20
_WARNED = set()
_STALE_TEMPORARY = 3600          # seconds: a temporary this old is a crash's leftover
DEFAULT_MAX_BYTES = 64 << 20     # the entries' total size on disk
DEFAULT_MAX_AGE = 30 * 86400     # seconds since an entry was last written or read
LIMITS = {"bytes": None, "age": None}   # set_cache_limits' values; None: env or default
_NOFOLLOW = sum(getattr(os, f, 0) for f in ("O_NOFOLLOW", "O_NONBLOCK", "O_CLOEXEC"))


def enabled():
    return os.environ.get("SRCAD_DISK_CACHE", "1").strip().lower() not in (
        "0", "false", "no", "off") and os.environ.get("SRCAD_CACHE_DIR", None) != ""


def directory():
    path = os.environ.get("SRCAD_CACHE_DIR")
    if not path:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "srcad")
    return pathlib.Path(path)


def _warn(what, path):
    if (what, str(path)) not in _WARNED:
        _WARNED.add((what, str(path)))
        warnings.warn(f"srcad: disk cache {what}: {path}; it is not used (the gradient is "
                      f"compiled in memory). Fix its owner and mode, or set SRCAD_CACHE_DIR "
                      f"to a directory of yours, or SRCAD_DISK_CACHE=0", RuntimeWarning,
                      stacklevel=4)


def _unsafe(st):
    """Why a file or directory with this stat may not be trusted, or None."""
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return "owned by another user"
    if st.st_mode & 0o022:
        return "writable by others"
    return None


def _folder(create):
    """The cache directory if it is safe to use (made 0700 when ``create``), else None."""
    if not enabled():
        return None
    folder = directory()
    if create:
        try:
            missing = [p for p in [folder, *folder.parents] if not p.exists()]
            for path in reversed(missing):      # parents made private too, whatever the umask
                path.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            return None               # a read-only place only costs speed
    try:
        st = os.stat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        _warn("path is not a directory", folder)
        return None
    why = _unsafe(st)
    if why:
        _warn(f"directory {why}", folder)
        return None
    return folder


def _read(path, limit=_MAX_BYTES, private=False):
    """The bytes of a regular file of ours, without following a symlink or blocking on a
    FIFO; None if it is missing, not a regular file, too big, or not safe (``private``:
    nobody else may even read it)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        why = _unsafe(st) or ("readable by others" if private and st.st_mode & 0o077 else None)
        if why:
            _warn(f"file {why}", path)
            return None
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks) if size <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_new(folder, data):
    """A new 0600 temporary file in ``folder`` holding ``data``: its path. Removed on
    any failure (a full disk, a file-size limit)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".srcad-tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _secret(folder):
    """This user's signing key for ``folder``: 32 random bytes in ``srcad-key`` (0600),
    created atomically (linked into place complete, so racing processes agree)."""
    path = os.path.join(folder, _KEY_FILE)
    for _ in range(3):
        data = _read(path, limit=64, private=True)
        if data is not None and len(data) == 32:
            return data
        tmp = _write_new(folder, os.urandom(32))
        try:
            if data is None and not os.path.lexists(path):
                try:
                    os.link(tmp, path)          # fails if another process made one meanwhile
                except FileExistsError:
                    continue
            else:
                os.replace(tmp, path)           # a damaged key: entries signed by it are lost
                tmp = None
        finally:
            if tmp is not None:
                os.unlink(tmp)
    return None


def _mac(secret, body):
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def compiler_version():
    """A fingerprint of the compiler's own files (name, size, modification time) and of
    NumPy's version: a changed srcad or NumPy never reads the entries of another."""
    global _COMPILER
    if _COMPILER is None:
        import numpy
        h = hashlib.sha256(numpy.__version__.encode())
        own = {"srcad": os.path.dirname(os.path.abspath(__file__))}
        own.update((m.__name__, os.path.dirname(os.path.abspath(m.__file__)))
                   for m in (kernels, transforms, rules))
        for package, folder in own.items():
            with os.scandir(folder) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    if entry.name.endswith(".py"):
                        st = entry.stat()
                        h.update(f"{package}/{entry.name}:{st.st_size}:{st.st_mtime_ns};"
                                 .encode())
        _COMPILER = h.hexdigest()[:16]
    return _COMPILER


def key_of(*parts):
    return hashlib.sha256(repr((FORMAT, compiler_version()) + parts).encode()).hexdigest()[:32]


def _path(folder, key):
    return os.path.join(folder, f"srcad-{key}.json")


def load(key):
    """The entry stored under ``key``, if its signature checks; else None."""
    folder = _folder(create=False)
    if folder is None:
        return None
    data = _read(_path(folder, key))
    if data is None:
        return None
    head, _, body = data.partition(b"\n")
    parts = head.split(b" ")
    if len(parts) != 3 or parts[0] != _MAGIC or parts[1] != str(FORMAT).encode():
        return None
    try:
        secret = _secret(folder)
    except OSError:
        return None
    if secret is None or not hmac.compare_digest(parts[2], _mac(secret, body).encode()):
        return None                   # edited, or signed in another directory
    try:
        entry = json.loads(body.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("key") != key \
            or not isinstance(entry.get("source"), str) \
            or not isinstance(entry.get("recipes"), dict):
        return None
    try:
        os.utime(_path(folder, key), follow_symlinks=False)    # recently used: kept longer
    except OSError:
        pass
    return entry


def store(key, entry):
    """Write ``entry`` (a JSON-able dict) under ``key``, signed; failures only cost speed."""
    folder = _folder(create=True)
    if folder is None:
        return
    tmp = None
    try:
        secret = _secret(folder)
        if secret is None:
            return
        body = json.dumps(dict(entry, key=key), sort_keys=True).encode("utf-8")
        head = b"%s %d %s\n" % (_MAGIC, FORMAT, _mac(secret, body).encode())
        tmp = _write_new(folder, head + body)
        os.replace(tmp, _path(folder, key))
        tmp = None
        _after_write(folder, len(head) + len(body))
    except (OSError, TypeError, ValueError):
        pass                          # a full disk or a read-only directory only costs speed
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def clear():
    """Remove srcad's entries (and temporaries a crash left) from the cache directory:
    only regular files of ours named ``srcad-<hex>.json`` or ``.srcad-tmp-*``; and in its
    ``numba`` folder the generated modules and numba's signed files (``numba_cache``),
    by their names. Nothing else, never another subdirectory. The signing key stays."""
    folder = _folder(create=False)
    if folder is None:
        return
    _remove(folder, (_ENTRY, _TEMPORARY))
    _remove(folder / "numba", (_NUMBA_MODULE, _TEMPORARY))
    _remove(folder / "numba" / "__pycache__", (_NUMBA_FILE, _TEMPORARY))


def _remove(folder, patterns):
    """Unlink the regular files of ours in ``folder`` whose names match one of
    ``patterns`` (a missing or foreign folder: nothing)."""
    try:
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode) or _unsafe(st):
            return
        with os.scandir(folder) as entries:
            names = [e.name for e in entries
                     if any(p.fullmatch(e.name) for p in patterns)
                     and e.is_file(follow_symlinks=False)
                     and _unsafe(e.stat(follow_symlinks=False)) is None]
    except OSError:
        return
    for name in names:
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def max_bytes():
    """The bound on the total size of the entries (``SRCAD_CACHE_MAX_BYTES``)."""
    if LIMITS["bytes"] is not None:
        return LIMITS["bytes"]
    env = os.environ.get("SRCAD_CACHE_MAX_BYTES", "").strip()
    if env:
        from srcad.workspace import parse_bytes
        return parse_bytes(env, "SRCAD_CACHE_MAX_BYTES")
    return DEFAULT_MAX_BYTES


def max_age():
    """Seconds an entry is kept after it was last written or read (``SRCAD_CACHE_MAX_AGE``:
    seconds, or a number with s, m, h or d)."""
    if LIMITS["age"] is not None:
        return LIMITS["age"]
    env = os.environ.get("SRCAD_CACHE_MAX_AGE", "").strip().lower()
    if not env:
        return DEFAULT_MAX_AGE
    scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(env[-1:], None)
    try:
        value = float(env[:-1] if scale else env) * (scale or 1)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ValueError(f"SRCAD_CACHE_MAX_AGE={env!r} is not a duration: give seconds, or a "
                         f"number with s, m, h or d (e.g. 30d)")
    return value


_PRUNED = {"folder": None, "limits": None, "when": 0.0, "bytes": 0}
_PRUNE_LOCK = threading.Lock()
_PRUNE_EVERY = 60.0         # seconds: the longest a process writes without a prune


def _after_write(folder, size):
    """Prune after a write of ``size`` bytes when it may be needed (see the module text):
    ``_PRUNED`` holds the size the entries had at the last prune, plus this process's
    writes since (an upper bound: a rewritten entry counts twice)."""
    last = _PRUNED
    with _PRUNE_LOCK:
        last["bytes"] += size
        due = last["folder"] != str(folder) or last["limits"] != (max_bytes(), max_age()) \
            or last["bytes"] > max_bytes() or time.time() - last["when"] > _PRUNE_EVERY
    if due:
        prune(folder)


def prune(folder=None):
    """Remove entries beyond the bounds: the least recently written or read first until
    the rest fit in ``max_bytes()`` (in nine tenths of it when they did not), and any not
    used for ``max_age()`` seconds; also temporaries older than an hour. Only regular
    files with srcad's names, owned by this user and writable by nobody else, in the
    directory itself, are ever removed."""
    if folder is None:
        folder = _folder(create=False)
        if folder is None:
            return
    limit, age, now = max_bytes(), max_age(), time.time()
    entries, doomed = [], []
    try:
        with os.scandir(folder) as found:
            for e in found:
                temporary = _TEMPORARY.fullmatch(e.name)
                if not (temporary or _ENTRY.fullmatch(e.name)):
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode) or _unsafe(st):
                    continue                # not a file srcad wrote: never removed
                if temporary:
                    if now - st.st_mtime > _STALE_TEMPORARY:
                        doomed.append(e.name)
                else:
                    entries.append((st.st_mtime, st.st_size, e.name))
    except OSError:
        return
    # past the bound, down to nine tenths of it: the next writes then have room without a
    # scan each (a full cache would otherwise be scanned on every write)
    if sum(size for _, size, _ in entries) > limit:
        limit -= limit // 10
    total = kept = 0
    for mtime, size, name in sorted(entries, reverse=True):     # newest first
        total += size
        if total > limit or now - mtime > age:
            doomed.append(name)
        else:
            kept += size
    with _PRUNE_LOCK:
        _PRUNED.update(folder=str(folder), limits=(max_bytes(), age), when=now, bytes=kept)
    for name in doomed:
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass

"""The disk cache of generated source.

One file per (function code, helpers reached, compiler version, kind, wrt,
signature, backend) under ``SRCAD_CACHE_DIR`` (default: ``~/.cache/srcad``).
An entry holds the generated factory source, how to re-find every object it
names, and the fingerprints of the helpers it inlined. Entries are written
atomically (temporary file + rename); an unreadable, foreign or stale entry
is ignored and regenerated, never trusted.
"""
import hashlib
import json
import os
import pathlib
import tempfile

FORMAT = 1
_COMPILER = None


def directory():
    path = os.environ.get("SRCAD_CACHE_DIR")
    if not path:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "srcad")
    return pathlib.Path(path)


def compiler_version():
    """A fingerprint of the compiler's own files (name, size, modification time): a
    changed srcad never reads the entries of another."""
    global _COMPILER
    if _COMPILER is None:
        h = hashlib.sha256()
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for sub in ("srcad", "transforms", os.path.join("transforms", "rules")):
            with os.scandir(os.path.join(root, sub)) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    if entry.name.endswith(".py"):
                        st = entry.stat()
                        h.update(f"{sub}/{entry.name}:{st.st_size}:{st.st_mtime_ns};".encode())
        _COMPILER = h.hexdigest()[:16]
    return _COMPILER


def key_of(*parts):
    return hashlib.sha256(repr((FORMAT, compiler_version()) + parts).encode()).hexdigest()[:32]


def load(key):
    path = directory() / f"{key}.json"
    try:
        with open(path, encoding="utf-8") as fh:
            entry = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or entry.get("format") != FORMAT:
        return None
    if not isinstance(entry.get("source"), str) or not isinstance(entry.get("recipes"), dict):
        return None
    return entry


def store(key, source, recipes, deps, callees=(), constants=()):
    folder = directory()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        entry = {"format": FORMAT, "key": key, "source": source, "recipes": recipes,
                 "deps": deps, "callees": list(callees),
                 "constants": list(constants)}
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(entry, fh)
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        pass                      # a read-only cache directory only costs speed


def clear():
    folder = directory()
    if folder.is_dir():
        for path in folder.glob("*.json"):
            try:
                path.unlink()
            except OSError:
                pass

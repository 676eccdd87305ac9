"""numba's on-disk cache for srcad's generated modules, held to the disk cache's rules.

numba caches a compiled function as pickles (an index and one data file per compiled
signature): loading one runs whatever it names. ``numba.njit(cache=True)`` would load
them from wherever numba's settings point without a check, so the njit cores of srcad's
generated modules get a cache of their own instead (``njit(folder, secret)``):

- the files live in ``<cache dir>/numba/__pycache__``, whatever ``NUMBA_CACHE_DIR`` or
  ``NUMBA_CACHE_LOCATOR_CLASSES`` say; the folder is made 0700 and used only while it is
  a directory of this user that others cannot write;
- each file starts with one line ``srcad-numba <hmac hex>``: HMAC-SHA256, under the disk
  cache's key, of the file's name and the bytes after that line, so an edited file, a
  file numba wrote itself, or a file renamed or copied from elsewhere fails the check;
- a file is read only if it is a regular file of ours (no symlink, no FIFO) and its
  signature checks, and unpickled only then; anything else is ignored and the core is
  compiled again, which costs time, never a wrong or foreign function;
- writes go through a temporary file renamed into place.
"""
import hmac
import io
import os
import pickle
import stat
import sys
import warnings

import numba
from numba.core import caching

from srcad import cache as disk

_MAGIC = b"srcad-numba"
_MAX_BYTES = 256 << 20


def njit(folder, secret, parallel=False):
    """The decorator the generated module's ``@_njit`` names: ``numba.njit`` with the
    signed cache in ``folder/__pycache__`` (``folder`` None: no disk cache). The cache
    is valid while the function's own file is unchanged (numba's source stamp).
    ``parallel``: ``numba.njit(parallel=True)`` (the module's ``_prange`` loops)."""
    def decorate(fn):
        dispatcher = numba.njit(fn, parallel=True) if parallel else numba.njit(fn)
        _quiet(dispatcher)
        if folder is not None and secret is not None:
            try:                        # as enable_caching does with numba's own cache
                dispatcher._cache = _SignedCache(fn, str(folder), secret)
            except OSError:             # the module file gone (another process cleared it)
                pass                    # compiled in memory only
        return dispatcher
    return decorate


def _quiet(dispatcher):
    """Compile ``dispatcher`` without numba's performance warnings (``@`` on a transposed
    view...): they are about code srcad wrote, which the user cannot change, and under
    ``-W error`` they would stop the compile. Other warnings pass as they are."""
    compile_for_args = dispatcher._compile_for_args

    def quietly(*args, **kws):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", numba.core.errors.NumbaPerformanceWarning)
            return compile_for_args(*args, **kws)
    dispatcher._compile_for_args = quietly


def folder(top):
    """``top/numba`` made 0700, or None if it is not a private directory of ours."""
    path = top / "numba"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        return path if _private_dir(path) else None
    except OSError:
        return None


def _private_dir(path):
    """Is ``path`` a directory (not a symlink) of this user that others cannot write?
    (Warns once if not.)"""
    st = os.lstat(path)
    why = "is not a directory" if not stat.S_ISDIR(st.st_mode) else disk._unsafe(st)
    if why:
        disk._warn(f"numba folder {why}", path)
    return why is None


def private():
    """The decorator for srcad's own njit functions (the runtime's twins): signed cache
    in the disk cache's numba folder, or none when the disk cache is off or unsafe."""
    top = disk._folder(create=True)
    where = folder(top) if top is not None else None
    return njit(where, disk._secret(top) if where is not None else None)


class _Locator(caching.InTreeCacheLocator):
    """``folder/__pycache__``, created private and checked; the source stamp is the
    function's own file's."""

    def __init__(self, py_func, py_file, folder):
        super().__init__(py_func, py_file)
        self._cache_path = os.path.join(folder, "__pycache__")

    def ensure_cache_path(self):
        path = self.get_cache_path()
        os.makedirs(path, mode=0o700, exist_ok=True)
        if not _private_dir(path):
            raise OSError(f"{path} is not a private directory of this user")


class _Impl(caching.CompileResultCacheImpl):
    """numba's compile-result cache with srcad's locator only (numba's own list and its
    environment override are not consulted)."""

    def __init__(self, py_func, folder):
        self._lineno = py_func.__code__.co_firstlineno
        source = py_func.__code__.co_filename
        self._locator = _Locator(py_func, source, folder)
        module = os.path.splitext(os.path.basename(source))[0]
        self._filename_base = self.get_filename_base(f"{module}.{py_func.__qualname__}",
                                                     getattr(sys, "abiflags", ""))


class _SignedCache(caching.FunctionCache):
    def __init__(self, py_func, folder, secret):
        self._name = repr(py_func)
        self._py_func = py_func
        self._impl = _Impl(py_func, folder)
        self._cache_path = self._impl.locator.get_cache_path()
        self._cache_file = _SignedFile(self._cache_path, self._impl.filename_base,
                                       self._impl.locator.get_source_stamp(), secret)
        self.enable()

    def _load_overload(self, sig, target_context):
        try:
            return super()._load_overload(sig, target_context)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError):
            return None                 # compiled again: costs time only

    def _save_overload(self, sig, data):
        try:
            super()._save_overload(sig, data)
        except OSError:
            pass                        # a read-only or unsafe place costs time only


class _SignedFile(caching.IndexDataCacheFile):
    """numba's index and data files, each signed, read only when ours and intact."""

    def __init__(self, cache_path, filename_base, source_stamp, secret):
        super().__init__(cache_path, filename_base, source_stamp)
        self._secret = secret

    def _load_index(self):
        payload = self._verified(self._index_path)
        if payload is None:
            return {}
        stream = io.BytesIO(payload)
        if pickle.load(stream) != self._version:
            return {}
        stamp, overloads = pickle.loads(stream.read())
        return overloads if stamp == self._source_stamp else {}

    def _save_index(self, overloads):
        stream = io.BytesIO()
        pickle.dump(self._version, stream, protocol=-1)
        stream.write(self._dump((self._source_stamp, overloads)))
        self._write(self._index_path, stream.getvalue())

    def _load_data(self, name):
        payload = self._verified(self._data_path(name))
        if payload is None:
            raise OSError(f"{name}: missing, not ours, or its signature does not check")
        return pickle.loads(payload)

    def _save_data(self, name, data):
        self._write(self._data_path(name), self._dump(data))

    def _mac(self, path, payload):
        name = os.path.basename(path).encode()
        return hmac.new(self._secret, name + b"\0" + payload, "sha256").hexdigest().encode()

    def _verified(self, path):
        """The payload of the signed file at ``path``, or None."""
        raw = disk._read(path, limit=_MAX_BYTES)
        if raw is None:
            return None
        head, _, payload = raw.partition(b"\n")
        magic, _, mac = head.partition(b" ")
        if magic != _MAGIC or not hmac.compare_digest(mac, self._mac(path, payload)):
            return None
        return payload

    def _write(self, path, payload):
        data = _MAGIC + b" " + self._mac(path, payload) + b"\n" + payload
        tmp = disk._write_new(self._cache_path, data)
        try:
            os.replace(tmp, path)
        except OSError:
            os.unlink(tmp)
            raise

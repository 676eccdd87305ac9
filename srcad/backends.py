"""Which backend compiles a Differentiable's generated code: the option and its default.

``backend="numpy"`` runs the generated NumPy code; ``"numba"`` compiles it with
``numba.njit`` (``srcad/numba_backend.py``) and raises where numba cannot;
``"auto"`` uses numba where it compiles and the NumPy code elsewhere (and NumPy
alone when numba is not installed). ``None`` takes ``SRCAD_BACKEND``, else
``"numpy"``.
"""
import importlib.util
import os

NAMES = ("numpy", "numba", "auto")
COMPILED = ("vjp", "jvp")   # the kinds numba compiles (a nested derivative's vjp_plain is read)
EXTRA = "pip install srcad[numba]"


def for_kind(d, kind):
    """The backend that compiles ``d``'s code of ``kind``: its own for the kinds numba
    compiles, else NumPy; a derivative of a derivative of another kind (a Hessian's
    vector-mode jvp, asked for only where its one-direction jvp did not compile) is
    refused under "numba" ("auto": NumPy; the jvp's refusal said why)."""
    if kind in COMPILED:
        return d.backend
    if d.inner is not None and d.backend == "numba":
        from srcad import numba_backend
        numba_backend.refuse_nested(d, lambda: None)
    return "numpy"


def parallel_option(parallel, resolved, given):
    """``parallel=`` of ``differentiate``: True lets the numba backend run the elementwise
    loops it writes on several threads (kernels of their own: transforms/numba_loops.py).
    A bool; with the NumPy backend asked for it is an error ("auto" without numba: no
    effect)."""
    if not isinstance(parallel, bool):
        raise TypeError(f"parallel must be True or False, got {type(parallel).__name__}")
    asked = given if given is not None else \
        (os.environ.get("SRCAD_BACKEND", "").strip().lower() or "numpy")
    if parallel and resolved == "numpy" and asked != "auto":
        raise ValueError("parallel=True needs backend='numba' (or 'auto'): the NumPy backend "
                         "runs NumPy's own calls")
    return parallel and resolved != "numpy"


def numba_installed():
    return importlib.util.find_spec("numba") is not None


def resolve(backend):
    """The backend name for the option ``backend`` (None: the process default)."""
    given = backend
    if backend is None:
        backend = os.environ.get("SRCAD_BACKEND", "").strip().lower() or "numpy"
    if not isinstance(backend, str) or backend not in NAMES:
        where = "backend" if given is not None else "SRCAD_BACKEND"
        raise ValueError(f"{where}={backend!r} is not a backend: use 'numpy', 'numba' or "
                         f"'auto'")
    if backend == "numba" and not numba_installed():
        raise ImportError(f"backend='numba' needs numba, which is not installed: "
                          f"{EXTRA} (or use backend='numpy', or 'auto' to use numba only "
                          f"where it is installed)", name="numba")
    if backend == "auto" and not numba_installed():
        return "numpy"
    return backend

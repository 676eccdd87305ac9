"""One program through every mode of srcad, each compared with finite differences.

``check_program(program)`` returns ``Result``: the program's status
(``valid``; ``invalid`` when the plain call fails or overflows; ``discarded``
when finite differences are unstable at the point) and, per mode, one outcome:

    ("ok", "")                   the numbers agree with finite differences
    ("refused", key)             srcad.TransformError, or a documented ValueError/TypeError
                                 raised by srcad's API (key: its first clause, names stripped)
    ("WRONG", key, detail)       a number, a structure, an argument or a buffer is wrong
    ("CRASH", key, detail)       srcad.InternalError, or any other exception escaping
    ("n/a", "")                  the mode does not apply to this program

Modes: grad, grad_out, value_and_grad, pullback, jvp, jac_fwd, jac_rev,
hessian, hvp, cache (a second call), sig2 (a second signature, N + 1 rows).
Every call is checked for modifying its arguments (and tangents), and every
derivative it returns for sharing memory with an argument, a tangent/cotangent
passed in, or a derivative returned earlier (the values are the plain call's).
"""
import copy
import dataclasses
import importlib.util
import itertools
import os
import re
import signal
import sys
import tempfile
import traceback

import numpy as np

import srcad

from .oracle import (Reference, Unusable, compare, flat, is_leaf, leaves, structure_error,
                     unflat)

MODES = ("grad", "grad_out", "value_and_grad", "pullback", "jvp", "jac_fwd", "jac_rev",
         "hessian", "hvp", "cache", "sig2")
# a ValueError/TypeError raised by these is the generated code's or a rule's, not the API's
# where a ValueError/TypeError is a failure of srcad's own code, not a refusal of the API
# (the compiled backend's twins raise from these when numba runs them)
NOT_API = {"runtime.py", "runtime_rules.py", "codegen.py", "numba_runtime.py",
           "numba_kernels.py", "numba_axes.py", "numba_arrays.py", "numba_scans.py",
           "numba_matrices.py"}
TIMEOUT = float(os.environ.get("SRCAD_FUZZ_TIMEOUT", "120"))


@dataclasses.dataclass
class Result:
    status: str                                  # valid / invalid / discarded
    outcomes: dict = dataclasses.field(default_factory=dict)   # mode -> tuple
    note: str = ""


class Wrong(Exception):
    def __init__(self, key, detail=""):
        super().__init__(f"{key}: {detail}")
        self.key, self.detail = key, detail


class Timeout(BaseException):
    pass


# ---------------------------------------------------------------------------- keys

def message_key(msg):
    """A short class for a message: its first clause with names and numbers stripped."""
    line = msg.strip().splitlines()[0] if msg.strip() else ""
    line = re.sub(r"^\S+:\d+:\d+: ", "", line)
    line = re.sub(r"`[^`]*`", "_", line)
    line = re.sub(r"'[^']*'|\"[^\"]*\"", "_", line)
    line = re.sub(r"\([^()]*\)", "", line)
    line = re.sub(r"\d+", "N", line)
    line = re.split(r": |; | \(", line)[0]
    return re.sub(r"\s+", " ", line).strip()[:80]


def classify(exc):
    if isinstance(exc, Timeout):
        return ("CRASH", "Timeout", f"no answer within {TIMEOUT:.0f} s")
    if isinstance(exc, srcad.TransformError):
        return ("refused", message_key(exc.what))
    if isinstance(exc, srcad.InternalError):
        text = str(exc).split("): ", 1)[-1]
        return ("CRASH", f"InternalError[{exc.pass_name}]: {message_key(text)}", _tail(exc))
    if isinstance(exc, (ValueError, TypeError)):
        tb = traceback.extract_tb(exc.__traceback__)
        last = tb[-1].filename if tb else ""
        srcad_dir = os.path.dirname(os.path.abspath(srcad.__file__))
        if os.path.dirname(os.path.abspath(last)) == srcad_dir and \
                os.path.basename(last) not in NOT_API:
            return ("refused", f"{type(exc).__name__}: {message_key(str(exc))}")
    return ("CRASH", f"{type(exc).__name__}: {message_key(str(exc))}", _tail(exc))


def _tail(exc):
    tb = traceback.extract_tb(exc.__traceback__)
    where = f"{os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else "?"
    return f"{type(exc).__name__} at {where}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"


# ---------------------------------------------------------------------------- loading

_COUNTER = itertools.count()
_DIR = tempfile.mkdtemp(prefix="srcad-fuzz-")


def load(source, tag="p"):
    """Import ``source`` as a module from a real file (srcad reads the source)."""
    name = f"fz_{os.getpid()}_{next(_COUNTER)}_{re.sub(r'[^A-Za-z0-9_]', '_', tag)}"
    path = os.path.join(_DIR, name + ".py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        unload(module)
        raise
    return module


def unload(module):
    sys.modules.pop(module.__name__, None)
    try:
        os.remove(module.__file__)
    except OSError:
        pass


# ---------------------------------------------------------------------------- the checks

class _Case:
    """One program at one point: the function, arguments, reference Jacobian."""

    def __init__(self, fn, args, wrt, scalar, rng):
        self.fn, self.args, self.scalar, self.rng = fn, args, scalar, rng
        params = list(fn.__code__.co_varnames[:fn.__code__.co_argcount])
        self.positions = [params.index(w) for w in wrt]
        self.wrt = wrt[0] if len(wrt) == 1 else tuple(wrt)
        self.single = len(wrt) == 1
        self.snapshot = copy.deepcopy(args)
        self.seen = []            # every array srcad returned so far
        self.grad = None          # the first gradient (for cache, hessian, hvp)

    def wrt_tree(self):
        return tuple(self.args[k] for k in self.positions)

    def plain(self, args=None):
        return self.fn(*copy.deepcopy(self.args if args is None else args))

    def call_on(self, tree):
        args = list(copy.deepcopy(self.args))
        for k, t in zip(self.positions, tree):
            args[k] = t
        return self.fn(*args)

    def setup(self):
        # an overflow on the way (cosh of 1776 is inf, and 1 / inf a clean 0) leaves the
        # value finite but the chain rule at 0 * inf: such a program is invalid
        with np.errstate(all="ignore", over="raise"):
            value = self.plain()
        if self.scalar != (isinstance(value, (float, np.floating)) and not isinstance(value, bool)):
            if not (not self.scalar and isinstance(value, np.ndarray)):
                raise Unusable(f"returned {type(value).__name__}")
        if not np.all(np.isfinite(value)) or np.max(np.abs(value), initial=0.0) > 1e6:
            raise Unusable("non-finite or huge value")
        self.value = value
        with np.errstate(all="ignore"):
            self.ref = Reference(self.call_on, self.wrt_tree())

    # -------------------------------------------------------------- guards
    def after_call(self, results, passed=()):
        """The arguments are unchanged; no derivative in ``results`` shares memory with an
        argument, with what was passed in, or with a derivative returned earlier."""
        for a, b in zip(leaves(self.args), leaves(self.snapshot)):
            if not np.array_equal(a, b):
                raise Wrong("modified its arguments", "an argument changed during the call")
        for a, b in zip(leaves(self.args), leaves(self.snapshot)):
            if isinstance(a, np.ndarray) and not np.array_equal(a, b):
                raise Wrong("modified its arguments")
        new = [r for r in leaves(results) if isinstance(r, np.ndarray)]
        inputs = [a for a in leaves(self.args) + leaves(passed) if isinstance(a, np.ndarray)]
        for r in new:
            for a in inputs:
                if np.shares_memory(r, a):
                    raise Wrong("result shares memory with an input")
            for old in self.seen:
                if np.shares_memory(r, old):
                    raise Wrong("result shares memory with an earlier result")
        self.seen += new

    def check_value(self, got, what):
        err = structure_error(got, self.value, what) if is_leaf(self.value) else None
        if err:
            raise Wrong(f"{what} structure", err)
        err = compare(flat(got), flat(self.value),
                      1e-9 * (np.abs(flat(self.value)) + 1.0), what, "the plain call gives")
        if err:
            raise Wrong(f"{what} differs from the plain call", err)

    def check_grad_tree(self, g, what):
        like = self.wrt_tree()
        got = (g,) if self.single else g
        err = structure_error(got, like, what)
        if err:
            raise Wrong(f"{what} structure", err)
        err = compare(flat(got), self.ref.J[0], self.ref.tolerance()[0], what)
        if err:
            raise Wrong(f"{what} wrong", err)

    def random_like(self, tree):
        return unflat(self.rng.standard_normal(flat(tree).size), tree)

    # -------------------------------------------------------------- modes
    def m_grad(self):
        g = srcad.grad(self.fn, wrt=self.wrt)(*self.args)
        self.after_call(g)
        if not self.scalar:
            raise Wrong("grad of a non-scalar output did not refuse")
        self.check_grad_tree(g, "grad")
        self.grad = g

    def m_grad_out(self):
        if not self.scalar or not all(isinstance(t, np.ndarray) for t in self.wrt_tree()):
            return "n/a"
        out = tuple(np.full_like(t, np.nan) for t in self.wrt_tree())
        out_arg = out[0] if self.single else out
        g = srcad.grad(self.fn, wrt=self.wrt)(*self.args, out=out_arg)
        if g is not out_arg:
            raise Wrong("grad(out=) did not return out")
        self.after_call(() if self.single else tuple(out))   # out itself is ours
        self.check_grad_tree(g, "grad(out=)")

    def m_value_and_grad(self):
        if not self.scalar:
            return "n/a"
        v, g = srcad.value_and_grad(self.fn, wrt=self.wrt)(*self.args)
        self.after_call(g)
        self.check_value(v, "value_and_grad value")
        self.check_grad_tree(g, "value_and_grad")

    def m_pullback(self):
        value, back = srcad.pullback(self.fn, *self.args, wrt=self.wrt)
        self.check_value(value, "pullback value")
        cot = self.random_like(self.value)
        cots = back(cot)
        self.after_call(cots, passed=cot)
        if not isinstance(cots, tuple) or len(cots) != len(self.positions):
            raise Wrong("pullback structure", f"back() returned {type(cots).__name__}")
        err = structure_error(cots, self.wrt_tree(), "pullback")
        if err:
            raise Wrong("pullback structure", err)
        c = flat(cot)
        err = compare(flat(cots), c @ self.ref.J, self.ref.tolerance(weights_out=c), "pullback")
        if err:
            raise Wrong("pullback wrong", err)

    def m_jvp(self):
        tangents = tuple(self.random_like(t) for t in self.wrt_tree())
        kept = copy.deepcopy(tangents)
        value, t_out = srcad.jvp(self.fn, self.args, tangents, wrt=self.wrt)
        self.after_call(t_out, passed=tangents)
        for a, b in zip(leaves(tangents), leaves(kept)):
            if not np.array_equal(a, b):
                raise Wrong("jvp modified the tangents")
        self.check_value(value, "jvp value")
        err = structure_error(t_out, self.value, "jvp tangent") if is_leaf(self.value) else None
        if err:
            raise Wrong("jvp structure", err)
        t = flat(tangents)
        err = compare(flat(t_out), self.ref.J @ t, self.ref.tolerance(weights_in=t), "jvp")
        if err:
            raise Wrong("jvp wrong", err)

    def jacobian(self, mode):
        jac = srcad.jacobian(self.fn, wrt=self.wrt, mode=mode)(*self.args)
        self.after_call(jac)
        parts = (jac,) if self.single else jac
        if not isinstance(parts, tuple) or len(parts) != len(self.positions):
            raise Wrong("jacobian structure", f"got {type(jac).__name__}")
        cols = []
        for part, t in zip(parts, self.wrt_tree()):
            want = np.shape(self.value) + np.shape(t)
            if np.shape(part) != want:
                raise Wrong("jacobian structure", f"shape {np.shape(part)}, expected {want}")
            cols.append(np.asarray(part, np.float64).reshape(self.ref.J.shape[0], -1))
        got = np.concatenate(cols, axis=1)
        err = compare(got, self.ref.J, self.ref.tolerance(), f"jacobian({mode})")
        if err:
            raise Wrong(f"jacobian({mode}) wrong", err)

    def m_jac_fwd(self):
        self.jacobian("forward")

    def m_jac_rev(self):
        self.jacobian("reverse")

    def grad_reference(self):
        """The Hessian as differences of srcad's gradient (itself checked already)."""
        grad = srcad.grad(self.fn, wrt=self.wrt)
        return Reference(lambda tree: self.call_grad(grad, tree), self.wrt_tree())

    def call_grad(self, grad, tree):
        args = list(copy.deepcopy(self.args))
        for k, t in zip(self.positions, tree):
            args[k] = t
        g = grad(*args)
        return g

    def m_hessian(self):
        if not self.scalar or self.grad is None or not self.single:
            return "n/a"
        ref = self.grad_reference()
        h = srcad.hessian(self.fn, wrt=self.wrt)(*self.args)
        self.after_call(h)
        t = self.wrt_tree()[0]
        want = np.shape(t) + np.shape(t)
        if np.shape(h) != want:
            raise Wrong("hessian structure", f"shape {np.shape(h)}, expected {want}")
        err = compare(h, ref.J, ref.tolerance(), "hessian")
        if err:
            raise Wrong("hessian wrong", err)

    def m_hvp(self):
        if not self.scalar or self.grad is None:
            return "n/a"
        ref = self.grad_reference()
        v = tuple(self.random_like(t) for t in self.wrt_tree())
        v_arg = v[0] if self.single else v
        r = srcad.hvp(self.fn, self.args, v_arg, wrt=self.wrt)
        self.after_call(r, passed=v)
        got = (r,) if self.single else r
        err = structure_error(got, self.wrt_tree(), "hvp")
        if err:
            raise Wrong("hvp structure", err)
        w = flat(v)
        err = compare(flat(got), ref.J @ w, ref.tolerance(weights_in=w), "hvp")
        if err:
            raise Wrong("hvp wrong", err)

    def m_cache(self):
        if not self.scalar or self.grad is None:
            return "n/a"
        g = srcad.grad(self.fn, wrt=self.wrt)(*self.args)
        self.after_call(g)
        if not np.array_equal(flat(g), flat(self.grad)):
            raise Wrong("second call differs from the first",
                        compare(flat(g), flat(self.grad), 0.0, "second call",
                                "the first call gave") or "")
        self.check_grad_tree(g, "second call")


def check_program(program, only=None, seed=0):
    """Run ``program`` (a generate.Program) in every mode (or the modes in ``only``)."""
    old = signal.signal(signal.SIGALRM, _alarm) if _main_thread() else None
    if old is not None:
        signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        return _check(program, only, seed)
    except Timeout:
        return Result("valid", {"timeout": ("CRASH", "Timeout", "the program did not finish")})
    finally:
        if old is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        srcad.clear_cache()


def _main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


def _alarm(signum, frame):
    raise Timeout()


def _check(program, only, seed):
    try:
        module = load(program.source)
    except Exception as exc:
        return Result("invalid", note=f"import: {exc}")
    try:
        return _check_loaded(module, program, only, seed)
    finally:
        unload(module)


def _case(module, program, args_src, seed):
    try:
        args = eval(args_src, module.__dict__)
        fn = getattr(module, program.name)
    except Exception as exc:
        raise Unusable(f"arguments: {exc}") from None
    case = _Case(fn, args, program.wrt, program.scalar, np.random.default_rng(seed))
    try:
        case.setup()
    except Unusable:
        raise
    except Exception as exc:
        raise Unusable(f"plain call: {type(exc).__name__}: {exc}") from None
    return case


def _check_loaded(module, program, only, seed):
    try:
        case = _case(module, program, program.args, seed)
    except Unusable as exc:
        status = "discarded" if "unstable" in str(exc) else "invalid"
        return Result(status, note=str(exc))
    result = Result("valid")
    wanted = only or MODES
    if only and any(m in ("hessian", "hvp", "cache") for m in only) and "grad" not in only:
        wanted = ("grad",) + tuple(only)
    for mode in wanted:
        if mode in ("hessian", "hvp") and not program.second_order and not only:
            result.outcomes[mode] = ("n/a", "")
            continue
        result.outcomes[mode] = run_mode(case, module, program, mode, seed)
    if only:
        result.outcomes = {m: o for m, o in result.outcomes.items() if m in only}
    return result


def run_mode(case, module, program, mode, seed):
    try:
        with np.errstate(all="ignore"):
            if mode == "sig2":
                return _second_signature(case, module, program, seed)
            out = getattr(case, "m_" + mode)()
        return ("n/a", "") if out == "n/a" else ("ok", "")
    except Wrong as w:
        return ("WRONG", w.key, w.detail)
    except Unusable:
        return ("n/a", "")
    except Timeout:
        raise
    except BaseException as exc:          # noqa: B036  (everything escaping is a finding)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return classify(exc)


def _second_signature(case, module, program, seed):
    """Another N: the same program called with arrays of one more row."""
    try:
        case2 = _case(module, program, program.args2, seed + 1)
    except Unusable:
        return ("n/a", "")
    case2.seen = case.seen
    if program.scalar:
        case2.m_grad()
    else:
        case2.m_jvp()
    return ("ok", "")


def check_case(source, args, wrt, scalar, mode, args2=None):
    """Assert that srcad differentiates the module ``source``'s ``f`` at ``args`` in
    ``mode`` correctly or refuses it with a documented error (a shrunk fuzz finding)."""
    from .generate import Program
    program = Program(source=source, args=args, args2=args2 or args, wrt=tuple(wrt),
                      scalar=scalar, second_order=True)
    result = check_program(program, only=(mode,))
    assert result.status == "valid", f"the case is not a usable program: {result.note}"
    outcome = result.outcomes[mode]
    assert outcome[0] in ("ok", "refused", "n/a"), \
        f"{mode}: {outcome[0]} {outcome[1]}: {outcome[2]}"

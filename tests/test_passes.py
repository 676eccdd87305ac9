"""Golden before/after strings, one compiler pass at a time.

Each test runs the real pipeline (``transforms.pipeline.reverse_mode`` or
``forward_mode``, specialised to example arguments as the API does) with a
``_Run`` that records what each pass returns, and compares one pass's output
with an exact expected text (``ast.unparse`` of the tree) or table. The
*before* of a pass is the function in this file (for ``simplify`` and
``buffers``, whose input is generated code, the before is asserted too).
When a pass changes on purpose, the expected string here changes with it.
"""
import ast
import copy
import inspect
import textwrap

import gast
import numpy as np
import pytest

from srcad.signature import abstract, is_numeric
from srcad.transforms import pipeline
from srcad.transforms.shapes import param_shapes


def _text(tree):
    node = gast.gast_to_ast(tree)
    ast.fix_missing_locations(node)
    return ast.unparse(node) + "\n"


class _Recording(pipeline._Run):
    """A ``_Run`` that keeps each pass's output: source text for trees, a copy otherwise."""
    outputs = {}

    def __call__(self, name, fn, *args):
        result = super().__call__(name, fn, *args)
        tree = args[0] if result is None else getattr(result, "tree", result)  # exits: in place
        if isinstance(tree, gast.AST):
            _Recording.outputs[name] = _text(tree)
        else:
            _Recording.outputs[name] = copy.deepcopy(result)
        return result


@pytest.fixture
def run_passes(monkeypatch):
    """``run_passes(fn, *args, wrt=..., mode="reverse")`` -> {pass name: its output}."""
    monkeypatch.setattr(pipeline, "_Run", _Recording)
    monkeypatch.delenv("SRCAD_DUMP", raising=False)

    def run(fn, *args, wrt, mode="reverse"):
        params = list(inspect.signature(fn).parameters)
        sig = tuple(map(abstract, args))
        numeric = [p for p, s in zip(params, sig) if is_numeric(s)]
        shapes = param_shapes(params, sig)
        _Recording.outputs = {}
        if mode == "reverse":
            kinds = {p: ("float" if s[0] == "float" else
                         "array" if s[0] == "array" and np.dtype(s[1]).kind == "f" else None)
                     for p, s in zip(params, sig)}
            pipeline.reverse_mode(fn, wrt, numeric, param_shapes=shapes, param_kinds=kinds)
        else:
            pipeline.forward_mode(fn, wrt, numeric, param_shapes=shapes)
        return dict(_Recording.outputs)
    return run


def _golden(text):
    return textwrap.dedent(text).lstrip("\n")


# =========================================================================== exits

def first_positive_sum(x):
    s = 0.0
    for i in range(3):
        if x[i] < 0.0:
            break
        s = s + x[i]
    return s


def clipped(x):
    if x > 1.0:
        return x
    return x * x


@pytest.mark.parametrize("fn, args, want", [
    pytest.param(first_positive_sum, (np.ones(3),), """
        def first_positive_sum(x):
            s = 0.0
            loop_break = False
            for i in range(3):
                if x[i] < 0.0:
                    loop_break = True
                if not loop_break:
                    s = s + x[i]
                if loop_break:
                    break
            return s
        """, id="break-becomes-a-flag"),
    pytest.param(clipped, (2.0,), """
        def clipped(x):
            retval = None
            returned = False
            if x > 1.0:
                retval = x
                returned = True
            if not returned:
                retval = x * x
                returned = True
            return retval
        """, id="one-trailing-return"),
])
def test_exits(run_passes, fn, args, want):
    assert run_passes(fn, *args, wrt=("x",))["exits"] == _golden(want)


# =========================================================================== normalize

def nested(x):
    return np.sum(np.exp(-x)) * 2.0


def test_normalize_one_operation_per_statement(run_passes):
    assert run_passes(nested, np.ones(3), wrt=("x",))["normalize"] == _golden("""
        def nested(x):
            t = -x
            t2 = np.exp(t)
            t3 = np.sum(t2)
            t4 = t3 * 2.0
            return t4
        """)


# =========================================================================== inline

def square(r):
    return r * r


def with_helper(x):
    return square(x) + 1.0


def test_inline_prefixes_the_helpers_locals(run_passes):
    assert run_passes(with_helper, 2.0, wrt=("x",))["inline"] == _golden("""
        def with_helper(x):
            square_r = x
            square_t = square_r * square_r
            t = square_t
            t2 = t + 1.0
            return t2
        """)


# =========================================================================== ssa

def power(x):
    s = 1.0
    for i in range(4):
        s = s * x
    return s


def test_ssa_loop_header(run_passes):
    assert run_passes(power, 2.0, wrt=("x",))["ssa"] == _golden("""
        def power(x):
            s = 1.0
            s2 = s
            for i in range(4):
                s3 = s2 * x
                s2 = s3
            return s2
        """)


# =========================================================================== activity

def loss(w, X):
    n = X.shape     # noqa: F841  (depends on X only)
    z = X @ w
    c = z > 0       # noqa: F841  (a comparison)
    return np.sum(z * z)


def test_activity_only_what_varies_with_wrt_and_reaches_the_output(run_passes):
    act = run_passes(loss, np.ones(3), np.ones((2, 3)), wrt=("w",))["activity"]
    assert act.active == {"w", "z", "t", "t2"}          # not n, X (constant) nor c (a comparison)


# =========================================================================== shapes

def shaped(x, k):
    t = x * k
    u = np.exp(t)
    s = np.sum(u)
    v = x[0]
    return s + v


def test_shapes_table(run_passes):
    A1, SCALAR = ("array", "x", 1, ("x:0",)), ("scalar",)
    assert run_passes(shaped, np.ones(3), 2.0, wrt=("x",))["shapes"] == {
        "x": A1, "k": SCALAR, "t": A1, "u": A1, "s": SCALAR, "v": SCALAR, "t2": SCALAR}


# =========================================================================== reverse

def weighted(x):
    s = 0.0
    for i in range(3):
        s = s + 2.0 * x[i]
    return s


@pytest.mark.parametrize("fn, args, want", [
    pytest.param(power, (2.0,), """
        def power_vjp(x, seed):
            s = 1.0
            s2 = s
            loop = []
            for i in range(4):
                s3 = s2 * x
                loop.append(s2)
                s2 = s3
            value = s2
            seed2 = _rt.grad_seed(seed, value)
            s2_bar = 0.0
            x_bar = 0.0
            s2_bar = s2_bar + seed2
            for s2 in reversed(loop):
                s3_bar = 0.0
                s3_bar = s3_bar + s2_bar
                s2_bar = 0.0
                s2_bar = s2_bar + s3_bar * x
                x_bar = x_bar + s3_bar * s2
            s2_bar = 0.0
            return (value, (float(x_bar),))
        """, id="loop-records-its-header"),
    pytest.param(weighted, (np.ones(3),), """
        def weighted_vjp(x, seed):
            s = 0.0
            s2 = s
            for i in range(3):
                t = x[i]
                t2 = 2.0 * t
                s3 = s2 + t2
                s2 = s3
            seed2 = _rt.grad_seed(seed, s2)
            s2_bar = 0.0
            x_bar = _rt.zeros_cot(x)
            s2_bar = s2_bar + seed2
            for i in reversed(range(3)):
                s3_bar = 0.0
                t_bar = 0.0
                t2_bar = 0.0
                s3_bar = s3_bar + s2_bar
                s2_bar = 0.0
                s2_bar = s2_bar + s3_bar
                t2_bar = t2_bar + s3_bar
                t_bar = t_bar + t2_bar * 2.0
                x_bar[i] += t_bar
            s2_bar = 0.0
            return (s2, (_rt.finalize_array(x_bar, x),))
        """, id="index-only-loop-runs-reversed-range"),
])
def test_reverse(run_passes, fn, args, want):
    assert run_passes(fn, *args, wrt=("x",))["reverse"] == _golden(want)


# =========================================================================== forward

def scaled_sine(x, k):
    y = k * np.sin(x)
    return y * y


def test_forward_tangent_after_each_active_statement(run_passes):
    out = run_passes(scaled_sine, np.ones(3), 2.0, wrt=("x",), mode="forward")
    assert out["forward"] == _golden("""
        def scaled_sine_jvp(x, k, x_dot):
            t = np.sin(x)
            t_dot = x_dot * np.cos(x)
            y = k * t
            y_dot = k * t_dot
            t2 = y * y
            t2_dot = y_dot * y + y * y_dot
            return (t2, _rt.tangent_out(t2_dot, t2, False))
        """)


# =========================================================================== simplify

def poly(x):
    return x * x + 3.0 * x


def test_simplify_first_contribution_assigns(run_passes):
    out = run_passes(poly, 2.0, wrt=("x",))
    assert out["reverse"] == _golden("""
        def poly_vjp(x, seed):
            t = x * x
            t2 = 3.0 * x
            t3 = t + t2
            seed2 = _rt.grad_seed(seed, t3)
            t_bar = 0.0
            t2_bar = 0.0
            t3_bar = 0.0
            x_bar = 0.0
            t3_bar = t3_bar + seed2
            t_bar = t_bar + t3_bar
            t2_bar = t2_bar + t3_bar
            x_bar = x_bar + t2_bar * 3.0
            x_bar = x_bar + 2.0 * t_bar * x
            return (t3, (float(x_bar),))
        """)
    assert out["simplify"] == _golden("""
        def poly_vjp(x, seed):
            t = x * x
            t2 = 3.0 * x
            t3 = t + t2
            seed2 = _rt.grad_seed(seed, t3)
            x_bar = seed2 * 3.0 + 2.0 * seed2 * x
            return (t3, (float(x_bar),))
        """)


# =========================================================================== buffers

def test_buffers_reuse_a_dead_intermediate_and_write_the_result_into_out(run_passes):
    out = run_passes(nested, np.ones(3), wrt=("x",))
    assert out["simplify"] == _golden("""
        def nested_vjp(x, seed):
            t = -x
            t2 = np.exp(t)
            t3 = np.sum(t2)
            t4 = t3 * 2.0
            seed2 = _rt.grad_seed(seed, t4)
            t3_bar = seed2 * 2.0
            t_bar = t3_bar * t2
            x_bar = -t_bar
            return (t4, (_rt.finalize_array(x_bar, x),))
        """)
    assert out["buffers"] == _golden("""
        def nested_vjp(x, seed, out=None):
            x_out = None if out is None else out[0]
            work = x_out if x_out is not None else _ws.take(0, x.shape, x.dtype)
            t = np.negative(x, out=work)
            t2 = np.exp(t, out=work)
            t3 = float(t2.sum())
            t4 = t3 * 2.0
            seed2 = _rt.grad_seed(seed, t4)
            t3_bar = seed2 * 2.0
            t_bar = np.multiply(t3_bar, t2, out=work)
            x_bar = np.negative(t_bar, out=x_out)
            return (t4, (x_bar if x_bar is x_out else _rt.finalize_array(x_bar, x),))
        """)

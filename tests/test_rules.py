"""Every derivative rule, checked against central differences.

``ROWS`` is one table: a row names a rule's target, a module-level function
that calls it, that function's inputs with a domain each, and the constant
arguments the function passes to the target (so the template can be called
with exactly the arguments the target gets). Three groups of tests use it:

- template checks, independent of the compiler: each reverse template is
  called as a plain function, ``template(y, g, *args, **kw)``, and
  ``<contribution_i, v>`` must equal ``<g, (F(x+eps v) - F(x-eps v)) / 2eps>``
  along a random direction ``v``; each forward template's term must equal the
  central difference, also with a tangent carrying a leading axis of 3
  (vector mode);
- end to end (``e2e``): ``srcad.pullback`` and ``srcad.jvp`` of the row's
  function against central differences;
- meta-tests: every registered rule has a row, templates have the shape the
  inliner expects, helper names are unique across rule modules.

Run the template checks alone with ``pytest tests/test_rules.py -k "not e2e"``.
"""
import ast
import builtins
import inspect
import math
import operator
import textwrap
import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

import srcad.kernels.elementwise
import srcad.transforms.rules
from srcad.transforms.rules import (numpy_builders, numpy_einsum, numpy_reorder,
                                    registry)
from srcad.transforms.rules.numpy_shapes import (
    array_astype,
    array_flatten,
    array_reshape,
    array_transpose,
)

EPS = 1e-6
RTOL = 1e-5
ATOL = 1e-7      # times (1 + the size of the expected value)
VECTOR = 3       # tangent directions pushed at once in vector mode

e2e = pytest.mark.e2e


# ---- inputs -----------------------------------------------------------------

DOMAINS = {
    "real": lambda rng, s: rng.uniform(-2.0, 2.0, s),
    "pos": lambda rng, s: rng.uniform(0.5, 2.0, s),
    "unit": lambda rng, s: rng.uniform(-0.8, 0.8, s),
    "nonzero": lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.3, 2.0, s),
    "gt1": lambda rng, s: rng.uniform(1.2, 3.0, s),
    "low": lambda rng, s: rng.uniform(-1.5, -0.5, s),
    "high": lambda rng, s: rng.uniform(0.5, 1.5, s),
    "matrix": lambda rng, s: (s[-1] * np.eye(s[-1]) if s else 0.0) + rng.uniform(-1, 1, s),
}


@dataclass(frozen=True)
class X:
    """A differentiable input: a float array, or a Python float for shape ()."""
    shape: tuple = ()
    domain: str = "real"
    array0: bool = False     # shape () as a 0-d array rather than a float

    def sample(self, rng):
        v = DOMAINS[self.domain](rng, self.shape)
        return np.asarray(v, dtype=float) if self.shape or self.array0 else float(v)

    def direction(self, rng, lead=()):
        v = rng.standard_normal(lead + self.shape)
        return v if lead or self.shape or self.array0 else float(v)


@dataclass(frozen=True)
class Seq:
    """A differentiable list of inputs (possibly nested)."""
    items: tuple

    def sample(self, rng):
        return [item.sample(rng) for item in self.items]

    def direction(self, rng, lead=()):
        return [item.direction(rng, lead) for item in self.items]


@dataclass(frozen=True)
class K:
    """A constant input: a value, or a function of the generator making one."""
    value: object

    def sample(self, rng):
        return self.value(rng) if callable(self.value) else self.value


def seq(*items):
    return Seq(tuple(items))


def mask(shape):
    return K(lambda rng: rng.random(shape) > 0.5)


# ---- the table --------------------------------------------------------------

@dataclass(eq=False)
class Row:
    target: object
    f: object
    inputs: tuple
    pre: tuple = ()       # constant arguments of the target before f's inputs
    post: tuple = ()      # constant positional arguments after them
    kw: dict = field(default_factory=dict)
    known: dict = field(default_factory=dict)   # test name -> why it fails (strict xfail)

    @property
    def id(self):
        shapes = ",".join(describe(s) for s in self.inputs)
        return f"{self.f.__name__}({shapes})"

    def call(self, *values):
        return self.target(*self.pre, *values, *self.post, **self.kw)

    def args(self, values):
        return (*self.pre, *values, *self.post), self.kw

    def diff_inputs(self):
        return [i for i, s in enumerate(self.inputs) if not isinstance(s, K)]


def describe(spec):
    if isinstance(spec, X):
        return "x".join(map(str, spec.shape)) or ("0d" if spec.array0 else "f")
    if isinstance(spec, Seq):
        return "[" + ",".join(describe(s) for s in spec.items) + "]"
    return "k"


def row(target, f, *inputs, pre=(), post=(), **kw):
    return Row(target, f, inputs, pre, post, kw)


A34, A4, A3 = X((3, 4)), X((4,)), X((3,))
P34 = X((3, 4), "pos")
U34 = X((3, 4), "unit")
N34 = X((3, 4), "nonzero")
S = X(())


# operators
def f_add(a, b): return a + b
def f_sub(a, b): return a - b
def f_mul(a, b): return a * b
def f_div(a, b): return a / b
def f_neg(a): return -a
def f_pos(a): return +a
def f_pow3(a): return a ** 3
def f_pow_half(a): return a ** 2.5
def f_pow(a, b): return a ** b
def f_pow_base2(b): return 2.0 ** b
def f_np_add(a, b): return np.add(a, b)
def f_np_subtract(a, b): return np.subtract(a, b)
def f_np_multiply(a, b): return np.multiply(a, b)
def f_np_divide(a, b): return np.divide(a, b)
def f_np_true_divide(a, b): return np.true_divide(a, b)
def f_np_negative(a): return np.negative(a)
def f_np_positive(a): return np.positive(a)
def f_np_power(a, b): return np.power(a, b)
def f_builtin_pow(a, b): return pow(a, b)
def f_builtin_pow2(a): return pow(a, 2)


ROWS = [
    row(operator.add, f_add, A34, A4), row(operator.add, f_add, X((3, 1)), X((1, 4))),
    row(operator.add, f_add, S, A34), row(operator.add, f_add, S, S),
    row(operator.sub, f_sub, A34, S), row(operator.sub, f_sub, A4, A34),
    row(operator.mul, f_mul, A34, A4), row(operator.mul, f_mul, S, A34),
    row(operator.mul, f_mul, X((3, 1)), X((1, 4))), row(operator.mul, f_mul, S, S),
    row(operator.truediv, f_div, A34, X((4,), "nonzero")),
    row(operator.truediv, f_div, S, N34), row(operator.truediv, f_div, S, X((), "nonzero")),
    row(operator.neg, f_neg, A34), row(operator.neg, f_neg, S),
    row(operator.pos, f_pos, A34),
    row(operator.pow, f_pow3, A34, post=(3,)), row(operator.pow, f_pow_half, P34, post=(2.5,)),
    row(operator.pow, f_pow, P34, A4), row(operator.pow, f_pow, X((), "pos"), A34),
    row(operator.pow, f_pow_base2, A34, pre=(2.0,)), row(operator.pow, f_pow, X((), "pos"), S),
    row(np.add, f_np_add, A34, A4), row(np.subtract, f_np_subtract, X((3, 1)), X((1, 4))),
    row(np.multiply, f_np_multiply, A34, S), row(np.divide, f_np_divide, A34, N34),
    row(np.true_divide, f_np_true_divide, A4, X((3, 4), "nonzero")),
    row(np.negative, f_np_negative, A34), row(np.positive, f_np_positive, A34),
    row(np.power, f_np_power, P34, X((3, 1))),
    row(builtins.pow, f_builtin_pow, X((), "pos"), S),
    row(builtins.pow, f_builtin_pow2, S, post=(2,)),
]


# math
def f_math_exp(x): return math.exp(x)
def f_math_exp2(x): return math.exp2(x)
def f_math_expm1(x): return math.expm1(x)
def f_math_log(x): return math.log(x)
def f_math_log_base(x, b): return math.log(x, b)
def f_math_log2(x): return math.log2(x)
def f_math_log10(x): return math.log10(x)
def f_math_log1p(x): return math.log1p(x)
def f_math_sqrt(x): return math.sqrt(x)
def f_math_cbrt(x): return math.cbrt(x)
def f_math_pow(x, p): return math.pow(x, p)
def f_math_hypot(a, b): return math.hypot(a, b)
def f_math_sin(x): return math.sin(x)
def f_math_cos(x): return math.cos(x)
def f_math_tan(x): return math.tan(x)
def f_math_asin(x): return math.asin(x)
def f_math_acos(x): return math.acos(x)
def f_math_atan(x): return math.atan(x)
def f_math_atan2(a, b): return math.atan2(a, b)
def f_math_sinh(x): return math.sinh(x)
def f_math_cosh(x): return math.cosh(x)
def f_math_tanh(x): return math.tanh(x)
def f_math_asinh(x): return math.asinh(x)
def f_math_acosh(x): return math.acosh(x)
def f_math_atanh(x): return math.atanh(x)
def f_math_degrees(x): return math.degrees(x)
def f_math_radians(x): return math.radians(x)
def f_math_erf(x): return math.erf(x)
def f_math_erfc(x): return math.erfc(x)
def f_math_fabs(x): return math.fabs(x)
def f_math_copysign(x): return math.copysign(x, -1.5)


def scalar_rows(target, f, *domains, **kw):
    return row(target, f, *[X((), d) for d in domains], **kw)


ROWS += [
    scalar_rows(math.exp, f_math_exp, "real"), scalar_rows(math.exp2, f_math_exp2, "real"),
    scalar_rows(math.expm1, f_math_expm1, "real"), scalar_rows(math.log, f_math_log, "pos"),
    scalar_rows(math.log, f_math_log_base, "pos", "gt1"),
    scalar_rows(math.log2, f_math_log2, "pos"), scalar_rows(math.log10, f_math_log10, "pos"),
    scalar_rows(math.log1p, f_math_log1p, "pos"), scalar_rows(math.sqrt, f_math_sqrt, "pos"),
    scalar_rows(math.cbrt, f_math_cbrt, "nonzero"),
    scalar_rows(math.pow, f_math_pow, "pos", "real"),
    scalar_rows(math.hypot, f_math_hypot, "nonzero", "real"),
    scalar_rows(math.sin, f_math_sin, "real"), scalar_rows(math.cos, f_math_cos, "real"),
    scalar_rows(math.tan, f_math_tan, "unit"), scalar_rows(math.asin, f_math_asin, "unit"),
    scalar_rows(math.acos, f_math_acos, "unit"), scalar_rows(math.atan, f_math_atan, "real"),
    scalar_rows(math.atan2, f_math_atan2, "nonzero", "real"),
    scalar_rows(math.sinh, f_math_sinh, "real"), scalar_rows(math.cosh, f_math_cosh, "real"),
    scalar_rows(math.tanh, f_math_tanh, "real"), scalar_rows(math.asinh, f_math_asinh, "real"),
    scalar_rows(math.acosh, f_math_acosh, "gt1"), scalar_rows(math.atanh, f_math_atanh, "unit"),
    scalar_rows(math.degrees, f_math_degrees, "real"),
    scalar_rows(math.radians, f_math_radians, "real"),
    scalar_rows(math.erf, f_math_erf, "real"), scalar_rows(math.erfc, f_math_erfc, "real"),
    scalar_rows(math.fabs, f_math_fabs, "nonzero"),
    scalar_rows(math.copysign, f_math_copysign, "nonzero", post=(-1.5,)),
]


# numpy elementwise
def f_exp(x): return np.exp(x)
def f_exp2(x): return np.exp2(x)
def f_expm1(x): return np.expm1(x)
def f_log(x): return np.log(x)
def f_log2(x): return np.log2(x)
def f_log10(x): return np.log10(x)
def f_log1p(x): return np.log1p(x)
def f_logaddexp(a, b): return np.logaddexp(a, b)
def f_sqrt(x): return np.sqrt(x)
def f_cbrt(x): return np.cbrt(x)
def f_square(x): return np.square(x)
def f_reciprocal(x): return np.reciprocal(x)
def f_hypot(a, b): return np.hypot(a, b)
def f_ratio_or_zero(n, d): return srcad.kernels.elementwise.ratio_or_zero(n, d)
def f_sin(x): return np.sin(x)
def f_cos(x): return np.cos(x)
def f_tan(x): return np.tan(x)
def f_arcsin(x): return np.arcsin(x)
def f_arccos(x): return np.arccos(x)
def f_arctan(x): return np.arctan(x)
def f_arctan2(a, b): return np.arctan2(a, b)
def f_sinh(x): return np.sinh(x)
def f_cosh(x): return np.cosh(x)
def f_tanh(x): return np.tanh(x)
def f_abs(x): return np.abs(x)
def f_fabs(x): return np.fabs(x)
def f_maximum(a, b): return np.maximum(a, b)
def f_fmax(a, b): return np.fmax(a, b)
def f_minimum(a, b): return np.minimum(a, b)
def f_fmin(a, b): return np.fmin(a, b)
def f_where(c, a, b): return np.where(c, a, b)
def f_where_const(c, a): return np.where(c, a, 0.0)
def f_clip(x): return np.clip(x, -0.5, 0.5)
def f_clip_upper(x): return np.clip(x, None, 0.5)
def f_clip_kw(x): return np.clip(x, min=-0.5)
def f_clip_arrays(x, lo, hi): return np.clip(x, lo, hi)
def f_clip_method(x): return x.clip(-0.5, 0.5)


ROWS += [
    row(np.exp, f_exp, A34), row(np.exp, f_exp, S), row(np.exp2, f_exp2, A34),
    row(np.expm1, f_expm1, A34), row(np.log, f_log, P34), row(np.log, f_log, X((), "pos")),
    row(np.log2, f_log2, P34), row(np.log10, f_log10, P34), row(np.log1p, f_log1p, P34),
    row(np.logaddexp, f_logaddexp, A34, A4), row(np.sqrt, f_sqrt, P34),
    row(np.cbrt, f_cbrt, N34), row(np.square, f_square, A34),
    row(np.reciprocal, f_reciprocal, N34), row(np.hypot, f_hypot, X((3, 1)), X((1, 4))),
    row(srcad.kernels.elementwise.ratio_or_zero, f_ratio_or_zero, A34, X((1, 4), "nonzero")),
    row(np.sin, f_sin, A34), row(np.cos, f_cos, A34), row(np.tan, f_tan, U34),
    row(np.arcsin, f_arcsin, U34), row(np.arccos, f_arccos, U34), row(np.arctan, f_arctan, A34),
    row(np.arctan2, f_arctan2, N34, A4), row(np.arctan2, f_arctan2, S, N34),
    row(np.sinh, f_sinh, A34), row(np.cosh, f_cosh, A34), row(np.tanh, f_tanh, A34),
    row(np.abs, f_abs, N34), row(np.abs, f_abs, X((), "nonzero")), row(np.fabs, f_fabs, N34),
    row(np.maximum, f_maximum, A34, A4), row(np.maximum, f_maximum, S, A34),
    row(np.fmax, f_fmax, A34, A34),
    row(np.minimum, f_minimum, X((3, 1)), X((1, 4))), row(np.fmin, f_fmin, A34, A4),
    row(np.where, f_where, mask((3, 4)), A34, A4),
    row(np.where, f_where, mask((3, 4)), S, A34),
    row(np.where, f_where_const, mask((3, 4)), A34, post=(0.0,)),
    row(np.clip, f_clip, A34, post=(-0.5, 0.5)), row(np.clip, f_clip, S, post=(-0.5, 0.5)),
    row(np.clip, f_clip_upper, A34, post=(None, 0.5)),
    row(np.clip, f_clip_kw, A34, min=-0.5),
    row(np.clip, f_clip_arrays, A34, X((4,), "low"), X((3, 1), "high")),
    row(np.clip, f_clip_method, A34, post=(-0.5, 0.5)),
]


# numpy reductions
A234 = X((2, 3, 4))
def f_sum(x): return np.sum(x)
def f_sum_axis1(x): return np.sum(x, axis=1)
def f_sum_axes(x): return np.sum(x, axis=(0, 2))
def f_sum_keep(x): return np.sum(x, axis=-1, keepdims=True)
def f_sum_method(x): return x.sum(0)
def f_mean(x): return np.mean(x)
def f_mean_keep(x): return np.mean(x, axis=0, keepdims=True)
def f_mean_axes(x): return np.mean(x, axis=(0, 1))
def f_mean_method(x): return x.mean(axis=-1)
def f_prod(x): return np.prod(x)
def f_prod_axis1(x): return np.prod(x, axis=1)
def f_prod_axes(x): return np.prod(x, axis=(0, 2), keepdims=True)
def f_prod_method(x): return x.prod(1)
def f_max(x): return np.max(x)
def f_max_axis0(x): return np.max(x, axis=0)
def f_max_keep(x): return np.max(x, axis=(1,), keepdims=True)
def f_amax(x): return np.amax(x, axis=1)
def f_min(x): return np.min(x, axis=-1)
def f_amin(x): return np.amin(x)
def f_max_method(x): return x.max(1)
def f_min_method(x): return x.min()
def f_var(x): return np.var(x)
def f_var_ddof(x): return np.var(x, axis=1, ddof=1)
def f_var_method(x): return x.var(0)
def f_std(x): return np.std(x, axis=0, keepdims=True)
def f_std_all(x): return np.std(x)
def f_std_method(x): return x.std(axis=1)
def f_cumsum(x): return np.cumsum(x)
def f_cumsum_axis1(x): return np.cumsum(x, axis=1)
def f_cumsum_last(x): return np.cumsum(x, axis=-1)
def f_cumsum_method(x): return x.cumsum(0)
def f_cumprod(x): return np.cumprod(x)
def f_cumprod_axis1(x): return np.cumprod(x, axis=1)
def f_cumprod_last(x): return np.cumprod(x, axis=-1)
def f_cumprod_method(x): return x.cumprod(0)
def f_norm(x): return np.linalg.norm(x)
def f_norm_axis(x): return np.linalg.norm(x, axis=1)
def f_norm_keep(x): return np.linalg.norm(x, axis=0, keepdims=True)
def f_norm_1(x): return np.linalg.norm(x, 1)
def f_norm_2(x): return np.linalg.norm(x, ord=2)
def f_norm_fro(x): return np.linalg.norm(x, "fro")
def f_norm_pairs(x): return np.linalg.norm(x, axis=(1, 2))


ROWS += [
    row(np.sum, f_sum, A34), row(np.sum, f_sum_axis1, A34, axis=1),
    row(np.sum, f_sum_axes, A234, axis=(0, 2)),
    row(np.sum, f_sum_keep, A234, axis=-1, keepdims=True),
    row(np.sum, f_sum_method, A34, post=(0,)),
    row(np.mean, f_mean, A34), row(np.mean, f_mean_keep, A34, axis=0, keepdims=True),
    row(np.mean, f_mean_axes, A234, axis=(0, 1)), row(np.mean, f_mean_method, A234, axis=-1),
    row(np.prod, f_prod, X((2, 3), "pos")),
    row(np.prod, f_prod_axis1, X((3, 4), "nonzero"), axis=1),
    row(np.prod, f_prod_axes, X((2, 3, 2), "nonzero"), axis=(0, 2), keepdims=True),
    row(np.prod, f_prod_method, X((3, 4), "nonzero"), post=(1,)),
    row(np.max, f_max, A34), row(np.max, f_max_axis0, A34, axis=0),
    row(np.max, f_max_keep, A234, axis=(1,), keepdims=True), row(np.amax, f_amax, A34, axis=1),
    row(np.min, f_min, A34, axis=-1), row(np.amin, f_amin, A234),
    row(np.max, f_max_method, A34, post=(1,)), row(np.min, f_min_method, A34),
    row(np.var, f_var, A34), row(np.var, f_var_ddof, A34, axis=1, ddof=1),
    row(np.var, f_var_method, A234, post=(0,)),
    row(np.std, f_std, A34, axis=0, keepdims=True), row(np.std, f_std_all, A234),
    row(np.std, f_std_method, A34, axis=1),
    row(np.cumsum, f_cumsum, A34), row(np.cumsum, f_cumsum_axis1, A34, axis=1),
    row(np.cumsum, f_cumsum_last, A234, axis=-1), row(np.cumsum, f_cumsum_method, A34, post=(0,)),
    row(np.cumprod, f_cumprod, A34), row(np.cumprod, f_cumprod_axis1, A34, axis=1),
    row(np.cumprod, f_cumprod_last, A234, axis=-1),
    row(np.cumprod, f_cumprod_method, A34, post=(0,)),
    row(np.linalg.norm, f_norm, X((5,))), row(np.linalg.norm, f_norm, A34),
    row(np.linalg.norm, f_norm_axis, A34, axis=1),
    row(np.linalg.norm, f_norm_keep, A34, axis=0, keepdims=True),
    row(np.linalg.norm, f_norm_1, X((5,), "nonzero"), post=(1,)),
    row(np.linalg.norm, f_norm_2, X((5,)), ord=2),
    row(np.linalg.norm, f_norm_fro, A34, post=("fro",)),
    row(np.linalg.norm, f_norm_pairs, A234, axis=(1, 2)),
]


# numpy linear algebra
M33 = X((3, 3), "matrix")
def f_matmul(a, b): return a @ b
def f_np_matmul(a, b): return np.matmul(a, b)
def f_dot(a, b): return np.dot(a, b)
def f_dot_method(a, b): return a.dot(b)
def f_inner(a, b): return np.inner(a, b)
def f_outer(a, b): return np.outer(a, b)
def f_vdot(a, b): return np.vdot(a, b)
def f_solve(a, b): return np.linalg.solve(a, b)
def f_inv(a): return np.linalg.inv(a)
def f_det(a): return np.linalg.det(a)
def f_trace(a): return np.trace(a)
def f_trace_offset(a): return np.trace(a, 1)
def f_trace_axes(a): return np.trace(a, axis1=1, axis2=-1)
def f_trace_method(a): return a.trace()
def f_diag(v): return np.diag(v)
def f_diag_k(v): return np.diag(v, -1)
def f_diag_k1(v): return np.diag(v, k=1)


MATMUL_SHAPES = [((3, 4), (4, 5)), ((3, 4), (4,)), ((4,), (4, 5)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)),
                 ((2, 3, 4), (4,)), ((4,), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2))]
ROWS += [row(operator.matmul, f_matmul, X(a), X(b)) for a, b in MATMUL_SHAPES]
ROWS += [row(np.matmul, f_np_matmul, X(a), X(b)) for a, b in MATMUL_SHAPES[:6]]
ROWS += [
    row(np.dot, f_dot, A34, A4), row(np.dot, f_dot, A4, A4), row(np.dot, f_dot, S, A34),
    row(np.dot, f_dot, A34, X((4, 2))), row(np.dot, f_dot, A4, X((4, 2))),
    row(np.dot, f_dot_method, A34, X((4, 2))),
    row(np.inner, f_inner, A34, X((5, 4))), row(np.inner, f_inner, A4, A4),
    row(np.inner, f_inner, A234, A4), row(np.inner, f_inner, A4, X((2, 3, 4))),
    row(np.inner, f_inner, S, A34),
    row(np.outer, f_outer, A3, A4), row(np.outer, f_outer, X((2, 2)), A3),
    row(np.vdot, f_vdot, A34, A34),
    row(np.linalg.solve, f_solve, M33, A3), row(np.linalg.solve, f_solve, M33, X((3, 2))),
    row(np.linalg.solve, f_solve, X((2, 3, 3), "matrix"), X((2, 3, 2))),
    row(np.linalg.solve, f_solve, X((2, 3, 3), "matrix"), A3),
    row(np.linalg.solve, f_solve, X((2, 3, 3), "matrix"), X((3, 2))),
    row(np.linalg.solve, f_solve, M33, X((2, 3, 2))),
    row(np.linalg.inv, f_inv, M33), row(np.linalg.inv, f_inv, X((2, 3, 3), "matrix")),
    row(np.linalg.det, f_det, M33), row(np.linalg.det, f_det, X((2, 3, 3), "matrix")),
    row(np.trace, f_trace, A34), row(np.trace, f_trace_offset, A34, post=(1,)),
    row(np.trace, f_trace_axes, A234, axis1=1, axis2=-1), row(np.trace, f_trace_method, A34),
    row(np.diag, f_diag, A4), row(np.diag, f_diag_k, A4, post=(-1,)),
    row(np.diag, f_diag_k1, A34, k=1), row(np.diag, f_diag, X((4, 4))),
]


# numpy shapes, sequences, constructors
def f_reshape(x): return np.reshape(x, (4, 3))
def f_reshape_f(x): return np.reshape(x, (2, -1), order="F")
def f_reshape_method(x): return x.reshape(2, 6)
def f_reshape_method_tuple(x): return x.reshape((6, 2))
def f_reshape_method_f(x): return x.reshape(-1, order="F")
def f_ravel(x): return np.ravel(x)
def f_ravel_f(x): return np.ravel(x, order="F")
def f_ravel_method(x): return x.ravel()
def f_flatten(x): return x.flatten()
def f_squeeze(x): return np.squeeze(x)
def f_squeeze_axis(x): return np.squeeze(x, axis=1)
def f_squeeze_method(x): return x.squeeze()
def f_expand_dims(x): return np.expand_dims(x, 1)
def f_broadcast_to(x): return np.broadcast_to(x, (3, 4))
def f_copy(x): return np.copy(x)
def f_copy_method(x): return x.copy()
def f_real(x): return np.real(x)
def f_real_attr(x): return x.real
def f_imag(x): return np.imag(x)
def f_imag_attr(x): return x.imag
def f_conj(x): return np.conj(x)
def f_conj_method(x): return x.conj()
def f_astype(x): return x.astype(np.float64)
def f_transpose(x): return np.transpose(x)
def f_transpose_axes(x): return np.transpose(x, (1, 0, 2))
def f_transpose_neg(x): return np.transpose(x, (-1, 0, 1))
def f_T(x): return x.T
def f_transpose_method(x): return x.transpose()
def f_transpose_method_args(x): return x.transpose(2, 0, 1)
def f_transpose_method_tuple(x): return x.transpose((1, 2, 0))
def f_flip(x): return np.flip(x)
def f_flip_axis(x): return np.flip(x, 1)
def f_flip_axes(x): return np.flip(x, (0, -1))
def f_concatenate(xs): return np.concatenate(xs)
def f_concatenate1(xs): return np.concatenate(xs, axis=1)
def f_concatenate_flat(xs): return np.concatenate(xs, axis=None)
def f_stack(xs): return np.stack(xs)
def f_stack_last(xs): return np.stack(xs, axis=-1)
def f_hstack(xs): return np.hstack(xs)
def f_vstack(xs): return np.vstack(xs)
def f_array(xs): return np.array(xs)
def f_asarray(xs): return np.asarray(xs)
def f_full(x): return np.full((3, 4), x)
def f_full_like(c, x): return np.full_like(c, x)


ROWS += [
    row(np.reshape, f_reshape, A34, post=((4, 3),)),
    row(np.reshape, f_reshape_f, A34, post=((2, -1),), order="F"),
    row(array_reshape, f_reshape_method, A34, post=(2, 6)),
    row(array_reshape, f_reshape_method_tuple, A34, post=((6, 2),)),
    row(array_reshape, f_reshape_method_f, A34, post=(-1,), order="F"),
    row(np.ravel, f_ravel, A234), row(np.ravel, f_ravel_f, A34, post=("F",)),
    row(np.ravel, f_ravel_method, A34), row(array_flatten, f_flatten, A234),
    row(np.squeeze, f_squeeze, X((3, 1, 4))), row(np.squeeze, f_squeeze_axis, X((3, 1, 4)), axis=1),
    row(np.squeeze, f_squeeze_method, X((1, 4))),
    row(np.expand_dims, f_expand_dims, A34, post=(1,)),
    row(np.broadcast_to, f_broadcast_to, A4, post=((3, 4),)),
    row(np.broadcast_to, f_broadcast_to, X((3, 1)), post=((3, 4),)),
    row(np.broadcast_to, f_broadcast_to, S, post=((3, 4),)),
    row(np.copy, f_copy, A34), row(np.copy, f_copy_method, A34),
    row(np.real, f_real, A34), row(np.real, f_real_attr, A34), row(np.real, f_real, S),
    row(np.imag, f_imag, A34), row(np.imag, f_imag_attr, A34),
    row(np.conjugate, f_conj, A34), row(np.conjugate, f_conj_method, A34),
    row(array_astype, f_astype, A34, post=(np.float64,)),
    row(np.transpose, f_transpose, A234),
    row(np.transpose, f_transpose_axes, A234, post=((1, 0, 2),)),
    row(np.transpose, f_transpose_neg, A234, post=((-1, 0, 1),)), row(np.transpose, f_T, A34),
    row(array_transpose, f_transpose_method, A234),
    row(array_transpose, f_transpose_method_args, A234, post=(2, 0, 1)),
    row(array_transpose, f_transpose_method_tuple, A234, post=((1, 2, 0),)),
    row(np.flip, f_flip, A34), row(np.flip, f_flip_axis, A234, post=(1,)),
    row(np.flip, f_flip_axes, A234, post=((0, -1),)),
    row(np.concatenate, f_concatenate, seq(A34, X((2, 4)))),
    row(np.concatenate, f_concatenate1, seq(X((3, 2)), A34, X((3, 1))), axis=1),
    row(np.concatenate, f_concatenate_flat, seq(A34, X((5,))), axis=None),
    row(np.stack, f_stack, seq(A34, A34)), row(np.stack, f_stack_last, seq(A4, A4, A4), axis=-1),
    row(np.hstack, f_hstack, seq(A3, A4)), row(np.hstack, f_hstack, seq(X((2, 3)), X((2, 1)))),
    row(np.hstack, f_hstack, seq(S, A3)),
    row(np.vstack, f_vstack, seq(A4, A4)), row(np.vstack, f_vstack, seq(X((2, 4)), A4)),
    row(np.array, f_array, seq(S, S, S)), row(np.array, f_array, seq(A3, A3)),
    row(np.array, f_array, seq(seq(S, S), seq(S, S))), row(np.array, f_array, A34),
    row(np.asarray, f_asarray, seq(S, S)), row(np.asarray, f_asarray, A34),
    row(np.full, f_full, S, pre=((3, 4),)), row(np.full, f_full, A4, pre=((3, 4),)),
    row(np.full_like, f_full_like, K(np.zeros((3, 4))), S),
]


# builtins
def f_builtin_abs(x): return abs(x)
def f_builtin_float(x): return float(x)
def f_builtin_sum(xs): return sum(xs)
def f_builtin_sum_start(xs, s): return sum(xs, s)
def f_builtin_max2(a, b): return max(a, b)
def f_builtin_max(xs): return max(xs)
def f_builtin_min2(a, b): return min(a, b)
def f_builtin_min(xs): return min(xs)


ROWS += [
    row(builtins.abs, f_builtin_abs, X((), "nonzero")), row(builtins.abs, f_builtin_abs, N34),
    row(builtins.float, f_builtin_float, S),
    row(builtins.float, f_builtin_float, X((), array0=True)),
    row(builtins.sum, f_builtin_sum, seq(S, S, S)), row(builtins.sum, f_builtin_sum, seq(A3, A3)),
    row(builtins.sum, f_builtin_sum, A34), row(builtins.sum, f_builtin_sum_start, seq(A3, S), S),
    row(builtins.max, f_builtin_max2, S, S), row(builtins.max, f_builtin_max, seq(S, S, S)),
    row(builtins.max, f_builtin_max, X((5,))),
    row(builtins.min, f_builtin_min2, S, S), row(builtins.min, f_builtin_min, seq(S, S, S)),
    row(builtins.min, f_builtin_min, X((6,))),
]


def f_swapaxes(a): return np.swapaxes(a, 0, 2)
def f_swapaxes_neg(a): return np.swapaxes(a, -1, 1)
def f_moveaxis(a): return np.moveaxis(a, 0, -1)
def f_moveaxis_many(a): return np.moveaxis(a, (0, 1), (2, 0))


ROWS += [
    row(np.swapaxes, f_swapaxes, X((2, 3, 4)), post=(0, 2)),
    row(np.swapaxes, f_swapaxes_neg, X((2, 3, 4)), post=(-1, 1)),
    row(np.moveaxis, f_moveaxis, X((2, 3, 4)), post=(0, -1)),
    row(np.moveaxis, f_moveaxis_many, X((2, 3, 4)), post=((0, 1), (2, 0))),
]


from srcad.transforms.rules.numpy_linalg import inner_back_a, inner_back_b  # noqa: E402
from srcad.transforms.rules.numpy_shapes import seq_split, seq_stack_back  # noqa: E402


def f_seq_split(c): return seq_split(c, [np.zeros((3, 4)), np.zeros((3, 4))], 0, 0)
def f_seq_stack_back(c): return seq_stack_back(c, [np.zeros((3, 4)), np.zeros((3, 4))], 0)
def f_inner_back_a(c, a, b): return inner_back_a(c, a, b)
def f_inner_back_b(c, a, b): return inner_back_b(c, a, b)


ROWS += [
    row(seq_split, f_seq_split, X((6, 4)), post=([np.zeros((3, 4)), np.zeros((3, 4))], 0, 0)),
    row(seq_stack_back, f_seq_stack_back, X((2, 3, 4)),
        post=([np.zeros((3, 4)), np.zeros((3, 4))], 0)),
    row(inner_back_a, f_inner_back_a, X((3, 5)), K(np.zeros((3, 4))), X((5, 4))),
    row(inner_back_b, f_inner_back_b, X((3, 5)), X((3, 4)), K(np.zeros((5, 4)))),
]


from srcad.transforms.rules.numpy_reductions import norm_weights  # noqa: E402


def f_norm_weights(x, n): return norm_weights(x, n, None, None, False)
def f_norm_weights_axis(x, n): return norm_weights(x, n, None, 1, False)


ROWS += [
    row(norm_weights, f_norm_weights, A4, X((), "pos"), post=(None, None, False)),
    row(norm_weights, f_norm_weights_axis, A34, X((3,), "pos"), post=(None, 1, False)),
]


def f_diagonal(a): return np.diagonal(a)
def f_diagonal_offset(a): return np.diagonal(a, 1)
def f_diagonal_axes(a): return np.diagonal(a, -1, 2, 0)


ROWS += [
    row(np.diagonal, f_diagonal, X((4, 4))),
    row(np.diagonal, f_diagonal_offset, X((3, 4)), post=(1,)),
    row(np.diagonal, f_diagonal_axes, X((3, 2, 4)), post=(-1, 2, 0)),
]


def f_einsum_mm(a, b): return np.einsum("ij,jk->ik", a, b)
def f_einsum_sum(a): return np.einsum("ij->i", a)
def f_einsum_dot(a, b): return np.einsum("i,i", a, b)
def f_einsum_three(a, b, c): return np.einsum("ij,j,jk->ik", a, b, c)
def f_einsum_outer_t(a, b): return np.einsum("i,j->ji", a, b)


ROWS += [
    row(np.einsum, f_einsum_mm, A34, X((4, 5)), pre=("ij,jk->ik",)),
    row(np.einsum, f_einsum_sum, A34, pre=("ij->i",)),
    row(np.einsum, f_einsum_dot, A4, A4, pre=("i,i",)),
    row(np.einsum, f_einsum_three, A34, A4, X((4, 5)), pre=("ij,j,jk->ik",)),
    row(np.einsum, f_einsum_outer_t, A3, A4, pre=("i,j->ji",)),
]


# arrays built from values (numpy_builders)
from srcad.transforms.rules.numpy_builders import c_join, r_join  # noqa: E402


def f_linspace(a, b): return np.linspace(a, b, 5)
def f_linspace_open(a, b): return np.linspace(a, b, 4, endpoint=False)
def f_linspace_axis(a, b): return np.linspace(a, b, 3, axis=1)
def f_r_join(xs): return r_join(xs)
def f_c_join(xs): return c_join(xs)
def f_column_stack(xs): return np.column_stack(xs)


ROWS += [
    row(np.linspace, f_linspace, S, S, post=(5,)),
    row(np.linspace, f_linspace_open, S, A3, post=(4,), endpoint=False),
    row(np.linspace, f_linspace_axis, A3, X((2, 3)), post=(3,), axis=1),
    row(r_join, f_r_join, seq(A3, S, X((2,)))), row(r_join, f_r_join, seq(A34, X((2, 4)))),
    row(c_join, f_c_join, seq(A3, X((3, 2)), A3)), row(c_join, f_c_join, seq(S, S)),
    row(np.column_stack, f_column_stack, seq(A3, A3)),
]


# reordering, masks, differences (numpy_reorder), inverse hyperbolic functions, angles, mod
def f_sort(x): return np.sort(x)
def f_sort_axis0(x): return np.sort(x, axis=0)
def f_sort_flat(x): return np.sort(x, axis=None)
def f_tril(x): return np.tril(x)
def f_triu(x): return np.triu(x, 1)
def f_diff(x): return np.diff(x)
def f_diff2(x): return np.diff(x, 2, axis=0)
def f_fliplr(x): return np.fliplr(x)
def f_flipud(x): return np.flipud(x)
def f_matrix_transpose(x): return np.matrix_transpose(x)
def f_linalg_matrix_transpose(x): return np.linalg.matrix_transpose(x)
def f_atleast_1d(x): return np.atleast_1d(x)
def f_atleast_2d(x): return np.atleast_2d(x)
def f_atleast_3d(x): return np.atleast_3d(x)
def f_arcsinh(x): return np.arcsinh(x)
def f_arccosh(x): return np.arccosh(x)
def f_arctanh(x): return np.arctanh(x)
def f_deg2rad(x): return np.deg2rad(x)
def f_radians(x): return np.radians(x)
def f_rad2deg(x): return np.rad2deg(x)
def f_degrees(x): return np.degrees(x)
def f_mod(a, b): return a % b
def f_remainder(a, b): return np.remainder(a, b)
def f_fmod(a, b): return np.fmod(a, b)
def f_math_fmod(a, b): return math.fmod(a, b)


ROWS += [
    row(np.sort, f_sort, A34), row(np.sort, f_sort_axis0, A34, axis=0),
    row(np.sort, f_sort_flat, A34, axis=None),
    row(np.tril, f_tril, A34), row(np.triu, f_triu, X((2, 3, 3)), post=(1,)),
    row(np.tril, f_tril, A4),
    row(np.diff, f_diff, A34), row(np.diff, f_diff2, X((5, 3)), post=(2,), axis=0),
    row(np.fliplr, f_fliplr, A34), row(np.flipud, f_flipud, A34),
    row(np.matrix_transpose, f_matrix_transpose, A234),
    row(np.linalg.matrix_transpose, f_linalg_matrix_transpose, A34),
    row(np.atleast_1d, f_atleast_1d, S), row(np.atleast_2d, f_atleast_2d, A4),
    row(np.atleast_3d, f_atleast_3d, A34),
    row(np.arcsinh, f_arcsinh, A34), row(np.arccosh, f_arccosh, X((3, 4), "gt1")),
    row(np.arctanh, f_arctanh, U34),
    row(np.deg2rad, f_deg2rad, A34), row(np.radians, f_radians, S),
    row(np.rad2deg, f_rad2deg, A34), row(np.degrees, f_degrees, S),
    row(operator.mod, f_mod, P34, X((4,), "high")), row(operator.mod, f_mod, S, X((), "high")),
    row(np.remainder, f_remainder, A34, X((), "high")),
    row(np.fmod, f_fmod, A34, X((3, 1), "high")),
    row(math.fmod, f_math_fmod, S, X((), "high")),
]


# rules for the helpers that templates call (so generated code can be differentiated again);
# these rows must be in ROWS before the tests below are parametrized from it
from srcad.transforms.rules.numpy_linalg import diagonal_back, matmul_back_a, matmul_back_b  # noqa: E402
from srcad.transforms.rules.numpy_reductions import reduce_expand, reduce_keep  # noqa: E402
from srcad.transforms.rules.math_rules import math_recip  # noqa: E402
from srcad.transforms.rules.operators import pow_dbase  # noqa: E402
from srcad.transforms.rules.registry import broadcast_tangent, lift_tangent, unbroadcast  # noqa: E402


def f_pow_dbase(a, b): return pow_dbase(a, b)
def f_unbroadcast(c, x): return unbroadcast(c, x)
def f_lift_tangent(dx, x, z): return lift_tangent(dx, x, z)
def f_broadcast_tangent(dx, x, z): return broadcast_tangent(dx, x, z)
def f_reduce_expand(c, a): return reduce_expand(c, a, 0, False)
def f_reduce_keep(c, a): return reduce_keep(c, a, 1, False)
def f_matmul_back_a(c, a, b): return matmul_back_a(c, a, b)
def f_matmul_back_b(c, a, b): return matmul_back_b(c, a, b)
def f_diagonal_back(c, a): return diagonal_back(c, a, 1, 0, 1)
def f_math_recip(v): return math_recip(v)


Z4, Z34, Z45 = K(np.zeros(4)), K(np.zeros((3, 4))), K(np.zeros((4, 5)))
ROWS += [
    row(pow_dbase, f_pow_dbase, P34, X((), "pos")), row(pow_dbase, f_pow_dbase, P34, P34),
    row(unbroadcast, f_unbroadcast, A34, K(np.zeros((1, 4)))),
    row(unbroadcast, f_unbroadcast, A34, Z4),
    row(lift_tangent, f_lift_tangent, A4, Z4, Z34),
    row(broadcast_tangent, f_broadcast_tangent, A4, Z4, Z34),
    # vector mode: dx carries a leading axis of 2 that x does not have
    row(lift_tangent, f_lift_tangent, X((2, 4)), Z4, Z34),
    row(broadcast_tangent, f_broadcast_tangent, X((2, 4)), Z4, Z34),
    row(reduce_expand, f_reduce_expand, A4, Z34, post=(0, False)),
    row(reduce_keep, f_reduce_keep, A3, Z34, post=(1, False)),
    row(matmul_back_a, f_matmul_back_a, X((3, 5)), Z34, X((4, 5))),
    row(matmul_back_a, f_matmul_back_a, A3, K(np.zeros(4)), X((4, 3))),
    row(matmul_back_b, f_matmul_back_b, X((3, 5)), A34, Z45),
    row(matmul_back_b, f_matmul_back_b, A3, A34, K(np.zeros(4))),
    row(diagonal_back, f_diagonal_back, A3, Z34, post=(1, 0, 1)),
    row(math_recip, f_math_recip, X((), "pos")),
]


# a variant rule's target with the constant argument it specialises
def f_pow2(a): return a ** 2


ROWS.append(row(operator.pow, f_pow2, A34, post=(2,)))


# ---- checking helpers -------------------------------------------------------

def leaves(tree):
    if isinstance(tree, (list, tuple)):
        return [leaf for t in tree for leaf in leaves(t)]
    return [tree]


def inner(a, b):
    return float(sum(np.sum(np.asarray(x, float) * np.asarray(y, float))
                     for x, y in zip(leaves(a), leaves(b), strict=True)))


def axpy(x, v, t):
    if isinstance(x, list):
        return [axpy(xi, vi, t) for xi, vi in zip(x, v, strict=True)]
    if isinstance(x, np.ndarray):
        return x + t * np.asarray(v)
    return x + t * v


def pick(v, k):
    """Direction ``k`` of a vector-mode tangent."""
    if isinstance(v, list):
        return [pick(vi, k) for vi in v]
    return v[k]


def central_difference(r, values, i, v):
    plus, minus = list(values), list(values)
    plus[i], minus[i] = axpy(values[i], v, EPS), axpy(values[i], v, -EPS)
    return (np.asarray(r.call(*plus), float) - np.asarray(r.call(*minus), float)) / (2 * EPS)


def assert_close(got, want, what):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    tol = RTOL * np.abs(want) + ATOL * (1.0 + float(np.max(np.abs(want), initial=0.0)))
    err = np.abs(got - want)
    assert np.all(err <= tol), f"{what}: got {got}, central differences {want}"


def assert_like(c, x, what):
    """A contribution has the structure of its operand (a list for a list, same shapes)."""
    if isinstance(x, list):
        assert isinstance(c, list) and len(c) == len(x), f"{what}: {c!r} is not like {x!r}"
        for k, (ci, xi) in enumerate(zip(c, x, strict=True)):
            assert_like(ci, xi, f"{what}[{k}]")
        return
    assert c is not None, f"{what}: no contribution for a differentiable input"
    assert np.shape(c) == np.shape(x), f"{what}: shape {np.shape(c)} != {np.shape(x)}"


def setup(r):
    rng = np.random.default_rng(zlib.crc32(r.id.encode()))
    values = [spec.sample(rng) for spec in r.inputs]
    y = r.call(*values)
    np.testing.assert_allclose(r.f(*values), y, err_msg=f"{r.f.__name__} does not call its target "
                               "with the row's arguments")
    g = rng.standard_normal(np.shape(y))
    g = g if np.ndim(y) else float(g)
    return rng, values, y, g


def rule_row_params(table, test):
    return [pytest.param(r, id=r.id, marks=[pytest.mark.xfail(strict=True, reason=r.known[test])]
                         if test in r.known else [])
            for r in ROWS if table.get(r.target)]


# ---- (a) template checks ----------------------------------------------------

@pytest.mark.parametrize("r", rule_row_params(registry.REVERSE, "test_reverse_template"))
def test_reverse_template(r):
    rng, values, y, g = setup(r)
    template = registry.op(r.target).reverse.template
    args, kw = r.args(values)
    contributions = template(y, g, *args, **kw)
    assert isinstance(contributions, tuple)
    for i in r.diff_inputs():
        what = f"{template.__name__} contribution to input {i}"
        pos = len(r.pre) + i
        c = contributions[pos] if pos < len(contributions) else None
        assert_like(c, values[i], what)
        v = r.inputs[i].direction(rng)
        assert_close(inner(c, v), inner(g, central_difference(r, values, i, v)), what)


@pytest.mark.parametrize("r", rule_row_params(registry.FORWARD, "test_forward_template"))
def test_forward_template(r):
    rng, values, y, _ = setup(r)
    rule = registry.op(r.target).forward
    args, kw = r.args(values)
    terms = rule.template(y, *args, **kw)
    assert isinstance(terms, tuple)
    for i in r.diff_inputs():
        what = f"{rule.template.__name__} term of input {i}"
        term = terms[len(r.pre) + i]
        v = r.inputs[i].direction(rng)
        assert_close(term(v), central_difference(r, values, i, v), what)
        if isinstance(r.inputs[i], Seq) and len(v) > 1:      # a constant element: None
            partial = [v[0]] + [None] * (len(v) - 1)
            zeros = [v[0]] + [np.zeros_like(np.asarray(e)) for e in v[1:]]
            assert_close(term(partial), central_difference(r, values, i, zeros),
                         what + " with constant elements")
        if rule.vector:
            vs = r.inputs[i].direction(rng, (VECTOR,))
            want = np.stack([central_difference(r, values, i, pick(vs, k)) for k in range(VECTOR)])
            assert_close(term(vs), want, what + " (vector mode)")


KINKS = [   # (target, args, kwargs, the contribution to input 0 at the kink)
    (np.abs, (np.array([0.0, 2.0]),), {}, [0.0, 1.0]),
    (np.maximum, (np.array([1.0, 2.0]), np.array([1.0, 0.0])), {}, [0.5, 1.0]),
    (np.minimum, (np.array([1.0, 2.0]), np.array([1.0, 0.0])), {}, [0.5, 0.0]),
    (np.max, (np.array([3.0, 1.0, 3.0]),), {}, [0.5, 0.0, 0.5]),
    (np.clip, (np.array([-1.0, 0.0, 1.0, 2.0]), 0.0, 1.0), {}, [0.0, 1.0, 1.0, 0.0]),
    (np.prod, (np.array([0.0, 2.0, 3.0]),), {}, [6.0, 0.0, 0.0]),
    (np.prod, (np.array([0.0, 2.0, 0.0]),), {}, [0.0, 0.0, 0.0]),
    (np.linalg.norm, (np.zeros(3),), {}, [0.0, 0.0, 0.0]),
    (np.std, (np.ones(3),), {}, [0.0, 0.0, 0.0]),
    (np.arctan2, (np.zeros(2), np.zeros(2)), {}, [0.0, 0.0]),
    (np.hypot, (np.zeros(2), np.zeros(2)), {}, [0.0, 0.0]),
    (operator.pow, (np.array([0.0, -2.0]), 0.0), {}, [0.0, 0.0]),
    (math.fabs, (0.0,), {}, 0.0), (math.atan2, (0.0, 0.0), {}, 0.0),
    (math.hypot, (0.0, 0.0), {}, 0.0), (builtins.max, (1.0, 1.0), {}, 0.5),
    (builtins.abs, (0.0,), {}, 0.0),
]


@pytest.mark.parametrize("target,args,kw,want", KINKS, ids=[str(k) for k in range(len(KINKS))])
def test_kink_policy(target, args, kw, want):
    """At a kink, a rule gives the documented subgradient: finite, never NaN or an error."""
    y = target(*args, **kw)
    g = np.ones(np.shape(y)) if np.ndim(y) else 1.0
    with np.errstate(all="raise"):
        got = registry.op(target).reverse.template(y, g, *args, **kw)[0]
        np.testing.assert_array_equal(got, want)
        term = registry.op(target).forward.template(y, *args, **kw)[0]
        np.testing.assert_array_equal(term(np.ones(np.shape(args[0])) if np.ndim(args[0]) else 1.0),
                                      np.sum(want) if np.ndim(y) == 0 else want)


# ---- (b) end to end ---------------------------------------------------------

@e2e
@pytest.mark.parametrize("r", rule_row_params(registry.REVERSE, "test_e2e_pullback"))
def test_e2e_pullback(r):
    import srcad
    rng, values, y, g = setup(r)
    for i in r.diff_inputs():
        value, back = srcad.pullback(r.f, *values, wrt=i)
        np.testing.assert_allclose(value, y)
        (c,) = back(list(g) if isinstance(value, list) else g)   # a list output: a list of
                                                                  # cotangents
        assert_like(c, values[i], f"pullback of {r.f.__name__} wrt {i}")
        v = r.inputs[i].direction(rng)
        assert_close(inner(c, v), inner(g, central_difference(r, values, i, v)),
                     f"pullback of {r.f.__name__} wrt {i}")


@e2e
@pytest.mark.parametrize("r", rule_row_params(registry.FORWARD, "test_e2e_jvp"))
def test_e2e_jvp(r):
    import srcad
    rng, values, y, _ = setup(r)
    for i in r.diff_inputs():
        v = r.inputs[i].direction(rng)
        value, t = srcad.jvp(r.f, tuple(values), (v,), wrt=i)
        np.testing.assert_allclose(value, y)
        assert_close(t, central_difference(r, values, i, v), f"jvp of {r.f.__name__} wrt {i}")


# ---- (c) meta-tests ---------------------------------------------------------

RULE_MODULES = srcad.transforms.rules.MODULES
OURS = {m.__name__ for m in RULE_MODULES}
SHARED = {"np", "math", "unbroadcast", "lift_tangent", "broadcast_tangent", "tangent_lead",
          "lift_tangent_as", "broadcast_tangent_as"}


def our_rules():
    for kind, table in (("reverse", registry.REVERSE), ("forward", registry.FORWARD)):
        for target, rule in table.items():
            if rule.template.__module__ in OURS:
                yield kind, target, rule


def templates():
    return {rule.template for _, _, rule in our_rules()}


def helpers(module):
    """The kernels a rule module's templates call (its own, from srcad.kernels)."""
    return {name for name, obj in vars(module).items()
            if inspect.isfunction(obj) and obj.__module__.startswith("srcad.kernels.")
            and name not in SHARED}


# rule helpers whose (forward-only) rules are checked through what uses them
COVERED_ELSEWHERE = {
    # the Hessian of an einsum contraction, against differences of the gradient
    numpy_einsum.einsum_back_k: "test_forward_nested.py::test_hessian_against_fd_of_grad[einsum]",
    numpy_einsum.einsum_back_at: "test_forward_nested.py::test_hessian_against_fd_of_grad[einsum]",
    numpy_reorder.sort_back: "test_refusal_policy.py::test_hessians_against_differences_of_"
                             "the_gradient[sorted_cubed-shape3]",
    numpy_reorder.diff_back: "test_refusal_policy.py::test_hessians_against_differences_of_"
                             "the_gradient[diff_cubed-shape4]",
    numpy_builders.r_join_back: "test_refusal_policy.py::test_hessians_against_differences_of_"
                                "the_gradient[joined_cubed-shape1]",
    numpy_builders.c_join_back: "test_refusal_policy.py::test_hessians_against_differences_of_"
                                "the_gradient[joined_cubed-shape1]",
}


def test_every_rule_has_a_row():
    from test_coverage_rules import CHECKED     # the coverage rules' table, checked there
    targets = [r.target for r in ROWS] + list(COVERED_ELSEWHERE) + list(CHECKED)
    missing = sorted({f"{kind} rule for {getattr(t, '__module__', '')}.{getattr(t, '__name__', t)}"
                      for kind, t, _ in our_rules() if not any(t is u for u in targets)})
    assert not missing, "registered rules without a row in ROWS: " + ", ".join(missing)


@pytest.mark.parametrize("template", sorted(templates(), key=lambda t: (t.__module__, t.__name__)),
                         ids=lambda t: f"{t.__module__.rsplit('.', 1)[1]}.{t.__name__}")
def test_template_shape(template):
    """Templates are what the inliner expects: plain assignments, one tuple return,
    free names limited to their parameters, ``SHARED`` names and their module's helpers."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(template))).body[0]
    params = inspect.signature(template).parameters
    assert all(p.kind is not p.POSITIONAL_ONLY for p in params.values()), "no `/` in templates"
    assert all(p.kind is not p.VAR_KEYWORD for p in params.values()), "no **kwargs in templates"
    reverse = any(rule.template is template for kind, _, rule in our_rules() if kind == "reverse")
    lead = ["y", "g"] if reverse else ["y"]
    assert list(params)[:len(lead)] == lead
    *assigns, ret = tree.body
    assert all(isinstance(s, ast.Assign) for s in assigns), "only assignments before the return"
    assert isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple), "one tuple return"
    module = inspect.getmodule(template)
    bound = set(params) | {t.id for s in assigns for t in ast.walk(s) if isinstance(t, ast.Name)
                           and isinstance(t.ctx, ast.Store)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    free = {n.id for s in tree.body for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound
    unexpected = free - SHARED - helpers(module)
    assert not unexpected, f"unexpected free names {unexpected}"


def test_helper_names_are_unique():
    """One kernel per name (two rule modules may import the same kernel)."""
    seen = {}
    for module in RULE_MODULES:
        for name in helpers(module):
            kernel = getattr(module, name)
            assert seen.setdefault(name, kernel) is kernel, \
                f"helper {name} is defined in {seen[name].__module__} and {kernel.__module__}"


def test_rule_modules_import_only_the_registry_and_kernels():
    allowed = {"numpy", "math", "operator", "builtins", "srcad.transforms.rules.registry",
               "srcad.transforms.rules.templates"}
    for module in RULE_MODULES:
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {node.module}
            else:
                continue
            names = {n for n in names if not n.startswith("srcad.kernels.")}
            assert names <= allowed, f"{module.__name__} imports {names - allowed}"


def test_methods_and_attributes_resolve():
    for name, target in list(registry.METHODS.items()) + list(registry.ATTRIBUTES.items()):
        assert registry.op(target).reverse or registry.is_nondiff(target), name


# ---- variant rules (a template for known facts of the arguments) -------------

_NUMBERS = (2, 3, 4, 2.0, 2.5, 7.0, 1, 0.5, -1)


def _variant_args(rule, rng):
    """Sets of arguments for which ``rule``'s facts (``when``) hold: arrays of the named
    ranks (shapes that multiply: (3, 4) @ (4, 5)), the constant, or each number of
    ``_NUMBERS`` the fact accepts."""
    shapes = {"a": {1: (4,), 2: (3, 4)}, "b": {1: (4,), 2: (4, 5)}}
    args = [{"a": rng.uniform(0.5, 1.5, (3, 4)), "b": rng.uniform(0.5, 1.5, (4, 5))}]
    for name, want in rule.when:
        if isinstance(want, registry.Fact) and want.rank is not None:
            for a in args:
                a[name] = rng.uniform(0.5, 1.5, shapes[name][want.rank])
        elif isinstance(want, registry.Fact):
            args = [dict(a, **{name: v}) for a in args for v in _NUMBERS if want.number(v)]
        else:
            args = [dict(a, **{name: want}) for a in args]
    return args


def _variants(column):
    return [(t, r) for t, o in list(registry.OPS.items()) for r in getattr(o, column)]


_IDS = dict(ids=lambda v: getattr(v, "__name__", None) or
            getattr(getattr(v, "template", None), "__name__", "rule"))


@pytest.mark.parametrize("target, rule", _variants("variants"), **_IDS)
def test_variant_agrees_with_its_general_rule(target, rule):
    """A variant must give what the general (finite-difference checked) rule gives."""
    rng = np.random.default_rng(7)
    for args in _variant_args(rule, rng):
        y = target(args["a"], args["b"])
        g = rng.standard_normal(np.shape(y))
        general = registry.REVERSE[target].template(y, g, **args)
        special = rule.template(y, g, **args)
        assert special[0] is not None, f"{rule.template.__name__} gives no contribution to a"
        for k, got in enumerate(special):
            if got is not None:
                np.testing.assert_allclose(got, general[k], rtol=1e-12)


@pytest.mark.parametrize("target, rule", _variants("forward_variants"), **_IDS)
def test_forward_variant_agrees_with_its_general_rule(target, rule):
    rng = np.random.default_rng(8)
    for args in _variant_args(rule, rng):
        y = target(args["a"], args["b"])
        general = registry.FORWARD[target].template(y, **args)
        special = rule.template(y, **args)
        for k, got in enumerate(special):
            if got is not None:
                d = rng.standard_normal(np.shape(args["ab"[k]]))
                np.testing.assert_allclose(got(d), general[k](d), rtol=1e-12)

"""A catalogue of user-style functions, differentiated end to end.

Each entry is a plain module-level function (srcad reads its source), sample
inputs away from kinks and domain edges, the ``wrt`` arguments, and a category.
Every entry is checked in reverse mode (``fd_check``) and in forward mode
(``fd_check_forward``) against central differences.
"""
import dataclasses
import math
from typing import NamedTuple

import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward, tree_copy

_gen = np.random.default_rng(20240611)


def U(*shape, lo=-1.0, hi=1.0):
    """Uniform sample inputs (float64)."""
    return _gen.uniform(lo, hi, size=shape)


def away(*shape, lo=0.2, hi=1.0):
    """Values with random signs and magnitudes in [lo, hi]: away from 0."""
    return _gen.choice([-1.0, 1.0], size=shape) * _gen.uniform(lo, hi, size=shape)


def distinct(*shape):
    """Well-separated values (no ties for max/min/sort-like operations)."""
    n = int(np.prod(shape))
    return (_gen.permutation(n) * 0.1 - 0.05 * n + _gen.uniform(-0.02, 0.02, n)).reshape(shape)


def spd(n):
    """A well-conditioned matrix."""
    return 3.0 * np.eye(n) + 0.3 * _gen.standard_normal((n, n))


# =========================================================================== arithmetic

def arith_basic(x, y):
    return np.sum(x * y + x / (y + 3.0) - y + 2.0 * x - 1.5)


def arith_pow(x):
    return np.sum(x ** 3 + 2.0 ** x + x ** 0.5 + x ** -1)


def arith_matmul(A, x):
    y = A @ x
    return y @ y


def arith_unary_minus(x):
    z = -x * x
    return -np.sum(z) + (-x[0]) * 3.0


def arith_augmented(x, y):
    s = x * 1.0
    s += y
    s -= 0.5 * x
    s *= y
    s /= x * x + 1.0
    return np.sum(s)


def arith_floats(a, b):
    c = a * b - a / b + a ** 2 - b ** 3 + (-a)
    c += a
    c *= b
    c -= 1.0
    c /= a
    return c


def arith_pow_variable(x, p):
    return np.sum(x ** p) + p ** 2.0


# =========================================================================== math on floats

def math_exp_log(a):
    return math.exp(a) * math.log(a) + math.sqrt(a) + math.log1p(a) + math.expm1(a)


def math_trig(a, b):
    return (math.sin(a) * math.cos(b) + math.tan(a) + math.atan2(a, b)
            + math.asin(0.5 * a) + math.acos(0.5 * b) + math.atan(a))


def math_hyperbolic(a):
    return math.tanh(a) + math.sinh(a) * math.cosh(a) + math.pow(a, 2.5) + math.fabs(a - 2.0)


def math_with_numpy(x, a):
    return np.sum(np.sin(x)) * math.exp(a) + math.log(a) * x[0]


# =========================================================================== numpy elementwise

def ew_exp_log(x):
    return np.sum(np.exp(x) * np.log(x) + np.log1p(x) - np.expm1(x))


def ew_sqrt_square_power(x):
    return np.sum(np.sqrt(x) + np.square(x) * np.power(x, 1.5))


def ew_trig(x):
    return np.sum(np.sin(x) * np.cos(x) + np.tan(x))


def ew_hyperbolic(x):
    return np.sum(np.tanh(x) + np.sinh(x) * np.cosh(x))


def ew_inverse_trig(x):
    return np.sum(np.arcsin(x) + np.arccos(x) * np.arctan(x))


def ew_arctan2(y, x):
    return np.sum(np.arctan2(y, x) * y)


def ew_abs(x):
    return np.sum(np.abs(x) * x + np.abs(np.sin(x)))


def ew_power_both(x, y):
    return np.sum(np.power(x, y))


def ew_maximum_minimum(x, y):
    return np.sum(np.maximum(x, y) * np.minimum(x, 0.0) + np.maximum(x, 0.1))


def ew_where(x):
    return np.sum(np.where(x > 0, x ** 2, np.sin(x)))


def ew_clip(x):
    return np.sum(np.clip(x, -0.5, 0.5) * x)


def ew_sign_floor(x):
    return np.sum(np.sign(x) * x ** 2 + np.floor(x) * x)


def ew_composed(x):
    return np.sum(np.exp(np.sin(x)) / (1.0 + np.square(x)))


def ew_array_output(x):
    return np.tanh(x) * np.exp(-x * x)


# =========================================================================== reductions

def red_sum_axis(X):
    return np.sum(np.sum(X ** 2, axis=0) * np.sum(X, axis=1, keepdims=True))


def red_mean_axis(X):
    column_means = np.mean(X, axis=0, keepdims=True)
    return np.sum(np.mean(X, axis=1) ** 2) + np.mean(X ** 3) + np.sum(column_means * X)


def red_prod(X):
    return np.prod(X[0]) + np.sum(np.prod(X, axis=1, keepdims=True)) + np.sum(np.prod(X, axis=0))


def red_max_min(X):
    return (np.max(X) + np.sum(np.min(X, axis=0) ** 2)
            + np.sum(np.max(X, axis=1, keepdims=True) * X) - np.min(X))


def red_vector_output(X):
    return np.sum(X ** 2, axis=0) * np.max(X, axis=1).sum()


# =========================================================================== linear algebra, shapes

def la_dot(x, y):
    return np.dot(x, y) * np.dot(x, x)


def la_matmul(A, B):
    return np.sum(np.matmul(A, B) ** 2)


def la_outer(x, y):
    return np.sum(np.sin(np.outer(x, y)))


def la_transpose(A):
    return np.sum((A.T @ A) * (np.transpose(A) @ np.cos(A)))


def shape_reshape_ravel(x):
    M = np.reshape(x, (3, 4))
    return np.sum(np.ravel(M @ M.T) ** 2)


def shape_squeeze_expand_dims(x):
    row = np.expand_dims(x, 0)
    z = np.squeeze(row * row, axis=0)
    return np.sum(z * x) + np.sum(np.squeeze(np.expand_dims(x, 1)) ** 2)


def shape_concatenate_stack(x, y):
    c = np.concatenate([x, 2.0 * y])
    s = np.stack([x, y], axis=0)
    t = np.stack((x, y), axis=1)
    return np.sum(c ** 2) + np.sum(s[0] * s[1]) + np.sum(t ** 3)


def la_solve(A, b):
    return np.sum(np.linalg.solve(A, b) ** 2)


def la_inv(A):
    return np.sum(np.linalg.inv(A) ** 2)


def la_norm(x, A):
    return np.linalg.norm(x) + np.linalg.norm(A) * np.linalg.norm(x - 1.0)


def la_array_output(A, x):
    return A @ np.tanh(x)


# =========================================================================== broadcasting

def bc_row_add_sub(X, b):
    return np.sum((X + b) ** 2 - (b - X) * X)


def bc_col_row_mul_div(c, r):
    return np.sum(c * r + c / (r + 2.0) - r / (c + 3.0))


def bc_row_pow(X, p):
    return np.sum(X ** p)


def bc_scalar_array(a, x):
    return np.sum(a * x + x / a - a ** x + (x - a) ** 2)


def bc_scalar_only(a, x):
    return np.sum(np.tanh(a * x - a))


def bc_row_array_output(X, b):
    return X * b - b


def bc_arctan2_maximum(Y, x):
    return np.sum(np.arctan2(Y, x) + np.maximum(Y, x))


# =========================================================================== indexing

def idx_int(x):
    return x[0] * x[3] + x[-1] ** 2


def idx_2d_int(X):
    return X[1, 2] * X[0, 0] + np.sum(X[2] ** 2) + np.sum(X[:, 1] * X[:, -1])


def idx_slices(x):
    return np.sum(x[1:-1] * x[:-2]) + np.sum(x[::2] ** 2) + np.sum(x[2:] ** 3)


def idx_negative_step(x):
    return np.sum(x * x[::-1]) + np.sum(x[5:1:-2] ** 3)


def idx_int_array(x):
    idx = np.array([0, 2, 2, 5, 1])
    return np.sum(x[idx] ** 2 * x[idx[::-1]])


def idx_bool_mask(x):
    return np.sum(x[x > 0] ** 2) + np.sum(np.sin(x[x < 0]))


def idx_2d_slices(X):
    return np.sum(X[1:, ::-1] * X[:-1, :]) + np.sum(X[::2, 1:3] ** 2)


# =========================================================================== array methods

def meth_sum_mean(X):
    return X.sum() * X.mean(axis=0).sum() + (X ** 2).mean()


def meth_T_reshape_dot(X, y):
    z = X.T.dot(y)
    return np.sum(z.reshape(2, 2) ** 2) + X.reshape(-1).dot(X.ravel())


def meth_max_min_prod(x):
    return x.max() * x.min() + x.prod() + x.sum(axis=0)


# =========================================================================== branches

def br_if_elif_else(x):
    s = np.sum(x)
    if s > 1.0:
        y = s ** 2
    elif s > -1.0:
        y = np.sin(s)
    else:
        y = -s ** 3
    return y * np.sum(x ** 2)


def br_ternary(a, b):
    y = a * b if a > b else a + b
    return y ** 2 + a


def br_array_ternary(x):
    y = np.exp(x) if x[0] > 0 else np.sin(x)
    return np.sum(y * x)


def br_if_no_else(x):
    y = x * 2.0
    if np.max(x) > 0.5:
        y = y * x
    return np.sum(y ** 2)


# =========================================================================== loops

def loop_range(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(x ** (i + 1)) / (i + 1)
    return s


def loop_range_start_stop_step(x):
    s = 0.0
    for i in range(1, len(x) - 1, 2):
        s = s + x[i - 1] * x[i + 1] * np.cos(x[i])
    return s


def loop_rows(X):
    total = 0.0
    for row in X:
        total = total + np.sum(np.tanh(row)) * row[0]
    return total


def loop_zip(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s = s + a * np.sin(b)
    return s


def loop_enumerate(x):
    s = 0.0
    for i, xi in enumerate(x):
        s = s + (i + 1.0) * xi ** 2
    return s


def loop_overwrite(x, n):
    y = x * 1.0
    for i in range(n):
        y = np.sin(y) + 0.5 * x
    return np.sum(y ** 2)


def loop_nested(X):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(i, X.shape[1]):
            s = s + X[i, j] * X[j, i] * (j - i + 1)
    return s


def while_newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-13:
        x = 0.5 * (x + a / x)
    return x


def while_halving(x):
    y = x * 1.0
    while np.sum(y ** 2) > 0.01:
        y = y * 0.5
    return np.sum(np.sin(y) * y)


def loop_break(x):
    s = 0.0
    for i in range(len(x)):
        if s > 1.0:
            break
        s = s + x[i] ** 2
    return s * x[0]


def loop_continue(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0:
            continue
        s = s + np.exp(x[i]) * x[i]
    return s


def while_break(a):
    x = a
    k = 0
    while True:
        x = x * 0.9 + 0.01 * a * a
        k = k + 1
        if k >= 7:
            break
    return x


def early_return_if(x):
    if np.sum(x) < 0:
        return np.sum(x ** 2)
    y = np.exp(x)
    return np.sum(y * x)


def early_return_loop(x):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] ** 2
        if s > 1.5:
            return s * x[i]
    return -s


# =========================================================================== helper functions

def _sq(x):
    return x * x


def _rho(r):
    return np.exp(-3.0 * (r + 1.0))


def _energy(x):
    return np.sum(_sq(_rho(x)) + _sq(x))


def _scale(x, factor=1.0):
    return x * factor


def _moments(x):
    return np.mean(x), np.mean(x ** 2)


def _rpow(x, n):
    if n == 0:
        return 1.0
    return x * _rpow(x, n - 1)


def _horner(c, x, k):
    if k == len(c) - 1:
        return c[k]
    return c[k] + x * _horner(c, x, k + 1)


def helper_simple(x):
    return np.sum(_sq(x) + _sq(np.sin(x)))


def helper_calls_helper(x, y):
    return _energy(x) * np.sum(_sq(y))


def helper_keyword_default(x):
    return np.sum(_scale(x, factor=2.5) * _scale(x))


def helper_returns_tuple(x):
    m, m2 = _moments(x)
    return m2 - m * m


def helper_recursive_power(x):
    return np.sum(_rpow(x, 4))


def helper_recursive_horner(c, x):
    return _horner(c, x, 0)


# =========================================================================== tuples

def tuple_fibonacci(a, b):
    for i in range(8):
        a, b = b, a + 0.5 * b
    return a * b


def tuple_pack_unpack(x, y):
    p = (x, y)
    u, v = p
    return np.sum(u * np.cos(v))


def tuple_return_arrays(x):
    return np.sin(x), np.sum(x) * x


def tuple_return_floats(a, b):
    return a * b, a + b * b


# =========================================================================== lists, comprehensions

def list_append_array(x):
    ys = []
    for i in range(len(x)):
        ys.append(x[i] ** 2)
    return np.sum(np.array(ys) * x)


def list_append_sum(x):
    terms = []
    for xi in x:
        terms.append(np.sin(xi))
    return sum(terms)


def genexpr_sum(x):
    return sum(x[i] * x[i + 1] for i in range(len(x) - 1))


def listcomp_sum(x):
    return sum([np.exp(v) * v for v in x])


def listcomp_array(x):
    y = np.array([x[i] * (i + 1) for i in range(len(x))])
    return np.sum(y ** 2)


def listcomp_stack_rows(X):
    rows = [np.tanh(r) for r in X]
    return np.sum(np.stack(rows) ** 2)


# =========================================================================== assignment into arrays

def setitem_loop(x):
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = x[i] ** 2
    return np.sum(out * x)


def setitem_augmented(x):
    out = np.zeros(3)
    for i in range(len(x)):
        out[i % 3] += x[i] * x[i]
    return np.sum(np.sin(out))


def setitem_slice(x):
    out = np.zeros(len(x) + 2)
    out[1:-1] = x
    out[0] = x[-1]
    return np.sum(out[:-2] * out[2:])


def setitem_recurrence(x):
    out = np.zeros_like(x)
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = 0.5 * out[i - 1] + x[i]
    return np.sum(out ** 2)


def accumulate_scalar(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * np.cos(s)
    return s


def setitem_2d_columns(X):
    out = np.zeros((X.shape[1], X.shape[0]))
    for i in range(X.shape[0]):
        out[:, i] = X[i] * 2.0
    return np.sum(out ** 3)


# =========================================================================== structured arguments

@dataclasses.dataclass
class Params:
    w: np.ndarray
    b: float
    n: int
    name: str


class Pair(NamedTuple):
    a: np.ndarray
    s: float
    k: int


@dataclasses.dataclass(frozen=True)
class Layer:
    W: np.ndarray
    b: np.ndarray


def struct_dataclass(p, x):
    return np.sum(np.tanh(p.w * x + p.b)) * p.n


def struct_namedtuple(t):
    return np.sum(t.a ** 2) * t.s + t.k


def struct_tuple(t):
    a, b = t
    return np.sum(a * np.sin(b))


def struct_list(ws):
    s = 0.0
    for w in ws:
        s = s + np.sum(w ** 2) * s + np.sum(w)
    return s


def struct_dict(d):
    return np.sum(d["w"] * d["x"]) + d["c"] ** 2


def struct_layers(layers, x):
    h = x
    for layer in layers:
        h = np.tanh(layer.W @ h + layer.b)
    return np.sum(h ** 2)


# ======================================================================= closures, module constants

def make_scaled(c):
    def scaled(x):
        return np.sum(np.exp(c * x))
    return scaled


def make_weighted(w):
    def weighted(x):
        return np.sum(w * x ** 2) + _energy(x)
    return weighted


closure_float = make_scaled(0.7)
closure_array = make_weighted(np.linspace(0.5, 1.5, 6))

XS = np.linspace(0.0, 1.0, 7)
ALPHA = 0.3


def const_fit_loss(p):
    pred = p[0] + p[1] * XS + p[2] * XS ** 2
    return np.sum((pred - np.sin(XS)) ** 2)


def const_leaky(x):
    return np.sum(np.where(x > 0, x, ALPHA * x) ** 2)


# =========================================================================== realistic

def eam(x):
    p = np.sum(_rho(x))
    return p ** 2 + p ** 3 + 0.25 * p ** 4


def loss(W1, b1, W2, b2, X, Y):
    H = np.tanh(X @ W1 + b1)
    P = H @ W2 + b2
    return np.mean((P - Y) ** 2)


def euler(k, c):
    y = 1.0
    v = 0.0
    dt = 0.01
    for i in range(100):
        a = -k * y - c * v
        y = y + dt * v
        v = v + dt * a
    return y + 0.5 * v


def logistic_loss(w, X, y):
    z = X @ w
    return np.mean(np.log1p(np.exp(-y * z))) + 0.01 * np.sum(w ** 2)


def softmax_cross_entropy(W, X, labels):
    logits = X @ W
    m = np.max(logits, axis=1, keepdims=True)
    shifted = logits - m
    lse = np.log(np.sum(np.exp(shifted), axis=1))
    return np.mean(lse - shifted[np.arange(len(labels)), labels])


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


# =========================================================================== the table

@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    fn: object
    args: tuple
    wrt: object
    category: str


CASES = []


def case(category, fn, args, wrt=0, id=None):
    CASES.append(Case(id or fn.__name__, fn, tuple(args), wrt, category))


A34 = U(3, 4)

# arithmetic: + - * / ** @, unary minus, augmented assignment
case("arith", arith_basic, (U(6), U(6, lo=0.5, hi=1.5)), wrt=(0, 1))
case("arith", arith_pow, (U(5, lo=0.5, hi=2.0),))
case("arith", arith_matmul, (U(4, 3), U(3)), wrt=("A", "x"))
case("arith", arith_unary_minus, (U(7),))
case("arith", arith_augmented, (U(6), U(6)), wrt=(0, 1))
case("arith", arith_floats, (1.3, 0.7), wrt=(0, 1))
case("arith", arith_pow_variable, (U(5, lo=0.5, hi=2.0), 1.7), wrt=(0, 1))
# math functions on Python floats
case("math", math_exp_log, (0.8,))
case("math", math_trig, (0.6, 0.9), wrt=(0, 1))
case("math", math_hyperbolic, (0.7,))
case("math", math_with_numpy, (U(5), 1.2), wrt=(0, 1))
# numpy elementwise
case("elementwise", ew_exp_log, (U(8, lo=0.5, hi=2.0),))
case("elementwise", ew_sqrt_square_power, (U(8, lo=0.3, hi=2.0),))
case("elementwise", ew_trig, (U(8),))
case("elementwise", ew_hyperbolic, (U(8),))
case("elementwise", ew_inverse_trig, (U(8, lo=-0.9, hi=0.9),))
case("elementwise", ew_arctan2, (U(6), away(6)), wrt=(0, 1))
case("elementwise", ew_abs, (away(8),))
case("elementwise", ew_power_both, (U(6, lo=0.5, hi=2.0), U(6)), wrt=(0, 1))
case("elementwise", ew_maximum_minimum,
     (np.array([0.5, -0.6, 1.1, -0.3, 0.9, -1.2]), np.array([-0.4, 0.3, 1.8, -1.0, 0.2, -0.5])),
     wrt=(0, 1))
case("elementwise", ew_where, (away(8),))
case("elementwise", ew_clip, (np.array([-0.9, -0.3, 0.1, 0.4, 0.7, -0.6, 0.2]),))
case("elementwise", ew_sign_floor, (np.array([-1.7, -0.4, 0.3, 1.6, 2.2, -2.5]),))
case("elementwise", ew_composed, (U(8),))
case("elementwise", ew_array_output, (U(7),))
# reductions with axis / keepdims
case("reduction", red_sum_axis, (U(3, 4),))
case("reduction", red_mean_axis, (U(4, 5),))
case("reduction", red_prod, (U(3, 4, lo=0.5, hi=1.5),))
case("reduction", red_max_min, (distinct(3, 4),))
case("reduction", red_vector_output, (distinct(4, 5),))
# linear algebra and shape manipulation
case("linalg", la_dot, (U(6), U(6)), wrt=(0, 1))
case("linalg", la_matmul, (U(3, 4), U(4, 2)), wrt=(0, 1))
case("linalg", la_outer, (U(4), U(5)), wrt=(0, 1))
case("linalg", la_transpose, (U(3, 4),))
case("linalg", shape_reshape_ravel, (U(12),))
case("linalg", shape_squeeze_expand_dims, (U(6),))
case("linalg", shape_concatenate_stack, (U(5), U(5)), wrt=(0, 1))
case("linalg", la_solve, (spd(4), U(4)), wrt=(0, 1))
case("linalg", la_inv, (spd(4),))
case("linalg", la_norm, (U(5), U(3, 3)), wrt=(0, 1))
case("linalg", la_array_output, (U(3, 5), U(5)), wrt=(0, 1))
# broadcasting, wrt the broadcast operand
case("broadcast", bc_row_add_sub, (A34, U(4)), wrt=(0, 1))
case("broadcast", bc_col_row_mul_div, (U(3, 1, lo=0.5, hi=1.0), U(1, 4, lo=0.5, hi=1.0)),
     wrt=(0, 1))
case("broadcast", bc_row_pow, (U(3, 4, lo=0.5, hi=1.5), U(4, lo=1.0, hi=2.0)), wrt=(0, 1))
case("broadcast", bc_scalar_array, (1.3, U(6)), wrt=(0, 1))
case("broadcast", bc_scalar_only, (0.8, U(6)), wrt="a")
case("broadcast", bc_row_array_output, (U(3, 4), U(4)), wrt="b")
case("broadcast", bc_arctan2_maximum, (distinct(3, 4), np.array([-0.25, 0.15, 0.35, -0.45])),
     wrt=(0, 1))
# indexing
case("indexing", idx_int, (U(6),))
case("indexing", idx_2d_int, (U(3, 4),))
case("indexing", idx_slices, (U(8),))
case("indexing", idx_negative_step, (U(8),))
case("indexing", idx_int_array, (U(7),))
case("indexing", idx_bool_mask, (away(9),))
case("indexing", idx_2d_slices, (U(3, 4),))
# array methods
case("methods", meth_sum_mean, (U(3, 4),))
case("methods", meth_T_reshape_dot, (U(3, 4), U(3)), wrt=(0, 1))
case("methods", meth_max_min_prod, (np.array([0.7, 1.3, 0.9, 1.1, 0.5]),))
# branches on data, ternaries
case("branch", br_if_elif_else, (U(4, lo=0.5, hi=1.0),), id="br_if_elif_else-if")
case("branch", br_if_elif_else, (U(4, lo=-0.2, hi=0.2),), id="br_if_elif_else-elif")
case("branch", br_if_elif_else, (U(4, lo=-1.0, hi=-0.5),), id="br_if_elif_else-else")
case("branch", br_ternary, (1.5, 0.5), wrt=(0, 1), id="br_ternary-true")
case("branch", br_ternary, (0.5, 1.5), wrt=(0, 1), id="br_ternary-false")
case("branch", br_array_ternary, (np.array([0.5, -0.2, 0.3]),), id="br_array_ternary-true")
case("branch", br_array_ternary, (np.array([-0.5, -0.2, 0.3]),), id="br_array_ternary-false")
case("branch", br_if_no_else, (np.array([0.2, 0.9, -0.4]),))
# loops: for over range/rows/zip/enumerate, while, break, continue, early return
case("loop", loop_range, (U(5, lo=0.5, hi=1.0), 4))
case("loop", loop_range_start_stop_step, (U(9),))
case("loop", loop_rows, (U(5, 3),))
case("loop", loop_zip, (U(6), U(6)), wrt=(0, 1))
case("loop", loop_enumerate, (U(6),))
case("loop", loop_overwrite, (U(5), 6))
case("loop", loop_nested, (U(4, 4),))
case("loop", while_newton_sqrt, (2.3,))
case("loop", while_halving, (U(5, lo=1.0, hi=2.0) * np.array([1.0, -1.0, 1.0, 1.0, -1.0]),))
case("loop", loop_break, (np.array([0.5, 0.6, 0.7, 0.4, 0.8, 0.3]),))
case("loop", loop_continue, (away(8),))
case("loop", while_break, (0.8,))
case("loop", early_return_if, (U(5, lo=-1.0, hi=-0.1),), id="early_return_if-taken")
case("loop", early_return_if, (U(5, lo=0.1, hi=1.0),), id="early_return_if-not-taken")
case("loop", early_return_loop, (np.array([0.4, 0.5, 0.9, 0.8, 0.6]),),
     id="early_return_loop-taken")
case("loop", early_return_loop, (U(4, lo=0.1, hi=0.5),), id="early_return_loop-not-taken")
# user helpers, nested and recursive
case("helper", helper_simple, (U(6),))
case("helper", helper_calls_helper, (U(5), U(3)), wrt=(0, 1))
case("helper", helper_keyword_default, (U(6),))
case("helper", helper_returns_tuple, (U(7),))
case("helper", helper_recursive_power, (U(5),))
case("helper", helper_recursive_horner, (U(5), 0.7), wrt=(0, 1))
# local tuples, unpacking, tuple outputs
case("tuple", tuple_fibonacci, (0.3, 0.7), wrt=(0, 1))
case("tuple", tuple_pack_unpack, (U(5), U(5)), wrt=(0, 1))
case("tuple", tuple_return_arrays, (U(5),))
case("tuple", tuple_return_floats, (1.1, 0.4), wrt=(0, 1))
# lists built with append, comprehensions and generator expressions
case("list", list_append_array, (U(6),))
case("list", list_append_sum, (U(6),))
case("list", genexpr_sum, (U(7),))
case("list", listcomp_sum, (U(6),))
case("list", listcomp_array, (U(6),))
case("list", listcomp_stack_rows, (U(4, 3),))
# assignment into local arrays, accumulation
case("setitem", setitem_loop, (U(6),))
case("setitem", setitem_augmented, (U(8),))
case("setitem", setitem_slice, (U(6),))
case("setitem", setitem_recurrence, (U(7),))
case("setitem", accumulate_scalar, (U(8),))
case("setitem", setitem_2d_columns, (U(3, 4),))
# dataclass, NamedTuple, tuple, list and dict arguments
case("struct", struct_dataclass, (Params(U(5), 0.3, 3, "first"), U(5)), wrt=("p", "x"))
case("struct", struct_namedtuple, (Pair(U(4), 1.7, 2),))
case("struct", struct_tuple, ((U(5), U(5)),))
case("struct", struct_list, ([U(3), U(4), U(2)],))
case("struct", struct_dict, ({"w": U(4), "x": U(4), "c": 0.6},))
case("struct", struct_layers, ([Layer(U(4, 3), U(4)), Layer(U(2, 4), U(2))], U(3)), wrt=(0, 1))
# closures and module-level constants
case("closure", closure_float, (U(6),), id="closure_float")
case("closure", closure_array, (U(6),), id="closure_array")
case("closure", const_fit_loss, (U(3),))
case("closure", const_leaky, (away(7),))
# realistic
case("realistic", eam, (U(10, lo=0.5, hi=1.5),))
case("realistic", loss, (0.5 * U(3, 5), U(5), 0.5 * U(5, 2), U(2), U(8, 3), U(8, 2)),
     wrt=("W1", "b1", "W2", "b2"))
case("realistic", euler, (2.0, 0.3), wrt=("k", "c"))
case("realistic", logistic_loss, (U(4), U(12, 4), _gen.choice([-1.0, 1.0], 12)))
case("realistic", softmax_cross_entropy, (U(4, 3), U(10, 4), _gen.integers(0, 3, 10)))
case("realistic", rosenbrock, (U(6, lo=-0.5, hi=1.5),))


REQUIRED_CATEGORIES = {
    "arith", "math", "elementwise", "reduction", "linalg", "broadcast", "indexing", "methods",
    "branch", "loop", "helper", "tuple", "list", "setitem", "struct", "closure", "realistic",
}


def _params(cases):
    return [pytest.param(c, id=f"{c.category}-{c.id}") for c in cases]


# =========================================================================== the tests

def test_catalogue_is_complete():
    assert len(CASES) >= 85
    assert {c.category for c in CASES} == REQUIRED_CATEGORIES
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate catalogue ids"


@pytest.mark.parametrize("c", _params(CASES))
def test_reverse(c, rng):
    fd_check(c.fn, tree_copy(c.args), c.wrt, rng)


@pytest.mark.parametrize("c", _params(CASES))
def test_forward(c, rng):
    fd_check_forward(c.fn, tree_copy(c.args), c.wrt, rng)


def test_dataclass_gradient_has_the_same_type(rng):
    p = Params(U(5), 0.3, 3, "first")
    x = U(5)
    gp, gx = srcad.grad(struct_dataclass, wrt=("p", "x"))(p, x)
    assert type(gp) is Params
    assert gp.n == 3 and gp.name == "first"
    assert isinstance(gp.w, np.ndarray) and gp.w.shape == (5,)
    assert isinstance(gp.b, float)
    assert gx.shape == x.shape
    fd_check(struct_dataclass, (p, x), ("p", "x"), rng)


def test_namedtuple_and_frozen_dataclass_gradients_have_the_same_type(rng):
    t = Pair(U(4), 1.7, 2)
    g = srcad.grad(struct_namedtuple)(t)
    assert type(g) is Pair and g.k == 2
    layers = [Layer(U(4, 3), U(4)), Layer(U(2, 4), U(2))]
    g_layers = srcad.grad(struct_layers)(layers, U(3))
    assert type(g_layers) is list and [type(g) for g in g_layers] == [Layer, Layer]


def test_float32_inputs_keep_float32_gradients(rng):
    x64 = U(8, lo=0.5, hi=2.0)
    x32 = x64.astype(np.float32)
    g32 = srcad.grad(ew_exp_log)(x32)
    assert isinstance(g32, np.ndarray) and g32.dtype == np.float32 and g32.shape == x32.shape

    X = U(3, 4).astype(np.float32)
    b = U(4).astype(np.float32)
    gX, gb = srcad.grad(bc_row_add_sub, wrt=(0, 1))(X, b)
    assert gX.dtype == np.float32 and gb.dtype == np.float32
    assert gX.shape == X.shape and gb.shape == b.shape

    # Values: central differences in float64 at the float32 point, float32 accuracy.
    for fn, args, k, g in ((ew_exp_log, (x32,), 0, g32), (bc_row_add_sub, (X, b), 0, gX),
                           (bc_row_add_sub, (X, b), 1, gb)):
        a64 = [np.asarray(a, np.float64) for a in args]
        v = rng.standard_normal(args[k].shape)
        plus, minus = list(a64), list(a64)
        plus[k] = a64[k] + 1e-6 * v
        minus[k] = a64[k] - 1e-6 * v
        want = (fn(*plus) - fn(*minus)) / 2e-6
        got = float(np.sum(g.astype(np.float64) * v))
        assert abs(got - want) <= 1e-3 * abs(want) + 1e-4, (fn.__name__, k, got, want)

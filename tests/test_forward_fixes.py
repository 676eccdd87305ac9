"""Forward mode accepts what reverse mode accepts, and never crashes.

Each function below once made a forward entry point (``jvp``, the vector-mode
``jacobian(mode="forward")``, ``hessian``, ``hvp`` or ``derivative``) raise a
raw NumPy/Python error or refuse a program reverse mode differentiates. Each is
now checked in every forward entry point against central differences: of the
function itself for first derivatives, of srcad's (separately FD-checked)
gradient for Hessians and Hessian-vector products.
"""
import numpy as np
import pytest

import srcad
from conftest import ATOL, EPS, RTOL, fd_check, fd_check_forward

X = np.array([0.3, 0.5, 0.7])
Y = np.array([0.5, -0.2, 0.1])


# =========================================================================== helpers

def _fd_jacobian(fn, args, k):
    """``d fn / d args[k]`` by central differences, shape ``out.shape + in.shape``."""
    x = np.asarray(args[k], np.float64)

    def at(xk):
        a = list(args)
        a[k] = float(xk) if np.ndim(args[k]) == 0 and not isinstance(args[k], np.ndarray) else xk
        return np.asarray(fn(*a), np.float64)

    cols = []
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = EPS
        cols.append((at(x + e) - at(x - e)) / (2 * EPS))
    J = np.stack(cols, axis=-1)
    return J.reshape(J.shape[:-1] + x.shape)


def _close(got, want, what):
    want = np.asarray(want, np.float64)
    scale = float(np.max(np.abs(want), initial=0.0))
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=RTOL,
                               atol=ATOL * (1.0 + scale) * 10, err_msg=what)


def check_forward(fn, args, rng, wrt=0, vector=True):
    """``fn`` in every forward entry point that applies, against central differences.

    ``vector``: the forward Jacobian must run in vector mode (one pass for all
    columns), not fall back to one pass per column.
    """
    args = tuple(args)
    fd_check(fn, args, wrt, rng)                    # reverse mode: the reference accepts it
    fd_check_forward(fn, args, wrt, rng)            # jvp
    y = fn(*args)
    x = args[wrt]
    d = srcad.differentiate(fn, wrt=wrt)
    J = d.jacobian(*args, mode="forward")
    _close(J, _fd_jacobian(fn, args, wrt), f"{fn.__name__}: jacobian(mode='forward')")
    if vector and np.size(x) > 1:
        assert "jvpvec" in [k for k, _ in d.signatures], \
            f"{fn.__name__}: the forward jacobian did not run in vector mode"
    if np.ndim(x) == 0 and len(args) == 1:
        _close(srcad.derivative(fn)(x), _fd_jacobian(fn, args, 0),
               f"{fn.__name__}: derivative")
    if np.ndim(y) == 0:
        g = srcad.grad(fn, wrt=wrt)

        def grad_at(*a):
            return g(*a)
        H = srcad.hessian(fn, wrt=wrt)(*args)
        _close(H, _fd_jacobian(grad_at, args, wrt), f"{fn.__name__}: hessian")
        v = rng.standard_normal(np.shape(x))
        v = float(v) if np.ndim(x) == 0 and not isinstance(x, np.ndarray) else v
        hv = srcad.hvp(fn, args, v, wrt=wrt)
        plus, minus = list(args), list(args)
        plus[wrt], minus[wrt] = x + EPS * v, x - EPS * v
        _close(hv, (np.asarray(g(*plus)) - np.asarray(g(*minus))) / (2 * EPS),
               f"{fn.__name__}: hvp")


# =========================================================================== 1. np.array of a nested list

def array_nested(x):
    return np.array([[x, 0.5], [0.5, 0.5]])


def array_nested_sum(x):
    return np.sum(np.array([[x, 0.5], [0.5, x * x]]) ** 2)


def test_np_array_of_nested_list_with_a_constant_row(rng):
    check_forward(array_nested, (0.7,), rng)
    check_forward(array_nested_sum, (0.7,), rng)


# =========================================================================== 2. lists built by append

def unused_list(x):
    lst = []
    for xi in x:
        lst.append(xi * 2.0)
    s = sum(lst)
    return np.sum(x ** 2)


def list_to_array(x):
    lst = []
    for xi in x:
        lst.append(xi * 2.0)
    return np.array(lst) ** 2


def list_summed(x):
    lst = []
    for xi in x:
        lst.append(np.sin(xi))
    return sum(lst) * x[0]


def list_of_arrays_stacked(x):
    lst = []
    for i in range(3):
        lst.append(x * float(i))
    return np.stack(lst) ** 2


def list_reads_its_last(x):
    lst = [x[0]]
    for xi in x:
        lst.append(xi * lst[-1])
    return lst[-1]


@pytest.mark.parametrize("fn", [unused_list, list_to_array, list_summed,
                                list_of_arrays_stacked, list_reads_its_last])
def test_lists_built_by_append(fn, rng):
    check_forward(fn, (X,), rng)


class _Recorder:
    """A callable object: no ``__name__``, no source, no rule."""

    def __call__(self, v):
        return None


RECORD = _Recorder()


def discarded_call(x):
    y = x * 2.0
    RECORD(y)
    return np.sum(y)


@pytest.mark.parametrize("entry", ["jvp", "grad"])
def test_discarded_call_message_names_the_call(entry):
    with pytest.raises(srcad.TransformError) as err:
        if entry == "jvp":
            srcad.jvp(discarded_call, (X,), (X,))
        else:
            srcad.grad(discarded_call)(X)
    e = err.value
    assert e.lineno == discarded_call.__code__.co_firstlineno + 2
    assert "the result of `RECORD(...)` is discarded, so it can only act by changing its " \
           "arguments in place" in str(e)


# =========================================================================== 5. sequences of active and inactive operands

def stack_inactive_first(x, y):
    return np.stack([y, x])


def stack_axis1(x, y):
    return np.stack([x, y, x * y], axis=1)


def concat_mixed(x, y):
    return np.concatenate([y, x, y]) * 2.0


def hstack_mixed(x, y):
    return np.hstack([y, x])


def vstack_mixed(x, y):
    return np.vstack([x, y, y])


def array_mixed(x, y):
    return np.array([y, x])


def array_scalars_mixed(x, y):
    return np.array([x[0], 1.0, y[1], x[2] * x[1]])


def array_2d_scalars_mixed(x, y):
    return np.array([[x[0], y[0]], [1.0, x[1]]])


def hstack_scalars(x, y):
    return np.hstack([y[0], x[1], 3.0])


@pytest.mark.parametrize("fn", [stack_inactive_first, stack_axis1, concat_mixed, hstack_mixed,
                                vstack_mixed, array_mixed, array_scalars_mixed,
                                array_2d_scalars_mixed, hstack_scalars])
def test_sequences_of_active_and_inactive_operands(fn, rng):
    check_forward(fn, (X, Y), rng)


def sum_stack_squared(x, y):
    return np.sum(np.stack([y, x]) ** 2 * np.arange(6.0).reshape(2, 3))


def test_sequence_in_hessian(rng):
    check_forward(sum_stack_squared, (X, Y), rng)

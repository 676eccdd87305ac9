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


# =========================================================================== 3, 4. item writes

def dict_item_write(x):
    d = {"a": x}
    d["c"] = np.sum(d["a"] ** 2)
    return d["c"]


def dict_built_empty(x):
    d = {}
    d["a"] = x * 2.0
    d["b"] = np.sin(x)
    return d["a"] * d["b"]


def list_item_write(x):
    lst = [x, x * 2.0]
    lst[1] = np.cos(x)
    return lst[0] * lst[1]


def constant_list_item_write(x):
    lst = [0.0, 1.0, 2.0]
    lst[1] = x[0] * x[1]
    return np.array(lst) * x


def broadcast_tangent_item_scale(y, x):
    b = y + x[0]
    b[1] *= 2.0
    return b


def broadcast_tangent_slice_write(y, x):
    b = y * 0.5 + x[2]
    b[1:] = x[:2] ** 2
    return b * y


def broadcast_tangent_item_write_sum(y, x):
    b = y + x[0] * x[1]
    b[0] = x[2]
    return np.sum(b ** 2)


@pytest.mark.parametrize("fn", [dict_item_write, dict_built_empty, list_item_write,
                                constant_list_item_write])
def test_container_item_writes(fn, rng):
    check_forward(fn, (X,), rng)


@pytest.mark.parametrize("fn", [broadcast_tangent_item_scale, broadcast_tangent_slice_write,
                                broadcast_tangent_item_write_sum])
def test_item_write_into_a_broadcast_tangent(fn, rng):
    check_forward(fn, (Y, X), rng, wrt=1)


# =========================================================================== 6. nothing returned aliases the caller's arrays

def first_of_two(x, y):
    return x


def identity(x):
    return x


def identity_and_view(x):
    return x, x[1:], {"x": x}


def half_square(x):
    return 0.5 * np.sum(x ** 2)


def _shares(result, arrays):
    from conftest import tree_leaves
    return [np.may_share_memory(r, a) for r in tree_leaves(result)
            if isinstance(r, np.ndarray) for a in arrays]


def test_jvp_copies_a_tangent_passed_straight_through(rng):
    x, y, t = X.copy(), Y.copy(), rng.standard_normal(3)
    value, tan = srcad.jvp(first_of_two, (x, y), (t,))
    assert tan is not t and not np.may_share_memory(tan, t)
    assert not np.may_share_memory(value, x)
    want_value, want_tan = x.copy(), t.copy()
    t += 1.0                # the caller changes its arrays afterwards ...
    x += 1.0
    np.testing.assert_array_equal(tan, want_tan)    # ... the results they hold do not change
    np.testing.assert_array_equal(value, want_value)
    fd_check_forward(first_of_two, (X, Y), 0, rng)


def test_structured_results_do_not_alias_the_arguments(rng):
    x, t = X.copy(), rng.standard_normal(3)
    value, tan = srcad.jvp(identity_and_view, (x,), (t,))
    assert not any(_shares(value, [x, t])) and not any(_shares(tan, [x, t]))
    value, back = srcad.pullback(identity_and_view, x)
    assert not any(_shares(value, [x]))
    fd_check_forward(identity_and_view, (X,), 0, rng)


def test_pullback_and_value_and_grad_values_are_not_the_argument():
    x = X.copy()
    value, back = srcad.pullback(identity, x)
    assert not np.may_share_memory(value, x)
    x[0] = 5.0
    np.testing.assert_array_equal(value, X)
    x0 = np.array(0.25)         # a 0-d array: a valid scalar output
    value, g = srcad.value_and_grad(identity)(x0)
    assert not np.may_share_memory(value, x0)
    x0[()] = 3.0
    assert value == 0.25 and g == 1.0


def test_hvp_and_derivative_do_not_alias_the_direction(rng):
    v = rng.standard_normal(3)
    hv = srcad.hvp(half_square, (X,), v)
    assert not np.may_share_memory(hv, v)
    check_forward(half_square, (X,), rng)
    s = np.array(0.5)
    ds = srcad.derivative(identity)(s)
    assert not np.may_share_memory(ds, s)

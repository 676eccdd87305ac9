"""An item of a list or dict updated in place (``l[0] += 1.0``) changes the array itself,
which the container's other items may hold too: ``l = [a, a]; l[0] += 1.0`` changes
``l[1]`` in the plain function. srcad treats the update as a new value of the item, so
such code gave a wrong value and a wrong gradient. The guard before the update now
looks at the container's other items whenever the container is read afterwards: the
same array there is refused at the user's line; distinct arrays are differentiated
(checked against central differences in every mode)."""
import os

import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward
from test_wrong_gradients import check_every_mode

X = np.array([0.5, -0.3, 0.8])


def list_twice(x):
    a = x * 1.0
    lst = [a, a]
    lst[0] += 1.0
    return np.sum(lst[1] * x)


def dict_twice(x):
    a = x * 2.0
    d = {"u": a, "v": a}
    d["v"] *= x
    return np.sum(d["u"] * x)


def view_in_list(x):
    a = x * 1.0
    lst = [a, a[::2]]
    lst[0] += x
    return np.sum(lst[1])


def list_in_loop(x):
    a = np.tanh(x)
    lst = [a, a, x * 3.0]
    for k in range(2):
        lst[k] += x[k]
    return np.sum(lst[0] * lst[1] + lst[2])


def nested_holder(x):
    a = x * 1.0
    d = {"rows": [a], "last": a}
    d["last"] += 1.0
    return np.sum(d["rows"][0] * x)


def assert_refused_here(call, fn, line, says="updated in place"):
    with pytest.raises(srcad.TransformError) as info:
        call()
    err = info.value
    assert os.path.basename(err.filename) == os.path.basename(__file__), str(err)
    assert err.lineno == fn.__code__.co_firstlineno + line, str(err)
    assert says in str(err), str(err)


@pytest.mark.parametrize("fn, line", [(list_twice, 3), (dict_twice, 3), (view_in_list, 3),
                                      (list_in_loop, 4), (nested_holder, 3)])
@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_an_item_held_twice_is_refused(fn, line, backend):
    for call in (lambda: srcad.value_and_grad(fn, backend=backend)(X),
                 lambda: srcad.jvp(fn, (X,), (np.ones(3),), backend=backend)):
        assert_refused_here(call, fn, line)


def distinct_items(x):
    lst = [x * 1.0, x * x]
    lst[0] += x
    lst[1] *= 2.0
    return np.sum(lst[0] * lst[1])


def distinct_in_loop(x):
    d = {"a": np.sin(x), "b": x * 1.0, "c": 2.0}
    for key in ("a", "b"):
        d[key] += x * d["c"]
    return np.sum(d["a"] * d["b"])


def number_items(x):
    lst = [x[0], x[0], x]
    lst[0] += x[1]
    return lst[0] * lst[1] + np.sum(lst[2])


@pytest.mark.parametrize("fn", [distinct_items, distinct_in_loop, number_items])
def test_distinct_items_are_differentiated(fn, rng):
    check_every_mode(fn, X, rng)


# -------------------------------- an output array passed by position, not as ``out=``

def exp_into_itself(x):
    a = x * 1.0
    np.exp(a, a)
    return np.sum(a * x)


def clip_method_into(x):
    a = x * 2.0
    b = a.clip(0.0, 1.0, a)
    return np.sum(a * x) + np.sum(b)


def cumsum_into(x):
    a = x * 1.0
    np.cumsum(a, 0, None, a)
    return np.sum(a * x)


@pytest.mark.parametrize("fn", [exp_into_itself, clip_method_into, cumsum_into])
def test_an_output_passed_by_position_is_refused(fn):
    """``np.exp(a, a)`` writes into ``a`` as ``out=a`` does (the gradient was wrong);
    the keyword was refused, the position was not."""
    with pytest.raises(srcad.TransformError) as info:
        srcad.grad(fn)(X)
    err = info.value
    assert err.lineno == fn.__code__.co_firstlineno + 2, str(err)
    assert "passed by position" in str(err), str(err)


def positional_non_outputs(x):
    return np.sum(np.clip(x, -0.2, 0.6) * np.round(x, 2)) + np.dot(x, x) \
        + np.sum(np.cumsum(x * x, 0)) + np.max(x * x, 0)


def test_positional_arguments_short_of_the_output_are_differentiated(rng):
    check_every_mode(positional_non_outputs, X, rng, hessian="hvp")


def repeated_list(x):
    lst = [x * 1.0] * 2
    lst[0] += 1.0
    return np.sum(lst[1] * x)


def test_a_repeated_list_holds_one_array_twice():
    """``[a] * 2`` is arithmetic in the source but a list holding ``a`` twice."""
    for backend in ("numpy", "auto"):
        assert_refused_here(lambda: srcad.value_and_grad(repeated_list, backend=backend)(X),
                            repeated_list, 2)


# ------------------------------- one array passed for two parameters, one updated in place

def bump(u, v):
    u += 1.0
    return np.sum(v * v)


def bump_same(x):
    a = x * 1.0
    return bump(a, a)


def bump_apart(x):
    return bump(x * 1.0, x * 2.0) + np.sum(x * x)


def relax(u, f):
    for i in range(1, u.shape[0]):
        u[i] = 0.5 * (u[i - 1] + f[i])
    return np.sum(u * f)


def relax_same(x):
    a = np.tanh(x)
    return relax(a, a)


def relax_apart(x):
    return relax(np.tanh(x), x * x)


@pytest.mark.parametrize("fn, line", [(bump_same, 1), (relax_same, 2)])
def test_a_helper_given_one_array_twice_is_refused(fn, line):
    """The helper updates one parameter in place and reads the other: the same array for
    both changes what it reads (the value and the gradient were wrong; the update was
    even dropped as dead). Parameters may share memory: the guard checks at run time."""
    helper = bump if fn is bump_same else relax
    for call in (lambda: srcad.value_and_grad(fn)(X),
                 lambda: srcad.jvp(fn, (X,), (np.ones(3),))):
        with pytest.raises(srcad.TransformError) as info:
            call()
        assert info.value.lineno == helper.__code__.co_firstlineno + line, str(info.value)


def test_a_helper_given_two_arrays_is_differentiated(rng):
    check_every_mode(bump_apart, X, rng, hessian="hvp")
    # (second derivatives through relax's in-place loop are refused, as they were)
    fd_check(relax_apart, (X,), 0, rng)
    fd_check_forward(relax_apart, (X,), 0, rng)


def test_the_same_array_for_two_parameters_of_the_function_itself(rng):
    a = X * 1.0
    with pytest.raises(srcad.TransformError):
        srcad.value_and_grad(bump, wrt=(0, 1))(a, a)
    value, (gu, gv) = srcad.value_and_grad(bump, wrt=(0, 1))(a, X * 2.0)
    assert value == pytest.approx(bump(a.copy(), X * 2.0)) and np.all(gu == 0.0)
    np.testing.assert_allclose(gv, 4.0 * X)     # d/dv of sum(v*v) at v = 2X



def noisy(x):
    return np.sum(x * x * np.random.rand(3))


def test_a_draw_from_the_global_random_state_is_refused():
    """Each run of the function draws other numbers: a Hessian by columns (and numba, with a
    random state of its own) gave no derivative of any single draw."""
    for backend in ("numpy", "auto"):
        assert_refused_here(lambda: srcad.value_and_grad(noisy, backend=backend)(X), noisy, 1,
                            "random state")

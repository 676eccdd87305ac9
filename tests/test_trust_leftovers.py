"""Leftovers of the no-silent-wrong-gradient work: each case once was refused although it
can be computed, crashed, or refused at a line of srcad's own code. Derivatives are
checked against central differences of the plain function in every mode."""
import os

import numpy as np
import pytest

import srcad
from test_wrong_gradients import check_every_mode

X = np.array([0.3, 0.5, 0.7])


def assert_refused_here(call, fn, line, *texts):
    """``call()`` raises a TransformError at line ``line`` of ``fn`` whose message says
    each of ``texts``."""
    with pytest.raises(srcad.TransformError) as info:
        call()
    err = info.value
    assert os.path.basename(err.filename) == os.path.basename(__file__), str(err)
    assert err.lineno == fn.__code__.co_firstlineno + line, str(err)
    for text in texts:
        assert text in str(err), str(err)


# ------------------------- an array written in place while a container literal holds it

def dict_holds_written(x):
    b = np.zeros(3); d = {"a": b}; b[1] = x[0]; return np.sum(d["a"])  # noqa: E702


def list_literal_holds_written(x):
    b = np.zeros(3)
    d = [b, x]
    b[1] = x[0] * x[2]
    return np.sum(d[0] * d[1])


def tuple_holds_written(x):
    b = x * 1.0
    t = (2.0, b, x)
    b[0] = np.sin(x[1])
    return np.sum(t[1] * t[2]) * t[0]


def write_through_dict_read_name(x):
    b = np.zeros(3)
    d = {"a": b}
    d["a"][1] = x[0]
    return np.sum(b * x)


def write_through_list_read_both(x):
    b = x ** 2
    d = [x, b]
    d[1][2] += x[0] * x[1]
    return np.sum(b * d[1]) + np.sum(d[0])


def read_before_and_after_the_write(x):
    b = x * 2.0
    d = {"a": b, "k": x}
    y = np.sum(d["a"] ** 3)
    b[2] = x[0] * x[1]
    return y + np.sum(d["a"] ** 2 * d["k"])


def written_in_a_loop(x):
    b = np.ones(3)
    d = {"a": b}
    s = 0.0
    for i in range(3):
        b[i] = b[i - 1] * x[i]
        s = s + np.sum(d["a"] * x)
    return s


def held_twice_and_in_two_containers(x):
    b = x * 1.0
    d = {"a": b, "b": b}
    t = (b,)
    b[1] *= x[2]
    return np.sum(d["a"] * d["b"]) + np.sum(t[0])


def name_rebound_after_the_container(x):
    b = np.zeros(3)
    d = {"a": b}
    b = x * 2.0
    d["a"][1] = x[0]
    return np.sum(b ** 2) + np.sum(d["a"] * x)


@pytest.mark.parametrize("fn, hessian", [
    (dict_holds_written, "all"), (list_literal_holds_written, "all"),
    (tuple_holds_written, "all"), (write_through_dict_read_name, "all"),
    (write_through_list_read_both, "all"), (held_twice_and_in_two_containers, "all"),
    # second order: the first-derivative code reads the array through the container
    # before the write, and puts the old items back in place: refused at the user's line
    (read_before_and_after_the_write, "refused"), (written_in_a_loop, "refused"),
    (name_rebound_after_the_container, "refused")])
def test_write_followed_into_the_container(fn, hessian, rng):
    check_every_mode(fn, X, rng, hessian)
    check_every_mode(fn, X[::-1] * 1.7, rng, hessian)


def w7_gradient(x):
    b = np.zeros(3); d = {"a": b}; b[1] = x[0]; return np.sum(d["a"])  # noqa: E702


def test_w7_gives_its_gradient():
    g = srcad.grad(w7_gradient)(X)
    want = [(w7_gradient(X + e) - w7_gradient(X - e)) / 2e-6 for e in np.eye(3) * 1e-6]
    np.testing.assert_allclose(g, want, atol=1e-8)
    assert g[0] != 0.0          # the entry the refusal (and before it, a silent zero) missed


def container_aliased(x):
    b = np.zeros(3)
    d = {"a": b}
    e = d
    b[1] = x[0]
    return np.sum(e["a"])


def view_in_the_container(x):
    b = x * 1.0
    d = {"a": b, "v": b[::2]}
    b[0] = x[1] ** 2
    return np.sum(d["a"]) + np.sum(d["v"])


def container_item_replaced(x):
    b = x * 1.0
    d = [b]
    d[0] = b[::-1]
    b[0] = x[1] ** 2
    return np.sum(d[0] * x)


def name_rebound_to_another_array(x):
    b = x * 1.0
    d = {"a": b}
    c = d["a"]
    b = x * 3.0
    d["a"][1] = x[0]
    return np.sum(c * x)


@pytest.mark.parametrize("fn, line", [
    (container_aliased, 4), (view_in_the_container, 3), (container_item_replaced, 4),
    (name_rebound_to_another_array, 5)])
def test_write_not_followed_is_refused(fn, line):
    for call in (lambda: srcad.grad(fn)(X), lambda: srcad.jvp(fn, (X,), (np.ones(3),))):
        assert_refused_here(call, fn, line,
                            "is updated in place while another name refers to the same array")


# ------------- second derivatives through an item put back by the first-derivative code

def item_written_after_the_read(x):
    b = np.ones(3)
    b[1] = x[1] * x[0]
    s = np.sum(b * x)
    b[2] = x[2]
    return s


def item_written_in_a_loop_read_each_time(x):
    b = np.ones(3)
    s = 0.0
    for i in range(3):
        b[i] = b[i - 1] * x[i]
        s = s + np.sum(b * x)
    return s


@pytest.mark.parametrize("fn", [item_written_after_the_read,
                                item_written_in_a_loop_read_each_time])
def test_hessian_sees_the_items_put_back(fn, rng):
    """The Hessian was silently wrong: the first-derivative code put the old items back
    with a call the second derivative did not follow."""
    check_every_mode(fn, X, rng)


def held_item_written_after_the_read(x):
    b = np.ones(3)
    lst = [b]  # noqa: F841  (the list holds b, unread)
    b[1] = x[1] * x[0]
    s = np.sum(b * x)
    b[2] = x[2]
    return s


def test_hessian_through_an_item_put_back_in_a_held_array_is_refused(rng):
    check_every_mode(held_item_written_after_the_read, X, rng, "refused")
    with pytest.raises(srcad.TransformError, match="a list, tuple or dict also holds"):
        srcad.hessian(held_item_written_after_the_read)(X)


# ------------------ a 0-d array updated with `+=` stays a 0-d array (fuzz: seed 20261130)

FUZZ_0D_UPDATED_IN_A_HELPER = '''\
import numpy as np

def h2(a2, n_):
    a2 *= 0.3
    return a2

def f(x, y, n):
    v1 = np.where(1.0 > 1.0, np.inner(x, x), y[-1])
    v1 += np.full((x.shape[0], 3), v1).min()
    return np.minimum(v1, h2(v1, x.shape))
'''


@pytest.mark.parametrize("mode", ["grad", "value_and_grad", "pullback", "jvp", "jac_fwd",
                                  "jac_rev"])
def test_0d_array_updated_then_updated_again_through_a_helper(mode):
    from tests.fuzz.run import check_case
    check_case(FUZZ_0D_UPDATED_IN_A_HELPER, '(np.array([-0.35351, 0.17524]), np.array(['
               '0.10699, 0.7948, -0.54734]), 2)', wrt=('x',), scalar=True, mode=mode)


def scale_in_place(a):
    a *= 0.3
    return a


def zero_d_then_helper(x):
    v = np.where(x[0] > 5.0, x[1], x[2])
    v += x[0]
    return np.minimum(v, scale_in_place(v))


def test_0d_array_written_in_place_by_a_helper_is_refused():
    """Python's ``v += x[0]`` keeps ``v`` a 0-d array that the helper then scales in
    place (so both operands of ``np.minimum`` are the scaled value); srcad took ``v``
    for a NumPy scalar and gave the unscaled value and gradient."""
    for call in (lambda: srcad.value_and_grad(zero_d_then_helper)(X),
                 lambda: srcad.jvp(zero_d_then_helper, (X,), (np.ones(3),))):
        with pytest.raises(srcad.TransformError) as info:
            call()
        assert info.value.lineno == scale_in_place.__code__.co_firstlineno + 1
        assert "is updated in place while another name refers to the same array" \
            in str(info.value)


def zero_d_accumulated(x):
    v = np.where(x[0] > 5.0, x[1], x[2])
    for i in range(3):
        v += x[i] * v
    w = v
    return w * x[0]


def test_0d_array_accumulated_with_plus_equals(rng):
    check_every_mode(zero_d_accumulated, X, rng)


# -------------------- a cotangent kept smaller than its value (fuzz: seed 2026, program 354)

FUZZ_STAND_IN_COTANGENT = '''\\
import dataclasses
import numpy as np

@dataclasses.dataclass
class Params:
    w: np.ndarray
    s: float

def f(x, y, p):
    v1 = np.max(np.einsum('i,j->ij', np.ones((2,)), np.ones((2,))), axis=1)
    d2 = {'a': np.outer(y, np.ones((x.shape[0],))) * np.max(np.outer(y, np.ones((x.shape[0],))), axis=1, keepdims=True), 'b': v1[-2]}
    return d2['b']
'''  # noqa: E501


@pytest.mark.parametrize("mode", ["grad", "grad_out", "value_and_grad", "pullback", "sig2"])
def test_unread_product_with_a_keepdims_operand(mode):
    from tests.fuzz.run import check_case
    check_case(FUZZ_STAND_IN_COTANGENT, '(np.array([0.92977, 0.16848, -0.31943]), np.array(['
               '0.9053, 0.30461, 0.71141]), Params(w=np.array([0.44713, 0.77599, 0.23697]), '
               's=0.50903))', wrt=('y',), scalar=True, mode=mode)


def unread_product_with_keepdims(y):
    d = {"a": np.outer(y, np.ones(3)) * np.max(np.outer(y, np.ones(3)), axis=1, keepdims=True),
         "b": y[0] * y[1]}
    return d["b"]


def test_unread_product_with_keepdims_gives_its_gradient(rng):
    check_every_mode(unread_product_with_keepdims, X, rng)


# ----------------------------------- second derivatives through srcad's own `lst.pop()`

def stacked_then_appended(x):
    lst = [x[0]]
    lst.append(x[1] * x[2])
    v = np.stack(lst)
    lst.append(2.0)
    return np.sum(v * v)


def test_second_derivative_through_a_restored_list_points_at_the_user_line(rng):
    from conftest import fd_check
    fd_check(stacked_then_appended, (X,), 0, rng)     # first order: computed
    for call in (lambda: srcad.hessian(stacked_then_appended)(X),
                 lambda: srcad.hvp(stacked_then_appended, (X,), X)):
        assert_refused_here(call, stacked_then_appended, 4,
                            "second derivatives through a list appended to after it is read",
                            "append every item before the list is first read")


# --------------------------------------------------------- kinks and infinite slopes

def hypot_with_zero(x):
    return np.sum(np.hypot(x, 0.0)) + np.sum(np.hypot(x, x)) * x[2]


def abs_like(x):
    return np.sum(np.abs(x)) + np.sum(np.sqrt(2.0) * np.abs(x)) * x[2]


def test_hypot_at_the_origin_follows_the_kink_policy_at_second_order(rng):
    """hypot(x, 0) is |x|: at 0 its gradient and Hessian are those of abs (0 by the kink
    policy), not 1 from the guard's stand-in denominator."""
    x = np.array([0.0, -0.4, 0.7])
    np.testing.assert_allclose(srcad.hessian(hypot_with_zero)(x), srcad.hessian(abs_like)(x),
                               atol=1e-12)
    np.testing.assert_allclose(srcad.grad(hypot_with_zero)(x), srcad.grad(abs_like)(x),
                               atol=1e-12)
    check_every_mode(hypot_with_zero, X, rng)   # away from the kink: central differences


# ---------------------------------------------------- a bare read of an undefined name

def reads_an_undefined_name(x):
    y = x * 2.0
    z = undefined_name_here  # noqa: F821, F841
    return np.sum(y)


def test_undefined_name_is_a_located_error():
    for call in (lambda: srcad.grad(reads_an_undefined_name)(X),
                 lambda: srcad.jvp(reads_an_undefined_name, (X,), (X,))):
        assert_refused_here(call, reads_an_undefined_name, 2,
                            "name `undefined_name_here` is not defined", "pass the value")


# ------------------------------------------------------------ has_aux where unsupported

def loss_with_aux(x):
    return np.sum(x ** 2), {"n": 3}


@pytest.mark.parametrize("form, call", [
    ("pullback", lambda d: d.pullback(X)), ("jvp", lambda d: d.jvp((X,), (X,))),
    ("jacobian", lambda d: d.jacobian(X)), ("hessian", lambda d: d.hessian(X)),
    ("hvp", lambda d: d.hvp((X,), X))])
def test_has_aux_on_a_form_without_it_is_a_type_error(form, call):
    d = srcad.differentiate(loss_with_aux, has_aux=True)
    with pytest.raises(TypeError, match=f"has_aux=True is supported by grad and "
                                        f"value_and_grad only, not by {form}"):
        call(d)
    g, aux = d.grad(X)                    # the supported forms still work
    np.testing.assert_allclose(g, 2 * X)
    assert aux == {"n": 3}


# ------------------------------------------------ ufunc methods; the SRCAD_DUMP printer

def max_by_ufunc_method(x):
    return np.maximum.reduce(x) * 2.0


def test_ufunc_reduce_is_refused_with_the_function_to_call():
    for call in (lambda: srcad.grad(max_by_ufunc_method)(X),
                 lambda: srcad.jvp(max_by_ufunc_method, (X,), (X,))):
        assert_refused_here(call, max_by_ufunc_method, 1,
                            "`maximum.reduce` has no derivative rule", "max(x, axis=0)")


def negative_constant_to_a_power(x):
    return x[0] * (-2.0) ** 2 + x[1] * -3.0


def test_dump_prints_negative_constants_as_they_are_computed(monkeypatch, capsys, rng):
    from conftest import fd_check
    monkeypatch.setenv("SRCAD_DUMP", "normalize")
    srcad.clear_cache()
    fd_check(negative_constant_to_a_power, (X,), 0, rng)
    dumped = capsys.readouterr().err
    assert "(-2.0) ** 2" in dumped and "-2.0 ** 2" not in dumped.replace("(-2.0) ** 2", "")


# ------------------------------- an array written with itself (fuzz: seed 20261133, 374)

FUZZ_WRITTEN_WITH_ITSELF = '''\\
import numpy as np

def f(x, y, s0=1.0):
    w1 = np.full((x.shape[0], 3), y).copy()
    w1[:] = w1
    return np.mean(w1)
'''


@pytest.mark.parametrize("mode", ["grad", "value_and_grad", "pullback", "jac_rev", "jvp"])
def test_array_written_with_itself(mode):
    from tests.fuzz.run import check_case
    check_case(FUZZ_WRITTEN_WITH_ITSELF, '(np.array([[-0.14747, -0.57626, 0.56101], [0.58306, '
               '0.52902, -0.68418]]), -0.47879)', wrt=('y',), scalar=True, mode=mode)


def written_with_itself(x):
    b = x * 2.0
    b[:] = b
    b[1:] = b[1:]
    return np.sum(b * x)


def written_with_itself_whole(x):
    b = x * 2.0
    b[:] = b
    return np.sum(b * x)


def test_array_written_with_itself_in_every_mode(rng):
    check_every_mode(written_with_itself_whole, X, rng)
    # a view of itself: the second derivative is refused at the user's line
    check_every_mode(written_with_itself, X, rng, "refused")


# ------------- a Hessian whose gradient's tangent broadcasts (fuzz: seed 20261135, 368)

FUZZ_HESSIAN_OF_A_2D_SUM = '''\\
import numpy as np

def f(x, c, s0=1.0):
    return np.tanh(np.sum(x))
'''


@pytest.mark.parametrize("mode", ["hessian", "hvp"])
def test_hessian_of_a_function_of_the_sum_of_a_matrix(mode):
    from tests.fuzz.run import check_case
    check_case(FUZZ_HESSIAN_OF_A_2D_SUM, '(np.array([[0.14017, -0.02299, 0.01151], [-0.83623, '
               '0.323, 0.10608]]), np.array([0.09561, 0.85701]))', wrt=('x',), scalar=True,
               mode=mode)

"""Forward mode accepts what reverse mode accepts, and never crashes.

Each function below once made a forward entry point (``jvp``, the vector-mode
``jacobian(mode="forward")``, ``hessian``, ``hvp`` or ``derivative``) raise a
raw NumPy/Python error or refuse a program reverse mode differentiates. Each is
now checked in every forward entry point against central differences: of the
function itself for first derivatives, of srcad's (separately FD-checked)
gradient for Hessians and Hessian-vector products.
"""
import dataclasses

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


def check_forward(fn, args, rng, wrt=0, vector=True, reverse=True):
    """``fn`` in every forward entry point that applies, against central differences.

    ``vector``: the forward Jacobian must run in vector mode (one pass for all
    columns), not fall back to one pass per column. ``reverse``: reverse mode is
    checked too (it accepts every program here).
    """
    args = tuple(args)
    if reverse:
        fd_check(fn, args, wrt, rng)
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


def refusal(fn, entry):
    """The TransformError that forward (``jvp``) or reverse mode raises for ``fn(X)``."""
    with pytest.raises(srcad.TransformError) as err:
        if entry == "jvp":
            srcad.jvp(fn, (X,), (X,))
        else:
            srcad.jacobian(fn, mode="reverse")(X)
    return err.value


# ==================================================================== 1. np.array of a nested list

def array_nested(x):
    return np.array([[x, 0.5], [0.5, 0.5]])


def array_nested_sum(x):
    return np.sum(np.array([[x, 0.5], [0.5, x * x]]) ** 2)


def test_np_array_of_nested_list_with_a_constant_row(rng):
    check_forward(array_nested, (0.7,), rng)
    check_forward(array_nested_sum, (0.7,), rng)


# ======================================================================== 2. lists built by append

def unused_list(x):
    lst = []
    for xi in x:
        lst.append(xi * 2.0)
    s = sum(lst)  # noqa: F841 -- user-style code: the sum is not used
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


@pytest.mark.parametrize("entry", ["jvp", "reverse"])
def test_discarded_call_message_names_the_call(entry):
    e = refusal(discarded_call, entry)
    assert e.lineno == discarded_call.__code__.co_firstlineno + 2
    assert "the result of `RECORD(...)` is discarded, so it can only act by changing its " \
           "arguments in place" in str(e)


# ==================================================== 5. sequences of active and inactive operands

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


# ================================================= 6. nothing returned aliases the caller's arrays

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


# ============================================== 7. every statement kind, every forward entry point

A23 = np.array([[1.0, 0.5, 0.2], [0.3, -1.0, 0.4]])
M23 = np.arange(6.0).reshape(2, 3) / 7 + 0.1


def s_slice_add_self(x):
    b = x * 1.0
    b[:] += b
    return b


def s_slice_add_self_sum(x):
    b = x * 1.0
    b[:] += b
    return np.sum(b ** 2 * x)


def s_fancy_write(x):
    b = np.zeros(4)
    b[[0, 2]] = x[:2]
    return b * 2.0


def s_mask_write(x):
    b = x * 1.0
    b[x > 0.4] = 0.0
    return b ** 2


def s_step_write(x):
    b = x * 1.0
    b[::2] = x[::2] ** 2
    return b


def s_row_write(m):
    b = m * 1.0
    b[1] = m[0] ** 2
    return b


def s_column_update(m):
    b = m * 1.0
    b[:, 1] += m[:, 2]
    return b


def s_element_update(m):
    b = m * 1.0
    b[1, 2] *= b[0, 0]
    return b


def s_inplace_operators(x):
    b = x * 1.0
    b += x
    b *= x
    b -= 1.0
    b /= 2.0
    return b


def s_rows_of_matrix_built(x):
    a = np.zeros((3, 3))
    a[0] = x
    a[1] = x ** 2
    a[2, 2] = 1.0
    return a @ x


def s_loop_writes(x):
    a = np.zeros((3, 3))
    for i in range(3):
        a[i, i] = x[i]
        a[i] += x * 0.1
    return a @ x


def s_dict_in_loop(x):
    d = {}
    for i in range(3):
        d[i] = x[i] ** 2
    return d[0] + d[1] * d[2]


def s_dict_accumulate(x):
    d = {"s": 0.0}
    for xi in x:
        d["s"] = d["s"] + xi ** 2
    return d["s"] * x


def s_list_item_update(x):
    lst = [x * 1.0, x]
    lst[0] += 1.0
    lst[1] = lst[1] * lst[0]
    return lst[1]


def s_swap_items(x):
    t = [x[0], x[1]]
    t[0], t[1] = t[1], t[0]
    return t[0] * x


def s_one_entry_list(x):
    s = [0.0]
    s[0] = s[0] + x[0]
    s[0] += x[1]
    return s[0] * x


def s_while_list(x):
    lst = []
    i = 0
    while i < 3:
        lst.append(x[i] * 2.0)
        i = i + 1
    return np.array(lst)


def s_loop_list_of_arrays(x):
    out = []
    acc = x
    for i in range(3):
        acc = np.sin(acc) * x[i]
        out.append(acc)
    return np.concatenate(out)


def s_concat_nested_list(x):
    return np.concatenate([x, [x[0] * 2.0]])


def s_broadcast_in_branch(y, x):
    if x[0] > 0:
        b = y + x[0]
    else:
        b = x * 2.0
    b[2] = x[1]
    return b * y


def s_broadcast_in_loop(y, x):
    b = y + x[0]
    for i in range(3):
        b = b * x[i]
        b[0] = b[1] + 1.0
    return b


def s_broadcast_into_list(y, x):
    b = y + x[1]
    lst = [b, y]
    lst[1] = b * 2.0
    return np.stack(lst)


def s_broadcast_matmul(y, x):
    b = y + x[1]
    return A23 @ b


def s_scalar_into_array(s):
    out = np.zeros(3)
    for i in range(3):
        out[i] = s ** (i + 1)
    return out


def s_scalar_into_list(s):
    lst = []
    for i in range(3):
        lst.append(s * i)
    return np.array(lst) + s


def s_scalar_into_dict(s):
    d = {}
    d["a"] = s * 2.0
    return np.array([d["a"], s])


def s_scalar_stacked(s):
    return np.stack([np.ones(2) * s, np.zeros(2)])


def s_scalar_slice_update(s):
    b = np.zeros(3) + s
    b[1:] *= s
    return b


ONE_ARG = [s_slice_add_self, s_slice_add_self_sum, s_fancy_write, s_mask_write, s_step_write,
           s_inplace_operators, s_rows_of_matrix_built, s_loop_writes, s_dict_in_loop,
           s_dict_accumulate, s_list_item_update, s_swap_items, s_one_entry_list,
           s_while_list, s_loop_list_of_arrays, s_concat_nested_list]


@pytest.mark.parametrize("fn", ONE_ARG)
def test_statement_kinds_in_every_forward_entry_point(fn, rng):
    # second derivatives through `b[:] += b` are refused (a located TransformError) while the
    # first derivative code keeps a view of `b`: hessian/hvp are not checked for it
    if fn is s_slice_add_self_sum:
        fd_check_forward(fn, (X,), 0, rng)
        d = srcad.differentiate(fn)
        _close(d.jacobian(X, mode="forward"), _fd_jacobian(fn, (X,), 0), fn.__name__)
        return
    check_forward(fn, (X,), rng)


@pytest.mark.parametrize("fn", [s_row_write, s_column_update, s_element_update])
def test_statement_kinds_on_a_matrix(fn, rng):
    check_forward(fn, (M23,), rng)


@pytest.mark.parametrize("fn", [s_broadcast_in_branch, s_broadcast_in_loop,
                                s_broadcast_into_list, s_broadcast_matmul])
def test_broadcast_tangents_through_statements(fn, rng):
    check_forward(fn, (Y, X), rng, wrt=1)


@pytest.mark.parametrize("fn", [s_scalar_into_array, s_scalar_into_list, s_scalar_into_dict,
                                s_scalar_stacked, s_scalar_slice_update])
def test_scalar_argument_statements(fn, rng):
    check_forward(fn, (0.4,), rng)


def slice_gets_a_scalar(x):
    b = np.zeros(3)
    b[:2] = x[0]
    return b * x


def test_slice_write_of_a_scalar_in_vector_mode(rng):
    # reverse mode of this program is another matter (not checked here)
    check_forward(slice_gets_a_scalar, (X,), rng, reverse=False)


def nested_item_update(x):
    d = {"a": x * 1.0}
    d["a"][0] *= 2.0
    return d["a"]


def nested_item_update_of_array(x):
    m = np.outer(x, x)
    m[0][1] += 2.0 * x[0]
    return m


def test_update_of_an_item_of_a_dict_literal_is_followed(rng):
    check_forward(nested_item_update, (X,), rng)     # transforms/holders.py


@pytest.mark.parametrize("fn, text", [(nested_item_update_of_array, "m[0]")])
@pytest.mark.parametrize("entry", ["jvp", "reverse"])
def test_update_of_an_item_of_an_item_is_refused(fn, text, entry):
    # it wrote into a temporary the derivative code did not connect back: a silently
    # wrong derivative in both modes
    e = refusal(fn, entry)
    assert e.lineno == fn.__code__.co_firstlineno + 2
    assert f"assignment into an item of `{text}` is not supported" in str(e)
    assert f"a = {text}.copy()" in str(e)


def nested_item_update_rewritten(x):
    d = {"a": x * 1.0}
    a = d["a"].copy()
    a[0] *= 2.0
    d["a"] = a
    return d["a"]


def test_the_suggested_rewrite_works(rng):
    check_forward(nested_item_update_rewritten, (X,), rng)


# ============================================================= user forward rules take one tangent

def sq_norm(u):
    return np.sum(u ** 2)


@srcad.tangent(sq_norm)
def _sq_norm_tangent(args, tangents):
    (u,), (du,) = args, tangents
    return np.sum(u ** 2), 2.0 * np.dot(u, du)      # written for one tangent


@srcad.adjoint(sq_norm)
def _sq_norm_adjoint(u):
    return np.sum(u ** 2), lambda g: (2.0 * u * g,)


def scaled_by_rule(u, v):
    return np.sum(u ** 2) * v


@srcad.tangent(scaled_by_rule)
def _scaled_tangent(args, tangents):
    (u, v), (du, dv) = args, tangents
    return np.sum(u ** 2) * v, 2.0 * np.dot(u, du) * v + np.sum(u ** 2) * dv


@srcad.adjoint(scaled_by_rule)
def _scaled_adjoint(u, v):
    return np.sum(u ** 2) * v, lambda g: (2.0 * u * np.sum(g * v), np.sum(u ** 2) * g)


MIX = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [0.5, 0.0, 1.0]])


def rule_of_mixed(x):
    return sq_norm(MIX @ x) * x


def rule_of_a_slice(x):
    return sq_norm(x[:2]) * x


def test_user_forward_rule_in_a_forward_jacobian(rng):
    # the vector-mode code handed the rule the tangents of all directions at once:
    # np.dot contracted over the wrong axis (a silently wrong Jacobian) or raised
    check_forward(rule_of_mixed, (X,), rng, vector=False)
    check_forward(rule_of_a_slice, (X,), rng, vector=False)


def test_function_with_its_own_forward_rule_in_a_forward_jacobian(rng):
    u, v = X, np.array([0.5, -0.2])
    Ju, Jv = srcad.jacobian(scaled_by_rule, wrt=(0, 1), mode="forward")(u, v)
    _close(Ju, _fd_jacobian(scaled_by_rule, (u, v), 0), "d/du")
    _close(Jv, _fd_jacobian(scaled_by_rule, (u, v), 1), "d/dv")


# ===================================================== output tangents keep the output's structure

@dataclasses.dataclass
class Scaled:
    a: np.ndarray
    b: float
    n: int = 2


def build_scaled(p):
    return Scaled(p.a * 2.0, p.b * p.a[0], p.n)


def test_dataclass_built_in_forward_mode_keeps_its_int_field(rng):
    p, t = Scaled(X, 0.5), Scaled(rng.standard_normal(3), 0.3)
    value, tan = srcad.jvp(build_scaled, (p,), (t,))
    assert type(tan) is Scaled and tan.n == 2 and type(tan.n) is int   # was 0.0
    fd_check_forward(build_scaled, (p,), 0, rng)


def mask_and_value(x):
    return x > 0.4, x * 2.0


def test_tangent_of_a_bool_output_is_float64(rng):
    value, tan = srcad.jvp(mask_and_value, (X,), (Y,))
    assert tan[0].dtype == np.float64 and not tan[0].any()                # was float32
    fd_check_forward(lambda_free_second, (X,), 0, rng)


def lambda_free_second(x):
    return mask_and_value(x)[1]


# ==================================================== lists and dicts changed through another name

def append_to_an_item(x):
    d = {"l": []}
    for i in range(3):
        d["l"].append(x[i])
    return np.array(d["l"]) * 2.0


def append_through_an_alias(x):
    a = [x[0]]
    b = a
    b.append(x[1])
    return np.array(a) * 2.0


def append_to_an_item_alias(x):
    d = {"l": [x[0]]}
    lst = d["l"]
    lst.append(x[1])
    return np.array(d["l"]) * 2.0


def dict_write_through_an_alias(x):
    d = {"a": x[0]}
    e = d
    d["b"] = x[1] * 2.0
    return e["b"] * x


def appended_row_changed_later(x):
    out = []
    row = []
    out.append(row)
    row.append(x[0])
    return np.array(out) * 2.0


@pytest.mark.parametrize("entry", ["jvp", "reverse"])
def test_append_to_an_item_is_refused(entry):
    # it appended to a temporary: zero derivatives in both modes
    e = refusal(append_to_an_item, entry)
    assert e.lineno == append_to_an_item.__code__.co_firstlineno + 3
    assert "appending to `d['l']` is not supported" in str(e)
    assert "`a = d['l'][:]`, `a.append(...)`, `d['l'] = a`" in str(e)


@pytest.mark.parametrize("fn, name, kind, line", [
    (append_through_an_alias, "b", "list", 3), (append_to_an_item_alias, "lst", "list", 3),
    (dict_write_through_an_alias, "d", "dict", 3), (appended_row_changed_later, "row", "list", 4)])
@pytest.mark.parametrize("entry", ["jvp", "reverse"])
def test_container_changed_while_another_name_sees_it_is_refused(fn, name, kind, line, entry):
    # reverse mode gave silently wrong derivatives, forward mode raised a raw ValueError
    e = refusal(fn, entry)
    assert e.lineno == fn.__code__.co_firstlineno + line
    assert f"`{name}` is changed in place while another name refers to the same {kind}" \
        in str(e)


def append_to_a_copy_and_store(x):
    d = {"l": [x[0]]}
    a = d["l"][:]
    a.append(x[1] ** 2)
    d["l"] = a
    return np.array(d["l"]) * 2.0


def fresh_rows(x):
    out = []
    for i in range(2):
        row = []
        row.append(x[i])
        row.append(x[i + 1] ** 2)
        out.append(row)
    return np.array(out) * 2.0


@pytest.mark.parametrize("fn", [append_to_a_copy_and_store, fresh_rows])
def test_lists_without_sharing_still_work(fn, rng):
    check_forward(fn, (X,), rng)


# ====================================== forward over reverse through a loop that runs no iteration

def triangular_loops(x):
    s = 0.0
    for i in range(3):
        for j in range(i):          # no iteration when i == 0
            s = s + x[i] * x[j] ** 2
    return s


def triangular_writes(x):
    s = np.zeros(3)
    for i in range(3):
        for j in range(i):
            s[i] = s[i] + x[i] * x[j]
    return np.sum(s * np.array([1.0, -2.0, 0.5]))


def loop_target_kept_by_an_empty_loop(x, n):
    k = 2
    for k in range(n):
        x = x * 1.5
    return x * k


@pytest.mark.parametrize("fn", [triangular_loops, triangular_writes])
def test_hessian_through_triangular_loops(fn, rng):
    # the gradient's own code copied the inner loop's target after the loop, unbound
    # when the inner loop ran no iteration: UnboundLocalError in hessian / hvp
    check_forward(fn, (X,), rng)


@pytest.mark.parametrize("n", [0, 3])
def test_empty_loop_keeps_its_target(n, rng):
    check_forward(loop_target_kept_by_an_empty_loop, (X, n), rng)


# ========================================================== forward over srcad's own reverse rules

def cast_cubed(x):
    return np.sum(x.astype(np.float64) ** 3 * np.array([1.0, -2.0, 0.5]))


def test_hessian_through_astype(rng):
    # the reverse rule of astype casts back with np.result_type, which forward mode refused
    check_forward(cast_cubed, (X,), rng)

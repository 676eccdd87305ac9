"""Lists appended to after a use, found by the differential fuzzer (tests/fuzz).

Each program is checked against central differences in every mode (``check_program``)
and must be differentiated (not refused): these are plain list programs srcad follows.
"""
import numpy as np
import pytest

import srcad
from tests.conftest import fd_check, fd_check_forward
from tests.fuzz.generate import Program
from tests.fuzz.run import MODES, check_case, check_program

FORWARD = ("jvp", "jac_fwd")
SECOND = ("hessian", "hvp")
REVERSE = ("grad", "grad_out", "value_and_grad", "pullback", "jac_rev")


def _all_ok(source, args, wrt, modes=MODES, scalar=True):
    program = Program(source=source, args=args, args2=args, wrt=tuple(wrt), scalar=scalar,
                      second_order=True)
    result = check_program(program, only=tuple(modes))
    assert result.status == "valid", result.note
    # second order differentiates the generated reverse code, which restores an appended
    # list with ``lst.pop()`` (or pops a cotangent): a located refusal there, never a number
    bad = {m: o for m, o in result.outcomes.items() if o[0] not in ("ok", "n/a") and not (
        m in SECOND and o[0] == "refused")}
    assert not bad, bad
    assert any(o[0] == "ok" for o in result.outcomes.values())


# ------------------------------ reverse: a list stacked, then appended to afterwards

STACKED_THEN_APPENDED = '''\
import numpy as np

def f(y):
    lst = [1.5]
    lst.append(np.mean(y))
    v = np.stack(lst)
    lst.append(2.0)
    return np.sum(v * v)
'''

STACKED_THEN_APPENDED_ACTIVE = '''\
import numpy as np

def f(x, y):
    lst = [x[0]]
    lst.append(np.mean(y))
    v = np.stack(lst) * x[1]
    lst.append(x * y[0])
    return np.sum(v * v) + np.sum(lst[2]) * lst[0]
'''

STACKED_IN_A_LOOP = '''\
import numpy as np

def f(x):
    lst = [x[0]]
    acc = 0.0
    for i in range(1, 3):
        lst.append(x[i] * x[0])
        acc = acc + np.sum(np.stack(lst) ** 2)
    lst.append(x[1])
    return acc + np.sum(np.stack(lst))
'''

FUZZ_STACKED = '''\
import dataclasses
import numpy as np

@dataclasses.dataclass
class Params:
    w: np.ndarray
    s: float

def f(x, y, p, c, s0=1.0):
    lst1 = [p.s]
    lst1.append(np.mean(y))
    v1 = np.stack(lst1)
    v2 = v1
    lst1.append(p.w)
    return np.sum(v2)
'''
FUZZ_STACKED_ARGS = ('(np.array([[-0.82995, -0.1063, 0.86938], [0.62902, -0.53675, -0.39258]]), '
                     'np.array([-0.55591, 0.80829]), Params(w=np.array([-0.3253, -0.22835, '
                     '-0.41124]), s=0.52403), np.array([-0.03864, 0.37631]))')


def test_grad_of_a_list_stacked_then_appended_to_uses_the_list_as_stacked(rng):
    # the reverse sweep read the list with the later item: IndexError in the stack's back
    _all_ok(STACKED_THEN_APPENDED, '(np.array([0.3, -0.7, 0.2]),)', ('y',))

    def f(y):
        lst = [1.5]
        lst.append(np.mean(y))
        v = np.stack(lst)
        lst.append(2.0)
        return np.sum(v * v)
    y = np.array([0.3, -0.7, 0.2])
    fd_check(f, (y,), 0, rng)


def test_grad_of_a_list_stacked_then_appended_an_active_item():
    args = '(np.array([0.4, -1.1, 0.6]), np.array([0.3, -0.7]))'
    _all_ok(STACKED_THEN_APPENDED_ACTIVE, args, ('x',))
    _all_ok(STACKED_THEN_APPENDED_ACTIVE, args, ('x', 'y'), modes=REVERSE + FORWARD)


def test_grad_of_a_list_stacked_in_a_loop_while_it_grows():
    _all_ok(STACKED_IN_A_LOOP, '(np.array([0.4, -1.1, 0.6]),)', ('x',))


def test_grad_of_a_list_appended_after_a_stack_leaves_the_callers_view_right():
    def f(x):
        lst = [x[0]]
        v = np.stack(lst)
        lst.append(x[1])
        return np.sum(v) * 3.0 + lst[1]
    x = np.array([0.5, -2.0])
    np.testing.assert_allclose(srcad.grad(f)(x), [3.0, 1.0])


def test_fuzz_finding_stacked_list_appended_afterwards():
    check_case(FUZZ_STACKED, FUZZ_STACKED_ARGS, wrt=('y',), scalar=True, mode='grad')
    _all_ok(FUZZ_STACKED, FUZZ_STACKED_ARGS, ('y',))


# ------------ forward: a list whose items so far are constant, then an active append

CONSTANT_ITEMS_THEN_ACTIVE = '''\
import numpy as np

def f(x, y):
    lst = [np.max(y) for q in y]
    lst.append(np.mean(x))
    return sum(lst)
'''

ACTIVE_ITEMS_THEN_ACTIVE = '''\
import numpy as np

def f(x, y):
    lst = [np.sin(q) * x[0] for q in y]
    lst.append(np.mean(x * x))
    lst.append(2.0)
    return sum(lst) * lst[0]
'''

CONSTANT_LITERAL_THEN_ACTIVE = '''\
import numpy as np

def f(x, y):
    lst = [y[0], y[1]]
    for i in range(2):
        lst.append(x[i] * y[i])
    return np.sum(np.stack(lst) ** 2)
'''

FUZZ_COMPREHENSION = '''\
import dataclasses
import numpy as np

@dataclasses.dataclass
class Params:
    w: np.ndarray
    s: float

def f(x, y, p, n):
    lst1 = [np.max(y, axis=0) for q1 in y]
    d3 = {'a': np.ones((3, x.shape[0]))[1:, :].min(axis=1), 'b': x}
    lst1.append(np.mean(d3['a']))
    v2 = sum(lst1)
    return v2
'''
FUZZ_COMPREHENSION_ARGS = ('(np.array([0.01465, -0.55693, 0.50381]), np.array([0.1922, '
                           '-0.11869, -0.3774]), Params(w=np.array([-0.14162, -0.81963, '
                           '-0.73377]), s=0.40088), 2)')


def test_jvp_of_a_comprehension_of_constants_then_an_active_append(rng):
    # the list's tangent was a zero 0.0 and its append raised AttributeError
    _all_ok(CONSTANT_ITEMS_THEN_ACTIVE, '(np.array([0.4, -1.1]), np.array([0.3, -0.7, 0.2]))',
            ('x',))

    def f(x, y):
        lst = [np.max(y) for q in y]
        lst.append(np.mean(x))
        return sum(lst)
    fd_check_forward(f, (np.array([0.4, -1.1]), np.array([0.3, -0.7, 0.2])), 0, rng)


def test_jvp_of_a_comprehension_of_active_items_then_appends():
    _all_ok(ACTIVE_ITEMS_THEN_ACTIVE, '(np.array([0.4, -1.1]), np.array([0.3, -0.7, 0.2]))',
            ('x',))


def test_jvp_of_a_constant_literal_list_appended_in_a_loop():
    _all_ok(CONSTANT_LITERAL_THEN_ACTIVE, '(np.array([0.4, -1.1]), np.array([0.3, -0.7]))',
            ('x',))


def test_fuzz_finding_comprehension_of_constants_then_append():
    check_case(FUZZ_COMPREHENSION, FUZZ_COMPREHENSION_ARGS, wrt=('x',), scalar=True,
               mode='jvp')
    _all_ok(FUZZ_COMPREHENSION, FUZZ_COMPREHENSION_ARGS, ('x',))


SLICED_THEN_APPENDED = '''\
import numpy as np

def f(x):
    lst = [x[0]]
    t = lst[:]
    u = lst[-1]
    lst.append(x[1] * 2.0)
    return np.sum(np.stack(t)) * 3.0 + sum(lst) * u
'''


def test_grad_of_a_list_sliced_then_appended_to():
    # the slice's reverse read the longer list: ValueError from zip in the sweep
    _all_ok(SLICED_THEN_APPENDED, '(np.array([0.4, -1.1]),)', ('x',))


LAST_ITEM_THEN_APPENDED = '''\
import numpy as np

def f(x, y):
    lst = [y] * 3
    v = lst[-1]
    lst.append(v)
    k = -2
    w = lst[k]
    lst.append(w * x[0])
    return v * np.sum(x) + lst[-1]
'''


ITEM_READ_BETWEEN_APPENDS = '''\
import numpy as np

def f(x, y):
    lst = [y]
    lst.append(2.0 * y * x[1])
    v = lst[1]
    lst.append(3.0 * y)
    return v * np.sum(x)
'''


def test_grad_of_an_item_read_between_two_appends():
    # the list's cotangent was made with the final length at the read, so the earlier
    # append's adjoint popped the wrong slot: grad 0 for y
    _all_ok(ITEM_READ_BETWEEN_APPENDS, '(np.array([0.4, -1.1]), 0.7)', ('x', 'y'))


def test_grad_of_a_negative_index_read_then_appended_to():
    # `lst[-1]` named another item once the list grew: the reverse read the longer list
    # and gave the read's cotangent to the appended slot (grad 0 for y)
    _all_ok(LAST_ITEM_THEN_APPENDED, '(np.array([0.4, -1.1]), 0.7)', ('x', 'y'))


NESTED_BRANCH_ITEM = '''\
import numpy as np

def f(x, n):
    if n > 1.0:
        return np.sum(x)
    else:
        return (x if n > 0.5 else x * 2.0)[1]
'''


@pytest.mark.parametrize("n", [2, 0, 0.7])
def test_item_of_a_value_bound_in_both_branches_of_an_inner_if(n):
    # the cotangent of the conditional expression's value was created at the head of the
    # sweep, where the value is unbound when the outer branch was not taken
    _all_ok(NESTED_BRANCH_ITEM, f'(np.array([0.1, -0.2, 0.8]), {n})', ('x',))


def test_a_rule_template_that_assigns_to_its_parameter_is_an_internal_error():
    # renaming the template's locals cut such a parameter from the call's operand, so the
    # operand's term was accumulated into a fresh temporary: a silent zero gradient
    import types

    import gast

    from srcad.transforms import template

    def rebinding(y, g, m):
        m = g * 2.0
        return (m,)

    call = gast.Call(func=gast.Name(id="fn", ctx=gast.Load(), annotation=None,
                                    type_comment=None),
                     args=[gast.Name(id="x", ctx=gast.Load(), annotation=None,
                                     type_comment=None)], keywords=[])
    rule = types.SimpleNamespace(template=rebinding, target=np.rot90)
    lead = [gast.Name(id=n, ctx=gast.Load(), annotation=None, type_comment=None)
            for n in ("y", "y_bar")]
    namer = types.SimpleNamespace(fresh=lambda name: name + "_1")
    with pytest.raises(srcad.InternalError, match=r"assigns to its parameter\(s\) \['m'\]"):
        template.expand(rule, call, lead, None, namer, {})

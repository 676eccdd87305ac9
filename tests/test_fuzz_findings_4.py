"""Found by the differential fuzzer (tests/fuzz, seed 0, 3,000 programs), shrunk.

Each program is checked against central differences in every mode (``check_program``).
"""
import numpy as np
import pytest

import srcad
from tests.fuzz.generate import Program
from tests.fuzz.run import check_program


def _all_ok(source, args, wrt, scalar=True, least=1):
    program = Program(source=source, args=args, args2=args, wrt=tuple(wrt), scalar=scalar,
                      second_order=True)
    result = check_program(program)
    assert result.status == "valid", result.note
    bad = {m: o for m, o in result.outcomes.items() if o[0] not in ("ok", "n/a", "refused")}
    assert not bad, bad
    assert sum(o[0] == "ok" for o in result.outcomes.values()) >= least, result.outcomes


ENUMERATE_INDEX = '''\
import numpy as np

def f(x, s0=1.0):
    for i1, r1 in enumerate(x):
        s0 -= x[i1, 1]
    u1, u2 = (x, s0)
    return u2
'''


def test_an_index_shared_by_the_primal_read_and_its_adjoint_is_not_renamed_in_both():
    # the sweep reused the primal's index expression `x[i1, 1]`: renaming i1 to the loop's
    # i in the primal renamed it in the adjoint loop too, which read the last i (grad
    # [0, -2] per row instead of [-1, -1])
    _all_ok(ENUMERATE_INDEX, '(np.array([[0.08, 0.44, 0.9], [-0.78, 0.22, -0.8]]),)', ('x',))


DEAD_LIST = '''\
import numpy as np

def f(x, y, c):
    return c
    lst1 = [(x * np.ones((2, 1))).T, y]
    lst1.append(c)
    return lst1[0]
'''

BRANCH_LIST = '''\
import numpy as np

def f(x, c):
    if c[0] > 0.5:
        lst = [x * 2.0]
        v = lst[-1]
        lst.append(x * 3.0)
        r = v * lst[1]
    else:
        r = x
    return np.sum(r)
'''


def test_a_list_appended_to_after_an_early_return_is_never_read_unbound():
    _all_ok(DEAD_LIST, '(np.array([[0.7, -0.4, -0.7], [0.4, 0.7, 0.3]]), 0.5, '
                       'np.array([0.5, 0.3]))', ('x',), scalar=False)


@pytest.mark.parametrize("c", ["0.7", "0.2"])
def test_a_list_appended_to_in_a_branch_starts_at_the_branch(c):
    _all_ok(BRANCH_LIST, f'(np.array([0.3, 0.6]), np.array([{c}]))', ('x',))


DATACLASS_FIELD = '''\
import dataclasses
import numpy as np

@dataclasses.dataclass
class Params:
    w: np.ndarray
    s: float

def f(x, p, n):
    return p.w
'''


def test_a_dataclass_gradient_does_not_share_the_callers_cotangent():
    _all_ok(DATACLASS_FIELD, '(np.array([0.2, 0.8]), Params(w=np.array([-0.7, 0.2, -0.5]), '
                             's=0.8), 2)', ('p',), scalar=False)


def test_pullback_copies_a_cotangent_passed_straight_into_a_field():
    from dataclasses import make_dataclass
    P = make_dataclass("P", [("w", np.ndarray), ("s", float)])

    import linecache
    src = "def g(p):\n    return p.w\n"
    linecache.cache["<fuzz4 g>"] = (len(src), None, src.splitlines(True), "<fuzz4 g>")
    ns = {}
    exec(compile(src, "<fuzz4 g>", "exec"), ns)
    _, back = srcad.pullback(ns["g"], P(np.array([1.0, 2.0]), 0.5))
    seed = np.array([0.3, 0.4])
    (grad,) = back(seed)
    assert not np.shares_memory(grad.w, seed)
    np.testing.assert_array_equal(grad.w, seed)

"""Found by the differential fuzzer (seed 412, 1,000 programs on the NumPy backend:
0 wrong, 2 crashes, both this program), shrunk.

The cotangent of a tuple item that nothing reads is the number 0.0 (``_rt.index_cot``
gives it), while its shape fact says array; the buffer plan wrote the reverse of
``np.sum(x)`` as ``float(t2_bar.sum())``, an ``AttributeError`` on a float (pullback
and reverse Jacobian). A name that may hold such a 0.0 keeps ``np.sum``. Loud, not a
wrong number; each mode is checked against central differences.
"""
from tests.fuzz.generate import Program
from tests.fuzz.run import check_case, check_program

SOURCE = '''\\
import numpy as np

def f(x):
    t1 = (1.0, x + np.sum(x))
    return np.full((2,), 1.0) * t1[0]
'''
ARGS = '(np.array([[0.09887, 0.29252, 0.20212], [-0.80578, 0.92201, -0.84226]]),)'


def _every_vector_mode_ok(source):
    modes = ("pullback", "jac_rev", "jac_fwd", "jvp")
    result = check_program(Program(source=source, args=ARGS, args2=ARGS, wrt=("x",),
                                   scalar=False, second_order=True), only=modes)
    assert result.status == "valid", result.note
    for mode in modes:
        assert result.outcomes[mode][0] == "ok", (mode, result.outcomes[mode])


def test_fuzz_412_112_an_unread_tuple_item_has_a_zero_cotangent():
    _every_vector_mode_ok(SOURCE)


SOURCE_FIELD = '''\\
import numpy as np

def f(x):
    d = {"a": 2.0 * x, "b": x + np.sum(x)}
    return np.sum(d["a"] * x) + np.sum(x)
'''


def test_an_unread_dict_entry_whose_cotangent_is_summed():
    """The same through a dict entry that nothing reads, on a scalar output."""
    for mode in ("grad", "value_and_grad", "pullback", "hessian"):
        check_case(SOURCE_FIELD, '(np.array([0.3, -1.2, 0.8]),)', wrt=("x",), scalar=True,
                   mode=mode)


SOURCE_EXPR = '''\\
import numpy as np

def f(x):
    t1 = (1.0, 2.0 * (x + np.sum(x)))
    return np.full((2,), 1.0) * t1[0]
'''


def test_an_expression_of_an_unread_items_cotangent_is_summed():
    """The 0.0 passes through an expression (``2.0 * t1_bar``) before ``np.sum`` reads it:
    the buffer plan asks the zero-guard analysis which names may be 0.0 (it had a
    narrower list of its own: bound to ``_rt.index_cot`` or a copy of one)."""
    _every_vector_mode_ok(SOURCE_EXPR)

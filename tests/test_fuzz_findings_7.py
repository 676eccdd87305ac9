"""Found by the differential fuzzer (seed 303, 6,000 programs on the NumPy backend:
0 wrong, 2 crashes, both this program), shrunk.

An item read ``y[0]`` of a name rebound in a loop: the reverse sweep resets the
name's cotangent to a 0.0 placeholder where the name is assigned, and the read's
adjoint added into it in place (``y_bar[0] += g``), a TypeError on the float. A name
assigned more than once now takes ``item_acc``, which makes the zeros it adds into.
Loud, not a wrong number.
"""
from tests.fuzz.run import check_case


def test_fuzz_303_1213_an_item_read_of_a_value_rebound_in_a_loop():
    """``y[0]`` read where ``y`` is rebound in the loop: its cotangent, reset to a 0.0
    placeholder at the rebinding, is added into through item_acc (was: ``y_bar[0] += g``
    on the float 0.0, a TypeError in pullback and reverse jacobian)."""
    source = '''\\
import numpy as np

def f(x, y, c):
    for r1 in x:
        y = np.cos(y) / y[0]
    return y
'''
    args = ('(np.array([[0.71034, 0.80921, -0.87576], [0.47506, 0.2706, -0.47013]]), '
            'np.array([-0.68916, 0.35262]), np.array([-0.01491, 0.08633]))')
    for mode in ("pullback", "jac_rev", "jac_fwd"):
        check_case(source, args, wrt=("y",), scalar=False, mode=mode)

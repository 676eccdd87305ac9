"""Found by the differential fuzzer (seed 52, 600 programs on ``SRCAD_BACKEND=auto``:
0 wrong, 4 crashes, all this program, on the NumPy code), shrunk.

A dictionary entry that is a constant array (``d['c'] = np.min(np.full(...), axis=1)``)
of a dictionary that also holds an active value: forward mode gives that entry the
number 0.0 as its tangent (the zero that broadcasts), and

- ``np.dot(d['c'], c)``'s tangent kernel multiplied it as a matrix (``0.0 @ c``, a
  ValueError in jvp, forward jacobian, hessian and hvp): a tangent that broadcasts is
  now made full first;
- the gradient's own forward sweep handed it to a callee's ``jvp`` for an array
  argument, whose shape check refused it (hessian and hvp): it is now made full there.

Loud, not a wrong number; each mode is now checked against central differences.
"""
from tests.fuzz.generate import Program
from tests.fuzz.run import check_program

SOURCE = '''\\
import numpy as np

def f(x, c):
    d1 = {'a': np.sum(x)}
    d1['c'] = np.min(np.full((x.shape[0], 2), 0.06), axis=1)
    return np.mean(x * x) + np.where(d1['a'] > 0.26, np.dot(d1['c'], c), d1['a'] * d1['a'])
'''
ARGS = ('(np.array([[0.2171, -0.16191, 0.44034], [-0.27461, -0.10774, 0.10279]]), '
        'np.array([0.4771, -0.41498]))')


def test_fuzz_52_86_a_constant_entry_of_an_active_dictionary_in_forward_mode():
    program = Program(source=SOURCE, args=ARGS, args2=ARGS, wrt=("x",), scalar=True,
                      second_order=True)
    modes = ("jvp", "jac_fwd", "hessian", "hvp")
    result = check_program(program, only=modes)
    assert result.status == "valid", result.note
    for mode in modes:
        assert result.outcomes[mode][0] == "ok", (mode, result.outcomes[mode])

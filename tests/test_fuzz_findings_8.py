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
from tests.fuzz.run import check_case, check_program

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


SOURCE_606 = "import numpy as np\n\nC1 = -1.58\nC2 = 0.81\nC3 = np.array([[0.39, -0.18, 0.19], [-0.31, 0.74, -0.45], [-0.44, 0.36, 0.29], [0.58, -0.2, -0.57]])\nC4 = np.array([0.85, -1.19, -0.07])\nC5 = np.array([[-0.43, -1.03], [0.24, -1.16]])\n\ndef rec1(v, k):\n    if k <= 0:\n        return v\n    return rec1(np.sin(v) * 0.9 + 0.1 * v, k - 1)\n\n\ndef rec2(v, k):\n    if k <= 0:\n        return v\n    return rec2(np.sin(v) * 0.9 + 0.1 * v, k - 1)\n\n\ndef h1(a1, a2, n_):\n    if ((-1.5) ** 3 * a2) > 0.48:\n        return a2 + a1 + a1\n    return (a2 + (a2 + a1))\n\n\ndef f(x, n):\n    for r1, r2 in zip(x, x):\n        if ((np.mean(x) + C1) ** 3) > 0.32:\n            continue\n        r2 = r2 - np.prod((1.0 + 0.3 * np.tanh(np.outer(np.ones((2,)), r1))), axis=0)\n        v1 = np.full((3, 3), 1.24)\n    lst1 = [np.max(((np.sum(x) * np.ones((2, x.shape[0]))) + np.full((x.shape[0],), 0.39)), axis=0, keepdims=True).reshape((x.shape[0],))]\n    v2 = rec1(np.einsum('i,j->ij', np.log10(np.cosh(np.mean(x, axis=0))), np.cumsum((np.sum(x) * np.ones((2, 3))), axis=0)[-1]), 2)\n    if np.inner((v2.max() * lst1[0]), (np.sum(x) * np.ones((x.shape[0] + 2,)))[1:-1]) > -0.25:\n        lst1.append(np.max((x @ np.ones((3, 2))), axis=1, keepdims=True).reshape((x.shape[0],)))\n        v3 = sum(lst1)\n        if np.broadcast_to(x[-1], (x.shape[0], 3)).std() > 0.91:\n            return np.mean(v2 * v2) + np.sum(np.sin(v3)) + np.sum(np.sin(x)) + np.sum(v2)\n    else:\n        if rec2(C2, 1) > 0.44:\n            return np.mean(x * x) + np.sum(np.sin(v2)) + h1(min(np.mean(x), np.sum(v2)), (v2.max() + C2), x.shape[0])\n    if np.abs((v2.max() if 0.31 > (-0.22) else np.sum(x))) > 0.36:\n        w1 = np.zeros((3,))\n        d1 = {'a': np.std(np.prod((1.0 + 0.3 * np.tanh(x.T)), axis=1), axis=0), 'b': np.sum(((np.sum(v2) * np.ones((2, 2))) if w1.max() > -0.48 else C5), axis=0, keepdims=True).reshape((2,))}\n    else:\n        k1 = 0\n        while k1 < 2:\n            k1 += 1\n            v4 = np.arctan(np.matmul(x.T, x))\n    v5 = C2\n    return np.sum(x) + np.mean(v2 * v2) + x.var()\n"
ARGS_606 = '(np.array([[-0.70846, 0.4866, 0.50362], [-0.11663, 0.7552, -0.17688], [0.09555, -0.80874, 0.06709]]), 2)'


def test_fuzz_406_606_a_callee_tangent_that_is_a_list_is_left_as_it_is():
    """The fix above first tested a tangent with ``np.ndim``, which turns a list of arrays
    of different lengths into an array and raised (hessian and hvp, seed 406 program 606:
    found before the stop that made it). Only a number is made full now."""
    for mode in ("hessian", "hvp"):
        check_case(SOURCE_606, ARGS_606, wrt=("x",), scalar=True, mode=mode)

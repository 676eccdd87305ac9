"""np.std where the entries are equal but for roundoff: a kink, whose derivative follows
the kink policy (zero), not the quotient of two roundoffs. Found by the fuzzer."""
import numpy as np
import pytest

import srcad
from tests.fuzz.run import check_case

MODES = ["grad", "grad_out", "value_and_grad", "pullback", "jvp", "jac_fwd", "jac_rev"]

STD_OF_EQUAL_ENTRIES = '''\
import numpy as np

def f(x):
    v1 = np.std(np.sum(x) * np.ones((3,)), axis=0, keepdims=True).reshape(())
    return v1 + np.mean(x)
'''

STD_IN_A_DICT = '''\
import numpy as np

def f(x, y):
    v1 = y * np.einsum('i,i->', y * np.ones((3,)), np.mean(x, axis=0))
    d1 = {'a': np.std(v1 * np.ones((3,)), axis=0), 'b': y}
    d2 = {'a': d1['a'], 'b': v1}
    return d2['a']
'''


@pytest.mark.parametrize("mode", MODES)
def test_std_of_entries_equal_but_for_roundoff(mode):
    check_case(STD_OF_EQUAL_ENTRIES, '(np.array([0.45533, 0.40148]),)', wrt=('x',),
               scalar=True, mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_std_of_a_broadcast_row(mode):
    check_case(STD_IN_A_DICT, '(np.array([[-0.38415, 0.45132, 0.02077], [0.96349, 0.58442, '
               '-0.53681], [-0.63403, -0.64337, -0.08313]]), -0.53589)', wrt=('x',),
               scalar=True, mode=mode)


def spread(x):
    return np.std(x * np.ones((4, 1)), axis=0).sum() + np.std(x)


def test_std_gradient_away_from_the_kink(rng):
    x = rng.uniform(0.2, 0.9, 3)
    assert srcad.check_grad(spread, x) < 1e-5
    g = srcad.grad(spread)(np.full(3, 0.7) + np.array([0.0, 1e-16, 0.0]))
    assert np.all(np.isfinite(g))

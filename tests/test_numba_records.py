"""numba loop records of values a loop body assigns on some paths only.

srcad sets such a value to None before the loop; numba's number stacks cannot hold
None, so the record stores a stand-in there (the reverse loop reads a restored item
only on the paths that assigned it). Checked against central differences with the
numba backend as the process default, and against the NumPy backend.
"""

import numpy as np
import pytest

import srcad
from conftest import fd_check, need_numba
from test_catalogue import loop_continue as skips_some

need_numba()


def counts_in_a_branch(x):
    s = 0.0
    k = 0
    for i in range(len(x)):
        if x[i] > 0.1:
            k = i + 1
            s = s + x[i] * k * np.sin(x[i])
    return s


@pytest.mark.parametrize("fn", [skips_some, counts_in_a_branch])
@pytest.mark.parametrize("x", [[-0.5, -0.2, 0.3, 0.9], [0.5, -0.2, 0.3, -0.9],
                               [-0.5, -0.2, -0.3, -0.9]])
def test_values_unset_on_the_first_iterations(fn, x, monkeypatch, rng):
    x = np.array(x)
    monkeypatch.setenv("SRCAD_BACKEND", "numba")
    fd_check(fn, (x,), wrt=(0,), rng=rng)
    f = srcad.differentiate(fn, backend="numba")
    got = f.grad(x)
    assert f.compiled("grad", x).__srcad_backend__ == "numba"
    np.testing.assert_allclose(got, srcad.differentiate(fn, backend="numpy").grad(x),
                               rtol=1e-12, atol=0)

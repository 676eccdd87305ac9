"""The adjoint half of the generated code reads like a person wrote it (issue 10, section 4).

Each rewrite of the generated code is checked twice: the text no longer shows the
general helper (or the extra lines) where a fact the compiler knows makes it
unnecessary, and the derivatives (both modes, and second derivatives, since generated
code is differentiated again) still agree with central differences, also where the
fact does not hold and the general helper must stay.
"""
import numpy as np
import pytest

import golden_functions as gf
import srcad
from conftest import fd_check, fd_check_forward


def assert_hvp_close(fn, args, rng, wrt=0):
    """``hvp`` (forward over reverse, through the generated gradient) against central
    differences of the gradient along a random direction."""
    x = args[wrt]
    v = rng.standard_normal(np.shape(x))
    grad = srcad.grad(fn, wrt=wrt)
    h = 1e-5

    def at(step):
        moved = list(args)
        moved[wrt] = x + step * v
        return np.asarray(grad(*moved), np.float64)

    want = (at(h) - at(-h)) / (2 * h)
    got = srcad.hvp(fn, args, v, wrt=wrt)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * (1 + np.max(np.abs(want))))


# ---------------------------------------------------------------- items of a matrix are numbers

def lj_args():
    grid = np.array([[0.0, 0.0, 0.0], [1.2, 0.0, 0.0], [0.0, 1.2, 0.0], [0.0, 0.0, 1.2]])
    return (grid + np.random.default_rng(1).uniform(-0.05, 0.05, grid.shape),)


def test_items_of_a_matrix_need_no_unbroadcast_and_are_not_recorded(rng):
    src = srcad.source(gf.lj_energy, *lj_args())
    assert "unbroadcast" not in src
    record = next(line for line in src.splitlines() if "loop.append" in line)
    # the adjoint reads dx, dy, dz, r2, s6 and two products; not the items x[i, 0]...
    assert record.count(",") <= 8, record
    fd_check(gf.lj_energy, lj_args(), 0, rng)
    fd_check_forward(gf.lj_energy, lj_args(), 0, rng)
    assert_hvp_close(gf.lj_energy, lj_args(), rng)


def items_of_a_cube(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i, 0, 1] * x[i, 1, 0] - x[i, 1, 1] / (1.0 + x[i, 0, 0] ** 2)
    return s


def rows_of_a_matrix(x):
    s = 0.0
    for i in range(x.shape[0]):
        r = x[i, 0:2]               # an array, not a number: its cotangent is a row
        s = s + np.sum(r * r) * x[i, 2]
    return s


@pytest.mark.parametrize("fn, shape", [(items_of_a_cube, (3, 2, 2)),
                                       (rows_of_a_matrix, (3, 3))])
def test_items_and_rows_by_index(fn, shape, rng):
    x = rng.standard_normal(shape)
    fd_check(fn, (x,), 0, rng)
    fd_check_forward(fn, (x,), 0, rng)
    assert_hvp_close(fn, (x,), rng)
    if fn is items_of_a_cube:
        assert "unbroadcast" not in srcad.source(fn, x)


# ---------------------------------------------------------------- symmetric contributions

def squares(x, a):
    r = x * a
    q = r * r                       # one operation, two equal contributions to r
    return np.sum(q * x)


def test_symmetric_contributions_are_one_line(rng):
    x, a = rng.standard_normal((3, 4)), rng.standard_normal(4)
    src = srcad.source(squares, x, a, wrt=(0, 1))
    assert "2.0 * " in src
    assert sum(line.strip().startswith("r_bar =") for line in src.splitlines()) == 1, src
    fd_check(squares, (x, a), (0, 1), rng)
    fd_check_forward(squares, (x, a), (0, 1), rng)
    assert_hvp_close(squares, (x, a), rng)


def test_contributions_of_one_line_to_a_number_are_one_sum(rng):
    src = srcad.source(gf.eam, np.linspace(-0.5, 0.5, 8))
    assert sum(line.strip().startswith("p_bar =") for line in src.splitlines()) == 1, src
    x = rng.uniform(-0.5, 0.5, 6)
    fd_check(gf.eam, (x,), 0, rng)
    assert_hvp_close(gf.eam, (x,), rng)

"""What the shape analysis knows of reductions along literal axes and of basic indexing
(numbers, slices, new axes), and what it must not claim: an index that is a truth value
adds an axis (``x[True]`` has the shape ``(1,) + x.shape``), it does not pick an item.

A row statistic read back as a column (``mu[:, None]``) has its cotangent added in place
(``mu_bar[:, None] += g``) once ``mu``'s shape is known; each function is checked against
central differences in reverse and forward mode.
"""
import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward


def layer_norm(x, g):
    mu = np.mean(x, axis=1)
    d = x - mu[:, None]
    v = np.mean(d * d, axis=1)
    return np.sum(g * d / np.sqrt(v[:, None] + 1e-5))


def kept_rows(x):
    m = np.max(x, axis=-1, keepdims=True)
    s = np.sum(np.exp(x - m), axis=(1,), keepdims=True)
    return np.sum(np.log(s) + m) + np.sum(x[1:, None] * x[None, :-1, 0])


def flag_index(x):
    """``x[b]`` with ``b`` a truth value: an array of shape (1, n), not a number."""
    b = x[0] > 0
    y = x[b]
    return np.sum(y * x)


def flag_index_2d(x):
    on = True
    y = x[on, 1:]
    return np.sum(y * x[1:]) + np.sum(x[1, None] ** 2)


def column_of_a_reduction(x):
    s = np.sum(x * x, axis=0)
    return np.sum(s[None, :] * x + s[:, None, None][0])


@pytest.mark.parametrize("fn, shapes, wrt", [
    (layer_norm, [(4, 3), (3,)], (0, 1)),
    (kept_rows, [(4, 3)], 0),
    (flag_index, [(3,)], 0),
    (flag_index_2d, [(3, 4)], 0),
    (column_of_a_reduction, [(3, 4)], 0),
])
def test_reductions_and_basic_indexing_against_central_differences(fn, shapes, wrt, rng):
    args = tuple(rng.uniform(0.5, 1.5, s) for s in shapes)
    fd_check(fn, args, wrt, rng)
    fd_check_forward(fn, args, wrt, rng)


def test_a_column_of_a_row_statistic_adds_its_cotangent_in_place(rng):
    x, g = rng.uniform(0.5, 1.5, (4, 3)), rng.uniform(0.5, 1.5, 3)
    source = srcad.differentiate(layer_norm, wrt=(0, 1)).source("grad", x, g)
    assert "mu_bar[:, None] += " in source
    assert "item_acc" not in source

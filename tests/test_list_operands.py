"""A list of values that carry derivatives given where NumPy takes an array. A list
operand's cotangent is a list, and two of them added with ``+`` were joined, not summed:
``np.interp(t, xp, [a, b])`` lost ``b``'s part (a wrong gradient), and so would the
quantiles. Elementwise functions computed their rules with the list itself
(``1 - x * x``: a TypeError). Checked against central differences in both modes."""
import numpy as np
import pytest

from conftest import fd_check, fd_check_forward

X = np.array([0.5, -0.3, 0.8])


def interp_literal(x):
    return np.sum(np.interp([0.1, 0.2, 0.7], [0.0, 0.5, 1.0], [x[0], x[1], x[2]]))


def interp_name(x):
    fp = [x[0] * 2.0, x[1]]
    return np.sum(np.interp([0.1, 0.2], [0.0, 1.0], fp))


def percentile_list(x):
    return np.percentile([x[0], x[1], x[2] * 2.0], 40.0) + np.quantile([x[2], x[0]], 0.3)


def median_list(x):
    return np.median([x[0], x[1] * 3.0, x[2], x[1]])


def elementwise_lists(x):
    pair = [x[0] * 0.5, x[2] * 0.5]
    return np.sum(np.arccos(pair) * np.sinc((x[1], x[2])) + np.log1p([x[0], x[2]]))


def sorted_list(x):
    return np.sum(np.sort([x[2], x[0], x[1]]) * np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("fn", [interp_literal, interp_name, percentile_list, median_list,
                                elementwise_lists, sorted_list], ids=lambda f: f.__name__)
def test_a_list_operand(fn, rng):
    fd_check(fn, (X,), 0, rng)
    fd_check_forward(fn, (X,), 0, rng)

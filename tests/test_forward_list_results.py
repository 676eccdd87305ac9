"""Forward mode adds the tangent terms of a rule whose result is a list item by item.

A rule's forward template gives one lambda per operand; with two active operands the
terms are summed. For a result that is a list (``np.broadcast_arrays``, ``np.meshgrid``
or a rule of a user's), ``+`` joined the two lists into one twice as long: the items
of the second operand's term took the places of later items, a silent wrong tangent.
"""
import numpy as np

import srcad
from srcad.transforms.rules import registry
from tests.conftest import fd_check_forward


# a function without source (as a compiled library's): srcad uses its rule, never inlines it
_ns = {"np": np}
exec(compile("def two_rows(a, b):\n    return [a * 2.0, np.sin(b)]\n", "<no source>", "exec"),
     _ns)
two_rows = _ns["two_rows"]


@registry.reverse(two_rows)
def _two_rows_bar(y, g, a, b):
    return (g[0] * 2.0, g[1] * np.cos(b))


@registry.forward(two_rows, vector=False)
def _two_rows_dot(y, a, b):
    return (lambda da: [da * 2.0, 0.0 * b], lambda db: [0.0 * a, np.cos(b) * db])


def uses_both_rows(x, z):
    rows = two_rows(x, z)
    return rows[0] * rows[1] + rows[1]


def test_tangent_terms_of_a_list_result_are_added_item_by_item(rng):
    x, z = rng.uniform(0.2, 0.9, 3), rng.uniform(0.2, 0.9, 3)
    fd_check_forward(uses_both_rows, (x, z), (0, 1), rng)


def test_each_operand_alone_matches_differences(rng):
    x, z = rng.uniform(0.2, 0.9, 3), rng.uniform(0.2, 0.9, 3)
    fd_check_forward(uses_both_rows, (x, z), (0,), rng)
    fd_check_forward(uses_both_rows, (x, z), (1,), rng)
    value, tangent = srcad.jvp(uses_both_rows, (x, z), (np.zeros(3), np.ones(3)), wrt=(0, 1))
    assert tangent.shape == (3,)

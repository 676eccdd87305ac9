"""The rules of the runtime helpers that generated code calls, checked by finite differences.

Gradients of gradients differentiate srcad's own generated code; these rows
check each helper's reverse and forward rule end to end, like test_rules.py
does for the NumPy rules. A meta-test fails when a helper rule has no row.
"""
import numpy as np
import pytest
from conftest import fd_check, fd_check_forward

from srcad import runtime
from srcad.runtime import (add_cot, attr_acc, copy_item, copy_value, field_cot, finalize,
                           full_tangent,
    gather_cot,
                           finalize_array, index_cot, item_acc, own, take_cot, tangent_attr,
                           tangent_item, tangent_out, zero_item, pop_cot, list_cot, dense,
                           grad_seed, kept_0d, seq_operand)
from srcad.transforms.rules import registry

IDX = np.array([0, 2, 2])


def f_finalize(c, x): return finalize(c, x) * 1.5
def f_finalize_array(c, x): return finalize_array(c, x) * 1.5
def f_copy_value(v): return copy_value(v) * v
def f_own(v): return own(v) * v
def f_tangent_out(t, y): return tangent_out(t, y, False) * 2.0
def f_full_tangent(t, x): return full_tangent(t, x) * x
def f_add_cot(a, b): return add_cot(a, b) * a
def f_item_acc(c, g): return item_acc(own(c), c, 1, g) * c
def f_item_acc_fancy(c, g): return item_acc(own(c), c, IDX, g)
def f_index_cot(c): return index_cot(c, 2) * c[0]
def f_take_cot(c): return take_cot(c, slice(1, 3)) * 2.0
def f_gather_cot(c): return gather_cot(c, IDX) * 2.0
def f_copy_item(x): return copy_item(x, slice(0, 2)) ** 2
def f_zero_item(c): return zero_item(own(c), 1) * c
def f_pop_cot(c): return pop_cot([c * 2.0, c * c]) * c
def f_list_cot(c): return list_cot(c * c)[1] * c
def f_dense(c): return dense(c * c, c) * c
def f_grad_seed(c, v): return grad_seed(c * c, v * 2.0) * v
def f_kept_0d(c, s): return kept_0d(np.array(0.5), s * s) * c + kept_0d(0.5, c * s)
def f_attr_acc(c, g): return field_cot(attr_acc(c, "w", g), "w") * g
def f_field_cot(c): return field_cot(attr_acc(0.0, "w", c), "w") ** 2
def f_tangent_item(t, x): return tangent_item(t, x, 1, False) * t[0]
def f_tangent_attr(t, x): return tangent_attr(attr_acc(0.0, "w", t), x, "w") ** 2
def f_seq_operand(c): return np.sum(seq_operand([c[0], c[1] * c[2]]) * c[:2])


class _Holder:
    w = 1.0


V4 = lambda rng: rng.uniform(0.5, 1.5, 4)  # noqa: E731
V3 = lambda rng: rng.uniform(0.5, 1.5, 3)  # noqa: E731

ROWS = [
    (finalize, f_finalize, lambda r: (V4(r), np.zeros(4)), (0,)),
    (finalize_array, f_finalize_array, lambda r: (V4(r), np.zeros(4)), (0,)),
    (copy_value, f_copy_value, lambda r: (V4(r),), (0,)),
    (own, f_own, lambda r: (V4(r),), (0,)),
    (tangent_out, f_tangent_out, lambda r: (V4(r), np.zeros(4)), (0,)),
    (full_tangent, f_full_tangent, lambda r: (0.7, V4(r)), (0,)),
    (full_tangent, f_full_tangent, lambda r: (V4(r), V4(r)), (0,)),
    (add_cot, f_add_cot, lambda r: (V4(r), V4(r)), (0, 1)),
    (item_acc, f_item_acc, lambda r: (V4(r), 0.7), (0, 1)),
    (item_acc, f_item_acc_fancy, lambda r: (V4(r), V3(r)), (0, 1)),
    (index_cot, f_index_cot, lambda r: (V4(r),), (0,)),
    (take_cot, f_take_cot, lambda r: (V4(r),), (0,)),
    (gather_cot, f_gather_cot, lambda r: (V4(r),), (0,)),
    (copy_item, f_copy_item, lambda r: (V4(r),), (0,)),
    (zero_item, f_zero_item, lambda r: (V4(r),), (0,)),
    (dense, f_dense, lambda r: (V4(r),), (0,)),
    (grad_seed, f_grad_seed, lambda r: (V4(r), V4(r)), (0, 1)),
    (kept_0d, f_kept_0d, lambda r: (V4(r), 0.7), (0, 1)),
    (attr_acc, f_attr_acc, lambda r: (0.0, 0.8), (1,)),
    (field_cot, f_field_cot, lambda r: (0.9,), (0,)),
    (tangent_item, f_tangent_item, lambda r: (V4(r), np.zeros(4)), (0,)),
    (tangent_attr, f_tangent_attr, lambda r: (0.6, _Holder()), (0,)),
    (seq_operand, f_seq_operand, lambda r: (V4(r),), (0,)),
]


@pytest.mark.parametrize("target, f, make, wrt", ROWS, ids=[r[1].__name__ for r in ROWS])
def test_reverse(target, f, make, wrt, rng):
    fd_check(f, make(rng), wrt, rng)


# helpers with a forward rule only: the second-order code runs them, nothing reverses them
FORWARD_ROWS = [
    (pop_cot, f_pop_cot, lambda r: (V4(r),), (0,)),
    (list_cot, f_list_cot, lambda r: (V4(r),), (0,)),
]


@pytest.mark.parametrize("target, f, make, wrt", ROWS + FORWARD_ROWS,
                         ids=[r[1].__name__ for r in ROWS + FORWARD_ROWS])
def test_forward(target, f, make, wrt, rng):
    fd_check_forward(f, make(rng), wrt, rng)


def test_every_runtime_rule_has_a_row():
    covered = {r[0] for r in ROWS + FORWARD_ROWS}
    missing = [t.__name__ for table in (registry.REVERSE, registry.FORWARD) for t, rule in
               table.items() if rule.template.__module__ == "srcad.runtime_rules"
               and t not in covered]
    assert not missing, f"runtime rules without a row: {sorted(set(missing))}"
    assert runtime.finalize is finalize

"""Rules for the runtime helpers, so that generated code can be differentiated again; and
the runtime registered with the compiler as the module generated code calls as ``_rt``.

Gradients of gradients, Hessians and Hessian-vector products transform srcad's
own (un-optimised) generated code; every helper that code calls needs a
reverse and a forward rule, registered here like any other rule.
"""
import logging
import warnings

import numpy as np

from srcad import runtime
from srcad.codegen import unparse
from srcad.runtime import (
    add_cot,
    attr_acc,
    copy_item,
    copy_value,
    dense,
    field_cot,
    finalize,
    finalize_array,
    full_tangent,
    GradSeed,
    gather_cot,
    grad_seed,
    kept_0d,
    index_cot,
    item_acc,
    last_writes,
    list_cot,
    not_shared,
    not_shared_item,
    numbers_only,
    own,
    pop_cot,
    restore_item,
    seq_operand,
    show,
    text,
    throw,
    take_cot,
    tangent_attr,
    tangent_item,
    tangent_out,
    zero_item,
    zero_tangent,
    zeros_cot,
    zeros_for,
)
from srcad.kernels.broadcast import unbroadcast
from srcad.kernels.shapes import seq_array_back, seq_array_tangent
from srcad.transforms.rules import registry
from srcad.transforms.rules.registry import checked_only, effect, forward, nondiff, reverse

registry.HOST.runtime = runtime
registry.HOST.unparse = unparse

nondiff(zeros_for, zeros_cot, zero_tangent, show, restore_item, not_shared, not_shared_item,
        numbers_only, text, throw, GradSeed)

# loggers and warnings run in the primal sweep for what they show, reading their arguments
# only: a dropped result on values that carry derivatives is fine (as for print)
effect(warnings.warn, logging.Logger.debug, logging.Logger.info, logging.Logger.warning,
       logging.Logger.error, logging.Logger.exception, logging.Logger.critical,
       logging.Logger.log, logging.debug, logging.info, logging.warning, logging.error,
       logging.exception, logging.critical, logging.log)


# ---- identities and copies ------------------------------------------------------

@reverse(finalize, finalize_array)
def finalize_bar(y, g, c, x):
    return (g, None)


@forward(finalize, finalize_array)
def finalize_dot(y, c, x):
    return (lambda dc: dc, None)


@reverse(copy_value, own)
def copy_value_bar(y, g, v):
    return (g,)


@forward(copy_value, own)
def copy_value_dot(y, v):
    return (lambda dv: dv,)


checked_only(grad_seed, 1)      # the seed, never the output it checks, flows on


@reverse(grad_seed)
def grad_seed_bar(y, g, seed, value):
    return (g, None)


@forward(grad_seed)
def grad_seed_dot(y, seed, value):
    return (lambda dseed: dseed, None)


@reverse(kept_0d)
def kept_0d_bar(y, g, old, new):
    return (None, g)


@forward(kept_0d)
def kept_0d_dot(y, old, new):
    return (None, lambda dn: dn)


@reverse(full_tangent)
def full_tangent_bar(y, g, t, x):
    return (unbroadcast(g, t), None)


@forward(full_tangent)
def full_tangent_dot(y, t, x):
    return (lambda dt: full_tangent(dt, x), None)


@reverse(tangent_out)
def tangent_out_bar(y, g, t, v, vector):
    return (g, None, None)


@forward(tangent_out)
def tangent_out_dot(y, t, v, vector):
    return (lambda dt: dt, None, None)


# ---- sums of cotangents ---------------------------------------------------------

@reverse(add_cot)
def add_cot_bar(y, g, a, b):
    return (g, g)


@forward(add_cot)
def add_cot_dot(y, a, b):
    return (lambda da: da, lambda db: db)


# ---- items and fields -------------------------------------------------------------

@reverse(item_acc)
def item_acc_bar(y, g, c, x, idx, v):
    return (g, None, None, gather_cot(g, idx))


@forward(item_acc, vector=False)
def item_acc_dot(y, c, x, idx, v):
    # shaped like the result ``y``, not ``x``: a list's cotangent is shorter than the list
    # once the reverse sweep has popped the cotangents of its later appends
    return (lambda dc: dc, None, None, lambda dv: item_acc(0.0, y, idx, dv))


@reverse(index_cot, gather_cot)
def index_cot_bar(y, g, c, k):
    return (runtime_item_like(c, k, g), None)


@forward(index_cot, gather_cot)
def index_cot_dot(y, c, k):
    return (lambda dc: index_cot(dc, k), None)


@reverse(take_cot)
def take_cot_bar(y, g, c, k):
    return (runtime_item_like(c, k, last_writes(g, k, c.shape if isinstance(
        c, np.ndarray) else None)), None)


@forward(take_cot)
def take_cot_dot(y, c, k):
    return (lambda dc: take_cot(dc, k), None)


@reverse(copy_item)
def copy_item_bar(y, g, x, idx):
    return (runtime_item_like(x, idx, g), None)


@forward(copy_item)
def copy_item_dot(y, x, idx):
    return (lambda dx: copy_item(dx, idx), None)


@reverse(zero_item)
def zero_item_bar(y, g, c, idx):
    return (zero_item(own(g), idx), None)


@forward(zero_item, vector=False)
def zero_item_dot(y, c, idx):
    return (lambda dc: zero_item(own(dc), idx), None)


@reverse(dense)
def dense_bar(y, g, c, like):
    return (g, None)


@forward(dense)
def dense_dot(y, c, like):
    return (lambda dc: dense(dc, like), None)


@forward(list_cot)
def list_cot_dot(y, c):
    return (lambda dc: list_cot(dc),)


@forward(pop_cot)
def pop_cot_dot(y, c):
    # the cotangent list and its tangent list grow and shrink together
    return (lambda dc: pop_cot(dc),)


@reverse(attr_acc)
def attr_acc_bar(y, g, c, name, v):
    return (g, None, field_cot(g, name))


@forward(attr_acc)
def attr_acc_dot(y, c, name, v):
    return (lambda dc: dc, None, lambda dv: attr_acc(0.0, name, dv))


@reverse(field_cot)
def field_cot_bar(y, g, c, name):
    return (attr_acc(0.0, name, g), None)


@forward(field_cot)
def field_cot_dot(y, c, name):
    return (lambda dc: field_cot(dc, name), None)


@reverse(tangent_item)
def tangent_item_bar(y, g, t, x, idx, vector):
    return (runtime_item_like(x, idx, g), None, None, None)


@forward(tangent_item, vector=False)
def tangent_item_dot(y, t, x, idx, vector):
    return (lambda dt: tangent_item(dt, x, idx, vector), None, None, None)


@reverse(tangent_attr)
def tangent_attr_bar(y, g, t, x, name):
    return (attr_acc(0.0, name, g), None, None)


@forward(tangent_attr)
def tangent_attr_dot(y, t, x, name):
    return (lambda dt: tangent_attr(dt, x, name), None, None)


def runtime_item_like(x, idx, g):
    """A zero cotangent shaped like ``x`` with ``g`` added at ``idx``."""
    if isinstance(x, np.ndarray):
        return item_acc(0.0, x, idx, g)
    return item_acc(0.0, x, idx, g)


@reverse(seq_operand)
def seq_operand_bar(y, g, x):
    return (seq_array_back(g, x),)


@forward(seq_operand, sequences=True)
def seq_operand_dot(y, x):
    return (lambda d: seq_array_tangent(d, x),)

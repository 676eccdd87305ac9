"""Derivative rules for NumPy functions that move, repeat, cut or drop entries: ``split``
and its kin, ``repeat``, ``tile``, ``roll``, ``append``, ``rot90``, ``rollaxis``, ``pad``
(the modes that copy entries), ``partition``, ``take``, ``delete``, ``insert``,
``resize``, ``compress``, ``extract``, ``diagflat``, ``unstack``, ``meshgrid``,
``broadcast_arrays``, ``dstack``; and ``select``.

Each is one ``gather`` row (rules/templates.py): the function applied to the entry numbers
of its operands says where each result entry comes from; the cotangent is summed back
there and the tangent read from there. ``partition`` moves entries by their values (its
permutation is piecewise constant, like ``sort``'s). ``select`` takes each entry from the
choice of the first true condition (the conditions carry no derivative).
"""
import numpy as np

from srcad.transforms.rules.registry import forward, nondiff, reverse, view
from srcad.transforms.rules.templates import gather
from srcad.kernels.broadcast import unbroadcast
from srcad.kernels.moves import (  # noqa: F401  (the gather rows name them)
    broadcast_index, gather_back, gather_index, gather_tangent, joint_back, joint_index,
    joint_tangent, mesh_index, not_differentiated, pad_index, partition_index, select_back,
    select_masks, select_tangent)

# ---- gathers: one row each (what the index map is, when it is not the function itself) ----

for _target in (np.split, np.array_split):
    gather(_target, "ary, indices_or_sections, axis=0")
for _target in (np.hsplit, np.vsplit, np.dsplit):
    gather(_target, "ary, indices_or_sections")
gather(np.repeat, "a, repeats, axis=None")
gather(np.tile, "A, reps")
gather(np.roll, "a, shift, axis=None")
gather(np.append, "arr, values, axis=None", operands=2)
gather(np.rot90, "m, k=1, axes=(0, 1)")
gather(np.rollaxis, "a, axis, start=0")
gather(np.take, "a, indices, axis=None, mode='raise'")
gather(np.delete, "arr, obj, axis=None")
gather(np.insert, "arr, obj, values, axis=None", operands=("arr", "values"))
gather(np.resize, "a, new_shape")
gather(np.compress, "condition, a, axis=None", operands=("a",))
gather(np.extract, "condition, arr", operands=("arr",))
gather(np.diagflat, "v, k=0")
gather(np.unstack, "x, *, axis=0")
gather(np.partition, "a, kth, axis=-1, kind='introselect', order=None",
       index="partition_index(a, kth, axis)")
gather(np.pad, "array, pad_width, mode='constant', *, stat_length=None, constant_values=None, "
       "end_values=None, reflect_type=None",
       index="pad_index(array, pad_width, mode, stat_length, constant_values, end_values, "
       "reflect_type)")

# rot90 and rollaxis return views of their argument
view(np.rot90, np.rollaxis)


# ---- several arrays at once: meshgrid, broadcast_arrays (``*xs``: an entry per array, the
# ones past the call's arguments unused), dstack (a sequence: a list of cotangents).
# meshgrid and broadcast_arrays have no forward rule: the forward pass adds the terms of
# several operands with ``+``, which would join their lists of tangents. ---------------


@reverse(np.meshgrid)
def meshgrid_bar(y, g, *xi, copy=True, sparse=False, indexing="xy"):
    c = joint_back(g, mesh_index(xi, sparse, indexing), xi)
    return (c[0], c[1], c[2], c[3], c[4], c[5])


@reverse(np.broadcast_arrays)
def broadcast_arrays_bar(y, g, *args, subok=False):
    c = joint_back(g, broadcast_index(args), args)
    return (c[0], c[1], c[2], c[3], c[4], c[5])


@reverse(np.dstack)
def dstack_bar(y, g, tup):
    return (joint_back(g, np.dstack(joint_index(tup)), tup),)


@forward(np.dstack)
def dstack_dot(y, tup):
    return (lambda ds: joint_tangent(ds, np.dstack(joint_index(tup)), tup),)


# ---- select ----------------------------------------------------------------------


@reverse(np.select)
def select_bar(y, g, condlist, choicelist, default=0):
    m = select_masks(condlist, np.shape(y))
    return (None, select_back(g, m, choicelist), unbroadcast(np.where(m[-1], g, 0.0), default))


@forward(np.select)
def select_dot(y, condlist, choicelist, default=0):
    m = select_masks(condlist, np.shape(y))
    return (None, lambda ds: select_tangent(ds, m, choicelist, y),
            lambda dd: select_tangent([dd], m[-1:], [default], y))


# ---- the cotangent kernels are linear in the cotangent: forward rules, so that a gradient
# through these functions can be differentiated again ------------------------------------


@forward(gather_back)
def gather_back_dot(y, g, m, x, start=0):
    return (lambda dg: gather_back(dg, m, x, start),)


@forward(joint_back)
def joint_back_dot(y, g, moved, xs):
    return (lambda dg: joint_back(dg, moved, xs),)


@forward(select_back)
def select_back_dot(y, g, masks, choices):
    return (lambda dg: select_back(dg, masks, choices),)


# the maps of entry numbers and the masks are piecewise constant
nondiff(gather_index, partition_index, pad_index, select_masks, not_differentiated, joint_index,
        mesh_index, broadcast_index)


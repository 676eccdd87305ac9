"""Derivative rules for NumPy shape functions, sequences and constructors;
the array methods and attributes; the non-differentiable NumPy functions.

Shape functions move entries without changing them: the cotangent is moved
back (``transpose`` by the inverse permutation, ``reshape`` to the operand's
shape), and a forward rule moves the tangent, keeping a vector-mode leading
axis in front.

Sequence arguments (``concatenate``, ``stack``, ``hstack``, ``vstack``, and
``array``/``asarray`` of a list or tuple) get a **list** of contributions,
one per element (nested lists for nested sequences); a scalar element gets a
float. Their forward terms take a list of tangents, ``None`` for a constant
element.

Array methods map onto functions (``x.sum(1)`` is ``np.sum(x, 1)``);
``x.reshape(3, 4)``, ``x.transpose(1, 0)``, ``x.flatten()`` and
``x.astype(t)`` map onto the small functions ``array_reshape``... defined
here, whose templates take a ``*shape``/``*axes`` parameter (bound to a tuple).
"""
import numpy as np

from srcad.kernels.broadcast import broadcast_tangent, unbroadcast
from srcad.transforms.rules.registry import (
    attribute, axes_twin, forward, method, nondiff, reverse, view)
from srcad.kernels.shapes import (
    array_astype, array_flatten, array_reshape, array_transpose, cast_scale, seq_array_back,
    seq_array_tangent, seq_concat_tangent, seq_hstack_axis, seq_join, seq_shape, seq_split,
    seq_stack_back, seq_stack_tangent, seq_unstack_back, shape_flip_axes, shape_method_axes,
    shape_move_perm, shape_perm, shape_swap_perm, shape_tangent, shape_transpose_back,
    shape_transpose_tangent)

# ---- reshaping --------------------------------------------------------------

@reverse(np.reshape)
def reshape_bar(y, g, a, shape=None, order="C", *, newshape=None, copy=None):
    return (np.reshape(g, np.shape(a), order=order),)


@forward(np.reshape)
def reshape_dot(y, a, shape=None, order="C", *, newshape=None, copy=None):
    return (lambda da: shape_tangent(da, a, y, order),)


@reverse(array_reshape)
def array_reshape_bar(y, g, a, *shape, order="C"):
    return (np.reshape(g, np.shape(a), order=order),)


@forward(array_reshape)
def array_reshape_dot(y, a, *shape, order="C"):
    return (lambda da: shape_tangent(da, a, y, order),)


@reverse(np.ravel, array_flatten)
def ravel_bar(y, g, a, order="C"):
    return (np.reshape(g, np.shape(a), order=order),)


@forward(np.ravel, array_flatten)
def ravel_dot(y, a, order="C"):
    return (lambda da: shape_tangent(da, a, y, order),)


@reverse(np.squeeze, np.expand_dims)
def squeeze_bar(y, g, a, axis=None):
    return (np.reshape(g, np.shape(a)),)


@forward(np.squeeze, np.expand_dims)
def squeeze_dot(y, a, axis=None):
    return (lambda da: shape_tangent(da, a, y),)


@reverse(np.broadcast_to)
def broadcast_to_bar(y, g, array, shape, subok=False):
    return (unbroadcast(g, array),)


@forward(np.broadcast_to)
def broadcast_to_dot(y, array, shape, subok=False):
    return (lambda da: broadcast_tangent(da, array, y),)


@reverse(np.copy)
def copy_bar(y, g, a, order="K", subok=False):
    return (g,)


@forward(np.copy)
def copy_dot(y, a, order="K", subok=False):
    return (lambda da: np.copy(da),)


@reverse(np.real)
def real_bar(y, g, a):
    return (g + 0j if np.iscomplexobj(a) else g,)


@forward(np.real)
def real_dot(y, a):
    return (lambda da: np.real(da),)


@reverse(np.imag)
def imag_bar(y, g, a):
    return (-1j * g if np.iscomplexobj(a) else 0.0 * g,)


@forward(np.imag)
def imag_dot(y, a):
    return (lambda da: np.imag(da),)


@reverse(np.conj, np.conjugate)
def conj_bar(y, g, a, out=None):
    return (np.conj(g),)


@forward(np.conj, np.conjugate)
def conj_dot(y, a, out=None):
    return (lambda da: np.conj(da),)


@reverse(array_astype)
def astype_bar(y, g, a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    return (np.asarray(g * cast_scale(y)).astype(np.result_type(a)),)


@forward(array_astype)
def astype_dot(y, a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    return (lambda da: np.asarray(da * cast_scale(y)).astype(dtype),)


# ---- permuting --------------------------------------------------------------

@reverse(np.transpose)
def transpose_bar(y, g, a, axes=None):
    return (shape_transpose_back(g, a, axes),)


@forward(np.transpose)
def transpose_dot(y, a, axes=None):
    return (lambda da: shape_transpose_tangent(da, a, axes),)


@reverse(np.swapaxes)
def swapaxes_bar(y, g, a, axis1, axis2):
    return (shape_transpose_back(g, a, shape_swap_perm(axis1, axis2, np.ndim(a))),)


@forward(np.swapaxes)
def swapaxes_dot(y, a, axis1, axis2):
    return (lambda da: shape_transpose_tangent(da, a, shape_swap_perm(axis1, axis2,
                                                                      np.ndim(a))),)


@reverse(np.moveaxis)
def moveaxis_bar(y, g, a, source, destination):
    return (shape_transpose_back(g, a, shape_move_perm(source, destination, np.ndim(a))),)


@forward(np.moveaxis)
def moveaxis_dot(y, a, source, destination):
    return (lambda da: shape_transpose_tangent(da, a, shape_move_perm(source, destination,
                                                                      np.ndim(a))),)


@reverse(array_transpose)
def array_transpose_bar(y, g, a, *axes):
    return (shape_transpose_back(g, a, shape_method_axes(axes)),)


@forward(array_transpose)
def array_transpose_dot(y, a, *axes):
    return (lambda da: shape_transpose_tangent(da, a, shape_method_axes(axes)),)


@reverse(np.flip)
def flip_bar(y, g, m, axis=None):
    return (np.flip(g, axis),)


@forward(np.flip)
def flip_dot(y, m, axis=None):
    return (lambda dm: np.flip(dm, shape_flip_axes(axis, dm, m)),)


axes_twin([np.reshape], "reshape_c", ("shape", "order"))    # (numba's takes no order)
axes_twin([np.flip], "flip_axes")
axes_twin([np.ndim], "ndim", ())         # (numba has no np.ndim; rules' helpers call it)


# ---- joining sequences ------------------------------------------------------

@reverse(np.concatenate)
def concatenate_bar(y, g, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    return (seq_split(g, arrays, axis, 0),)


@forward(np.concatenate, sequences=True)
def concatenate_dot(y, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    return (lambda ds: seq_concat_tangent(ds, arrays, axis, 0),)


@reverse(np.hstack)
def hstack_bar(y, g, tup, *, dtype=None, casting="same_kind"):
    return (seq_split(g, tup, seq_hstack_axis(tup), 1),)


@forward(np.hstack, sequences=True)
def hstack_dot(y, tup, *, dtype=None, casting="same_kind"):
    return (lambda ds: seq_concat_tangent(ds, tup, seq_hstack_axis(tup), 1),)


@reverse(np.vstack, np.row_stack)     # row_stack: vstack's deprecated name
def vstack_bar(y, g, tup, *, dtype=None, casting="same_kind"):
    return (seq_split(g, tup, 0, 2),)


@forward(np.vstack, np.row_stack, sequences=True)
def vstack_dot(y, tup, *, dtype=None, casting="same_kind"):
    return (lambda ds: seq_concat_tangent(ds, tup, 0, 2),)


@reverse(np.stack)
def stack_bar(y, g, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    return (seq_stack_back(g, arrays, axis),)


@forward(np.stack, sequences=True)
def stack_dot(y, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    return (lambda ds: seq_stack_tangent(ds, arrays, axis),)


# ---- constructors -----------------------------------------------------------

@reverse(np.array)
def array_bar(y, g, object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0):
    return (seq_array_back(np.reshape(g * cast_scale(y), np.shape(object)), object),)


@forward(np.array, sequences=True)
def array_dot(y, object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0):
    return (lambda d: shape_tangent(seq_array_tangent(d, object), object, y) * cast_scale(y),)


@reverse(np.asarray)
def asarray_bar(y, g, a, dtype=None, order=None, *, device=None, copy=None):
    return (seq_array_back(g * cast_scale(y), a),)


@forward(np.asarray, sequences=True)
def asarray_dot(y, a, dtype=None, order=None, *, device=None, copy=None):
    return (lambda d: seq_array_tangent(d, a) * cast_scale(y),)


@reverse(np.full)
def full_bar(y, g, shape, fill_value, dtype=None, order="C"):
    return (None, unbroadcast(g * cast_scale(y), fill_value))


@forward(np.full)
def full_dot(y, shape, fill_value, dtype=None, order="C"):
    return (None, lambda df: broadcast_tangent(df, fill_value, y) * cast_scale(y))


@reverse(np.full_like)
def full_like_bar(y, g, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    return (None, unbroadcast(g * cast_scale(y), fill_value))


@forward(np.full_like)
def full_like_dot(y, a, fill_value, dtype=None, order="K", subok=True, shape=None):
    return (None, lambda df: broadcast_tangent(df, fill_value, y) * cast_scale(y))


# ---- array methods and attributes -------------------------------------------

for _name, _target in [
        ("sum", np.sum), ("mean", np.mean), ("prod", np.prod), ("max", np.max),
        ("min", np.min), ("var", np.var), ("std", np.std), ("cumsum", np.cumsum),
        ("cumprod", np.cumprod),
        ("dot", np.dot), ("trace", np.trace), ("clip", np.clip), ("ravel", np.ravel),
        ("squeeze", np.squeeze), ("copy", np.copy), ("reshape", array_reshape),
        ("transpose", array_transpose), ("flatten", array_flatten), ("astype", array_astype),
        ("argmax", np.argmax), ("argmin", np.argmin), ("argsort", np.argsort),
        ("any", np.any), ("all", np.all), ("nonzero", np.nonzero)]:
    method(_name, _target)
del _name, _target
attribute("T", np.transpose)
attribute("real", np.real)
attribute("imag", np.imag)
method("conj", np.conj)
method("conjugate", np.conj)


# ---- functions whose result may share memory with their first argument ----------
# (an in-place update through one name then changes the other: srcad guards it)

view(np.reshape, np.ravel, np.transpose, np.squeeze, np.expand_dims, np.broadcast_to,
     np.asarray, np.swapaxes, np.moveaxis, np.atleast_1d, np.atleast_2d, np.flip, np.diagonal,
     array_reshape, array_transpose)


# piecewise-constant helpers (weights, masks, axes): zero derivative where defined
nondiff(shape_perm, shape_method_axes, seq_shape, seq_hstack_axis, shape_swap_perm,
        shape_move_perm, cast_scale)


# ---- rules for the helpers above, so generated code can be differentiated again --
# seq_split and seq_stack_back are linear in the cotangent they cut up: their
# adjoints put the pieces back together.


@reverse(seq_split)
def seq_split_bar(y, g, c, xs, axis, ndmin):
    return (seq_join(g, c, xs, axis, ndmin),)


@forward(seq_split, vector=False)
def seq_split_dot(y, c, xs, axis, ndmin):
    return (lambda dc: seq_split(dc, xs, axis, ndmin),)


@reverse(seq_stack_back)
def seq_stack_back_bar(y, g, c, xs, axis):
    return (seq_unstack_back(g, c, xs, axis),)


@forward(seq_stack_back, vector=False)
def seq_stack_back_dot(y, c, xs, axis):
    return (lambda dc: seq_stack_back(dc, xs, axis),)

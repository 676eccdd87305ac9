"""``grad(*args, out=out)``: the gradient written into the caller's arrays, ``out`` returned.

The generated code writes most gradients straight into ``out`` (``np.multiply(..., out=x_out)``);
what it could not write in place is copied over, and a structure of arrays (a tuple, a
dataclass) is filled field by field.
"""
import numpy as np

from srcad import outputs
from srcad.arguments import _check_out, _write_out


def apart(out, a):
    """Is ``out`` a writeable array of the array ``a``'s shape and dtype, apart from it?"""
    return type(out) is np.ndarray and type(a) is np.ndarray and out.shape == a.shape \
        and (out.dtype is a.dtype or out.dtype == a.dtype) and out is not a \
        and out.flags.writeable and (
            (out.base is None and a.base is None)      # two owners: apart
            or not np.may_share_memory(out, a))


def grad_into(d, fn, args, out):
    """``d.grad(*args, out=out)`` with ``fn`` the specialisation for ``args``: the gradient
    written into ``out``, which is returned."""
    if d.single and len(args) == 1 and apart(out, args[0]):
        value, grads = outputs.run_checked(d, fn, args, (out,))
        if not isinstance(value, (float, np.floating)):
            d._scalar(value)
        if grads[0] is not out:          # not written in place: copy it over
            np.copyto(out, grads[0])
        return out
    outs = _check_out(out, args, d.positions, d.wrt, d.single)
    value, grads = outputs.run_checked(d, fn, args, outs)
    if not isinstance(value, (float, np.floating)):
        d._scalar(value)
    return into_out(out, outs, grads, d)


def into_out(out, outs, grads, d):
    """``out`` holding ``grads`` (most were written in place by the generated code)."""
    if all([type(o) is np.ndarray and type(g) is np.ndarray and g.shape == o.shape
            for g, o in zip(grads, outs, strict=True)]):
        for g, o in zip(grads, outs, strict=True):
            if g is not o:              # not written in place by the generated code
                np.copyto(o, g)
        return out
    return _write_out(out, grads, d.wrt, d.single)

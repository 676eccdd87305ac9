"""Jacobians (forward, reverse, or the cheaper one), Hessians and Hessian-vector products.

``jacobian(d, args, "auto")`` counts input and output entries: with fewer
inputs than outputs it pushes one tangent per input through the vector-mode
forward code (one pass), otherwise it pulls one cotangent per output back
through the reverse code. The plan (mode, output shape) for a shape of the
inputs is learned on the first call and remembered; a reverse plan checks the
output's shape on every call (it may depend on an integer argument or on
values) and re-plans when it differs.
"""
import numpy as np

from srcad.errors import TransformError

def _size(x):
    t = type(x)
    if t is np.ndarray:
        return x.size
    if t is float:
        return 1
    return int(np.size(x))


def _wrt_values(d, args):
    return [args[p] for p in d.positions]


def _check_array_like(d, args):
    for name, a in zip(d.wrt, _wrt_values(d, args), strict=True):
        if type(a) is not float and not isinstance(a, (np.ndarray, np.floating)):
            raise TypeError(f"jacobian needs float or ndarray arguments; `{name}` is a "
                            f"{type(a).__name__}")


def jacobian(d, args, mode):
    args = tuple(args)
    # the plan (mode taken, output shape) depends only on the argument types and shapes
    plan_key = (mode,) + tuple([a.shape if type(a) is np.ndarray else type(a) for a in args])
    plan = d._jacobian_plans.get(plan_key)
    if plan is not None:
        taken, out_shape, n_in = plan
        d.last_jacobian_mode = taken
        ins = [args[p] for p in d.positions]
        if taken == "forward":             # the output's shape comes from this very pass
            return _forward(d, args, ins, n_in)
        # the plan's output shape was learned for other values of the arguments; an output
        # whose size depends on an integer or on values (x[:n], x[x > 0]) re-plans
        if out_shape == () and d.single:
            try:                           # a scalar function: its Jacobian is its gradient
                g = d.grad(*args)          # (grad checks that the output is still a scalar)
            except ValueError:
                g = None
            if g is not None:
                return g if type(g) is np.ndarray else np.array(g, dtype=float)
        elif np.shape(d._primal(args)) == out_shape:
            return _reverse(d, args, ins, out_shape)
        del d._jacobian_plans[plan_key]
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"mode must be 'auto', 'forward' or 'reverse', got {mode!r}")
    _check_array_like(d, args)
    ins = _wrt_values(d, args)
    n_in = sum(_size(a) for a in ins)
    if mode == "auto" and n_in == 1:
        mode = "forward"                # one forward pass is never dearer than one pullback
    value = d._primal(args)
    if d.inner is None and not isinstance(value, (float, int, np.ndarray, np.number)):
        raise ValueError(f"jacobian needs a function returning a float or an ndarray; "
                         f"`{d.fn.__name__}` returned a {type(value).__name__}: take the "
                         f"jacobian of each output, or use pullback / jvp")
    out_shape = np.shape(value)
    if mode == "auto":
        n_out = int(np.prod(out_shape)) if out_shape else 1
        mode = "forward" if n_in < n_out else "reverse"
    d.last_jacobian_mode = mode
    d._jacobian_plans[plan_key] = (mode, out_shape, n_in)
    if mode == "forward":
        return _forward(d, args, ins, n_in)
    return _reverse(d, args, ins, out_shape)


def number_column(value, tan):
    """The Jacobian column of one input entry: the tangent ``tan`` of the output ``value``,
    as an array of the output's shape (the forward code may give a number or a broadcast
    tangent)."""
    if type(tan) is not np.ndarray or type(value) is not np.ndarray \
            or tan.shape != value.shape:
        tan = np.array(np.broadcast_to(tan, np.shape(value)), dtype=float)
    return tan


def _forward(d, args, ins, n_in):
    """All columns in one vector-mode forward pass (k = number of input entries)."""
    if n_in == 1:                       # one input entry: a plain forward pass
        number = isinstance(ins[0], float)
        t = 1.0 if number else np.ones_like(ins[0], dtype=float)
        value, tan = d._specialise("jvp", args)(*args, t)
        tan = number_column(value, tan)
        if not number and np.ndim(ins[0]):
            tan = tan.reshape(np.shape(value) + np.shape(ins[0]))
        return tan if d.single else (tan,)
    if d.inner is not None and d.backend != "numpy" and getattr(
            d._specialise("jvp", args), "__srcad_backend__", None) == "numba":
        return _forward_columns(d, args, ins, n_in)     # (numba compiles one direction)
    tangents, offset = [], 0
    for a in ins:
        n = _size(a)
        t = np.zeros((n_in, n), dtype=np.result_type(np.asarray(a).dtype, np.float32))
        t[offset:offset + n, :] = np.eye(n)
        tangents.append(t.reshape((n_in,) + np.shape(a)))
        offset += n
    try:
        fn = d._specialise("jvpvec", args)
    except TransformError:
        return _forward_columns(d, args, ins, n_in)
    value, tan = fn(*args, *tangents)
    value = np.asarray(value)
    tan = np.asarray(tan, dtype=float)
    if tan.ndim < value.ndim + 1:
        if tan.ndim and tan.shape[0] == n_in:   # one tangent per direction, broadcast over
            tan = tan.reshape((n_in,) + (1,) * (value.ndim + 1 - tan.ndim) + tan.shape[1:])
        tan = np.broadcast_to(tan, (n_in,) + value.shape)      # the value's other axes
    out, offset = [], 0
    for a in ins:
        n = _size(a)
        block = tan[offset:offset + n].reshape((n,) + value.shape)
        block = np.moveaxis(block, 0, -1).reshape(value.shape + np.shape(a))
        out.append(np.array(block))
        offset += n
    return out[0] if d.single else tuple(out)


def _reverse(d, args, ins, out_shape):
    """One pullback per output entry (a single one for a scalar function)."""
    if out_shape == ():
        _, grads = d._specialise("vjp", args)(*args, 1.0, None)
        out = [g if type(g) is np.ndarray else np.array(g, dtype=float)
               for g in grads]                            # a gradient is a fresh array
        return out[0] if d.single else tuple(out)
    size = int(np.prod(out_shape))
    if size == 0:                       # no output entry: no pullback to run
        out = [np.zeros(out_shape + np.shape(a), dtype=_float_dtype(a)) for a in ins]
        return out[0] if d.single else tuple(out)
    rows = [[] for _ in ins]
    for k in range(size):
        seed = np.zeros(out_shape)
        seed.flat[k] = 1.0
        _, grads = d._vjp(args, seed)
        for r, g in zip(rows, grads, strict=True):
            r.append(g if type(g) is np.ndarray else np.asarray(g, dtype=float))
    out = []
    for a, r in zip(ins, rows, strict=True):
        out.append(np.stack(r).reshape(out_shape + np.shape(a)))
    return out[0] if d.single else tuple(out)


def _float_dtype(a):
    """The dtype of a derivative with respect to ``a`` (its own when floating)."""
    dtype = np.asarray(a).dtype
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


def _forward_columns(d, args, ins, n_in):
    """One forward pass per input entry (when a rule has no vector mode)."""
    cols, value = [], None
    for j in range(n_in):
        tangents, offset = [], 0
        for a in ins:
            n = _size(a)
            t = np.zeros(n)
            if offset <= j < offset + n:
                t[j - offset] = 1.0
            tangents.append(float(t[0]) if isinstance(a, float) else t.reshape(np.shape(a)))
            offset += n
        value, tan = d.jvp(args, tuple(tangents))
        cols.append(np.asarray(tan, dtype=float))
    if not cols:                        # no input entry: the value alone gives the shape
        value = np.asarray(d._primal(args))
        cols = np.zeros((0,) + value.shape)
    value = np.asarray(value)
    tan = np.stack(cols)
    out, offset = [], 0
    for a in ins:
        n = _size(a)
        block = tan[offset:offset + n].reshape((n,) + value.shape)
        out.append(np.array(np.moveaxis(block, 0, -1).reshape(value.shape + np.shape(a))))
        offset += n
    return out[0] if d.single else tuple(out)


def _gradient_of(d):
    """A Differentiable for the gradient function of ``d`` (same parameters and wrt)."""
    cached = getattr(d, "_gradient_fn", None)
    if cached is None:
        def gradient(*args):
            return d.grad(*args)
        gradient.__srcad_derivative__ = (d, "grad")
        gradient.__name__ = f"{d.fn.__name__}_grad"
        cached = d._gradient_fn = type(d)(gradient, wrt=d.wrt if not d.single else d.wrt[0],
                                             backend=d.backend)
    return cached


def _check_scalar(d, args, what):
    value = d._primal(args)
    if np.ndim(value) != 0:
        raise ValueError(f"{what} needs a scalar function; `{d.fn.__name__}` returned a value "
                         f"of shape {np.shape(value)}")


def hessian(d, args):
    """Forward over reverse: the Jacobian of the gradient, by forward mode."""
    args = tuple(args)
    if not d.single:
        raise ValueError(f"hessian takes one wrt argument, got {d.wrt}: use hvp for several "
                         f"(v and the result are tuples in wrt order)")
    _check_scalar(d, args, "hessian")
    _check_array_like(d, args)
    H = jacobian(_gradient_of(d), args, "forward")
    x = args[d.positions[0]]
    if isinstance(x, np.ndarray) and isinstance(H, np.ndarray) and H.dtype != x.dtype:
        H = H.astype(x.dtype)           # float32 in, float32 out (as grad and jvp do)
    return H


def hvp(d, args, v):
    """One forward-mode pass over the gradient's code, in direction ``v``."""
    _check_scalar(d, args, "hvp")
    g = _gradient_of(d)
    tangents = (v,) if d.single else tuple(v)
    _, out = g.jvp(args, tangents)
    return out

"""Hand-written adjoints compiled with numba: the target a compiled backend is measured against.

Each is the hand-written gradient of ``workloads.py`` written as explicit
loops for ``numba.njit`` (no NumPy temporaries in the loops, the trajectory of
the Euler loop in a preallocated array). ``make(name)`` compiles lazily and
returns ``g(*args) -> gradient``; it raises ImportError when numba is not
installed, so the runner reports the row as skipped.
"""
import math

import numpy as np

try:
    import numba
    _jit = numba.njit
except ImportError:  # the functions stay plain Python; make() reports numba missing
    numba = None

    def _jit(fn):
        return fn


@_jit
def _euler_grad(k, c):
    steps = 1000
    dt = 0.01
    xs = np.empty(steps)
    vs = np.empty(steps)
    x, v = 1.0, 0.0
    for i in range(steps):
        xs[i] = x
        vs[i] = v
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    x_bar, v_bar = 2.0 * x, 2.0 * v
    k_bar = 0.0
    c_bar = 0.0
    for i in range(steps - 1, -1, -1):
        a_bar = dt * v_bar
        x_bar, v_bar = x_bar - k * a_bar, v_bar + dt * x_bar - c * a_bar
        k_bar -= xs[i] * a_bar
        c_bar -= vs[i] * a_bar
    return k_bar, c_bar


@_jit
def _rs_parts(d, m):
    """s = A/B, ds/dm, and the grid offsets of the rs residual (grid -10..10)."""
    n = d.shape[0]
    A = B = A_m = BB_m = 0.0
    for i in range(n):
        u = (i - 10.0) - m
        e = math.exp(-1.5 * u * u)
        e_m = 3.0 * u * e
        A += d[i] * e
        B += e * e
        A_m += d[i] * e_m
        BB_m += e * e_m
    s = A / B
    s_m = (A_m * B - 2.0 * A * BB_m) / (B * B)
    return s, s_m


@_jit
def _rs_jacobian(d, m):
    s, s_m = _rs_parts(d, m)
    out = np.empty(d.shape[0])
    for i in range(d.shape[0]):
        u = (i - 10.0) - m
        e = math.exp(-1.5 * u * u)
        out[i] = -(s_m * e + s * 3.0 * u * e)
    return out


@_jit
def _rs_loss_grad(d, m):
    s, s_m = _rs_parts(d, m)
    g = 0.0
    for i in range(d.shape[0]):
        u = (i - 10.0) - m
        e = math.exp(-1.5 * u * u)
        g -= (d[i] - s * e) * (s_m * e + s * 3.0 * u * e)
    return g


@_jit
def _eam_grad(x):
    n = x.shape[0]
    out = np.empty(n)
    p = 0.0
    for i in range(n):
        t = math.exp(-3.0 * (x[i] + 1.0))
        out[i] = t
        p += t
    scale = -3.0 * (2.0 * p + 3.0 * p * p + p * p * p)
    for i in range(n):
        out[i] *= scale
    return out


@_jit
def _lj_grad(x):
    n = x.shape[0]
    g = np.zeros((n, 3))
    for i in range(n):
        for j in range(i + 1, n):
            dx = x[i, 0] - x[j, 0]
            dy = x[i, 1] - x[j, 1]
            dz = x[i, 2] - x[j, 2]
            inv = 1.0 / (dx * dx + dy * dy + dz * dz)
            s6 = inv * inv * inv
            f = (-48.0 * s6 * s6 + 24.0 * s6) * inv
            g[i, 0] += f * dx
            g[i, 1] += f * dy
            g[i, 2] += f * dz
            g[j, 0] -= f * dx
            g[j, 1] -= f * dy
            g[j, 2] -= f * dz
    return g


ADJOINTS = {"euler_grad": _euler_grad, "rs_jacobian": _rs_jacobian,
         "rs_loss_grad": _rs_loss_grad, "eam_grad": _eam_grad, "lj_grad": _lj_grad}


def make(name):
    """The njit-compiled adjoint ``name`` (compiled on its first call)."""
    if numba is None:
        raise ImportError("numba", name="numba")
    return ADJOINTS[name]

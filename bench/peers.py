"""The workloads written for peer AD libraries: jax, torch, autograd.

Each peer gets the same function in its own array module, differentiated the
way its documentation recommends (jax: ``jit`` of ``grad``/``jacfwd`` with
float64 enabled, inputs already on the device; torch: ``torch.autograd.grad``
on float64 tensors; autograd: ``autograd.grad``/``jacobian`` on NumPy
arrays). ``methods(workload)`` returns ``{name: (call, to_numpy)}`` where
``call()`` computes the gradient (waiting for the result) and ``to_numpy``
converts it for verification, or ``{name: "skipped: why"}`` when the library
cannot be imported.
"""
import numpy as np

STEPS = 1000


# ---------------------------------------------------------------- functions per array module

def make_eam(xp):
    def rho(r):
        return xp.exp(-3.0 * (r + 1.0))

    def eam(x):
        p = xp.sum(rho(x))
        return p**2 + p**3 + 0.25 * p**4
    return eam


def make_mlp(xp):
    def mlp_loss(W1, b1, W2, b2, X, y):
        h = xp.tanh(X @ W1 + b1)
        pred = h @ W2 + b2
        return xp.mean((pred - y) ** 2)
    return mlp_loss


def euler(k, c):
    dt = 0.01
    x, v = 1.0, 0.0
    for _ in range(STEPS):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x * x + v * v


def make_rs(xp, grid):
    def f(m):
        return xp.exp(-1.5 * (grid - m) ** 2)

    def rs(d, m):
        d0 = f(m)
        return d - xp.sum(d * d0) / xp.sum(d0 * d0) * d0
    return rs


def make_rs_loss(xp, grid):
    rs = make_rs(xp, grid)

    def rs_loss(d, m):
        return 0.5 * xp.sum(rs(d, m) ** 2)
    return rs_loss


# ---------------------------------------------------------------- per library

def _jax(w):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    args = tuple(jnp.asarray(a) for a in w.args)
    if w.key == "eam":
        g = jax.jit(jax.grad(make_eam(jnp)))
    elif w.key == "mlp":
        g = jax.jit(jax.grad(make_mlp(jnp), argnums=(0, 1, 2, 3)))
    elif w.key == "euler":
        def euler_jax(k, c):  # a Python loop would unroll 1000 steps into the trace
            def step(_, state):
                x, v = state
                a = -k * x - c * v
                return x + 0.01 * v, v + 0.01 * a
            x, v = jax.lax.fori_loop(0, STEPS, step, (1.0, 0.0))
            return x * x + v * v
        g = jax.jit(jax.grad(euler_jax, argnums=(0, 1)))
    elif w.key == "rs":
        g = jax.jit(jax.jacfwd(make_rs(jnp, jnp.arange(-10.0, 11.0)), argnums=1))
    elif w.key == "rs_loss":
        g = jax.jit(jax.grad(make_rs_loss(jnp, jnp.arange(-10.0, 11.0)), argnums=1))
    else:  # lj, while: no jax version (a Python pair loop or while would unroll into the trace)
        return {}
    name = "jax jit(grad)" if w.kind == "grad" else "jax jit(jacfwd)"
    return {name: (lambda: jax.block_until_ready(g(*args)), _tree_to_numpy)}


def _torch(w):
    import torch

    def leaf(a, grad):
        return torch.tensor(a, dtype=torch.float64, requires_grad=grad)

    if w.key == "rs":
        from torch.func import jacfwd
        d, m = leaf(w.args[0], False), leaf(w.args[1], False)
        jac = jacfwd(make_rs(torch, torch.arange(-10.0, 11.0, dtype=torch.float64)), argnums=1)
        return {"torch func.jacfwd": (lambda: jac(d, m), _tree_to_numpy)}
    if w.key == "rs_loss":
        d, m = leaf(w.args[0], False), leaf(w.args[1], True)
        loss = make_rs_loss(torch, torch.arange(-10.0, 11.0, dtype=torch.float64))
        return {"torch autograd": (lambda: torch.autograd.grad(loss(d, m), m)[0],
                                   _tree_to_numpy)}
    if w.key == "eam":
        fn, n_wrt = make_eam(torch), 1
    elif w.key == "mlp":
        fn, n_wrt = make_mlp(torch), 4
    elif w.key == "euler":
        fn, n_wrt = euler, 2
    else:
        return {}
    inputs = [leaf(a, i < n_wrt) for i, a in enumerate(w.args)]
    wrt = inputs[:n_wrt]

    def call():
        grads = torch.autograd.grad(fn(*inputs), wrt)
        return grads[0] if n_wrt == 1 else grads
    return {"torch autograd": (call, _tree_to_numpy)}


def _autograd(w):
    import autograd
    import autograd.numpy as anp

    if w.key == "eam":
        g = autograd.grad(make_eam(anp))
    elif w.key == "mlp":
        g = autograd.grad(make_mlp(anp), argnum=(0, 1, 2, 3))
    elif w.key == "euler":
        g = autograd.grad(euler, argnum=(0, 1))
    elif w.key == "rs":
        g = autograd.jacobian(make_rs(anp, np.arange(-10, 11)), argnum=1)
    elif w.key == "rs_loss":
        g = autograd.grad(make_rs_loss(anp, np.arange(-10, 11)), argnum=1)
    else:
        return {}
    name = "autograd grad" if w.kind == "grad" else "autograd jacobian"
    return {name: (lambda: g(*w.args), _tree_to_numpy)}


PEERS = {"jax": _jax, "torch": _torch, "autograd": _autograd}


def methods(w, peers=tuple(PEERS)):
    """{method name: (call, to_numpy)} or {library: "skipped: reason"} for workload ``w``."""
    out = {}
    for lib in peers:
        try:
            out.update(PEERS[lib](w))
        except ImportError as exc:
            out[lib] = f"skipped: {lib} is not installed ({exc.name or exc})"
        except Exception as exc:  # noqa: BLE001 -- a broken peer must not stop the benchmark
            out[lib] = f"error: {type(exc).__name__}: {exc}"
    return out


def _tree_to_numpy(x):
    if isinstance(x, (tuple, list)):
        return tuple(_tree_to_numpy(a) for a in x)
    if hasattr(x, "detach"):  # torch
        x = x.detach().numpy()
    arr = np.asarray(x)
    return float(arr) if arr.ndim == 0 else arr

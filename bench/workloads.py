"""Benchmark workloads: a user-style function, its hand-written gradients, inputs.

Each workload has

- the function as a user would write it (plain NumPy or plain Python; the
  runner decorates it with ``srcad.differentiate``),
- a hand-written gradient that allocates its result (``hand``),
- a hand-written gradient writing into preallocated buffers (``hand_into``,
  made by a factory that owns its workspace, called as ``g(*args, out)``),
- its inputs, built from a fixed seed.

The hand-written gradients are the baselines every other method is checked
against and timed against. Versions of the functions for the peer libraries
live in ``peers.py``.
"""
from dataclasses import dataclass, field

import numpy as np

SEED = 20240611


@dataclass
class Workload:
    name: str                      # row label, e.g. "eam n=10000"
    key: str                       # function family: eam, mlp, euler, rs, rs_loss, lj, while
    fn: object                     # the user-style function
    wrt: object                    # srcad wrt: a position, a name or a tuple of them
    args: tuple                    # inputs
    hand: object                   # hand(*args) -> gradient (allocating)
    make_hand_into: object = None  # make_hand_into(args) -> g(*args, out) -> out
    make_out: object = None        # make_out(args) -> preallocated gradient structure
    kind: str = "grad"             # "grad" or "jacobian"
    n: int = 0                     # problem size for plots
    extras: dict = field(default_factory=dict)  # name -> (callable(*args), (rtol, atol))
    numba: object = None           # name of the hand numba adjoint in numba_hand.py, or None
    rounds: int = 0                # timing rounds when fewer than the run's (slow workloads)
    tol: tuple = None              # (rtol, atol) of srcad against ``hand`` when not to rounding


# ---------------------------------------------------------------- (a) eam

def rho(r):
    return np.exp(-3.0 * (r + 1.0))


def eam(x):
    p = np.sum(rho(x))
    return p**2 + p**3 + 0.25 * p**4


def eam_grad_hand(x):
    t = np.exp(-3.0 * (x + 1.0))
    p = np.sum(t)
    p_bar = 2.0 * p + 3.0 * p**2 + p**3
    return (-3.0 * p_bar) * t


def make_eam_grad_into(args):
    def eam_grad_into(x, out):
        # the output doubles as the only workspace
        np.add(x, 1.0, out=out)
        np.multiply(out, -3.0, out=out)
        np.exp(out, out=out)
        p = np.sum(out)
        p_bar = 2.0 * p + 3.0 * p**2 + p**3
        np.multiply(out, -3.0 * p_bar, out=out)
        return out
    return eam_grad_into


def eam_workload(n):
    x = np.random.default_rng(SEED).uniform(0.0, 1.0, n)
    return Workload(f"eam n={n}", "eam", eam, 0, (x,), eam_grad_hand,
                    make_eam_grad_into, lambda args: np.empty_like(args[0]), n=n,
                    numba="eam_grad")


# ---------------------------------------------------------------- (b) MLP

def mlp_loss(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    pred = h @ W2 + b2
    return np.mean((pred - y) ** 2)


MLP_WRT = ("W1", "b1", "W2", "b2")


def mlp_grad_hand(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    r = h @ W2 + b2 - y
    r_bar = (2.0 / r.size) * r
    W2_bar = h.T @ r_bar
    b2_bar = r_bar.sum(axis=0)
    a_bar = (r_bar @ W2.T) * (1.0 - h * h)
    W1_bar = X.T @ a_bar
    b1_bar = a_bar.sum(axis=0)
    return W1_bar, b1_bar, W2_bar, b2_bar


def make_mlp_grad_into(args):
    W1, _, W2, _, X, _ = args
    a = np.empty((X.shape[0], W1.shape[1]))
    h = np.empty_like(a)
    r = np.empty((X.shape[0], W2.shape[1]))
    h_bar = np.empty_like(a)

    def mlp_grad_into(W1, b1, W2, b2, X, y, out):
        W1_bar, b1_bar, W2_bar, b2_bar = out
        np.matmul(X, W1, out=a)
        np.add(a, b1, out=a)
        np.tanh(a, out=h)
        np.matmul(h, W2, out=r)
        np.add(r, b2, out=r)
        np.subtract(r, y, out=r)
        np.multiply(r, 2.0 / r.size, out=r)
        np.matmul(h.T, r, out=W2_bar)
        np.sum(r, axis=0, out=b2_bar)
        np.matmul(r, W2.T, out=h_bar)
        np.multiply(h, h, out=a)
        np.subtract(1.0, a, out=a)
        np.multiply(h_bar, a, out=a)
        np.matmul(X.T, a, out=W1_bar)
        np.sum(a, axis=0, out=b1_bar)
        return out
    return mlp_grad_into


def mlp_workload(batch=64, n_in=32, n_hidden=64, n_out=1):
    rng = np.random.default_rng(SEED)
    W1 = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
    b1 = 0.1 * rng.standard_normal(n_hidden)
    W2 = rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)
    b2 = 0.1 * rng.standard_normal(n_out)
    X = rng.standard_normal((batch, n_in))
    y = rng.standard_normal((batch, n_out))
    return Workload(f"mlp {n_in}-{n_hidden}-{n_out} batch={batch}", "mlp", mlp_loss, MLP_WRT,
                    (W1, b1, W2, b2, X, y), mlp_grad_hand, make_mlp_grad_into,
                    lambda args: tuple(np.empty_like(a) for a in args[:4]),
                    n=W1.size + b1.size + W2.size + b2.size)


# ---------------------------------------------------------------- (c) Euler loop

STEPS = 1000


def euler(k, c):
    dt = 0.01
    x, v = 1.0, 0.0
    for _ in range(1000):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x * x + v * v


def euler_grad_hand(k, c):
    dt = 0.01
    xs, vs = [], []
    x, v = 1.0, 0.0
    for _ in range(STEPS):
        xs.append(x)
        vs.append(v)
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    x_bar, v_bar = 2.0 * x, 2.0 * v
    k_bar = c_bar = 0.0
    for i in reversed(range(STEPS)):
        a_bar = dt * v_bar
        x_bar, v_bar = x_bar - k * a_bar, v_bar + dt * x_bar - c * a_bar
        k_bar -= xs[i] * a_bar
        c_bar -= vs[i] * a_bar
    return k_bar, c_bar


def make_euler_grad_into(args):
    xs = [0.0] * STEPS
    vs = [0.0] * STEPS

    def euler_grad_into(k, c, out=None):
        # the trajectory goes into preallocated lists; floats have no out=
        dt = 0.01
        x, v = 1.0, 0.0
        for i in range(STEPS):
            xs[i] = x
            vs[i] = v
            a = -k * x - c * v
            x = x + dt * v
            v = v + dt * a
        x_bar, v_bar = 2.0 * x, 2.0 * v
        k_bar = c_bar = 0.0
        for i in range(STEPS - 1, -1, -1):
            a_bar = dt * v_bar
            x_bar, v_bar = x_bar - k * a_bar, v_bar + dt * x_bar - c * a_bar
            k_bar -= xs[i] * a_bar
            c_bar -= vs[i] * a_bar
        return k_bar, c_bar
    return euler_grad_into


def euler_workload():
    return Workload(f"euler {STEPS} steps", "euler", euler, ("k", "c"), (2.0, 0.1),
                    euler_grad_hand, make_euler_grad_into, None, n=2, numba="euler_grad")


# ---------------------------------------------------------------- (d) rs Jacobian

xs = np.arange(-10, 11)


def f(m):
    return np.exp(-1.5 * (xs - m) ** 2)


def rs(d, m):
    d0 = f(m)
    return d - np.sum(d * d0) / np.sum(d0 * d0) * d0


def rs_jacobian_hand(d, m):
    """d rs / d m, shape (21,)."""
    u = xs - m
    d0 = np.exp(-1.5 * u * u)
    d0_m = 3.0 * u * d0
    A = np.sum(d * d0)
    B = np.sum(d0 * d0)
    A_m = np.sum(d * d0_m)
    B_m = 2.0 * np.sum(d0 * d0_m)
    s = A / B
    s_m = (A_m * B - A * B_m) / (B * B)
    return -(s_m * d0 + s * d0_m)


def rs_jacobian_fd(d, m):
    """Forward difference: one extra call and an O(h) error."""
    h = 1.4901161193847656e-08 * max(1.0, abs(m))
    return (rs(d, m + h) - rs(d, m)) / h


def rs_workload():
    d = np.random.default_rng(SEED).uniform(-1.0, 1.0, xs.size)
    return Workload(f"rs jacobian {xs.size}x1", "rs", rs, 1, (d, 0.3), rs_jacobian_hand,
                    kind="jacobian", n=xs.size, numba="rs_jacobian",
                    extras={"forward differences": (rs_jacobian_fd, (1e-5, 1e-6))})


# ---------------------------------------------------------------- (e) rs scalar loss

def rs_loss(d, m):
    r = rs(d, m)
    return 0.5 * np.sum(r**2)


def rs_loss_grad_hand(d, m):
    """d/dm of 0.5 * sum(rs**2): sum(rs * d rs/d m), the Jacobian written out once."""
    u = xs - m
    d0 = np.exp(-1.5 * u * u)
    d0_m = 3.0 * u * d0
    A = np.sum(d * d0)
    B = np.sum(d0 * d0)
    s = A / B
    s_m = (np.sum(d * d0_m) * B - 2.0 * A * np.sum(d0 * d0_m)) / (B * B)
    r = d - s * d0
    return -np.sum(r * (s_m * d0 + s * d0_m))


def rs_loss_workload():
    d = np.random.default_rng(SEED).uniform(-1.0, 1.0, xs.size)
    return Workload(f"rs loss grad {xs.size}->1", "rs_loss", rs_loss, 1, (d, 0.3),
                    rs_loss_grad_hand, n=xs.size, numba="rs_loss_grad")


# ---------------------------------------------------------------- (f) Lennard-Jones pair loop

def lj_energy(x):
    """Lennard-Jones energy (sigma = epsilon = 1) of n particles, x of shape (n, 3)."""
    n = x.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dx = x[i, 0] - x[j, 0]
            dy = x[i, 1] - x[j, 1]
            dz = x[i, 2] - x[j, 2]
            r2 = dx * dx + dy * dy + dz * dz
            s6 = 1.0 / (r2 * r2 * r2)
            e = e + 4.0 * (s6 * s6 - s6)
    return e


def lj_grad_hand(x):
    """dE/dx: each pair adds f * (x_i - x_j) to particle i and the opposite to j."""
    n = x.shape[0]
    p = x.tolist()  # Python floats: what a person writing the loop by hand would do
    g = [[0.0, 0.0, 0.0] for _ in range(n)]
    for i in range(n):
        xi, yi, zi = p[i]
        gi = g[i]
        for j in range(i + 1, n):
            xj, yj, zj = p[j]
            dx, dy, dz = xi - xj, yi - yj, zi - zj
            r2 = dx * dx + dy * dy + dz * dz
            inv = 1.0 / r2
            s6 = inv * inv * inv
            f = (-48.0 * s6 * s6 + 24.0 * s6) * inv  # dE/dr2 times 2
            gj = g[j]
            gi[0] += f * dx
            gi[1] += f * dy
            gi[2] += f * dz
            gj[0] -= f * dx
            gj[1] -= f * dy
            gj[2] -= f * dz
    return np.array(g)


def lj_positions(n):
    """n particles on a cubic lattice of spacing 1.2 with a small random jitter."""
    side = int(np.ceil(n ** (1.0 / 3.0)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    jitter = np.random.default_rng(SEED).uniform(-0.05, 0.05, (n, 3))
    return 1.2 * grid[:n] + jitter


def lj_workload(n):
    return Workload(f"lennard-jones n={n}", "lj", lj_energy, 0, (lj_positions(n),),
                    lj_grad_hand, n=n, numba="lj_grad", rounds=3 if n > 100 else 0)


# ---------------------------------------------------- (g) while loop, data-dependent exit

def fixed_point(p):
    """x = cos(p x) by iteration until the step is below 1e-13; the loss is x**2."""
    x = 1.0
    step = 1.0
    while abs(step) > 1e-13:
        x_new = np.cos(p * x)
        step = x_new - x
        x = x_new
    return x * x


def fixed_point_grad_hand(p):
    """Implicit differentiation at the fixed point: x = cos(p x) gives
    dx/dp = -x sin(p x) / (1 + p sin(p x))."""
    x = 1.0
    step = 1.0
    while abs(step) > 1e-13:
        x_new = np.cos(p * x)
        step = x_new - x
        x = x_new
    s = np.sin(p * x)
    return 2.0 * x * (-x * s / (1.0 + p * s))


def fixed_point_workload():
    # differentiating the iterations agrees with the implicit derivative to the exit tolerance
    return Workload("while fixed point x=cos(px)", "while", fixed_point, 0, (0.7,),
                    fixed_point_grad_hand, n=1, tol=(1e-9, 1e-12))


# ---------------------------------------------------------------- all

EAM_SIZES = (100, 10_000, 1_000_000)
# n=1000 was asked for; one srcad gradient there takes well over 30 s (pure Python pair
# loop, ~500k pairs), so the large size is n=300 (~45k pairs)
LJ_SIZES = (100, 300)


def wide_jacobian_workload(n=100):
    """The Jacobian of a scalar function of 100 inputs (auto mode should pick reverse)."""
    x = np.random.default_rng(SEED).uniform(0.0, 1.0, n)
    return Workload(f"eam jacobian 1x{n} (auto)", "eam", eam, 0, (x,), eam_grad_hand,
                    kind="jacobian", n=n)


def all_workloads(eam_sizes=EAM_SIZES, lj_sizes=LJ_SIZES):
    return [eam_workload(n) for n in eam_sizes] + [
        mlp_workload(), euler_workload(), rs_workload(), rs_loss_workload(),
        wide_jacobian_workload()] + [lj_workload(n) for n in lj_sizes] + [fixed_point_workload()]


# ---------------------------------------------------------------- dispatch overhead

def sq(x):
    return x * x


def sq_grad_hand(x):
    return 2 * x

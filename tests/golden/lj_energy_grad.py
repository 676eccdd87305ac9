# Golden snapshot: srcad.source(lj_energy, kind='grad', wrt=0).
# Generated; rewrite with SRCAD_UPDATE_GOLDEN=1 (see tests/test_golden.py).
# ruff: noqa
# srcad: reverse mode (vector-Jacobian product) of lj_energy (golden_functions.py:41)
# wrt ('x',), signature (float64[2d])
def lj_energy_vjp(x, seed, out=None):
    # golden_functions.py:43  n = x.shape[0]
    t = x.shape
    n = t[0]
    e2 = 0.0
    loop2 = []
    # golden_functions.py:45  for i in range(n):
    for i in range(n):
        # golden_functions.py:46  for j in range(i + 1, n):
        t2 = i + 1
        e3 = e2
        loop = []
        # golden_functions.py:46  for j in range(i + 1, n):
        for j in range(t2, n):
            # golden_functions.py:47  dx = x[i, 0] - x[j, 0]
            t3 = x[i, 0]
            t4 = x[j, 0]
            dx = t3 - t4
            # golden_functions.py:48  dy = x[i, 1] - x[j, 1]
            t5 = x[i, 1]
            t6 = x[j, 1]
            dy = t5 - t6
            # golden_functions.py:49  dz = x[i, 2] - x[j, 2]
            t7 = x[i, 2]
            t8 = x[j, 2]
            dz = t7 - t8
            # golden_functions.py:50  r2 = dx * dx + dy * dy + dz * dz
            t9 = dx * dx
            t10 = dy * dy
            t11 = t9 + t10
            t12 = dz * dz
            r2 = t11 + t12
            # golden_functions.py:51  s6 = 1.0 / (r2 * r2 * r2)
            t13 = r2 * r2
            t14 = t13 * r2
            s6 = 1.0 / t14
            # golden_functions.py:52  e = e + 4.0 * (s6 * s6 - s6)
            t15 = s6 * s6
            t16 = t15 - s6
            t17 = 4.0 * t16
            e4 = e3 + t17
            loop.append((dx, dy, dz, j, r2, s6, t13, t14))
            e3 = e4
        loop2.append((i, loop))
        e2 = e3
    seed2 = _rt.grad_seed(seed, e2)
    x_bar = _rt.zeros_cot(x)
    # golden_functions.py:45  for i in range(n):
    for i, loop in reversed(loop2):
        # golden_functions.py:46  for j in range(i + 1, n):
        for dx, dy, dz, j, r2, s6, t13, t14 in reversed(loop):
            # golden_functions.py:52  e = e + 4.0 * (s6 * s6 - s6)
            t16_bar = seed2 * 4.0
            s6_bar = -t16_bar + 2.0 * t16_bar * s6
            # golden_functions.py:51  s6 = 1.0 / (r2 * r2 * r2)
            t14_bar = -s6_bar * s6 / t14
            t13_bar = t14_bar * r2
            r2_bar = t14_bar * t13 + 2.0 * t13_bar * r2
            # golden_functions.py:50  r2 = dx * dx + dy * dy + dz * dz
            dz_bar = 2.0 * r2_bar * dz
            dy_bar = 2.0 * r2_bar * dy
            dx_bar = 2.0 * r2_bar * dx
            # golden_functions.py:49  dz = x[i, 2] - x[j, 2]
            x_bar[j, 2] -= dz_bar
            x_bar[i, 2] += dz_bar
            # golden_functions.py:48  dy = x[i, 1] - x[j, 1]
            x_bar[j, 1] -= dy_bar
            x_bar[i, 1] += dy_bar
            # golden_functions.py:47  dx = x[i, 0] - x[j, 0]
            x_bar[j, 0] -= dx_bar
            x_bar[i, 0] += dx_bar
    return (e2, (_rt.finalize_array(x_bar, x),))

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
            loop.append((dx, dy, dz, e3, j, r2, s6, t10, t11, t12, t13, t14, t15, t16, t17, t3, t4, t5, t6, t7, t8, t9))
            e3 = e4
        loop2.append((e3, i, loop))
        e2 = e3
    seed2 = _rt.grad_seed(seed, e2)
    x_bar = _rt.zeros_cot(x)
    e2_bar = seed2
    for e3, i, loop in reversed(loop2):
        e3_bar = e2_bar
        # golden_functions.py:46  for j in range(i + 1, n):
        for dx, dy, dz, e3, j, r2, s6, t10, t11, t12, t13, t14, t15, t16, t17, t3, t4, t5, t6, t7, t8, t9 in reversed(loop):
            e4_bar = e3_bar
            # golden_functions.py:52  e = e + 4.0 * (s6 * s6 - s6)
            e3_bar = unbroadcast(e3_bar, e3)
            t17_bar = unbroadcast(e4_bar, t17)
            t16_bar = unbroadcast(t17_bar * 4.0, t16)
            t15_bar = unbroadcast(t16_bar, t15)
            s6_bar = unbroadcast(-t16_bar, s6)
            s6_bar = s6_bar + unbroadcast(t15_bar * s6, s6)
            s6_bar = s6_bar + unbroadcast(t15_bar * s6, s6)
            # golden_functions.py:51  s6 = 1.0 / (r2 * r2 * r2)
            t14_bar = unbroadcast(-s6_bar * s6 / t14, t14)
            t13_bar = unbroadcast(t14_bar * r2, t13)
            r2_bar = unbroadcast(t14_bar * t13, r2)
            r2_bar = r2_bar + unbroadcast(t13_bar * r2, r2)
            r2_bar = r2_bar + unbroadcast(t13_bar * r2, r2)
            # golden_functions.py:50  r2 = dx * dx + dy * dy + dz * dz
            t11_bar = unbroadcast(r2_bar, t11)
            t12_bar = unbroadcast(r2_bar, t12)
            dz_bar = unbroadcast(t12_bar * dz, dz)
            dz_bar = dz_bar + unbroadcast(t12_bar * dz, dz)
            t9_bar = unbroadcast(t11_bar, t9)
            t10_bar = unbroadcast(t11_bar, t10)
            dy_bar = unbroadcast(t10_bar * dy, dy)
            dy_bar = dy_bar + unbroadcast(t10_bar * dy, dy)
            dx_bar = unbroadcast(t9_bar * dx, dx)
            dx_bar = dx_bar + unbroadcast(t9_bar * dx, dx)
            # golden_functions.py:49  dz = x[i, 2] - x[j, 2]
            t7_bar = unbroadcast(dz_bar, t7)
            t8_bar = unbroadcast(-dz_bar, t8)
            x_bar[j, 2] += t8_bar
            x_bar[i, 2] += t7_bar
            # golden_functions.py:48  dy = x[i, 1] - x[j, 1]
            t5_bar = unbroadcast(dy_bar, t5)
            t6_bar = unbroadcast(-dy_bar, t6)
            x_bar[j, 1] += t6_bar
            x_bar[i, 1] += t5_bar
            # golden_functions.py:47  dx = x[i, 0] - x[j, 0]
            t3_bar = unbroadcast(dx_bar, t3)
            t4_bar = unbroadcast(-dx_bar, t4)
            x_bar[j, 0] += t4_bar
            x_bar[i, 0] += t3_bar
        e2_bar = e3_bar
        e3_bar = 0.0
    return (e2, (_rt.finalize_array(x_bar, x),))

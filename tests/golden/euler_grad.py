# Golden snapshot: srcad.source(euler, kind='grad', wrt=('k', 'c')).
# Generated; rewrite with SRCAD_UPDATE_GOLDEN=1 (see tests/test_golden.py).
# ruff: noqa
# srcad: reverse mode (vector-Jacobian product) of euler (golden_functions.py:27)
# wrt ('k', 'c'), signature (float, float)
def euler_vjp(k, c, seed, out=None):
    v2 = 0.0
    x2 = 1.0
    # golden_functions.py:31  a = -k * x - c * v
    t3 = -k
    loop = []
    # golden_functions.py:30  for _ in range(100):
    for _ in range(100):
        # golden_functions.py:31  a = -k * x - c * v
        t4 = t3 * x2
        t5 = c * v2
        a = t4 - t5
        # golden_functions.py:32  x = x + dt * v
        t6 = 0.01 * v2
        x3 = x2 + t6
        # golden_functions.py:33  v = v + dt * a
        t7 = 0.01 * a
        v3 = v2 + t7
        loop.append((v2, x2))
        v2 = v3
        x2 = x3
    # golden_functions.py:34  return x * x + v * v
    t8 = x2 * x2
    t9 = v2 * v2
    t10 = t8 + t9
    seed2 = _rt.grad_seed(seed, t10)
    c_bar = 0.0
    t3_bar = 0.0
    # golden_functions.py:34  return x * x + v * v
    v2_bar = 2.0 * seed2 * v2
    x2_bar = 2.0 * seed2 * x2
    # golden_functions.py:30  for _ in range(100):
    for v2, x2 in reversed(loop):
        # golden_functions.py:33  v = v + dt * a
        a_bar = v2_bar * 0.01
        # golden_functions.py:32  x = x + dt * v
        v2_bar = v2_bar + x2_bar * 0.01
        # golden_functions.py:31  a = -k * x - c * v
        c_bar = c_bar - a_bar * v2
        v2_bar = v2_bar - a_bar * c
        t3_bar = t3_bar + a_bar * x2
        x2_bar = x2_bar + a_bar * t3
    # golden_functions.py:31  a = -k * x - c * v
    k_bar = -t3_bar
    return (t10, (float(k_bar), float(c_bar)))

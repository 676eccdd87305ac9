# Golden snapshot: srcad.source(bump, kind='jvp', wrt='m').
# Generated; rewrite with SRCAD_UPDATE_GOLDEN=1 (see tests/test_golden.py).
# ruff: noqa
# srcad: forward mode (Jacobian-vector product) of bump (golden_functions.py:37)
# wrt ('m',), signature (float, float64[1d])
def bump_jvp(m, xs, m_dot):
    # golden_functions.py:38  return np.exp(-1.5 * (xs - m) ** 2)
    t = xs - m
    t_dot = -m_dot
    t2 = t ** 2
    t2_dot = t_dot * (2.0 * t)
    t3 = -1.5 * t2
    t3_dot = -1.5 * t2_dot
    t4 = np.exp(t3)
    t4_dot = t3_dot * t4
    return (t4, _rt.tangent_out(t4_dot, t4, False))

# Golden snapshot: srcad.source(eam, kind='jvp', wrt=0).
# Generated; rewrite with SRCAD_UPDATE_GOLDEN=1 (see tests/test_golden.py).
# ruff: noqa
# srcad: forward mode (Jacobian-vector product) of eam (golden_functions.py:16)
# wrt ('x',), signature (float64[1d])
def eam_jvp(x, x_dot):
    # inlined rho(...) from golden_functions.py:17
    # golden_functions.py:13  return np.exp(-3.0 * (r + 1.0))
    rho_t = x + 1.0
    rho_t2 = -3.0 * rho_t
    rho_t2_dot = -3.0 * x_dot
    rho_t3 = np.exp(rho_t2)
    rho_t3_dot = rho_t2_dot * rho_t3
    # golden_functions.py:17  p = np.sum(rho(x))
    p = rho_t3.sum()
    p_dot = rho_t3_dot.sum()
    # golden_functions.py:18  return p**2 + p**3 + 0.25 * p**4
    t2 = p ** 2
    t2_dot = p_dot * (2.0 * p)
    t3 = p ** 3
    t3_dot = p_dot * (3.0 * p ** 2)
    t4 = t2 + t3
    t4_dot = t2_dot + t3_dot
    t5 = p ** 4
    t5_dot = p_dot * (4.0 * p ** 3)
    t6 = 0.25 * t5
    t6_dot = 0.25 * t5_dot
    t7 = t4 + t6
    t7_dot = t4_dot + t6_dot
    return (t7, _rt.tangent_out(t7_dot, t7, False))

# Golden snapshot: srcad.source(eam, kind='grad', wrt=0).
# Generated; rewrite with SRCAD_UPDATE_GOLDEN=1 (see tests/test_golden.py).
# ruff: noqa
# srcad: reverse mode (vector-Jacobian product) of eam (golden_functions.py:16)
# wrt ('x',), signature (float64[1d])
def eam_vjp(x, seed, out=None):
    x_out = None if out is None else out[0]
    work = x_out if x_out is not None else _ws.take(0, x.shape, x.dtype)
    # inlined rho(...) from golden_functions.py:17
    # golden_functions.py:13  return np.exp(-3.0 * (r + 1.0))
    rho_t = np.add(x, 1.0, out=work)
    rho_t2 = np.multiply(-3.0, rho_t, out=work)
    rho_t3 = np.exp(rho_t2, out=work)
    # golden_functions.py:17  p = np.sum(rho(x))
    p = float(rho_t3.sum())
    # golden_functions.py:18  return p**2 + p**3 + 0.25 * p**4
    t2 = p ** 2
    t3 = p ** 3
    t4 = t2 + t3
    t5 = p ** 4
    t6 = 0.25 * t5
    t7 = t4 + t6
    seed2 = _rt.grad_seed(seed, t7)
    # golden_functions.py:18  return p**2 + p**3 + 0.25 * p**4
    t5_bar = seed2 * 0.25
    p_bar = t5_bar * 4.0 * p ** 3 + seed2 * 3.0 * p ** 2 + seed2 * 2.0 * p
    # inlined rho(...) from golden_functions.py:17
    # golden_functions.py:13  return np.exp(-3.0 * (r + 1.0))
    s = p_bar * -3.0
    x_bar = np.multiply(s, rho_t3, out=x_out)
    return (t7, (x_bar if x_bar is x_out else _rt.finalize_array(x_bar, x),))

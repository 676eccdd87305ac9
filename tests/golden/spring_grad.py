# Golden snapshot: srcad.source(spring, kind='grad', wrt='p').
# Generated; rewrite with SRCAD_UPDATE_GOLDEN=1 (see tests/test_golden.py).
# ruff: noqa
# srcad: reverse mode (vector-Jacobian product) of spring (golden_functions.py:63)
# wrt ('p',), signature (Params, float64[1d])
def spring_vjp(p, xs, seed, out=None):
    # golden_functions.py:64  d = xs - p.x0
    t = p.x0
    d = xs - t
    # golden_functions.py:65  return 0.5 * p.k * np.sum(d * d) / p.n
    t2 = p.k
    t3 = 0.5 * t2
    t4 = d * d
    t5 = t4.sum()
    t6 = t3 * t5
    t7 = p.n
    t8 = t6 / t7
    seed2 = _rt.grad_seed(seed, t8)
    # golden_functions.py:65  return 0.5 * p.k * np.sum(d * d) / p.n
    t6_bar = seed2 / t7
    t3_bar = t6_bar * t5
    t5_bar = t6_bar * t3
    d_bar = 2.0 * t5_bar * d
    k_bar = t3_bar * 0.5
    # golden_functions.py:64  d = xs - p.x0
    x0_bar = -d_bar
    return (t8, (Params(k=float(k_bar), x0=_rt.finalize_array(x0_bar, p.x0), n=p.n),))

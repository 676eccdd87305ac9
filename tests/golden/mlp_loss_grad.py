# Golden snapshot: srcad.source(mlp_loss, kind='grad', wrt=('W1', 'b1', 'W2', 'b2')).
# Generated; rewrite with SRCAD_UPDATE_GOLDEN=1 (see tests/test_golden.py).
# ruff: noqa
# srcad: reverse mode (vector-Jacobian product) of mlp_loss (golden_functions.py:21)
# wrt ('W1', 'b1', 'W2', 'b2'), signature (float64[2d], float64[1d], float64[2d], float64[1d], float64[2d], float64[2d])
def mlp_loss_vjp(W1, b1, W2, b2, X, y, seed, out=None):
    W1_out = None if out is None else out[0]
    b1_out = None if out is None else out[1]
    W2_out = None if out is None else out[2]
    b2_out = None if out is None else out[3]
    # golden_functions.py:22  h = np.tanh(X @ W1 + b1)
    t = X @ W1
    t2 = t + b1
    h = np.tanh(t2)
    # golden_functions.py:23  pred = h @ W2 + b2
    t3 = h @ W2
    pred = t3 + b2
    # golden_functions.py:24  return np.mean((pred - y) ** 2)
    t4 = pred - y
    t5 = t4 ** 2
    t6 = t5.sum() / t5.size
    seed2 = _rt.grad_seed(seed, t6)
    # golden_functions.py:24  return np.mean((pred - y) ** 2)
    t5_bar = seed2 / np.size(t5)
    pred_bar = t5_bar * 2.0 * t4
    # golden_functions.py:23  pred = h @ W2 + b2
    b2_bar = np.sum(pred_bar, axis=0, out=b2_out)
    h_bar = pred_bar @ W2.T
    W2_bar = np.matmul(h.T, pred_bar, out=W2_out)
    # golden_functions.py:22  h = np.tanh(X @ W1 + b1)
    t2_bar = h_bar * (1.0 - h * h)
    b1_bar = np.sum(t2_bar, axis=0, out=b1_out)
    W1_bar = np.matmul(X.T, t2_bar, out=W1_out)
    return (t6, (W1_bar if W1_bar is W1_out else _rt.finalize_array(W1_bar, W1), b1_bar if b1_bar is b1_out else _rt.finalize_array(b1_bar, b1), W2_bar if W2_bar is W2_out else _rt.finalize_array(W2_bar, W2), b2_bar if b2_bar is b2_out else _rt.finalize_array(b2_bar, b2)))

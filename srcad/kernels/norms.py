"""Kernels for the rule of ``np.linalg.norm`` (srcad.transforms.rules.numpy_reductions):
``norm_weights`` is d norm(x) / d x, kept-dims shaped, for every ``ord`` NumPy accepts but
``ord=0`` of vectors (a count of nonzero entries: piecewise constant, refused).

- vectors, ``p`` finite: ``sign(x) |x|**(p-1) / n**(p-1)`` (0 where ``n`` or, for
  ``p < 1``, ``x`` is 0);
- vectors ``inf``/``-inf``, matrices ``1``/``-1``/``inf``/``-inf``: the sign of the entries
  that attain the extreme (ties share evenly): piecewise constant weights;
- matrices ``'nuc'``: ``U @ Vt``; ``2``/``-2``: ``u v^T`` of the largest/smallest singular
  value (the singular values distinct). Their second derivatives are refused.

``norm_weights_back_x``/``_back_n``/``_tangent_n`` are the derivatives of the weights
(the rule of ``norm_weights``, for second derivatives)."""
import numpy as np

from srcad.errors import unsupported_here
from srcad.kernels.reductions import reduce_keep, reduce_sum_to


def norm_matrix(x, axis):
    """The two axes of a matrix norm, or None for a vector norm."""
    if axis is None:
        return (0, 1) if np.ndim(x) == 2 else None
    if isinstance(axis, (tuple, list)) and len(axis) == 2:
        return tuple(int(a) % np.ndim(x) for a in axis)
    return None


def norm_two(x, ord, axis):
    """Is this the 2-norm of vectors or the Frobenius norm (the smooth case)?"""
    return ord is None or ord == "fro" or (ord == 2 and norm_matrix(x, axis) is None)


def norm_power(x, ord, axis):
    """``p`` of a vector p-norm with finite ``p`` (2 for the 2-norm and Frobenius), else None."""
    if norm_two(x, ord, axis):
        return 2.0
    if norm_matrix(x, axis) is None and np.isfinite(ord):
        if ord == 0:
            raise unsupported_here("np.linalg.norm with ord=0 counts the nonzero entries: it "
                                   "is piecewise constant and has no derivative", hint="wrap it "
                                   "in srcad.stop_gradient if a zero derivative is meant")
        return float(ord)
    return None


def _extreme(a, axis, larger):
    """Weights of the entries of ``a`` attaining its max (min) along ``axis`` (ties share)."""
    e = np.max(a, axis=axis, keepdims=True) if larger else np.min(a, axis=axis, keepdims=True)
    hit = a == e
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _matrix_weights(x, ord, rc):
    """d norm / d x of a matrix norm, the matrix axes ``rc`` moved last and back."""
    xm = np.moveaxis(x, rc, (-2, -1))
    if ord in ("nuc", 2, -2):
        u, _, vt = np.linalg.svd(xm, full_matrices=False)
        if ord == "nuc":
            w = u @ vt
        else:
            k = slice(0, 1) if ord == 2 else slice(-1, None)     # the largest or smallest
            w = u[..., :, k] @ vt[..., k, :]
    elif ord in (1, -1):              # the max (min) column sum of |x|
        w = np.sign(xm) * _extreme(np.sum(np.abs(xm), axis=-2, keepdims=True), -1, ord > 0)
    elif ord in (np.inf, -np.inf):    # the max (min) row sum of |x|
        w = np.sign(xm) * _extreme(np.sum(np.abs(xm), axis=-1, keepdims=True), -2, ord > 0)
    else:
        raise unsupported_here(f"np.linalg.norm of matrices with ord={ord!r} has no derivative "
                               "rule")
    return np.moveaxis(w, (-2, -1), rc)


def norm_weights(x, nrm, ord, axis, keepdims):
    """d norm(x) / d x; 0 where the norm is 0 (the kink policy)."""
    rc = norm_matrix(x, axis)
    if rc is not None and not norm_two(x, ord, axis):
        return _matrix_weights(x, ord, rc)
    p = norm_power(x, ord, axis)
    if p is None:                      # vectors, ord=inf or -inf
        ax = -1 if axis is None else axis
        return np.sign(x) * _extreme(np.abs(x), ax, ord > 0)
    n = reduce_keep(nrm, x, axis, keepdims)
    if p == 2.0:
        return x / np.where(n == 0, 1.0, n)
    if p == 1.0:
        return np.sign(x)
    a = np.abs(x)
    return np.where((n == 0) | (a == 0), 0.0, np.sign(x) * (np.where(a == 0, 1.0, a) /
                                                               np.where(n == 0, 1.0, n)) ** (p - 1))


def _smooth(x, ord, axis):
    """``p`` when the weights vary smoothly (finite vector p), 0 when they are piecewise
    constant; refused for the matrix norms of singular values."""
    rc = norm_matrix(x, axis)
    if rc is not None and not norm_two(x, ord, axis):
        if ord in ("nuc", 2, -2):
            raise unsupported_here(f"second derivatives of np.linalg.norm with ord={ord!r} of "
                                   "matrices have no rule", hint="write it from the singular "
                                   "values, e.g. np.sum(np.linalg.svd(x, compute_uv=False))")
        return 0.0
    p = norm_power(x, ord, axis)
    return 0.0 if p is None or p == 1.0 else p


def _scaled(x, n, p, power):
    """``|x|**(p-2) / n**(p-1)`` (power 0) or ``sign(x) |x|**(p-1) / n**p`` (power 1), 0 at 0."""
    a = np.abs(x)
    zero = (n == 0) | ((a == 0) & (p < 2 + power))
    a, n = np.where(a == 0, 1.0, a), np.where(n == 0, 1.0, n)
    v = a ** (p - 2) / n ** (p - 1) if power == 0 else np.sign(x) * a ** (p - 1) / n ** p
    return np.where(zero, 0.0, v)


def norm_weights_back_x(g, x, nrm, ord, axis, keepdims):
    p = _smooth(x, ord, axis)
    if p == 0.0:
        return g * 0.0
    return g * (p - 1.0) * _scaled(x, reduce_keep(nrm, x, axis, keepdims), p, 0)


def norm_weights_back_n(g, x, nrm, ord, axis, keepdims):
    p = _smooth(x, ord, axis)
    if p == 0.0:
        return nrm * 0.0
    n = reduce_keep(nrm, x, axis, keepdims)
    return reduce_sum_to(-g * (p - 1.0) * _scaled(x, n, p, 1), nrm, x, axis)


def norm_weights_tangent_n(dn, x, nrm, ord, axis, keepdims):
    p = _smooth(x, ord, axis)
    if p == 0.0:
        return x * 0.0
    n = reduce_keep(nrm, x, axis, keepdims)
    return -(p - 1.0) * _scaled(x, n, p, 1) * reduce_keep(dn, x, axis, keepdims)

"""NumPy coverage: each function of the table below, checked against central differences in
reverse mode, forward mode (one tangent and the vector mode of ``jacobian``), float32, and
second order (``hvp`` and ``hessian`` against differences of the gradient).

``CASES`` is the table: a case names a function of this module (a user's function calling
the covered NumPy function, so that every row also goes through the compiler), its input's
shape and domain. Points are sampled away from kinks (``mod``, ``sort``, ``partition``,
``select``, ``interp``). ``CHECKED`` maps every target given a rule by the coverage rule
modules to the cases that check it (tests/test_rules.py's meta-test reads it).
"""
import math

import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward
from srcad.kernels.curves import gradient_back
from srcad.kernels.decompositions import (
    cholesky_lower, cot_items, eigh_triangle, gap_inverse, svd_cots)
from srcad.kernels.elementwise import sinc_slope
from srcad.kernels.moves import gather_back, joint_back, select_back
from srcad.kernels.products import convolve_cot, cross_plain
from srcad.kernels.special import special, special_polygamma
from srcad.kernels.statistics import cumulative_cut

# np.row_stack (checked below) is deprecated in NumPy 2
pytestmark = pytest.mark.filterwarnings("ignore:`row_stack` alias is deprecated:DeprecationWarning")

# ---- the functions ---------------------------------------------------------------------
# shapes and arrays

def split3(x):
    a, b, c = np.split(x, 3, axis=1)
    return a * b + c


def array_split2(x):
    a, b = np.array_split(x, 2)
    return np.sum(a, axis=0) * np.sum(b ** 2, axis=0)


def hvd_split(x):
    a, b, c = np.hsplit(x, 3)
    d, e, f = np.vsplit(x, [1, 2])
    (p, q) = np.dsplit(np.reshape(x, (1, 3, 3)), [1])
    return a * d.T + np.sum(q) * c + e * f + np.sum(p * 2.0)


def repeat_tile(x):
    return np.repeat(x, 2, axis=0) * np.tile(x, (2, 1)) + np.repeat(x, [1, 0, 2], axis=1)[0]


def roll_rot(x):
    return np.roll(x, 1, axis=1) * np.rot90(x) + np.rollaxis(x, 1) + np.roll(x, -4)


def appended(x):
    return np.append(x, x[0] * 2.0) * np.append(np.append(x[1:], x[:1], axis=0), x[2])


def partitioned(x):
    return np.partition(x, 1) * np.arange(1.0, 4.0) + np.partition(x, [0, 2], axis=None)[4]


def padded(x):
    return np.pad(x, ((1, 0), (0, 2)))[:3] + np.pad(x, 1, mode="reflect")[1:4, :5] * 2.0 + \
        np.pad(x, (1, 1), mode="edge")[:3, :5] + np.pad(x, 1, "wrap")[2:, :5] + \
        np.pad(x, 1, constant_values=3.0)[1:4, :5]


def taken(x):
    return np.take(x, [0, 2, 2], axis=1) * np.delete(x, 1, axis=1)[:, [0, 1, 1]] + \
        np.compress([True, False, True], x, axis=0)[:, [0, 0, 1]].sum()


def inserted(x):
    return np.insert(x, 1, x[0] * 2.0, axis=0) * np.resize(x, (4, 3)) + np.sum(np.extract(
        x > 0.5, x)) + np.diagflat(x[0], 1)[:4, :3]


def selected(x):
    return np.select([x > 0.5, x < 0.3], [x ** 2, np.sin(x)], default=x * 3.0) + \
        np.select([x > 0.6], [x * 2.0])


def contracted(x):
    return np.tensordot(x, x ** 2, axes=1) + np.tensordot(x, np.sin(x), axes=([0], [1])) + \
        np.tensordot(x, x, axes=2) + \
        np.tensordot(np.reshape(x, (3, 3, 1)), x, axes=([1], [0]))[:, 0]


def kron_cross(x):
    return np.kron(x[:2, :2], x) [:3, :3] + np.kron(x[0], x[1])[:3] + np.cross(x, x[::-1] ** 2) + \
        np.cross(x[1], x)


def spaced(x):
    a, b = np.gradient(x)
    return a * b + np.gradient(x, 0.5, axis=1) + np.gradient(x, [0.0, 0.3, 1.0], axis=0,
                                                             edge_order=2) ** 2


KNOTS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def interpolated(x):
    return np.interp(x, [0.0, 0.3, 0.7, 1.0], [1.0, 2.0, 0.5, 1.5]) * \
        np.interp(x * 1.5 - 0.2, KNOTS, np.cos(x[0, 0] * KNOTS), left=0.0) + \
        np.interp(x[0, 0], KNOTS, x[1, 1] * KNOTS ** 2)


def polynomial(x):
    return np.polyval([1.0, -2.0, 3.0, 0.5], x) + np.polyval(x[0], x) * np.polyval(x[1], 0.7)


def joins_and_flips(x):
    """Functions that had reverse rules already: forward mode and second order."""
    return np.concatenate([
        np.ravel(np.column_stack([x[0], x[1]])), np.ravel(np.row_stack([x[0], x[2] ** 2])),
        np.r_[x[0], x[1, :2]], np.ravel(np.c_[x[0], x[2]]), np.ravel(np.atleast_3d(x[0])),
        np.atleast_1d(x[0, 0]), np.ravel(np.atleast_2d(x[1])),
        np.ravel(np.tril(x) + np.triu(x, 1) ** 2),
        np.ravel(np.flip(x, 0) * np.flipud(x) + np.fliplr(x)), np.ravel(np.diff(x, axis=0)),
        np.ravel(np.sort(x, axis=1)), np.ravel(np.moveaxis(x[:, :, None] * x, 0, 2))])


# elementwise

def elementwise(x):
    z = np.where(x > 0.5, np.inf, x)            # entries nan_to_num replaces
    return np.sinc(x * 3.0 - 1.0) + np.logaddexp2(x, x[0] * 2.0) * np.real_if_close(x) + \
        np.nan_to_num(z, posinf=2.0) * x + np.sinc(np.float64(0.0) * x)


def remainders(x):
    return np.mod(x, 0.3) ** 2 + (x % 0.25) * np.fmod(x * 3.0, 0.7) + np.remainder(-x, 0.45)


def inverse_hyperbolic(x):
    return np.arccosh(x + 1.5) * np.arcsinh(x) + np.arctanh(x - 0.5) + np.deg2rad(x) * \
        np.rad2deg(x) + np.radians(x) * np.degrees(x)


# linear algebra (the energies of singular and eigenvectors do not depend on their signs)

def singular_values(x):
    return np.linalg.svd(x, compute_uv=False) * np.linalg.svd(x.T[:, :3], compute_uv=False)


def singular_vectors(x):
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    p, q, rt = np.linalg.svd(x[:3])
    return np.concatenate([np.ravel(u * u * s), np.ravel(vt * vt), (p * p) @ q, rt[1] ** 2])


def eigen(x):
    w, v = np.linalg.eigh(x)
    a, b = np.linalg.eigh(x * 2.0 + x.T, UPLO="U")
    return w * (v * v)[0] + np.sin(a) * b[1] ** 2


def cholesky_factor(x):
    lower = np.linalg.cholesky(x @ x.T + np.eye(4))
    return np.ravel(lower) ** 2 + np.ravel(np.linalg.cholesky(x[:3] + 3.0 * np.eye(3)))[5]


def logdet_pinv(x):
    sign, logdet = np.linalg.slogdet(x[:3] + 3.0 * np.eye(3))
    return np.concatenate([np.ravel(np.linalg.pinv(x) * logdet + sign),
                           np.ravel(np.linalg.pinv(x[1:] + 2.0 * np.eye(3)))])


def norms(x):
    v = x[0]
    return np.stack([np.linalg.norm(v, 3), np.linalg.norm(v, 4), np.linalg.norm(v, np.inf),
                     np.linalg.norm(v, -np.inf), np.linalg.norm(v, 0.5), np.linalg.norm(v, -2),
                     np.linalg.norm(x, 1), np.linalg.norm(x, -1), np.linalg.norm(x, np.inf),
                     np.linalg.norm(x, -np.inf), np.linalg.norm(x[:3], "fro"),
                     np.linalg.norm(x, 3, axis=1)[1], np.linalg.norm(x, np.inf, axis=0)[2]])


def singular_value_norms(x):
    return np.stack([np.linalg.norm(x, "nuc"), np.linalg.norm(x, 2), np.linalg.norm(x, -2),
                     np.linalg.norm(np.reshape(x, (2, 2, 3)), "nuc", axis=(1, 2))[1]])


def contractions(x):
    t = np.reshape(x, (3, 4, 1)) * x[0]
    return np.concatenate([np.einsum("...i,...i->...", x, x ** 2), np.einsum("i...,i...", x,
                                                                              np.sin(x)),
                           np.ravel(np.dot(t, x[0])), np.ravel(np.dot(x[:2], t))])


# scipy.special (when SciPy is installed)

def special_functions(x):
    return special.expit(x * 2.0 - 1.0) * special.logit(x) + special.erf(x) * special.erfc(
        x * 0.5) + special.gammaln(x + 0.5) * special.xlogy(x, x + 1.0) + special.psi(x + 1.0) + \
        special.logsumexp(x, axis=1)[0] * special.logsumexp(x, axis=0, b=[1.0, 2.0, 0.5],
                                                            keepdims=True) + special.logsumexp(x)


# a Python float (and a NumPy float32) through the same functions: a float gradient

def of_a_scalar(s):
    return np.concatenate([np.tile(s, 3), np.repeat(s * 2.0, 2), np.append(s, [1.0, s]),
                           np.pad(np.atleast_1d(s), 1, mode="edge"), np.kron(s, [1.0, 2.0]),
                           np.gradient(np.array([s, s ** 2, s ** 3, 1.0])),
                           [np.polyval([1.0, s, 2.0], s) + np.interp(s, [0.0, 1.0], [2.0, 3.0]),
                            np.linalg.norm(np.array([s, 2.0 * s, 1.0]), 3) + np.sinc(s) +
                            np.logaddexp2(s, 1.0)]])


def quantiles(x):
    return np.concatenate([np.ravel(np.quantile(x, [0.2, 0.55], axis=1)), [np.median(x)],
                           np.median(x, axis=0), np.ravel(np.percentile(x, 30.0, axis=(0, 1),
                                                                      keepdims=True)),
                           np.quantile(x, 0.3, method="nearest", axis=0),
                           [np.quantile(x, 0.4, method="midpoint")]])


def statistics(x):
    z = np.where(x > 0.8, np.nan, x)
    return np.concatenate([np.ptp(x, axis=0), [np.ptp(x), np.nansum(z), np.nanmax(z),
                                               np.average(x), np.trapezoid(x[0] ** 2, KNOTS[:4])],
                           np.nanmean(z, axis=1), np.nanmin(z, axis=0), np.average(
                               x, axis=1, weights=[1.0, 2.0, 3.0, 0.5]),
                           np.trapezoid(x ** 2, dx=0.5), np.ravel(np.cumulative_sum(x, axis=1)),
                           np.cumulative_sum(x[0] ** 2, include_initial=True)])


def convolved(x):
    a, v = x[0], x[1, :3] ** 2
    return np.concatenate([np.convolve(a, v), np.convolve(v, a, "same"),
                           np.convolve(a, v, "valid"),
                           np.correlate(a, v), np.correlate(v, a, "full"),
                           np.correlate(a, v * a[:3], "same"), np.vecdot(x, np.sin(x)),
                           np.linalg.vecdot(x[0], x, axis=-1), np.vecdot(x.T, x.T, axis=0)])


def spectra(x):
    return np.concatenate([np.linalg.svdvals(x), np.linalg.svdvals(x[:3].T) ** 2,
                           np.linalg.eigvalsh(x[:3]), np.linalg.eigvalsh(x[1:] * 2.0, "U")])


def special_scalars(s):
    return np.array([math.gamma(s + 1.0), math.lgamma(s * 3.0)]) * np.copysign(s, -1.5) + \
        np.copysign(np.array([s, -s]), [2.0, s])


def grids(x):
    a, b = np.meshgrid(x[0], x[1, :2] ** 2)
    p, q, r = np.meshgrid(x[0], x[1], x[2, :2], indexing="ij", sparse=True)
    u, v = np.broadcast_arrays(x[0], x[:, :1] * 2.0)
    return np.concatenate([np.ravel(a * b ** 2), np.ravel(p * q * r), np.ravel(u * v)])


def unstacked(x):
    u, v, w = np.unstack(x, axis=1)
    return np.concatenate([u * v ** 2 + w, np.ravel(np.dstack([x, x ** 2]))])


# ---- the table ---------------------------------------------------------------------------

DOMAINS = {
    "unit": lambda rng, s: rng.uniform(0.1, 0.9, s),
    "signed": lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.2, 1.0, s),
    # distinct entries at least 0.07 apart (sort, partition, quantiles, ties of extremes)
    "spread": lambda rng, s: (rng.permutation(np.prod(s)).reshape(s) * 0.09 + 0.04 +
                              rng.uniform(0.0, 0.02, s)),
}

CASES = {
    "split": (split3, (3, 3), "unit"), "array_split": (array_split2, (3, 4), "unit"),
    "hsplit_vsplit_dsplit": (hvd_split, (3, 3), "unit"),
    "repeat_tile": (repeat_tile, (3, 3), "unit"), "roll_rot90_rollaxis": (roll_rot, (3, 3), "unit"),
    "append": (appended, (3, 3), "unit"), "partition": (partitioned, (3, 3), "spread"),
    "pad": (padded, (3, 3), "unit"), "take_delete_compress": (taken, (3, 3), "unit"),
    "insert_resize_extract_diagflat": (inserted, (3, 3), "spread"),
    "select": (selected, (3, 3), "spread"),
    "joins_and_flips": (joins_and_flips, (3, 3), "spread"),
    "quantiles": (quantiles, (3, 4), "spread"),
    "statistics": (statistics, (3, 4), "spread"),
    "tensordot": (contracted, (3, 3), "unit"), "kron_cross": (kron_cross, (3, 3), "unit"),
    "gradient": (spaced, (3, 3), "unit"), "interp": (interpolated, (3, 3), "spread"),
    "polyval": (polynomial, (3, 3), "unit"),
    "sinc_logaddexp2_nan_to_num_real_if_close": (elementwise, (3, 3), "spread"),
    "mod_remainder_fmod": (remainders, (3, 3), "spread"),
    "arccosh_arcsinh_arctanh_deg2rad": (inverse_hyperbolic, (3, 3), "unit"),
    "svd_values": (singular_values, (4, 3), "unit"),
    "svd_vectors": (singular_vectors, (4, 3), "unit"),
    "eigh": (eigen, (3, 3), "unit"), "slogdet_pinv": (logdet_pinv, (4, 3), "unit"),
    "norm_ords": (norms, (4, 3), "signed"), "norm_nuc_2": (singular_value_norms, (4, 3), "unit"),
    "einsum_ellipsis_dot_nd": (contractions, (3, 4), "unit"),
    "scalar_argument": (of_a_scalar, (), "unit"),
    "convolve_correlate_vecdot": (convolved, (4, 4), "unit"),
    "svdvals_eigvalsh": (spectra, (4, 3), "unit"), "cholesky": (cholesky_factor, (4, 3), "unit"),
    "meshgrid_broadcast_arrays": (grids, (3, 3), "unit"),
    "unstack_dstack": (unstacked, (3, 3), "unit"),
}
if special is not None:
    CASES["scipy_special"] = (special_functions, (3, 3), "unit")
    CASES["math_gamma_copysign"] = (special_scalars, (), "unit")
FIRST_ORDER = {"norm_nuc_2": "second derivatives of np.linalg.norm with ord='nuc'"}
# reverse mode only (forward mode, and so second derivatives, refused)
REVERSE_ONLY = {"meshgrid_broadcast_arrays": "no derivative rule for `meshgrid`"}

CHECKED = {
    np.split: ["split"], np.array_split: ["array_split"],
    np.hsplit: ["hsplit_vsplit_dsplit"], np.vsplit: ["hsplit_vsplit_dsplit"],
    np.dsplit: ["hsplit_vsplit_dsplit"], np.repeat: ["repeat_tile"], np.tile: ["repeat_tile"],
    np.roll: ["roll_rot90_rollaxis"], np.rot90: ["roll_rot90_rollaxis"],
    np.rollaxis: ["roll_rot90_rollaxis"], np.append: ["append"], np.partition: ["partition"],
    np.pad: ["pad"], np.take: ["take_delete_compress"], np.delete: ["take_delete_compress"],
    np.compress: ["take_delete_compress"], np.insert: ["insert_resize_extract_diagflat"],
    np.resize: ["insert_resize_extract_diagflat"], np.extract: ["insert_resize_extract_diagflat"],
    np.diagflat: ["insert_resize_extract_diagflat"], np.select: ["select"],
    np.row_stack: ["joins_and_flips"], np.quantile: ["quantiles"], np.percentile: ["quantiles"],
    np.median: ["quantiles"],
    **{f: ["statistics"] for f in (np.ptp, np.nansum, np.nanmax, np.nanmin, np.nanmean,
                                   np.average, np.trapezoid, np.cumulative_sum)},
    np.tensordot: ["tensordot"], np.kron: ["kron_cross"], np.cross: ["kron_cross"],
    np.convolve: ["convolve_correlate_vecdot"], np.correlate: ["convolve_correlate_vecdot"],
    np.vecdot: ["convolve_correlate_vecdot"], np.linalg.vecdot: ["convolve_correlate_vecdot"],
    convolve_cot: ["convolve_correlate_vecdot"], np.copysign: ["math_gamma_copysign"],
    np.linalg.cholesky: ["cholesky"], cholesky_lower: ["cholesky"],
    np.meshgrid: ["meshgrid_broadcast_arrays"], np.broadcast_arrays: ["meshgrid_broadcast_arrays"],
    np.unstack: ["unstack_dstack"], np.dstack: ["unstack_dstack"], joint_back: ["unstack_dstack"],
    np.linalg.svdvals: ["svdvals_eigvalsh"], np.linalg.eigvalsh: ["svdvals_eigvalsh"],
    np.gradient: ["gradient"], np.interp: ["interp"], np.polyval: ["polyval"],
    np.sinc: ["sinc_logaddexp2_nan_to_num_real_if_close"],
    np.logaddexp2: ["sinc_logaddexp2_nan_to_num_real_if_close"],
    np.nan_to_num: ["sinc_logaddexp2_nan_to_num_real_if_close"],
    np.real_if_close: ["sinc_logaddexp2_nan_to_num_real_if_close"],
    np.linalg.svd: ["svd_values", "svd_vectors"], np.linalg.eigh: ["eigh"],
    np.linalg.slogdet: ["slogdet_pinv"], np.linalg.pinv: ["slogdet_pinv"],
    **({} if special is None else {
        f: ["scipy_special"] for f in (special.expit, special.logit, special.erf, special.erfc,
                                       special.gammaln, special.xlogy, special.psi,
                                       special.logsumexp, special_polygamma, math.gamma,
                                       math.lgamma)}),
    # kernels of the reverse rules, differentiated again by the second-order tests
    cumulative_cut: ["statistics"], gap_inverse: ["svd_vectors", "eigh"],
    cot_items: ["eigh", "slogdet_pinv"],
    svd_cots: ["svd_values", "svd_vectors"], eigh_triangle: ["eigh"],
    sinc_slope: ["sinc_logaddexp2_nan_to_num_real_if_close"],
    gather_back: ["split", "pad", "partition", "interp"], select_back: ["select"],
    cross_plain: ["kron_cross"], gradient_back: ["gradient"],
}


def sample(case, rng, dtype=np.float64):
    """The case's input: an array, or for shape () a float (a NumPy float32 for float32)."""
    _, shape, domain = CASES[case]
    x = np.asarray(DOMAINS[domain](rng, shape), dtype=dtype)
    return x if shape else float(x) if dtype == np.float64 else x[()]


def energy(fn):
    """A scalar function of ``fn``'s result whose Hessian is not trivial."""
    def scalar(x):
        y = fn(x)
        return np.sum(y * y * y) + np.sum(np.sin(y))
    scalar.__name__ = f"energy_{fn.__name__}"
    return scalar


NAMES = sorted(CASES)
FORWARD = [c for c in NAMES if c not in REVERSE_ONLY]


# ---- the checks --------------------------------------------------------------------------

@pytest.mark.parametrize("case", NAMES)
def test_reverse(case, rng):
    fd_check(CASES[case][0], (sample(case, rng),), 0, rng)


@pytest.mark.parametrize("case", FORWARD)
def test_forward(case, rng):
    fd_check_forward(CASES[case][0], (sample(case, rng),), 0, rng)


@pytest.mark.parametrize("case", FORWARD)
def test_jacobians_both_modes(case, rng):
    """The vector mode of forward rules (all columns at once) and reverse row by row."""
    fn = CASES[case][0]
    x = sample(case, rng)
    v = rng.standard_normal(np.shape(x))
    eps = 1e-6
    want = (fn(x + eps * v) - fn(x - eps * v)) / (2 * eps)
    for mode in ("forward", "reverse"):
        jac = srcad.jacobian(fn, mode=mode)(x)
        np.testing.assert_allclose(np.tensordot(jac, v, axes=v.ndim), want, rtol=1e-5,
                                   atol=1e-6, err_msg=mode)


@pytest.mark.parametrize("case", NAMES)
def test_float32(case, rng):
    """A float32 argument gets a float32 gradient: the float64 one, rounded."""
    fn = energy(CASES[case][0])
    x = sample(case, rng, np.float32)
    g32 = srcad.grad(fn)(x)
    g64 = srcad.grad(fn)(x.astype(np.float64))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g64, rtol=2e-3, atol=2e-3 * np.max(np.abs(g64)))


@pytest.mark.parametrize("case", [c for c in FORWARD if c not in FIRST_ORDER])
def test_second_order(case, rng):
    """hvp (forward over reverse) and the Hessian along a random direction, against central
    differences of the (finite-difference checked) gradient."""
    fn = energy(CASES[case][0])
    x = sample(case, rng)
    v = rng.standard_normal(np.shape(x))
    eps = 1e-6
    grad = srcad.grad(fn)
    want = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
    scale = 1e-6 * (1.0 + np.max(np.abs(want)))
    np.testing.assert_allclose(srcad.hvp(fn, (x,), v), want, rtol=1e-5, atol=scale)
    h = srcad.hessian(fn)(x)
    np.testing.assert_allclose(np.tensordot(h, v, axes=v.ndim), want, rtol=1e-5, atol=scale)


@pytest.mark.parametrize("case", sorted(REVERSE_ONLY))
def test_forward_refused(case, rng):
    """Forward mode without a rule is refused, never a wrong number."""
    with pytest.raises(srcad.TransformError, match=REVERSE_ONLY[case]):
        srcad.jvp(CASES[case][0], (sample(case, rng),), (np.ones(CASES[case][1]),))


@pytest.mark.parametrize("case", sorted(FIRST_ORDER))
def test_second_order_refused(case, rng):
    """Second derivatives without a rule are refused, never a wrong number."""
    fn = energy(CASES[case][0])
    x = sample(case, rng)
    with pytest.raises(srcad.TransformError, match=FIRST_ORDER[case]):
        srcad.hvp(fn, (x,), np.ones_like(x))


def test_every_coverage_rule_has_a_case():
    from srcad.transforms.rules import registry
    ours = {f"srcad.transforms.rules.{m}" for m in ("numpy_moves", "numpy_products",
                                                    "numpy_curves", "numpy_elementwise",
                                                    "numpy_decompositions", "scipy_special",
                                                    "numpy_statistics")}
    registered = {t for t, o in registry.OPS.items() if o.reverse is not None or
                  o.forward is not None if _module(o) in ours}
    missing = [getattr(t, "__name__", t) for t in registered if t not in CHECKED]
    assert not missing, f"rules without a case: {missing}"
    assert all(c in CASES for cases in CHECKED.values() for c in cases)


def _module(op):
    rule = op.reverse or op.forward
    return getattr(rule.template, "__module__", None)

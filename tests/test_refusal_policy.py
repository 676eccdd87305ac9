"""What srcad does not know, it refuses; what it knows, it differentiates.

Regression tests of the refusal policy (``transforms/refusal.py``, the reviewed
piecewise-constant list in ``transforms/rules/piecewise.py``) and of the cases
that came from it: ``np.r_``/``np.c_``, ``np.linspace``, einsum's sublist form,
helpers with keyword-only parameters, methods of module-level arrays, integer
conversions, complex values. Derivatives are checked against central
differences; refusals by class, line and message.
"""
import inspect

import numpy as np
import pytest

import srcad
from conftest import fd_check, fd_check_forward
from srcad.transforms.rules import registry

MARKER = "# <- refused"


def marked_line(fn):
    lines, start = inspect.getsourcelines(fn)
    hits = [i for i, line in enumerate(lines) if MARKER in line]
    assert len(hits) == 1, f"{fn.__name__} must mark exactly one line"
    return start + hits[0]


def refusal(fn, *args, mode="reverse"):
    with pytest.raises(srcad.TransformError) as info:
        if mode == "reverse":
            srcad.grad(fn)(*args)
        else:
            srcad.jvp(fn, args, (np.ones_like(args[0]),))
    err = info.value
    assert err.lineno == marked_line(fn), str(err)
    assert err.filename == __file__, str(err)
    return str(err)


def check_both(fn, args, rng, wrt=0):
    fd_check(fn, args, wrt, rng)
    fd_check_forward(fn, args, wrt, rng)


# ---- np.r_ and np.c_ ----------------------------------------------------------------

def r_twice(x):
    return np.sum(np.r_[x, x] ** 2 * np.arange(1.0, 7.0))


def r_mixed(x, y):
    return np.r_[x, 2.0, y, x[0]] * 1.5


def c_twice(x):
    return np.sum(np.c_[x, x * 2.0] ** 2)


def c_matrix(a, x):
    return np.c_[a, x] @ np.ones(3)


def r_with_slice(x):
    return np.sum(np.r_[0:2, x] ** 2)  # <- refused


def test_r_of_arrays_and_scalars(rng):
    check_both(r_twice, (np.array([1.0, 2.0, 3.0]),), rng)
    check_both(r_mixed, (rng.uniform(0.2, 0.8, 3), rng.uniform(0.2, 0.8, 2)), rng, (0, 1))


def test_c_of_columns_and_matrices(rng):
    check_both(c_twice, (np.array([1.0, 2.0, 3.0]),), rng)
    check_both(c_matrix, (rng.uniform(0.2, 0.8, (4, 2)), rng.uniform(0.2, 0.8, 4)), rng, (0, 1))


def test_r_with_a_slice_is_refused():
    message = refusal(r_with_slice, np.array([0.3, 0.5]))
    assert "an index computed from `x`" in message


# ---- np.linspace ---------------------------------------------------------------------

def lin(a, b):
    return np.sum(np.linspace(a, b, 5) ** 2)


def lin_arrays(a, b):
    return np.linspace(a, b, 4, endpoint=False, axis=1) ** 2


def test_linspace_in_both_ends(rng):
    check_both(lin, (1.0, 2.0), rng, 0)
    check_both(lin, (1.0, 2.0), rng, 1)
    check_both(lin_arrays, (rng.uniform(0.2, 0.8, 3), rng.uniform(0.2, 0.8, (2, 3))), rng,
               (0, 1))


def arange_from(x):
    return np.sum(np.arange(x[0], 3.0) * x)  # <- refused


def test_arange_with_a_differentiated_start_is_refused():
    message = refusal(arange_from, np.array([0.3, 0.5]))
    assert "arange" in message and "@srcad.adjoint" in message


def test_linspace_and_arange_are_not_listed_as_constant():
    assert not registry.is_nondiff(np.linspace)
    assert not registry.is_nondiff(np.arange)
    for target in registry.CONSTANT_WHY:
        assert registry.is_nondiff(target)
    assert all(why.strip() for why in registry.CONSTANT_WHY.values())


# ---- einsum's sublist form -----------------------------------------------------------

def ein(x):
    return np.sum(np.einsum(x, [0, 1], [1, 0]) ** 2 * np.arange(6.0).reshape(3, 2))


def ein2(x):
    return np.sum(np.einsum(x, [0, 1], x, [0, 1], [1]) ** 2)


def ein_implicit(a, b):
    return np.einsum(a, [0, 1], b, [1, 2])


def test_einsum_sublist_form(rng):
    x = np.arange(6.0).reshape(2, 3) / 6.0 + 0.1
    check_both(ein, (x,), rng)
    check_both(ein2, (x,), rng)
    check_both(ein_implicit, (rng.uniform(0.2, 0.8, (2, 3)), rng.uniform(0.2, 0.8, (3, 4))),
               rng, (0, 1))


def ein_many(x):
    return np.einsum("i,i,i,i,i,i,i,i,i,i", x, x, x, x, x, x, x, x, x, x)  # <- refused


def test_einsum_past_the_rule_entries_is_refused():
    assert "einsum" in refusal(ein_many, np.array([0.3, 0.5]))


# ---- helpers with keyword-only parameters ----------------------------------------------

def scaled(x, *, k=2.0):
    if k > 10.0:
        return scaled(x, k=k - 1.0)      # recursive: a generated function of its own
    return x * k


def uses_scaled(x):
    return np.sum(scaled(x, k=12.0) ** 2) + np.sum(scaled(x) ** 2)


def test_keyword_only_parameters_of_recursive_helpers(rng):
    check_both(uses_scaled, (rng.uniform(0.2, 0.8, 3),), rng)


def row_stack_user(x):
    return np.sum(np.row_stack([x, x * 3.0]) ** 2)


@pytest.mark.skipif(not hasattr(np, "row_stack"), reason="np.row_stack was removed")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_row_stack_through_its_source(rng):
    # a NumPy function without a rule, read from its source: its keyword-only
    # parameters (dtype, casting) are passed on by name
    fd_check(row_stack_user, (rng.uniform(0.2, 0.8, 3),), 0, rng)


def required(x):
    return np.sum(np.require(x) ** 2)  # <- refused


def test_a_library_function_srcad_cannot_read_is_refused_at_the_users_line():
    # (np.asarray_chkfinite, used here before, is differentiated through its source now
    # that a `raise` inside an `if` runs in the primal sweep: tests/test_user_code.py)
    message = refusal(required, np.array([0.3, 0.5]))
    assert "numpy.require" in message and "@srcad.adjoint" in message


# ---- methods and attributes of module-level arrays -----------------------------------

W0 = np.array([0.1, 0.2, 0.3])
A0 = np.arange(6.0).reshape(2, 3)


def w_mean(x):
    return np.sum(x) * W0.mean() + np.sum(x * W0.T)


def row_scaled(x):
    b = A0.copy()
    b[1] *= x
    return np.sum(b ** 2)


def test_methods_of_module_level_arrays(rng):
    check_both(w_mean, (rng.uniform(0.2, 0.8, 3),), rng)
    check_both(row_scaled, (0.7,), rng)


def matrix_t(x):
    return np.sum(x.mT * W0)  # <- refused


def sized(x):
    return np.sum(x) * (x.nbytes / x.itemsize) + x.ndim * np.sum(x ** 2) / x.strides[0]


def test_size_attributes_are_constants(rng):
    check_both(sized, (rng.uniform(0.2, 0.8, 3),), rng)


def test_an_array_attribute_without_a_rule_is_refused():
    message = refusal(matrix_t, np.ones((3, 3)) * 0.5)
    assert "`.mT`" in message


# ---- integer conversions are piecewise constant ----------------------------------------

def rounded(x):
    return np.sum(x.astype(int) * x) + np.sum(np.array(x, dtype=int) * x ** 2)


def test_integer_conversions_have_a_zero_derivative(rng):
    check_both(rounded, (rng.uniform(1.2, 1.8, 3),), rng)


# ---- unknown functions ------------------------------------------------------------------

def powered(x):
    return np.sum(np.float_power(x, 2.5) * W0)  # <- refused


def test_a_function_without_a_rule_is_refused():
    message = refusal(powered, np.array([0.3, 0.1, 0.2]))
    assert "float_power" in message and "@srcad.adjoint" in message
    message = refusal(powered, np.array([0.3, 0.1, 0.2]), mode="forward")
    assert "float_power" in message


# ---- complex values are refused -----------------------------------------------------------

def modulus(z):
    return np.sum(np.real(z * np.conj(z)))


def complex_step(a):
    b = a + 1j  # <- refused
    return np.real(b * b)


Z0 = np.array([1.0 + 2.0j, 0.5 - 1.0j, 2.0j])


def complex_global(x):
    return np.sum(np.real(x * Z0))  # <- refused


def complex_buffer(x):
    b = np.zeros(3, dtype=complex)  # <- refused
    b[0] = x[0]
    return np.sum(np.real(b))


def complex_cast(x):
    return np.sum(np.real(x.astype(complex)))  # <- refused


def test_a_complex_argument_is_refused():
    with pytest.raises(TypeError, match="`z`.*complex"):
        srcad.grad(modulus)(np.array([1.0 + 2.0j]))
    with pytest.raises(TypeError, match="`z`.*complex"):
        srcad.jvp(modulus, (np.array([1.0 + 2.0j]),), (np.array([1.0 + 0j]),))


@pytest.mark.parametrize("fn", [complex_step, complex_global, complex_buffer, complex_cast])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_complex_values_on_the_differentiated_path_are_refused(fn, mode):
    x = 0.5 if fn is complex_step else np.array([0.3, 0.5, 0.7])
    if fn is complex_step and mode == "forward":
        with pytest.raises(srcad.TransformError, match="complex numbers are not supported"):
            srcad.jvp(fn, (x,), (1.0,))
        return
    assert "complex" in refusal(fn, x, mode=mode)


def test_real_parts_of_real_arrays_still_differentiate(rng):
    check_both(real_part_user, (rng.uniform(0.2, 0.8, 3),), rng)


def real_part_user(x):
    return np.real(x) * 2.0 + np.conj(x) * np.sin(x).imag + x.real


# ---- second derivatives through the new rules ---------------------------------------------

def lin_cubed(x):
    return np.sum(np.linspace(x[0], x[1], 4) ** 3)


def joined_cubed(x):
    return np.sum(np.r_[x, x[0]] ** 3) + np.sum(np.c_[x, x] ** 3 * 0.5)


def ein2_cubed(x):
    return np.sum(np.einsum(x, [0, 1], x, [0, 1], [1]) ** 2)


def sorted_cubed(x):
    return np.sum(np.sort(x * np.array([1.0, -2.0, 0.5])) ** 3 * np.array([1.0, 2.0, 3.0]))


def diff_cubed(x):
    return np.sum(np.diff(x ** 2) ** 3) + np.sum(np.tril(np.outer(x, x) + 1.0, -1) ** 3)


@pytest.mark.parametrize("fn, shape", [(lin_cubed, (2,)), (joined_cubed, (3,)),
                                       (ein2_cubed, (2, 3)), (sorted_cubed, (3,)),
                                       (diff_cubed, (3,))])
def test_hessians_against_differences_of_the_gradient(fn, shape, rng):
    x = rng.uniform(0.2, 0.8, shape)
    v = rng.standard_normal(shape)
    h = srcad.hessian(fn)(x)
    eps = 1e-6
    grad = srcad.grad(fn)
    want = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
    got = np.tensordot(h, v, axes=v.ndim)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ---- generalized ufuncs are not elementwise --------------------------------------------------

def self_product(x):
    return np.sum(np.multiply(0.7, np.matmul(x, x))) + np.sum(np.matmul(A0, x) * A0[:, 1])


def test_matmul_of_vectors_is_not_elementwise(rng):
    # np.matmul is a ufunc with a core signature: its result has not its operands'
    # shape (a buffer of x's shape took the scalar x @ x: three times the gradient)
    check_both(self_product, (rng.uniform(0.2, 0.8, 3),), rng)


# ---- operators on objects srcad has no rule for ----------------------------------------------

P0 = np.polynomial.Polynomial([1.0, 2.0, 3.0])


def polynomial_times(x):
    q = P0 * x[0]  # <- refused
    return np.sum(q.coef)


def test_an_operator_on_an_unknown_object_is_refused():
    message = refusal(polynomial_times, np.array([0.3, 0.5]))
    assert "`P0`" in message and "Polynomial" in message


# ---- Jacobians in both modes (forward vector mode carries several tangents at once) ----------

def r_constant_part(x):
    return np.r_[x, 2.0, x[:2]] ** 2


def c_scaled(x):
    return np.c_[x, x * 3.0] ** 2


def lin_vector_end(x):
    return np.linspace(x[0], x[1:], 4) ** 2


def sorted_scaled(x):
    return np.sort(x * np.array([1.0, -2.0, 0.5])) ** 2


def rows_of(x):
    return np.atleast_2d(x) ** 2 + np.tril(np.outer(x, x) + 1.0, -1) + np.diff(x ** 2)[0]


def contracted(x):
    return np.einsum(np.outer(x, x), [0, 1], x, [1]) + (x * 3.0) % 1.3


@pytest.mark.parametrize("fn", [r_constant_part, c_scaled, lin_vector_end, sorted_scaled,
                                rows_of, contracted])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobians_through_the_new_rules(fn, mode):
    x = np.array([0.3, 0.5, 0.7])
    jac = srcad.jacobian(fn, mode=mode)(x)
    eps = 1e-6
    want = np.stack([(fn(x + eps * e) - fn(x - eps * e)) / (2 * eps) for e in np.eye(3)],
                    axis=-1)
    np.testing.assert_allclose(jac, want, rtol=1e-5, atol=1e-6)

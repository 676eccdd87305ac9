"""Found by ``make fuzz`` (seed 0, 10,000 programs), shrunk.

A work buffer given back by an operand that dies at a ufunc went to the pool of the
result's shape, not of its own: ``t5_bar = t8_bar * h1_t`` (t5_bar shaped like x,
h1_t like y and broadcast against it) then wrote into h1_t's buffer, which has y's
shape (ValueError: non-broadcastable output operand). With equal shapes at run time
the same plan would have been right, so the error was loud, not a wrong number.

A ``while`` whose test reads a name through an ``if`` expression (``(r1 if y > 0.29
else r1) < 1.8``), the name changed in the body: the test is evaluated before the loop
and again at the end of its body, and the two evaluations shared the name's nodes, so
renaming the second one renamed the first: it read the body's version, unbound on the
first trip (UnboundLocalError).

Looking at the first finding's vector-mode Jacobian showed a silent wrong one: in the
forward code that pushes every column of a Jacobian at once, the tangent of a tuple of
arrays is a tuple of (directions, ...) arrays, which ``np.sum``/``np.mean`` read as
one array with the items' axis first, reducing over the wrong axes. With as many
directions as items the shapes fit and the Jacobian was wrong. Such a call is now
refused in vector mode (the rules written for sequences, stack/concatenate/array,
still take it), and ``jacobian`` pushes one direction at a time instead.

The other findings of that run were the oracle's: a program whose value turns 10^5
times faster than its input (sin of a large, fast-moving value) extrapolated
central differences to a consistent wrong slope, and an overflow on the way (cosh
of 1776 is inf; 1 / inf is a clean 0) left a finite value whose chain rule meets
0 * inf (NaN, as it is in other AD tools). The oracle now checks one small step and
treats an overflowing plain call as invalid; tests/fuzz/test_fuzz_machinery.py has
those checks.
"""
import numpy as np
import pytest

import srcad
from tests.fuzz.generate import Program
from tests.fuzz.run import check_program

BROADCAST_OPERAND = '''\
import numpy as np

def h1(a1, n_):
    return np.tanh(a1)

def f(x, y):
    t1 = (np.full((x.shape[0], 3), 1.0), (x + x) * h1(y, x.shape))
    return np.sum(t1)
'''
ARGS = ('(np.array([[-0.97448, 0.67017, -0.5205], [0.17808, -0.5304, -0.98659], '
        '[-0.83152, -0.16724, 0.03139]]), np.array([0.09484, -0.8344, -0.17446]))')


@pytest.mark.parametrize("wrt", [("x",), ("y",), ("x", "y")])
def test_a_dying_broadcast_operand_gives_its_buffer_to_its_own_shape(wrt):
    program = Program(source=BROADCAST_OPERAND, args=ARGS, args2=ARGS, wrt=wrt, scalar=True,
                      second_order=True)
    result = check_program(program)
    assert result.status == "valid", result.note
    assert all(o[0] in ("ok", "n/a") for o in result.outcomes.values()), result.outcomes
    assert sum(o[0] == "ok" for o in result.outcomes.values()) >= 8, result.outcomes


@pytest.mark.numpy_backend      # reads the NumPy backend's code
def test_the_buffer_goes_to_an_array_of_its_own_shape(tmp_path):
    path = tmp_path / "operand.py"
    path.write_text(BROADCAST_OPERAND)
    scope = {}
    exec(compile(path.read_text(), str(path), "exec"), scope)
    x, y = eval(ARGS, {"np": np})
    text = srcad.source(scope["f"], x, y, kind="grad")
    product = next(line for line in text.splitlines() if "t5_bar = " in line)
    work = product.split("out=")[1].rstrip(")")
    taken = next(line for line in text.splitlines() if line.strip().startswith(work + " ="))
    assert "x.shape" in taken, (product, taken)


WHILE_TEST_TWICE = '''\
import numpy as np

def f(x, y):
    s = 0.0
    for i2, r1 in enumerate(x):
        k1 = 0
        while k1 < 2 and (r1 if y > 0.29 else 2.0 * r1) < 1.8:
            k1 += 1
            r1 *= 1.0 + 0.3 * np.tanh(y * r1)
        s = s + r1 * r1
    return s
'''


@pytest.mark.parametrize("y", ["0.2", "0.4"])
def test_a_while_test_evaluated_before_and_inside_the_loop_reads_each_time_its_name(y):
    # normalize wrote the test twice (before the loop, at the end of its body) sharing the
    # name nodes, and the SSA renaming for the end of the body also renamed the first
    # evaluation: it read r1's in-loop version (UnboundLocalError on the first trip)
    program = Program(source=WHILE_TEST_TWICE, args=f"(np.array([0.3, -0.7, 1.1]), {y})",
                      args2=f"(np.array([0.3, -0.7, 1.1, 0.2]), {y})", wrt=("x", "y"),
                      scalar=True, second_order=True)
    result = check_program(program)
    assert result.status == "valid", result.note
    assert all(o[0] in ("ok", "n/a") for o in result.outcomes.values()), result.outcomes
    assert sum(o[0] == "ok" for o in result.outcomes.values()) >= 8, result.outcomes


SEQUENCES = '''\
import numpy as np

def whole(x):
    return np.sum((x * 1.0, x * x))

def along(x):
    return np.sum([x * 1.0, np.sin(x)], axis=1)

def mean_of_three(x, y):
    return np.mean([x * y, x, np.cos(y)], axis=0)

def stacked(x):
    return np.stack([x * 1.0, x * x]) ** 2
'''


def _central_jacobian(fn, args, k, h=1e-6):
    cols = []
    a = args[k]
    for j in range(a.size):
        e = np.zeros(a.size)
        e[j] = h
        up = list(args)
        down = list(args)
        up[k], down[k] = a + e.reshape(a.shape), a - e.reshape(a.shape)
        cols.append((np.asarray(fn(*up)) - np.asarray(fn(*down))).ravel() / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("name, n_args", [("whole", 1), ("along", 1), ("mean_of_three", 2),
                                          ("stacked", 1)])
def test_a_reduction_of_a_tuple_in_one_forward_pass_for_all_columns(name, n_args, tmp_path):
    # in the vector-mode forward code (one pass for every column of a Jacobian) the
    # tangent of a tuple of arrays is a tuple of (directions, ...) arrays; np.sum read it
    # as one array with the items' axis first and summed over the wrong axes: with as
    # many directions as items (2 and 2 here) a wrong Jacobian, silently
    path = tmp_path / "sequences.py"
    path.write_text(SEQUENCES)
    scope = {}
    exec(compile(SEQUENCES, str(path), "exec"), scope)
    fn = scope[name]
    rng = np.random.default_rng(7)
    args = tuple(rng.uniform(-1, 1, 2) for _ in range(n_args))
    for k in range(n_args):
        want = _central_jacobian(fn, args, k)
        wrt = ("x", "y")[k]
        for mode in ("forward", "reverse"):
            got = srcad.jacobian(fn, wrt=wrt, mode=mode)(*args)
            np.testing.assert_allclose(np.reshape(got, want.shape), want, rtol=1e-6,
                                       atol=1e-8, err_msg=f"{name} {mode} wrt {wrt}")


TANGENT_VIEW = '''\
import numpy as np

def h1(a1, a2):
    return a1 + 1.0

def f(x):
    w1 = np.sum(x, axis=0, keepdims=True)
    v1 = h1(w1.T, 2.0)
    w1[0:1] = np.sum(v1)
    return np.sum(v1)
'''


def test_a_write_into_an_array_leaves_the_tangents_of_values_made_before_it():
    # found by make fuzz seed 0 on the final code of this round (program 5390), older than
    # it: the tangent of `w1.T + 1.0` is the tangent of `w1.T`, a view of w1's tangent,
    # and the item write into w1 updated w1's tangent in place, so v1's tangent changed
    # with it (jvp 6.34 where finite differences give 2.11); the primal v1 is a new array
    x = '(np.array([[0.854, 0.88119, -0.87164], [-0.18461, -0.12786, -0.96586], ' \
        '[-0.43848, -0.46663, 0.63616]]),)'
    program = Program(source=TANGENT_VIEW, args=x, args2=x, wrt=("x",), scalar=True,
                      second_order=True)
    result = check_program(program)
    assert result.status == "valid", result.note
    assert all(o[0] in ("ok", "n/a", "refused") for o in result.outcomes.values()), \
        result.outcomes                 # (second derivatives refuse the write: documented)
    for mode in ("grad", "pullback", "jvp", "jac_fwd", "jac_rev"):
        assert result.outcomes[mode][0] == "ok", result.outcomes



ZERO_INTO_RESHAPE = '''\
import numpy as np

def f(x):
    for i1 in range(len(x)):
        w1 = np.array(np.sum(x) * np.ones((3, 3)))
        if np.mean(x) > 50.0:
            return np.sum(w1)
        w1[1] += MOVE
    v1 = (np.sum(x) * np.ones((3, 3))).max(axis=1)
    return np.mean(v1 * v1)
'''


@pytest.mark.parametrize("move", [
    "np.ravel(np.sum(w1) * np.ones((1, 3)))",
    "np.squeeze(np.sum(w1) * np.ones((1, 3)))",
    "np.reshape(np.sum(w1) * np.ones((3, 1)), 3)",
    "np.transpose(np.sum(w1) * np.ones((3, 1)))[0]",
    "(np.ones((3, 2)) @ (np.sum(w1) * np.ones(2)))",
])
def test_a_gradient_zero_on_one_path_reaches_a_reshape_as_an_array(move):
    # found by a fuzz run of seed 5 (program 993), shrunk: w1's cotangent is the zero 0.0
    # at the top of each reverse trip, and so is the item `take_cot` takes from it; the
    # guard that makes it an array before the reshape was dropped because w1_bar is
    # guarded after another of its bindings (ValueError: cannot reshape array of size 1
    # into shape (1,3), in every reverse mode)
    x = "(np.array([0.31, -0.72, 0.45]),)"
    program = Program(source=ZERO_INTO_RESHAPE.replace("MOVE", move), args=x, args2=x,
                      wrt=("x",), scalar=True, second_order=True)
    result = check_program(program)
    assert result.status == "valid", result.note
    for mode in ("grad", "grad_out", "value_and_grad", "pullback", "jac_rev", "jvp"):
        assert result.outcomes[mode][0] == "ok", result.outcomes

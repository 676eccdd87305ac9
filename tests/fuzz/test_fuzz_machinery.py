"""The fuzzer's own machinery: deterministic generation, an oracle that catches a
wrong derivative, discards unstable points, and a shrinker that keeps the failure."""
import numpy as np

import srcad

from .campaign import quick_modes
from .generate import Program, generate
from .run import check_program, load, message_key, unload
from .shrink import as_pytest, shrink

WRONG_RULE = '''\
import numpy as np
import srcad


def g(v):
    return np.sin(v)


@srcad.adjoint(g)
def g_adjoint(v):
    return np.sin(v), lambda y_bar: (y_bar * np.sin(v),)   # wrong on purpose: not cos


def f(x, y):
    a = x * 2.0
    b = np.tanh(y) + 1.0
    for i in range(2):
        a = a + 0.1 * b
    c = np.sum(a * a)
    return np.sum(g(x)) + 0.0 * c
'''


def _program(source, args, wrt=("x",), scalar=True):
    return Program(source=source, args=args, args2=args, wrt=wrt, scalar=scalar,
                   second_order=True)


def test_generation_is_deterministic_and_runs():
    assert generate(3, 7) == generate(3, 7)
    assert len({generate(3, i).source for i in range(10)}) == 10
    failures = []
    for i in range(40):
        p = generate(11, i, 0.6)
        module = load(p.source)
        try:
            value = module.f(*eval(p.args, module.__dict__))
            assert np.all(np.isfinite(value))
        except Exception as exc:         # the generator's own validity, not srcad's
            failures.append((i, exc))
        finally:
            unload(module)
    assert len(failures) <= 2, failures


def test_a_wrong_derivative_is_reported_and_shrunk():
    program = _program(WRONG_RULE, "(np.array([0.3, -0.7, 1.1]), 0.4)")
    result = check_program(program, only=("grad", "pullback", "jac_rev"))
    assert result.status == "valid"
    for mode in ("grad", "pullback", "jac_rev"):
        assert result.outcomes[mode][0] == "WRONG", result.outcomes
    small = shrink(program, "grad", result.outcomes["grad"], budget=60)
    assert len(small.source) < len(program.source)
    assert "for i in range" not in small.source and "g_adjoint" in small.source
    assert check_program(small, only=("grad",)).outcomes["grad"][0] == "WRONG"
    test = as_pytest(small, "grad", "case")
    assert test.startswith("def test_case():") and "check_case(" in test
    srcad.clear_cache()


def test_a_jump_inside_the_step_is_discarded():
    source = ("import numpy as np\n\n\ndef f(x):\n"
              "    return np.sum(x) + (1.0 if x[0] > 0.5 else 0.0)\n")
    result = check_program(_program(source, "(np.array([0.5000001, 0.2]),)"), only=("grad",))
    assert result.status == "discarded", result


def test_a_slope_the_steps_cannot_resolve_is_discarded():
    # sin of a value that moves 10^5 times faster than x: the three extrapolation steps
    # agree on a slope that is not the function's (srcad and other AD tools agree on
    # the true one); one small step shows it
    source = ("import numpy as np\n\n\ndef f(x):\n"
              "    return np.sum(np.sin(1.0e5 * x * x))\n")
    result = check_program(_program(source, "(np.array([0.31, -0.2]),)"), only=("grad",))
    assert result.status == "discarded", result


def test_an_overflow_on_the_way_makes_the_program_invalid():
    # cosh(40.0 ** 2) is inf and x / inf a clean 0: the value is finite, the chain rule
    # meets 0 * inf
    source = ("import numpy as np\n\n\ndef f(x):\n"
              "    return np.sum(x / np.cosh(1600.0 * x * x)) + np.sum(x)\n")
    result = check_program(_program(source, "(np.array([1.0, 0.5]),)"), only=("grad",))
    assert result.status == "invalid" and "overflow" in result.note, result
    fine = check_program(_program(source, "(np.array([0.01, 0.02]),)"), only=("grad",))
    assert fine.status == "valid" and fine.outcomes["grad"][0] == "ok", fine


def test_a_refusal_is_counted_by_class():
    source = ("import numpy as np\n\n\ndef f(x):\n    try:\n        y = x * 2.0\n"
              "    except ValueError:\n        y = x\n    return np.sum(y)\n")
    result = check_program(_program(source, "(np.array([0.5, 0.2]),)"), only=("grad",))
    label, key = result.outcomes["grad"][:2]
    assert label == "refused" and key.startswith("_ statements cannot be differentiated"), key
    assert message_key("f.py:3:4: `try` statements (here) cannot be: why 12") == \
        "_ statements cannot be"


def test_the_quick_profile_exercises_every_mode():
    from .run import MODES
    covered = {m for i in range(10) for m in quick_modes(i)}
    assert covered == set(MODES)

"""``python -m srcad show|check``, run as a user runs it: in a subprocess."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pickled_functions as pf
import srcad

TESTS = os.path.dirname(os.path.abspath(__file__))

WRONG = textwrap.dedent("""\
    import numpy as np
    import srcad


    def wrong(x):
        return np.sum(x ** 2)


    @srcad.adjoint(wrong)
    def _wrong_rule(x):
        return wrong(x), lambda g: (3.0 * g * x,)     # deliberately wrong: 3x, not 2x


    @srcad.tangent(wrong)
    def _wrong_tangent(args, tangents):
        return wrong(args[0]), np.sum(3.0 * args[0] * tangents[0])


    def uses_wrong(x, k):
        return k * wrong(np.sin(x))


    def refused(x):
        return np.sum(np.frobnicate(x))
    """)


def run(tmp_path, *argv):
    env = dict(os.environ, PYTHONPATH=TESTS, SRCAD_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "srcad", *argv], capture_output=True,
                       text=True, cwd=tmp_path, env=env, timeout=300)
    # on a loaded machine a transform over a second logs its progress first: not the output
    r.stderr = "".join(line for line in r.stderr.splitlines(keepends=True)
                       if not line.startswith("srcad: still transforming "))
    return r


@pytest.fixture
def wrong_file(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(WRONG)
    return path


def test_show_prints_the_generated_gradient(tmp_path):
    r = run(tmp_path, "show", "pickled_functions:energy", "--shape", "x=4")
    assert r.returncode == 0, r.stderr
    assert r.stdout == srcad.differentiate(pf.energy).source("grad", np.ones(4))
    assert "def energy_vjp(x, seed, out=None):" in r.stdout


def test_show_jvp_of_a_file_with_wrt_and_an_args_expression(tmp_path):
    r = run(tmp_path, "show", f"{TESTS}/pickled_functions.py:bias_loss", "--kind", "jvp",
            "--wrt", "b", "--args", "np.ones(3), 0.5, np.eye(3), np.zeros(3)")
    assert r.returncode == 0, r.stderr
    assert "# srcad: forward mode (Jacobian-vector product) of bias_loss" in r.stdout
    assert "def bias_loss_jvp(w, b, X, y, b_dot):" in r.stdout
    compile(r.stdout, "<shown>", "exec")                 # what it prints is Python


def test_check_passes_and_prints_the_worst_error(tmp_path):
    r = run(tmp_path, "check", "pickled_functions:loss", "--shape", "w=3", "--shape", "b=",
            "--shape", "X=5,3", "--shape", "y=5")
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip()
    assert line.startswith("loss: gradient wrt w, b, worst relative error "), line
    assert float(line.split("worst relative error ")[1].split()[0]) < 1e-6


def test_check_jvp_with_example_arguments(tmp_path):
    r = run(tmp_path, "check", "pickled_functions:least_squares", "--kind", "jvp",
            "--example", "pickled_functions:examples")
    assert r.returncode == 0, r.stderr
    assert "least_squares: jvp along a random tangent, relative error" in r.stdout


@pytest.mark.numpy_backend      # a user rule numba cannot compile warns first under auto
def test_check_exits_non_zero_on_a_wrong_rule(tmp_path, wrong_file):
    for kind in ("grad", "jvp"):
        r = run(tmp_path, "check", f"{wrong_file}:uses_wrong", "--kind", kind,
                "--shape", "x=4", "--shape", "k=")
        assert r.returncode == 1, (kind, r.stdout, r.stderr)
        assert r.stderr.startswith("mismatch: "), r.stderr
    r = run(tmp_path, "check", "model.py:uses_wrong", "--wrt", "k", "--shape", "x=4",
            "--shape", "k=")
    assert r.returncode == 0, r.stderr           # wrt k does not reach the wrong rule's x


@pytest.mark.slow
def test_bad_input_names_what_is_wrong(tmp_path, wrong_file):
    cases = [
        (["show", "pickled_functions:nothing", "--shape", "x=3"],
         "srcad: error: target 'pickled_functions:nothing': pickled_functions has no "
         "'nothing'"),
        (["show", "pickled_functions:least_squares", "--shape", "w=3"],
         "srcad: error: parameter 'X' of least_squares has no value: give --shape X=D1,D2"),
        (["show", "pickled_functions:energy", "--shape", "z=3"],
         "srcad: error: --shape names 'z', which is not a parameter of energy "
         "(parameters: x)"),
        (["show", "pickled_functions:energy", "--shape", "x=a,b"],
         "srcad: error: --shape 'x=a,b': dimensions must be integers"),
        (["check", "energy", "--shape", "x=3"],
         "srcad: error: target 'energy' must be path/to/file.py:function"),
        (["show", "pickled_functions:energy", "--args", "np.onez(3)"],
         "srcad: error: --args 'np.onez(3)': AttributeError"),
    ]
    for argv, message in cases:
        r = run(tmp_path, *argv)
        assert r.returncode == 2 and r.stderr.startswith(message), (argv, r.stderr)


def test_a_refused_function_prints_the_located_error(tmp_path, wrong_file):
    r = run(tmp_path, "show", "model.py:refused", "--shape", "x=3")
    assert r.returncode == 3, r.stderr
    line = WRONG.splitlines().index("    return np.sum(np.frobnicate(x))") + 1
    assert r.stderr.startswith(f"srcad: cannot differentiate: {wrong_file}:{line}:"), r.stderr
    assert "np.frobnicate" in r.stderr


def test_help_documents_both_commands(tmp_path):
    r = run(tmp_path, "--help")
    assert r.returncode == 0
    assert "show        print the generated source" in r.stdout
    assert "check       compare a derivative with finite differences" in r.stdout
    r = run(tmp_path, "check", "--help")
    for option in ("--kind", "--wrt", "--args", "--shape", "--example", "--rtol"):
        assert option in r.stdout

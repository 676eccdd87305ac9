"""Found by the differential fuzzer (tests/fuzz, seed 2, 2,500 programs), shrunk.

``for r in w: w += r`` reads each item from the array the body updates in place, so
the loop's value depends on the updates; srcad wrote the update as a new value and
read the items of the array the loop started with (value 12 instead of 24). Such a
loop is refused at the update; iterating over a copy, an index, or a name the body
rebinds works and is checked in every mode against central differences.
"""
import numpy as np
import pytest

import srcad
from test_fuzz_findings_4 import _all_ok


HEAD = "import numpy as np\n\ndef f(x):\n    w = x * 1.5\n"
X = '(np.array([0.5055, -0.32979, -0.30149]),)'

REFUSED = {
    "augmented": ("    for r in w:\n        w += r\n", "w += r", "it"),
    "item": ("    for r in w:\n        w[0] = r * 2.0\n", "w[0] = r * 2.0", "it"),
    "item augmented": ("    for r in w[1:]:\n        w[2] *= r\n", "w[2] *= r",
                       "a value read from it"),
    "enumerate": ("    for k, r in enumerate(w):\n        w[k] += r * w[0]\n",
                  "w[k] += r * w[0]", "it"),
    "method": ("    for r in w:\n        w.sort()\n", "w.sort()", "it"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_loop_updating_what_it_iterates_is_refused_at_the_update(case, tmp_path):
    body, line, what = REFUSED[case]
    path = tmp_path / f"loop_{case.replace(' ', '_')}.py"
    path.write_text(HEAD + body + "    return np.sum(w)\n")
    scope = {}
    exec(compile(path.read_text(), str(path), "exec"), scope)
    x = np.array([0.5055, -0.32979, -0.30149])
    for call in (lambda: srcad.grad(scope["f"])(x),
                 lambda: srcad.jvp(scope["f"], (x,), (np.ones(3),))):
        with pytest.raises(srcad.TransformError) as info:
            call()
        message = str(info.value)
        assert f"{path}:6:" in message and line in message
        assert "in place while it iterates over " + what in message


@pytest.mark.parametrize("body", [
    "    for r in w.copy():\n        w += r * x\n",
    "    for k in range(len(w)):\n        w += w[k] * x\n",
    "    for r in w:\n        w = w + r * x\n",
    "    v = w * 1.0\n    for r in w:\n        v += r * x\n        v[0] = v[1] * r\n    w = v\n",
])
def test_the_forms_that_say_which_items_are_read_are_differentiated(body):
    _all_ok(HEAD + body + "    return np.sum(w * w)\n", X, ("x",), least=3)


def test_a_copy_by_a_builtin_is_not_an_alias():
    _all_ok(HEAD + "    c = np.ones(3)\n    for r in list(c):\n        c += r\n"
            "    return np.sum(w * c)\n", X, ("x",), least=3)

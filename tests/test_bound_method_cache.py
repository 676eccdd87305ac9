"""``srcad.grad(obj.method)``: a bound method is a new object at every attribute
access, so its derivative must be found again by (function, instance), compiled
once per signature, and still see the instance's current fields."""
import numpy as np

import srcad
from conftest import assert_grad_close


class Model:
    def __init__(self, a):
        self.a = a

    def loss(self, x):
        return np.sum(self.a * np.sin(x) * x)


def test_grad_of_a_bound_method_compiles_once():
    srcad.clear_cache()
    m = Model(2.0)
    x = np.array([0.3, -1.1, 0.7])
    before = srcad.stats()
    for _ in range(5):
        g = srcad.grad(m.loss)(x)
    s = srcad.stats()
    made = (s["transforms"] - before["transforms"]) + (s["disk_hits"] - before["disk_hits"])
    assert made == 1, (before, s)
    assert_grad_close(g, m.loss, (x,), 0)


def test_grad_of_a_bound_method_sees_the_instance():
    srcad.clear_cache()
    x = np.array([0.3, -1.1, 0.7])
    m, n = Model(2.0), Model(-0.5)
    assert_grad_close(srcad.grad(m.loss)(x), m.loss, (x,), 0)
    assert_grad_close(srcad.grad(n.loss)(x), n.loss, (x,), 0)
    m.a = 3.5                                   # a field changed after the first call
    assert_grad_close(srcad.grad(m.loss)(x), m.loss, (x,), 0)

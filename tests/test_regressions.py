"""Bugs found by review, each with the test that failed before its fix.

Derivatives are checked against central differences (``fd_check``); errors by
class and line.
"""
import dataclasses
import inspect
from typing import NamedTuple

import numpy as np
import pytest
from conftest import fd_check, fd_check_forward

import srcad

IDX = np.array([0, 2, 2])


def write_repeated_index(x):
    out = np.zeros(3)
    out[IDX] = x            # NumPy: the last write to position 2 wins
    return np.sum(out ** 2)


def add_repeated_index(x):
    out = np.zeros(3)
    out[IDX] += x           # also last-write-wins in NumPy (not an accumulation)
    return np.sum(out ** 2)


def new_key_in_local_dict(d):
    e = {"w": d["w"] ** 2}
    e["c"] = np.sin(d["b"])
    return np.sum(e["w"] * e["c"])


def enumerate_of_zip(x, y):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        s = s + (i + 1) * a * np.sin(b)
    return s


def zip_of_enumerate(x, y):
    s = 0.0
    for (i, a), b in zip(enumerate(x, 1), y):
        s = s + i * a * b
    return s


def ufunc_at(x):
    out = np.zeros(3)
    np.add.at(out, IDX, x)
    return np.sum(out ** 2)


@pytest.mark.parametrize("fn", [write_repeated_index, add_repeated_index])
def test_writes_through_repeated_indices(fn, rng):
    x = rng.uniform(0.2, 0.8, 3)
    fd_check(fn, (x,), 0, rng)
    fd_check_forward(fn, (x,), 0, rng)


def test_new_key_in_a_local_dict(rng):
    d = {"w": rng.uniform(0.2, 0.8, 2), "b": rng.uniform(0.2, 0.8, 2)}
    fd_check(new_key_in_local_dict, (d,), 0, rng)


@pytest.mark.parametrize("fn", [enumerate_of_zip, zip_of_enumerate])
def test_nested_zip_and_enumerate(fn, rng):
    x, y = rng.uniform(0.2, 0.8, 4), rng.uniform(0.2, 0.8, 5)
    fd_check(fn, (x, y), (0, 1), rng)
    fd_check_forward(fn, (x, y), (0, 1), rng)


def test_in_place_ufunc_method_is_rejected_not_ignored():
    with pytest.raises(srcad.TransformError) as err:
        srcad.grad(ufunc_at)(np.ones(3))
    lines, start = inspect.getsourcelines(ufunc_at)
    expected = start + next(k for k, line in enumerate(lines) if "np.add.at" in line)
    assert err.value.lineno == expected
    assert "in place" in str(err.value) and "np.add.at(out, IDX, x)" in str(err.value)


# ---- methods of structured arguments (found missing by review) ---------------------

@dataclasses.dataclass
class Model:
    W: np.ndarray
    b: np.ndarray
    name: str = "m"

    def predict(self, X):
        return np.tanh(X @ self.W + self.b)

    def loss(self, X, y):
        r = self.predict(X) - y          # a method calling a method
        return np.mean(r * r)


def model_objective(m, X, y):
    return m.loss(X, y)


class Vec(NamedTuple):
    x: float
    y: float

    def norm2(self):
        return self.x * self.x + self.y * self.y


def vec_length(p):
    return np.sqrt(p.norm2())


def test_methods_of_a_dataclass_argument(rng):
    m = Model(rng.normal(size=(3, 2)), rng.normal(size=2))
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    fd_check(model_objective, (m, X, y), 0, rng)
    fd_check_forward(model_objective, (m, X, y), 0, rng)
    g = srcad.grad(model_objective)(m, X, y)
    assert type(g) is Model and g.name == "m"


def test_methods_of_a_namedtuple_argument(rng):
    p = Vec(float(rng.uniform(1, 2)), float(rng.uniform(1, 2)))
    fd_check(vec_length, (p,), 0, rng)
    assert type(srcad.grad(vec_length)(p)) is Vec

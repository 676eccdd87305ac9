"""The reference: Richardson-extrapolated central differences, and comparisons.

Arguments are trees (floats, arrays, dataclasses, tuples); ``flat`` lists
their float leaves as one float64 vector and ``unflat`` rebuilds a tree from
one. ``Reference`` is the Jacobian of a function of the ``wrt`` arguments,
column by column: central differences at steps h, h/2, h/4, two Richardson
steps, and the difference between the two extrapolations as the estimate's
uncertainty. A function whose estimate is unstable at the point (a kink, a
branch switching inside the step, overflow) is not a reference: the program
is discarded, not reported.
"""
import copy
import dataclasses

import numpy as np

H = 1e-3            # the largest step
RTOL = 1e-6         # relative to the entry and to the largest entry of the Jacobian
UNSTABLE = 1e-5     # extrapolations disagreeing by more than this (relative) -> discard
SMALL = 1e-6        # the step of the check that the extrapolated slope is the local one


class Unusable(Exception):
    """The function cannot serve as a reference at this point."""


def is_leaf(x):
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (float, np.floating)):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind == "f"


def leaves(tree):
    if is_leaf(tree):
        return [tree]
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        return [leaf for f in dataclasses.fields(tree) for leaf in leaves(getattr(tree, f.name))]
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in leaves(t)]
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in leaves(tree[k])]
    return []


def flat(tree):
    parts = [np.asarray(leaf, np.float64).ravel() for leaf in leaves(tree)]
    return np.concatenate(parts) if parts else np.zeros(0)


def unflat(vec, like):
    """A new tree shaped like ``like`` whose leaves are taken from ``vec`` in order."""
    pos = [0]

    def build(t):
        if is_leaf(t):
            n = int(np.size(t))
            chunk = vec[pos[0]:pos[0] + n]
            pos[0] += n
            if isinstance(t, np.ndarray):
                return chunk.reshape(t.shape).astype(t.dtype)
            return float(chunk[0])
        if dataclasses.is_dataclass(t) and not isinstance(t, type):
            new = copy.copy(t)
            for f in dataclasses.fields(t):
                object.__setattr__(new, f.name, build(getattr(t, f.name)))
            return new
        if isinstance(t, (tuple, list)):
            return type(t)(build(u) for u in t)
        if isinstance(t, dict):
            return {k: build(t[k]) for k in sorted(t)}
        return t
    return build(like)


def structure_error(got, like, what):
    """Why ``got`` does not have the structure of ``like`` (None when it does)."""
    if is_leaf(like):
        if isinstance(like, np.ndarray):
            if not isinstance(got, np.ndarray):
                return f"{what}: expected an ndarray, got {type(got).__name__}"
            if got.shape != like.shape or got.dtype != like.dtype:
                return f"{what}: {got.shape}/{got.dtype}, expected {like.shape}/{like.dtype}"
            return None
        if not isinstance(got, (float, np.floating)) or np.ndim(got):
            return f"{what}: expected a float, got {type(got).__name__}"
        return None
    if dataclasses.is_dataclass(like):
        if type(got) is not type(like):
            return f"{what}: expected {type(like).__name__}, got {type(got).__name__}"
        for f in dataclasses.fields(like):
            err = structure_error(getattr(got, f.name), getattr(like, f.name), f"{what}.{f.name}")
            if err:
                return err
        return None
    if isinstance(like, (tuple, list)):
        if type(got) is not type(like) or len(got) != len(like):
            return f"{what}: expected a {type(like).__name__} of {len(like)}"
        for i, (g, t) in enumerate(zip(got, like)):
            err = structure_error(g, t, f"{what}[{i}]")
            if err:
                return err
    return None


class Reference:
    """The Jacobian of ``call(tree) -> output`` at ``tree`` by extrapolated differences."""

    def __init__(self, call, tree):
        self.tree = tree
        self.x0 = flat(tree)
        self.call = call
        y0 = self.evaluate(self.x0)
        self.y0 = y0
        cols, uncs = [], []
        for j in range(self.x0.size):
            d = []
            for h in (H, H / 2, H / 4):
                e = np.zeros_like(self.x0)
                e[j] = h
                d.append((self.evaluate(self.x0 + e) - self.evaluate(self.x0 - e)) / (2 * h))
            r1 = (4 * d[1] - d[0]) / 3
            r2 = (4 * d[2] - d[1]) / 3
            cols.append((16 * r2 - r1) / 15)
            uncs.append(np.abs(r2 - r1))
        self.J = np.stack(cols, axis=1) if cols else np.zeros((y0.size, 0))
        self.unc = np.stack(uncs, axis=1) if uncs else np.zeros((y0.size, 0))
        self.fscale = float(np.max(np.abs(y0), initial=0.0))
        self.jscale = float(np.max(np.abs(self.J), initial=0.0))
        limit = UNSTABLE * (np.abs(self.J) + self.jscale) + 1e-9 * (1.0 + self.fscale)
        if np.any(self.unc > limit) or not np.all(np.isfinite(self.J)):
            raise Unusable("finite differences unstable at this point")
        # a function that turns faster than the steps above resolve (sin of a value that
        # moves 10^5 times faster than its input) can extrapolate to a consistent wrong
        # slope: one small step along a fixed direction must agree
        v = np.cos(np.arange(1.0, self.x0.size + 1.0) * 1.7)
        small = (self.evaluate(self.x0 + SMALL * v) - self.evaluate(self.x0 - SMALL * v)) \
            / (2 * SMALL)
        want = self.J @ v
        if np.any(np.abs(small - want) > 1e-2 * (np.abs(want) + self.jscale * np.sum(np.abs(v)))
                  + 1e-5 * (1.0 + self.fscale)):
            raise Unusable("finite differences unstable at this point (a small step disagrees)")

    def evaluate(self, vec):
        try:
            out = flat(self.call(unflat(vec, self.tree)))
        except (ArithmeticError, ValueError, FloatingPointError) as exc:
            raise Unusable(f"the function fails near the point: {exc}") from None
        if not np.all(np.isfinite(out)) or np.max(np.abs(out), initial=0.0) > 1e8:
            raise Unusable("non-finite or huge values near the point")
        return out

    def tolerance(self, weights_in=None, weights_out=None):
        """Tolerance for ``wo @ J @ wi`` given absolute weights (None: every entry)."""
        a = np.abs(self.J) * RTOL + RTOL * self.jscale + 10 * self.unc
        if weights_in is not None:
            a = a @ np.abs(weights_in)
        if weights_out is not None:
            a = np.abs(weights_out) @ a
        return a + 1e-10 * (1.0 + self.fscale)


def compare(got, want, tol, what, source="finite differences give"):
    """None when ``|got - want| <= tol`` everywhere, else a short description."""
    got = np.asarray(got, np.float64).ravel()
    want = np.asarray(want, np.float64).ravel()
    tol = np.broadcast_to(np.asarray(tol, np.float64).ravel(), want.shape) if want.size else tol
    if got.shape != want.shape:
        return f"{what}: {got.size} numbers, expected {want.size}"
    if not np.all(np.isfinite(got)):
        return f"{what}: non-finite {got}"
    err = np.abs(got - want)
    if np.all(err <= tol):
        return None
    i = int(np.argmax(err - tol))
    return (f"{what}: entry {i} is {float(got[i])!r}, {source} {float(want[i])!r} "
            f"(|diff| {err[i]:.3e} > tol {tol[i]:.3e})")

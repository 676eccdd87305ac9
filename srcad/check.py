"""Check a gradient against finite differences.

``check_grad`` runs srcad's reverse mode on ``fn`` and compares the
vector-Jacobian product with a Richardson-extrapolated central difference of
the original function::

    import numpy as np
    import srcad

    def energy(x, k):
        return k * np.sum(np.sin(x) ** 2)

    x = np.linspace(0.0, 1.0, 5)
    err = srcad.check_grad(energy, x, 2.0, wrt=("x", "k"))  # raises if wrong
    print(f"worst relative error {err:.1e}")

What is compared:

- A scalar output is differentiated as is. A non-scalar output (an array or a
  tuple of values) is contracted with a random cotangent drawn from a fixed
  seed, so the check covers every output at once.
- Each ``wrt`` argument may be a float, a float array, or a tuple, list, dict,
  dataclass or NamedTuple of those; integer, boolean and other leaves are held
  constant. When the differentiable entries number at most ``max_entries``
  (2000) in total, every entry is checked; beyond that the derivative along a
  few random directions is checked instead.
- Each derivative is estimated by Ridders' method: central differences at a
  ladder of steps ``h = c * max(1, |x|)`` extrapolated to ``h -> 0`` in powers
  of ``h**2``, keeping the estimate with the smallest error estimate. That
  reaches about 1e-10 relative accuracy on smooth functions, which a single
  step cannot do at ``rtol=1e-6``.
- An entry passes when ``abs(a - b) <= atol + rtol * abs(b)``, ``a`` being
  srcad's value and ``b`` the finite difference. A float32 entry is compared
  with ``rtol`` and ``atol`` raised to at least 1e-4 and 1e-6 (its finite
  difference is evaluated on float64 copies of the arguments).

The return value is the worst relative error ``|a - b| / max(|b|, atol/rtol)``
over all entries. On failure the ``AssertionError`` names the worst entry: the
argument, the path and index inside it, srcad's value and the finite
difference.
"""
import copy
import dataclasses
import inspect

import numpy as np

from srcad.api import pullback

_MAX_ENTRIES = 2000
_DIRECTIONS = 4
_SEED = 0
_FLOAT32_RTOL = 1e-4
_FLOAT32_ATOL = 1e-6


def check_grad(fn, *args, wrt=0, rtol=1e-6, atol=1e-8, max_entries=_MAX_ENTRIES):
    """Compare srcad's gradient of ``fn`` at ``args`` with finite differences.

    A non-scalar output is contracted with a fixed random cotangent; each
    differentiable entry (or, beyond ``max_entries``, a few random directions) is
    compared with Ridders-extrapolated central differences.

    Args:
        fn: the function.
        *args: the point.
        wrt: the parameter(s) to check (positions or names).
        rtol, atol: an entry passes when ``abs(a - b) <= atol + rtol * abs(b)``.
        max_entries: check every entry up to this many, random directions beyond.

    Returns:
        The worst relative error (a float).

    Raises:
        AssertionError: some entry fails; the message names the worst one (argument,
            path, index, srcad's value and the finite difference).
        TypeError: the output or the ``wrt`` arguments hold no float value.

    Example::

        err = srcad.check_grad(energy, x, 2.0, wrt=("x", "k"))
    """
    positions, names = _resolve_wrt(fn, args, wrt)
    value, back = pullback(fn, *args, wrt=wrt)
    if not _float_leaves(value):
        raise TypeError(f"check_grad: {_name(fn)} returned {type(value).__name__}, which holds "
                        "no float value to differentiate")
    rng = np.random.default_rng(_SEED)
    cotangent = _cotangent(value, rng)
    grads = back(cotangent)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(positions):
        raise AssertionError(f"check_grad: the pullback returned {len(grads)} gradients for "
                             f"{len(positions)} wrt arguments {names}")

    def objective(call_args):
        return _contract(cotangent, fn(*call_args))

    leaves = []  # (argument position, name, path, leaf, gradient leaf)
    for pos, name, grad in zip(positions, names, grads, strict=True):
        for path, leaf in _float_leaves(args[pos]):
            leaves.append((pos, name, path, leaf, _at(grad, path)))
    if not leaves:
        raise TypeError(f"check_grad: the wrt arguments {names} hold no float values")

    total = sum(np.size(leaf) for _, _, _, leaf, _ in leaves)
    base_args = _upcast_float32(args, positions)
    if total <= max_entries:
        rows = _entrywise(objective, base_args, leaves, rtol, atol)
    else:
        rows = _directional(objective, base_args, leaves, rng, rtol, atol)
    return _judge(fn, rows, rtol, atol)


# ---------------------------------------------------------------- wrt and values

def _resolve_wrt(fn, args, wrt):
    """Positions and display names of the wrt arguments."""
    items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    positions, names = [], []
    for item in items:
        if isinstance(item, str):
            if item not in params:
                raise TypeError(f"check_grad: wrt names `{item}`, which is not a parameter "
                                f"of {_name(fn)} (parameters: {', '.join(params) or '?'})")
            pos = params.index(item)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            pos = int(item) + (len(args) if item < 0 else 0)
        else:
            raise TypeError(f"check_grad: wrt must be a parameter name or position, got {item!r}")
        if not 0 <= pos < len(args):
            raise TypeError(f"check_grad: wrt {item!r} names no passed argument "
                            f"({len(args)} given)")
        positions.append(pos)
        names.append(params[pos] if pos < len(params) else f"args[{pos}]")
    return positions, names


def _name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _is_float(x):
    if isinstance(x, np.ndarray):
        return np.issubdtype(x.dtype, np.floating)
    return isinstance(x, (float, np.floating)) and not isinstance(x, bool)


def _children(x):
    """(key kind, key, child) for a container, None for a leaf."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return [("attr", f.name, getattr(x, f.name)) for f in dataclasses.fields(x)]
    if isinstance(x, (tuple, list)):
        return [("item", i, c) for i, c in enumerate(x)]
    if isinstance(x, dict):
        return [("item", k, c) for k, c in x.items()]
    return None


def _float_leaves(x, path=()):
    """(path, leaf) for every float or float-array leaf of ``x``."""
    kids = _children(x)
    if kids is None:
        return [(path, x)] if _is_float(x) else []
    out = []
    for kind, key, child in kids:
        out.extend(_float_leaves(child, path + ((kind, key),)))
    return out


def _at(x, path):
    for kind, key in path:
        if x is None:
            return None
        x = getattr(x, key) if kind == "attr" else x[key]
    return x


def _replace(x, path, new):
    """A copy of ``x`` with the leaf at ``path`` replaced by ``new``."""
    if not path:
        return new
    (kind, key), rest = path[0], path[1:]
    child = _replace(getattr(x, key) if kind == "attr" else x[key], rest, new)
    if kind == "attr":
        new_x = copy.copy(x)
        object.__setattr__(new_x, key, child)  # frozen dataclasses too
        return new_x
    if isinstance(x, dict):
        return {**x, key: child}
    items = list(x)
    items[key] = child
    if isinstance(x, list):
        return items
    if hasattr(x, "_fields"):  # NamedTuple
        return type(x)(*items)
    return type(x)(items)


def _path_str(name, path):
    text = name
    for kind, key in path:
        text += f".{key}" if kind == "attr" else f"[{key!r}]"
    return text


def _upcast_float32(args, positions):
    """Arguments whose wrt float32 leaves are float64 copies (for the differences)."""
    args = list(args)
    for pos in positions:
        for path, leaf in _float_leaves(args[pos]):
            if np.asarray(leaf).dtype == np.float32:
                new = leaf.astype(np.float64) if isinstance(leaf, np.ndarray) else float(leaf)
                args[pos] = _replace(args[pos], path, new)
    return args


# ---------------------------------------------------------------- cotangents

def _cotangent(value, rng):
    """1.0 for a scalar output, else a random cotangent of the output's structure."""
    if np.ndim(value) == 0 and _children(value) is None:
        return 1.0
    return _random_like(value, rng)


def _random_like(value, rng):
    kids = _children(value)
    if kids is not None:
        parts = [_random_like(child, rng) for _, _, child in kids]
        if isinstance(value, dict):
            return dict(zip(value.keys(), parts, strict=True))
        if hasattr(value, "_fields"):
            return type(value)(*parts)
        return type(value)(parts) if isinstance(value, (tuple, list)) else parts
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return rng.standard_normal(value.shape).astype(value.dtype)
    if _is_float(value):
        return float(rng.standard_normal())
    return None


def _contract(cotangent, value):
    """<cotangent, value> in float64."""
    if cotangent is None:
        return 0.0
    if isinstance(cotangent, dict):
        return sum(_contract(cotangent[k], value[k]) for k in cotangent)
    if isinstance(cotangent, (tuple, list)):
        return sum(_contract(c, v) for c, v in zip(cotangent, value, strict=True))
    v = np.asarray(value, dtype=np.float64)
    return float(np.sum(np.asarray(cotangent, dtype=np.float64) * v))


# ---------------------------------------------------------------- finite differences

def ridders(g, x, scale=1.0, h0=1e-3, shrink=1.6, ntab=10):
    """d g / d t at t = x by Ridders' extrapolated central differences.

    Returns ``(derivative, error_estimate)``.
    """
    h = h0 * scale
    table = [[(g(x + h) - g(x - h)) / (2.0 * h)]]
    best, err = table[0][0], np.inf
    for i in range(1, ntab):
        h /= shrink
        row = [(g(x + h) - g(x - h)) / (2.0 * h)]
        fac = shrink * shrink
        for j in range(1, i + 1):
            row.append((row[j - 1] * fac - table[i - 1][j - 1]) / (fac - 1.0))
            fac *= shrink * shrink
            errt = max(abs(row[j] - row[j - 1]), abs(row[j] - table[i - 1][j - 1]))
            if errt <= err:
                best, err = row[j], errt
        table.append(row)
        if abs(row[i] - table[i - 1][i - 1]) >= 2.0 * err:
            break
    return float(best), float(err)


def _derivative(g, x, scale, rtol, atol):
    """Ridders' estimate, retried from smaller first steps while its error matters.

    A kink or a domain edge within the first step spoils the large steps;
    starting smaller moves past it. Smaller steps lose digits to rounding, so
    a retry is taken only when it is clearly better and only while the error
    estimate is large enough to sway the verdict.
    """
    best = ridders(g, x, scale, h0=1e-3)
    for h0 in (1e-5, 1e-7):
        if best[1] <= 0.1 * (atol + rtol * abs(best[0])):
            break
        d, err = ridders(g, x, scale, h0=h0)
        if err < 0.25 * best[1]:
            best = (d, err)
    return best


def _entrywise(objective, base_args, leaves, rtol, atol):
    """One row per entry: (label, srcad value, finite difference, fd error, float32?)."""
    rows = []
    for pos, name, path, _, grad in leaves:
        leaf = _at(base_args[pos], path)
        single = np.float32 if _leaf_dtype(grad) == np.float32 else None
        if isinstance(leaf, np.ndarray):
            work = leaf.copy()
            call_args = list(base_args)
            call_args[pos] = _replace(base_args[pos], path, work)
            for index in np.ndindex(work.shape):
                x0 = float(work[index])

                def g(t, index=index, work=work, call_args=call_args):
                    work[index] = t
                    return objective(call_args)

                fd, fd_err = _derivative(g, x0, max(1.0, abs(x0)), rtol, atol)
                work[index] = x0
                a = 0.0 if grad is None else float(np.asarray(grad)[index])
                label = _path_str(name, path) + (f"[{', '.join(map(str, index))}]"
                                                 if work.ndim else "")
                rows.append((label, a, fd, fd_err, single))
        else:
            x0 = float(leaf)

            def g(t, pos=pos, path=path):
                call_args = list(base_args)
                call_args[pos] = _replace(base_args[pos], path, t)
                return objective(call_args)

            fd, fd_err = _derivative(g, x0, max(1.0, abs(x0)), rtol, atol)
            a = 0.0 if grad is None else float(grad)
            rows.append((_path_str(name, path), a, fd, fd_err, single))
    return rows


def _directional(objective, base_args, leaves, rng, rtol, atol):
    """One row per random direction over all wrt entries at once."""
    rows = []
    single = any(_leaf_dtype(grad) == np.float32 for *_, grad in leaves)
    scale = max([1.0] + [float(np.max(np.abs(leaf))) for _, _, _, leaf, _ in leaves])
    for k in range(_DIRECTIONS):
        dirs = [rng.standard_normal(np.shape(leaf)) for _, _, _, leaf, _ in leaves]
        a = sum(float(np.sum(np.asarray(0.0 if grad is None else grad, dtype=np.float64) * d))
                for (*_, grad), d in zip(leaves, dirs, strict=True))

        def g(t, dirs=dirs):
            call_args = list(base_args)
            for (pos, _, path, _, _), d in zip(leaves, dirs, strict=True):
                leaf = _at(base_args[pos], path)
                moved = leaf + t * d
                call_args[pos] = _replace(call_args[pos], path,
                                          moved if isinstance(leaf, np.ndarray) else float(moved))
            return objective(call_args)

        fd, fd_err = _derivative(g, 0.0, scale, rtol, atol)
        names = sorted({name for _, name, _, _, _ in leaves})
        rows.append((f"random direction {k} over {', '.join(names)}", a, fd, fd_err, single))
    return rows


def _leaf_dtype(grad):
    return grad.dtype if isinstance(grad, (np.ndarray, np.floating)) else np.dtype(np.float64)


# ---------------------------------------------------------------- verdict

def _judge(fn, rows, rtol, atol):
    worst_err, worst_row, worst_ratio = 0.0, None, -1.0
    for row in rows:
        _, a, b, _, single = row
        r_tol = max(rtol, _FLOAT32_RTOL) if single else rtol
        a_tol = max(atol, _FLOAT32_ATOL) if single else atol
        diff = abs(a - b)
        if not np.isfinite(a) or not np.isfinite(b):
            diff = 0.0 if a == b else np.inf
        floor = a_tol / r_tol if r_tol > 0 else np.finfo(np.float64).tiny
        rel = diff / max(abs(b), floor)
        ratio = diff / (a_tol + r_tol * abs(b)) if (a_tol + r_tol * abs(b)) > 0 else (
            0.0 if diff == 0 else np.inf)
        worst_err = max(worst_err, rel)
        if ratio > worst_ratio:
            worst_ratio, worst_row = ratio, (row, r_tol, a_tol)
    if worst_ratio > 1.0:
        (label, a, b, fd_err, _), r_tol, a_tol = worst_row
        kind = "random directions" if label.startswith("random direction") else "entries"
        raise AssertionError(
            f"check_grad: the gradient of {_name(fn)} disagrees with finite differences at "
            f"{label}: srcad {a!r}, finite differences {b!r} (difference {abs(a - b):.3g} > "
            f"atol {a_tol:g} + rtol {r_tol:g} * |fd|; finite-difference error estimate "
            f"{fd_err:.1g}; {len(rows)} {kind} checked)")
    return float(worst_err)

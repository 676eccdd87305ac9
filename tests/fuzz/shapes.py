"""Symbolic shapes for the program generator.

A dimension is a pair ``(a, b)`` meaning ``a * N + b``, where ``N`` is the
length the program's first argument has along its first axis (N >= 2 in every
signature the fuzzer calls). A shape is a tuple of dimensions; ``()`` is a
scalar. Keeping dimensions linear in N lets the generator write programs that
run for a second signature (another N) without change.
"""

N_MIN = 2          # the smallest N any signature uses
M = 3              # the fixed inner size of the programs' matrices

DIM_N = (1, 0)
DIM_M = (0, M)
DIM_2 = (0, 2)
DIM_1 = (0, 1)
DIM_POOL = (DIM_N, DIM_M, DIM_2)
SCALAR = ()


def size(dim, n):
    """The concrete length of ``dim`` when N is ``n``."""
    return dim[0] * n + dim[1]


def min_size(dim):
    return size(dim, N_MIN)


def valid(dim):
    return dim[0] >= 0 and min_size(dim) >= 1


def concrete(shape, n):
    return tuple(size(d, n) for d in shape)


def add(d1, d2):
    return (d1[0] + d2[0], d1[1] + d2[1])


def sub(d1, d2):
    return (d1[0] - d2[0], d1[1] - d2[1])


def split(dim, rng):
    """Two valid dimensions adding up to ``dim``, or None."""
    options = []
    for a1 in range(dim[0] + 1):
        for b1 in range(min(dim[1], 0) - 1, max(dim[1], 0) + 2):
            d1, d2 = (a1, b1), sub(dim, (a1, b1))
            if valid(d1) and valid(d2):
                options.append((d1, d2))
    return rng.choice(options) if options else None


def divide(dim, c):
    """``dim / c`` when both coefficients divide, else None."""
    if dim[0] % c == 0 and dim[1] % c == 0:
        d = (dim[0] // c, dim[1] // c)
        return d if valid(d) else None
    return None


def dim_source(dim, n_expr):
    """Python source for the length ``dim`` given the source of N."""
    a, b = dim
    if a == 0:
        return str(b)
    head = n_expr if a == 1 else f"{a} * {n_expr}"
    if b > 0:
        return f"{head} + {b}"
    if b < 0:
        return f"{head} - {-b}"
    return head


def shape_source(shape, n_expr):
    parts = [dim_source(d, n_expr) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def broadcast(s1, s2):
    """The broadcast shape of ``s1`` and ``s2`` (symbolic), or None."""
    out = []
    for i in range(1, max(len(s1), len(s2)) + 1):
        d1 = s1[-i] if i <= len(s1) else DIM_1
        d2 = s2[-i] if i <= len(s2) else DIM_1
        if d1 == d2 or d2 == DIM_1:
            out.append(d1)
        elif d1 == DIM_1:
            out.append(d2)
        else:
            return None
    return tuple(reversed(out))

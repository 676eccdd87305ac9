"""A seeded generator of random Python/NumPy programs from srcad's grammar.

``generate(seed, index)`` returns a ``Program``: the source of a module (a
function ``f``, and the module-level helpers, constants and dataclass it uses),
the source of its arguments for two signatures (N and N + 1 rows), and the
``wrt`` names. The same ``(seed, index)`` always gives the same program.

The grammar (README, "What is supported"): float and array arithmetic with
broadcasting, ufuncs on safe domains (log, sqrt, arcsin... are applied to
squashed values such as ``np.exp(-v * v) + 0.5``), reductions with
axis/keepdims, ``@``/dot/einsum/outer, reads and in-place writes through
indices and slices, reshape/transpose/concatenate/stack, for/while loops with
break/continue, if/else on values, early returns (also inside loops),
module-level helpers (also recursive ones), tuple/list/dict locals, dataclass
arguments and their methods, augmented assignment, negative constants and
powers like ``(-1.0) ** k``. Every value's shape is known symbolically
(shapes.py), so the programs are valid by construction; the few that are not
(overflow) are discarded by the runner.
"""
import dataclasses
import random
import re

import numpy as np

from . import shapes as S
from .shapes import DIM_1, DIM_2, DIM_M, DIM_N, SCALAR

N_EXPR = "x.shape[0]"


@dataclasses.dataclass(frozen=True)
class Program:
    source: str           # the module
    args: str             # the argument tuple (source, evaluated in the module's namespace)
    args2: str            # the same for the second signature (N + 1)
    wrt: tuple            # names of the differentiated parameters
    scalar: bool          # f returns a float (else a 1-d array)
    second_order: bool    # also check hessian/hvp
    name: str = "f"


@dataclasses.dataclass
class Var:
    kind: str                 # "val", "int", "list", "tuple", "dict"
    shape: tuple = ()         # "val": its shape; "list": the element shape
    items: object = None      # "tuple": element shapes; "dict": key -> shape
    owned: bool = False       # a fresh local array: in-place writes are the program's own
    active: bool = True       # depends on the arguments (preferred as a leaf)
    bound: object = None      # "int": a dimension the value stays below


class _Gen:
    def __init__(self, rng):
        self.rng = rng
        self.counter = {}
        self.consts = []          # module-level lines
        self.const_by_shape = {}
        self.helpers = []         # module-level function sources
        self.helper_depth = 0
        self.uses_params = False
        self.params_method = False
        self.n_expr = N_EXPR      # the source of N where the code being generated runs
        self.depth = 2            # the depth of expressions in statements

    # ------------------------------------------------------------------ names and literals
    def fresh(self, prefix):
        k = self.counter.get(prefix, 0) + 1
        self.counter[prefix] = k
        return f"{prefix}{k}"

    def chance(self, p):
        return self.rng.random() < p

    def const(self, lo=-2.0, hi=2.0, nonzero=True):
        c = round(self.rng.uniform(lo, hi), 2)
        if nonzero and abs(c) < 0.05:
            c = 0.5
        return repr(c) if c >= 0 else f"({c!r})" if self.chance(0.5) else repr(c)

    def module_const(self, shape):
        if shape in self.const_by_shape and self.chance(0.7):
            return self.const_by_shape[shape]
        name = self.fresh("C")
        if shape == SCALAR:
            self.consts.append(f"{name} = {self.const()}")
        else:
            vals = np.round(np.array([self.rng.uniform(-1.5, 1.5)
                                      for _ in range(int(np.prod(S.concrete(shape, 0))))]), 2)
            vals = vals.reshape(S.concrete(shape, 0))
            self.consts.append(f"{name} = np.array({vals.tolist()!r})")
        self.const_by_shape[shape] = name
        return name

    # ------------------------------------------------------------------ expressions
    def expr(self, env, shape, depth):
        """Source of an expression of exactly ``shape``."""
        if depth <= 0 or self.chance(0.3):
            return self.leaf(env, shape)
        table = [(6, self.binop), (4, self.unary), (3, self.reduce), (2, self.linalg),
                 (2, self.shape_op), (2, self.index_read), (1, self.helper_call),
                 (1, self.ternary), (2, self.power)]
        total = sum(w for w, _ in table)
        for _ in range(6):
            r = self.rng.uniform(0, total)
            for w, prod in table:
                r -= w
                if r <= 0:
                    break
            out = prod(env, shape, depth - 1)
            if out is not None:
                return out
        return self.leaf(env, shape)

    def active(self, env, src):
        """Whether the source ``src`` reads a value that depends on the arguments."""
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", src))
        return any(n in env and env[n].active and env[n].kind != "int" for n in names) or \
            (self.uses_params and "p" in names)

    def convert(self, name, have, want):
        """An expression of shape ``want`` computed from the variable ``name`` of shape
        ``have`` (the leaf of last resort: it keeps the dependence on the arguments)."""
        if have == want:
            return name
        if want == SCALAR:
            return self.rng.choice([f"np.sum({name})", f"np.mean({name})", f"{name}.max()"])
        if len(have) == 2 and want == have[::-1]:
            return f"{name}.T"
        if len(have) == 2 and want == have[:1]:
            return self.rng.choice([f"{name}[:, 0]", f"np.sum({name}, axis=1)"])
        if len(have) == 2 and want == have[1:]:
            return self.rng.choice([f"{name}[-1]", f"np.mean({name}, axis=0)"])
        if len(have) == 1 and len(want) == 2 and have[0] in want:
            other = want[1] if want[0] == have[0] else want[0]
            ones = f"np.ones({S.shape_source((other,), self.n_expr)})"
            if want[0] == have[0]:
                return f"np.outer({name}, {ones})"
            return f"np.outer({ones}, {name})"
        if len(have) == 2 and len(want) == 2 and have[0] == want[0]:
            return f"({name} @ np.ones({S.shape_source((have[1], want[1]), self.n_expr)}))"
        return f"(np.sum({name}) * np.ones({S.shape_source(want, self.n_expr)}))"

    def leaf(self, env, shape):
        vals = [n for n, v in env.items() if v.kind == "val"]
        act = [n for n in vals if env[n].active and env[n].shape == shape]
        options = [n for n in vals if env[n].shape == shape] + act * 3
        for n, v in env.items():
            if v.kind == "tuple":
                options += [f"{n}[{i}]" for i, s in enumerate(v.items) if s == shape]
            elif v.kind == "dict":
                options += [f"{n}[{k!r}]" for k, s in v.items.items() if s == shape]
            elif v.kind == "list" and v.shape == shape:
                options += [f"{n}[0]", f"{n}[-1]"]
        if self.uses_params:
            if shape == SCALAR:
                options.append("p.s")
            if shape == (DIM_M,):
                options.append("p.w")
        if options and not self.chance(0.1):
            return self.rng.choice(options)
        live = [n for n in vals if env[n].active]
        if live and self.chance(0.7):
            name = self.rng.choice(live)
            return self.convert(name, env[name].shape, shape)
        if shape == SCALAR:
            return self.const() if self.chance(0.6) else self.module_const(SCALAR)
        if all(d[0] == 0 for d in shape) and self.chance(0.6):
            return self.module_const(shape)
        # broadcast something that carries a derivative into the shape
        scal = [n for n, v in env.items() if v.kind == "val" and v.shape == SCALAR]
        base = self.rng.choice(scal) if scal else self.const()
        fill = self.rng.choice(["np.ones", "np.full"])
        src = S.shape_source(shape, self.n_expr)
        if fill == "np.full":
            return f"np.full({src}, {base})"
        return f"({base} * np.ones({src}))"

    def other_shape(self, shape):
        """A shape that broadcasts against ``shape`` to ``shape``."""
        options = [shape, shape, SCALAR]
        if len(shape) == 2:
            options.append(shape[1:])
        return self.rng.choice(options)

    def binop(self, env, shape, depth):
        op = self.rng.choice(["+", "-", "*", "*", "/", "+"])
        left = self.expr(env, shape, depth)
        if len(shape) == 2 and self.chance(0.25):
            kind = self.rng.choice(["keep0", "keep1", "col"])
            if kind == "col":
                right = f"{self.expr(env, shape[:1], depth)}[:, None]"
            else:
                axis = 0 if kind == "keep0" else 1
                red = self.rng.choice(["sum", "mean", "max"])
                right = f"np.{red}({self.expr(env, shape, depth)}, axis={axis}, keepdims=True)"
        else:
            right = self.expr(env, self.other_shape(shape), depth)
        if op == "/":
            right = self.rng.choice([f"(1.0 + {right} ** 2)", f"(1.5 + np.tanh({right}))",
                                     f"np.cosh({right})", f"(np.exp(-{right} * {right}) + 0.5)"])
        if self.chance(0.5):
            left, right = (right, left) if op in "+*" else (left, right)
        return f"({left} {op} {right})"

    def unary(self, env, shape, depth):
        e = self.expr(env, shape, depth)
        forms = ["np.sin({})", "np.cos({})", "np.tanh({})", "(-{})", "np.exp(np.tanh({}))",
                 "np.exp(-{0} * {0})", "np.log(np.exp(-{0} * {0}) + 0.5)", "np.log1p({0} * {0})",
                 "np.sqrt({0} * {0} + 0.5)", "np.arcsin(0.5 * np.tanh({}))",
                 "np.arccos(0.5 * np.tanh({}))", "np.arctan({})", "np.square({})",
                 "np.abs({})", "np.sinh(np.tanh({}))", "np.expm1(np.tanh({}))",
                 "np.log(np.cosh({}))", "np.clip({}, -0.8, 0.8)", "np.positive({})",
                 "np.negative({})"]
        rare = ["np.cbrt(1.5 + np.tanh({}))", "np.exp2(np.tanh({}))", "np.log2(1.5 + np.tanh({}))",
                "np.log10(np.cosh({}))", "np.reciprocal(1.5 + np.tanh({}))", "np.sinc({})",
                "np.deg2rad({})", "np.rad2deg(np.tanh({}))", "(np.sign({0}) * {0})", "np.fabs({})",
                "np.logaddexp({0}, 0.5 * {0})", "np.fmax({0}, 0.1)", "np.arcsinh({})",
                "np.arctanh(0.5 * np.tanh({}))", "np.arccosh(1.5 + {0} * {0})",
                "np.tan(0.5 * np.tanh({}))", "np.true_divide({0}, 1.5 + np.tanh({0}))",
                "np.multiply({0}, {0})", "np.subtract({0}, 0.5)", "np.add({0}, 1.0)",
                "np.float_power(1.5 + np.tanh({0}), 2.0)", "(np.round({0}, 1) + {0})",
                "np.logaddexp2({0}, 0.3)", "np.heaviside({0}, 0.5) * {0}", "np.real({})"]
        if self.chance(0.15):
            forms = rare
        if shape == SCALAR:
            forms += ["math.sin({})", "math.exp(math.tanh({}))", "math.sqrt(1.0 + {0} * {0})",
                      "abs({})", "float({})"]
        if self.chance(0.15):
            other = self.expr(env, self.other_shape(shape), depth)
            fns = ["np.maximum", "np.minimum", "np.hypot", "np.arctan2"]
            fn = self.rng.choice(fns + ["max", "min"] if shape == SCALAR else fns)
            if fn == "np.arctan2":
                return f"np.arctan2({e}, 1.5 + np.tanh({other}))"
            return f"{fn}({e}, {other})" if self.chance(0.5) else f"{fn}({other}, {e})"
        if self.chance(0.1):
            a, b = self.expr(env, shape, depth), self.expr(env, self.other_shape(shape), depth)
            return f"np.where({e} > {self.const(-0.5, 0.5)}, {a}, {b})"
        return self.rng.choice(forms).format(e)

    def power(self, env, shape, depth):
        e = self.expr(env, shape, depth)
        ints = [n for n, v in env.items() if v.kind == "int"]
        forms = [f"{e} ** 2", f"{e} ** 3", f"(1.0 + {e} * {e}) ** 0.5", f"(1.0 + {e} * {e}) ** -1",
                 f"(-2.0) ** 2 * {e}", f"np.power({e}, 2)", f"(-1.5) ** 3 * {e}",
                 f"(0.5 + np.exp({e} * -{e})) ** 1.5", f"{e} ** 2.0", f"-{e} ** 2",
                 f"(-1.0) ** {self.rng.randint(1, 3)} * {e}", f"{e} * -1.0 ** 2"]
        if ints and self.chance(0.5):
            forms = []
        if ints:
            k = self.rng.choice(ints)
            forms += [f"(-1.0) ** {k} * {e}", f"{e} * (-0.5) ** {k}", f"(-1) ** {k} * {e}"]
        return f"({self.rng.choice(forms)})"

    def reduce(self, env, shape, depth):
        if len(shape) >= 2:
            return None
        red = self.rng.choice(["sum", "sum", "mean", "prod", "max", "min", "var", "std"])
        if shape == SCALAR and self.chance(0.6):
            src_shape = self.rng.choice([(self.rng.choice(S.DIM_POOL),),
                                         (DIM_N, self.rng.choice(S.DIM_POOL))])
            e = self.expr(env, src_shape, depth)
            if red == "prod":
                e = f"(1.0 + 0.3 * np.tanh({e}))"
            if self.chance(0.3):
                return f"{e}.{red}()" if red != "prod" else f"np.prod({e})"
            return f"np.{red}({e})"
        extra = self.rng.choice(S.DIM_POOL)
        axis = self.rng.randrange(len(shape) + 1)
        src_shape = shape[:axis] + (extra,) + shape[axis:]
        e = self.expr(env, src_shape, depth)
        if red == "prod":
            e = f"(1.0 + 0.3 * np.tanh({e}))"
        if self.chance(0.25):
            target = S.shape_source(shape, self.n_expr)
            return f"np.{red}({e}, axis={axis}, keepdims=True).reshape({target})"
        if self.chance(0.2) and red in ("sum", "mean", "max", "min"):
            return f"{e}.{red}(axis={axis})"
        if self.chance(0.15) and len(shape) == 1 and red == "sum":
            return f"np.cumsum({e}, axis={axis})[{'-1' if axis == 0 else ':, -1'}]"
        return f"np.{red}({e}, axis={axis})"

    def linalg(self, env, shape, depth):
        k = self.rng.choice(S.DIM_POOL)
        g = lambda s: self.expr(env, s, depth)
        well = lambda: f"(2.0 * np.eye(3) + 0.1 * {g((DIM_M, DIM_M))})"   # well conditioned
        if shape == SCALAR:
            forms = [lambda: f"({g((k,))} @ {g((k,))})", lambda: f"np.dot({g((k,))}, {g((k,))})",
                     lambda: f"np.inner({g((k,))}, {g((k,))})",
                     lambda: f"np.einsum('i,i->', {g((k,))}, {g((k,))})",
                     lambda: f"np.vdot({g((k,))}, {g((k,))})", lambda: f"np.trace({g((k, k))})",
                     lambda: f"{g((k,))}.dot({g((k,))})",
                     lambda: f"np.einsum('ij,ij->', {g((k, DIM_M))}, {g((k, DIM_M))})",
                     lambda: f"np.linalg.det({well()})",
                     lambda: f"np.linalg.norm({g((k,))} + 2.0)"]
            return self.rng.choice(forms)()
        if shape == (DIM_M,) and self.chance(0.2):
            return f"np.linalg.solve({well()}, {g(shape)})"
        if shape == (DIM_M, DIM_M) and self.chance(0.2):
            return f"np.linalg.inv({well()})"
        if len(shape) == 1:
            d = shape[0]
            forms = [lambda: f"({g((d, k))} @ {g((k,))})", lambda: f"({g((k,))} @ {g((k, d))})",
                     lambda: f"np.dot({g((d, k))}, {g((k,))})",
                     lambda: f"np.einsum('ij,j->i', {g((d, k))}, {g((k,))})",
                     lambda: f"np.einsum('ji,j->i', {g((k, d))}, {g((k,))})",
                     lambda: f"np.diag({g((d, d))})", lambda: f"np.cumsum({g(shape)})",
                     lambda: f"np.cumprod(1.0 + 0.2 * np.tanh({g(shape)}))"]
            return self.rng.choice(forms)()
        d1, d2 = shape
        forms = [lambda: f"({g((d1, k))} @ {g((k, d2))})",
                 lambda: f"np.matmul({g((d1, k))}, {g((k, d2))})",
                 lambda: f"np.outer({g((d1,))}, {g((d2,))})",
                 lambda: f"np.einsum('ik,kj->ij', {g((d1, k))}, {g((k, d2))})",
                 lambda: f"np.einsum('i,j->ij', {g((d1,))}, {g((d2,))})",
                 lambda: f"np.cumsum({g(shape)}, axis={self.rng.randrange(2)})"]
        if d1 == d2:
            forms.append(lambda: f"np.diag({g((d1,))})")
        return self.rng.choice(forms)()

    def shape_op(self, env, shape, depth):
        g = lambda s: self.expr(env, s, depth)
        forms = []
        if len(shape) == 2:
            d1, d2 = shape
            forms += [lambda: f"{g((d2, d1))}.T", lambda: f"np.transpose({g((d2, d1))})",
                      lambda: f"np.swapaxes({g((d2, d1))}, 0, 1)",
                      lambda: f"np.broadcast_to({g((d2,))}, {S.shape_source(shape, self.n_expr)})",
                      lambda: f"np.flip({g(shape)}, axis={self.rng.randrange(2)})"]
            if d2[0] == 0:
                flat = (d1[0] * d2[1], d1[1] * d2[1])
                forms.append(lambda: f"{g((flat,))}.reshape(-1, {d2[1]})")
            parts = S.split(d1, self.rng)
            if parts:
                forms.append(lambda: f"np.concatenate([{g((parts[0], d2))}, {g((parts[1], d2))}])")
                forms.append(lambda: f"np.vstack([{g((parts[0], d2))}, {g((parts[1], d2))}])")
            if d1 == DIM_2:
                forms.append(lambda: f"np.stack([{g((d2,))}, {g((d2,))}])")
            if d2 == DIM_2:
                forms.append(lambda: f"np.stack([{g((d1,))}, {g((d1,))}], axis=1)")
        elif len(shape) == 1:
            d = shape[0]
            forms += [lambda: f"{g(shape)}[::-1]", lambda: f"np.flip({g(shape)})"]
            for c in (2, 3):
                q = S.divide(d, c)
                if q:
                    forms.append(lambda q=q, c=c: f"{g((q, (0, c)))}.reshape(-1)")
                    forms.append(lambda q=q, c=c: f"np.ravel({g((q, (0, c)))})")
                    forms.append(lambda q=q, c=c: f"np.reshape({g(((0, c), q))}.T, (-1,))")
            parts = S.split(d, self.rng)
            if parts:
                forms.append(lambda: f"np.concatenate([{g((parts[0],))}, {g((parts[1],))}])")
                forms.append(lambda: f"np.hstack([{g((parts[0],))}, {g((parts[1],))}])")
            forms.append(lambda: f"np.squeeze({g((d, DIM_M))}[:, :1], axis=1)")
            forms.append(lambda: f"np.expand_dims({g(shape)}, 0)[0]")
        return self.rng.choice(forms)() if forms else None

    def index_read(self, env, shape, depth):
        g = lambda s: self.expr(env, s, depth)
        ints = [(n, v.bound) for n, v in env.items() if v.kind == "int"]
        if len(shape) <= 1 and self.chance(0.6):
            k = self.rng.choice(S.DIM_POOL)
            idx = self.rng.choice(["0", "1", "-1", "-2"][:4 if S.min_size(k) >= 2 else 1])
            usable = [n for n, b in ints if b == k or (b[0] == 0 and S.min_size(k) >= b[1])]
            if usable and self.chance(0.5):
                idx = self.rng.choice(usable)
            if not shape:
                return f"{g((k,))}[{idx}]" if self.chance(0.7) else f"{g((k, DIM_M))}[{idx}, 1]"
            if self.chance(0.5):
                return f"{g((k,) + shape)}[{idx}]"
            return f"{g(shape + (k,))}[:, {idx}]"
        if len(shape) == 1:
            d = shape[0]
            grow = S.add(d, DIM_1)
            forms = [lambda: f"{g((grow,))}[1:]", lambda: f"{g((grow,))}[:-1]",
                     lambda: f"{g((S.add(d, DIM_2),))}[1:-1]"]
            if d[0] == 0 and d[1] <= 2:
                c = d[1]
                forms.append(lambda: f"{g((DIM_N,))}[0:{c}]")
                forms.append(lambda: f"{g((DIM_M,))}[{3 - c}:]")
                idx = [self.rng.randrange(2) for _ in range(c)]
                forms.append(lambda: f"{g((DIM_N,))}[{idx!r}]")
            return self.rng.choice(forms)()
        if len(shape) == 2:
            d1, d2 = shape
            return f"{g((S.add(d1, DIM_1), d2))}[1:, :]"
        return None

    def ternary(self, env, shape, depth):
        c = self.expr(env, SCALAR, depth)
        return f"({self.expr(env, shape, depth)} if {c} > {self.const(-0.5, 0.5)} " \
               f"else {self.expr(env, shape, depth)})"

    # ------------------------------------------------------------------ helpers
    def helper_call(self, env, shape, depth):
        if self.helper_depth >= 2:
            return None
        if self.chance(0.15) and not self.helper_depth:
            name = self.fresh("rec")
            self.helpers.append(
                f"def {name}(v, k):\n"
                f"    if k <= 0:\n"
                f"        return v\n"
                f"    return {name}(np.sin(v) * 0.9 + 0.1 * v, k - 1)\n")
            return f"{name}({self.expr(env, shape, depth)}, {self.rng.randint(1, 3)})"
        if self.uses_params and self.params_method and self.chance(0.3):
            return f"p.scaled({self.expr(env, shape, depth)})"
        name = self.fresh("h")
        nparams = self.rng.randint(1, 2)
        pshapes = [shape if i == 0 else self.rng.choice([SCALAR, shape]) for i in range(nparams)]
        pnames = [self.fresh("a") for _ in pshapes]
        args = [self.expr(env, s, depth) for s in pshapes]
        carriers = [f"{n}.shape[{s.index(DIM_N)}]" for n, s in zip(pnames, pshapes) if DIM_N in s]
        if not carriers:
            pnames.append("n_")
            args.append(self.n_expr)
            carriers = ["n_"]
        self.helper_depth += 1
        saved, self.uses_params = self.uses_params, False
        saved_n, self.n_expr = self.n_expr, carriers[0]
        local = {n: Var("val", s) for n, s in zip(pnames, pshapes)}
        body = self.block(local, self.rng.randint(0, 2), depth=1, ret_shape=shape,
                          indent="    ", in_loop=False, allow_return=self.chance(0.3))
        ret = self.expr(local, shape, 2)
        uses = [n for n in pnames if n in local and n not in ret]
        if uses:
            ret = f"{ret} + 0.5 * {uses[0]}" if local[uses[0]].shape == shape or \
                local[uses[0]].shape == SCALAR else ret
        self.uses_params, self.n_expr = saved, saved_n
        self.helper_depth -= 1
        src = f"def {name}({', '.join(pnames)}):\n" + body + f"    return {ret}\n"
        self.helpers.append(src)
        return f"{name}({', '.join(args)})"

    # ------------------------------------------------------------------ statements
    def val_vars(self, env, owned=False):
        return [n for n, v in env.items() if v.kind == "val" and (v.owned or not owned)]

    def block(self, env, n, depth, ret_shape, indent, in_loop, allow_return):
        lines = []
        for _ in range(n):
            lines += self.statement(env, depth, ret_shape, indent, in_loop, allow_return)
        return "".join(lines)

    def random_shape(self):
        return self.rng.choice([SCALAR, SCALAR, (DIM_N,), (DIM_M,), (DIM_N, DIM_M), (DIM_M, DIM_N),
                                (DIM_N,), (DIM_2,), (DIM_M, DIM_M)])

    def statement(self, env, depth, ret_shape, ind, in_loop, allow_return):
        e = lambda s, d=None: self.expr(env, s, self.depth if d is None else d)
        r = self.rng.random()
        if r < 0.22 or not self.val_vars(env):              # a new value
            shape = self.random_shape()
            name, rhs = self.fresh("v"), e(shape, self.depth + 1)
            env[name] = Var("val", shape, active=self.active(env, rhs))
            return [f"{ind}{name} = {rhs}\n"]
        if r < 0.30:                                          # a fresh array to write into
            shape = self.rng.choice([(DIM_N,), (DIM_M,), (DIM_N, DIM_M), (DIM_M, DIM_M)])
            name = self.fresh("w")
            src = self.rng.choice([f"np.zeros({S.shape_source(shape, self.n_expr)})",
                                   f"np.ones({S.shape_source(shape, self.n_expr)})",
                                   f"{e(shape)}.copy()", f"np.array({e(shape)})",
                                   f"np.zeros_like({e(shape, 1)})", f"{e(shape)} + 0.0"])
            env[name] = Var("val", shape, owned=True)
            return [f"{ind}{name} = {src}\n"]
        if r < 0.40:                                          # rebind / augmented assignment
            name = self.rng.choice(self.val_vars(env))
            v = env[name]
            if v.shape == SCALAR or v.owned or self.chance(0.3):
                op = self.rng.choice(["+=", "-=", "*=", "+="])
                rhs = e(self.other_shape(v.shape) if v.owned or v.shape == SCALAR else v.shape)
                if op == "*=":
                    rhs = f"(1.0 + 0.3 * np.tanh({rhs}))"
                if not v.owned and v.shape != SCALAR:
                    return [f"{ind}{name} = {name} {op[0]} {rhs}\n"]
                return [f"{ind}{name} {op} {rhs}\n"]
            return [f"{ind}{name} = {name} * {self.const(0.2, 0.9)} + {e(v.shape)}\n"]
        if r < 0.50:                                          # write through an index/slice
            owned = [n for n, v in env.items() if v.kind == "val" and v.owned]
            if not owned:
                return []
            name = self.rng.choice(owned)
            return [f"{ind}{self.index_write(env, name)}\n"]
        if r < 0.57 and depth > 0:                            # if / else on values
            cond = f"{e(SCALAR)} > {self.const(-0.5, 0.5)}"
            inner = dict(env)
            body = self.block(inner, self.rng.randint(1, 2), depth - 1, ret_shape, ind + "    ",
                              in_loop, allow_return)
            self.merge(env, inner)
            out = [f"{ind}if {cond}:\n", body or f"{ind}    pass\n"]
            if self.chance(0.25):
                inner = dict(env)
                body = self.block(inner, 1, depth - 1, ret_shape, ind + "    ", in_loop,
                                  allow_return)
                out += [f"{ind}elif {e(SCALAR)} < {self.const(-0.5, 0.5)}:\n",
                        body or f"{ind}    pass\n"]
            if self.chance(0.6):
                inner = dict(env)
                body = self.block(inner, self.rng.randint(1, 2), depth - 1, ret_shape,
                                  ind + "    ", in_loop, allow_return)
                self.merge(env, inner)
                out += [f"{ind}else:\n", body or f"{ind}    pass\n"]
            return out
        if r < 0.67 and depth > 0:
            return self.loop(env, depth, ret_shape, ind, allow_return)
        if r < 0.73 and allow_return:                          # early return
            return [f"{ind}if {e(SCALAR)} > {self.const(0.0, 1.0)}:\n",
                    f"{ind}    return {self.ret_expr(env, ret_shape)}\n"]
        if r < 0.80 and in_loop:
            kw = self.rng.choice(["break", "continue"] if in_loop != "while" else ["break"])
            return [f"{ind}if {e(SCALAR)} > {self.const(-0.5, 0.5)}:\n", f"{ind}    {kw}\n"]
        if r < 0.94:
            return self.container(env, ind)
        if r < 0.97:                                           # an alias
            owned = [n for n, v in env.items() if v.kind == "val" and v.owned]
            if owned:
                src = self.rng.choice(owned)
                name = self.fresh("al")
                env[name] = Var("val", env[src].shape)   # (a second name for the same array)
                return [f"{ind}{name} = {src}\n"]
        name, rhs = self.fresh("v"), e(SCALAR, self.depth + 1)
        env[name] = Var("val", SCALAR, active=self.active(env, rhs))
        return [f"{ind}{name} = {rhs}\n"]

    def merge(self, env, inner):
        """Names a nested block introduces (and keys it adds to dicts) stay inside it: the
        block may not run. Rebinding keeps shapes, so the outer view stays right."""

    def index_write(self, env, name):
        v = env[name]
        op = self.rng.choice(["=", "=", "+=", "*=", "-="])
        ints = [n for n, iv in env.items() if iv.kind == "int" and iv.bound == v.shape[0]]
        first = self.rng.choice(["0", "1", "-1"] + ints * 3)
        kind = self.rng.randrange(5)
        if kind == 0:                       # one row / element
            target, shape = f"{name}[{first}]", v.shape[1:]
        elif kind == 1:                     # a slice
            lo, hi = self.rng.choice([(1, None), (None, -1), (0, 1), (1, 2), (None, None)])
            sl = f"{'' if lo is None else lo}:{'' if hi is None else hi}"
            length = {(1, None): S.sub(v.shape[0], DIM_1), (None, -1): S.sub(v.shape[0], DIM_1),
                      (0, 1): DIM_1, (1, 2): DIM_1, (None, None): v.shape[0]}[(lo, hi)]
            target, shape = f"{name}[{sl}]", (length,) + v.shape[1:]
        elif kind == 2 and len(v.shape) == 2:
            target, shape = f"{name}[:, {self.rng.choice(['0', '-1', '1'])}]", v.shape[:1]
        elif kind == 3 and len(v.shape) == 2:
            target, shape = f"{name}[{first}, {self.rng.choice(['0', '1', '-1'])}]", SCALAR
        else:
            target, shape = f"{name}[{first}]", v.shape[1:]
        if self.chance(0.3) and shape:
            rhs = self.expr(env, SCALAR, 2)     # a scalar broadcast into a row or slice
        else:
            rhs = self.expr(env, shape, 2)
        if op == "*=":
            rhs = f"(1.0 + 0.3 * np.tanh({rhs}))"
        return f"{target} {op} {rhs}"

    def loop(self, env, depth, ret_shape, ind, allow_return):
        inner = dict(env)
        kind = self.rng.randrange(7)
        arrays = [n for n, v in env.items() if v.kind == "val" and v.shape]
        head, tail = None, []
        if kind == 0 or not arrays:
            k = self.fresh("i")
            count = self.rng.choice(["2", "3", "n"] if "n" in env else ["2", "3"])
            rng_src = f"range({count})" if self.chance(0.8) else f"reversed(range({count}))"
            inner[k] = Var("int", bound=(0, 2) if count == "n" else (0, int(count)))
            head = f"for {k} in {rng_src}:"
        elif kind == 1:
            arr = self.rng.choice(arrays)
            k = self.fresh("i")
            inner[k] = Var("int", bound=env[arr].shape[0])
            count = f"len({arr})" if self.chance(0.5) else f"{arr}.shape[0]"
            head = f"for {k} in range({count}):"
        elif kind == 2:
            arr = self.rng.choice(arrays)
            row = self.fresh("r")
            inner[row] = Var("val", env[arr].shape[1:])
            head = f"for {row} in {arr}:"
            if self.chance(0.2) and not env[arr].owned and arr not in ("x", "y", "c"):
                tail = [f"{ind}    {arr} = {arr} * 0.5\n"]        # rebinding the iterable
        elif kind == 3:
            arr = self.rng.choice(arrays)
            k, row = self.fresh("i"), self.fresh("r")
            inner[k] = Var("int", bound=env[arr].shape[0])
            inner[row] = Var("val", env[arr].shape[1:])
            head = f"for {k}, {row} in enumerate({arr}):"
        elif kind == 4:
            arr = self.rng.choice(arrays)
            same = [n for n in arrays if env[n].shape[:1] == env[arr].shape[:1]]
            other = self.rng.choice(same)
            r1, r2 = self.fresh("r"), self.fresh("r")
            inner[r1] = Var("val", env[arr].shape[1:])
            inner[r2] = Var("val", env[other].shape[1:])
            head = f"for {r1}, {r2} in zip({arr}, {other}):"
        else:
            k = self.fresh("k")
            limit = self.rng.randint(1, 3)
            env[k] = Var("int", bound=(0, limit + 1))
            inner[k] = env[k]
            cond = f"{k} < {limit}"
            if self.chance(0.3):
                cond += f" and {self.expr(env, SCALAR, 1)} < {self.const(1.0, 3.0)}"
            out = [f"{ind}{k} = 0\n", f"{ind}while {cond}:\n", f"{ind}    {k} += 1\n"]
            inner[k] = Var("int", bound=(0, limit + 1))
            body = self.block(inner, self.rng.randint(1, 3), depth - 1, ret_shape, ind + "    ",
                              "while", allow_return)
            self.merge(env, inner)
            return out + [body]
        body = self.block(inner, self.rng.randint(1, 3), depth - 1, ret_shape, ind + "    ",
                          "for", allow_return)
        self.merge(env, inner)
        return [f"{ind}{head}\n", body or f"{ind}    pass\n"] + tail

    def container(self, env, ind):
        """Tuple, list and dict locals: built, extended, read back. Every right-hand
        side is generated before its target name exists."""
        kind = self.rng.randrange(6)
        shape, s2 = self.random_shape(), self.random_shape()
        e = lambda s: self.expr(env, s, 2)
        if kind == 0:
            src = f"({e(shape)}, {e(s2)})"
            name = self.fresh("t")
            env[name] = Var("tuple", items=(shape, s2))
            return [f"{ind}{name} = {src}\n"]
        if kind == 5:
            src = f"{e(shape)}, {e(s2)}"
            a, b = self.fresh("u"), self.fresh("u")
            env[a], env[b] = Var("val", shape), Var("val", s2)
            return [f"{ind}{a}, {b} = {src}\n"]
        if kind == 1:
            form = self.rng.randrange(3)
            arrays = [n for n, v in env.items() if v.kind == "val" and v.shape]
            if form == 0:
                lines = [f"= [{e(shape)}, {e(shape)}]\n", f".append({e(shape)})\n"]
            elif form == 1:
                lines = [f"= [{e(shape)}] * {self.rng.randint(2, 3)}\n"]
            elif arrays:
                arr = self.rng.choice(arrays)
                item = self.fresh("q")
                shape = env[arr].shape[1:]
                inner = dict(env)
                inner[item] = Var("val", shape)
                lines = [f"= [{self.expr(inner, shape, 2)} for {item} in {arr}]\n"]
            else:
                lines = [f"= [{e(shape)}]\n"]
            name = self.fresh("lst")
            env[name] = Var("list", shape)
            return [f"{ind}{name} {lines[0]}"] + [f"{ind}{name}{line}" for line in lines[1:]]
        if kind == 3:
            lists = [n for n, v in env.items() if v.kind == "list"]
            if not lists:
                src = f"[{e(shape)}]"
                name = self.fresh("lst")
                env[name] = Var("list", shape)
                return [f"{ind}{name} = {src}\n"]
            lst = self.rng.choice(lists)
            sh = env[lst].shape
            item = e(sh)
            form = self.rng.choice([f"np.sum(np.stack({lst}), axis=0)", f"sum({lst})",
                                    f"{lst}[0] * {lst}[-1]"])
            name = self.fresh("v")
            env[name] = Var("val", sh)
            return [f"{ind}{lst}.append({item})\n", f"{ind}{name} = {form}\n"]
        if kind == 2:
            src = f"{{'a': {e(shape)}, 'b': {e(s2)}}}"
            name = self.fresh("d")
            env[name] = Var("dict", items={"a": shape, "b": s2})
            return [f"{ind}{name} = {src}\n"]
        dicts = [n for n, v in env.items() if v.kind == "dict"]
        if not dicts:
            src = f"{{'a': {e(shape)}}}"
            name = self.fresh("d")
            env[name] = Var("dict", items={"a": shape})
            return [f"{ind}{name} = {src}\n"]
        d = self.rng.choice(dicts)
        key = self.rng.choice(list(env[d].items) + ["c"])
        sh = env[d].items.get(key, shape)
        rhs = e(sh)
        if key in env[d].items and self.chance(0.5):
            rhs = f"{d}[{key!r}] * {self.const(0.2, 0.9)} + {rhs}"
        env[d] = Var("dict", items={**env[d].items, key: sh})
        return [f"{ind}{d}[{key!r}] = {rhs}\n"]

    def ret_expr(self, env, shape):
        """The return value: uses several of the live values, so that the derivative
        flows through most of the program."""
        terms = []
        vals = [n for n, v in env.items() if v.kind == "val" and v.active]
        for n in self.rng.sample(vals, min(len(vals), self.rng.randint(2, 4))):
            s = env[n].shape
            if shape == SCALAR:
                if s == SCALAR:
                    terms.append(n)
                else:
                    terms.append(self.rng.choice([f"np.sum({n})", f"np.sum(np.sin({n}))",
                                                  f"np.mean({n} * {n})"]))
            elif s == shape or s == SCALAR:
                terms.append(n)
        terms.append(self.expr(env, shape, 2))
        return " + ".join(terms)


def _array_src(a):
    return f"np.array({np.round(a, 5).tolist()!r})"


def generate(seed, index, size_hint=1.0):
    """The program number ``index`` of the run seeded with ``seed``."""
    rng = random.Random(f"srcad-fuzz:{seed}:{index}")
    gen = _Gen(rng)
    gen.depth = 2 if size_hint >= 1.0 else 1
    nrng = np.random.default_rng(rng.randrange(2**32))
    x_shape = rng.choice([(DIM_N,), (DIM_N, DIM_M)])
    params = {"x": Var("val", x_shape)}
    extra = []
    if rng.random() < 0.6:
        y_shape = rng.choice([SCALAR, (DIM_M,), (DIM_N,)])
        params["y"] = Var("val", y_shape)
        extra.append("y")
    if rng.random() < 0.25:
        gen.uses_params = True
        gen.params_method = rng.random() < 0.5
        extra.append("p")
    if rng.random() < 0.25:
        params["c"] = Var("val", (DIM_N,), active=False)
        extra.append("c")
    if rng.random() < 0.3:
        params["n"] = Var("int", bound=(0, 3))    # n is 2: an index below 3
        extra.append("n")
    if rng.random() < 0.15:
        params["s0"] = Var("val", SCALAR, active=False)   # a parameter left at its default
    scalar = rng.random() < 0.8
    ret_shape = SCALAR if scalar else rng.choice([(DIM_N,), (DIM_M,), (DIM_2,)])
    env = dict(params)
    nstmts = max(1, round(rng.randint(2, 6) * size_hint))
    body = gen.block(env, nstmts, depth=2, ret_shape=ret_shape, indent="    ", in_loop=False,
                     allow_return=True)
    ret = gen.ret_expr(env, ret_shape)
    names = ["x"] + extra
    head = ", ".join(names + (["s0=0.75"] if "s0" in params else []))
    func = f"def f({head}):\n{body}    return {ret}\n"

    lines = ["import dataclasses", "import math", "", "import numpy as np", ""]
    if gen.uses_params:
        lines += ["", "@dataclasses.dataclass", "class Params:", "    w: np.ndarray",
                  "    s: float"]
        if gen.params_method:
            lines += ["", "    def scaled(self, v):",
                      "        return v * self.s + np.sum(self.w * self.w)"]
        lines.append("")
    lines += gen.consts
    source = "\n".join(lines) + "\n\n" + "\n\n".join(gen.helpers + [func])

    wrt = ["x"] + [n for n in ("y", "p") if n in extra and rng.random() < 0.6]
    n1 = rng.choice([2, 3])

    def args_src(n):
        out = []
        for name in names:
            if name == "p":
                w = nrng.uniform(-1.0, 1.0, 3)
                out.append(f"Params(w={_array_src(w)}, s={round(nrng.uniform(0.3, 1.2), 5)!r})")
            elif name == "n":
                out.append("2")
            else:
                shape = params[name].shape
                if shape == SCALAR:
                    out.append(repr(round(float(nrng.uniform(-1.0, 1.0)), 5)))
                else:
                    out.append(_array_src(nrng.uniform(-1.0, 1.0, S.concrete(shape, n))))
        return "(" + ", ".join(out) + ("," if len(out) == 1 else "") + ")"

    return Program(source=source, args=args_src(n1), args2=args_src(n1 + 1), wrt=tuple(wrt),
                   scalar=scalar, second_order=rng.random() < 0.35)

"""The compiler's table of contents: the passes, in order.

Each pass is a function from tree to tree. This module only runs them, times
them, dumps the source after the passes named in ``SRCAD_DUMP``
(``SRCAD_DUMP=normalize,reverse``, or ``all``) and tags unexpected failures
with the pass name (``InternalError``).
"""
import os
import sys
import time
from dataclasses import dataclass, field

import gast

from srcad import logs, tracebacks
from srcad.errors import InternalError, TransformError
from srcad.transforms import (
    activity,
    buffers,
    hoist,
    exits,
    fence,
    forward,
    inline,
    normalize,
    reverse,
    shapes,
    sharing,
    simplify,
    ssa,
    zero_d,
    zero_guards,
)
from srcad.transforms.blocks import clone, walk
from srcad.transforms.parse import Env, code_hash, parse_function
from srcad.transforms.rules import registry


@dataclass
class Generated:
    tree: object              # the generated gast FunctionDef
    env: Env                  # what it names
    filename: str             # the user's file
    lineno: int
    timings: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)   # name -> shape symbol (cotangents included)
    primals: dict = field(default_factory=dict)  # a (co)tangent's name -> its primal's name


class _Run:
    def __init__(self):
        dump = os.environ.get("SRCAD_DUMP", "")
        self.dump = {d.strip() for d in dump.split(",") if d.strip()}
        self.timings = {}
        self.env = None             # the Env once the front half made it

    def __call__(self, name, fn, *args):
        logs.entering(name)
        start = time.perf_counter()
        try:
            result = fn(*args)
        except TransformError as exc:      # in an inlined helper: the calls that led there
            if self.env is not None:
                tracebacks.reached_through(exc, self.env.inlined)
            raise
        except InternalError:
            raise
        except Exception as exc:   # a bug in a pass, not the user's fault
            raise InternalError(name, f"{type(exc).__name__}: {exc}") from exc
        self.timings[name] = time.perf_counter() - start
        if name in self.dump or "all" in self.dump:
            tree = result.tree if hasattr(result, "tree") else result
            if isinstance(tree, gast.AST):
                print(f"# --- after {name} ---", file=sys.stderr)
                # as generated code spells it (negative numbers parenthesised)
                print(registry.HOST.unparse(tree), file=sys.stderr)
        return result


def front(fn, level, run, types=None, layouts=None):
    """parse, fence, exits, normalize, inline, ssa: the shared front half."""
    parsed = run("parse", parse_function, fn)
    run("fence", fence.check, parsed)
    params = {a.id for a in parsed.tree.args.args + parsed.tree.args.kwonlyargs}
    stores = {n.id for n in walk(parsed.tree)
              if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    namer = exits.Namer(params | stores)
    env = Env(taken=namer.taken, types=dict(types or {}), layouts=dict(layouts or {}))
    env.deps.append((fn, code_hash(fn)))
    run.env = env
    run("exits", exits.remove_exits, parsed.tree, namer)
    tree = run("normalize", normalize.normalize, parsed, env, namer, level, env.types)
    tree = run("inline", inline.inline_calls, tree, env, namer, level, (fn,), parsed.filename)
    tree = run("ssa", ssa.to_ssa, tree, namer)
    tree = run("hoist", hoist.hoist, tree)
    return parsed, tree, env, namer


def check(fn):
    """Only parse and fence: the errors a user should see before anything else."""
    return fence.check(parse_function(fn))


def reverse_mode(fn, wrt, numeric_params=(), level=1, param_shapes=None, param_kinds=None,
                 optimize=True, types=None, layouts=None):
    """The vector-Jacobian product function of ``fn`` for the ``wrt`` parameters."""
    run = _Run()
    parsed, tree, env, namer = front(fn, level, run, types, layouts)
    act = run("activity", activity.analyse, tree, wrt, env.namespace, numeric_params)
    known = run("shapes", shapes.infer, tree, param_shapes or {}, env.namespace)
    tree = run("kept 0-d", zero_d.drop, tree, known, env.namespace)
    known = run("shapes", shapes.infer, tree, param_shapes or {}, env.namespace)
    last = reverse.Reverse(clone(tree), env, exits.Namer(namer.taken), act, wrt,
                           parsed.filename, shapes=known, param_kinds=param_kinds)
    first = run("reverse", last.run)
    run("calls in place", sharing.check_calls_in_place, first, last.primal_length,
        env.namespace, parsed.filename)
    restore = sharing.restore_set(first, last.primal_length, env.namespace)
    if restore:
        last = reverse.Reverse(tree, env, namer, act, wrt, parsed.filename, restore, known,
                               param_kinds)
        first = run("reverse", last.run)
    bar_shapes = dict(known)
    bar_shapes.update({last.bars[n]: v for n, v in known.items() if n in last.bars})
    bar_shapes.update(last.bar_shapes)
    out = run("simplify", simplify.simplify, first, bar_shapes.get, namer,
              set(last.bars.values()),      # the gradients' names: of x, of p.k (fields)
              {v for k, v in last.bars.items() if k.split(".")[0] in wrt})
    out = run("zero_guards", zero_guards.prune, out, set(last.bars.values()),
              {v for k, v in last.bars.items() if k.split(".")[0] in wrt})
    if optimize:
        # a cotangent may be a broadcasting 0.0 where its shape says array: only products
        # with a primal array count for it
        bars = set(last.bars.values()) | set(last.bar_shapes)
        out = run("buffers", buffers.plan, out, env, namer, bar_shapes.get, list(wrt),
                  {p: k for p, k in (param_kinds or {}).items() if "." not in p}, bars,
                  getattr(param_kinds, "wide", True))
        primal = lambda n: None if n in bars else bar_shapes.get(n)     # noqa: E731
        out = simplify.method_forms(out, simplify.with_products(out, primal), env.namespace)
    return Generated(out, env, parsed.filename, fn.__code__.co_firstlineno, run.timings,
                     bar_shapes, {b: p for p, b in last.bars.items() if "." not in p})


def forward_mode(fn, wrt, numeric_params=(), level=1, vector=False, param_shapes=None,
                 types=None, layouts=None):
    """The Jacobian-vector product function of ``fn`` for the ``wrt`` parameters."""
    run = _Run()
    parsed, tree, env, namer = front(fn, level, run, types, layouts)
    act = run("activity", activity.analyse, tree, wrt, env.namespace, numeric_params)
    known = run("shapes", shapes.infer, tree, param_shapes or {}, env.namespace)
    tree = run("kept 0-d", zero_d.drop, tree, known, env.namespace)
    known = run("shapes", shapes.infer, tree, param_shapes or {}, env.namespace)
    fwd = forward.Forward(tree, env, namer, act, wrt, parsed.filename, vector, known)
    out = run("forward", fwd.run)
    if not vector:      # primal values only: a tangent may be a broadcasting 0.0
        out = simplify.method_forms(out, simplify.with_products(out, known.get), env.namespace)
    out = simplify.default_keywords(out, env.namespace)
    out = run("simplify", simplify.simplify, out)
    return Generated(out, env, parsed.filename, fn.__code__.co_firstlineno, run.timings,
                     dict(known), {t: p for p, t in fwd.dots.items() if "." not in p})


"""Zeros that nothing reads: cotangent resets the next statement overwrites, also in loops
and branches.

Before (the reverse sweep of a loop whose body has an ``if``)::

    for C2, C3, t, t2 in reversed(loop):
        s3_bar = 0.0
        s4_bar = s2_bar
        s2_bar = 0.0
        if t2:
            s3_bar = s3_bar + s4_bar
            s4_bar = 0.0
            s2_bar = s2_bar + s3_bar
        else:
            s2_bar = s2_bar + s4_bar
            s4_bar = 0.0

After (``simplify`` then makes the first contribution in each branch an assignment)::

    for C2, C3, t, t2 in reversed(loop):
        s4_bar = s2_bar
        s2_bar = 0.0
        if t2:
            s3_bar = 0.0
            s3_bar = s3_bar + s4_bar
            s2_bar = s2_bar + s3_bar
        else:
            s2_bar = s2_bar + s4_bar

A cotangent assigned a value without side effects that no later statement reads (the
next iteration included: liveness over the structured code) is dropped; a cotangent set to
``0.0`` just before an ``if`` is set at the head of the branches that need it instead, where
``simplify`` can fold it into the first contribution. Only the names of cotangents are
touched.
"""
import gast

from srcad.transforms.blocks import loads, walk

_PURE = (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp)


def _loads(node):
    return set(loads(node))


def _simple(s):
    """``c = value`` -> c, else None."""
    if isinstance(s, gast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
        return s.targets[0].id
    return None


def _zero(s):
    return _simple(s) is not None and isinstance(s.value, gast.Constant) \
        and s.value.value == 0.0 and not isinstance(s.value.value, bool)


class _Sweep:
    def __init__(self, cotangents):
        self.cotangents = cotangents

    def block(self, stmts, live_after, mark):
        """The names live before ``stmts`` given those live after; with ``mark``, ``stmts``
        is rewritten in place (dead stores dropped, zeros moved into branches)."""
        live = set(live_after)
        keep = []
        for k in range(len(stmts) - 1, -1, -1):
            s = stmts[k]
            if s is None:               # a zero moved into the branches of the if after it
                continue
            name = _simple(s)
            if name is not None:
                if mark and name in self.cotangents and name not in live \
                        and isinstance(s.value, _PURE):
                    continue
                live.discard(name)
                live |= _loads(s.value)
            elif isinstance(s, gast.If):
                if mark:
                    self.sink(stmts, k, s, live, keep)
                body = self.block(s.body, live, mark)
                orelse = self.block(s.orelse, live, mark)
                live = body | orelse | _loads(s.test)
            elif isinstance(s, (gast.For, gast.While)):
                head = set(live) | _loads(getattr(s, "iter", None) or s.test) \
                    | set().union(*[_loads(t) for t in s.orelse])
                while True:             # the body runs again after itself, or not at all
                    inner = self.block(s.body, live | head, False) | head
                    if inner == head:
                        break
                    head = inner
                if mark:
                    self.block(s.body, live | head, True)
                live = head
            else:
                live |= _loads(s)
            keep.append(s)
        if mark:
            stmts[:] = [s for s in reversed(keep) if s is not None]
        return live

    def sink(self, stmts, k, s, live, keep):
        """``c = 0.0`` before the ``if`` (nothing between mentions ``c``), ``c`` not read by
        its test: set it at the head of each branch that reads it, and of every branch when
        ``c`` is live after the ``if`` (unless that branch is an empty ``else``)."""
        between = set()                 # names the statements after stmts[j] mention
        for j in range(k - 1, -1, -1):
            if stmts[j] is None:
                continue
            mentioned = {n.id for n in walk(stmts[j]) if isinstance(n, gast.Name)}
            if not _zero(stmts[j]) or stmts[j].targets[0].id in between:
                between |= mentioned
                continue
            c = stmts[j].targets[0].id
            between |= mentioned
            reads = [c in set().union(*[_loads(t) for t in getattr(s, f)])
                     for f in ("body", "orelse")]
            need = [r or c in live for r in reads]
            if c in self.cotangents and c not in _loads(s.test) and not (need[1] and not s.orelse):
                for field, needed in zip(("body", "orelse"), need, strict=True):
                    if needed:
                        getattr(s, field).insert(0, gast.copy_location(gast.Assign(
                            targets=[gast.Name(id=c, ctx=gast.Store(), annotation=None,
                                               type_comment=None)],
                            value=gast.Constant(value=0.0, kind=None), type_comment=None),
                            stmts[j]))
                stmts[j] = None         # dropped (block() skips None)


def drop(fn, cotangents):
    """Drop the dead cotangent stores of ``fn`` and move zeros into the branches that read
    them (see the module docstring)."""
    sweep = _Sweep(set(cotangents))
    ret = fn.body[-1]
    body = fn.body[:-1]
    sweep.block(body, _loads(ret), True)
    fn.body = body + [ret]
    return fn
